# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Chip descriptions, spike graphs, placements under the chip's limits, refusals, topspark-map."""

import dataclasses
import json

import numpy as np
import pytest

from topspark_ros import energy as E
from topspark_ros.cli import map as map_cli
from topspark_ros.deep.checkpoint import save_deep_checkpoint
from topspark_ros.deep.config import DeepConfig, LayerSpec
from topspark_ros.deep.network import DeepNetwork
from topspark_ros.hardware.chips import ChipError, ChipLimits, chip_from_dict, load_chip
from topspark_ros.hardware import mapping
from topspark_ros.hardware.mapping import (MappingError, METHODS, place, placement_cost,
                                           Placement, violations)
from topspark_ros.hardware.traffic import deep_counts, deep_graph, stdp_counts, stdp_graph
from topspark_ros.models import DeepModel
from topspark_ros.snn import Network, NetworkConfig, OpCounts, save_checkpoint
from topspark_ros.topspark import Profile, ProfileEntry


def small_chip(**limits) -> object:
    chip = load_chip('loihi')
    base = dict(neurons_per_core=24, fan_in_per_core=120, fan_out_per_core=200,
                fan_out_per_neuron=0, synapses_per_core=900)
    base.update(limits)
    return dataclasses.replace(chip, name='small', mesh_width=4, mesh_height=4,
                               cores_per_tile=1, limits=ChipLimits(**base))


def frames(n=6, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28)) * 255).astype(np.uint8)


def small_cnn() -> DeepNetwork:
    config = DeepConfig(input_shape=(1, 12, 12),
                        layers=(LayerSpec('conv', 4, 3, 2), LayerSpec('avgpool', kernel=1),
                                LayerSpec('dense', 12), LayerSpec('dense', 10)),
                        rate_gain=3.0)
    network = DeepNetwork.initialised(config, 1)
    for bias in network.biases[:-1]:
        if bias is not None:
            bias[:] = 0.9
    return network


def small_stdp() -> Network:
    return Network(NetworkConfig(n_neurons=12, input_shape=(6, 6), input_rate_hz=200.0))


def graphs():
    cnn = small_cnn()
    stdp = small_stdp()
    return [(deep_graph(cnn), deep_counts(cnn, frames(), 20)),
            (stdp_graph(stdp), stdp_counts(stdp, frames(), 50))]


def test_loihi_description_holds_the_published_figures():
    chip = load_chip('loihi')
    assert chip.cores == 128 and chip.limits.neurons_per_core == 1024
    assert chip.limits.fan_in_per_core == chip.limits.fan_out_per_core == 4096
    assert chip.energy_j.spike_out == pytest.approx(76.8e-12)
    assert (chip.energy_j.hop_east_west, chip.latency_s.hop_north_south) == (3.0e-12, 6.5e-9)
    assert 21e-12 <= chip.energy_j.synaptic_op <= 36e-12
    assert 47e-12 <= chip.energy_j.neuron_update <= 73e-12
    assert any('Davies' in s for s in chip.sources)
    truenorth = load_chip('truenorth')
    assert truenorth.cores == 4096 and truenorth.limits.fan_in_per_core == 256


def test_chip_descriptions_are_checked(tmp_path):
    with pytest.raises(ChipError, match='unknown chip'):
        load_chip('spinnaker9')
    data = {'mesh': {'width': 2, 'height': 2, 'cores_per_tile': 1},
            'limits': {'neurons_per_core': 4, 'fan_in_per_core': 4, 'fan_out_per_core': 4,
                       'fan_out_per_neuron': 0, 'synapses_per_core': 4},
            'energy_j': {k: 1.0 for k in ('synaptic_op', 'neuron_update', 'spike_out',
                                          'hop_east_west', 'hop_north_south')},
            'latency_s': {k: 1.0 for k in ('synaptic_op', 'neuron_update', 'spike_out',
                                           'hop_east_west', 'hop_north_south', 'within_tile',
                                           'timestep_barrier')},
            'sources': ['x']}
    assert chip_from_dict(data, 'ok').cores == 4
    with pytest.raises(ChipError, match='sources'):
        chip_from_dict({**data, 'sources': []}, 'f')
    with pytest.raises(ChipError, match='limits.neurons_per_core'):
        chip_from_dict({**data, 'limits': {**data['limits'], 'neurons_per_core': -1}}, 'f')
    path = tmp_path / 'bad.yaml'
    path.write_text('mesh: [')
    with pytest.raises(ChipError, match='not valid YAML'):
        load_chip(path)


