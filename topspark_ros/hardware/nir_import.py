# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A feed-forward NIR graph (ours, or one written by snnTorch, Norse, ...) as a DeepNetwork.

The graph must be one chain from its Input to its Output: [Flatten] Affine | Linear | Conv2d,
each followed by LIF or CubaLIF (a hidden layer) or, last, by the Output (readout 'current':
the Output averaged over the presentation) or by a LIF and the Output (readout 'counts');
SumPool2d / AvgPool2d between them. What our simulator cannot represent is refused with one
line naming the node. Per-layer and per-neuron terms are folded where that is exact: r into
the weights, v_leak into the bias, a per-neuron threshold by scaling that neuron's weights
and bias (the reset must be 0). One membrane tau (and one synapse tau) for the whole network.

Graphs written elsewhere run with lif.integration 'discrete' by default (spike and reset at
the end of a step, no refractory period: the step of snnTorch, so a graph runs here as it ran
there); ours carry their configuration, integration included.

Two readings of a spike: ``impulse`` (NIR's own: a Dirac of area 1, what ``nir_export``
writes) and ``per_step`` (a writer that adds the weight for one step, as snnTorch does,
with taus written for its own step ``source_dt_s``: snnTorch's beta = 1 - dt/tau).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..deep.config import (DeepConfig, DeepConfigError, INTEGRATIONS, layer_shapes, LayerSpec,
                           LifParams)
from ..deep.network import DeepNetwork
from .nir_export import graph_metadata, NirError, require_nir

SPIKE_SEMANTICS = ('impulse', 'per_step')
SNNTORCH_DT_S = 1e-4            # the step snnTorch's NIR import and export assume


@dataclass(frozen=True)
class ImportOptions:
    """How to read a graph written elsewhere (ours carry their own settings)."""

    spike_semantics: str = 'impulse'
    source_dt_s: float = SNNTORCH_DT_S  # per_step: the writer's step (taus are in it)
    dt_ms: float = 1.0                  # our simulation step
    timesteps: int = 50                 # T0 of the imported model
    input_shape: tuple[int, int, int] | None = None   # for a flat Input node
    integration: str = 'discrete'       # lif.integration of a graph written elsewhere


@dataclass
class _Layer:
    spec: LayerSpec
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    neuron: Any = None                  # the LIF / CubaLIF node name, None for readouts
    fed_by_spikes: bool = True


def _chain(graph: Any) -> list[str]:
    """Node names from the Input to the Output; NirError if the graph is not one chain."""
    nir = require_nir()
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    outputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirError(f'graph: needs one Input and one Output node, has {len(inputs)} and '
                       f'{len(outputs)}')
    successors: dict[str, list[str]] = {n: [] for n in graph.nodes}
    predecessors: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for src, dst in graph.edges:
        if src not in graph.nodes or dst not in graph.nodes:
            raise NirError(f'graph: edge {src} -> {dst} names a missing node')
        successors[src].append(dst)
        predecessors[dst].append(src)
    chain, name = [], inputs[0]
    while True:
        if name in chain:
            raise NirError(f'node {name}: recurrent connection; only feed-forward graphs')
        if len(predecessors[name]) > 1:
            raise NirError(f'node {name}: {len(predecessors[name])} inputs (recurrent or '
                           'merging); only feed-forward chains')
        chain.append(name)
        if name == outputs[0]:
            break
        if len(successors[name]) != 1:
            raise NirError(f'node {name}: {len(successors[name])} outputs; only a chain from '
                           'Input to Output')
        name = successors[name][0]
    unused = sorted(set(graph.nodes) - set(chain))
    if unused:
        raise NirError(f'node {unused[0]}: not on the path from Input to Output')
    return chain


def _pair(value: Any, name: str, what: str) -> int:
    v = np.atleast_1d(np.asarray(value)).astype(int)
    if v.size not in (1, 2) or v.min() != v.max():
        raise NirError(f'node {name}: {what} {v.tolist()} differs between height and width')
    return int(v[0])


def _uniform(values: np.ndarray, name: str, what: str) -> float:
    values = np.asarray(values, np.float64).ravel()
    if not np.allclose(values, values[0], rtol=1e-5, atol=1e-12):
        raise NirError(f'node {name}: {what} differs between neurons')
    return float(values[0])


