# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Batches: the kernels called from Python, one call per batch of samples, with the per-sample
arrays (working state, spike buffers) made once per call.

    run_rates   frames: per-step spike probabilities -> input coding -> dynamics, per sample
    run_events  events: (input, time) samples -> event binning (thinned) -> dynamics
    warm_up     compile (or load from Numba's cache) all of them on a tiny input

``params`` is ``pack_params``' one-element record array; each batch reads its record once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NetworkConfig
from ..ops import N_OPS
from .coding import csr_into, encode_into, spike_buffers
from .dynamics import scratch, simulate_in
from .events import (bin_events_csr, event_step, first_bad_event, kept_events,
                     sorted_event_windows, sorted_events_into, thinning_phase)
from .params import pack_params
from .rng import sample_seeds


@njit(cache=True, nogil=True)
def run_rates(w, theta, prob, timesteps, params, learn, seeds, counts, ops):
    """Encode (Poisson or regular) and simulate a batch of samples (rows of ``prob``: spike
    probability per step, i.e. rate x dt)."""
    p = params[0]
    regular = p.regular_coding
    work = scratch(w.shape[0], w.shape[1], timesteps, p)
    buffers = spike_buffers(prob.shape[1], timesteps)
    for s in range(prob.shape[0]):
        n = encode_into(prob[s], timesteps, seeds[s], regular, buffers)
        step_ptr, indices = csr_into(buffers, n, timesteps)
        simulate_in(w, theta, step_ptr, indices, p, learn, counts[s], ops[s], work)


@njit(cache=True, nogil=True)
def run_events(w, theta, index, t, offsets, t0, span, timesteps, params, learn, time_sorted,
               seeds, counts, ops):
    """Bin and simulate a batch of event samples: sample s holds events offsets[s] to
    offsets[s + 1], each an input ``index`` (-1: none) at time ``t``; its window [t0, t0 + span)
    is split into ``timesteps`` equal bins, as ``encoding.bin_events`` does one sample.

    Every event the batch reads is checked before any sample runs: returns -1, or the position
    of a bad event (non-finite time, input index >= n_in), in which case nothing was simulated
    or learned. With a keep fraction below 1 (``event_keep``) the read events are thinned
    (``thinning_phase``, with the sample's seed from ``seeds``).
    """
    if time_sorted and span > 0:
        return _run_sorted_events(w, theta, index, t, offsets, t0, span, timesteps, params,
                                  learn, seeds, counts, ops)
    n_in = w.shape[0]
    p = params[0]
    keep = p.event_keep
    bad = first_bad_event(index, t, offsets, n_in)
    if bad >= 0:
        return bad
    work = scratch(n_in, w.shape[1], timesteps, p)
    for s in range(offsets.shape[0] - 1):
        a = offsets[s]
        read = index[a:offsets[s + 1]]
        if keep < 1.0:                          # thinning: dropped events leave the sensor
            kept = kept_events(seeds[s], read.shape[0], keep)
            read = np.where(kept, read, -1)
        step = np.zeros(read.shape[0], np.int64)
        if span > 0:
            for k in range(step.shape[0]):
                step[k] = event_step(t[a + k], t0, span, timesteps)
        step_ptr, indices = bin_events_csr(read, step, n_in, timesteps)
        simulate_in(w, theta, step_ptr, indices, p, learn, counts[s], ops[s], work)
    return -1


@njit(cache=True, nogil=True)
def _run_sorted_events(w, theta, index, t, offsets, t0, span, timesteps, params, learn, seeds,
                       counts, ops):
    """``run_events`` for events in time order: every sample's window (``sorted_event_windows``)
    is binned first, which checks exactly the events binning reads (with thinning, the kept
    ones: one pass over the window instead of a check pass and a binning pass; N100 on
    emulated digits at T = 50, 29 -> 25.5 us per inference sample), then they are simulated."""
    n_in = w.shape[0]
    p = params[0]
    keep = p.event_keep
    n = offsets.shape[0] - 1
    first = np.empty(n, np.int64)
    end = np.empty(n, np.int64)
    sorted_event_windows(t, offsets, t0, span, timesteps, first, end)
    start = np.zeros(n + 1, np.int64)           # sample s's spikes: indices[start[s]:]
    for s in range(n):
        start[s + 1] = start[s] + end[s] - first[s]
    step_ptr = np.empty((n, timesteps + 1), np.int32)
    indices = np.empty(start[n], np.int32)
    spikes = np.empty(n, np.int64)
    for s in range(n):
        a = first[s]
        phase = thinning_phase(seeds[s], a - offsets[s]) if keep < 1.0 else np.uint64(0)
        spikes[s], bad = sorted_events_into(index, t, a, end[s], t0, span, n_in, timesteps,
                                            keep, phase, step_ptr[s],
                                            indices[start[s]:start[s + 1]])
        if bad >= 0:
            return bad
    work = scratch(n_in, w.shape[1], timesteps, p)
    for s in range(n):
        simulate_in(w, theta, step_ptr[s], indices[start[s]:start[s] + spikes[s]], p, learn,
                    counts[s], ops[s], work)
    return -1


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel on a tiny input, so timings that
    follow measure the simulation, not the JIT."""
    params = pack_params(NetworkConfig(n_neurons=2, input_shape=(2, 2)))
    w = np.full((4, 2), 0.5, np.float32)
    theta = np.zeros(2, np.float32)
    prob = np.full((1, 4), 0.5)
    counts = np.zeros((1, 2), np.int32)
    ops = np.zeros((1, N_OPS), np.int64)
    for learn in (False, True):
        run_rates(w, theta, prob, 4, params, learn, np.zeros(1, np.int64), counts, ops)
    bin_events_csr(np.zeros(1, np.int64), np.zeros(1, np.int64), 4, 4)
    for learn in (False, True):
        for time_sorted in (False, True):
            run_events(w, theta, np.zeros(1, np.int64), np.zeros(1), np.array([0, 1]), 0.0,
                       1.0, 4, params, learn, time_sorted, np.zeros(1, np.int64), counts, ops)
    kept_events(0, 1, 0.5)
    sample_seeds(0, 0, 1)
