# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""NIR export and import: round trips through the ``nir`` package's own files, refusals."""

import dataclasses

import numpy as np
import pytest

nir = pytest.importorskip('nir')

from topspark_ros.cli import export_nir, import_nir  # noqa: E402
from topspark_ros.deep.checkpoint import load_deep_checkpoint, save_deep_checkpoint  # noqa: E402
from topspark_ros.deep.config import DeepConfig, LayerSpec, LifParams  # noqa: E402
from topspark_ros.deep.network import DeepNetwork, Simulator  # noqa: E402
from topspark_ros.hardware.nir_export import (deep_to_nir, graph_metadata, NirError,  # noqa: E402
                                              stdp_to_nir, write_graph)
from topspark_ros.hardware.nir_import import (graph_to_deep, ImportOptions,  # noqa: E402
                                              read_graph)
from topspark_ros.snn import Network, NetworkConfig, Readout, save_checkpoint  # noqa: E402


def firing_network(layers, seed=0, **config) -> DeepNetwork:
    """A small initialised network whose hidden layers fire (positive biases)."""
    network = DeepNetwork.initialised(DeepConfig(layers=layers, **config), seed)
    rng = np.random.default_rng(seed)
    for bias in network.biases[:-1]:
        if bias is not None:
            bias[:] = rng.uniform(0.5, 1.5, bias.shape)
    network.biases[-1][:] = rng.normal(0, 0.1, network.biases[-1].shape)
    return network


CNN = (LayerSpec('conv', 4, 5, 2), LayerSpec('avgpool', kernel=2), LayerSpec('dense', 16),
       LayerSpec('dense', 10))
MLP = (LayerSpec('dense', 20), LayerSpec('dense', 10))
CNN_SUM = (LayerSpec('conv', 3, 3, 1, 1), LayerSpec('sumpool', kernel=3), LayerSpec('dense', 10))


def frames(n=4, seed=1):
    return (np.random.default_rng(seed).random((n, 28, 28)) * 255).astype(np.uint8)


def outputs(network, T=15):
    sim = Simulator(network)
    scores, counts = [], []
    for frame in frames():
        s, _ = sim.run_frame(frame, T)
        scores.append(s)
        counts.append(sim.hidden_counts())
    return np.array(scores), np.array(counts)


@pytest.mark.parametrize('layers, config', [
    (CNN, {'rate_gain': 2.0}),
    (MLP, {'readout': 'counts', 'lif': LifParams(tau_s_ms=2.0, v_init=0.3)}),
    (CNN_SUM, {'lif': LifParams(tau_s_ms=3.0)}),
    (CNN, {'input_coding': 'poisson', 'lif': LifParams(tau_ref_ms=1.0)}),
    (CNN, {'lif': LifParams(tau_ref_ms=0.0, integration='discrete')}),
    (MLP, {'readout': 'counts', 'lif': LifParams(tau_ref_ms=0.0, tau_s_ms=2.0,
                                                 integration='discrete')}),
])
def test_deep_round_trip_keeps_weights_and_predictions(tmp_path, layers, config):
    network = firing_network(layers, **config)
    path = write_graph(tmp_path / 'net.nir', deep_to_nir(network))
    back = graph_to_deep(read_graph(path))
    assert back.config == network.config
    for a, b in zip(network.weights + network.biases, back.weights + back.biases):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    (s1, c1), (s2, c2) = outputs(network), outputs(back)
    assert c1.sum() > 0
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(s1.argmax(1), s2.argmax(1))