def _input_shape(graph: Any, name: str, options: ImportOptions) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in np.atleast_1d(graph.nodes[name].input_type['input']))
    while len(shape) > 3 or (len(shape) == 2 and shape[0] == 1):
        if shape[0] != 1:
            break
        shape = shape[1:]                   # a writer's batch dimension of 1 (snnTorch)
    if options.input_shape is not None:
        if math.prod(options.input_shape) != math.prod(shape):
            raise NirError(f'node {name}: input of {shape}, --input-shape '
                           f'{options.input_shape} has another size')
        return tuple(options.input_shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return (1, side, side) if side * side == shape[0] else (1, 1, shape[0])
    raise NirError(f'node {name}: input shape {shape}; give --input-shape C H W')


LayerChain = tuple[tuple[int, int, int], list[_Layer], bool]


def read_layers(graph: Any, options: ImportOptions) -> LayerChain:
    """The chain as layers with the graph's raw weights: (input shape, layers, counts
    readout)."""
    nir = require_nir()
    chain = _chain(graph)
    input_shape = _input_shape(graph, chain[0], options)
    layers: list[_Layer] = []
    previous = 'input'                  # what the next node receives: input / current / spikes
    flat_size = math.prod(input_shape)
    for name in chain[1:-1]:
        node = graph.nodes[name]
        kind = type(node).__name__
        if isinstance(node, nir.Flatten):
            continue
        if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)):
            if previous == 'current':
                raise NirError(f'node {name} ({kind}): follows another weight layer without '
                               'neurons between')
            weight = np.asarray(node.weight, np.float64)
            bias = (np.asarray(node.bias, np.float64) if not isinstance(node, nir.Linear)
                    else np.zeros(weight.shape[0]))
            if isinstance(node, nir.Conv2d):
                if int(node.groups) != 1 or _pair(node.dilation, name, 'dilation') != 1:
                    raise NirError(f'node {name} (Conv2d): groups and dilation must be 1')
                if isinstance(node.padding, str):
                    raise NirError(f'node {name} (Conv2d): padding {node.padding!r}; give an '
                                   'integer')
                if weight.shape[2] != weight.shape[3]:
                    raise NirError(f'node {name} (Conv2d): kernel {weight.shape[2:]} is not '
                                   'square')
                spec = LayerSpec('conv', weight.shape[0], weight.shape[2],
                                 _pair(node.stride, name, 'stride'),
                                 _pair(node.padding, name, 'padding'))
            else:
                if weight.ndim != 2 or weight.shape[1] != flat_size:
                    raise NirError(f'node {name} ({kind}): weight {weight.shape} does not '
                                   f'take the {flat_size} values before it')
                spec = LayerSpec('dense', weight.shape[0])
            layers.append(_Layer(spec, weight, bias, None, previous == 'spikes'))
            previous = 'current'
        elif isinstance(node, (nir.LIF, nir.CubaLIF)):
            if previous != 'current' or layers[-1].neuron is not None:
                raise NirError(f'node {name} ({kind}): neurons must follow a weight layer')
            layers[-1].neuron = name
            previous = 'spikes'
        elif isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            if previous != 'spikes':
                raise NirError(f'node {name} ({kind}): pooling is supported on spikes only')
            k = _pair(node.kernel_size, name, 'kernel_size')
            stride, padding = (_pair(node.stride, name, 'stride'),
                               _pair(node.padding, name, 'padding'))
            if stride != k or padding != 0:
                raise NirError(f'node {name} ({kind}): stride must equal the kernel, padding 0')
            layers.append(_Layer(LayerSpec('avgpool' if kind == 'AvgPool2d' else 'sumpool',
                                           kernel=k)))
        else:
            raise NirError(f'node {name} ({kind}): not representable (supported: Affine, '
                           'Linear, Conv2d, LIF, CubaLIF, SumPool2d, AvgPool2d, Flatten)')
        try:
            shapes = _shapes(input_shape, [layer.spec for layer in layers])
        except DeepConfigError as exc:
            raise NirError(f'node {name} ({kind}): {exc}') from None
        flat_size = math.prod(shapes[-1])
    weighted = [layer for layer in layers if layer.weight is not None]
    if not weighted or layers[-1].weight is None:
        raise NirError(f'node {chain[-1]}: the Output must follow a weight layer (readout) or '
                       'its LIF neurons')
    counts = weighted[-1].neuron is not None
    return input_shape, layers, counts


