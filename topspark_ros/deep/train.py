# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Offline training of the spiking deep network as a soft-LIF rate network (JAX + optax).

Hunsberger & Eliasmith (2016): train the rate network whose hidden units respond with the
soft-LIF curve (``rates.soft_lif_rate``), with noise so that it tolerates the variability of
spikes, then run the same weights as spiking LIF neurons. The forward pass here computes what
``rates.forward_rates`` computes (a test holds them to 1e-5), batched and differentiable.

Training noise on every hidden LIF layer (docs/model.md, "Training the spiking deep network"):
- ``gaussian``: rate + N(0, sigma) Hz where the neuron fires (j > v_thresh), the paper's model;
- ``count``: the rate a spiking neuron shows over a window of T steps: its LIF spike count
  r T dt rounded stochastically to a whole number (exact for a regular spike train whose phase
  is uniformly random), divided by T dt. The gradient is the soft-LIF's (straight-through).

Optional, for few spikes at short T: an activity penalty (``rate_penalty`` x the expected
hidden spikes per sample in T steps, the soft-LIF rates x T dt summed over hidden neurons;
off for the first 10 % of training, then rising linearly to full strength at a third) and
random translations of the training images by up to ``augment_shift`` pixels.

Spiking fine-tuning (``spiking_points``, ``bptt``): each step also adds the cross-entropy of
the spiking network itself at one of the given operating points (T, rate gain, initial
membrane voltage; drawn per step), back-propagated through its time steps, so that the
weights suit the short T the governor will run as well as the long-T rates.

Only this module, ``bptt``, ``jax_layers`` and the ``topspark-train-deep`` tool import JAX;
inference never does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .bptt import check_trainable, spiking_scores
from .config import DeepConfig, LifParams, OperatingPoint
from .jax_layers import layer_linear
from .network import DeepNetwork
from .rates import curve_tau_ref_s

NOISE_KINDS = ('none', 'gaussian', 'count')
_TAIL_Z = -30.0     # below this (j - v_th) / gamma the soft-LIF uses its asymptotic log term
_EVAL_BATCH = 500
_TRAIN_EVAL_MAX = 1000  # the per-epoch training accuracy reads this many training images
PENALTY_START, PENALTY_FULL = 0.1, 1 / 3
# the rate penalty is 0 for the first 10 % of the steps (the network learns to classify
# first), then rises linearly to full strength at a third: from the first step it can
# silence every neuron for good (measured)


@dataclass(frozen=True)
class TrainSettings:
    """How the rate network is trained. ``noise_sigma_hz`` is read by ``gaussian``,
    ``target_timesteps`` (T, steps of the config's dt) by ``count`` and ``rate_penalty``
    (per expected hidden spike per sample in T steps)."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    noise: str = 'count'
    noise_sigma_hz: float = 10.0
    target_timesteps: int = 10
    dropout: float = 0.0
    cosine_decay: bool = True           # learning rate from learning_rate to 0 over training
    rate_penalty: float = 0.0           # loss per expected hidden spike per sample in T steps
    augment_shift: int = 0              # random translations of up to this many pixels
    spiking_points: tuple[OperatingPoint, ...] = ()     # spiking fine-tuning's (module doc)

    def __post_init__(self) -> None:
        checks = ((self.epochs >= 1, f'epochs must be >= 1, got {self.epochs}'),
                  (self.batch_size >= 1, f'batch_size must be >= 1, got {self.batch_size}'),
                  (math.isfinite(self.learning_rate) and self.learning_rate > 0,
                   f'learning_rate must be > 0, got {self.learning_rate}'),
                  (self.noise in NOISE_KINDS,
                   f'noise must be one of {NOISE_KINDS}, got {self.noise!r}'),
                  (math.isfinite(self.noise_sigma_hz) and self.noise_sigma_hz >= 0,
                   f'noise_sigma_hz must be >= 0, got {self.noise_sigma_hz}'),
                  (self.target_timesteps >= 1,
                   f'target_timesteps must be >= 1, got {self.target_timesteps}'),
                  (0.0 <= self.dropout < 1.0, f'dropout must be in [0, 1), got {self.dropout}'),
                  (math.isfinite(self.rate_penalty) and self.rate_penalty >= 0,
                   f'rate_penalty must be >= 0, got {self.rate_penalty}'),
                  (self.augment_shift >= 0,
                   f'augment_shift must be >= 0, got {self.augment_shift}'),
                  (all(isinstance(p, OperatingPoint) for p in self.spiking_points),
                   'spiking_points must be OperatingPoint values'))
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss (with noise and the activity penalty) and the
    noise-free rate network's accuracy on the first 1,000 training images and on the
    validation images (None without)."""

    epoch: int
    loss: float
    train_accuracy: float
    validation_accuracy: float | None
    seconds: float


