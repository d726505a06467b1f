# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""Our NIR graphs run in snnTorch, and a graph written by snnTorch run here: do the two
simulators agree on predictions and spike counts on the held-out digits?

Runs in the venv of ``setup_nir_peers.sh`` (torch 2.13.0 CPU, snnTorch 1.0.0, nirtorch):

    bash benchmarks/peers/setup_nir_peers.sh
    .venv-nir-peers/bin/python benchmarks/peers/nir_snntorch.py \\
        --deep config/model_deep_cnn.npz --samples 1000 --timesteps 10 20 50 100 200
    .venv-nir-peers/bin/python benchmarks/peers/nir_snntorch.py \\
        --deep config/model_deep_cnn.npz --samples 1000 --timesteps 10 --gain 2
    .venv-nir-peers/bin/python benchmarks/peers/nir_snntorch.py --stdp config/model_n400.npz \\
        --samples 200 --timesteps 50 100 350
    .venv-nir-peers/bin/python benchmarks/peers/nir_snntorch.py --random mlp --samples 200

Direction 1 (ours -> snnTorch): ``topspark-export``'s graph is written, read back with
``nir.read`` and given to ``snntorch.import_from_nir`` after the rewrites snnTorch's
importer needs (docs/hardware.md, "snnTorch"): it steps every graph at dt = 1e-4 s
(beta = 1 - dt / tau), so each tau becomes the one whose beta equals our per-step decay;
it adds an Affine's output once per step where NIR's spike is a unit impulse, so weights
that carry spikes are divided by our dt; it needs v_leak = 0 and one threshold per layer
(the STDP graph's per-neuron thresholds and rest potential are folded into its weights);
Flatten must keep the batch dimension. Direction 2 (snnTorch -> ours): the same network
built as a ``torch.nn.Sequential`` of snnTorch modules, written with
``snntorch.export_to_nir``, imported by ``topspark_ros.hardware.nir_import`` with
``spike_semantics='per_step'``.

Deep models run in our simulator in each semantic choice (``our_variants``: native, without
refractory period, lif.integration 'discrete', and exported-then-imported graphs), so the
figures say how much each difference between the two simulators weighs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
from pathlib import Path
import sys
import time

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import nir  # noqa: E402
import snntorch as snn  # noqa: E402
from snntorch import utils as snn_utils  # noqa: E402
from snntorch.export_nir import export_to_nir  # noqa: E402
from snntorch.import_nir import import_from_nir  # noqa: E402
import torch  # noqa: E402

from topspark_ros.datasets import load_dataset  # noqa: E402
from topspark_ros.deep.checkpoint import load_deep_checkpoint  # noqa: E402
from topspark_ros.deep.config import DeepConfig, LayerSpec  # noqa: E402
from topspark_ros.deep.network import DeepNetwork, frame_input, Simulator  # noqa: E402
from topspark_ros.hardware.nir_export import deep_to_nir, stdp_to_nir  # noqa: E402
from topspark_ros.hardware.nir_import import (graph_to_deep, ImportOptions,  # noqa: E402
                                              SNNTORCH_DT_S)
from topspark_ros.snn import load_checkpoint, poisson_encode, SpikeTrain  # noqa: E402

torch.set_num_threads(1)


def through_file(graph: nir.NIRGraph) -> nir.NIRGraph:
    """Write and read back, as a user passing the file between tools would."""
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    buffer.seek(0)
    import h5py
    with h5py.File(buffer, 'r') as f:
        return nir.dict2NIRNode(nir.serialization.hdf2dict(f['node']))


def snntorch_tau(decay: float) -> float:
    """The tau snnTorch's importer turns into beta = decay (it uses beta = 1 - 1e-4 / tau)."""
    return SNNTORCH_DT_S / (1.0 - decay)


def deep_dialect(graph: nir.NIRGraph, dt_s: float, spike_input: bool = False
                 ) -> nir.NIRGraph:
    """Our deep graph rewritten for snnTorch's importer (module docstring); with
    ``spike_input`` the Input carries spikes too."""
    nodes = dict(graph.nodes)
    spike_fed = set()
    for src, dst in graph.edges:
        if isinstance(graph.nodes[src], (nir.LIF, nir.CubaLIF)) or (
                spike_input and isinstance(graph.nodes[src], nir.Input)):
            spike_fed.add(dst)
    changed = True
    while changed:              # through pooling and Flatten, spikes stay spikes
        changed = False
        for src, dst in graph.edges:
            if src in spike_fed and isinstance(graph.nodes[src], (
                    nir.AvgPool2d, nir.SumPool2d, nir.Flatten)) and dst not in spike_fed:
                spike_fed.add(dst)
                changed = True
    for name, node in graph.nodes.items():
        if isinstance(node, nir.LIF):
            decay = np.exp(-dt_s / node.tau)
            nodes[name] = nir.LIF(tau=snntorch_tau(decay), r=node.r, v_leak=node.v_leak,
                                  v_threshold=node.v_threshold, v_reset=node.v_reset)
        elif isinstance(node, nir.CubaLIF):
            raise SystemExit(f'node {name}: CubaLIF conversion is not implemented here')
        elif isinstance(node, nir.SumPool2d):
            raise SystemExit(f'node {name}: snnTorch imports no SumPool2d')
        elif isinstance(node, nir.Flatten):
            nodes[name] = nir.Flatten(input_type=node.input_type, start_dim=1, end_dim=-1)
        elif isinstance(node, (nir.Affine, nir.Conv2d)) and name in spike_fed:
            nodes[name] = dataclasses.replace(node, weight=node.weight / dt_s)
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), type_check=False)


