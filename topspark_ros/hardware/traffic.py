# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A model as a spike graph: its neurons, who sends spikes to whom, and how many spikes each
neuron sends per sample (measured on samples with our simulators).

Neurons are numbered group by group: the inputs when they spike (STDP: Poisson pixels; deep
network: spike input codings), then each layer of neurons in the simulator's order (deep:
channels-last). A deep network fed constant pixel currents gets its first layer's currents
from the host (as biases), so the pixels are not neurons on the chip and that layer stores
no synapses there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..deep.config import DeepConfig, layer_shapes
from ..deep.network import DeepNetwork, frame_input, Simulator
from ..snn import Network, poisson_encode, image_to_rates


@dataclass(frozen=True)
class SpikeGraph:
    """Synapses as CSR by source: neuron i's targets are targets[indptr[i]:indptr[i + 1]]."""

    group_names: tuple[str, ...]
    group: np.ndarray           # group index of every neuron (int32)
    indptr: np.ndarray          # int64 (n + 1,)
    targets: np.ndarray         # int32
    updated: np.ndarray         # bool: the chip updates this neuron every step (not inputs)
    row: np.ndarray | None = None
    """Where each neuron sits along the image's height, in [0, 1] for the units of a 2-D map
    (inputs, conv) and above 1 for dense units; None for a graph without that geometry."""

    @property
    def n(self) -> int:
        return self.group.size

    @property
    def fan_in(self) -> np.ndarray:
        """Synapses stored at each neuron (its incoming connections)."""
        return np.bincount(self.targets, minlength=self.n)

    @property
    def fan_out(self) -> np.ndarray:
        return np.diff(self.indptr)

    def sources(self) -> np.ndarray:
        """The source of every synapse (aligned with ``targets``)."""
        return np.repeat(np.arange(self.n, dtype=np.int32), self.fan_out)