@dataclass
class TrainResult:
    network: DeepNetwork
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0


# --- the rate curves, in JAX -------------------------------------------------------------

def soft_lif_rate(j: jnp.ndarray, lif: LifParams, dt_ms: float) -> jnp.ndarray:
    """Soft-LIF rate (Hz) of ``rates.soft_lif_rate`` in float32 with finite gradients: far below
    threshold rho underflows, so log(1 + v_th / rho) is taken from its asymptote
    log(v_th / gamma) - (j - v_th) / gamma (error < e^-30 relative)."""
    tau_rc, tau_ref = lif.tau_rc_ms / 1000.0, curve_tau_ref_s(lif, dt_ms)
    z = (j - lif.v_thresh) / lif.gamma
    body = z > _TAIL_Z
    rho = lif.gamma * jax.nn.softplus(jnp.where(body, z, 0.0))
    log_body = jnp.log1p(lif.v_thresh / rho)
    log_tail = math.log(lif.v_thresh / lif.gamma) - jnp.where(body, 0.0, z)
    return 1.0 / (tau_ref + tau_rc * jnp.where(body, log_body, log_tail))


def lif_rate(j: jnp.ndarray, lif: LifParams, dt_ms: float) -> jnp.ndarray:
    """LIF rate (Hz) of ``rates.lif_rate``: 0 at and below threshold; whole steps per period
    with 'discrete' stepping."""
    above = j > lif.v_thresh
    excess = jnp.where(above, j - lif.v_thresh, 1.0)
    crossing = lif.tau_rc_ms / 1000.0 * jnp.log1p(lif.v_thresh / excess)
    if lif.integration == 'discrete':
        dt = dt_ms / 1000.0
        period = dt * (jnp.floor(crossing / dt) + 1.0)
    else:
        period = lif.tau_ref_ms / 1000.0 + crossing
    return jnp.where(above, 1.0 / period, 0.0)


def noisy_rate(j: jnp.ndarray, lif: LifParams, settings: TrainSettings, dt_ms: float,
               key: jax.Array) -> jnp.ndarray:
    """The soft-LIF rate with the training noise of ``settings.noise`` (see the module doc)."""
    rate = soft_lif_rate(j, lif, dt_ms)
    if settings.noise == 'gaussian':
        firing = j > lif.v_thresh
        return rate + jnp.where(firing, settings.noise_sigma_hz, 0.0) * \
            jax.random.normal(key, j.shape)
    if settings.noise == 'count':
        window_s = settings.target_timesteps * dt_ms / 1000.0
        expected = lif_rate(j, lif, dt_ms) * window_s
        whole = jnp.floor(expected)
        count = whole + (jax.random.uniform(key, j.shape) < expected - whole)
        return rate + jax.lax.stop_gradient(count / window_s - rate)
    return rate


# --- the network -------------------------------------------------------------------------

Params = list[tuple[jnp.ndarray, jnp.ndarray]]


def forward(config: DeepConfig, params: Params, images: jnp.ndarray,
            settings: TrainSettings | None = None, key: jax.Array | None = None,
            soft: bool = True) -> jnp.ndarray:
    """Class scores (n, n_classes) of the rate network for images (n, c, h, w) in [0, 1]
    (``soft``: soft-LIF, else LIF hidden units). With ``settings`` and ``key``: training mode
    (noise and dropout on the soft-LIF hidden layers)."""
    return forward_with_activity(config, params, images, settings, key, soft)[0]