def test_deep_graph_holds_nir_semantics():
    """Spike-carrying weights hold amplitude x W (a unit impulse), the first layer gain x W,
    the readout amplitude x W / gain; a synapse makes the spike-fed layers CubaLIF."""
    network = firing_network(MLP, rate_gain=2.0, lif=LifParams(tau_s_ms=2.0))
    graph = deep_to_nir(network)
    amplitude = network.config.lif.amplitude
    np.testing.assert_allclose(graph.nodes['affine0'].weight, 2.0 * network.weights[0],
                               rtol=1e-6)
    np.testing.assert_allclose(graph.nodes['affine0'].bias, 2.0 * network.biases[0], rtol=1e-6)
    np.testing.assert_allclose(graph.nodes['affine1'].weight,
                               amplitude * network.weights[1] / 2.0, rtol=1e-6)
    assert isinstance(graph.nodes['lif0'], nir.LIF)          # constant input: no synapse
    assert 'lif1' not in graph.nodes                         # current readout: no neurons
    np.testing.assert_allclose(graph.nodes['lif0'].tau, 0.02)
    lost = {item['feature'] for item in graph_metadata(graph)['lost']}
    assert {'dt', 'tau_ref', 'readout_average'} <= lost
    counts = firing_network(MLP, readout='counts', lif=LifParams(tau_s_ms=2.0))
    assert isinstance(deep_to_nir(counts).nodes['lif1'], nir.CubaLIF)


def snntorch_style_graph(tau=1e-3, threshold=0.7, v_reset=0.0, v_leak=0.0, hidden=12):
    """A graph as snnTorch writes it: r = tau / 1e-4, per-step weights, batch dim in Input."""
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.05, (hidden, 784)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (10, hidden)).astype(np.float32)
    ones = np.ones(hidden, np.float32)
    nodes = {'input': nir.Input(input_type=np.array([1, 784])),
             'fc1': nir.Affine(weight=w1, bias=0.1 * ones),
             'lif1': nir.LIF(tau=tau * ones, r=tau / 1e-4 * ones, v_leak=v_leak * ones,
                             v_threshold=threshold * ones, v_reset=v_reset * ones),
             'fc2': nir.Affine(weight=w2, bias=np.zeros(10, np.float32)),
             'output': nir.Output(output_type=np.array([10]))}
    edges = [('input', 'fc1'), ('fc1', 'lif1'), ('lif1', 'fc2'), ('fc2', 'output')]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), w1, w2


def simulate_per_step(graph, image, T):
    """The discrete-time reading of a snnTorch graph: mem = beta mem + W x + b (threshold
    v_th / (r dt / tau), reset to 0 at the step's end), output summed; the reference for
    per_step import. Returns the summed output and the hidden spike counts."""
    fc1, lif, fc2 = graph.nodes['fc1'], graph.nodes['lif1'], graph.nodes['fc2']
    beta = 1 - 1e-4 / lif.tau
    threshold = lif.v_threshold / (lif.r * 1e-4 / lif.tau)
    mem = np.zeros_like(beta)
    x = image.reshape(-1).astype(np.float64) / 255.0
    total, counts = np.zeros(10), np.zeros(len(beta), int)
    for _ in range(T):
        mem = beta * mem + fc1.weight @ x + fc1.bias
        spikes = mem > threshold
        mem[spikes] = 0.0
        counts += spikes
        total += fc2.weight @ spikes + fc2.bias
    return total, counts


def test_import_of_a_per_step_graph_runs_as_it_ran_there():
    """A foreign graph imports with lif.integration 'discrete' and then fires exactly the
    spikes of the writer's step (the exact-time reset fired others)."""
    graph, _, _ = snntorch_style_graph()
    network = graph_to_deep(graph, ImportOptions(spike_semantics='per_step', dt_ms=1.0))
    assert network.config.input_shape == (1, 28, 28)
    assert network.config.lif.tau_ref_ms == 0.0
    assert network.config.lif.integration == 'discrete'
    # beta = 0.9 per step: our tau gives exp(-dt / tau) = 0.9
    assert np.isclose(np.exp(-1.0 / network.config.lif.tau_rc_ms), 0.9)
    sim = Simulator(network)
    T, fired = 30, 0
    for frame in frames(20, seed=5):
        ours, _ = sim.run_frame(frame, T)
        total, counts = simulate_per_step(graph, frame, T)
        np.testing.assert_array_equal(sim.hidden_counts()[:counts.size], counts)
        np.testing.assert_allclose(ours, total / T, rtol=1e-4, atol=1e-6)
        fired += counts.sum()
    assert fired > 0
    exact = graph_to_deep(graph, ImportOptions(spike_semantics='per_step',
                                               integration='exact'))
    assert exact.config.lif.integration == 'exact'


