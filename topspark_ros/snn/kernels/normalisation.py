# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Weight normalisation (Diehl & Cook): after a training sample, every neuron that spiked has
its input column scaled back to a fixed sum.

    W[:, j] <- W[:, j] * total / sum_i W[i, j]      (an all-zero column stays as it is)

Only columns that changed (neurons that spiked, hence learned) are visited.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def normalize_columns(w, cols, n_cols, total):
    """``normalize_column`` for columns cols[:n_cols], four at a time: the columns are strided
    in memory and each sum is a chain of dependent additions, so four independent chains per
    pass over the rows run about a third faster. Each column's sum keeps its order (rows
    ascending), so the result is exactly that of one column at a time. Returns the writes."""
    n_in = w.shape[0]
    k = 0
    while k + 4 <= n_cols:
        j0, j1, j2, j3 = cols[k], cols[k + 1], cols[k + 2], cols[k + 3]
        s0 = s1 = s2 = s3 = 0.0
        for i in range(n_in):
            s0 += w[i, j0]
            s1 += w[i, j1]
            s2 += w[i, j2]
            s3 += w[i, j3]
        c0, c1, c2, c3 = (norm_scale(total, s0), norm_scale(total, s1),
                          norm_scale(total, s2), norm_scale(total, s3))
        for i in range(n_in):
            w[i, j0] *= c0
            w[i, j1] *= c1
            w[i, j2] *= c2
            w[i, j3] *= c3
        k += 4
    while k < n_cols:
        normalize_column(w, cols[k], total)
        k += 1
    return n_in * n_cols


@njit(cache=True, inline='always')
def norm_scale(total, s):
    """The factor a column with sum s is scaled by (1: an all-zero column stays as it is)."""
    return np.float32(total / s) if s > 0.0 else np.float32(1.0)


@njit(cache=True)
def normalize_column(w, j, total):
    """Scale column j of w to sum ``total`` (Diehl & Cook's per-neuron weight normalisation)."""
    n_in = w.shape[0]
    s = 0.0
    for i in range(n_in):
        s += w[i, j]
    if s > 0.0:
        scale = np.float32(total / s)
        for i in range(n_in):
            w[i, j] *= scale
    return n_in
