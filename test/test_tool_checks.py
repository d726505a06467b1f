# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What the tools check before their work starts (issue: a model, a profile and a T that do not
belong together are refused; everything is checked first; nothing a run did is lost)."""

import fcntl
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from topspark_ros.cli import evaluate, select, train
from topspark_ros.cli import profile as profile_cli
from topspark_ros.datasets import from_npz
from topspark_ros.snn import load_checkpoint, NetworkConfig
from topspark_ros.topspark import (load_profile, MadeFor, Profile, ProfileEntry, ProfileError,
                                   ProfileWarning)

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / 'config' / 'model_n400.npz'
SHIPPED_PROFILES = [ROOT / 'config' / 'profile_n400', *sorted(
    p.parent for p in (ROOT / 'docs' / 'results').glob('*/profile.yaml'))]


def write_profile(directory: Path, n_neurons: int = 30, t0: int = 100,
                  timesteps: tuple[int, ...] = (100, 50), training: str = 'scratch',
                  workload: str = 'frames') -> Path:
    """A profile made for N neurons at T0 (what a sweep writes, without running one)."""
    config = NetworkConfig(n_neurons=n_neurons, timesteps=t0)
    entries = tuple(ProfileEntry(T, 0.8, 0.8, 1e-4, 1e-4, 2e-5, 1e-5) for T in timesteps)
    pretrain = 3 if training == 'online' else 0
    made_for = MadeFor(n_neurons, (28, 28), t0, workload, training, pretrain, 1, 'mnist_5k')
    metadata = {'dataset': 'mnist_5k', 'workload': workload, 'epochs': 1, 'seed': 0,
                'pretrain_epochs_at_t0': pretrain}
    Profile(t0, 'loihi', entries, config.to_dict(), metadata, made_for).save(
        directory / 'profile.yaml')
    return directory


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]


@pytest.fixture
def small_dataset(tmp_path, mnist):
    path = tmp_path / 'digits.npz'
    np.savez(path, images=mnist.train_images[:200], labels=mnist.train_labels[:200])
    return path


# -- model, profile and T ------------------------------------------------------------------

def test_check_model_refuses_another_network_naming_both_sides(tmp_path):
    profile = load_profile(write_profile(tmp_path))
    assert profile.made_for == MadeFor(30, (28, 28), 100, 'frames', 'scratch', 0, 1, 'mnist_5k')
    with pytest.raises(ProfileError) as info:
        profile.check_model(NetworkConfig())                    # the shipped model's shape
    message = str(info.value)
    assert 'made for N=30, input 28x28, T0=100' in message
    assert 'the model has N=400, input 28x28, T0=350' in message
    assert str(tmp_path) in message
    with pytest.raises(ProfileError, match='T0=100.*T0=350'):
        profile.check_model(NetworkConfig(n_neurons=30, timesteps=350))
    with pytest.raises(ProfileError, match='frames.*events'):
        profile.check_model(NetworkConfig(n_neurons=30, timesteps=100), 'events')
    profile.check_model(NetworkConfig(n_neurons=30, timesteps=100), 'frames')   # fits


def test_shipped_profiles_record_what_they_were_made_for():
    network, _, _ = load_checkpoint(MODEL)
    for directory in SHIPPED_PROFILES:
        with warnings.catch_warnings():
            warnings.simplefilter('error')                      # no "older profile" warning
            profile = load_profile(directory)
        made = profile.made_for
        assert made.n_neurons == profile.network['n_neurons'], directory
        assert made.baseline_timesteps == profile.baseline_timesteps
        assert made.workload == profile.metadata.get('workload', 'frames')
        assert made.training == ('online' if profile.metadata.get('pretrain_epochs_at_t0')
                                 else 'scratch')
    load_profile(ROOT / 'config' / 'profile_n400').check_model(network.config, 'frames')
    with pytest.raises(ProfileError, match='N=100'):
        load_profile(ROOT / 'docs' / 'results' / 'topspark_n100_online').check_model(
            network.config)
    with pytest.raises(ProfileError, match='events'):
        load_profile(ROOT / 'docs' / 'results' / 'topspark_n400_events_online').check_model(
            network.config, 'frames')


def test_an_older_profile_is_read_with_a_warning_not_refused(tmp_path):
    data = yaml.safe_load((ROOT / 'config' / 'profile_n400' / 'profile.yaml').read_text())
    del data['made_for']
    (tmp_path / 'profile.yaml').write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.warns(ProfileWarning, match='no made_for section.*inferred'):
        old = load_profile(tmp_path)
    assert old.made_for == load_profile(ROOT / 'config' / 'profile_n400').made_for
    bare = tmp_path / 'bare'
    Profile(350, 'loihi', (ProfileEntry(350, 0.9, 0.9, 1, 1, 1, 1),)).save(bare / 'profile.yaml')
    with pytest.warns(ProfileWarning, match='records no network'):
        profile = load_profile(bare)
    with pytest.warns(ProfileWarning, match='cannot check'):
        profile.check_model(NetworkConfig())                    # warned, not refused


def test_evaluate_refuses_a_profile_made_for_another_model(tmp_path, capsys, small_dataset):
    write_profile(tmp_path)
    assert evaluate.main(['--model', str(MODEL), '--profile', str(tmp_path), '--dataset',
                          str(small_dataset), '--out', str(tmp_path / 'r.json'),
                          '--quiet']) == 2
    line = error_line(capsys)
    assert 'made for N=30' in line and 'the model has N=400' in line
    assert not (tmp_path / 'r.json').exists()


def test_train_refuses_a_profile_made_for_another_model(tmp_path, capsys, small_dataset):
    write_profile(tmp_path)
    out = tmp_path / 'm.npz'
    assert train.main(['--init', str(MODEL), '--profile', str(tmp_path), '--timesteps', '50',
                       '--dataset', str(small_dataset), '--out', str(out), '--quiet']) == 2
    assert 'made for N=30' in error_line(capsys) and not out.exists()
    assert train.main(['--profile', str(tmp_path), '--neurons', '40', '--timesteps', '50',
                       '--dataset', str(small_dataset), '--out', str(out), '--quiet']) == 2
    assert 'the model has N=40' in error_line(capsys)


def test_select_refuses_a_model_the_profile_was_not_made_for(tmp_path, capsys):
    write_profile(tmp_path)
    assert select.main(['--profile', str(tmp_path), '--model', str(MODEL)]) == 2
    assert 'made for N=30' in error_line(capsys)
    assert select.main(['--profile', str(ROOT / 'config' / 'profile_n400'), '--model',
                        str(MODEL)]) == 0


def test_a_timestep_the_profile_lacks_is_refused(tmp_path, capsys, small_dataset):
    write_profile(tmp_path, 400, 350, (350, 50))
    with pytest.raises(ProfileError, match=r'T=5 is not in the profile.*\[50, 350\]'):
        load_profile(tmp_path).params_at(5)
    assert evaluate.main(['--model', str(MODEL), '--profile', str(tmp_path), '--timesteps',
                          '5', '--dataset', str(small_dataset), '--out',
                          str(tmp_path / 'r.json'), '--quiet']) == 2
    assert 'T=5 is not in the profile' in error_line(capsys)
    assert train.main(['--init', str(MODEL), '--profile', str(tmp_path), '--timesteps', '5',
                       '--dataset', str(small_dataset), '--out', str(tmp_path / 'm.npz'),
                       '--quiet']) == 2
    assert 'T=5 is not in the profile' in error_line(capsys)


def test_evaluate_refuses_timesteps_zero(tmp_path, capsys, small_dataset):
    assert evaluate.main(['--model', str(MODEL), '--timesteps', '0', '--dataset',
                          str(small_dataset), '--out', str(tmp_path / 'r.json')]) == 2
    assert '--timesteps must be >= 1, got 0' in error_line(capsys)


# -- training modes, checkpoints, one accuracy -----------------------------------------------

def test_train_init_continues_a_checkpoint_and_keeps_its_provenance(
        tmp_path, capsys, small_dataset):
    first, second = tmp_path / 'first.npz', tmp_path / 'second.npz'
    common = ['--dataset', str(small_dataset), '--epochs', '1', '--quiet']
    assert train.main(['--neurons', '20', '--timesteps', '40', '--out', str(first),
                       *common]) == 0
    net1, _, meta1 = load_checkpoint(first)
    assert train.main(['--init', str(first), '--out', str(second), *common]) == 0
    net2, readout2, meta2 = load_checkpoint(second)
    assert net2.config == net1.config                           # the base configuration kept
    assert net2.samples_seen > net1.samples_seen                # learned on from there
    assert not np.array_equal(net2.weights, net1.weights) and readout2.labelled
    assert meta2['training'] == 'online' and meta2['init'] == str(first)
    assert meta2['init_metadata'] == meta1 and meta1['training'] == 'scratch'
    assert train.main(['--init', str(first), '--neurons', '30', '--out', str(second),
                       *common]) == 2
    assert '--init' in error_line(capsys)


def test_training_in_another_mode_than_the_profile_warns(tmp_path, capsys, small_dataset):
    write_profile(tmp_path, 20, 40, (40, 20), training='online')
    base = tmp_path / 'base.npz'
    common = ['--dataset', str(small_dataset), '--epochs', '1', '--quiet']
    assert train.main(['--profile', str(tmp_path), '--timesteps', '20', '--out', str(base),
                       *common]) == 0
    err = capsys.readouterr().err
    assert 'warning:' in err and 'tuned for training online' in err and 'from scratch' in err
    assert train.main(['--init', str(base), '--profile', str(tmp_path), '--timesteps', '20',
                       '--out', str(tmp_path / 'online.npz'), *common]) == 0
    assert 'warning' not in capsys.readouterr().err             # the profile's own mode
    assert '--init' in train.build_parser().format_help()


def test_train_checkpoints_every_epoch_and_resumes(tmp_path, monkeypatch, small_dataset):
    out = tmp_path / 'm.npz'
    calls = []
    real_train = train.train

    def interrupted_in_epoch_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(train, 'train', interrupted_in_epoch_two)
    args = ['--dataset', str(small_dataset), '--neurons', '20', '--timesteps', '40',
            '--quiet', '--out', str(out)]
    assert train.main([*args, '--epochs', '3']) == 130
    network, readout, meta = load_checkpoint(out)               # epoch one was kept
    assert meta['epochs_done'] == 1 and meta['complete'] is False
    assert network.samples_seen == len(from_npz(small_dataset).train_labels)   # one epoch
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]
    monkeypatch.undo()
    assert train.main(['--init', str(out), '--dataset', str(small_dataset), '--epochs', '2',
                       '--quiet', '--out', str(out)]) == 0
    assert load_checkpoint(out)[2]['complete'] is True


def test_train_and_evaluate_print_the_same_accuracy(tmp_path, small_dataset):
    model = tmp_path / 'm.npz'
    assert train.main(['--dataset', str(small_dataset), '--neurons', '30', '--timesteps', '60',
                       '--epochs', '1', '--out', str(model), '--quiet']) == 0
    trained = json.loads(model.with_suffix('.json').read_text())
    result = tmp_path / 'r.json'
    assert evaluate.main(['--model', str(model), '--dataset', str(small_dataset), '--out',
                          str(result), '--quiet']) == 0
    evaluated = json.loads(result.read_text())
    assert evaluated['accuracy'] == trained['accuracy']
    assert evaluated['confusion'] == trained['test']['confusion']
    assert evaluated['differs_from_training_because'] == []


def test_train_with_a_profile_saves_the_base_configuration(tmp_path, small_dataset):
    write_profile(tmp_path, 20, 40, (40, 20))
    prof = yaml.safe_load((tmp_path / 'profile.yaml').read_text())
    prof['entries'][1]['params'] = {'excitatory.v_thresh_mv': -53.0}
    (tmp_path / 'profile.yaml').write_text(yaml.safe_dump(prof, sort_keys=False))
    model = tmp_path / 'm.npz'
    assert train.main(['--profile', str(tmp_path), '--timesteps', '20', '--epochs', '1',
                       '--dataset', str(small_dataset), '--out', str(model), '--quiet']) == 0
    network, _, meta = load_checkpoint(model)
    assert network.config.timesteps == 40 and network.config.excitatory.v_thresh_mv == -52.0
    assert meta['timesteps'] == 20 and meta['profile_params'] == {
        'excitatory.v_thresh_mv': -53.0}
    result = tmp_path / 'r.json'
    assert evaluate.main(['--model', str(model), '--profile', str(tmp_path), '--timesteps',
                          '20', '--dataset', str(small_dataset), '--out', str(result),
                          '--quiet']) == 0
    trained = json.loads(model.with_suffix('.json').read_text())
    assert json.loads(result.read_text())['accuracy'] == trained['accuracy']


# -- one-line errors before the work -------------------------------------------------------

def test_unusable_outputs_and_sizes_are_refused_before_training(
        tmp_path, capsys, small_dataset):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    data = ['--dataset', str(small_dataset), '--quiet']
    cases = [
        (['--out', str(blocker / 'm.npz')], '--out'),                  # under a file
        (['--out', str(tmp_path)], '--out'),                             # a directory
        (['--out', str(tmp_path / 'm.npz'), '--neurons', '10000000'], 'GiB'),
        (['--out', str(tmp_path / 'm.npz'), '--timesteps', '100000000000'], 'GiB'),
        (['--out', str(tmp_path / 'm.npz'), '--epochs', '-1'], '--epochs'),
        (['--out', str(tmp_path / 'm.npz'), '--metrics', str(tmp_path)], '--metrics'),
    ]
    for argv, expected in cases:
        assert train.main([*data, *argv]) == 2, argv
        assert expected in error_line(capsys), argv
    assert evaluate.main(['--model', str(MODEL), '--out', str(tmp_path), *data]) == 2
    assert '--out' in error_line(capsys)


def test_profile_checks_the_grid_and_flags_before_the_sweep(tmp_path, capsys):
    out = tmp_path / 'p'
    assert profile_cli.main(['--quick', '--timesteps', '150', '50', '--out', str(out),
                             '--quiet']) == 2
    line = error_line(capsys)
    assert '--timesteps [150] exceed T0 = 100' in line
    assert not (out / 'points').exists()                       # nothing ran
    assert profile_cli.main(['--quick', '--workers', '0', '--out', str(out)]) == 2
    assert '--workers must be >= 1' in error_line(capsys)
    existing = tmp_path / 'file'
    existing.write_text('x')
    assert profile_cli.main(['--quick', '--out', str(existing)]) == 2
    line = error_line(capsys)
    assert '--out' in line and 'existing file' in line
    assert profile_cli.main(['--neurons', '10000000', '--out', str(out)]) == 2
    assert 'GiB' in error_line(capsys)


def test_a_second_sweep_on_a_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / 'p'
    out.mkdir()
    with open(out / '.sweep.lock', 'w') as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.write('4242\n')
        holder.flush()
        assert profile_cli.main(['--quick', '--out', str(out), '--quiet']) == 2
    line = error_line(capsys)
    assert 'pid 4242' in line and str(out) in line
    assert not (out / 'points').exists()


def test_a_folder_with_other_settings_is_refused(tmp_path, capsys):
    out = write_profile(tmp_path / 'p', 30, 100, (100, 50))       # as a --quick sweep
    before = (out / 'profile.yaml').read_text()
    assert profile_cli.main(['--quick', '--neurons', '20', '--out', str(out), '--quiet']) == 2
    line = error_line(capsys)
    assert 'other settings' in line and 'n_neurons: 30 there, 20 here' in line
    assert (out / 'profile.yaml').read_text() == before
    assert not (out / 'points').exists()


# -- datasets ------------------------------------------------------------------------------

def test_datasets_are_checked_when_loaded(tmp_path):
    from topspark_ros.datasets import DatasetError

    images = (np.arange(40 * 4 * 4) % 256).reshape(40, 4, 4).astype(np.uint8)
    labels = np.arange(40) % 4
    reference = from_npz(_npz(tmp_path / 'u8.npz', images=images, labels=labels))
    as_int16 = from_npz(_npz(tmp_path / 'i16.npz', images=images.astype(np.int16),
                             labels=labels))
    assert as_int16.train_images.dtype == np.uint8            # 0..255 held in int16: as is
    assert np.array_equal(as_int16.train_images, reference.train_images)
    as_float = from_npz(_npz(tmp_path / 'f255.npz', images=images.astype(np.float32),
                             labels=labels))
    assert np.allclose(as_float.train_images * 255, reference.train_images)  # 0..255 floats
    unit = from_npz(_npz(tmp_path / 'f1.npz', images=images / 255.0, labels=labels))
    assert np.allclose(unit.train_images, as_float.train_images)            # 0..1 floats
    bad = {
        'counts.npz': (dict(images=images, labels=labels[:-3]),
                       'labels: needs one label per image'),
        'u16.npz': (dict(images=images.astype(np.uint16) * 200, labels=labels),
                    'images: uint16 values must be 8-bit intensities 0..255'),
        'nan.npz': (dict(images=np.full((40, 4, 4), np.nan), labels=labels), 'NaN'),
        'neg.npz': (dict(images=images.astype(np.float64) - 1, labels=labels), '[0, 1] or'),
        'frac.npz': (dict(images=images, labels=labels + 0.5), 'whole numbers'),
        'few.npz': (dict(train_images=images[:1], train_labels=labels[:1],
                         test_images=images[:5], test_labels=labels[:5]),
                    'train_images: too few samples'),
        'classes.npz': (dict(train_images=images[:8], train_labels=np.zeros(8, int),
                             test_images=images[:8], test_labels=labels[:8]),
                        'classes [1, 2, 3] are in the test split'),
        'shape.npz': (dict(images=images.reshape(40, 16), labels=labels), '(n, height, width)'),
    }
    for name, (arrays, message) in bad.items():
        with pytest.raises(DatasetError) as info:
            from_npz(_npz(tmp_path / name, **arrays))
        assert name in str(info.value) and message in str(info.value), name


def test_labels_beyond_the_networks_classes_are_refused_before_training(
        tmp_path, capsys, mnist):
    path = _npz(tmp_path / 'eleven.npz', images=mnist.train_images[:60],
                labels=np.arange(60) % 12)
    out = tmp_path / 'm.npz'
    assert train.main(['--dataset', str(path), '--neurons', '20', '--timesteps', '20',
                       '--out', str(out), '--quiet']) == 2
    line = error_line(capsys)
    assert 'label 11' in line and 'n_classes=10' in line and 'n_classes >= 12' in line
    assert not out.exists()


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_the_memory_estimate_counts_the_dataset(monkeypatch, capsys, tmp_path, small_dataset):
    from topspark_ros.cli import common

    config = NetworkConfig()
    alone = common.network_memory_bytes(config, 350)
    with_data = common.network_memory_bytes(config, 350, samples=1000)
    assert with_data - alone == 1000 * (8 * 784 + 4 * 400)
    monkeypatch.setattr(common, 'available_memory_bytes', lambda: alone + 1)
    assert train.main(['--dataset', str(small_dataset), '--out', str(tmp_path / 'm.npz'),
                       '--quiet']) == 2
    line = error_line(capsys)
    assert f'with {len(np.load(small_dataset)["labels"])} samples' in line and 'GiB' in line
    assert not (tmp_path / 'm.npz').exists()
