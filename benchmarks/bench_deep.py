# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Speed of the spiking deep network, one sample at a time on one core, as perception runs it.

    .venv/bin/python benchmarks/bench_deep.py config/model_deep_cnn.npz --timesteps 10 200

For each T: microseconds per sample (median of --rounds rounds over --samples held-out digits,
after a warm-up; wall clock, and this process's CPU time, which other processes on a shared
machine disturb less), hidden spikes and synaptic events per sample, and accuracy, with the
model's own constants and, with --profile, the profile's constants for that T. Prints a table
and, with --json, writes it. The figures depend on the machine's load: compare ratios within
one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import time

import numpy as np

from topspark_ros.datasets import mnist_5k
from topspark_ros.deep.checkpoint import load_deep_checkpoint
from topspark_ros.deep.config import replace_params
from topspark_ros.deep.network import Simulator
from topspark_ros.topspark import load_profile


def measure(simulator: Simulator, images: np.ndarray, labels: np.ndarray, timesteps: int,
            overrides: dict, rounds: int) -> dict[str, float]:
    config = replace_params(simulator.network.config, overrides)
    simulator.run_frame(images[0], timesteps, config)              # compile / warm caches
    times, cpu_times, spikes, events, correct = [], [], 0, 0, 0
    for r in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        for k, image in enumerate(images):
            scores, ops = simulator.run_frame(image, timesteps, config, seed=k)
            if r == 0:
                spikes += ops.exc_spikes
                events += ops.synaptic_events
                correct += int(np.argmax(scores) == labels[k])
        times.append((time.perf_counter() - started) / len(images))
        cpu_times.append((time.process_time() - cpu_started) / len(images))
    n = len(images)
    return {'timesteps': timesteps, 'us_per_sample': statistics.median(times) * 1e6,
            'cpu_us_per_sample': statistics.median(cpu_times) * 1e6,
            'hidden_spikes': spikes / n, 'synaptic_events': events / n,
            'accuracy': correct / n, 'overrides': overrides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', type=Path)
    parser.add_argument('--timesteps', type=int, nargs='+', default=[10, 200])
    parser.add_argument('--profile', type=Path, help="also run each T with the profile's "
                                                     'constants')
    parser.add_argument('--samples', type=int, default=500)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    network, _ = load_deep_checkpoint(args.model)
    profile = load_profile(args.profile) if args.profile else None
    data = mnist_5k()
    images, labels = data.test_images[:args.samples], data.test_labels[:args.samples]
    simulator = Simulator(network)
    rows = []
    for T in args.timesteps:
        rows.append({'constants': 'model', **measure(simulator, images, labels, T, {},
                                                     args.rounds)})
        if profile is not None and T in profile.timesteps:
            rows.append({'constants': 'profile', **measure(
                simulator, images, labels, T, dict(profile.entry(T).params), args.rounds)})
    print(f'{"T":>5} {"constants":>9} {"us/sample":>10} {"cpu us":>8} {"spikes":>8} '
          f'{"syn. events":>12} {"accuracy":>8}')
    for row in rows:
        print(f'{row["timesteps"]:>5} {row["constants"]:>9} {row["us_per_sample"]:>10.1f} '
              f'{row["cpu_us_per_sample"]:>8.1f} {row["hidden_spikes"]:>8.0f} '
              f'{row["synaptic_events"]:>12.0f} {row["accuracy"]:>8.4f}')
    if args.json:
        args.json.write_text(json.dumps({'model': str(args.model), 'samples': len(images),
                                         'rows': rows}, indent=2) + '\n')


if __name__ == '__main__':
    main()