def run_snntorch(net: torch.nn.Module, inputs: np.ndarray, timesteps: int,
                 spikes: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Summed outputs (n, out) and hidden spikes per sample (n,) over ``timesteps``; inputs
    (n, ...) constant currents, or (T, n, ...) spikes with ``spikes``."""
    snn_utils.reset(net)
    hidden = []

    def count(_module, _inputs, output):
        spk = output[0] if isinstance(output, tuple) else output
        hidden.append(spk.detach().reshape(spk.shape[0], -1).sum(1))

    neurons = [m for m in net.modules() if isinstance(m, (snn.Leaky, snn.Synaptic,
                                                          snn.RLeaky))]
    hooks = [m.register_forward_hook(count) for m in neurons]
    total = None
    dtype = next(net.parameters()).dtype
    with torch.no_grad():
        for t in range(timesteps):
            x = torch.as_tensor(inputs[t] if spikes else inputs, dtype=dtype)
            out = net(x)
            out = out[0] if isinstance(out, tuple) else out
            total = out.clone() if total is None else total + out
    for hook in hooks:
        hook.remove()
    n = inputs.shape[1] if spikes else inputs.shape[0]
    spikes_per_sample = (torch.stack(hidden).reshape(timesteps, len(neurons), n).sum((0, 1))
                         if hidden else torch.zeros(n))
    return total.numpy().reshape(n, -1), spikes_per_sample.numpy()


def regular_trains(frames_hwc: np.ndarray, timesteps: int, config: DeepConfig
                   ) -> np.ndarray:
    """Boolean (T, n, inputs) spikes of input coding 'regular', the kernel's rule: a phase
    from 0.5 gains x rate dt per step and spikes (losing 1) when it reaches 1."""
    phase = np.full(frames_hwc.shape, 0.5)
    p_step = config.input_rate_hz * config.dt_ms / 1000.0
    dense = np.zeros((timesteps,) + frames_hwc.shape, bool)
    for t in range(timesteps):
        phase += frames_hwc * p_step
        dense[t] = phase >= 1.0
        phase[dense[t]] -= 1.0
    return dense


def as_spike_train(dense: np.ndarray) -> SpikeTrain:
    """One sample's (T, inputs) raster in the CSR form ``Simulator.run_spikes`` takes."""
    steps, indices = np.nonzero(dense)
    step_ptr = np.searchsorted(steps, np.arange(dense.shape[0] + 1)).astype(np.int32)
    return SpikeTrain(step_ptr, indices.astype(np.int32), dense.shape[0])


def ours_deep(network: DeepNetwork, frames: np.ndarray, timesteps: int,
              trains: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Our scores and hidden spikes per sample; with ``trains`` (T, n, inputs) the same
    input spikes as snnTorch gets (``run_spikes``), else the frames."""
    sim = Simulator(network)
    last = network.config.layers[-1].size
    scores, spikes = [], []
    for k, frame in enumerate(frames):
        if trains is None:
            s, _ = sim.run_frame(frame, timesteps)
        else:
            s, _ = sim.run_spikes(as_spike_train(trains[:, k]))
        scores.append(s)
        counts = sim.hidden_counts()
        spikes.append(counts.sum() - (counts[-last:].sum()
                                      if network.config.readout == 'counts' else 0))
    return np.array(scores), np.array(spikes, float)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def quiet_import(graph: nir.NIRGraph) -> torch.nn.Module:
    """``import_from_nir`` without its per-layer printout of the threshold it rescales
    (its hack_w_scale; the rescaling is what the dialect intends)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return import_from_nir(graph)


def in_float64(net: torch.nn.Module, config: DeepConfig) -> torch.nn.Module:
    """An imported deep graph computing in float64 with beta and threshold set in float64
    (``exp(-dt / tau)``, ``v_th / (1 - beta)``), not from the file's float32 tau: what is
    left of the differences to our float64 kernel in 'discrete' is then summation order."""
    decay = math.exp(-config.dt_ms / config.lif.tau_rc_ms)
    net = net.double()
    for module in net.modules():
        if isinstance(module, snn.Leaky):
            module.beta = torch.tensor(decay, dtype=torch.float64)
            module.threshold = torch.tensor(config.lif.v_thresh / (1.0 - decay),
                                            dtype=torch.float64)
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            # snnTorch's spikes are float32 whatever the membrane's type
            module.register_forward_pre_hook(
                lambda _module, args: tuple(a.double() for a in args))
    return net


def strip_metadata(graph: nir.NIRGraph) -> nir.NIRGraph:
    """The graph as another tool would write it: without our configuration."""
    return nir.NIRGraph(nodes=dict(graph.nodes), edges=list(graph.edges), metadata={},
                        type_check=False)


def our_variants(network: DeepNetwork) -> dict[str, DeepNetwork]:
    """Our simulator's readings of the model, each a semantic choice (docs/hardware.md):
    native; without refractory period; lif.integration 'discrete'; and the graphs exported
    by topspark-export and imported again (ours keep their configuration; as a foreign graph,
    without our metadata, the importer's defaults apply: impulse spikes, 'discrete')."""
    config = network.config
    no_refractory = DeepNetwork(dataclasses.replace(
        config, lif=dataclasses.replace(config.lif, tau_ref_ms=0.0, integration='exact')),
        network.weights, network.biases)
    discrete = network.with_integration('discrete')
    foreign = ImportOptions(dt_ms=config.dt_ms, timesteps=config.timesteps,
                            input_shape=config.input_shape)
    return {
        'ours': network, 'ours_no_refractory': no_refractory, 'ours_discrete': discrete,
        'reimported': graph_to_deep(through_file(deep_to_nir(network))),
        'reimported_discrete': graph_to_deep(through_file(deep_to_nir(discrete))),
        'reimported_as_foreign': graph_to_deep(strip_metadata(through_file(
            deep_to_nir(network))), foreign)}


def compare_deep(network: DeepNetwork, images: np.ndarray, labels: np.ndarray,
                 grid: list[int], substeps: int, float64: bool = False) -> dict:
    config = network.config
    if config.input_coding == 'poisson':
        raise SystemExit('input coding poisson: random trains; use current or regular')
    spike_input = config.input_coding == 'regular'
    graph = through_file(deep_to_nir(network))
    dialect = deep_dialect(graph, config.dt_ms / 1000.0, spike_input)
    snntorch_nets = {'snntorch': quiet_import(dialect)}
    # snnTorch's 'subtract' reset: the overshoot it keeps stands for the part of the step
    # after the crossing, which our exact kernel integrates
    snntorch_nets['snntorch_subtract'] = quiet_import(dialect)
    for module in snntorch_nets['snntorch_subtract'].modules():
        if isinstance(module, (snn.Leaky, snn.Synaptic)):
            module.reset_mechanism = 'subtract'
    if float64:
        snntorch_nets['snntorch_float64'] = in_float64(quiet_import(dialect), config)
    if substeps > 1:            # NIR is continuous-time: snnTorch at dt / substeps
        if spike_input:
            raise SystemExit('--substeps: only with constant-current input')
        snntorch_nets[f'snntorch_dt/{substeps}'] = quiet_import(
            deep_dialect(graph, config.dt_ms / 1000.0 / substeps))
    c, h, w = config.input_shape
    frames_hwc = np.stack([frame_input(img, config.input_shape) for img in images])
    frames = frames_hwc.reshape(-1, h, w, c).transpose(0, 3, 1, 2)
    ours = our_variants(network)
    if spike_input:     # foreign graphs import as current-fed: the encoder is not in NIR
        del ours['reimported_as_foreign']
    # direction 2: the same network as a Sequential of snnTorch modules, written by
    # snnTorch's exporter, imported here as a foreign graph (per-step spikes)
    sequential = sequential_from_dialect(dialect)
    try:
        if spike_input:
            raise NotImplementedError('spike input (the importer reads foreign graphs as '
                                      'current-fed)')
        written = through_file(export_to_nir(sequential, torch.zeros((1,) + frames.shape[1:]),
                                             ignore_dims=[0]))
    except Exception as exc:        # snnTorch's exporter fails on some module types
        print(f'reverse direction skipped: {type(exc).__name__}: {exc}')
        written = None
    snntorch_written = {} if written is None else {
        integration: graph_to_deep(written, ImportOptions(
            spike_semantics='per_step', source_dt_s=SNNTORCH_DT_S, dt_ms=config.dt_ms,
            timesteps=config.timesteps, input_shape=config.input_shape,
            integration=integration))
        for integration in ('discrete', 'exact')}
    rows = []
    for T in grid:
        row: dict = {'T': T}
        predictions, snn_spikes = {}, {}
        trains = regular_trains(frames_hwc, T, config) if spike_input else None
        snn_input = (trains.reshape(T, -1, h, w, c).transpose(0, 1, 4, 2, 3)
                     if spike_input else frames)
        for name, net in snntorch_nets.items():
            steps = T * substeps if name.startswith('snntorch_dt') else T
            scores, spikes = run_snntorch(net, snn_input, steps, spikes=spike_input)
            predictions[name], snn_spikes[name] = scores.argmax(1), spikes
            row[f'accuracy_{name}'] = agreement(predictions[name], labels)
            row[f'hidden_spikes_{name}'] = float(spikes.mean())
        for name, net in ours.items():
            scores, spikes = ours_deep(net, images, T, trains)
            p = scores.argmax(1)
            row[f'accuracy_{name}'] = agreement(p, labels)
            row[f'hidden_spikes_{name}'] = float(spikes.mean())
            for theirs in snntorch_nets:
                row[f'agree_{theirs}_vs_{name}'] = agreement(predictions[theirs], p)
                # samples whose hidden spike total is snnTorch's
                row[f'same_spikes_{theirs}_vs_{name}'] = agreement(snn_spikes[theirs], spikes)
        if snntorch_written:
            seq_scores, _ = run_snntorch(sequential, frames, T)
            p_seq = seq_scores.argmax(1)
            row['reverse_accuracy_snntorch'] = agreement(p_seq, labels)
        for integration, net in snntorch_written.items():
            back, _ = ours_deep(net, images, T)
            row[f'reverse_accuracy_imported_{integration}'] = agreement(back.argmax(1), labels)
            row[f'reverse_agree_{integration}'] = agreement(p_seq, back.argmax(1))
        rows.append(row)
    return {'model': 'deep', 'layers': [dataclasses.asdict(s) for s in config.layers],
            'rows': rows}


def sequential_from_dialect(graph: nir.NIRGraph) -> torch.nn.Sequential:
    """The snnTorch-convention graph as a plain Sequential of torch / snnTorch modules, the
    way a snnTorch user writes a network (so snnTorch's own exporter writes it)."""
    order, name = [], next(n for n, node in graph.nodes.items() if isinstance(node, nir.Input))
    successors = dict(graph.edges)
    while name in successors:
        name = successors[name]
        order.append(graph.nodes[name])
    modules = []
    for node in order:
        if isinstance(node, nir.Affine):
            layer = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0])
            layer.weight.data = torch.as_tensor(node.weight, dtype=torch.float32)
            layer.bias.data = torch.as_tensor(node.bias, dtype=torch.float32)
            modules.append(layer)
        elif isinstance(node, nir.Conv2d):
            layer = torch.nn.Conv2d(node.weight.shape[1], node.weight.shape[0],
                                    node.weight.shape[2],
                                    stride=tuple(int(v) for v in node.stride),
                                    padding=tuple(int(v) for v in node.padding))
            layer.weight.data = torch.as_tensor(node.weight, dtype=torch.float32)
            layer.bias.data = torch.as_tensor(node.bias, dtype=torch.float32)
            modules.append(layer)
        elif isinstance(node, nir.Flatten):
            modules.append(torch.nn.Flatten())
        elif isinstance(node, nir.AvgPool2d):
            modules.append(torch.nn.AvgPool2d(tuple(node.kernel_size)))
        elif isinstance(node, nir.LIF):
            tau = float(np.ravel(node.tau)[0])
            w_scale = float(np.ravel(node.r)[0]) * SNNTORCH_DT_S / tau
            # per-neuron tensors of the layer's shape: with scalars snnTorch writes shape-()
            # LIF nodes that nir 1.0.8's type check refuses ('type mismatch ... -> 2.input:
            # []'), and a conv layer's must be (c, h, w)
            shape = tuple(np.shape(node.tau))
            modules.append(snn.Leaky(
                beta=torch.full(shape, 1.0 - SNNTORCH_DT_S / tau),
                threshold=torch.full(shape, float(np.ravel(node.v_threshold)[0]) / w_scale),
                reset_mechanism='zero', init_hidden=True, reset_delay=False))
    return torch.nn.Sequential(*modules)


