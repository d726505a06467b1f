# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Exploration: a rate gain per hidden layer instead of one for the whole network, at short T.

    .venv/bin/python benchmarks/deep_layer_gains.py config/model_deep_cnn.npz --timesteps 4

``rate_gain`` g multiplies every hidden layer's current alike. Whether the layers want
different gains is measured here without touching the kernel: layer l's rates scale by g_l
when its weights are scaled by g_l / g_(l-1) and its bias by g_l (the readout's weights by
1 / g_last, as the kernel divides the scores by the gain), so the same simulator runs each
combination. For every combination of --gains per hidden layer (and each --v-init): accuracy
on the digits the model's training held out (as ``topspark-profile-deep`` validates) and
synaptic events per sample; printed are those within --within of the best accuracy, fewest
events first, and the network's own T0 accuracy on the same digits for reference.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from topspark_ros.cli.profile_deep import held_out_fraction
from topspark_ros.datasets import mnist_5k, validation_split
from topspark_ros.deep.checkpoint import load_deep_checkpoint
from topspark_ros.deep.config import replace_params
from topspark_ros.deep.network import DeepNetwork, Simulator


def scaled(network: DeepNetwork, gains: tuple[float, ...], v_init: float) -> DeepNetwork:
    """The network whose hidden layer k fires as under a rate gain of gains[k]."""
    weights = [None if w is None else w.copy() for w in network.weights]
    biases = [None if b is None else b.copy() for b in network.biases]
    weighted = [k for k, w in enumerate(weights) if w is not None]
    previous = 1.0
    for k, gain in zip(weighted[:-1], gains):
        weights[k] *= gain / previous
        biases[k] *= gain
        previous = gain
    weights[weighted[-1]] /= previous
    return DeepNetwork(replace_params(network.config, {'lif.v_init': v_init}), weights, biases)


def evaluate(network: DeepNetwork, images: np.ndarray, labels: np.ndarray,
             timesteps: int) -> tuple[float, float]:
    simulator = Simulator(network)
    hits = events = 0
    for image, label in zip(images, labels):
        scores, ops = simulator.run_frame(image, timesteps)
        hits += int(np.argmax(scores)) == label
        events += ops.synaptic_events
    return hits / len(labels), events / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', type=Path)
    parser.add_argument('--timesteps', type=int, default=4)
    parser.add_argument('--gains', type=float, nargs='+', default=[1, 1.5, 2, 3, 4, 6])
    parser.add_argument('--v-init', type=float, nargs='+', default=[0.0, 0.5])
    parser.add_argument('--within', type=float, default=0.01)
    args = parser.parse_args()
    network, metadata = load_deep_checkpoint(args.model)
    split = validation_split(mnist_5k(), *held_out_fraction(metadata, 'mnist_5k'))
    images, labels = split.test_images, split.test_labels
    hidden = sum(w is not None for w in network.weights) - 1
    t0, t0_events = evaluate(network, images, labels, network.config.timesteps)
    print(f'{args.model}: {len(labels)} held-out digits; T0 = {network.config.timesteps}: '
          f'{t0:.4f}, {t0_events:,.0f} synaptic events')
    rows = []
    for gains in itertools.product(args.gains, repeat=hidden):
        for v_init in args.v_init:
            accuracy, events = evaluate(scaled(network, gains, v_init), images, labels,
                                        args.timesteps)
            rows.append((events, accuracy, gains, v_init))
    best = max(row[1] for row in rows)
    uniform = {(gain,) * hidden for gain in args.gains}
    print(f'T = {args.timesteps}: best {best:.4f}; within {args.within} of it, fewest events '
          'first (* = one gain for every layer, as rate_gain)')
    for events, accuracy, gains, v_init in sorted(rows):
        if accuracy >= best - args.within:
            mark = '*' if gains in uniform else ' '
            print(f'  {accuracy:.4f} {events:>9,.0f} {events and t0_events / events:5.1f}x  '
                  f'gains {gains} v_init {v_init:g} {mark}')


if __name__ == '__main__':
    main()
