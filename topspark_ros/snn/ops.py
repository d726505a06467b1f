# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Operation counts: the one list of what the kernels count per sample, in column order.

The kernels write one row of ``N_OPS`` int64 counts per sample (``ops[s, OP_*]``); ``OpCounts``,
the energy model and the sweep's records read them by these names.
"""

OP_NAMES = ('input_spikes', 'exc_spikes', 'inh_spikes', 'synaptic_events', 'neuron_updates',
            'weight_updates', 'timesteps')
N_OPS = len(OP_NAMES)

# Column of each count in a sample's row (the kernels index by these).
OP_INPUT_SPIKES = OP_NAMES.index('input_spikes')
OP_EXC_SPIKES = OP_NAMES.index('exc_spikes')
OP_INH_SPIKES = OP_NAMES.index('inh_spikes')
OP_SYNAPTIC_EVENTS = OP_NAMES.index('synaptic_events')
OP_NEURON_UPDATES = OP_NAMES.index('neuron_updates')
OP_WEIGHT_UPDATES = OP_NAMES.index('weight_updates')
OP_TIMESTEPS = OP_NAMES.index('timesteps')
