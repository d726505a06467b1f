# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Online learning of the spiking deep network's readout on a shifted input (delta rule).

    .venv/bin/python benchmarks/deep_online.py config/model_deep_cnn.npz \
        --profile config/profile_deep_cnn --timesteps 8 --shift invert --plot online.png

The model meets a shift it was not trained for (``invert``: inverted contrast, white digits
become black on white; ``dim``: a third of the intensity) and learns from labelled samples
as perception does with ``learning:=true`` (``run_frame(learn=True)``, then
``observe_label``): one pass over the shifted training split, in order. Printed, for each
learning rate: accuracy on the shifted test split before and after every checkpoint of the
stream, accuracy on the unshifted test split at the end (what adapting cost), and the
accuracy on the stream itself, each sample predicted before its label (prequential).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from topspark_ros.datasets import mnist_5k
from topspark_ros.models import DeepModel
from topspark_ros.topspark import load_profile

SHIFTS = {
    'invert': lambda images: 255 - images,
    'dim': lambda images: (images // 3).astype(images.dtype),
}


def accuracy(model: DeepModel, images: np.ndarray, labels: np.ndarray, timesteps: int) -> float:
    hits = sum(model.run_frame(image, timesteps, learn=False).prediction == label
               for image, label in zip(images, labels))
    return hits / len(labels)


def run(path: Path, overrides: dict, timesteps: int, shift: str, rate: float,
        checkpoints: list[int], test_samples: int) -> dict:
    model, _ = DeepModel.load(path)
    model.apply_overrides({**overrides, 'readout_learning_rate': rate})
    data = mnist_5k()
    stream_x, stream_y = SHIFTS[shift](data.train_images), data.train_labels
    test_x, test_y = data.test_images[:test_samples], data.test_labels[:test_samples]
    shifted_test = SHIFTS[shift](test_x)
    curve = [(0, accuracy(model, shifted_test, test_y, timesteps))]
    hits = 0
    for n, (image, label) in enumerate(zip(stream_x, stream_y), start=1):
        hits += model.run_frame(image, timesteps, learn=True).prediction == label
        model.observe_label(int(label))
        if n in checkpoints:
            curve.append((n, accuracy(model, shifted_test, test_y, timesteps)))
    return {'learning_rate': rate, 'curve': curve, 'prequential': hits / len(stream_y),
            'unshifted_after': accuracy(model, test_x, test_y, timesteps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', type=Path)
    parser.add_argument('--profile', type=Path, help="run with the profile's constants for T")
    parser.add_argument('--timesteps', type=int, default=8)
    parser.add_argument('--shift', choices=sorted(SHIFTS), default='invert')
    parser.add_argument('--learning-rates', type=float, nargs='+', default=[0.002],
                        help='readout_learning_rate values to compare')
    parser.add_argument('--checkpoints', type=int, nargs='+',
                        default=[50, 100, 200, 500, 1000, 2000, 4000])
    parser.add_argument('--test-samples', type=int, default=1000)
    parser.add_argument('--plot', type=Path, help='shifted test accuracy vs samples learned')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    overrides = {}
    if args.profile is not None:
        overrides = dict(load_profile(args.profile).entry(args.timesteps).params)
    base = DeepModel.load(args.model)[0]
    base.apply_overrides(overrides)
    data = mnist_5k()
    test_x, test_y = data.test_images[:args.test_samples], data.test_labels[:args.test_samples]
    unshifted = accuracy(base, test_x, test_y, args.timesteps)
    print(f'{args.model}, T = {args.timesteps} {overrides or "(own constants)"}, shift '
          f'{args.shift}; unshifted test accuracy before learning {unshifted:.3f}')
    results = []
    for rate in args.learning_rates:
        result = run(args.model, overrides, args.timesteps, args.shift, rate,
                     args.checkpoints, args.test_samples)
        result['unshifted_before'] = unshifted
        results.append(result)
        curve = '  '.join(f'{n}: {a:.3f}' for n, a in result['curve'])
        print(f'eta {rate:g}: shifted test accuracy after samples learned  {curve}')
        print(f'    prequential {result["prequential"]:.3f}; unshifted test accuracy after '
              f'{result["unshifted_after"]:.3f} (before {unshifted:.3f})')
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for result in results:
            n, acc = zip(*result['curve'])
            ax.plot(np.maximum(n, 1), acc, marker='o', label=f'eta {result["learning_rate"]:g}')
        ax.axhline(unshifted, color='grey', linestyle='--', label='unshifted, before')
        ax.set(xscale='log', xlabel='labelled shifted samples learned (log; 0 at 1)',
               ylabel='accuracy on the shifted test split',
               title=f'readout delta rule, {args.shift}, T = {args.timesteps}')
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
        print(f'wrote {args.plot}')


if __name__ == '__main__':
    main()
