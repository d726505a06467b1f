# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Both perception models as NIR graphs (Neuromorphic Intermediate Representation).

NIR's neurons are continuous-time (times in seconds) and a spike is a unit impulse: an
Affine weight w on a spike moves the target's ``r x input`` by a Dirac of area w. So each
weight that carries spikes holds what one spike does in our simulators, and what NIR cannot
hold (refractory period, initial membrane, dt, ...) goes into the graph's metadata under
``METADATA_KEY`` as JSON, with the list of what a reader loses (docs/hardware.md).

Deep network (``deep.kernels``: tau_rc dv/dt = J - v, reset to 0; a spike adds amplitude/dt
x W to J for one step, i.e. an impulse of area amplitude x W; J = gain x (W x + b) for the
constant input; the readout averages input/gain + b; the same graph for both of
lif.integration's steppings, which the metadata names):

    Input (c, h, w) -> [Flatten] -> Conv2d | Affine (gain W, gain b) -> LIF (tau_rc, r 1)
    -> Conv2d | Affine (amplitude W, gain b) -> LIF | CubaLIF (tau_s, w_in 1) -> pooling ...
    -> Affine (amplitude W / gain, b) -> Output          (readout 'current': time-average)
    -> Affine (amplitude W, gain b) -> LIF -> Output    (readout 'counts': spike counts)

STDP network (``snn.kernels``, potentials in mV): excitatory LIF with r = tau_mem so a spike
through weight w moves v by w mV, v_leak = v_rest, per-neuron threshold v_thresh + theta
(theta is frozen at inference), v_reset; lateral inhibition as a recurrent Affine
(-inh_to_exc off the diagonal) on the excitatory LIF; the neuron labels in the metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..deep.config import DeepConfig, layer_shapes
from ..deep.network import DeepNetwork
from ..snn import Network, Readout

METADATA_KEY = 'topspark_ros'
FORMAT_VERSION = 1


class NirError(ValueError):
    """A graph cannot be written or read; the message names the file or the node."""


@dataclass(frozen=True)
class Lost:
    """One feature of our model that a NIR reader does not see (kept in the metadata)."""

    feature: str
    value: Any
    note: str


def require_nir():
    """The ``nir`` package, or a NirError saying how to install it."""
    try:
        import nir
    except ImportError:
        raise NirError('the nir package is not installed (pip install nir)') from None
    return nir


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32)


def _metadata(model_kind: str, lost: list[Lost], extra: dict[str, Any]) -> dict[str, str]:
    body = {'format_version': FORMAT_VERSION, 'model_kind': model_kind,
            'lost': [vars(item) for item in lost], **extra}
    return {METADATA_KEY: json.dumps(body, sort_keys=True)}


def deep_lost_features(config: DeepConfig) -> list[Lost]:
    """What a NIR reader of a deep network does not see."""
    lif = config.lif
    lost = [Lost('dt', config.dt_ms / 1000.0, 'simulation step (s); NIR is continuous-time'),
            Lost('timesteps', config.timesteps, 'presentation length T0 the model was made for')]
    if lif.integration == 'exact':
        lost.append(Lost('spike_time_interpolation', True,
                         'our kernel resets at the exact crossing time within a step'))
    else:
        lost.append(Lost('step_end_reset', True,
                         'our neurons spike and reset at the end of a step, as snnTorch does; '
                         'a continuous-time reader resets at the crossing'))
    if lif.tau_ref_ms > 0:
        lost.append(Lost('tau_ref', lif.tau_ref_ms / 1000.0, 'refractory period (s)'))
    if lif.v_init > 0:
        lost.append(Lost('v_init', lif.v_init * lif.v_thresh,
                         'membrane at the start of a sample (NIR starts at 0)'))
    if lif.tau_s_ms > 0:
        lost.append(Lost('bias_unfiltered', True, 'our synapse filters spike input only; '
                         "CubaLIF's synapse also filters the Affine bias (same steady state)"))
    if config.input_coding != 'current':
        lost.append(Lost('input_coding', config.input_coding,
                         f'frames as {config.input_rate_hz} Hz spikes; the Input node takes '
                         'spikes, the encoder is not part of the graph'))
    if config.readout == 'current':
        lost.append(Lost('readout_average', True,
                         'class scores are the Output averaged over the presentation'))
    return lost