def _csr(n: int, lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(n + 1, np.int64)
    indptr[1:] = np.cumsum([t.size for t in lists])
    targets = np.concatenate(lists).astype(np.int32) if lists else np.zeros(0, np.int32)
    return indptr, targets


def _conv_targets(y: int, x: int, k: int, stride: int, pad: int, h_out: int, w_out: int
                  ) -> list[tuple[int, int]]:
    """Output positions whose k x k window (stride, padding) covers input (y, x)."""
    ys = [oy for oy in range(max(0, -(-(y + pad - k + 1) // stride)), (y + pad) // stride + 1)
          if oy < h_out]
    xs = [ox for ox in range(max(0, -(-(x + pad - k + 1) // stride)), (x + pad) // stride + 1)
          if ox < w_out]
    return [(oy, ox) for oy in ys for ox in xs]


def deep_graph(network: DeepNetwork, config: DeepConfig | None = None) -> SpikeGraph:
    """The deep network's neurons and synapses (pooling folded into the connections), run
    with ``config`` (default its own): with spike input codings the inputs are neurons too."""
    config = config or network.config
    shapes = layer_shapes(config)
    weighted = [k for k, layer in enumerate(config.layers) if layer.kind in ('conv', 'dense')]
    names, offsets, sizes = [], {}, []
    spike_input = config.input_coding != 'current'
    n = 0
    if spike_input:
        names.append('input')
        offsets['input'] = 0
        n = config.n_inputs
        sizes.append(n)
    for k in weighted:
        names.append(f'{config.layers[k].kind}{k}')
        offsets[k] = n
        size = int(np.prod(shapes[k]))
        sizes.append(size)
        n += size
    lists: list[np.ndarray] = []

    def targets_of(shape_in: tuple[int, int, int], start: int) -> list[np.ndarray]:
        """Targets of every neuron of a (c, h, w) map feeding layer ``start`` (channels-last
        order), through any pooling layers."""
        c_in, h_in, w_in = shape_in
        out = []
        for y in range(h_in):
            for x in range(w_in):
                for c in range(c_in):
                    layer, py, px, ok = start, y, x, True
                    while config.layers[layer].kind in ('avgpool', 'sumpool'):
                        kk = config.layers[layer].kernel
                        py, px = py // kk, px // kk
                        ok = py < shapes[layer][1] and px < shapes[layer][2]
                        layer += 1
                        if not ok:
                            break
                    if not ok:
                        out.append(np.zeros(0, np.int64))
                        continue
                    spec = config.layers[layer]
                    c_out, h_out, w_out = shapes[layer]
                    base = offsets[layer]
                    if spec.kind == 'dense':
                        out.append(base + np.arange(c_out))
                        continue
                    cells = _conv_targets(py, px, spec.kernel, spec.stride, spec.padding,
                                          h_out, w_out)
                    out.append(np.concatenate(
                        [base + (oy * w_out + ox) * c_out + np.arange(c_out)
                         for oy, ox in cells]) if cells else np.zeros(0, np.int64))
        return out

    if spike_input:
        lists.extend(targets_of(config.input_shape, 0))
    for i, k in enumerate(weighted):
        if i + 1 < len(weighted):
            lists.extend(targets_of(shapes[k], k + 1))
        else:
            lists.extend(np.zeros(0, np.int64) for _ in range(sizes[-1]))
    indptr, targets = _csr(n, lists)
    group = np.repeat(np.arange(len(names), dtype=np.int32), sizes)
    updated = np.ones(n, bool)
    if spike_input:
        updated[:config.n_inputs] = False
    maps = ([config.input_shape] if spike_input else []) + [shapes[k] for k in weighted]
    row = np.concatenate([np.repeat((np.arange(h) + 0.5) / h, w * c) if h * w > 1
                          else np.full(c, 2.0) for c, h, w in maps])
    return SpikeGraph(tuple(names), group, indptr, targets, updated, row)


def deep_counts(network: DeepNetwork, images: np.ndarray, timesteps: int,
                config: DeepConfig | None = None) -> np.ndarray:
    """Mean spikes per sample of every neuron of ``deep_graph`` (inputs: their expected
    Poisson / regular count)."""
    config = config or network.config
    sim = Simulator(network)
    total = np.zeros(sim.packed.n_neurons)
    inputs = np.zeros(config.n_inputs)
    for image in images:
        sim.run_frame(image, timesteps, config)
        total += sim.hidden_counts()
        if config.input_coding != 'current':
            inputs += frame_input(image, config.input_shape)
    total /= max(len(images), 1)
    if config.input_coding == 'current':
        return total
    expected = inputs / max(len(images), 1) * config.input_rate_hz * config.dt_ms / 1000.0
    return np.concatenate([expected * timesteps, total])


def stdp_graph(network: Network) -> SpikeGraph:
    """Inputs -> every excitatory neuron; lateral inhibition through the inhibitory layer
    (exc j -> inh j -> every exc k != j) or directly (exc j -> every exc k != j)."""
    config = network.config
    n_in, n_exc = config.n_inputs, config.n_neurons
    layer = config.inhibition.variant == 'layer'
    exc = n_in + np.arange(n_exc)
    lists = [exc for _ in range(n_in)]
    if layer:
        inh = n_in + n_exc + np.arange(n_exc)
        lists += [inh[j:j + 1] for j in range(n_exc)]
        lists += [np.delete(exc, j) for j in range(n_exc)]
        names, sizes = ('input', 'excitatory', 'inhibitory'), (n_in, n_exc, n_exc)
    else:
        lists += [np.delete(exc, j) for j in range(n_exc)]
        names, sizes = ('input', 'excitatory'), (n_in, n_exc)
    n = sum(sizes)
    indptr, targets = _csr(n, lists)
    group = np.repeat(np.arange(len(names), dtype=np.int32), sizes)
    updated = np.ones(n, bool)
    updated[:n_in] = False
    return SpikeGraph(names, group, indptr, targets, updated)


def stdp_counts(network: Network, images: np.ndarray, timesteps: int, seed: int = 0
                ) -> np.ndarray:
    """Mean spikes per sample of every neuron of ``stdp_graph``: inputs by their Poisson
    expectation, excitatory neurons measured; an inhibitory neuron is driven only by its
    excitatory partner, so it gets its partner's count times the measured ratio of
    inhibitory to excitatory spikes."""
    config = network.config
    rates = np.stack([image_to_rates(img, config.input_shape, config.input_rate_hz)
                      for img in images])
    exc = np.zeros(config.n_neurons)
    n_exc = n_inh = 0
    for k, r in enumerate(rates):
        result = network.run(poisson_encode(r, timesteps, config.dt_ms, seed + k))
        exc += result.counts
        n_exc += result.ops.exc_spikes
        n_inh += result.ops.inh_spikes
    exc /= len(images)
    inputs = rates.mean(0) * config.dt_ms / 1000.0 * timesteps
    parts = [inputs, exc]
    if config.inhibition.variant == 'layer':
        parts.append(exc * (n_inh / n_exc if n_exc else 0.0))
    return np.concatenate(parts)
