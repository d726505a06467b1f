# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Accuracy of the Diehl & Cook network on the mnist_5k split: sizes, rules, inhibition, epochs.

    python benchmarks/accuracy.py                 # full grid, 3 seeds (a few minutes on 2 cores)
    python benchmarks/accuracy.py --quick         # N100 only, 1 seed

Each run trains with STDP for up to the largest epoch count, and after 1, 3 and 10 epochs freezes
a copy, labels neurons on the 4,000 training digits and tests on the 1,000 held-out digits.
Prints a Markdown table (mean +/- std over seeds) and writes it with the raw JSON to --out.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from topspark_ros.datasets import mnist_5k
from topspark_ros.snn import Network, NetworkConfig, replace_params
from topspark_ros.snn.experiment import evaluate, label, train


def run_one(job: dict) -> list[dict]:
    dataset = mnist_5k()
    cfg = replace_params(NetworkConfig(), {
        'n_neurons': job['neurons'], 'timesteps': job['timesteps'], 'seed': job['seed'],
        'learning.rule': job['rule'], 'inhibition.variant': job['inhibition']})
    net = Network(cfg)
    train_prob = net.input_probability(dataset.train_images)
    test_prob = net.input_probability(dataset.test_images)
    rows, done, seconds = [], 0, 0.0
    for epochs in job['checkpoints']:
        start = time.perf_counter()
        train(net, train_prob, cfg.timesteps, epochs - done)
        seconds += time.perf_counter() - start
        done = epochs
        frozen = copy.deepcopy(net)
        readout = label(frozen, train_prob, dataset.train_labels, cfg.timesteps)
        result = evaluate(frozen, readout, test_prob, dataset.test_labels, cfg.timesteps)
        rows.append({**job, 'epochs': epochs, 'accuracy': result.accuracy,
                     'train_seconds': seconds, 'exc_spikes': result.mean_ops['exc_spikes']})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--neurons', type=int, nargs='+', default=[100, 400])
    parser.add_argument('--rules', nargs='+', default=['pair', 'weight_dependent', 'adaptive'])
    parser.add_argument('--inhibition', nargs='+', default=['layer', 'direct'])
    parser.add_argument('--epochs', type=int, nargs='+', default=[1, 3, 10])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--timesteps', type=int, default=350)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--out', type=Path, default=Path('docs/results/accuracy'))
    args = parser.parse_args()
    if args.quick:
        args.neurons, args.seeds, args.epochs = [100], 1, [1]
    jobs = [{'neurons': n, 'rule': r, 'inhibition': i, 'seed': s, 'timesteps': args.timesteps,
             'checkpoints': sorted(args.epochs)}
            for n, r, i, s in itertools.product(args.neurons, args.rules, args.inhibition,
                                                range(args.seeds))]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [row for result in pool.map(run_one, jobs) for row in result]
    table = ['| N | rule | inhibition | epochs | accuracy (mean +/- std) | seeds | '
             'exc. spikes/sample | training s/epoch |', '|---|---|---|---|---|---|---|---|']
    key = lambda r: (r['neurons'], r['rule'], r['inhibition'], r['epochs'])  # noqa: E731
    for k, group in itertools.groupby(sorted(rows, key=key), key=key):
        group = list(group)
        acc = np.array([g['accuracy'] for g in group]) * 100
        spikes = np.mean([g['exc_spikes'] for g in group])
        per_epoch = np.mean([g['train_seconds'] / g['epochs'] for g in group])
        table.append(f'| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {acc.mean():.1f} +/- '
                     f'{acc.std():.1f} | {len(group)} | {spikes:.1f} | {per_epoch:.2f} |')
    text = '\n'.join(table)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'accuracy.md').write_text(text + '\n')
    (args.out / 'accuracy.json').write_text(json.dumps(rows, indent=1) + '\n')


if __name__ == '__main__':
    main()