def forward_with_activity(config: DeepConfig, params: Params, images: jnp.ndarray,
                          settings: TrainSettings | None = None, key: jax.Array | None = None,
                          soft: bool = True) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``forward``'s scores and each sample's summed hidden rates (Hz, noise-free curve:
    what the activity penalty charges)."""
    lif = config.lif
    last = len(config.layers) - 1
    a = images
    activity = jnp.zeros(images.shape[0])
    weighted = 0
    for k, layer in enumerate(config.layers):
        if layer.kind in ('conv', 'dense'):
            weight, bias = params[weighted]
            weighted += 1
            a = layer_linear(layer, a, weight, bias)
            if k == last:
                break
            if key is None:
                rate = (soft_lif_rate(a, lif, config.dt_ms) if soft
                        else lif_rate(a, lif, config.dt_ms))
                activity = activity + rate.reshape(rate.shape[0], -1).sum(1)
            else:
                key, noise_key, drop_key = jax.random.split(key, 3)
                activity = activity + soft_lif_rate(a, lif, config.dt_ms).reshape(
                    a.shape[0], -1).sum(1)
                rate = noisy_rate(a, lif, settings, config.dt_ms, noise_key)
            a = lif.amplitude * rate
            if key is not None and settings.dropout > 0:
                keep = jax.random.bernoulli(drop_key, 1.0 - settings.dropout, a.shape)
                a = jnp.where(keep, a / (1.0 - settings.dropout), 0.0)
        else:
            a = layer_linear(layer, a, None, None)
    return a.reshape(a.shape[0], -1), activity


def shifted(images: jnp.ndarray, max_shift: int, key: jax.Array) -> jnp.ndarray:
    """Each image (n, c, h, w) translated by a random whole number of pixels in
    [-max_shift, max_shift] along each axis, zero-filled (training augmentation)."""
    if max_shift == 0:
        return images
    n, c, h, w = images.shape
    s = max_shift
    padded = jnp.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))
    offsets = jax.random.randint(key, (n, 2), 0, 2 * s + 1)
    return jax.vmap(lambda image, o: jax.lax.dynamic_slice(image, (0, o[0], o[1]), (c, h, w)))(
        padded, offsets)


def params_of(network: DeepNetwork) -> Params:
    return [(jnp.asarray(w), jnp.asarray(b))
            for w, b in zip(network.weights, network.biases) if w is not None]


def network_of(config: DeepConfig, params: Params) -> DeepNetwork:
    """The trained parameters as a DeepNetwork (float32 NumPy arrays, None for pooling)."""
    flat = iter(params)
    weights, biases = [], []
    for layer in config.layers:
        if layer.kind in ('conv', 'dense'):
            w, b = next(flat)
            weights.append(np.asarray(w, np.float32))
            biases.append(np.asarray(b, np.float32))
        else:
            weights.append(None)
            biases.append(None)
    return DeepNetwork(config, weights, biases)


def images_as_input(config: DeepConfig, images: np.ndarray) -> np.ndarray:
    """Images (n, h, w) or (n, c, h, w) in [0, 1] as float32 (n, c, h, w) of the config."""
    images = np.asarray(images, np.float32)
    return images.reshape((len(images),) + tuple(config.input_shape))


class _Scorer:
    """Noise-free class predictions of the rate network, jitted once per batch shape."""

    def __init__(self, config: DeepConfig, soft: bool = True) -> None:
        self._scores = jax.jit(lambda params, x: forward(config, params, x, soft=soft))

    def predict(self, params: Params, images: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(images), _EVAL_BATCH):
            chunk = images[i:i + _EVAL_BATCH]
            padded = np.zeros((_EVAL_BATCH,) + chunk.shape[1:], np.float32)
            padded[:len(chunk)] = chunk             # one batch shape: one compilation
            out.append(np.asarray(jnp.argmax(self._scores(params, padded), -1))[:len(chunk)])
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def accuracy(self, params: Params, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(params, images) == labels)) if len(labels) else 0.0


def rate_accuracy(network: DeepNetwork, images: np.ndarray, labels: np.ndarray,
                  soft: bool = True) -> float:
    """Accuracy of the noise-free rate network (soft-LIF, or LIF: the spiking network's
    limit at long T) on images (n, c, h, w) or (n, h, w) in [0, 1]."""
    images = images_as_input(network.config, images)
    return _Scorer(network.config, soft).accuracy(params_of(network), images, labels)


def train_network(config: DeepConfig, settings: TrainSettings, train_images: np.ndarray,
                  train_labels: np.ndarray, validation_images: np.ndarray | None = None,
                  validation_labels: np.ndarray | None = None,
                  on_epoch: Callable[[DeepNetwork, Sequence[EpochRecord]], None] | None = None,
                  progress: bool = False, initial: DeepNetwork | None = None) -> TrainResult:
    """Adam on shuffled minibatches of softmax cross-entropy (plus the activity penalty).
    Images (n, c, h, w) in [0, 1]. Deterministic for ``settings.seed`` (initial weights, order,
    noise). ``initial``: fine-tune these weights (same layers) instead of fresh ones.
    ``on_epoch`` gets the network and the history after every epoch (e.g. to write a
    checkpoint)."""
    x = images_as_input(config, train_images)
    y = np.asarray(train_labels, np.int32)
    if len(x) == 0:
        raise ValueError('no training images')
    has_validation = validation_images is not None and len(validation_images) > 0
    if has_validation:
        vx = images_as_input(config, validation_images)
        vy = np.asarray(validation_labels, np.int64)
    batch = min(settings.batch_size, len(x))
    steps = len(x) // batch                     # the remainder joins the next epoch's shuffle
    if initial is not None and initial.config.layers != config.layers:
        raise ValueError('initial network has other layers than the configuration')
    if settings.spiking_points:
        check_trainable(config)
    params = params_of(initial if initial is not None
                       else DeepNetwork.initialised(config, settings.seed))
    rate = (optax.cosine_decay_schedule(settings.learning_rate, settings.epochs * steps)
            if settings.cosine_decay else settings.learning_rate)
    optimiser = optax.adam(rate)
    opt_state = optimiser.init(params)

    window_s = settings.target_timesteps * config.dt_ms / 1000.0

    def loss_fn(params, xb, yb, key, penalty, timesteps, gain, v_init):
        if settings.augment_shift:      # (no extra split without it: older runs repeat)
            shift_key, key = jax.random.split(key)
            xb = shifted(xb, settings.augment_shift, shift_key)
        scores, activity = forward_with_activity(config, params, xb, settings, key)
        loss = optax.softmax_cross_entropy_with_integer_labels(scores, yb).mean()
        if settings.rate_penalty:
            loss = loss + penalty * window_s * activity.mean()
        if timesteps:
            spiking = spiking_scores(config, params, xb, timesteps, gain, v_init)
            loss = loss + optax.softmax_cross_entropy_with_integer_labels(spiking, yb).mean()
        return loss

    @partial(jax.jit, static_argnames='timesteps')     # one compilation per T
    def step(params, opt_state, xb, yb, key, penalty, timesteps, gain, v_init):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb, key, penalty, timesteps, gain,
                                                  v_init)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    start, full = (round(f * settings.epochs * steps) for f in (PENALTY_START, PENALTY_FULL))

    def penalty_at(step_index: int) -> float:
        return settings.rate_penalty * min(1.0, max(0.0, step_index - start)
                                           / max(1, full - start))

    scorer = _Scorer(config)
    order_rng = np.random.default_rng(settings.seed)
    point_rng = np.random.default_rng([settings.seed, 1])   # apart: other runs keep their order
    root_key = jax.random.PRNGKey(settings.seed)
    history: list[EpochRecord] = []
    started = time.perf_counter()
    bar = _progress_bar(settings.epochs * steps, progress)
    for epoch in range(settings.epochs):
        epoch_started = time.perf_counter()
        order = order_rng.permutation(len(x))
        epoch_key = jax.random.fold_in(root_key, epoch)
        losses = []
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            point = (settings.spiking_points[point_rng.integers(len(settings.spiking_points))]
                     if settings.spiking_points else None)
            params, opt_state, loss = step(params, opt_state, x[idx], y[idx],
                                           jax.random.fold_in(epoch_key, s),
                                           np.float32(penalty_at(epoch * steps + s)),
                                           *_point_arguments(point))
            losses.append(loss)
            if bar is not None:
                bar.update(1)
        record = EpochRecord(
            epoch=epoch + 1, loss=float(np.mean(jax.device_get(losses))),
            train_accuracy=scorer.accuracy(params, x[:_TRAIN_EVAL_MAX], y[:_TRAIN_EVAL_MAX]),
            validation_accuracy=scorer.accuracy(params, vx, vy) if has_validation else None,
            seconds=time.perf_counter() - epoch_started)
        history.append(record)
        if bar is not None:
            bar.set_postfix(loss=f'{record.loss:.3f}', train=f'{record.train_accuracy:.3f}',
                            val='-' if record.validation_accuracy is None
                            else f'{record.validation_accuracy:.3f}')
        if on_epoch is not None:
            on_epoch(network_of(config, params), history)
    if bar is not None:
        bar.close()
    return TrainResult(network_of(config, params), history, time.perf_counter() - started)


def _point_arguments(point: OperatingPoint | None) -> tuple[int, np.float32, np.float32]:
    """A training step's (timesteps, rate gain, v_init): T is static (one compilation per T),
    the constants traced; T = 0 without spiking fine-tuning."""
    if point is None:
        return 0, np.float32(1.0), np.float32(0.0)
    return point.timesteps, np.float32(point.rate_gain), np.float32(point.v_init)


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit='batch', desc='training', dynamic_ncols=True)