def stdp_dialect(graph: nir.NIRGraph, dt_s: float) -> nir.NIRGraph:
    """Our STDP graph for snnTorch: v_leak = 0 and threshold 1 by v' = (v - v_leak) /
    (threshold - v_leak) per neuron (scaling that neuron's input and recurrent weights);
    its reset goes to 0 (= rest; our reset is v_reset), beta = our decay, r = tau / 1e-4."""
    lif = graph.nodes['lif_exc']
    span = (lif.v_threshold - lif.v_leak).astype(np.float32)
    tau = np.full_like(span, snntorch_tau(math.exp(-dt_s / float(lif.tau[0]))))
    # an impulse of weight w moves v by w r / tau (our graph: r = tau, so w mV), which our
    # step adds in full, as snnTorch does with r = tau / 1e-4
    jump = lif.r / lif.tau
    nodes = dict(graph.nodes)
    nodes['lif_exc'] = nir.LIF(tau=tau, r=tau / SNNTORCH_DT_S, v_leak=np.zeros_like(span),
                               v_threshold=np.ones_like(span), v_reset=np.zeros_like(span))
    for name in ('affine_input', 'affine_inhibition'):
        node = graph.nodes[name]
        nodes[name] = nir.Affine(weight=(node.weight * jump[:, None] / span[:, None]
                                         ).astype(np.float32),
                                 bias=node.bias.astype(np.float32))
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), type_check=False)


