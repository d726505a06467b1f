# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Network dynamics: one sample of the Diehl & Cook network, event-driven, for inference and
STDP (dt = 1 step, potentials in mV, see docs/model.md):

    excitatory LIF   v <- v_rest + (v - v_rest) * exp(-dt / tau_mem) + I(t)       (not refractory)
                     spike when v >= v_thresh + theta;  v <- v_reset;  refractory for t_ref
    input current    I(t) = sum_{i spiking at t} W[i, :]  -  lateral inhibition arriving at t
    inhibitory LIF   same form, driven one-to-one by excitatory spikes (exc_to_inh, 1 step delay),
                     inhibits every other excitatory neuron by inh_to_exc one step later
    direct variant   each excitatory spike inhibits every other one by direct_mv, after a delay
    traces           x(t) = exp(-(t - t_last_spike) / tau_trace)   (jumps to 1 on a spike)
    STDP pair        pre spike i:   W[i, j] -= nu_pre  * x_post[j]
                     post spike j:  W[i, j] += nu_post * x_pre[i]
    weight-dependent depression scaled by (W - w_min), potentiation by (w_max - W)
    adaptive         potentiation of neuron j scaled by n_j / max_k n_k (spikes so far this sample)
    theta            theta_j += theta_plus per spike while learning; decays with tau_theta
    op counts        synaptic events = input spikes x N + lateral deliveries;
                     neuron updates = N x T (x 2 with the inhibitory layer)

