# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The spiking deep network: configuration plus trained weights; runs as spiking LIF neurons
(``kernels``) or as the rate network it was trained as (``rates.forward_rates``)."""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Sequence

import cv2
import numpy as np

from ..snn.encoding import image_to_rates, SpikeTrain, to_intensity
from ..snn.network import OpCounts
from ..snn.ops import N_OPS

from . import kernels as K
from .config import DeepConfig, INPUT_CODINGS, layer_shapes, weight_shapes
from .rates import forward_rates


class DeepNetwork:
    """Weights (conv: (out, in, k, k); dense: (out, in)) and biases of every layer; None for
    pooling layers."""

    def __init__(self, config: DeepConfig, weights: Sequence[np.ndarray | None],
                 biases: Sequence[np.ndarray | None]) -> None:
        expected = weight_shapes(config)
        if len(weights) != len(expected) or len(biases) != len(expected):
            raise ValueError(f'{len(expected)} layers need {len(expected)} weights and biases')
        self.weights: list[np.ndarray | None] = []
        self.biases: list[np.ndarray | None] = []
        for k, (shapes, weight, bias) in enumerate(zip(expected, weights, biases)):
            if shapes is None:
                self.weights.append(None)
                self.biases.append(None)
                continue
            if weight is None or bias is None:
                raise ValueError(f'layer {k} ({config.layers[k].kind}) has no weights')
            weight = np.ascontiguousarray(weight, np.float32)
            bias = np.ascontiguousarray(bias, np.float32)
            if weight.shape != shapes[0] or bias.shape != shapes[1]:
                raise ValueError(f'layer {k}: weight {weight.shape} / bias {bias.shape}, the '
                                 f'configuration needs {shapes[0]} / {shapes[1]}')
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError(f'layer {k}: weights or biases contain NaN/Inf')
            self.weights.append(weight)
            self.biases.append(bias)
        self.config = config

    @classmethod
    def initialised(cls, config: DeepConfig, seed: int = 0) -> 'DeepNetwork':
        """He-uniform weights and zero biases (what training starts from)."""
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for shapes in weight_shapes(config):
            if shapes is None:
                weights.append(None)
                biases.append(None)
                continue
            fan_in = int(np.prod(shapes[0][1:]))
            bound = np.sqrt(6.0 / fan_in)
            weights.append(rng.uniform(-bound, bound, shapes[0]).astype(np.float32))
            biases.append(np.zeros(shapes[1], np.float32))
        return cls(config, weights, biases)

    def with_integration(self, integration: str) -> 'DeepNetwork':
        """The same weights run with ``lif.integration`` ``integration`` (``LifParams.
        with_integration``): how a model is converted to the stepping NIR simulators take."""
        if integration == self.config.lif.integration:
            return self
        config = dataclasses.replace(self.config,
                                     lif=self.config.lif.with_integration(integration))
        return DeepNetwork(config, self.weights, self.biases)

    def rate_scores(self, image: np.ndarray, soft: bool = True) -> np.ndarray:
        """Class scores of the rate network (the ANN) for one input in [0, 1]."""
        return forward_rates(self.config, self.weights, self.biases, image, soft)


class PackedLayers(NamedTuple):
    """The network as the kernel reads it (``kernels`` module docstring)."""

    table: np.ndarray           # (n_layers, N_COLUMNS) int64
    weights: np.ndarray         # float32 (as trained), every layer's weights in kernel order
    biases: np.ndarray          # float64
    n_neurons: int              # conv and dense units of every layer
    fanout: K.Fanout            # where every input and hidden neuron's spike goes


def pack_layers(config: DeepConfig, weights: Sequence[np.ndarray | None],
                biases: Sequence[np.ndarray | None]) -> PackedLayers:
    """Layer table and flat weights: conv (out, in, k, k) -> (in, k, k, out), dense
    (out, in) -> (in, out), so that one spike's fan-out is a run of consecutive weights."""
    rows, flat_w, flat_b = [], [], []
    w_off = b_off = n_off = 0
    previous = config.input_shape
    for layer, out, weight, bias in zip(config.layers, layer_shapes(config), weights, biases):
        row = np.zeros(K.N_COLUMNS, np.int64)
        row[K.KIND] = K.KIND_CODES[layer.kind]
        row[[K.C_IN, K.H_IN, K.W_IN]] = previous
        row[[K.C_OUT, K.H_OUT, K.W_OUT]] = out
        row[[K.KERNEL, K.STRIDE, K.PAD]] = layer.kernel, layer.stride, layer.padding
        row[[K.W_OFF, K.B_OFF, K.N_OFF]] = w_off, b_off, -1
        if weight is not None:
            packed = (weight.transpose(1, 2, 3, 0) if layer.kind == 'conv' else weight.T)
            flat_w.append(np.ascontiguousarray(packed, np.float32).ravel())
            flat_b.append(np.asarray(bias, np.float64))
            row[K.N_OFF] = n_off
            w_off += flat_w[-1].size
            b_off += bias.size
            n_off += int(np.prod(out))
        rows.append(row)
        previous = out
    table = np.stack(rows)
    return PackedLayers(table, np.concatenate(flat_w), np.concatenate(flat_b), n_off,
                        fanout_segments(table))


