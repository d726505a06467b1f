# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Input coding: a frame's per-step spike probabilities to one sample's input spikes (CSR).

    Poisson  input i spikes at step t with probability p_i (Bernoulli per input and step):
             k_i ~ Binomial(T, p_i) spikes on a uniformly random k_i-subset of the T steps
    regular  input i spikes whenever p_i * (t + 1) + phase_i crosses an integer,
             phase_i ~ U(0, 1]: k_i = p_i * T +/- 1 spikes (Poisson: +/- sqrt(p_i * T))
    CSR      the inputs spiking at step t are indices[step_ptr[t]:step_ptr[t + 1]]

Each input costs one random draw and each spike one more (``rng``), instead of one per input
and step. A batch makes its ``spike_buffers`` once and encodes every sample into them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .rng import binomial, splitmix64


class SpikeBuffers(NamedTuple):
    """Room for one sample's input spikes (``spike_buffers``), reused across a batch."""

    pair_input: np.ndarray      # int32 (n_in * T,): the input of each (input, step) pair drawn
    pair_step: np.ndarray       # int32 (n_in * T,): its step
    step_ptr: np.ndarray        # int32 (T + 2,): the CSR's step pointers, one spare entry
    indices: np.ndarray         # int32 (n_in * T,): the CSR's inputs
    stamp: np.ndarray           # int32 (T,): Poisson coder's marks of the steps taken


@njit(cache=True, nogil=True)
def spike_buffers(n_in, timesteps):
    """Room for the spikes of any sample of ``n_in`` inputs over ``timesteps`` steps (at most
    one per input and step): (input, step) pairs as drawn, the CSR they are sorted into
    (``csr_into``: step_ptr with one spare entry, indices) and the Poisson coder's step marks.
    A batch makes them once, instead of buffers per sample sized by a scan of the frame
    (``docs/topspark.md``, Latency: what that saved)."""
    cap = n_in * timesteps
    return SpikeBuffers(np.empty(cap, np.int32), np.empty(cap, np.int32),
                        np.empty(timesteps + 2, np.int32), np.empty(cap, np.int32),
                        np.empty(timesteps, np.int32))


@njit(cache=True, nogil=True)
def poisson_spike_train(prob, timesteps, seed):
    """Bernoulli(prob[i]) spikes per input and step, as CSR (step_ptr[T + 1], indices)."""
    return _spike_train(prob, timesteps, seed, False)


@njit(cache=True, nogil=True)
def regular_spike_train(prob, timesteps, seed):
    """``regular_spikes_into`` as CSR (step_ptr[T + 1], indices)."""
    return _spike_train(prob, timesteps, seed, True)


@njit(cache=True, nogil=True)
def _spike_train(prob, timesteps, seed, regular):
    """One sample's spikes (``encode_into``) in buffers of their own, as CSR copies."""
    buffers = spike_buffers(prob.shape[0], timesteps)
    step_ptr, indices = csr_into(buffers, encode_into(prob, timesteps, seed, regular, buffers),
                                 timesteps)
    return step_ptr.copy(), indices.copy()


@njit(cache=True, nogil=True)
def encode_into(prob, timesteps, seed, regular, buffers):
    """The regular or the Poisson code of one sample into ``buffers``; returns how many
    spikes."""
    if regular:
        return regular_spikes_into(prob, timesteps, seed, buffers)
    return poisson_spikes_into(prob, timesteps, seed, buffers)


@njit(cache=True, nogil=True)
def poisson_spikes_into(prob, timesteps, seed, buffers):
    """Draw Bernoulli(prob[i]) spikes per input and step into ``buffers`` (``spike_buffers``)
    as (input, step) pairs, inputs ascending; returns how many.

    A Bernoulli process over T steps is a Binomial(T, p) spike count placed on a uniformly random
    subset of the steps, so each input costs one binomial draw (by inversion) and each spike one
    random number (splitmix64, seeded per sample), instead of one per input per step.
    """
    pix, step, stamp = buffers.pair_input, buffers.pair_step, buffers.stamp
    state = np.uint64(seed)
    T = timesteps
    for t in range(T):
        stamp[t] = 0                            # stamp[t] == i + 1: step t taken for input i
    n = 0
    for i in range(prob.shape[0]):
        p = prob[i]
        if not p > 0.0:
            continue
        state, k = binomial(state, T, p)
        if k == 0:
            continue
        mark = i + 1
        if 2 * k <= T:                          # draw the k spike steps
            placed = 0
            while placed < k:
                state, u = splitmix64(state)
                t = min(int(u * T), T - 1)
                if stamp[t] != mark:
                    stamp[t] = mark
                    pix[n] = i
                    step[n] = t
                    n += 1
                    placed += 1
        else:                                   # draw the T - k silent steps instead
            placed = 0
            while placed < T - k:
                state, u = splitmix64(state)
                t = min(int(u * T), T - 1)
                if stamp[t] != mark:
                    stamp[t] = mark
                    placed += 1
            for t in range(T):
                if stamp[t] != mark:
                    pix[n] = i
                    step[n] = t
                    n += 1
    return n


@njit(cache=True, nogil=True)
def regular_spikes_into(prob, timesteps, seed, buffers):
    """Deterministic rate code with a random phase per input: input i spikes whenever
    ``prob[i] * t + phase_i`` crosses an integer, so its count over T steps is ``prob[i] * T``
    +/- 1 instead of Poisson's +/- sqrt(prob[i] * T). Fewer timesteps then carry the same
    evidence with far less noise (a TopSpark enhancement candidate for short T). Writes
    (input, step) pairs into ``buffers`` (``spike_buffers``), inputs ascending; returns how
    many."""
    pix, step = buffers.pair_input, buffers.pair_step
    state = np.uint64(seed)
    T = timesteps
    n = 0
    for i in range(prob.shape[0]):
        p = min(prob[i], 1.0)
        if not p > 0.0:
            continue
        state, phase = splitmix64(state)        # in (0, 1]
        k = 1
        while True:                             # k-th crossing: p * (t + 1) + phase >= k
            x = np.ceil((k - phase) / p - 1.0)
            if x >= T:                          # compared before int(): a tiny p overflows it
                break
            t = int(x)
            if t >= 0:
                pix[n] = i
                step[n] = t
                n += 1
            k += 1
    return n


@njit(cache=True, nogil=True)
def csr_into(buffers, n, timesteps):
    """Counting sort of the first ``n`` (input, step) pairs of ``buffers`` by step, inputs in
    their order per step; returns views (step_ptr[T + 1], indices[n]) of the buffers.

    Counts go one entry ahead (step_ptr[t + 2]) so that after the prefix sum step_ptr[t + 1] is
    where step t starts; placing a spike advances it, leaving step_ptr[t + 1] where step t + 1
    starts: the CSR, with no separate fill pointers."""
    pix, step = buffers.pair_input, buffers.pair_step
    step_ptr, indices = buffers.step_ptr, buffers.indices
    T = timesteps
    for t in range(T + 2):
        step_ptr[t] = 0
    for k in range(n):
        step_ptr[step[k] + 2] += 1
    for t in range(1, T + 1):
        step_ptr[t + 1] += step_ptr[t]
    for k in range(n):
        t = step[k] + 1
        indices[step_ptr[t]] = pix[k]
        step_ptr[t] += 1
    return step_ptr[:T + 1], indices[:n]
