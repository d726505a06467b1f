# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Offline training of the spiking deep network (topspark_ros.deep.train, topspark-train-deep):
the JAX rate network against the NumPy reference, the soft-LIF curve, noise, training,
checkpoints, refusals of the tool, and inference never importing JAX."""

import dataclasses
import json
import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from topspark_ros.cli import train_deep
from topspark_ros.datasets import digits
from topspark_ros.deep import bptt, rates, train
from topspark_ros.deep.checkpoint import load_deep_checkpoint, save_deep_checkpoint
from topspark_ros.deep.config import (DeepConfig, LayerSpec, LifParams, OperatingPoint,
                                      replace_params)
from topspark_ros.deep.network import DeepNetwork, Simulator

LIF = LifParams()


def closed_form_soft_lif(j: float, lif: LifParams) -> float:
    """r = 1 / (tau_ref + tau_rc log(1 + v_th / rho)), rho = gamma log(1 + e^((j - v_th) /
    gamma)), evaluated in float64 with rho's logarithm taken exactly."""
    z = (j - lif.v_thresh) / lif.gamma
    if z > 0:
        log_softplus = math.log(z + math.log1p(math.exp(-z)))
    elif z > -30:
        log_softplus = math.log(math.log1p(math.exp(z)))
    else:                            # log(log(1 + e^z)) = z + log(1 - e^z / 2 + ...)
        log_softplus = z + math.log1p(-math.exp(z) / 2)
    log_rho = math.log(lif.gamma) + log_softplus
    log_term = math.log(lif.v_thresh + math.exp(log_rho)) - log_rho if log_rho > -30 else \
        math.log(lif.v_thresh) - log_rho
    return 1.0 / (lif.tau_ref_ms / 1000 + lif.tau_rc_ms / 1000 * log_term)


def random_network(config: DeepConfig, seed: int) -> DeepNetwork:
    """He-initialised weights with biases around threshold, so units fire and stay silent."""
    network = DeepNetwork.initialised(config, seed)
    rng = np.random.default_rng(seed)
    biases = [None if b is None else rng.normal(0.8, 1.0, b.shape) for b in network.biases]
    return DeepNetwork(config, network.weights, biases)


CNN = DeepConfig(layers=(LayerSpec('conv', 6, 5, 2), LayerSpec('conv', 8, 3, 1, 1),
                         LayerSpec('avgpool', kernel=2), LayerSpec('sumpool', kernel=2),
                         LayerSpec('dense', 20), LayerSpec('dense', 10)))
MLP = DeepConfig(layers=(LayerSpec('dense', 50), LayerSpec('dense', 30), LayerSpec('dense', 10)))


@pytest.mark.parametrize('config', [MLP, CNN], ids=['mlp', 'cnn'])
def test_jax_forward_equals_the_numpy_reference(config):
    network = random_network(config, 3)
    images = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    expected = np.stack([rates.forward_rates(config, network.weights, network.biases, image)
                         for image in images])
    got = np.asarray(train.forward(config, train.params_of(network), jnp.asarray(images)))
    assert np.abs(expected).max() > 1.0         # the comparison is not between zeros
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    hard = np.stack([network.rate_scores(image, soft=False) for image in images])
    got = np.asarray(train.forward(config, train.params_of(network), jnp.asarray(images),
                                   soft=False))
    np.testing.assert_allclose(got, hard, rtol=0, atol=1e-5 * np.abs(hard).max())


def test_soft_lif_follows_its_closed_form_far_below_and_above_threshold():
    currents = [-20.0, -5.0, 0.0, 0.5, 0.99, 1.0, 1.01, 1.5, 3.0, 50.0]
    expected = np.array([closed_form_soft_lif(j, LIF) for j in currents])
    got = np.asarray(train.soft_lif_rate(jnp.asarray(currents, jnp.float32), LIF, 1.0))
    np.testing.assert_allclose(got, expected, rtol=2e-6)
    inside = np.array(currents) > -10            # the float64 reference underflows further out
    np.testing.assert_allclose(rates.soft_lif_rate(np.array(currents)[inside], LIF, 1.0),
                               expected[inside], rtol=1e-9)
    grad = jax.vmap(jax.grad(lambda j: train.soft_lif_rate(j, LIF, 1.0)))(
        jnp.linspace(-100.0, 100.0, 20001))
    assert bool(jnp.all(jnp.isfinite(grad))) and bool(jnp.all(grad > 0))