def fanout_segments(table: np.ndarray) -> K.Fanout:
    """Every source neuron's targets, as runs of consecutive output channels: the input
    pixels (feeding layer 0) and each conv/dense layer's outputs but the readout's (feeding
    the next layer, through pooling). Computed once per network, so that a spike's delivery
    is a few vectorised adds (``kernels._deliver``)."""
    n_layers = len(table)
    base = np.full(n_layers, -1, np.int64)
    feeds = [0] + [k + 1 for k in range(n_layers - 1)
                   if table[k, K.KIND] in (K.CONV, K.DENSE)]
    start, target, weight, length, scale = [0], [], [], [], []
    sources = 0
    for layer in feeds:
        base[layer] = sources
        n_in = int(np.prod(table[layer, [K.C_IN, K.H_IN, K.W_IN]]))
        for index in range(n_in):
            for t, w, n, f in _segments(table, layer, index):
                target.append(t)
                weight.append(w)
                length.append(n)
                scale.append(f)
            start.append(len(target))
        sources += n_in
    as_int = [np.asarray(a, np.int64) for a in (start, target, weight, length)]
    events = np.add.reduceat(np.append(as_int[3], 0), as_int[0][:-1])
    events[as_int[0][:-1] == as_int[0][1:]] = 0             # sources without targets
    return K.Fanout(*as_int, np.asarray(scale, np.float32), events.astype(np.int64), base)