@pytest.mark.parametrize('layers', [CNN, MLP])
def test_discrete_export_imports_as_foreign_graph_with_the_same_spikes(layers):
    """Exported with lif.integration 'discrete' and read without our metadata (as any NIR
    tool would write it), the graph runs with the same spikes as the model."""
    network = firing_network(layers, rate_gain=2.0).with_integration('discrete')
    assert network.config.lif.tau_ref_ms == 0.0
    graph = deep_to_nir(network)
    lost = {item['feature'] for item in graph_metadata(graph)['lost']}
    assert 'step_end_reset' in lost and not lost & {'tau_ref', 'spike_time_interpolation'}
    graph.metadata = {}
    foreign = graph_to_deep(graph)
    assert foreign.config.lif.integration == 'discrete'
    (s1, c1), (s2, c2) = outputs(network), outputs(foreign)
    assert c1.sum() > 0
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(s1, s2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('change, message', [
    ({'v_reset': 0.2}, 'node lif1: v_reset'),
    ({'threshold': -1.0}, 'node lif1: v_threshold must be > 0'),
])
def test_import_refuses_neurons_it_cannot_represent(change, message):
    graph, _, _ = snntorch_style_graph(**change)
    with pytest.raises(NirError, match=message):
        graph_to_deep(graph)


def test_import_folds_leak_and_per_neuron_thresholds():
    graph, _, _ = snntorch_style_graph(v_leak=0.05)
    graph.nodes['lif1'].v_threshold = np.linspace(0.5, 1.0, 12).astype(np.float32)
    network = graph_to_deep(graph)
    lif = graph.nodes['lif1']
    expected_w = lif.r[:, None] * graph.nodes['fc1'].weight / lif.v_threshold[:, None]
    np.testing.assert_allclose(network.weights[0], expected_w, rtol=1e-5)
    np.testing.assert_allclose(network.biases[0], (lif.r * 0.1 + 0.05) / lif.v_threshold,
                               rtol=1e-5)


def test_import_refuses_recurrence_unknown_nodes_and_mixed_taus():
    graph, w1, _ = snntorch_style_graph()
    graph.nodes['rec'] = nir.Affine(weight=np.eye(12, dtype=np.float32),
                                    bias=np.zeros(12, np.float32))
    graph.edges += [('lif1', 'rec'), ('rec', 'lif1')]
    with pytest.raises(NirError, match='node lif1: 2 inputs'):
        graph_to_deep(graph)
    graph, _, _ = snntorch_style_graph()
    graph.nodes['fc2'] = nir.Delay(delay=np.ones(12, np.float32))
    with pytest.raises(NirError, match=r'node fc2 \(Delay\): not representable'):
        graph_to_deep(graph)
    network = firing_network(CNN)
    graph = deep_to_nir(network)
    graph.nodes['lif2'].tau = graph.nodes['lif2'].tau * 2
    graph.metadata = {}
    with pytest.raises(NirError, match='node lif2: tau differs'):
        graph_to_deep(graph)


def test_stdp_graph_folds_thresholds_and_inhibition(tmp_path):
    config = NetworkConfig(n_neurons=6, input_shape=(4, 4))
    network = Network(config)
    network.theta[:] = np.arange(6, dtype=np.float32)
    readout = Readout(6, 10, class_spikes=np.eye(10, 6), class_samples=np.ones(10))
    path = write_graph(tmp_path / 's.nir', stdp_to_nir(network, readout))
    graph = read_graph(path)
    lif = graph.nodes['lif_exc']
    np.testing.assert_allclose(lif.v_threshold, config.excitatory.v_thresh_mv + np.arange(6))
    np.testing.assert_allclose(lif.v_leak, config.excitatory.v_rest_mv)
    np.testing.assert_allclose(lif.r * 1.0 / lif.tau, 1.0)     # a spike moves v by w mV
    np.testing.assert_allclose(graph.nodes['affine_input'].weight, network.weights.T)
    rec = graph.nodes['affine_inhibition'].weight
    assert np.all(np.diag(rec) == 0) and np.all(rec[~np.eye(6, dtype=bool)] == -120.0)
    assert ('affine_inhibition', 'lif_exc') in graph.edges
    meta = graph_metadata(graph)
    assert meta['model_kind'] == 'stdp' and meta['neuron_labels'] == list(range(6))
    assert {'refractory', 'inhibition_delay', 'stdp'} <= {i['feature'] for i in meta['lost']}
    with pytest.raises(NirError, match='recurrent|2 inputs'):
        graph_to_deep(graph)


def test_cli_export_import_and_one_line_failures(tmp_path, capsys):
    network = firing_network(CNN)
    model = save_deep_checkpoint(tmp_path / 'deep.npz', network)
    assert export_nir.main([str(model), str(tmp_path / 'deep.nir')]) == 0
    assert import_nir.main([str(tmp_path / 'deep.nir'), str(tmp_path / 'back.npz')]) == 0
    back, meta = load_deep_checkpoint(tmp_path / 'back.npz')
    assert back.config == network.config and meta['source_model_kind'] == 'deep_lif'
    stdp = save_checkpoint(tmp_path / 'stdp.npz', Network(NetworkConfig(n_neurons=5)))
    assert export_nir.main([str(stdp), str(tmp_path / 'stdp.nir')]) == 0
    capsys.readouterr()
    assert import_nir.main([str(tmp_path / 'stdp.nir'), str(tmp_path / 'x.npz')]) == 2
    assert not (tmp_path / 'x.npz').exists()
    assert export_nir.main([str(model), str(tmp_path / 'out.txt')]) == 2
    assert import_nir.main([str(tmp_path / 'missing.nir'), str(tmp_path / 'x.npz')]) == 2
    (tmp_path / 'junk.nir').write_text('not hdf5')
    assert import_nir.main([str(tmp_path / 'junk.nir'), str(tmp_path / 'x.npz')]) == 2
    assert export_nir.main([str(stdp), str(tmp_path / 's2.nir'), '--integration',
                            'discrete']) == 2
    assert not (tmp_path / 's2.nir').exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith('error: ') for line in err)
    assert 'node lif_exc' in err[0] and 'junk.nir' in err[3] and '--integration' in err[4]