def import_recurrent_chain(graph: nir.NIRGraph) -> torch.nn.Sequential:
    """snnTorch's own node conversion for a chain with a LIF <-> Affine loop.
    ``import_from_nir`` fails on such graphs with nirtorch 2.6 ('GraphModule' object has no
    attribute 'items'), so the chain is assembled here from the modules snnTorch's importer
    makes for each node (the loop as one RLeaky)."""
    from snntorch import import_nir
    graph = import_nir._replace_rnn_subgraph_with_nirgraph(graph)
    successors: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        successors.setdefault(src, []).append(dst)
    name = next(n for n, node in graph.nodes.items() if isinstance(node, nir.Input))
    modules = []
    while successors.get(name):
        name = successors[name][0]
        module = import_nir._nir_to_snntorch_module(graph.nodes[name], init_hidden=True)
        if module is not None:
            modules.append(module)
    return torch.nn.Sequential(*modules)


def compare_stdp(path: Path, images: np.ndarray, labels: np.ndarray, grid: list[int],
                 seed: int) -> dict:
    network, readout, _ = load_checkpoint(path)
    config = network.config
    graph = through_file(stdp_to_nir(network, readout))
    snn_net = import_recurrent_chain(stdp_dialect(graph, config.dt_ms / 1000.0))
    rates = [np.asarray(network.input_probability(img[None])[0]) * 1000.0 / config.dt_ms
             for img in images]
    rows = []
    variants = {
        'ours': config,
        'ours_no_refractory': dataclasses.replace(
            config, excitatory=dataclasses.replace(config.excitatory, refractory_ms=0.0)),
        'ours_as_nir_reader_sees': dataclasses.replace(
            config, excitatory=dataclasses.replace(
                config.excitatory, refractory_ms=0.0,
                v_reset_mv=config.excitatory.v_rest_mv),
            inhibition=dataclasses.replace(config.inhibition, variant='direct',
                                           direct_delay_ms=config.dt_ms,
                                           direct_mv=config.inhibition.inh_to_exc_mv)),
    }
    for T in grid:
        trains = [poisson_encode(r, T, config.dt_ms, seed + k) for k, r in enumerate(rates)]
        dense = np.zeros((T, len(trains), config.n_inputs), np.float32)
        for k, train in enumerate(trains):
            for t in range(T):
                dense[t, k, train.indices[train.step_ptr[t]:train.step_ptr[t + 1]]] = 1.0
        row = {'T': T}
        predictions = {}
        for name, variant in variants.items():
            network.config = variant
            counts = np.stack([network.run(train).counts for train in trains])
            predictions[name] = readout.predict(counts)
            row[f'accuracy_{name}'] = agreement(predictions[name], labels)
            row[f'spikes_{name}'] = float(counts.sum(1).mean())
        network.config = config
        theirs, theirs_spk = run_snntorch(snn_net, dense, T, spikes=True)
        p_theirs = readout.predict(theirs)
        row['accuracy_snntorch'] = agreement(p_theirs, labels)
        row['spikes_snntorch'] = float(theirs_spk.mean())
        for name in variants:
            row[f'agree_snntorch_vs_{name}'] = agreement(p_theirs, predictions[name])
        rows.append(row)
    return {'model': 'stdp', 'checkpoint': str(path), 'rows': rows}