def _segments(table: np.ndarray, layer: int, index: int) -> list[tuple[int, int, int, float]]:
    """(target, weight, length, scale) of one source: neuron ``index`` (channels-last) of the
    population feeding ``layer``."""
    factor = 1.0
    while table[layer, K.KIND] in (K.AVGPOOL, K.SUMPOOL):
        c_in, w_in, k = table[layer, K.C_IN], table[layer, K.W_IN], table[layer, K.KERNEL]
        pixel, c = divmod(index, c_in)
        y, x = divmod(pixel, w_in)
        if y // k >= table[layer, K.H_OUT] or x // k >= table[layer, K.W_OUT]:
            return []                           # the edge rows a pooling window leaves out
        index = ((y // k) * table[layer, K.W_OUT] + x // k) * c_in + c
        if table[layer, K.KIND] == K.AVGPOOL:
            factor /= k * k
        layer += 1
    row = table[layer]
    c_in, h_in, w_in = row[K.C_IN], row[K.H_IN], row[K.W_IN]
    c_out, h_out, w_out = row[K.C_OUT], row[K.H_OUT], row[K.W_OUT]
    w_off, n_off = row[K.W_OFF], row[K.N_OFF]
    pixel, c = divmod(index, c_in)
    y, x = divmod(pixel, w_in)
    if row[K.KIND] == K.DENSE:                  # weights are (c, h, w) x out
        return [(n_off, w_off + ((c * h_in + y) * w_in + x) * c_out, c_out, factor)]
    k, stride, pad = row[K.KERNEL], row[K.STRIDE], row[K.PAD]
    out = []
    for ky in range(k):                         # ky = y + pad - stride oy
        ty = y + pad - ky
        if ty < 0 or ty % stride or ty // stride >= h_out:
            continue
        for kx in range(k):
            tx = x + pad - kx
            if tx < 0 or tx % stride or tx // stride >= w_out:
                continue
            out.append((n_off + ((ty // stride) * w_out + tx // stride) * c_out,
                        w_off + ((c * k + ky) * k + kx) * c_out, c_out, factor))
    return out


def sim_constants(config: DeepConfig) -> K.SimConstants:
    """The kernel's constants for a configuration (seconds)."""
    lif = config.lif
    dt = config.dt_ms / 1000.0
    return K.SimConstants(
        dt=dt, tau_rc=lif.tau_rc_ms / 1000.0, tau_ref=lif.tau_ref_ms / 1000.0,
        syn_decay=math.exp(-config.dt_ms / lif.tau_s_ms) if lif.tau_s_ms > 0 else 0.0,
        v_init=lif.v_init, v_thresh=lif.v_thresh, amplitude=lif.amplitude,
        gain=config.rate_gain, coding=INPUT_CODINGS.index(config.input_coding),
        input_rate_hz=config.input_rate_hz, readout_counts=config.readout == 'counts',
        discrete=lif.integration == 'discrete')


_UINT8_INTENSITY = to_intensity(np.arange(256, dtype=np.uint8)[None, :]).astype(np.float64)[0]
"""``to_intensity`` of each 8-bit grey level: a frame at the input's size is a table look-up
(about 1 us instead of 8 for a 28 x 28 digit; the same numbers, test_deep_simulation)."""


def frame_input(image: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """A frame (H x W grey, H x W x C colour; any size and dtype ``to_intensity`` reads) as
    the kernel's channels-last input in [0, 1] at ``input_shape`` (c, h, w)."""
    channels, height, width = input_shape
    if channels == 1:
        if (isinstance(image, np.ndarray) and image.dtype == np.uint8
                and image.shape == (height, width)):
            return _UINT8_INTENSITY[image.ravel()]
        return image_to_rates(image, (height, width), 1.0)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < channels:
        raise ValueError(f'the model takes {channels}-channel frames, got shape {image.shape}')
    scaled = np.stack([to_intensity(image[:, :, c]) for c in range(channels)], axis=2)
    if scaled.shape[:2] != (height, width):
        scaled = cv2.resize(scaled, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(scaled, np.float64).ravel()


class Simulator:
    """Runs a DeepNetwork as spiking LIF neurons, one sample at a time, reusing its working
    arrays (not thread-safe: one simulator per thread)."""

    _EMPTY_PTR = np.zeros(1, np.int32)
    _EMPTY_INDEX = np.zeros(0, np.int32)

    def __init__(self, network: DeepNetwork) -> None:
        self.network = network
        self.packed = pack_layers(network.config, network.weights, network.biases)
        self._fanout = tuple(self.packed.fanout)        # plain tuples: Numba's dispatcher
        self._constants: tuple[DeepConfig | None, tuple] = (None, ())   # reads them faster
        n = self.packed.n_neurons
        self._state = np.zeros((K.N_STATE_ROWS, n))
        self._inp = np.zeros(n, np.float32)
        self._counts = np.zeros(n, np.int32)
        self._scratch = np.zeros((2, n), np.int64)
        self._ops = np.zeros(N_OPS, np.int64)

    def run_frame(self, image: np.ndarray, timesteps: int, config: DeepConfig | None = None,
                  seed: int = 0) -> tuple[np.ndarray, OpCounts]:
        """Class scores and work for one frame; ``config``: the base one with a profile's
        overrides (same layers), default the network's own."""
        config = config or self.network.config
        x = frame_input(image, config.input_shape)
        return self._run(x, self._EMPTY_PTR, self._EMPTY_INDEX, timesteps, config, seed)

    def run_spikes(self, spikes: SpikeTrain, config: DeepConfig | None = None
                   ) -> tuple[np.ndarray, OpCounts]:
        """Class scores and work for given input spikes (indices into the (h, w) input)."""
        config = config or self.network.config
        n_inputs = config.n_inputs
        if spikes.indices.size and (spikes.indices.min() < 0
                                    or spikes.indices.max() >= n_inputs):
            raise ValueError(f'spike indices outside [0, {n_inputs})')
        x = np.zeros(n_inputs)
        constants = sim_constants(config)._replace(coding=K.CODING_SPIKES)
        return self._run(x, spikes.step_ptr.astype(np.int32, copy=False),
                         spikes.indices.astype(np.int32, copy=False), spikes.timesteps,
                         config, 0, tuple(constants))

    def _run(self, x: np.ndarray, step_ptr: np.ndarray, index: np.ndarray, timesteps: int,
             config: DeepConfig, seed: int, constants: tuple | None = None
             ) -> tuple[np.ndarray, OpCounts]:
        if timesteps < 1:
            raise ValueError(f'timesteps must be >= 1, got {timesteps}')
        if constants is None:
            if self._constants[0] is not config:        # perception passes the same one
                self._constants = (config, tuple(sim_constants(config)))
            constants = self._constants[1]
        scores = np.zeros(config.n_classes)
        packed = self.packed
        K.simulate(packed.table, self._fanout, packed.weights, packed.biases, x, step_ptr,
                   index, int(timesteps), constants, int(seed), self._state, self._inp,
                   self._counts, self._scratch, scores, self._ops)
        return scores, OpCounts(*self._ops.tolist())

    def reload_readout(self) -> None:
        """Copy the network's dense readout weights and biases (changed in place by online
        learning, ``online.delta_rule``) into the arrays the kernel reads."""
        row = self.packed.table[-1]
        weight, bias = self.network.weights[-1], self.network.biases[-1]
        w_off, b_off = int(row[K.W_OFF]), int(row[K.B_OFF])
        self.packed.weights[w_off:w_off + weight.size] = weight.T.ravel()
        self.packed.biases[b_off:b_off + bias.size] = bias

    def hidden_counts(self) -> np.ndarray:
        """Spikes of every neuron in the last sample (channels-last per layer)."""
        return self._counts.copy()
