# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Event binning: event-camera samples (input index, time) to per-step input spikes (CSR),
thinned reproducibly on the way.

    step(t)  = floor((t - t0) / span * T)     events with step outside [0, T) are not binned
    CSR      an input spikes at most once per step (repeats within a step merge, first kept)
    thinning event k of a sample is kept when unit(phase + k * GOLDEN) < keep
             phase = a per-sample random offset (``thinning_phase``): a golden-ratio (Weyl)
             sequence, so any run of events keeps very nearly the fraction ``keep``
    bad      an event no window may bin: non-finite time, or input index >= n_in

Time-ordered samples (as cameras send them) are binned in one pass over their window only,
found by binary search; thinned, only the kept events are read (``return_steps``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import GOLDEN, splitmix64, TWO_TO_53, unit

RETURN_STEPS = 8                            # thinning: return steps tried before a scan


@njit(cache=True, inline='always')
def thinning_phase(seed, position):
    """Thinning state of the event at ``position`` of a sample with ``seed``: a golden-ratio
    (Weyl) sequence with a per-sample random offset. Event k is kept when the unit value of
    its state is below the keep fraction, and the state of event k + 1 is that of k plus
    ``GOLDEN``: one addition per event, and a low-discrepancy choice, so any run of events
    keeps very nearly the fraction asked for (as the regular code does for frames). It depends
    on the event's position alone, so a window and a whole packet keep the same events."""
    _, u = splitmix64(np.uint64(seed))
    return (np.uint64(u * TWO_TO_53) << np.uint64(11)) + np.uint64(position) * GOLDEN


@njit(cache=True)
def kept_events(seed, n, keep):
    """Which of a sample's events 0..n-1 survive thinning to ``keep`` (``encoding.bin_events``;
    ``run_events`` decides the same on the fly)."""
    out = np.empty(n, np.bool_)
    state = thinning_phase(seed, 0)
    for k in range(n):
        out[k] = unit(state) < keep
        state += GOLDEN
    return out


@njit(cache=True)
def bin_events_csr(index, step, n_inputs, timesteps):
    """CSR input spikes from event (input index, step) pairs; events outside [0, timesteps) or
    [0, n_inputs) are dropped and repeats of an input within a step merge (first one kept).

    A stable counting sort by step, O(events + timesteps): most of a sample's events can lie
    outside a shortened window, and a comparison sort of all of them cost more than the
    simulation (measured on emulated N-MNIST-like samples).
    """
    n = index.shape[0]
    start = np.zeros(timesteps + 1, np.int64)
    for k in range(n):
        t = step[k]
        i = index[k]
        if t >= 0 and t < timesteps and i >= 0 and i < n_inputs:
            start[t + 1] += 1
    for t in range(timesteps):
        start[t + 1] += start[t]
    order = np.empty(start[timesteps], np.int64)
    fill = start[:-1].copy()
    for k in range(n):
        t = step[k]
        i = index[k]
        if t >= 0 and t < timesteps and i >= 0 and i < n_inputs:
            order[fill[t]] = k
            fill[t] += 1
    seen = np.full(n_inputs, -1, np.int64)
    step_ptr = np.zeros(timesteps + 1, np.int32)
    indices = np.empty(order.shape[0], np.int32)
    m = 0
    for t in range(timesteps):
        for q in range(start[t], start[t + 1]):
            i = index[order[q]]
            if seen[i] != t:
                seen[i] = t
                indices[m] = i
                m += 1
        step_ptr[t + 1] = m
    return step_ptr, indices[:m]


@njit(cache=True, nogil=True)
def event_step(t, t0, span, timesteps):
    return np.int64(np.floor((t - t0) / span * timesteps))


@njit(cache=True, nogil=True, inline='always')
def bad_event(x, i, n_in):
    """An event no window may bin: a non-finite time (x - x is NaN for NaN and +-inf) or an
    input index >= n_in. Without a branch, so loops over it vectorise."""
    return (x - x != 0.0) | (i >= n_in)


@njit(cache=True, nogil=True)
def count_bad_events(t, index, n_in):
    """How many events are bad (``bad_event``): counted without a branch, which vectorises
    (a loop that stops at the first bad event does not)."""
    n_bad = 0
    for k in range(t.shape[0]):
        n_bad += np.int64(bad_event(t[k], index[k], n_in))
    return n_bad


@njit(cache=True, nogil=True)
def sorted_event_windows(t, offsets, t0, span, timesteps, first, end):
    """The events each sample's window can bin (``first[s]:end[s]``) when t ascends within
    every sample (as cameras send them) and span > 0: found by binary search, so a shortened
    window reads and bins fewer events; the events it skips could not land in a bin anyway."""
    for s in range(offsets.shape[0] - 1):
        a = offsets[s] + np.searchsorted(t[offsets[s]:offsets[s + 1]], t0)
        lo, hi = a, offsets[s + 1]              # first event whose step is >= timesteps
        while lo < hi:
            mid = (lo + hi) // 2
            if event_step(t[mid], t0, span, timesteps) >= timesteps:
                hi = mid
            else:
                lo = mid + 1
        first[s] = a
        end[s] = lo


@njit(cache=True, nogil=True)
def first_bad_event(index, t, offsets, n_in):
    """-1, or the position of the first bad event (``bad_event``) of samples
    offsets[0]:offsets[-1]."""
    if offsets.shape[0] < 2:
        return -1
    a = offsets[0]
    e = offsets[offsets.shape[0] - 1]
    if count_bad_events(t[a:e], index[a:e], n_in) > 0:
        for k in range(a, e):
            if bad_event(t[k], index[k], n_in):
                return k
    return -1


@njit(cache=True, nogil=True)
def keep_bound(keep):
    """Thinning keeps the events whose state is below this bound: exactly ``unit(state) <
    keep`` (state >> 11 is below keep * 2**53 exactly when it is below its ceiling)."""
    return np.uint64(np.ceil(keep * TWO_TO_53)) << np.uint64(11)


@njit(cache=True, nogil=True)
def return_steps(bound, limit):
    """The steps d (ascending, below ``limit``) after which a kept event can be followed by
    another: those whose state increment d * GOLDEN lies within ``bound`` of zero around the
    circle; every other d moves a kept state out of [0, bound). The first of them that lands
    is the next kept event (for a rotation, one of the first three: Slater's three-gap
    theorem), so thinning reads only the events it keeps."""
    steps = np.empty(RETURN_STEPS, np.int64)
    deltas = np.empty(RETURN_STEPS, np.uint64)
    n = 0
    d = 1
    delta = GOLDEN
    while n < RETURN_STEPS and d < limit:
        if delta < bound or np.uint64(0) - delta < bound:
            steps[n] = d
            deltas[n] = delta
            n += 1
        d += 1
        delta += GOLDEN
    return steps[:n], deltas[:n]


@njit(cache=True, nogil=True)
def sorted_events_csr(index, t, a, e, t0, span, n_in, timesteps, keep, phase):
    """``bin_events_csr`` for events a:e in time order (``sorted_events_into``): returns
    (step_ptr, indices, position of the first bad event read or -1); after a bad event,
    step_ptr and indices hold nothing meaningful."""
    step_ptr = np.empty(timesteps + 1, np.int32)
    indices = np.empty(e - a, np.int32)
    m, bad = sorted_events_into(index, t, a, e, t0, span, n_in, timesteps, keep, phase,
                                step_ptr, indices)
    return step_ptr, indices[:m], bad


@njit(cache=True, nogil=True)
def sorted_events_into(index, t, a, e, t0, span, n_in, timesteps, keep, phase, step_ptr,
                       indices):
    """``bin_events_csr`` for events a:e in time order, whose steps therefore ascend: one pass,
    no sort (the same CSR: repeats of an input within a step merge, the first one kept),
    written into ``step_ptr`` (timesteps + 1) and ``indices`` (room for e - a).
    With ``keep`` < 1 the events are thinned on the way (``thinning_phase``: event a's), and
    only the kept ones are read: from one kept event to the next by ``return_steps``.
    Every event read is checked on the way: returns (spikes written, -1), or (0, the position
    of the first bad event read, ``bad_event``)."""
    seen = np.full(n_in, -1, np.int64)
    step_ptr[0] = 0
    m = 0
    current = 0
    k = a
    state = np.uint64(phase)
    bound = np.uint64(0)
    thin = keep < 1.0
    if thin:
        bound = keep_bound(keep)
        steps, deltas = return_steps(bound, e - a)
        while k < e and state >= bound:         # the window's first kept event
            k += 1
            state += GOLDEN
    else:
        steps = np.empty(0, np.int64)
        deltas = np.empty(0, np.uint64)
    while k < e:
        i = index[k]
        x = t[k]
        if bad_event(x, i, n_in):
            return 0, k
        step = event_step(x, t0, span, timesteps)
        if i >= 0 and step >= 0 and step < timesteps:
            while current < step:
                current += 1
                step_ptr[current] = m
            if seen[i] != step:
                seen[i] = step
                indices[m] = i
                m += 1
        if not thin:
            k += 1
            continue
        # The next kept event: the first return step that lands below the bound, or past
        # every return step tried, a scan (exact either way).
        c = 0
        while c < steps.shape[0] and state + deltas[c] >= bound:
            c += 1
        if c < steps.shape[0]:
            k += steps[c]
            state += deltas[c]
            continue
        skip = steps[c - 1] + 1 if c > 0 else 1
        k += skip
        state += np.uint64(skip) * GOLDEN
        while k < e and state >= bound:
            k += 1
            state += GOLDEN
    while current < timesteps:
        current += 1
        step_ptr[current] = m
    return m, -1