def test_discrete_stepping_trains_on_its_own_rate_curve():
    """'discrete' stepping fires every whole number of steps: the JAX curve is NumPy's, and
    the soft-LIF it trains with (tau_ref = dt / 2) is that staircase averaged over where the
    crossing falls within a step."""
    lif = LifParams(tau_ref_ms=0.0, integration='discrete', gamma=1e-4)
    j = np.linspace(1.2, 20.0, 4001)
    stepped = rates.lif_rate(j, lif, 1.0)
    np.testing.assert_allclose(np.asarray(train.lif_rate(jnp.asarray(j, jnp.float32), lif, 1.0)),
                               stepped, rtol=1e-4)
    periods = 1.0 / stepped                              # whole steps of 1 ms
    np.testing.assert_allclose(periods * 1000.0, np.round(periods * 1000.0), atol=1e-6)
    crossing = lif.tau_rc_ms / 1000.0 * np.log1p(1.0 / (j - 1.0))
    soft = rates.soft_lif_rate(j, lif, 1.0)
    np.testing.assert_allclose(1.0 / soft, crossing + 0.5e-3, rtol=1e-3)
    assert abs(np.mean(periods - 1.0 / soft)) < 0.1e-3       # within a tenth of a step
    exact = LifParams(tau_ref_ms=0.0)                    # the exact stepping: no half step
    np.testing.assert_allclose(1.0 / rates.soft_lif_rate(j, dataclasses.replace(
        exact, gamma=1e-4), 1.0), crossing, rtol=1e-3)


def test_soft_lif_tends_to_the_lif_curve_as_gamma_shrinks():
    j = np.linspace(-2.0, 10.0, 6001)
    lif_curve = rates.lif_rate(j, LIF, 1.0)
    away = np.abs(j - LIF.v_thresh) > 0.1
    errors = []
    for gamma in (0.1, 0.02, 0.002, 0.0002):
        lif = dataclasses.replace(LIF, gamma=gamma)
        soft = np.asarray(train.soft_lif_rate(jnp.asarray(j, jnp.float32), lif, 1.0),
                          np.float64)
        errors.append(np.abs(soft - lif_curve)[away].max())
        finite = (j - LIF.v_thresh) / gamma > -700       # rho of the float64 reference > 0
        np.testing.assert_allclose(soft[finite], rates.soft_lif_rate(j[finite], lif, 1.0),
                                   rtol=1e-5)
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-3 * lif_curve.max()


def test_count_noise_is_whole_spikes_unbiased_with_the_soft_lif_gradient():
    settings = train.TrainSettings(noise='count', target_timesteps=10)
    j = jnp.full((20000,), 1.6)
    rate = train.noisy_rate(j, LIF, settings, 1.0, jax.random.PRNGKey(0))
    counts = np.asarray(rate) * 10 * 1e-3
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    expected = float(train.lif_rate(jnp.float32(1.6), LIF, 1.0)) * 10e-3
    assert set(np.round(counts).astype(int)) == {math.floor(expected), math.ceil(expected)}
    assert abs(counts.mean() - expected) < 0.02
    silent = train.noisy_rate(jnp.full((100,), 0.9), LIF, settings, 1.0, jax.random.PRNGKey(1))
    assert float(jnp.abs(silent).max()) == 0.0
    grad = jax.grad(lambda v: train.noisy_rate(v, LIF, settings, 1.0,
                                               jax.random.PRNGKey(2)).sum())(j[:5])
    soft_grad = jax.grad(lambda v: train.soft_lif_rate(v, LIF, 1.0).sum())(j[:5])
    np.testing.assert_allclose(grad, soft_grad, rtol=1e-6)


def test_shifted_images_are_whole_pixel_translations_with_zero_fill():
    images = jnp.arange(2 * 1 * 6 * 6, dtype=jnp.float32).reshape(2, 1, 6, 6) + 1.0
    assert train.shifted(images, 0, jax.random.PRNGKey(0)) is images
    for seed in range(5):
        out = np.asarray(train.shifted(images, 2, jax.random.PRNGKey(seed)))
        for k in range(2):
            matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                       if np.array_equal(out[k, 0], _translated(np.asarray(images[k, 0]), dy,
                                                                dx))]
            assert len(matches) == 1


