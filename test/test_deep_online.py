# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Online learning of the deep network's readout (delta rule): the activity it uses is what
the kernel's scores are made of, one step is the cross-entropy gradient step, the model learns
from labels as perception drives it, and a readout that cannot learn is refused."""

import numpy as np
import pytest

from topspark_ros.datasets import mnist_5k
from topspark_ros.deep.checkpoint import load_deep_checkpoint
from topspark_ros.deep.config import DeepConfig, LayerSpec, LifParams, replace_params
from topspark_ros.deep.network import DeepNetwork, Simulator
from topspark_ros.deep.online import delta_rule, readout_activity, ReadoutSample
from topspark_ros.models import DeepModel, ModelError
from topspark_ros.shipped import DEEP_MODEL, shipped

from test_deep_simulation import small_cnn


def conv_fed_readout() -> DeepNetwork:
    """A readout fed by a conv layer through pooling: activity must be reordered and pooled."""
    config = DeepConfig(input_shape=(1, 12, 12),
                        layers=(LayerSpec('conv', 5, kernel=3, stride=1, padding=1),
                                LayerSpec('sumpool', kernel=2), LayerSpec('dense', 10)),
                        lif=LifParams(amplitude=0.01, tau_ref_ms=0.0, integration='discrete'))
    network = DeepNetwork.initialised(config, 4)
    network.biases[0][:] = 1.5
    return network


@pytest.mark.parametrize('make, overrides', [
    (small_cnn, {}), (small_cnn, {'rate_gain': 2.5}), (conv_fed_readout, {'rate_gain': 1.5})])
def test_readout_activity_gives_the_kernels_scores(make, overrides):
    network = make()
    config = replace_params(network.config, overrides)
    simulator = Simulator(network)
    image = np.random.default_rng(1).integers(0, 255, (12, 12), np.uint8)
    scores, ops = simulator.run_frame(image, 80, config)
    activity = readout_activity(simulator, config, 80)
    assert ops.exc_spikes > 0 and np.abs(activity).max() > 0
    np.testing.assert_allclose(network.weights[-1] @ activity + network.biases[-1], scores,
                               rtol=1e-5, atol=1e-6)


def test_a_delta_rule_step_is_the_cross_entropy_gradient_step():
    network = small_cnn()
    rng = np.random.default_rng(2)
    sample = ReadoutSample(rng.random(16), rng.normal(size=10))
    weight, bias = network.weights[-1].copy(), network.biases[-1].copy()
    assert delta_rule(network, sample, 4, 0.1) == weight.size + bias.size

    def loss(w, b):                     # softmax cross-entropy of scores (w - W) a + scores
        z = sample.scores + (w - weight) @ sample.activity + (b - bias)
        return np.log(np.exp(z - z.max()).sum()) + z.max() - z[4]

    eps, grad_w = 1e-6, np.zeros_like(weight, np.float64)
    for i, j in np.ndindex(*weight.shape):
        step = np.zeros_like(weight, np.float64)
        step[i, j] = eps
        grad_w[i, j] = (loss(weight + step, bias) - loss(weight - step, bias)) / (2 * eps)
    np.testing.assert_allclose(network.weights[-1], weight - 0.1 * grad_w, atol=1e-5)
    assert loss(network.weights[-1], network.biases[-1]) < loss(weight, bias)


def test_the_model_learns_from_labels_and_resets_to_the_readout_it_loaded():
    network = small_cnn()
    network.config = replace_params(network.config, {'readout_learning_rate': 0.05})
    model = DeepModel(network)
    image = np.random.default_rng(3).integers(0, 255, (12, 12), np.uint8)
    loaded = model.network.weights[-1].copy()
    with pytest.raises(ModelError) as refused:
        model.observe_label(2)                              # nothing run with learning yet
    assert refused.value.reason == 'label_without_sample'
    assert model.run_frame(image, 60, learn=False).ops.weight_updates == 0
    with pytest.raises(ModelError):
        model.observe_label(2)                              # that sample did not learn
    before = model.run_frame(image, 60, learn=True)
    assert before.ops.weight_updates == loaded.size + 10
    with pytest.raises(ModelError) as refused:
        model.observe_label(10)
    assert refused.value.reason == 'label_out_of_range'
    model.observe_label(2)
    after = model.run_frame(image, 60, learn=False)
    assert after.scores[2] - after.scores.max() > before.scores[2] - before.scores.max()
    np.testing.assert_allclose(after.scores, Simulator(model.network).run_frame(
        image, 60, model.config, seed=2)[0].astype(np.float32), rtol=1e-6)
    model.reset()
    np.testing.assert_array_equal(model.network.weights[-1], loaded)
    np.testing.assert_allclose(model.run_frame(image, 60, learn=False).scores, before.scores,
                               rtol=1e-6)


def test_a_step_that_would_leave_weights_not_finite_changes_nothing():
    network = small_cnn()
    network.config = replace_params(network.config, {'readout_learning_rate': 1e300})
    model = DeepModel(network)
    loaded = network.weights[-1].copy()
    model.run_frame(np.full((12, 12), 200, np.uint8), 60, learn=True)
    with pytest.raises(ModelError) as refused:
        model.observe_label(1)
    assert refused.value.reason == 'learning_diverged'
    np.testing.assert_array_equal(network.weights[-1], loaded)


def test_a_counts_readout_cannot_learn_and_says_why():
    network = small_cnn()
    network.config = replace_params(network.config, {'readout': 'counts'})
    model = DeepModel(network)
    assert not model.can_learn and "readout 'counts'" in model.why_not_learning
    with pytest.raises(ModelError) as refused:
        model.run_frame(np.zeros((12, 12)), 5, learn=True)
    assert refused.value.reason == 'learning_refused'


def test_the_shipped_cnn_adapts_to_inverted_contrast():
    """The stretch measured in docs/model.md, small: at chance on inverted digits, the
    readout learns them from 600 labelled ones (benchmarks/deep_online.py has the curve)."""
    network, _ = load_deep_checkpoint(shipped(DEEP_MODEL))
    model = DeepModel(network)
    model.apply_overrides({'rate_gain': 2.0})
    data = mnist_5k()
    test_x, test_y = 255 - data.test_images[:200], data.test_labels[:200]

    def accuracy() -> float:
        return float(np.mean([model.run_frame(x, 8, learn=False).prediction == y
                              for x, y in zip(test_x, test_y)]))

    before = accuracy()
    for x, y in zip(255 - data.train_images[:600], data.train_labels[:600]):
        model.run_frame(x, 8, learn=True)
        model.observe_label(int(y))
    assert before < 0.2 and accuracy() > before + 0.2