Why it is fast: the work follows spikes, not neurons x timesteps. Each input spike adds one
weight row; steps without any input are skipped with a closed-form decay; traces are evaluated
from the last spike time; STDP touches only synapses whose partner has spiked in this sample;
renormalisation only visits columns that changed. ``simulate_in`` stays one function: split
into helper functions it ran about 2x slower under Numba (docs/topspark.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..ops import (OP_EXC_SPIKES, OP_INH_SPIKES, OP_INPUT_SPIKES, OP_NEURON_UPDATES,
                   OP_SYNAPTIC_EVENTS, OP_TIMESTEPS, OP_WEIGHT_UPDATES)
from .arrays import grow
from .normalisation import normalize_columns
from .params import RULE_ADAPTIVE, RULE_WEIGHT_DEPENDENT

NEVER = -(1 << 40)          # "last spike time" of a neuron that has not spiked in this sample


class Work(NamedTuple):
    """``simulate_in``'s working arrays for one network size and T (``scratch``): decay
    tables, then per-neuron and per-input state, at rest between samples."""

    timesteps: int
    decay_mem: np.ndarray       # float32 (T + 1,): membrane decay over k steps, k = 0..T
    decay_pre: np.ndarray       # float32 (T + 1,): presynaptic trace k steps after a spike
    decay_post: np.ndarray      # float32 (T + 1,): postsynaptic trace k steps after a spike
    inh_decay: np.ndarray       # float32 (T + 2,): inhibitory membrane decay over k steps
    v: np.ndarray               # float32 (n_exc,): excitatory potentials
    thresh: np.ndarray          # float32 (n_exc,): v_thresh + theta
    refrac_end: np.ndarray      # int64 (n_exc,): first step after the refractory period
    last_post: np.ndarray       # int64 (n_exc,): last spike step, NEVER at rest
    last_pre: np.ndarray        # int64 (n_in,): last input spike step, NEVER at rest
    active_pre: np.ndarray      # int32 (n_in,): inputs that spiked in this sample
    active_post: np.ndarray     # int32 (n_exc,): neurons that spiked in this sample
    inh_v: np.ndarray           # float64 (n_exc,): inhibitory potentials
    inh_t: np.ndarray           # int64 (n_exc,): step inh_v was last updated at
    inh_refrac_end: np.ndarray  # int64 (n_exc,): end of each inhibitory refractory period
    inh_total: np.ndarray       # float32 (T + delay + 1,): inhibition arriving per step
    refrac_ids: np.ndarray      # int32 (n_exc,): neurons refractory in the current step
    refrac_v: np.ndarray        # float32 (n_exc,): their decayed potentials
    spiked: np.ndarray          # int32 (n_exc,): neurons spiking in the current step
    self_step: np.ndarray       # int64 (64, grown per sample): arrival of inhibition in flight
    self_id: np.ndarray         # int32 (64, grown per sample): its sender, which it spares
    pre_trace: np.ndarray       # float32 (n_in,): traces of active_pre in the current step
    depression: np.ndarray      # float32 (n_exc,): depression factor of each active neuron


@njit(cache=True)
def powers(base, n):
    """base ** k for k = 0..n as float32, by repeated multiplication (the decay tables)."""
    out = np.empty(n + 1, np.float32)
    x = 1.0
    for k in range(n + 1):
        out[k] = x
        x *= base
    return out


@njit(cache=True, nogil=True)
def simulate(w, theta, step_ptr, indices, timesteps, params, learn, counts, ops):
    """Run one sample for ``timesteps`` steps; write spike counts per neuron and operation counts.

    ``w`` (inputs x neurons, float32) and ``theta`` (float32) are updated in place when ``learn``.
    State (potentials, traces, refractoriness) starts fresh; thresholds persist across samples.
    ``params``: ``pack_params``' record array. A batch makes its ``scratch`` once and calls
    ``simulate_in`` per sample.
    """
    p = params[0]
    simulate_in(w, theta, step_ptr, indices, p, learn, counts, ops,
                scratch(w.shape[0], w.shape[1], timesteps, p))


@njit(cache=True, nogil=True)
def scratch(n_in, n_exc, timesteps, p):
    """The working arrays (``Work``) of ``simulate_in`` for one network size, T and parameters
    ``p``: decay tables, then per-neuron and per-input state at rest. Made once per batch
    instead of per sample (N100 frames, inference: 11.5 -> 11.3 us per sample at T = 50,
    48.7 -> 47.2 at T = 350). Every sample leaves the state arrays at rest again."""
    T = timesteps
    inh_delay = p.direct_delay_steps if p.direct_inhibition else 2
    return Work(T, powers(p.decay_mem, T), powers(p.decay_pre, T), powers(p.decay_post, T),
                powers(p.inh_decay, T + 1),
                np.empty(n_exc, np.float32),            # v
                np.empty(n_exc, np.float32),            # thresh
                np.zeros(n_exc, np.int64),              # refrac_end
                np.full(n_exc, NEVER, np.int64),        # last_post
                np.full(n_in, NEVER, np.int64),         # last_pre
                np.empty(n_in, np.int32),               # active_pre
                np.empty(n_exc, np.int32),              # active_post
                np.full(n_exc, p.inh_v_rest),           # inh_v
                np.zeros(n_exc, np.int64),              # inh_t
                np.zeros(n_exc, np.int64),              # inh_refrac_end
                np.zeros(T + inh_delay + 1, np.float32),  # inh_total
                np.empty(n_exc, np.int32),              # refrac_ids
                np.empty(n_exc, np.float32),            # refrac_v
                np.empty(n_exc, np.int32),              # spiked
                np.empty(64, np.int64),                 # self_step
                np.empty(64, np.int32),                 # self_id
                np.empty(n_in, np.float32),             # pre_trace
                np.empty(n_exc, np.float32))            # depression


@njit(cache=True, nogil=True)
def simulate_in(w, theta, step_ptr, indices, p, learn, counts, ops, work):
    """``simulate`` with the parameters ``p`` (a ``PARAMS_DTYPE`` record) and the working
    arrays ``work`` of ``scratch(n_in, n_exc, timesteps, p)``, which it leaves at rest for the
    next sample; the sample has ``work.timesteps`` steps."""
    n_in, n_exc = w.shape
    T = work.timesteps
    v_rest = np.float32(p.v_rest)
    v_reset = np.float32(p.v_reset)
    v_thresh = np.float32(p.v_thresh)
    refrac = p.refrac_steps
    theta_plus = np.float32(p.theta_plus)
    direct = p.direct_inhibition
    rule = p.rule
    nu_pre = np.float32(p.nu_pre)
    nu_post = np.float32(p.nu_post)
    w_min = np.float32(p.w_min)
    w_max = np.float32(p.w_max)
    inh_rest = p.inh_v_rest
    inh_reset = p.inh_v_reset
    inh_thresh = p.inh_v_thresh
    inh_refrac = p.inh_refrac_steps
    exc_to_inh = p.exc_to_inh
    if direct:
        inh_amount = np.float32(p.direct_mv)
        inh_delay = p.direct_delay_steps
    else:
        inh_amount = np.float32(p.inh_to_exc)
        inh_delay = 2           # exc -> inh (1 step), inh -> exc (1 step)

    decay_mem, decay_pre, decay_post = work.decay_mem, work.decay_pre, work.decay_post
    inh_decay, v, thresh = work.inh_decay, work.v, work.thresh
    refrac_end, last_post, last_pre = work.refrac_end, work.last_post, work.last_pre
    active_pre, active_post = work.active_pre, work.active_post
    inh_v, inh_t, inh_refrac_end = work.inh_v, work.inh_t, work.inh_refrac_end
    inh_total, refrac_ids, refrac_v = work.inh_total, work.refrac_ids, work.refrac_v
    spiked, self_step, self_id = work.spiked, work.self_step, work.self_id
    pre_trace, depression = work.pre_trace, work.depression
    for j in range(n_exc):
        v[j] = v_rest
        thresh[j] = v_thresh + theta[j]
        counts[j] = 0
    # refrac_end is read only for neurons that spiked in this sample (they set it first).
    n_active_pre = 0                            # inputs that spiked in this sample
    n_active_post = 0                           # excitatory neurons that spiked in this sample
    max_count = 0
    # Inhibitory layer (inh_v, inh_t, inh_refrac_end), updated only when driven; inhibition in
    # flight: total per arrival step (inh_total), plus (step, neuron) pairs to exclude self.
    cap = self_step.shape[0]
    n_self = 0
    self_next = 0
    exc_spikes = 0
    inh_spikes = 0
    weight_updates = 0
    valid_at = -1                               # v holds its value after step valid_at

    for t in range(T):
        a = step_ptr[t]
        b = step_ptr[t + 1]
        if a == b and inh_total[t] == 0.0:
            continue                            # nothing drives the layer: decay lazily
        f = np.float32(decay_mem[t - valid_at])
        valid_at = t
        # Neurons in their refractory period receive no input: remember their decayed value.
        n_ref = 0
        for k in range(n_active_post):
            j = active_post[k]
            if refrac_end[j] > t:
                refrac_ids[n_ref] = j
                refrac_v[n_ref] = v_rest + (v[j] - v_rest) * f
                n_ref += 1
        amount = inh_total[t]
        integrate(v, w, indices, a, b, f, v_rest * (np.float32(1.0) - f) - amount)
        if learn:
            for e in range(a, b):
                i = indices[e]
                if last_pre[i] == NEVER:
                    active_pre[n_active_pre] = i
                    n_active_pre += 1
                last_pre[i] = t
        if amount != 0.0:
            while self_next < n_self and self_step[self_next] == t:
                v[self_id[self_next]] += inh_amount
                self_next += 1
        for k in range(n_ref):
            v[refrac_ids[k]] = refrac_v[k]

        n_spiked = 0
        for j in range(n_exc):
            n_spiked += v[j] >= thresh[j]       # vectorised count; spikes are rare
        if n_spiked > 0:
            n_spiked = 0
            for j in range(n_exc):
                if v[j] >= thresh[j]:
                    spiked[n_spiked] = j
                    n_spiked += 1
        if learn and n_spiked > 0:
            # The traces of this step's potentiation: read once, used by every neuron that
            # spiked in the step.
            for k2 in range(n_active_pre):
                pre_trace[k2] = decay_pre[t - last_pre[active_pre[k2]]]
        for k in range(n_spiked):
            j = spiked[k]
            v[j] = v_reset
            refrac_end[j] = t + 1 + refrac
            if last_post[j] == NEVER:
                active_post[n_active_post] = j
                n_active_post += 1
            last_post[j] = t
            counts[j] += 1
            exc_spikes += 1
            if counts[j] > max_count:
                max_count = counts[j]
            # Lateral inhibition: through the inhibitory neuron j, or directly.
            arrive = -1
            if direct:
                arrive = t + inh_delay
            else:
                ti = t + 1
                vi = inh_rest + (inh_v[j] - inh_rest) * inh_decay[ti - inh_t[j]]
                if ti >= inh_refrac_end[j]:
                    vi += exc_to_inh
                    if vi >= inh_thresh and ti < T:
                        vi = inh_reset
                        inh_refrac_end[j] = ti + 1 + inh_refrac
                        inh_spikes += 1
                        arrive = t + 2
                inh_v[j] = vi
                inh_t[j] = ti
            if arrive >= 0 and arrive < T and inh_amount != 0.0:
                inh_total[arrive] += inh_amount
                if n_self == cap:
                    cap *= 2
                    self_step = grow(self_step, cap)
                    self_id = grow(self_id, cap)
                self_step[n_self] = arrive
                self_id[n_self] = j
                n_self += 1
            if learn:
                theta[j] += theta_plus
                thresh[j] = v_thresh + theta[j]
                # Potentiation: every input that has spiked in this sample, by its trace.
                eta = nu_post
                if rule == RULE_ADAPTIVE:
                    eta = nu_post * np.float32(counts[j]) / np.float32(max_count)
                for k2 in range(n_active_pre):
                    i = active_pre[k2]
                    dw = eta * pre_trace[k2]
                    if rule == RULE_WEIGHT_DEPENDENT:
                        dw *= w_max - w[i, j]
                    w[i, j] = min(w[i, j] + dw, w_max)
                weight_updates += n_active_pre
        if learn and n_active_post > 0 and nu_pre != 0.0 and b > a:
            # Depression: each input spiking now, against every neuron that has spiked so far,
            # by that neuron's trace (the same for every input of the step: computed once).
            for k in range(n_active_post):
                depression[k] = nu_pre * decay_post[t - last_post[active_post[k]]]
            for e in range(a, b):
                i = indices[e]
                for k in range(n_active_post):
                    j = active_post[k]
                    dw = depression[k]
                    if rule == RULE_WEIGHT_DEPENDENT:
                        dw *= w[i, j] - w_min
                    w[i, j] = max(w[i, j] - dw, w_min)
                weight_updates += n_active_post

    if learn:
        theta_decay = np.float32(p.theta_decay_step ** T)
        for j in range(n_exc):
            theta[j] *= theta_decay
        norm_total = p.norm_total
        if norm_total > 0.0:
            weight_updates += normalize_columns(w, active_post, n_active_post, norm_total)

    # Back to rest for the next sample: only what this one touched.
    for k in range(n_active_pre):
        last_pre[active_pre[k]] = NEVER
    for k in range(n_active_post):
        j = active_post[k]
        last_post[j] = NEVER
        inh_v[j] = inh_rest
        inh_t[j] = 0
        inh_refrac_end[j] = 0
    for k in range(inh_total.shape[0]):
        inh_total[k] = 0.0

    n_syn = (step_ptr[T] - step_ptr[0]) * n_exc
    n_upd = n_exc * T
    if direct:
        n_syn += exc_spikes * (n_exc - 1)
    else:
        n_syn += exc_spikes + inh_spikes * (n_exc - 1)
        n_upd += n_exc * T
    ops[OP_INPUT_SPIKES] = step_ptr[T] - step_ptr[0]
    ops[OP_EXC_SPIKES] = exc_spikes
    ops[OP_INH_SPIKES] = inh_spikes
    ops[OP_SYNAPTIC_EVENTS] = n_syn
    ops[OP_NEURON_UPDATES] = n_upd
    ops[OP_WEIGHT_UPDATES] = weight_updates
    ops[OP_TIMESTEPS] = T


@njit(cache=True)
def integrate(v, w, indices, a, b, f, c):
    """v <- v * f + c + the sum of rows w[indices[a:b]]: decay, constant input and the weight rows
    of this step's input spikes, up to four rows per pass over v (fewer loads and stores).

    Rows are read as w[i, j], not through row views: each view of w is reference-counted, and
    those counts cost more than the additions (same sums; benchmarks/bench_engine.py, inference
    at T = 350: N100 82 -> 50 us per sample, N400 116 -> 90)."""
    n = v.shape[0]
    m = min(b - a, 4)
    if m == 0:
        for j in range(n):
            v[j] = v[j] * f + c
    elif m == 1:
        i0 = indices[a]
        for j in range(n):
            v[j] = v[j] * f + c + w[i0, j]
    elif m == 2:
        i0, i1 = indices[a], indices[a + 1]
        for j in range(n):
            v[j] = v[j] * f + c + (w[i0, j] + w[i1, j])
    elif m == 3:
        i0, i1, i2 = indices[a], indices[a + 1], indices[a + 2]
        for j in range(n):
            v[j] = v[j] * f + c + (w[i0, j] + w[i1, j] + w[i2, j])
    else:
        i0, i1, i2, i3 = indices[a], indices[a + 1], indices[a + 2], indices[a + 3]
        for j in range(n):
            v[j] = v[j] * f + c + ((w[i0, j] + w[i1, j]) + (w[i2, j] + w[i3, j]))
    k = a + m
    while k < b:
        m = min(b - k, 4)
        if m == 1:
            i0 = indices[k]
            for j in range(n):
                v[j] += w[i0, j]
        elif m == 2:
            i0, i1 = indices[k], indices[k + 1]
            for j in range(n):
                v[j] += w[i0, j] + w[i1, j]
        elif m == 3:
            i0, i1, i2 = indices[k], indices[k + 1], indices[k + 2]
            for j in range(n):
                v[j] += w[i0, j] + w[i1, j] + w[i2, j]
        else:
            i0, i1, i2, i3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
            for j in range(n):
                v[j] += (w[i0, j] + w[i1, j]) + (w[i2, j] + w[i3, j])
        k += m