def _translated(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_gaussian_noise_only_where_the_neuron_fires():
    settings = train.TrainSettings(noise='gaussian', noise_sigma_hz=10.0)
    j = jnp.concatenate([jnp.full((20000,), 0.9), jnp.full((20000,), 2.0)])
    noisy = np.asarray(train.noisy_rate(j, LIF, settings, 1.0, jax.random.PRNGKey(0)))
    clean = np.asarray(train.soft_lif_rate(j, LIF, 1.0))
    assert np.array_equal(noisy[:20000], clean[:20000])
    assert abs(np.std(noisy[20000:] - clean[20000:]) - 10.0) < 0.3


@pytest.fixture(scope='module')
def small_digits():
    ds = digits()
    to_unit = train_deep.unit_images
    return (to_unit(ds.train_images[:600]), ds.train_labels[:600],
            to_unit(ds.test_images), ds.test_labels)


DIGITS_MLP = DeepConfig(input_shape=(1, 8, 8),
                        layers=(LayerSpec('dense', 64), LayerSpec('dense', 10)))


def quick_train(data, **settings):
    x, y = data[0], data[1]
    options = {'epochs': 2, 'batch_size': 50, 'learning_rate': 3e-3, **settings}
    return train.train_network(DIGITS_MLP, train.TrainSettings(**options), x, y)


def test_training_a_tiny_mlp_on_digits_beats_chance_and_reports_history(small_digits):
    x, y, tx, ty = small_digits
    before = train.rate_accuracy(DeepNetwork.initialised(DIGITS_MLP, 0), tx, ty)
    result = train.train_network(
        DIGITS_MLP, train.TrainSettings(epochs=4, batch_size=50, learning_rate=1e-2), x, y,
        tx[:100], ty[:100])
    after = train.rate_accuracy(result.network, tx, ty)
    assert after > 0.7 and after > before + 0.3, (before, after)
    assert [h.epoch for h in result.history] == [1, 2, 3, 4]
    assert result.history[-1].loss < result.history[0].loss
    assert result.history[-1].validation_accuracy > 0.5
    assert all(w.dtype == np.float32 for w in result.network.weights)


def test_noise_changes_the_result_and_each_setting_is_deterministic(small_digits):
    runs = {noise: quick_train(small_digits, noise=noise).network.weights[0]
            for noise in ('none', 'gaussian', 'count')}
    assert not np.array_equal(runs['none'], runs['gaussian'])
    assert not np.array_equal(runs['none'], runs['count'])
    assert not np.array_equal(runs['gaussian'], runs['count'])
    again = quick_train(small_digits, noise='count').network.weights[0]
    assert np.array_equal(again, runs['count'])
    other_seed = quick_train(small_digits, noise='count', seed=1).network.weights[0]
    assert not np.array_equal(other_seed, runs['count'])


def hidden_spikes(network, images, timesteps=10):
    """Mean expected hidden spikes per sample in T steps (the LIF rate network)."""
    x = jnp.asarray(train.images_as_input(network.config, images))
    rates = train.forward_with_activity(network.config, train.params_of(network), x,
                                        soft=False)[1]
    return float(rates.mean()) * timesteps * 1e-3


def test_the_rate_penalty_buys_fewer_spikes_and_augmentation_changes_training(small_digits):
    free = quick_train(small_digits, epochs=8, learning_rate=1e-2)
    frugal = quick_train(small_digits, epochs=8, learning_rate=1e-2, rate_penalty=0.05)
    tx, ty = small_digits[2], small_digits[3]
    assert hidden_spikes(frugal.network, tx) < 0.7 * hidden_spikes(free.network, tx)
    assert train.rate_accuracy(frugal.network, tx, ty) > 0.7
    shifted = quick_train(small_digits, augment_shift=1).network.weights[0]
    assert not np.array_equal(shifted, quick_train(small_digits).network.weights[0])
    assert np.array_equal(shifted, quick_train(small_digits, augment_shift=1).network.weights[0])


def test_fine_tuning_starts_from_the_given_network(small_digits):
    x, y, tx, ty = small_digits
    trained = quick_train(small_digits, epochs=8, learning_rate=1e-2).network
    tuned = train.train_network(DIGITS_MLP, train.TrainSettings(
        epochs=1, batch_size=50, learning_rate=1e-4), x, y, initial=trained).network
    fresh = DeepNetwork.initialised(DIGITS_MLP, 0).weights[0]
    assert np.abs(tuned.weights[0] - trained.weights[0]).max() < 0.05 * np.abs(
        fresh - trained.weights[0]).max()
    assert train.rate_accuracy(tuned, tx, ty) > 0.85
    other = DeepConfig(input_shape=(1, 8, 8), layers=(LayerSpec('dense', 32),
                                                      LayerSpec('dense', 10)))
    with pytest.raises(ValueError, match='other layers'):
        train.train_network(other, train.TrainSettings(epochs=1), x, y, initial=trained)


def test_trained_network_round_trips_through_a_checkpoint(tmp_path, small_digits):
    result = quick_train(small_digits, epochs=1, dropout=0.2)
    path = save_deep_checkpoint(tmp_path / 'deep.npz', result.network, {'seed': 0})
    loaded, metadata = load_deep_checkpoint(path)
    assert metadata == {'seed': 0} and loaded.config == DIGITS_MLP
    for a, b in zip(loaded.weights + loaded.biases,
                    result.network.weights + result.network.biases):
        assert np.array_equal(a, b)
    image = small_digits[2][0]
    jax_scores = np.asarray(train.forward(DIGITS_MLP, train.params_of(loaded),
                                          jnp.asarray(image[None, None])))[0]
    np.testing.assert_allclose(loaded.rate_scores(image), jax_scores, rtol=1e-4, atol=1e-5)


def test_settings_refuse_bad_values():
    for bad in ({'epochs': 0}, {'noise': 'poisson'}, {'dropout': 1.0},
                {'learning_rate': float('nan')}, {'target_timesteps': 0},
                {'rate_penalty': -1.0}, {'rate_penalty': float('nan')}, {'augment_shift': -1}):
        with pytest.raises(ValueError):
            train.TrainSettings(**bad)


# --- the command-line tool ---------------------------------------------------------------

@pytest.fixture
def digits_npz(tmp_path):
    ds = digits()
    path = tmp_path / 'small.npz'
    np.savez(path, train_images=ds.train_images[:300], train_labels=ds.train_labels[:300],
             test_images=ds.test_images[:100], test_labels=ds.test_labels[:100])
    return path


def test_tool_trains_writes_checkpoint_metadata_json_and_plot(tmp_path, digits_npz, capsys):
    out, plot = tmp_path / 'models' / 'deep.npz', tmp_path / 'deep.png'
    rc = train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:32', '--epochs', '2',
                          '--batch-size', '50', '--noise', 'gaussian', '--rate-gain', '2',
                          '--seed', '3', '--out', str(out), '--plot', str(plot), '--quiet'])
    assert rc == 0, capsys.readouterr().err
    network, metadata = load_deep_checkpoint(out)
    assert network.config.input_shape == (1, 8, 8)
    assert [layer.size for layer in network.config.layers] == [32, 10]
    assert network.config.lif.amplitude == pytest.approx(0.063 / 2)
    assert metadata['complete'] and metadata['epochs_done'] == 2
    assert metadata['training']['noise'] == 'gaussian' and metadata['training']['seed'] == 3
    assert (metadata['n_train'], metadata['n_validation'], metadata['n_test']) == (270, 30, 100)
    assert 0.0 <= metadata['test_accuracy_soft_lif'] <= 1.0
    assert len(metadata['history']) == 2 and metadata['package_version']
    assert json.loads(out.with_suffix('.json').read_text())['config']['layers'][0]['size'] == 32
    assert plot.stat().st_size > 1000
    assert 'rate-network test accuracy' in capsys.readouterr().out


