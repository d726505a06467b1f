# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Array helpers for Numba code: amortised growth of a buffer (used by the dynamics' list of
inhibition in flight and by the DVS emulator's event lists).

    grow(a, cap): a copy of a with room for cap elements; doubling cap on every growth keeps
    n appends O(n) in all.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def grow(a, cap):
    """A copy of ``a`` with room for ``cap`` elements (amortised appends inside kernels)."""
    b = np.empty(cap, a.dtype)
    b[:a.shape[0]] = a
    return b