def test_deep_graph_connects_through_conv_and_pooling():
    network = small_cnn()
    graph = deep_graph(network)
    assert graph.group_names == ('conv0', 'dense2', 'dense3')
    assert graph.n == 4 * 5 * 5 + 12 + 10
    # conv 3x3 stride 2 on 12x12: input-free (constant currents), so no synapses there
    assert graph.fan_in[:100].sum() == 0
    assert np.all(graph.fan_in[100:112] == 100) and np.all(graph.fan_in[112:] == 12)
    stdp = stdp_graph(small_stdp())
    assert stdp.n == 36 + 12 + 12
    assert np.all(stdp.fan_in[36:48] == 36 + 11) and np.all(stdp.fan_in[48:] == 1)


def test_every_placement_respects_the_chip_limits():
    chip = small_chip()
    for graph, counts in graphs():
        for method in METHODS:
            placement = place(chip, graph, counts, method)
            assert placement.core_of.shape == (graph.n,)
            assert violations(chip, graph, placement.core_of) == [], (method, graph.group_names)
            assert placement.cores_used > 1


def test_violations_are_found():
    chip = small_chip()
    graph, _ = graphs()[1]
    problems = violations(chip, graph, np.zeros(graph.n, np.int32))
    assert problems == ['core 0: 60 neurons > 24']
    problems = violations(small_chip(synapses_per_core=100, fan_in_per_core=30), graph,
                          np.arange(graph.n, dtype=np.int32) % 2)
    # core 0: 18 inputs, 6 excitatory (47 synapses each), 6 inhibitory (1 each); sources:
    # 36 inputs + 6 excitatory partners + all 12 inhibitory neurons
    assert 'core 0: 288 synapses > 100' in problems and 'core 0: 54 fan-in slots > 30' in problems


def test_traffic_aware_placement_cuts_inter_core_spikes_on_a_cnn():
    chip = small_chip()
    graph, counts = graphs()[0]
    seq = placement_cost(chip, graph, place(chip, graph, counts, 'sequential'), counts, 20)
    traffic = placement_cost(chip, graph, place(chip, graph, counts, 'traffic'), counts, 20)
    assert seq.spikes == traffic.spikes
    assert traffic.inter_core_spikes < seq.inter_core_spikes


def test_image_rows_give_the_deep_graph_a_band_start_that_the_placement_can_only_improve():
    """Deep graphs know where each unit sits along the image (a fill in bands of rows keeps
    the convolutions' local connections on one core); the traffic-aware placement does at
    least as well as that fill, and STDP graphs, without geometry, have none."""
    network = small_cnn()
    config = dataclasses.replace(network.config, input_coding='regular')
    graph, counts = deep_graph(network, config), deep_counts(network, frames(), 20, config)
    n_inputs = config.n_inputs
    assert graph.row.shape == (graph.n,) and graph.row[:n_inputs].min() > 0
    assert graph.row[:n_inputs].max() < 1 and (graph.row[-22:] > 1).all()   # dense 12 + 10
    assert stdp_graph(small_stdp()).row is None
    chip = small_chip()
    band = mapping._fill(chip, graph, np.lexsort((np.arange(graph.n), graph.row)))
    traffic = place(chip, graph, counts, 'traffic')
    assert not violations(chip, graph, traffic.core_of)
    assert mapping._inter_core(graph, counts, traffic.core_of) <= \
        mapping._inter_core(graph, counts, band) + 1e-9


def test_costs_of_a_single_core_have_no_routing_between_cores():
    chip = load_chip('loihi')
    graph, counts = graphs()[1]
    one = Placement('one', np.zeros(graph.n, np.int32))
    cost = placement_cost(chip, graph, one, counts, 50)
    assert cost.inter_core_spikes == 0 and cost.mean_hops == 0
    sending = counts[graph.fan_out > 0].sum()
    assert cost.packets == pytest.approx(sending)
    assert cost.energy_routing_j == pytest.approx(sending * chip.energy_j.spike_out)
    synaptic = (counts * graph.fan_out).sum() * chip.energy_j.synaptic_op
    updates = graph.updated.sum() * 50 * chip.energy_j.neuron_update
    assert cost.energy_j == pytest.approx(synaptic + updates + cost.energy_routing_j)