def test_tool_writes_a_loadable_checkpoint_after_every_epoch(tmp_path, digits_npz, monkeypatch):
    out = tmp_path / 'deep.npz'
    seen = []
    real_save = train_deep.save_deep_checkpoint

    def spy(path, network, metadata):
        written = real_save(path, network, metadata)
        seen.append(load_deep_checkpoint(written)[1]['epochs_done'])
        return written

    monkeypatch.setattr(train_deep, 'save_deep_checkpoint', spy)
    assert train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:16', '--epochs',
                            '3', '--out', str(out), '--quiet']) == 0
    assert seen == [1, 2, 3, 3]


def test_tool_fine_tunes_a_checkpoint_and_records_how(tmp_path, digits_npz, capsys):
    first, second = tmp_path / 'a.npz', tmp_path / 'b.npz'
    assert train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:16', '--epochs',
                            '2', '--rate-gain', '2', '--out', str(first), '--quiet']) == 0
    assert train_deep.main(['--dataset', str(digits_npz), '--init-from', str(first),
                            '--epochs', '1', '--rate-penalty', '1e-4', '--augment-shift', '1',
                            '--target-timesteps', '5',
                            '--out', str(second), '--quiet']) == 0
    tuned, metadata = load_deep_checkpoint(second)
    assert [layer.size for layer in tuned.config.layers] == [16, 10]
    assert tuned.config.lif.amplitude == pytest.approx(0.063 / 2)        # the checkpoint's
    assert metadata['init_from'] == str(first) and metadata['arch'] == f'as {first}'
    assert metadata['training']['rate_penalty'] == 1e-4
    assert metadata['training']['augment_shift'] == 1
    capsys.readouterr()
    assert run_tool(['--dataset', 'digits', '--init-from', 'config/model_deep_cnn.npz',
                     '--out', str(tmp_path / 'c.npz')]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not digits's 8x8 images" in err, err
    assert not (tmp_path / 'c.npz').exists()


def test_tool_trains_for_the_stepping_the_network_will_run(tmp_path, digits_npz):
    """--integration discrete: the checkpoint steps discretely (no refractory period) and its
    LIF accuracy is that of the stepped curve; --init-from keeps the checkpoint's stepping
    unless the flag is given."""
    discrete, tuned, back = (tmp_path / f'{name}.npz' for name in ('d', 't', 'b'))
    assert train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:16', '--epochs',
                            '2', '--integration', 'discrete', '--out', str(discrete),
                            '--quiet']) == 0
    network, metadata = load_deep_checkpoint(discrete)
    assert network.config.lif.integration == 'discrete' and network.config.lif.tau_ref_ms == 0
    assert metadata['integration'] == 'discrete'
    assert train_deep.main(['--dataset', str(digits_npz), '--init-from', str(discrete),
                            '--epochs', '1', '--out', str(tuned), '--quiet']) == 0
    assert load_deep_checkpoint(tuned)[0].config.lif.integration == 'discrete'
    assert train_deep.main(['--dataset', str(digits_npz), '--init-from', str(discrete),
                            '--epochs', '1', '--integration', 'exact', '--out', str(back),
                            '--quiet']) == 0
    assert load_deep_checkpoint(back)[0].config.lif.integration == 'exact'


