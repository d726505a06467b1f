# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Numba kernels: the Diehl & Cook network, event-driven, for inference and STDP.

One module per concern, each naming the equations it implements:

    rng            splitmix64, per-sample seeds, binomial draws
    coding         frames -> input spikes (Poisson or regular rate code), as CSR
    events         event-camera samples -> input spikes: binning, thinning, checks
    dynamics       one sample: LIF neurons, lateral inhibition, traces, STDP, op counts
    normalisation  per-neuron weight normalisation after learning
    params         NetworkConfig -> the per-step parameter record the kernels read
    arrays         buffer growth for Numba code (also used by the DVS emulator)
    batch          the calls from Python: a batch of frames or of event samples, warm-up

Why it is fast: the work follows spikes, not pixels x timesteps (docs/model.md). Batches of
frames (``run_rates``) and of event samples (``run_events``) run in one call each.
"""

from ..ops import N_OPS, OP_NAMES
from .arrays import grow
from .batch import run_events, run_rates, warm_up
from .coding import poisson_spike_train, regular_spike_train, spike_buffers, SpikeBuffers
from .dynamics import scratch, simulate, simulate_in, Work
from .events import (bin_events_csr, first_bad_event, kept_events, sorted_events_csr,
                     thinning_phase)
from .normalisation import normalize_column, normalize_columns
from .params import (pack_params, PARAMS_DTYPE, RULE_ADAPTIVE, RULE_PAIR,
                     RULE_WEIGHT_DEPENDENT)
from .rng import sample_seeds, splitmix64

__all__ = [
    'N_OPS', 'OP_NAMES', 'PARAMS_DTYPE', 'RULE_ADAPTIVE', 'RULE_PAIR',
    'RULE_WEIGHT_DEPENDENT', 'SpikeBuffers', 'Work', 'bin_events_csr', 'first_bad_event',
    'grow', 'kept_events', 'normalize_column', 'normalize_columns', 'pack_params',
    'poisson_spike_train', 'regular_spike_train', 'run_events', 'run_rates', 'sample_seeds',
    'scratch', 'simulate', 'simulate_in', 'sorted_events_csr', 'spike_buffers', 'splitmix64',
    'thinning_phase', 'warm_up',
]
