# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The training-at-short-T experiments cited in docs/topspark.md (validation split, N400, seed 0).

    python benchmarks/topspark_explorations.py          # about 5 minutes on 2 cores

Each row trains a fresh network with a schedule of (T, epochs) phases, labels its neurons on the
validation split's training part at the test T, and reports validation accuracy.
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ProcessPoolExecutor

from topspark_ros.datasets import mnist_5k, validation_split
from topspark_ros.snn import Network, NetworkConfig, replace_params
from topspark_ros.snn.experiment import evaluate, label, train

R = 50 / 350
FAST = {'inhibition.variant': 'direct', 'inhibition.direct_mv': 120.0,     # one step, directly
        'inhibition.direct_delay_ms': 1.0}
JOBS = [
    # (name, overrides, schedule [(T, epochs)], test T)
    ('T0 parameters', {}, [(50, 3)], 50),
    ('theta increment x 1/7', {'excitatory.theta_plus_mv': 0.05 * R}, [(50, 3)], 50),
    ('learning rates x 2', {'learning.nu_pre': 2e-4, 'learning.nu_post': 2e-2}, [(50, 3)], 50),
    ('input intensity x 2', {'input_rate_hz': 127.5}, [(50, 3)], 50),
    ('input intensity x 4', {'input_rate_hz': 255.0}, [(50, 3)], 50),
    ('regular rate code', {'input_coding': 'regular'}, [(50, 3)], 50),
    ('regular rate code', {'input_coding': 'regular'}, [(100, 3)], 100),
    ('regular rate code', {'input_coding': 'regular'}, [(350, 3)], 350),
    ('1 epoch at T0, 2 at T', {}, [(350, 1), (100, 2)], 100),
    ('3 epochs at T0, infer at T', {}, [(350, 3)], 100),
    ('3 epochs at T0, infer at T', {}, [(350, 3)], 50),
    ('fast inhibition', FAST, [(100, 3)], 100),
    ('fast inhibition', FAST, [(50, 3)], 50),
]


def run(job: tuple) -> dict:
    name, over, schedule, test_T = job
    data = validation_split(mnist_5k())
    net = Network(replace_params(NetworkConfig(n_neurons=400), over))
    train_prob = net.input_probability(data.train_images)
    for T, epochs in schedule:
        train(net, train_prob, T, epochs)
    readout = label(copy.deepcopy(net), train_prob, data.train_labels, test_T)
    result = evaluate(net, readout, net.input_probability(data.test_images), data.test_labels,
                      test_T)
    return {'name': name, 'overrides': over, 'schedule': schedule, 'test_T': test_T,
            'accuracy': result.accuracy}


def main() -> None:
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(run, JOBS))
    print('| experiment | overrides | schedule (T x epochs) | test T | validation accuracy |')
    print('|---|---|---|---|---|')
    for r in rows:
        sched = ', '.join(f'{T} x {e}' for T, e in r['schedule'])
        print(f"| {r['name']} | {json.dumps(r['overrides'])} | {sched} | {r['test_T']} | "
              f"{100 * r['accuracy']:.1f} % |")


if __name__ == '__main__':
    main()
