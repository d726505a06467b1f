# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-train and topspark-evaluate as a user runs them, on a small .npz dataset."""

import json

import numpy as np
import pytest

from topspark_ros.cli import evaluate, train
from topspark_ros.datasets import from_npz


@pytest.fixture
def small_dataset(tmp_path, mnist):
    path = tmp_path / 'digits.npz'
    np.savez(path, images=mnist.train_images[:400], labels=mnist.train_labels[:400])
    return path


def test_train_then_evaluate(tmp_path, small_dataset):
    model = tmp_path / 'out' / 'model.npz'
    rc = train.main(['--dataset', str(small_dataset), '--neurons', '30', '--timesteps', '100',
                     '--epochs', '1', '--rule', 'weight_dependent', '--inhibition', 'direct',
                     '--seed', '2', '--out', str(model), '--quiet'])
    assert rc == 0 and model.is_file()
    n_test = len(from_npz(small_dataset).test_labels)
    metrics = json.loads(model.with_suffix('.json').read_text())
    assert metrics['config']['learning']['rule'] == 'weight_dependent'
    assert metrics['samples'] == n_test and 0.0 <= metrics['accuracy'] <= 1.0
    result = tmp_path / 'result.json'
    rc = evaluate.main(['--model', str(model), '--dataset', str(small_dataset), '--timesteps',
                        '50', '--out', str(result), '--quiet'])
    assert rc == 0
    data = json.loads(result.read_text())
    assert data['samples'] == n_test and data['timesteps'] == 50 and data['seconds'] > 0
    assert np.array(data['confusion']).sum() == n_test
    assert result.with_suffix('.png').stat().st_size > 1000


def test_user_errors_exit_2_with_a_message(tmp_path, capsys, small_dataset):
    assert evaluate.main(['--model', str(tmp_path / 'missing.npz'), '--out',
                          str(tmp_path / 'r.json')]) == 2
    assert 'missing.npz: checkpoint file not found' in capsys.readouterr().err
    assert train.main(['--dataset', 'imagenet', '--out', str(tmp_path / 'm.npz')]) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err
    assert train.main(['--dataset', str(small_dataset), '--neurons', '0',
                       '--out', str(tmp_path / 'm.npz')]) == 2
    assert '--neurons must be >= 1' in capsys.readouterr().err
