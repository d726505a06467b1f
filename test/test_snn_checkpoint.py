# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints: round trip, atomic replacement, and a clear error for each bad file."""

import os

import numpy as np
import pytest

from topspark_ros.snn import (CheckpointError, Network, NetworkConfig, Readout, load_checkpoint,
                              save_checkpoint)
from topspark_ros.snn import checkpoint as ckpt


@pytest.fixture
def trained():
    cfg = NetworkConfig(n_neurons=12, seed=5)
    net = Network(cfg)
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 8:20] = 255
    counts, _ = net.run_batch(np.stack([img, img.T]), 100, learn=True)
    readout = Readout(12, 10)
    readout.observe(counts, np.array([3, 7]))
    return net, readout


def test_round_trip(tmp_path, trained):
    net, readout = trained
    path = save_checkpoint(tmp_path / 'm.npz', net, readout, {'note': 'x'})
    net2, readout2, meta = load_checkpoint(path)
    assert net2.config == net.config
    np.testing.assert_array_equal(net2.weights, net.weights)
    np.testing.assert_array_equal(net2.theta, net.theta)
    np.testing.assert_array_equal(readout2.assignments, readout.assignments)
    assert net2.samples_seen == net.samples_seen and meta == {'note': 'x'}
    with np.load(path, allow_pickle=False) as data:        # readable without pickle
        assert int(data['format_version']) == ckpt.FORMAT_VERSION


def test_crash_during_write_keeps_previous_checkpoint(tmp_path, trained, monkeypatch):
    net, readout = trained
    path = save_checkpoint(tmp_path / 'm.npz', net, readout)
    before = path.read_bytes()

    def crash(handle, **arrays):
        handle.write(b'PK\x03\x04partial')
        raise OSError('disk full')

    monkeypatch.setattr(ckpt.np, 'savez', crash)
    with pytest.raises(OSError, match='disk full'):
        save_checkpoint(path, net, readout)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['m.npz']                # no temporary file left behind


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match='nope.npz: checkpoint file not found'):
        load_checkpoint(tmp_path / 'nope.npz')


def test_corrupt_and_truncated_files(tmp_path, trained):
    net, readout = trained
    good = save_checkpoint(tmp_path / 'good.npz', net, readout).read_bytes()
    corrupt = tmp_path / 'corrupt.npz'
    corrupt.write_bytes(b'this is not a zip file at all')
    with pytest.raises(CheckpointError, match='corrupt.npz: corrupt or truncated'):
        load_checkpoint(corrupt)
    truncated = tmp_path / 'truncated.npz'
    truncated.write_bytes(good[:len(good) // 2])
    with pytest.raises(CheckpointError, match='truncated.npz: corrupt or truncated'):
        load_checkpoint(truncated)


def test_foreign_and_mismatched_files(tmp_path, trained):
    net, readout = trained
    foreign = tmp_path / 'foreign.npz'
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match='not a topspark_ros checkpoint'):
        load_checkpoint(foreign)
    path = save_checkpoint(tmp_path / 'm.npz', net, readout)
    with pytest.raises(CheckpointError, match='expected 400'):
        load_checkpoint(path, expect=NetworkConfig(n_neurons=400))
    with np.load(path) as data:
        arrays = dict(data)
    arrays['format_version'] = np.array(99)
    np.savez(tmp_path / 'future.npz', **arrays)
    with pytest.raises(CheckpointError, match='format version 99'):
        load_checkpoint(tmp_path / 'future.npz')
    arrays['format_version'] = np.array(ckpt.FORMAT_VERSION)
    arrays['weights'] = np.zeros((3, 3), np.float32)
    np.savez(tmp_path / 'shape.npz', **arrays)
    with pytest.raises(CheckpointError, match='do not match'):
        load_checkpoint(tmp_path / 'shape.npz')


def test_checkpoint_must_be_npz(tmp_path, trained):
    with pytest.raises(CheckpointError, match='.npz'):
        save_checkpoint(tmp_path / 'm.pt', trained[0])
