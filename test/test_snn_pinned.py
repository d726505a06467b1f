# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Pinned outputs: what the kernels compute, for fixed seeds, hashed.

The digests were computed before the kernels were split into a package and given named
parameters (commit 8746192): a refactor that changes any spike count, operation count, weight
or threshold bit fails here. A change meant to alter results must update these digests (the
sweep cache is keyed by a hash of the code it depends on, so it follows by itself).
"""

import hashlib

import numpy as np
import pytest

from topspark_ros.snn import (InhibitionParams, LearningParams, Network, NetworkConfig,
                              bin_events, poisson_encode)
from topspark_ros.snn.encoding import event_input_index
from topspark_ros.snn.network import sample_seeds


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


CONFIGS = {
    'layer-pair-poisson': NetworkConfig(n_neurons=40, seed=3),
    'direct-weight_dependent-regular': NetworkConfig(
        n_neurons=40, seed=4, input_coding='regular',
        inhibition=InhibitionParams(variant='direct', direct_delay_ms=3.0),
        learning=LearningParams(rule='weight_dependent')),
    'layer-adaptive-poisson': NetworkConfig(
        n_neurons=25, seed=5, learning=LearningParams(rule='adaptive', nu_pre=1e-3)),
}

FRAME_DIGESTS = {
    'direct-weight_dependent-regular': 'b50fbb97fec72f43',
    'layer-adaptive-poisson': '46c4ecc208ccf031',
    'layer-pair-poisson': 'da946dc26250343b',
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_frames_train_and_infer_as_pinned(mnist, name):
    net = Network(CONFIGS[name])
    train_counts, train_ops = net.run_batch(mnist.train_images[:40], 60, learn=True)
    test_counts, test_ops = net.run_batch(mnist.test_images[:20], 30)
    assert train_counts.sum() > 0 and test_counts.sum() > 0
    assert digest(train_counts, train_ops, test_counts, test_ops, net.weights,
                  net.theta) == FRAME_DIGESTS[name]


EVENT_DIGESTS = {
    (False, 0.6): '1d53a8bbf5b66317',
    (True, 0.6): '2129bf447967369b',
    (True, 1.0): 'b5b4cc14dd9b7bf3',
}


@pytest.mark.parametrize('time_sorted, keep', sorted(EVENT_DIGESTS))
def test_events_train_and_infer_as_pinned(time_sorted, keep):
    """Synthetic events (time-ordered or shuffled within each sample), thinned or not,
    through the batch kernel with learning and without."""
    rng = np.random.default_rng(7)
    sizes = rng.integers(50, 400, 12)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    x = rng.integers(-1, 29, offsets[-1])
    y = rng.integers(0, 28, offsets[-1])
    t = np.concatenate([np.sort(rng.random(n)) * 0.3 for n in sizes])
    if not time_sorted:
        t = np.concatenate([rng.permutation(t[a:b]) for a, b in zip(offsets, offsets[1:])])
    index = event_input_index(x, y, (28, 28), (28, 28))
    net = Network(NetworkConfig(n_neurons=30, seed=9, event_keep_fraction=keep))
    results = []
    for learn in (True, False):
        results += net.run_events(index, t, offsets, (0.0, 0.25), 40, learn, time_sorted)
    assert results[0].sum() > 0
    assert digest(*results, net.weights, net.theta) == EVENT_DIGESTS[(time_sorted, keep)]


def test_encoders_as_pinned():
    rng = np.random.default_rng(1)
    rates = rng.random(300) * 80.0
    poisson = poisson_encode(rates, 50, 1.0, 123)
    events = bin_events(rng.integers(0, 34, 500), rng.integers(0, 34, 500), rng.random(500),
                        None, (34, 34), (28, 28), 20, keep_fraction=0.7, seed=77)
    seeds = sample_seeds(5, 10, 8)
    assert digest(poisson.step_ptr, poisson.indices, events.step_ptr, events.indices,
                  seeds) == 'bb959634ea3cc49f'
