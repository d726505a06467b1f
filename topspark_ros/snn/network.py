# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The Diehl & Cook network: learned state (weights, thresholds) plus the kernels that run it.

A ``Network`` owns what persists between samples (input weights W, adaptive thresholds theta,
a sample counter for reproducible Poisson seeds); everything that lives within one sample is in
the kernels. ``run`` takes prepared input spikes; ``run_image`` and ``run_batch`` encode frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels as K
from .config import NetworkConfig
from .encoding import events_time_sorted, image_to_rates, rates_to_probability, SpikeTrain
from .kernels import pack_params
from .ops import N_OPS, OP_NAMES

CACHE_LINE_BYTES = 64


@dataclass(frozen=True)
class OpCounts:
    """Work done for one sample; the energy model turns these into joules."""

    input_spikes: int
    exc_spikes: int
    inh_spikes: int
    synaptic_events: int        # spike deliveries: each spike times its fan-out
    neuron_updates: int         # neuron state updates, clock-driven (neurons x timesteps)
    weight_updates: int         # STDP weight changes plus renormalisation writes
    timesteps: int

    @classmethod
    def from_array(cls, ops: np.ndarray) -> 'OpCounts':
        return cls(*(int(x) for x in ops))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in OP_NAMES}


@dataclass(frozen=True)
class SampleResult:
    counts: np.ndarray          # spikes per excitatory neuron, int32 (n_neurons,)
    ops: OpCounts


