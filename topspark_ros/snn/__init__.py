# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Spiking neural network core: the Diehl & Cook (2015) network with online STDP, in Numba.

No ROS in here: scripts, notebooks, benchmarks and the ROS nodes all use these names.

    from topspark_ros.snn import NetworkConfig, Network, Readout
    net = Network(NetworkConfig(n_neurons=100))
    counts, ops = net.run_batch(train_images, timesteps=350, learn=True)
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import (ConfigError, ExcitatoryParams, InhibitionParams, LearningParams,
                     NetworkConfig, replace_params)
from .encoding import (EncodingError, SpikeTrain, bin_events, image_to_rates, poisson_encode,
                       rates_to_probability, to_intensity)
from .kernels.params import pack_params
from .network import Network, OpCounts, SampleResult
from .readout import Readout, accuracy, confusion_matrix

__all__ = [
    'CheckpointError', 'ConfigError', 'EncodingError', 'ExcitatoryParams', 'InhibitionParams',
    'LearningParams', 'Network', 'NetworkConfig', 'OpCounts', 'Readout', 'SampleResult',
    'SpikeTrain', 'accuracy', 'bin_events', 'confusion_matrix', 'image_to_rates',
    'load_checkpoint', 'pack_params', 'poisson_encode', 'rates_to_probability', 'replace_params',
    'save_checkpoint', 'to_intensity',
]