def test_tool_converts_a_checkpoint_without_training_and_keeps_its_provenance(
        tmp_path, digits_npz):
    """--epochs 0 --init-from: the same weights run with --integration; what the parent held
    out stays held out, and its metadata travels with the converted file."""
    parent, converted = tmp_path / 'p.npz', tmp_path / 'c.npz'
    assert train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:16', '--epochs',
                            '2', '--validation-fraction', '0.3', '--out', str(parent),
                            '--quiet']) == 0
    assert train_deep.main(['--dataset', str(digits_npz), '--init-from', str(parent),
                            '--epochs', '0', '--integration', 'discrete',
                            '--readout-learning-rate', '0.01', '--out', str(converted),
                            '--quiet']) == 0
    before, parent_metadata = load_deep_checkpoint(parent)
    after, metadata = load_deep_checkpoint(converted)
    for w0, w1 in zip(before.weights + before.biases, after.weights + after.biases):
        np.testing.assert_array_equal(w0, w1)
    assert after.config == train_deep.dataclasses.replace(
        before.config, lif=before.config.lif.with_integration('discrete'),
        readout_learning_rate=0.01)
    assert metadata['training'] == {'epochs': 0} and metadata['history'] == []
    assert metadata['validation_fraction'] == 0.3            # inherited
    assert metadata['init_from_metadata'] == parent_metadata


