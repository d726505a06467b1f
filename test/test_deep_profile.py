# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark for the spiking deep network: the energy-aware step 3 and the validation digits the
profile tool chooses constants on."""

import numpy as np
import pytest

from topspark_ros.cli import profile_deep
from topspark_ros.cli.train_deep import unit_images
from topspark_ros.datasets import digits
from topspark_ros.deep.checkpoint import save_deep_checkpoint
from topspark_ros.deep.config import DeepConfig, LayerSpec
from topspark_ros.deep.network import DeepNetwork
from topspark_ros.topspark import deep_profile
from topspark_ros.topspark.deep_profile import Evaluation


def result(accuracy: float, events: float, overrides: dict | None = None) -> Evaluation:
    return Evaluation(5, overrides or {}, accuracy, {'synaptic_events': events}, float('nan'))


def test_step3_keeps_the_fewest_events_within_the_tolerance_of_the_best():
    results = [result(0.960, 9e4, {'rate_gain': 3.0}), result(0.958, 6e4, {'rate_gain': 2.0}),
               result(0.955, 5e4, {'rate_gain': 1.5}), result(0.930, 1e4),
               result(0.960, 8e4, {'rate_gain': 3.0, 'lif.v_init': 0.5})]
    pick = deep_profile.cheapest_within
    assert pick(results, 0.0).mean_ops['synaptic_events'] == 8e4     # most accurate, cheaper
    assert pick(results, 0.003).overrides == {'rate_gain': 2.0}
    assert pick(results, 0.005).overrides == {'rate_gain': 1.5}      # exactly at the edge
    assert pick(results, 0.05).overrides == {}
    tie = [result(0.95, 5e4, {'rate_gain': 2.0}), result(0.95, 5e4)]
    assert pick(tie, 0.0).overrides == {}                            # fewer changes


def template_network() -> DeepNetwork:
    """Ten hidden LIF neurons whose weights are the normalised class means of the digits, read
    out one to one: a classifier without training whose accuracy at T = 5 depends on the
    constants (silent at gain 1, best at gain 4)."""
    ds = digits()
    x = unit_images(ds.train_images).reshape(len(ds.train_images), -1)
    means = np.stack([x[ds.train_labels == c].mean(0) for c in range(10)])
    hidden = (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
    config = DeepConfig(input_shape=(1, 8, 8), layers=(LayerSpec('dense', 10),
                                                       LayerSpec('dense', 10)), timesteps=40)
    return DeepNetwork(config, [hidden, np.eye(10, dtype=np.float32)],
                       [np.zeros(10, np.float32), np.zeros(10, np.float32)])


def test_enhance_trades_accuracy_for_events_only_as_far_as_asked():
    ds = digits()
    network = template_network()
    images, labels = ds.test_images[:60], ds.test_labels[:60]
    knobs = {'rate_gain': (1.0, 4.0), 'lif.v_init': (0.0, 0.5)}
    every = {tuple(sorted(o.items())): deep_profile.evaluate(network, images, labels, 5, o)
             for o in ({}, {'rate_gain': 4.0}, {'lif.v_init': 0.5},
                       {'rate_gain': 4.0, 'lif.v_init': 0.5})}
    accuracy = {k: e.accuracy for k, e in every.items()}
    events = {k: e.mean_ops['synaptic_events'] for k, e in every.items()}
    gain, start, own = (('rate_gain', 4.0),), (('lif.v_init', 0.5),), ()
    # what the test relies on: gain 4 most accurate, v_init 0.5 next and cheaper, own cheapest
    assert accuracy[gain] > accuracy[start] > accuracy[own] and events[gain] > events[start] \
        > events[own], (accuracy, events)
    assert deep_profile.enhance(network, images, labels, 5, knobs).overrides == dict(gain)
    tolerance = accuracy[gain] - accuracy[start] + 0.25 * (accuracy[start] - accuracy[own])
    assert deep_profile.enhance(network, images, labels, 5, knobs,
                                tolerance=tolerance).overrides == dict(start)
    assert deep_profile.enhance(network, images, labels, 5, knobs, tolerance=1.0).overrides \
        == {}
    with pytest.raises(ValueError, match='tolerance'):
        deep_profile.enhance(network, images, labels, 5, knobs, tolerance=-0.1)


def test_constants_are_chosen_on_the_digits_training_held_out():
    held = {'dataset': 'mnist_5k', 'validation_fraction': 0.1}
    assert profile_deep.held_out_fraction(held, 'mnist_5k') == (0.1,)
    assert profile_deep.held_out_fraction(held, 'digits') == ()         # other data
    assert profile_deep.held_out_fraction({**held, 'validation_fraction': 0}, 'mnist_5k') == ()
    assert profile_deep.held_out_fraction({}, 'mnist_5k') == ()


@pytest.mark.parametrize('value', ['-0.01', '1', 'nan'])
def test_profile_tool_refuses_a_bad_tolerance_in_one_line(tmp_path, capsys, value):
    config = DeepConfig(input_shape=(1, 8, 8), layers=(LayerSpec('dense', 8),
                                                       LayerSpec('dense', 10)))
    path = save_deep_checkpoint(tmp_path / 'd.npz', DeepNetwork.initialised(config, 0))
    assert profile_deep.main([str(path), '--out', str(tmp_path / 'p'), '--dataset', 'digits',
                              '--enhance-tolerance', value]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and '--enhance-tolerance' in err
    assert not (tmp_path / 'p').exists()