RANDOM_LAYERS = {
    'cnn': (LayerSpec('conv', 8, 5, 2), LayerSpec('avgpool', kernel=2), LayerSpec('dense', 64),
            LayerSpec('dense', 10)),
    'mlp': (LayerSpec('dense', 100), LayerSpec('dense', 64), LayerSpec('dense', 10))}


def random_network(kind: str, seed: int) -> DeepNetwork:
    """A small initialised network with biases that make it fire (no training needed)."""
    network = DeepNetwork.initialised(DeepConfig(layers=RANDOM_LAYERS[kind], rate_gain=2.0),
                                      seed)
    rng = np.random.default_rng(seed)
    for bias in network.biases[:-1]:
        if bias is not None:
            bias[:] = rng.uniform(0.5, 1.5, bias.shape)
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--deep', type=Path, help='deep-network checkpoint')
    group.add_argument('--stdp', type=Path, help='STDP checkpoint')
    group.add_argument('--random', choices=sorted(RANDOM_LAYERS),
                       help='an initialised small network of this kind')
    parser.add_argument('--samples', type=int, default=200, help='held-out digits')
    parser.add_argument('--timesteps', type=int, nargs='+', default=[10, 20, 50, 100, 200])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--substeps', type=int, default=1,
                        help='deep: snnTorch also steps the graph at dt / substeps (if > 1)')
    parser.add_argument('--float64', action='store_true',
                        help='deep: also run snnTorch in float64 (beta, threshold in float64)')
    parser.add_argument('--gain', type=float, help="deep: run at this rate_gain (a profile's)")
    parser.add_argument('--coding', choices=('current', 'regular'),
                        help="deep: run with this input coding (a profile's)")
    parser.add_argument('--json', type=Path, help='write the figures here too')
    args = parser.parse_args()
    dataset = load_dataset('mnist_5k')
    images = dataset.test_images[:args.samples]
    labels = dataset.test_labels[:args.samples]
    start = time.perf_counter()
    if args.stdp:
        result = compare_stdp(args.stdp, images, labels, args.timesteps, args.seed)
    else:
        network = (random_network(args.random, args.seed) if args.random
                   else load_deep_checkpoint(args.deep)[0])
        if args.gain or args.coding:
            network = DeepNetwork(dataclasses.replace(
                network.config, rate_gain=args.gain or network.config.rate_gain,
                input_coding=args.coding or network.config.input_coding),
                network.weights, network.biases)
        result = compare_deep(network, images, labels, args.timesteps, args.substeps,
                              args.float64)
        result['rate_gain'] = network.config.rate_gain
        result['input_coding'] = network.config.input_coding
        result['checkpoint'] = (f'initialised small {args.random}' if args.random
                                else str(args.deep))
    result.update({'samples': len(labels), 'seconds': round(time.perf_counter() - start, 1),
                   'torch': torch.__version__, 'snntorch': snn.__version__})
    for row in result['rows']:
        print('  '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                        for k, v in row.items()))
    print(f"{result['model']} ({result['checkpoint']}), {result['samples']} samples, "
          f"{result['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + '\n')


if __name__ == '__main__':
    main()