def test_a_model_too_large_is_refused_with_the_numbers():
    graph, counts = graphs()[1]
    tiny = dataclasses.replace(small_chip(), mesh_width=1, mesh_height=2)
    for method in METHODS:
        with pytest.raises(MappingError, match='does not fit small: 60 neurons, the chip '
                                               'holds 2 x 24'):
            place(tiny, graph, counts, method)
    packed = dataclasses.replace(small_chip(neurons_per_core=40, synapses_per_core=300),
                                 mesh_width=1, mesh_height=2)
    for method in METHODS:      # fits by totals, not core by core
        with pytest.raises(MappingError, match='60 neurons and 576 synapses need more than '
                                               'its 2 cores'):
            place(packed, graph, counts, method)
    with pytest.raises(MappingError, match='has 47 synapses; a small core takes 40'):
        place(small_chip(fan_in_per_core=40), graph, counts, 'sequential')
    truenorth = load_chip('truenorth')
    with pytest.raises(MappingError, match='has 803 synapses; a truenorth core takes 256'):
        big = Network(NetworkConfig(n_neurons=20))
        place(truenorth, stdp_graph(big), np.ones(784 + 40), 'sequential')
    split = small_chip(neurons_per_core=13, fan_out_per_neuron=1)
    with pytest.raises(MappingError, match='reaches 2 cores; a small neuron reaches 1'):
        place(split, graph, counts, 'sequential')


def test_loihi_mapped_platform_charges_routing_per_spike():
    ops = OpCounts(input_spikes=100, exc_spikes=10, inh_spikes=10, synaptic_events=5000,
                   neuron_updates=2 * 400 * 50, weight_updates=0, timesteps=50)
    plain = E.energy_per_sample(ops, 'loihi', False, 784, 400).total_j
    mapped = E.energy_per_sample(ops, 'loihi_mapped', False, 784, 400).total_j
    assert mapped - plain == pytest.approx(120 * E.PLATFORMS['loihi_mapped'].spike_routing_j)
    assert E.PLATFORMS['loihi'].spike_routing_j == 0.0


def test_cli_reports_both_placements_and_refuses_in_one_line(tmp_path, capsys):
    model = save_checkpoint(tmp_path / 'm.npz', small_stdp())
    out = tmp_path / 'runs' / 'map'             # its folder is made, as the docs' commands need
    assert map_cli.main([str(model), '--chip', 'loihi', '--timesteps', '30', '10',
                         '--samples', '4', '--dataset', 'digits', '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert 'sequential' in text and 'inter-core' in text
    assert (out / 'mapping.json').is_file() and (out / 'energy_vs_timesteps.png').is_file()
    wide = save_checkpoint(tmp_path / 'w.npz', Network(NetworkConfig(n_neurons=20)))
    assert map_cli.main([str(wide), '--chip', 'truenorth', '--samples', '2',
                         '--timesteps', '5', '--dataset', 'digits']) == 2
    assert map_cli.main([str(model), '--chip', 'nochip']) == 2
    assert map_cli.main([str(tmp_path / 'none.npz')]) == 2
    assert map_cli.main([str(model), '--out', str(model)]) == 2          # a file, not a folder
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and '--out' in err[3] and all(line.startswith('error: ') for line in err)
    assert 'truenorth' in err[0] and 'synapses' in err[0]


def test_cli_maps_a_deep_profile_whose_short_t_takes_input_spikes(tmp_path, capsys):
    """A profile may switch the deep network to a spike input code at some T: those points
    are mapped with the inputs as neurons on the chip (their own structure and placement)."""
    network = small_cnn()
    model = save_deep_checkpoint(tmp_path / 'deep.npz', network)
    profile = Profile(200, 'loihi', (ProfileEntry(20, .5, .5, 1e-4, 1e-4, 1e-6, 1e-6),
                                     ProfileEntry(10, .5, .5, 1e-4, 1e-4, 1e-6, 1e-6,
                                                  params={'input_coding': 'regular'})),
                      made_for=DeepModel(network).made_for()).save(tmp_path / 'profile.yaml')
    out = tmp_path / 'map'
    assert map_cli.main([str(model), '--chip', 'loihi', '--profile', str(profile),
                         '--samples', '3', '--dataset', 'mnist_5k', '--out', str(out)]) == 0
    rows = json.loads((out / 'mapping.json').read_text())['rows']
    assert [row['structure'] for row in rows] == [map_cli.DEEP_CURRENT, map_cli.DEEP_SPIKES]
    with_inputs = deep_graph(network, dataclasses.replace(network.config,
                                                          input_coding='regular'))
    assert with_inputs.n == deep_graph(network).n + network.config.n_inputs
    assert rows[1]['traffic']['spikes'] > 0
    capsys.readouterr()