def test_tool_defaults_are_the_train_settings_defaults():
    args = train_deep.build_parser().parse_args(['--out', 'm.npz'])
    assert train_deep._given(args) == {}            # every unset flag keeps TrainSettings'
    assert train_deep.NOISE_CHOICES == train.NOISE_KINDS
    args = train_deep.build_parser().parse_args(['--out', 'm.npz', '--seed', '4', '--lr', '0.1',
                                                 '--constant-lr'])
    assert train_deep._given(args) == {'seed': 4, 'learning_rate': 0.1, 'cosine_decay': False}


def run_tool(argv):
    try:
        return train_deep.main(argv)
    except SystemExit as exc:        # argparse's own refusals
        return exc.code


@pytest.mark.parametrize('flags, message', [
    (['--epochs', '0'], '--epochs must be >= 0 with --init-from, else >= 1'),
    (['--epochs', '0', '--init-from', 'config/model_deep_cnn.npz', '--plot', 'OUTDIR/p.png'],
     '--plot: --epochs 0 trains nothing to plot'),
    (['--integration', 'euler'], "--integration: invalid choice: 'euler'"),
    (['--readout-learning-rate', '-1'], '--readout-learning-rate must be >= 0'),
    (['--batch-size', '-1'], '--batch-size must be >= 1'),
    (['--lr', 'nan'], '--lr must be > 0'),
    (['--noise-sigma-hz', '-1'], '--noise-sigma-hz must be >= 0'),
    (['--target-timesteps', '0'], '--target-timesteps must be >= 1'),
    (['--dropout', '1'], '--dropout must be in [0, 1)'),
    (['--validation-fraction', '0.9'], '--validation-fraction must be in [0, 0.5]'),
    (['--rate-gain', '0'], '--rate-gain must be > 0'),
    (['--amplitude', 'inf'], '--amplitude must be > 0'),
    (['--amplitude', '0.01', '--rate-gain', '2'], 'not allowed with argument'),
    (['--epochs', 'three'], "--epochs: invalid int value: 'three'"),
    (['--noise', 'poisson'], "--noise: invalid choice: 'poisson'"),
    (['--arch', 'resnet'], "unknown layer 'resnet'"),
    (['--arch', 'conv:16'], "--arch 'conv:16': 'conv:16' needs 2..4 fields"),
    (['--arch', 'dense:x'], 'non-integer field'),
    (['--out', 'OUTDIR/model.txt'], '--out OUTDIR/model.txt: must be a .npz file'),
    (['--out', 'OUTDIR/adir.npz'], 'is a directory, expected a file'),
    (['--out', 'OUTDIR/afile/model.npz'], 'cannot write there'),
    (['--plot', 'OUTDIR/plot.jpg'], '--plot OUTDIR/plot.jpg: must be a .png file'),
    (['--rate-penalty', '-1'], '--rate-penalty must be >= 0'),
    (['--augment-shift', '-2'], '--augment-shift must be >= 0'),
    (['--spiking-points', '5'], "--spiking-points: '5' is not T:GAIN[:V_INIT]"),
    (['--spiking-points', '5:1:1'], "'5:1:1': T must be >= 1, GAIN > 0 and V_INIT in [0, 1)"),
    (['--spiking-points', '0:1'], "'0:1': T must be >= 1"),
    (['--epochs', '0', '--init-from', 'config/model_deep_cnn.npz', '--spiking-points', '5:1'],
     '--spiking-points: --epochs 0 trains nothing'),
    (['--init-from', 'OUTDIR/none.npz'], '--init-from OUTDIR/none.npz: not found'),
    (['--init-from', 'config/model_n400.npz'], 'not a spiking deep network checkpoint'),
])
def test_tool_refuses_bad_flags_in_one_line_before_any_work(
        tmp_path, capsys, monkeypatch, flags, message):
    (tmp_path / 'adir.npz').mkdir()
    (tmp_path / 'afile').write_text('x')

    def no_work(name):
        raise AssertionError('the dataset was loaded before the flags were checked')

    monkeypatch.setattr(train_deep, 'load', no_work)
    flags = [f.replace('OUTDIR', str(tmp_path)) for f in flags]
    argv = ['--dataset', 'digits', '--out', str(tmp_path / 'm.npz')] + flags
    assert run_tool(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message.replace('OUTDIR', str(tmp_path)) \
        in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['adir.npz', 'afile']


@pytest.mark.parametrize('flags, message', [
    (['--dataset', 'imagenet'], "unknown dataset 'imagenet'"),
    (['--dataset', 'digits', '--arch', 'cnn'], "--arch 'cnn' on 8x8 digits images"),
])
def test_tool_refuses_datasets_and_architectures_that_do_not_fit(
        tmp_path, capsys, flags, message):
    out = tmp_path / 'm.npz'
    assert run_tool(flags + ['--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_tool_without_jax_fails_in_one_line_with_the_install_hint(tmp_path):
    code = ('import sys; sys.modules["jax"] = None; '
            'from topspark_ros.cli.train_deep import main; '
            f'sys.exit(main(["--dataset", "digits", "--out", r"{tmp_path / "m.npz"}"]))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and 'pip install jax optax' in proc.stderr
    assert not (tmp_path / 'm.npz').exists()


def test_inference_modules_and_the_tool_module_do_not_import_jax():
    code = ('import sys\n'
            'import topspark_ros.deep.config, topspark_ros.deep.rates\n'
            'import topspark_ros.deep.network, topspark_ros.deep.checkpoint\n'
            'import topspark_ros.models, topspark_ros.nodes.perception\n'
            'import topspark_ros.cli.train_deep\n'
            'loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "optax"))\n'
            'print(",".join(loaded))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ''


# --- spiking fine-tuning: the spiking network stepped through time in JAX (deep.bptt) -----

def discrete(config: DeepConfig, **lif) -> DeepConfig:
    return dataclasses.replace(config, lif=dataclasses.replace(
        config.lif.with_integration('discrete'), **lif))


@pytest.mark.parametrize('config, point', [
    (discrete(MLP), OperatingPoint(20, 2.0, 0.5)),
    (discrete(CNN), OperatingPoint(8, 2.0, 0.0)),
    (discrete(CNN, tau_s_ms=2.0), OperatingPoint(20, 1.5, 0.25)),
], ids=['mlp', 'cnn-pooling', 'cnn-synapse'])
def test_the_jax_spiking_network_steps_as_the_numba_kernel(config, point):
    """The scores training differentiates are the ones perception computes, step for step."""
    network = random_network(config, 4)
    images = np.random.default_rng(1).random((6, 1, 28, 28)).astype(np.float32)
    got = np.asarray(bptt.spiking_scores(config, train.params_of(network), jnp.asarray(images),
                                         point.timesteps, point.rate_gain, point.v_init))
    run = replace_params(config, {'rate_gain': point.rate_gain, 'lif.v_init': point.v_init})
    simulator = Simulator(network)
    expected, spikes = [], 0
    for image in images:
        scores, ops = simulator.run_frame(image[0], point.timesteps, run)
        expected.append(scores)
        spikes += ops.exc_spikes
    expected = np.array(expected)
    assert spikes > 10 * len(images)             # the networks fire: not a comparison of biases
    assert np.ptp(expected, axis=1).min() > 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def test_the_surrogate_gradient_reaches_every_layer_through_time():
    config = discrete(CNN)
    params = train.params_of(random_network(config, 5))
    images = jnp.asarray(np.random.default_rng(2).random((4, 1, 28, 28)), jnp.float32)
    labels = jnp.arange(4)

    def loss(p):
        scores = bptt.spiking_scores(config, p, images, 6, 1.0, 0.5)
        return train.optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean()

    grads = jax.grad(loss)(params)
    for weight, bias in grads:
        assert np.isfinite(np.asarray(weight)).all() and np.abs(np.asarray(weight)).max() > 0
        assert np.isfinite(np.asarray(bias)).all()
    assert float(bptt.spike(jnp.float32(0.0))) == 0.0 and float(bptt.spike(jnp.float32(1e-6))) \
        == 1.0
    assert float(jax.grad(bptt.spike)(jnp.float32(0.2))) == pytest.approx(1 / (1 + 5 * 0.2) ** 2)


@pytest.mark.parametrize('change, message', [
    ({}, "lif.integration 'discrete'"),
    ({'input_coding': 'regular'}, "codes its input as 'regular'"),
    ({'readout': 'counts'}, 'readout: current'),
])
def test_spiking_fine_tuning_refuses_networks_it_cannot_step(change, message):
    config = MLP if not change else dataclasses.replace(discrete(MLP), **change)
    with pytest.raises(ValueError, match=message):
        bptt.check_trainable(config)
    with pytest.raises(ValueError, match=message):
        train.train_network(config, train.TrainSettings(
            epochs=1, spiking_points=(OperatingPoint(3),)),
            np.zeros((4, 1, 28, 28), np.float32), np.arange(4))
    with pytest.raises(ValueError, match='hidden conv or dense'):
        bptt.check_trainable(discrete(DeepConfig(layers=(LayerSpec('dense', 10),))))


@pytest.mark.parametrize('kwargs', [{'timesteps': 0}, {'timesteps': 2.5},
                                    {'timesteps': 3, 'rate_gain': 0.0},
                                    {'timesteps': 3, 'v_init': 1.0},
                                    {'timesteps': 3, 'rate_gain': float('nan')}])
def test_operating_points_refuse_values_no_run_can_take(kwargs):
    with pytest.raises(ValueError):
        OperatingPoint(**kwargs)


def spiking_accuracy(network, images, labels, point):
    run = replace_params(network.config, {'rate_gain': point.rate_gain,
                                          'lif.v_init': point.v_init})
    simulator = Simulator(network)
    hits = [int(np.argmax(simulator.run_frame(image, point.timesteps, run)[0])) == label
            for image, label in zip(images, labels)]
    return float(np.mean(hits))


def test_spiking_fine_tuning_makes_the_short_run_accurate(small_digits):
    """The point of it: at 3 steps with gain 1 the rate-trained network is near chance (too
    few spikes), the network fine-tuned through those steps is not."""
    x, y, tx, ty = small_digits
    config = dataclasses.replace(DIGITS_MLP, lif=DIGITS_MLP.lif.with_integration('discrete'))
    rate_trained = train.train_network(config, train.TrainSettings(
        epochs=6, batch_size=50, learning_rate=1e-2), x, y).network
    point = OperatingPoint(3, 1.0, 0.5)
    settings = train.TrainSettings(epochs=6, batch_size=50, learning_rate=3e-3,
                                   spiking_points=(point,))
    tuned = train.train_network(config, settings, x, y, initial=rate_trained).network
    before = spiking_accuracy(rate_trained, tx, ty, point)
    after = spiking_accuracy(tuned, tx, ty, point)
    assert after > 0.6 and after > before + 0.3, (before, after)
    again = train.train_network(config, settings, x, y, initial=rate_trained).network
    assert np.array_equal(again.weights[0], tuned.weights[0])        # deterministic


def test_tool_fine_tunes_through_time_and_records_the_points(tmp_path, digits_npz, capsys):
    first, second = tmp_path / 'a.npz', tmp_path / 'b.npz'
    assert train_deep.main(['--dataset', str(digits_npz), '--arch', 'dense:16', '--epochs',
                            '1', '--out', str(first), '--quiet']) == 0
    assert run_tool(['--dataset', str(digits_npz), '--init-from', str(first), '--epochs', '1',
                     '--spiking-points', '3:1', '--out', str(second), '--quiet']) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and '--spiking-points' in err \
        and "'discrete'" in err, err
    assert not second.exists()
    assert train_deep.main(['--dataset', str(digits_npz), '--init-from', str(first), '--epochs',
                            '1', '--integration', 'discrete', '--spiking-points',
                            '3:1:0.5,5:1.5', '--out', str(second), '--quiet']) == 0
    assert load_deep_checkpoint(second)[1]['training']['spiking_points'] == [
        {'timesteps': 3, 'rate_gain': 1.0, 'v_init': 0.5},
        {'timesteps': 5, 'rate_gain': 1.5, 'v_init': 0.0}]
