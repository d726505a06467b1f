# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: small hand-made networks and spike trains for exact tests."""

import numpy as np
import pytest

from topspark_ros.snn import (ExcitatoryParams, InhibitionParams, LearningParams, NetworkConfig,
                              SpikeTrain)


def spike_train(spikes: dict[int, list[int]], timesteps: int) -> SpikeTrain:
    """CSR input spikes from {input index: [steps]}."""
    per_step = [[] for _ in range(timesteps)]
    for i, steps in spikes.items():
        for t in steps:
            per_step[t].append(i)
    step_ptr = np.zeros(timesteps + 1, np.int32)
    step_ptr[1:] = np.cumsum([len(s) for s in per_step])
    indices = np.array([i for s in per_step for i in sorted(s)], np.int32)
    return SpikeTrain(step_ptr, indices, timesteps)


def tiny_config(n_inputs: int = 2, n_neurons: int = 1, **groups) -> NetworkConfig:
    """A network without inhibition, theta or normalisation unless a test asks for them."""
    return NetworkConfig(
        n_neurons=n_neurons, input_shape=(1, n_inputs), timesteps=20,
        excitatory=groups.get('excitatory', ExcitatoryParams(theta_plus_mv=0.0)),
        inhibition=groups.get('inhibition', InhibitionParams(variant='direct', direct_mv=0.0)),
        learning=groups.get('learning', LearningParams(norm_total=0.0)))


@pytest.fixture(scope='session')
def mnist():
    from topspark_ros.datasets import mnist_5k

    return mnist_5k()
