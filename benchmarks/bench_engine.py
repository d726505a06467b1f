# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Engine throughput: samples/s for inference and STDP training, one thread, real MNIST digits.

    python benchmarks/bench_engine.py                       # N 100/400/1600 x T 350/100/50
    python benchmarks/bench_engine.py --neurons 400 --timesteps 350 --peers

Each network size runs in its own process (so peak memory is per configuration). Figures are
wall-clock on a shared machine: compare ratios within one run. With --peers, BindsNET's
DiehlAndCook2015 runs in the same invocation (set up with benchmarks/peers/setup_peers.sh).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault('NUMBA_NUM_THREADS', '1')

import numpy as np  # noqa: E402

from topspark_ros.datasets import mnist_5k  # noqa: E402
from topspark_ros.snn import Network, NetworkConfig  # noqa: E402
from numba import njit  # noqa: E402
from topspark_ros.snn.kernels import poisson_spike_train, warm_up  # noqa: E402
from topspark_ros.snn.ops import OP_NAMES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def measure(neurons: int, timesteps_list: list[int], samples: int, repeats: int) -> list[dict]:
    """Best-of-``repeats`` throughput for each T, for one network size (runs in a child)."""
    warm_up()
    digits = mnist_5k().train_images
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # interpreter, data
    rows = []
    for T in timesteps_list:
        net = Network(NetworkConfig(n_neurons=neurons))
        prob = net.input_probability(digits[:samples])
        net.run_probability(prob[:200], T, learn=True)            # a trained-ish state
        row = {'neurons': neurons, 'timesteps': T, 'samples': samples}
        for mode, learn in (('infer', False), ('train', True)):
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                _, ops = net.run_probability(prob, T, learn)
                best = min(best, time.perf_counter() - start)
            row[f'{mode}_samples_per_s'] = samples / best
            row[f'{mode}_us_per_sample'] = best / samples * 1e6
            row[f'{mode}_ops'] = {name: float(ops[:, k].mean()) for k, name in enumerate(OP_NAMES)}
        best = np.inf                           # the Poisson encoding alone, same inputs
        seeds = np.arange(samples, dtype=np.int64)
        for _ in range(repeats):
            start = time.perf_counter()
            encode_only(prob, T, seeds)
            best = min(best, time.perf_counter() - start)
        row['encode_us_per_sample'] = best / samples * 1e6
        rows.append(row)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row['peak_rss_mib'] = peak
        row['rss_above_baseline_mib'] = peak - baseline
        row['weights_mib'] = 784 * neurons * 4 / 2**20
    return rows


@njit(cache=True)
def encode_only(prob: np.ndarray, timesteps: int, seeds: np.ndarray) -> int:
    """What inference spends on Poisson coding: the kernel's encoder over every sample."""
    spikes = 0
    for s in range(prob.shape[0]):
        spikes += poisson_spike_train(prob[s], timesteps, seeds[s])[1].shape[0]
    return spikes


def run_peer(neurons: int, timesteps: int, samples: int) -> dict | None:
    python = ROOT / '.venv-peers' / 'bin' / 'python'
    script = ROOT / 'benchmarks' / 'peers' / 'bindsnet_peer.py'
    if not python.exists():
        print('BindsNET: not measured (run benchmarks/peers/setup_peers.sh first)')
        return None
    out = subprocess.run([str(python), str(script), '--neurons', str(neurons), '--timesteps',
                          str(timesteps), '--samples', str(samples), '--json'],
                         capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{')]
    if out.returncode != 0 or not lines:
        print(f'BindsNET: failed ({out.stderr.strip()[-300:]})')
        return None
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--neurons', type=int, nargs='+', default=[100, 400, 1600])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[350, 100, 50])
    parser.add_argument('--samples', type=int, default=2000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--peers', action='store_true', help='also run BindsNET (N400, T350)')
    parser.add_argument('--peer-samples', type=int, default=20)
    parser.add_argument('--out', type=Path, default=ROOT / 'docs' / 'results' / 'engine.json')
    args = parser.parse_args()

    rows = []
    for n in args.neurons:                     # one child at a time: timings stay one-thread
        # spawn, not fork: a fresh child, so its peak RSS is this configuration's alone
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as pool:
            rows += pool.submit(measure, n, args.timesteps, args.samples, args.repeats).result()

    print('| N | T | infer samples/s | train samples/s | infer us/sample | of it, encoding us | '
          'train us/sample | input spikes | exc spikes | synaptic events | '
          'infer ns/synaptic event | peak RSS MiB | of it, for the network MiB |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        ops = r['infer_ops']
        print(f"| {r['neurons']} | {r['timesteps']} | {r['infer_samples_per_s']:,.0f} | "
              f"{r['train_samples_per_s']:,.0f} | {r['infer_us_per_sample']:.1f} | "
              f"{r['encode_us_per_sample']:.1f} | "
              f"{r['train_us_per_sample']:.1f} | {ops['input_spikes']:.0f} | "
              f"{ops['exc_spikes']:.1f} | {ops['synaptic_events']:,.0f} | "
              f"{r['infer_us_per_sample'] * 1e3 / ops['synaptic_events']:.3f} | "
              f"{r['peak_rss_mib']:.0f} | {r['rss_above_baseline_mib']:.1f} |")

    report = {'engine': rows, 'python': sys.version.split()[0]}
    if args.peers:
        peer = run_peer(400, 350, args.peer_samples)
        ours = next((r for r in rows if r['neurons'] == 400 and r['timesteps'] == 350), None)
        if peer and ours:
            report['bindsnet'] = peer
            print(f"\nN400, T=350, one thread: BindsNET {peer.get('version', '')} "
                  f"{peer['infer_samples_per_s']:.1f} inference / "
                  f"{peer['train_samples_per_s']:.1f} training samples/s; topspark_ros "
                  f"{ours['infer_samples_per_s']:,.0f} / {ours['train_samples_per_s']:,.0f}: "
                  f"{ours['infer_samples_per_s'] / peer['infer_samples_per_s']:,.0f}x and "
                  f"{ours['train_samples_per_s'] / peer['train_samples_per_s']:,.0f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + '\n')


if __name__ == '__main__':
    main()