def _shapes(input_shape: tuple[int, int, int], specs: list[LayerSpec]) -> list[tuple]:
    """Output shapes of the layers read so far (DeepConfigError if one leaves nothing)."""
    probe = DeepConfig(input_shape=input_shape, layers=tuple(specs) + (LayerSpec('dense', 1),),
                       n_classes=1)
    return layer_shapes(probe)[:-1]


def _neuron_params(graph: Any, layers: list[_Layer]) -> tuple[float, float | None]:
    """The one membrane tau and synapse tau (seconds, in the writer's time) of the network;
    the synapse tau is None when no neurons take spikes (the graph does not say)."""
    nir = require_nir()
    taus, syn_taus = set(), set()
    for layer in layers:
        if layer.neuron is None:
            continue
        node = graph.nodes[layer.neuron]
        cuba = isinstance(node, nir.CubaLIF)
        tau = _uniform(node.tau_mem if cuba else node.tau, layer.neuron, 'tau')
        v_reset = np.asarray(node.v_reset, np.float64)
        if not np.allclose(v_reset, 0.0):
            raise NirError(f'node {layer.neuron}: v_reset {v_reset.ravel()[0]} != 0 (our '
                           'neurons reset to 0)')
        if np.any(np.asarray(node.v_threshold) <= 0):
            raise NirError(f'node {layer.neuron}: v_threshold must be > 0')
        taus.add(round(tau, 12))
        if cuba and layer.fed_by_spikes:
            syn_taus.add(round(_uniform(node.tau_syn, layer.neuron, 'tau_syn'), 12))
        elif layer.fed_by_spikes:
            syn_taus.add(0.0)
        if len(taus) > 1 or len(syn_taus) > 1:
            raise NirError(f'node {layer.neuron}: tau differs from the other layers (one '
                           'membrane and one synapse time constant per network)')
    return taus.pop(), (syn_taus.pop() if syn_taus else None)


def _to_our_tau(tau_s: float, options: ImportOptions) -> float:
    """A writer's tau (s) as our tau (ms) for the same per-step decay."""
    if tau_s <= 0:
        return 0.0
    if options.spike_semantics == 'impulse':
        return tau_s * 1000.0
    decay = 1.0 - options.source_dt_s / tau_s
    if not 0.0 < decay < 1.0:
        raise NirError(f'tau {tau_s} s is not longer than the source step '
                       f'{options.source_dt_s} s')
    return -options.dt_ms / math.log(decay)


