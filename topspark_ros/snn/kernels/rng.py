# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Random numbers for the kernels: splitmix64 (Steele, Lea & Flood 2014) and what is drawn
from it.

    state_{k+1} = state_k + GOLDEN                        (mod 2**64)
    mix64(z)    = z ^= z >> 30; z *= MIX1; z ^= z >> 27; z *= MIX2; z ^= z >> 31
    u_k         = (mix64(state_{k+1}) >> 11 + 1) * 2**-53  in (0, 1]
    sample seed = mix64(seed * GOLDEN + index * MIX1) >> 33   (independent per sample)
    Binomial(T, p) by inversion of its CDF:  pmf(k + 1) = pmf(k) * p / q * (T - k) / (k + 1)

One generator for everything: Poisson and regular input coding, event thinning, and the
per-sample seeds the network hands the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)      # 2**64 / golden ratio: the Weyl increment
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
TWO_TO_53 = 9007199254740992.0
TO_UNIT = 1.0 / TWO_TO_53                   # 2**-53
BINOMIAL_WINDOW = 8                         # CDF values counted without branching


@njit(cache=True, inline='always')
def mix64(z):
    """splitmix64's output function: a bijection of uint64 that scatters every input bit."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline='always')
def splitmix64(state):
    """One step of splitmix64: returns (new state, uniform in (0, 1])."""
    state = state + GOLDEN
    return state, (np.float64(mix64(state) >> np.uint64(11)) + 1.0) * TO_UNIT


@njit(cache=True, inline='always')
def unit(state):
    """The top 53 bits of ``state`` as a number in [0, 1) (thinning reads Weyl states so)."""
    return np.float64(state >> np.uint64(11)) * TO_UNIT


@njit(cache=True)
def sample_seeds(seed, first, count):
    """Independent seeds of samples first..first+count-1 of a network seeded ``seed``: mix64 of
    (seed, index), cut to 31 bits (seeds travel as int64 and stay positive)."""
    out = np.empty(count, np.int64)
    base = np.uint64(seed) * GOLDEN
    for k in range(count):
        z = base + np.uint64(first + k) * MIX1
        out[k] = np.int64(mix64(z) >> np.uint64(33))
    return out


@njit(cache=True)
def binomial(state, T, p):
    """Draw from Binomial(T, p) by inverting its CDF; returns (new rng state, count)."""
    if p >= 1.0:
        return state, T
    q = 1.0 - p
    pk = q ** T
    if pk < 1e-280:                             # pmf(0) underflows: count Bernoulli steps
        k = 0
        for _ in range(T):
            state, u = splitmix64(state)
            k += u <= p
        return state, k
    state, u = splitmix64(state)
    cdf = pk
    ratio = p / q
    # The count is the number of CDF values below u. Counting over a fixed window of the first
    # BINOMIAL_WINDOW values has no data-dependent branch (at short T a pixel's count is
    # almost always inside it; the loop's unpredictable exit cost more than the arithmetic),
    # and the CDF is built by the same operations in the same order, so the count is exactly
    # the loop's. Counts beyond the window continue in the loop.
    window = min(T, BINOMIAL_WINDOW)
    k = 0
    for j in range(window):
        k += u > cdf
        pk *= ratio * (T - j) / (j + 1)
        cdf += pk
    if k == window:
        while u > cdf and k < T:
            pk *= ratio * (T - k) / (k + 1)
            k += 1
            cdf += pk
    return state, k
