# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The kernels' parameters: a ``NetworkConfig`` in per-step units, as one named record.

    decay_mem        = exp(-dt / tau_mem)          membrane decay per step (excitatory)
    inh_decay        = exp(-dt / inh_tau_mem)      membrane decay per step (inhibitory)
    decay_pre/post   = exp(-dt / tau_trace)        STDP trace decay per step
    theta_decay_step = exp(-dt / tau_theta)        threshold decay per step (while learning)
    *_steps          = round(time_ms / dt)         refractory periods, inhibition delay

The record is a one-element numpy structured array (``PARAMS_DTYPE``): the kernels read its
fields by name (``p = params[0]; p.v_rest``). Not a ``NamedTuple``, which reads the same inside
the kernels but which Numba types field by field in Python on every call: the perception node
makes one kernel call per frame, and one frame per call took 2-3 us longer with a 27-field
named tuple (N100 and N400 at T = 50, about 17 -> 19.5 and 24.5 -> 27 us per call; batches of
2,000 samples, ``benchmarks/bench_engine.py``, showed no difference either way).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import NetworkConfig

RULE_PAIR = 0
RULE_WEIGHT_DEPENDENT = 1
RULE_ADAPTIVE = 2
RULE_CODES = {'pair': RULE_PAIR, 'weight_dependent': RULE_WEIGHT_DEPENDENT,
              'adaptive': RULE_ADAPTIVE}

PARAMS_DTYPE = np.dtype([
    # excitatory LIF neurons
    ('v_rest', np.float64),
    ('v_reset', np.float64),
    ('v_thresh', np.float64),
    ('decay_mem', np.float64),              # exp(-dt / tau_mem)
    ('refrac_steps', np.int64),
    ('theta_plus', np.float64),
    ('theta_decay_step', np.float64),       # exp(-dt / tau_theta)
    # lateral inhibition
    ('direct_inhibition', np.bool_),        # False: inhibitory layer, True: direct
    ('exc_to_inh', np.float64),
    ('inh_to_exc', np.float64),
    ('inh_v_rest', np.float64),
    ('inh_v_reset', np.float64),
    ('inh_v_thresh', np.float64),
    ('inh_decay', np.float64),              # exp(-dt / inh_tau_mem)
    ('inh_refrac_steps', np.int64),
    ('direct_mv', np.float64),
    ('direct_delay_steps', np.int64),
    # STDP
    ('rule', np.int64),                     # RULE_PAIR, RULE_WEIGHT_DEPENDENT, RULE_ADAPTIVE
    ('nu_pre', np.float64),
    ('nu_post', np.float64),
    ('decay_pre', np.float64),              # exp(-dt / tau_pre_trace)
    ('decay_post', np.float64),
    ('w_min', np.float64),
    ('w_max', np.float64),
    ('norm_total', np.float64),             # column sum after a sample (<= 0: off)
    # input
    ('regular_coding', np.bool_),           # False: Poisson, True: regular (phase-shifted rate)
    ('event_keep', np.float64),             # fraction of events kept (event thinning)
])


def pack_params(config: NetworkConfig) -> np.ndarray:
    """The configuration as the record the kernels read (steps, not ms)."""
    ex, inh, ln, dt = config.excitatory, config.inhibition, config.learning, config.dt_ms
    p = np.zeros(1, PARAMS_DTYPE)
    p['v_rest'] = ex.v_rest_mv
    p['v_reset'] = ex.v_reset_mv
    p['v_thresh'] = ex.v_thresh_mv
    p['decay_mem'] = math.exp(-dt / ex.tau_mem_ms)
    p['refrac_steps'] = round(ex.refractory_ms / dt)
    p['theta_plus'] = ex.theta_plus_mv
    p['theta_decay_step'] = math.exp(-dt / ex.tau_theta_ms)
    p['direct_inhibition'] = inh.variant == 'direct'
    p['exc_to_inh'] = inh.exc_to_inh_mv
    p['inh_to_exc'] = inh.inh_to_exc_mv
    p['inh_v_rest'] = inh.inh_v_rest_mv
    p['inh_v_reset'] = inh.inh_v_reset_mv
    p['inh_v_thresh'] = inh.inh_v_thresh_mv
    p['inh_decay'] = math.exp(-dt / inh.inh_tau_mem_ms)
    p['inh_refrac_steps'] = round(inh.inh_refractory_ms / dt)
    p['direct_mv'] = inh.direct_mv
    p['direct_delay_steps'] = max(1, round(inh.direct_delay_ms / dt))
    p['rule'] = RULE_CODES[ln.rule]
    p['nu_pre'] = ln.nu_pre
    p['nu_post'] = ln.nu_post
    p['decay_pre'] = math.exp(-dt / ln.tau_pre_trace_ms)
    p['decay_post'] = math.exp(-dt / ln.tau_post_trace_ms)
    p['w_min'] = ln.w_min
    p['w_max'] = ln.w_max
    p['norm_total'] = ln.norm_total
    p['regular_coding'] = config.input_coding == 'regular'
    p['event_keep'] = config.event_keep_fraction
    return p