def test_cli_exports_a_deep_model_for_discrete_simulators(tmp_path):
    network = firing_network(CNN)
    model = save_deep_checkpoint(tmp_path / 'deep.npz', network)
    assert export_nir.main([str(model), str(tmp_path / 'd.nir'), '--integration',
                            'discrete']) == 0
    assert import_nir.main([str(tmp_path / 'd.nir'), str(tmp_path / 'back.npz')]) == 0
    back, _ = load_deep_checkpoint(tmp_path / 'back.npz')
    assert back.config.lif.integration == 'discrete' and back.config.lif.tau_ref_ms == 0.0
    assert back.config == network.with_integration('discrete').config
    assert load_deep_checkpoint(model)[0].config.lif.integration == 'exact'    # unchanged


def test_sumpool_and_dataclass_fields_survive(tmp_path):
    network = firing_network(CNN_SUM, timesteps=12, dt_ms=0.5)
    back = graph_to_deep(read_graph(write_graph(tmp_path / 'm.nir', deep_to_nir(network))))
    assert dataclasses.asdict(back.config) == dataclasses.asdict(network.config)


def test_export_refuses_pooling_after_a_dense_layer():
    layers = (LayerSpec('dense', 20), LayerSpec('sumpool', kernel=1), LayerSpec('dense', 10))
    with pytest.raises(NirError, match=r'layers\[1\] \(sumpool\)'):
        deep_to_nir(firing_network(layers))


def test_an_imported_foreign_graph_runs_as_a_perception_model(tmp_path):
    from topspark_ros.models import load_model

    graph, _, _ = snntorch_style_graph()
    path = write_graph(tmp_path / 'snn.nir', graph)
    assert import_nir.main([str(path), str(tmp_path / 'm.npz'), '--spike-semantics',
                            'per_step']) == 0
    model, meta = load_model(tmp_path / 'm.npz')
    assert meta['source_model_kind'] == 'foreign'
    assert meta['import_options']['integration'] == 'discrete'
    assert model.network.config.lif.integration == 'discrete'
    output = model.run_frame(frames(1)[0], timesteps=20, learn=False)
    assert output.scores.shape == (10,) and output.ops.timesteps == 20