def aligned_float32(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous float32 array that starts on a cache line (no copy when it
    already is one). The kernels add weight rows with 32-byte vector loads; numpy places
    arrays on 16-byte boundaries, so a network's rows started off a 32-byte one about every
    other time, and every load split: N400 inference took 74 us per sample at T = 350 aligned
    and 88 us off (13.7 / 15.2 us at T = 50), at random between runs
    (``benchmarks/bench_alignment.py``)."""
    a = np.asarray(a)
    if a.dtype == np.float32 and a.flags.c_contiguous and a.ctypes.data % CACHE_LINE_BYTES == 0:
        return a
    buf = np.empty(a.size * 4 + CACHE_LINE_BYTES, np.uint8)
    start = -buf.ctypes.data % CACHE_LINE_BYTES
    out = buf[start:start + a.size * 4].view(np.float32).reshape(a.shape)
    out[...] = a
    return out


def sample_seeds(seed: int, first: int, count: int) -> np.ndarray:
    """Independent seeds (Poisson code, event thinning) of samples first..first+count-1."""
    return K.sample_seeds(int(seed), int(first), int(count))


class Network:
    """Weights, thresholds and configuration of one Diehl & Cook network."""

    def __init__(self, config: NetworkConfig, weights: np.ndarray | None = None,
                 theta: np.ndarray | None = None, samples_seen: int = 0) -> None:
        shape = (config.n_inputs, config.n_neurons)
        if weights is None:
            rng = np.random.default_rng(config.seed)
            weights = (config.learning.w_init_max * rng.random(shape)).astype(np.float32)
            if config.learning.norm_total > 0:
                weights *= np.float32(config.learning.norm_total) / weights.sum(0)
        if theta is None:
            theta = np.zeros(config.n_neurons, np.float32)
        weights = aligned_float32(weights)
        theta = np.ascontiguousarray(theta, np.float32)
        if weights.shape != shape:
            raise ValueError(f'weights have shape {weights.shape}, config needs {shape}')
        if theta.shape != (config.n_neurons,):
            raise ValueError(f'theta has shape {theta.shape}, config needs ({config.n_neurons},)')
        self.weights = weights
        self.theta = theta
        self.samples_seen = int(samples_seen)
        self.config = config
        self._params = pack_params(config)

    @property
    def weights(self) -> np.ndarray:
        """Input weights W (inputs x neurons, float32), updated in place by learning."""
        return self._weights

    @weights.setter
    def weights(self, weights: np.ndarray) -> None:
        self._weights = aligned_float32(weights)

    def __setstate__(self, state: dict) -> None:
        """Copies and unpickled networks get their weights on a cache line too."""
        self.__dict__.update(state)
        self._weights = aligned_float32(self._weights)

    @property
    def config(self) -> NetworkConfig:
        return self._config

    @config.setter
    def config(self, config: NetworkConfig) -> None:
        """Swap parameters (e.g. a TopSpark enhancement) while keeping the learned state."""
        if (config.n_inputs, config.n_neurons) != self.weights.shape:
            raise ValueError('a new configuration must keep n_neurons and input_shape')
        self._config = config
        self._params = pack_params(config)

    def next_seed(self) -> int:
        """The seed of the next sample presented (its Poisson code or event thinning), for
        callers that encode a sample themselves, e.g. ``bin_events(..., seed=)``."""
        return int(sample_seeds(self.config.seed, self.samples_seen, 1)[0])

    def run(self, spikes: SpikeTrain, learn: bool = False) -> SampleResult:
        """Present one sample of prepared input spikes; learn with STDP if ``learn``."""
        if spikes.step_ptr.shape != (spikes.timesteps + 1,):
            raise ValueError('spike train step_ptr does not match its timesteps')
        if spikes.indices.size and (spikes.indices.min() < 0
                                    or spikes.indices.max() >= self.config.n_inputs):
            raise ValueError(f'spike indices outside [0, {self.config.n_inputs})')
        counts = np.zeros(self.config.n_neurons, np.int32)
        ops = np.zeros(N_OPS, np.int64)
        K.simulate(self.weights, self.theta, spikes.step_ptr.astype(np.int32, copy=False),
                   spikes.indices.astype(np.int32, copy=False), spikes.timesteps, self._params,
                   bool(learn), counts, ops)
        self.samples_seen += 1
        return SampleResult(counts, OpCounts.from_array(ops))

    def run_image(self, image: np.ndarray, timesteps: int | None = None,
                  learn: bool = False) -> SampleResult:
        """Encode one frame as Poisson spikes and present it."""
        counts, ops = self.run_batch(image[None], timesteps, learn)
        return SampleResult(counts[0], OpCounts.from_array(ops[0]))

    def run_batch(self, images: np.ndarray, timesteps: int | None = None,
                  learn: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Present frames (n, h, w) one after another; returns counts (n, N) and ops (n, N_OPS).

        Frames already at the input shape with values in [0, 255] (uint8 or float) or [0, 1]
        (float) are used as they are; others are converted by ``image_to_rates``.
        """
        prob = self.input_probability(images)
        return self.run_probability(prob, timesteps, learn)

    def input_probability(self, images: np.ndarray) -> np.ndarray:
        """Per-step spike probability (n, n_inputs) of each input for a stack of frames."""
        cfg = self.config
        rates = np.stack([image_to_rates(img, cfg.input_shape, cfg.input_rate_hz)
                          for img in images]) if len(images) else np.zeros((0, cfg.n_inputs))
        return rates_to_probability(rates, cfg.dt_ms)

    def run_events(self, index: np.ndarray, t: np.ndarray, offsets: np.ndarray,
                   window: tuple[float, float], timesteps: int | None = None,
                   learn: bool = False, time_sorted: bool | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The event fast path: samples k = events offsets[k]:offsets[k + 1] (input ``index``
        from ``event_input_index``, time ``t``), each binned from ``window`` into T steps and
        presented in one kernel call. For valid events, the same result as ``bin_events`` +
        ``run`` per sample (``bin_events`` also refuses a NaN the window never reads).
        The events a window reads are checked (finite times, indices below n_inputs) before
        any sample runs; when t ascends, the events after the window are not read at all, and
        with thinning neither are the events it drops. Time-ordered samples are all binned
        before any runs, so memory grows with the events of the whole call: call it in chunks
        (``experiment.present`` passes 200 samples at a time).
        With ``event_keep_fraction`` < 1 each event is kept or dropped by its position in its
        sample and the sample's seed, as ``bin_events(..., keep_fraction, seed)`` does.
        ``time_sorted``: whether t ascends within every sample (None: checked here; pass it
        when calling repeatedly on the same arrays)."""
        T = int(self.config.timesteps if timesteps is None else timesteps)
        if T < 1:
            raise ValueError(f'timesteps must be >= 1, got {T}')
        index = np.ascontiguousarray(index, np.int64)
        t = np.ascontiguousarray(t, np.float64)
        offsets = np.ascontiguousarray(offsets, np.int64)
        if index.shape != t.shape or offsets.ndim != 1 or offsets[-1] > t.size:
            raise ValueError('index and t must match and offsets must lie within them')
        if time_sorted is None:
            time_sorted = events_time_sorted(t, offsets)
        n = offsets.size - 1
        counts = np.zeros((n, self.config.n_neurons), np.int32)
        ops = np.zeros((n, N_OPS), np.int64)
        t0, t1 = (float(v) for v in window)
        seeds = sample_seeds(self.config.seed, self.samples_seen, n)     # event thinning
        bad = K.run_events(self.weights, self.theta, index, t, offsets, t0, t1 - t0, T,
                           self._params, bool(learn), bool(time_sorted), seeds, counts, ops)
        if bad >= 0:        # checked before anything ran: the network is unchanged
            if not np.isfinite(t[bad]):
                raise ValueError(f'event {bad} has time {t[bad]} (NaN/Inf)')
            raise ValueError(f'event {bad} has input index {index[bad]}, outside '
                             f'[0, {self.config.n_inputs})')
        self.samples_seen += n
        return counts, ops

    def run_probability(self, prob: np.ndarray, timesteps: int | None = None,
                        learn: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The fast path: a batch of per-input spike probabilities straight into the kernel."""
        T = int(self.config.timesteps if timesteps is None else timesteps)
        if T < 1:
            raise ValueError(f'timesteps must be >= 1, got {T}')
        prob = np.ascontiguousarray(prob, np.float64)
        n = prob.shape[0]
        counts = np.zeros((n, self.config.n_neurons), np.int32)
        ops = np.zeros((n, N_OPS), np.int64)
        seeds = sample_seeds(self.config.seed, self.samples_seen, n)
        K.run_rates(self.weights, self.theta, prob, T, self._params, bool(learn), seeds,
                    counts, ops)
        self.samples_seen += n
        return counts, ops