def deep_to_nir(network: DeepNetwork):
    """The spiking deep network as a feed-forward NIR graph (module docstring)."""
    nir = require_nir()
    config = network.config
    lif = config.lif
    gain, amplitude = config.rate_gain, lif.amplitude
    nodes: dict[str, Any] = {'input': nir.Input(input_type=np.array(config.input_shape))}
    edges: list[tuple[str, str]] = []
    previous_name, previous_shape = 'input', tuple(config.input_shape)
    spike_input = config.input_coding != 'current'
    last = len(config.layers) - 1

    def add(name: str, node: Any) -> None:
        nonlocal previous_name
        nodes[name] = node
        edges.append((previous_name, name))
        previous_name = name

    for k, (layer, shape) in enumerate(zip(config.layers, layer_shapes(config))):
        weight, bias = network.weights[k], network.biases[k]
        if layer.kind in ('avgpool', 'sumpool'):
            if len(previous_shape) != 3:
                raise NirError(f'layers[{k}] ({layer.kind}): NIR pools 2-D maps; this one '
                               'follows a dense layer')
            pool = nir.AvgPool2d if layer.kind == 'avgpool' else nir.SumPool2d
            add(f'pool{k}', pool(kernel_size=np.array([layer.kernel] * 2),
                                 stride=np.array([layer.kernel] * 2), padding=np.zeros(2, int)))
            previous_shape = shape
            continue
        fed_by_spikes = k > 0 or spike_input
        if k == 0 and spike_input:
            w_scale = gain / config.input_rate_hz   # an input spike carries gain/(rate dt)
        elif k == 0:
            w_scale = gain                          # constant pixel currents
        else:
            w_scale = amplitude
        b_scale = gain
        if k == last and config.readout == 'current':
            w_scale, b_scale = w_scale / gain, 1.0
        if layer.kind == 'conv':
            add(f'conv{k}', nir.Conv2d(
                input_shape=np.array(previous_shape[1:]), weight=_f32(weight * w_scale),
                stride=np.array([layer.stride] * 2), padding=np.array([layer.padding] * 2),
                dilation=np.array([1, 1]), groups=1, bias=_f32(bias * b_scale)))
        else:
            if len(previous_shape) > 1:
                add(f'flatten{k}', nir.Flatten(input_type={'input': np.array(previous_shape)},
                                               start_dim=0, end_dim=-1))
            add(f'affine{k}', nir.Affine(weight=_f32(weight * w_scale),
                                         bias=_f32(bias * b_scale)))
        neuron_shape = shape if layer.kind == 'conv' else (layer.size,)
        previous_shape = neuron_shape
        if k == last and config.readout == 'current':
            break
        ones = np.ones(neuron_shape, np.float32)
        if lif.tau_s_ms > 0 and fed_by_spikes:
            add(f'lif{k}', nir.CubaLIF(
                tau_syn=ones * lif.tau_s_ms / 1000.0, tau_mem=ones * lif.tau_rc_ms / 1000.0,
                r=ones.copy(), v_leak=0 * ones, v_threshold=ones * lif.v_thresh,
                v_reset=0 * ones, w_in=ones.copy()))
        else:
            add(f'lif{k}', nir.LIF(tau=ones * lif.tau_rc_ms / 1000.0, r=ones.copy(),
                                   v_leak=0 * ones, v_threshold=ones * lif.v_thresh,
                                   v_reset=0 * ones))
    add('output', nir.Output(output_type=np.array(previous_shape)))
    metadata = _metadata('deep_lif', deep_lost_features(config),
                         {'config': config.to_dict(), 'readout': config.readout})
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def stdp_lost_features(network: Network) -> list[Lost]:
    """What a NIR reader of the STDP network does not see."""
    config = network.config
    ex, inh = config.excitatory, config.inhibition
    lost = [Lost('dt', config.dt_ms / 1000.0, 'simulation step (s)'),
            Lost('refractory', ex.refractory_ms / 1000.0, 'excitatory refractory period (s)'),
            Lost('stdp', config.learning.rule, 'online learning; the graph is the frozen '
                 'inference network (adaptive thresholds folded into v_threshold)'),
            Lost('input_encoding', f'{config.input_coding} {config.input_rate_hz} Hz',
                 'frames become input spikes outside the graph'),
            Lost('readout_labels', 'metadata', 'neuron -> class assignment (readout)')]
    if inh.variant == 'layer':
        lost.append(Lost('inhibitory_layer', {
            'exc_to_inh_mv': inh.exc_to_inh_mv, 'tau_mem_s': inh.inh_tau_mem_ms / 1000.0,
            'refractory_s': inh.inh_refractory_ms / 1000.0},
            'the inhibitory population is folded into a recurrent edge: each excitatory '
            'spike inhibits the others (the layer fires once per excitatory spike unless '
            'refractory)'))
        delay = 2 * config.dt_ms
    else:
        delay = inh.direct_delay_ms
    lost.append(Lost('inhibition_delay', delay / 1000.0,
                     'the recurrent edge arrives after this delay (s) in our simulator'))
    return lost