def graph_to_deep(graph: Any, options: ImportOptions = ImportOptions()) -> DeepNetwork:
    """A DeepNetwork that runs ``graph`` (module docstring); NirError names the node that
    cannot be represented."""
    if options.spike_semantics not in SPIKE_SEMANTICS:
        raise NirError(f'spike semantics must be one of {SPIKE_SEMANTICS}')
    if options.integration not in INTEGRATIONS:
        raise NirError(f'integration must be one of {INTEGRATIONS}')
    nir = require_nir()
    ours = graph_metadata(graph)
    base = None
    if ours.get('model_kind') == 'deep_lif':
        base = DeepConfig.from_dict(ours['config'])
        options = replace(options, spike_semantics='impulse', dt_ms=base.dt_ms,
                          timesteps=base.timesteps)
    input_shape, layers, counts = read_layers(graph, options)
    tau, tau_syn = _neuron_params(graph, layers)
    lif = base.lif if base else LifParams(tau_ref_ms=0.0, v_init=0.0, v_thresh=1.0,
                                          integration=options.integration)
    tau_rc_ms = _to_our_tau(tau, options)
    tau_s_ms = lif.tau_s_ms if tau_syn is None else _to_our_tau(tau_syn, options)
    if not (base and math.isclose(tau_rc_ms, lif.tau_rc_ms, rel_tol=1e-5)
            and math.isclose(tau_s_ms, lif.tau_s_ms, rel_tol=1e-5, abs_tol=1e-9)):
        lif = replace(lif, tau_rc_ms=tau_rc_ms, tau_s_ms=tau_s_ms)    # float32 taus in files
    gain = base.rate_gain if base else 1.0
    spike_input = base is not None and base.input_coding != 'current'
    dt_s = options.dt_ms / 1000.0
    step = dt_s if options.spike_semantics == 'per_step' else 1.0
    weighted = [k for k, layer in enumerate(layers) if layer.weight is not None]
    weights, biases = [], []
    for k, layer in enumerate(layers):
        if layer.weight is None:
            weights.append(None)
            biases.append(None)
            continue
        w, b = layer.weight.copy(), layer.bias.copy()
        readout = k == weighted[-1] and not counts
        if k == weighted[0] and not spike_input:
            w_scale = 1.0 / gain                        # constant currents: J = gain W x
        elif k == weighted[0]:
            w_scale = base.input_rate_hz / gain
        else:
            w_scale = step / lif.amplitude
        b_scale = 1.0 / gain
        if readout:
            w_scale, b_scale = w_scale * gain, 1.0
        else:
            node = graph.nodes[layer.neuron]
            cuba = isinstance(node, nir.CubaLIF)
            r = np.asarray(node.r, np.float64) * (np.asarray(node.w_in, np.float64) if cuba
                                                  else 1.0)
            if options.spike_semantics == 'per_step':
                # the writer's v = beta v + r dt/tau I: our J = r dt / tau / (1 - beta) I
                tau_w = np.asarray(node.tau_mem if cuba else node.tau, np.float64)
                r = r * options.source_dt_s / tau_w / (1.0 - math.exp(-options.dt_ms
                                                                      / lif.tau_rc_ms))
            theta = np.asarray(node.v_threshold, np.float64) / lif.v_thresh
            v_leak = np.asarray(node.v_leak, np.float64)
            if layer.spec.kind == 'conv':
                per_neuron = _per_channel(r / theta, layer.neuron, 'r / v_threshold')
                leak = _per_channel(v_leak / theta, layer.neuron, 'v_leak / v_threshold')
                w = w * per_neuron[:, None, None, None]
            else:
                per_neuron = np.broadcast_to(r / theta, (w.shape[0],))
                leak = np.broadcast_to(v_leak / theta, (w.shape[0],))
                w = w * per_neuron[:, None]
            b = b * per_neuron + leak             # J = (v_leak + r I) / theta
        weights.append(w * w_scale)
        biases.append(b * b_scale)
    specs = [layer.spec for layer in layers]
    n_classes = specs[weighted[-1]].size
    if base is not None:
        config = replace(base, lif=lif)
    else:
        try:
            config = DeepConfig(input_shape=input_shape, layers=tuple(specs), lif=lif,
                                n_classes=n_classes, dt_ms=options.dt_ms,
                                timesteps=options.timesteps, rate_gain=gain,
                                readout='counts' if counts else 'current')
        except DeepConfigError as exc:
            raise NirError(f'graph: {exc}') from None
    return DeepNetwork(config, weights, biases)


def _per_channel(values: np.ndarray, name: str, what: str) -> np.ndarray:
    """A per-neuron (c, h, w) term of a conv layer as one value per channel."""
    values = np.asarray(values, np.float64)
    if values.ndim == 3:
        flat = values.reshape(values.shape[0], -1)
        if not np.allclose(flat, flat[:, :1], rtol=1e-5, atol=1e-12):
            raise NirError(f'node {name}: {what} differs within a channel')
        return flat[:, 0]
    return np.atleast_1d(values)


def read_graph(path: str | Path) -> Any:
    """A NIR file as a graph; NirError names the file if it cannot be read."""
    nir = require_nir()
    path = Path(path)
    if not path.is_file():
        raise NirError(f'{path}: NIR file not found')
    try:
        return nir.read(path)
    except ValueError as exc:
        if 'Type inference' not in str(exc):
            raise NirError(f'{path}: not a readable NIR graph ({exc})') from None
    except Exception as exc:        # h5py and nir raise many types on a foreign file
        raise NirError(f'{path}: not a readable NIR graph ({type(exc).__name__}: {exc})'
                       ) from None
    try:        # writers disagree on batch dimensions; the chain's shapes are checked here
        return nir.read(path, type_check=False)
    except Exception as exc:
        raise NirError(f'{path}: not a readable NIR graph ({type(exc).__name__}: {exc})'
                       ) from None
