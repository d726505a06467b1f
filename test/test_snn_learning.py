# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""STDP rules on hand-made spike trains, weight normalisation, and learning on real digits."""

import math

import numpy as np
import pytest

from conftest import spike_train, tiny_config
from topspark_ros.snn import (ExcitatoryParams, LearningParams, Network, NetworkConfig, Readout,
                              accuracy)
from topspark_ros.snn.experiment import evaluate, label, train

D = math.exp(-1.0 / 20.0)                 # trace decay per step, tau 20 ms, dt 1 ms
EX = ExcitatoryParams(v_rest_mv=-65.0, v_reset_mv=-65.0, v_thresh_mv=-64.2, theta_plus_mv=0.0)


def _run(rule, weights, spikes, T, n_neurons=1):
    ln = LearningParams(rule=rule, nu_pre=0.01, nu_post=0.1, norm_total=0.0)
    cfg = tiny_config(n_inputs=2, n_neurons=n_neurons, excitatory=EX, learning=ln)
    net = Network(cfg, weights=np.array(weights, np.float32))
    res = net.run(spike_train(spikes, T), learn=True)
    return net.weights, res


def test_pair_stdp_matches_formula():
    # Input 0 at steps 0 and 6; input 1 at step 3 makes the neuron fire at step 3.
    w, res = _run('pair', [[0.5], [0.85]], {0: [0, 6], 1: [3]}, 8)
    assert res.counts.tolist() == [1]
    assert w[0, 0] == pytest.approx(0.5 + 0.1 * D**3 - 0.01 * D**3, rel=1e-6)
    assert w[1, 0] == pytest.approx(0.85 + 0.1 - 0.01, rel=1e-6)


def test_weight_dependent_stdp_matches_formula():
    w, _ = _run('weight_dependent', [[0.5], [0.85]], {0: [0, 6], 1: [3]}, 8)
    w0 = 0.5 + 0.1 * D**3 * (1.0 - 0.5)
    w0 -= 0.01 * D**3 * w0
    w1 = 0.85 + 0.1 * (1.0 - 0.85)
    w1 -= 0.01 * w1
    assert w[0, 0] == pytest.approx(w0, rel=1e-6)
    assert w[1, 0] == pytest.approx(w1, rel=1e-6)


def test_weights_are_clipped_to_their_bounds():
    # Input 0 fires the neuron at steps 0 and 6 (potentiation past w_max is clipped to 1, then
    # depressed); input 1 arrives at step 7 with a weight below its depression: clipped to 0.
    w, res = _run('pair', [[0.995], [0.005]], {0: list(range(8)), 1: [7]}, 8)
    assert res.counts.tolist() == [2]
    assert w[0, 0] == pytest.approx(0.99 - 0.01 * D, rel=1e-6)
    assert w[1, 0] == 0.0


def test_adaptive_potentiation_scales_by_relative_activity():
    # Neuron A (input 0) fires at 0 and 6; neuron B (input 1) fires once at step 8, when A has
    # fired twice: B's potentiation is scaled by 1/2, A's by 1.
    weights = [[0.9, 0.0], [0.0, 0.9]]
    spikes = {0: [0, 6], 1: [8]}
    w_adaptive, res = _run('adaptive', weights, spikes, 10, n_neurons=2)
    w_pair, _ = _run('pair', weights, spikes, 10, n_neurons=2)
    assert res.counts.tolist() == [2, 1]
    assert w_adaptive[1, 1] == pytest.approx(0.9 + 0.1 * 0.5 - 0.01, rel=1e-6)
    assert w_pair[1, 1] == pytest.approx(0.9 + 0.1 - 0.01, rel=1e-6)
    assert w_adaptive[0, 1] == pytest.approx(0.1 * 0.5 * D**2, rel=1e-6)
    assert w_adaptive[0, 0] == pytest.approx(0.99, rel=1e-6)


def test_no_learning_at_inference():
    ln = LearningParams(norm_total=0.0)
    cfg = tiny_config(n_inputs=2, excitatory=EX, learning=ln)
    net = Network(cfg, weights=np.array([[0.5], [0.85]], np.float32))
    before = net.weights.copy()
    res = net.run(spike_train({0: [0, 6], 1: [3]}, 8), learn=False)
    assert res.counts[0] == 1 and res.ops.weight_updates == 0
    np.testing.assert_array_equal(net.weights, before)


def test_columns_of_active_neurons_are_renormalised(mnist):
    net = Network(NetworkConfig(n_neurons=20, seed=1))
    np.testing.assert_allclose(net.weights.sum(0), 78.4, rtol=1e-4)     # initial normalisation
    net.weights[:, :] *= 1.1                                             # break it on purpose
    res = net.run_image(mnist.train_images[0], 350, learn=True)
    fired = res.counts > 0
    assert fired.any() and not fired.all()
    np.testing.assert_allclose(net.weights.sum(0)[fired], 78.4, rtol=1e-4)
    np.testing.assert_allclose(net.weights.sum(0)[~fired], 78.4 * 1.1, rtol=1e-4)


def test_small_network_learns_digits_well_above_chance(mnist):
    net = Network(NetworkConfig(n_neurons=100, seed=0))
    train_prob = net.input_probability(mnist.train_images)
    test_prob = net.input_probability(mnist.test_images)
    untrained = label(net, train_prob, mnist.train_labels, 350)
    before = evaluate(net, untrained, test_prob, mnist.test_labels, 350).accuracy
    train(net, train_prob, 350, epochs=1)
    readout = label(net, train_prob, mnist.train_labels, 350)
    after = evaluate(net, readout, test_prob, mnist.test_labels, 350)
    assert after.accuracy > 0.75, after.accuracy         # chance is 0.1
    assert after.accuracy > before + 0.1, (before, after.accuracy)
    assert after.confusion.sum() == len(mnist.test_labels)


def test_online_readout_equals_batch_labelling():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, (50, 8))
    labels = rng.integers(0, 3, 50)
    batch = Readout(8, 3)
    batch.observe(counts, labels)
    online = Readout(8, 3)
    for c, y in zip(counts, labels):
        online.observe(c, int(y))
    np.testing.assert_array_equal(batch.assignments, online.assignments)
    np.testing.assert_allclose(batch.scores(counts), online.scores(counts))


def test_readout_votes_and_silence():
    readout = Readout(4, 2)
    readout.observe(np.array([[5, 0, 1, 0], [0, 4, 0, 0]]), np.array([0, 1]))
    assert readout.assignments.tolist() == [0, 1, 0, -1]     # neuron 3 never fired
    pred = readout.predict(np.array([[3, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 9]]))
    assert pred.tolist() == [0, 1, -1]                        # only unassigned neuron fired
    assert accuracy(pred, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    weighted = Readout(4, 2, proportion_weighting=True)
    weighted.observe(np.array([[5, 0, 1, 0], [0, 4, 0, 0]]), np.array([0, 1]))
    assert weighted.predict(np.array([[3, 0, 1, 0]])).tolist() == [0]