def stdp_to_nir(network: Network, readout: Readout | None = None):
    """The STDP network's inference graph: Input -> Affine -> LIF (+ recurrent Affine) ->
    Output (module docstring)."""
    nir = require_nir()
    config = network.config
    ex, inh = config.excitatory, config.inhibition
    n = config.n_neurons
    tau = ex.tau_mem_ms / 1000.0
    ones = np.ones(n, np.float32)
    inhibition = inh.inh_to_exc_mv if inh.variant == 'layer' else inh.direct_mv
    recurrent = -inhibition * (np.ones((n, n), np.float32) - np.eye(n, dtype=np.float32))
    nodes = {
        'input': nir.Input(input_type=np.array([config.n_inputs])),
        'affine_input': nir.Affine(weight=_f32(np.asarray(network.weights).T),
                                   bias=np.zeros(n, np.float32)),
        'lif_exc': nir.LIF(tau=ones * tau, r=ones * tau, v_leak=ones * ex.v_rest_mv,
                           v_threshold=_f32(ex.v_thresh_mv + network.theta),
                           v_reset=ones * ex.v_reset_mv),
        'affine_inhibition': nir.Affine(weight=_f32(recurrent), bias=np.zeros(n, np.float32)),
        'output': nir.Output(output_type=np.array([n])),
    }
    edges = [('input', 'affine_input'), ('affine_input', 'lif_exc'),
             ('lif_exc', 'affine_inhibition'), ('affine_inhibition', 'lif_exc'),
             ('lif_exc', 'output')]
    extra: dict[str, Any] = {'config': config.to_dict()}
    if readout is not None and readout.labelled:
        extra['neuron_labels'] = [int(v) for v in readout.assignments]
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata=_metadata('stdp', stdp_lost_features(network), extra))


def write_graph(path: str | Path, graph: Any) -> Path:
    """Write ``graph`` to ``path`` atomically (a temporary file, then a rename)."""
    nir = require_nir()
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.tmp')
    try:
        nir.write(tmp, graph)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def graph_metadata(graph: Any) -> dict[str, Any]:
    """Our metadata of a graph read back (``{}`` for graphs written elsewhere)."""
    raw = (graph.metadata or {}).get(METADATA_KEY) if isinstance(graph.metadata, dict) else None
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode('utf8')
    try:
        return json.loads(str(raw))
    except ValueError:
        return {}
