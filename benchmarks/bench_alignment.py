# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What the weight array's address costs: a profile's timing network run with its weights at
each 16-byte offset from a cache line.

    python benchmarks/bench_alignment.py config/profile_n400 --timesteps 350 50

``Network`` keeps its weights on a cache line (``network.aligned_float32``); before it did,
numpy's allocator put them at any 16-byte boundary, and a timing landed on the fast or the
slow one by chance. Offsets are timed in interleaved rounds, best round kept (us per sample;
inference on 1,000 held-out samples, training on 1,000 training samples); compare columns of
one run.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from latency_breakdown import profile_timing_args     # benchmarks/, next to this script
from topspark_ros.snn.experiment import present
from topspark_ros.snn.kernels import warm_up
from topspark_ros.snn.network import CACHE_LINE_BYTES

OFFSETS_BYTES = (0, 16, 32, 48)


def at_offset(a: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``a`` starting ``offset`` bytes after a cache line."""
    buf = np.empty(a.nbytes + 2 * CACHE_LINE_BYTES, np.uint8)
    start = -buf.ctypes.data % CACHE_LINE_BYTES + offset
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def main(argv: list[str] | None = None) -> int:
    args, setups = profile_timing_args(__doc__.split('\n')[0], argv)
    warm_up()
    rows = [(s, learn) for s in setups for learn in (False, True)]
    best = {(k, off): np.inf for k in range(len(rows)) for off in OFFSETS_BYTES}
    for _ in range(args.rounds):
        for k, (s, learn) in enumerate(rows):
            inputs = s.train_inputs if learn else s.test_inputs
            for off in OFFSETS_BYTES:
                net = copy.deepcopy(s.network)
                net._weights = at_offset(s.network.weights, off)    # bypass the aligning setter
                start = time.perf_counter()
                present(net, inputs, s.timesteps, learn)
                best[k, off] = min(best[k, off], (time.perf_counter() - start) / len(inputs))

    print(f'{args.profile}: us per sample, best of {args.rounds} interleaved rounds')
    print('| T | pass | ' + ' | '.join(f'offset {off} B' for off in OFFSETS_BYTES) + ' |')
    print('|---' * (len(OFFSETS_BYTES) + 2) + '|')
    for k, (s, learn) in enumerate(rows):
        print(f'| {s.timesteps} | {"training" if learn else "inference"} | '
              + ' | '.join(f'{1e6 * best[k, off]:.1f}' for off in OFFSETS_BYTES) + ' |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
