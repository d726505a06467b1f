# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-evaluate: accuracy and confusion matrix of a checkpoint on a dataset's test split.

    topspark-evaluate --model model.npz --dataset mnist_5k --timesteps 350 --out result.json

The JSON holds accuracy, samples, seconds (wall time of the evaluation loop), the confusion
matrix and mean operation counts; a PNG of the confusion matrix is written next to it.
For a checkpoint from topspark-train, at the T (and with the profile) it was trained with and
without --relabel, the accuracy is the one topspark-train printed: the same function on the
same Poisson seeds (evaluating never advances the model's seeds). A different T, profile or
--relabel is a different measurement, and the output says which differs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import time

import numpy as np

from ..deep.checkpoint import checkpoint_kind, MODEL_KIND as DEEP_KIND
from ..models.deep import DeepModel
from ..snn import load_checkpoint, replace_params
from ..snn.experiment import evaluate, label
from ..topspark import deep_profile, load_profile
from .common import (add_dataset_argument, check_memory, check_out_file, check_positive, CliError,
                     load, run_cli, write_json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-evaluate',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--model', type=Path, required=True, help='checkpoint (.npz)')
    add_dataset_argument(parser)
    parser.add_argument('--timesteps', type=int, help='T (default: the checkpoint\'s)')
    parser.add_argument('--relabel', action='store_true',
                        help='re-label neurons on the training split at this T first')
    parser.add_argument('--out', type=Path, required=True, help='result JSON')
    parser.add_argument('--confusion-png', type=Path,
                        help='confusion matrix plot (default: OUT with .png)')
    parser.add_argument('--profile', type=Path,
                        help='TopSpark profile: apply its enhanced parameters for --timesteps '
                             '(a T it lists; the model must be one the profile was made for)')
    parser.add_argument('--quiet', action='store_true', help='no progress bars')
    return parser


def plot_confusion(confusion: np.ndarray, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n = confusion.shape[0]
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    im = ax.imshow(confusion, cmap='Blues')
    for (r, c), value in np.ndenumerate(confusion):
        if value:
            ax.text(c, r, str(value), ha='center', va='center', fontsize=7,
                    color='white' if value > confusion.max() / 2 else 'black')
    ax.set_xticks(range(n + 1), [str(c) for c in range(n)] + ['none'])
    ax.set_yticks(range(n))
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_positive('--timesteps', args.timesteps)
    check_out_file('--out', args.out)
    png = args.confusion_png or args.out.with_suffix('.png')
    check_out_file('--confusion-png', png)
    if checkpoint_kind(args.model) == DEEP_KIND:
        evaluate_deep(args, png)
        return
    network, readout, meta = load_checkpoint(args.model)
    T = int(args.timesteps if args.timesteps is not None else network.config.timesteps)
    check_memory(network.config, T, '--timesteps')
    params = {}
    if args.profile:
        profile = load_profile(args.profile)
        profile.check_model(network.config, 'frames')
        params = profile.params_at(T)
        if params:
            network.config = replace_params(network.config, params)
    dataset = load(args.dataset)
    dataset.check_classes(network.config.n_classes)
    check_memory(network.config, T, '--timesteps/--dataset',
                 samples=len(dataset.train_labels) + len(dataset.test_labels))
    progress = not args.quiet
    relabelled = args.relabel or not readout.labelled
    if relabelled:
        readout = label(network, network.input_probability(dataset.train_images),
                        dataset.train_labels, T, progress)
    result = evaluate(network, readout, network.input_probability(dataset.test_images),
                      dataset.test_labels, T, progress)
    differs = _differs_from_training(meta, T, params, relabelled, dataset.name)
    summary = {'model': str(args.model), 'dataset': dataset.name, 'relabelled': relabelled,
               'checkpoint': meta, 'profile_params': params,
               'differs_from_training_because': differs, **result.summary()}
    write_json(args.out, summary)
    plot_confusion(result.confusion, f'{dataset.name}, T={T}: accuracy {result.accuracy:.3f}',
                   png)
    print(f'{dataset.name}: T={T} accuracy {result.accuracy:.4f} on {result.samples} samples in '
          f'{result.seconds:.2f} s ({result.samples / max(result.seconds, 1e-9):.0f} samples/s); '
          f'wrote {args.out} and {png}')
    if differs and 'test_accuracy' in meta:
        print(f'note: topspark-train printed {meta["test_accuracy"]:.4f}; this differs as '
              f'{"; ".join(differs)}')


def evaluate_deep(args: argparse.Namespace, png: Path) -> None:
    """The spiking deep network on the test split at T (default its T0), with the profile's
    constants for that T when --profile is given; same outputs as for the STDP network."""
    if args.relabel:
        raise CliError('--relabel: a deep network has no neuron labels (it is trained '
                       'offline with topspark-train-deep)')
    model, meta = DeepModel.load(args.model)
    T = int(args.timesteps if args.timesteps is not None else model.baseline_timesteps)
    params = {}
    if args.profile:
        profile = load_profile(args.profile)
        model.check_profile(profile)
        params = profile.params_at(T)
    dataset = load(args.dataset)
    dataset.check_classes(model.config.n_classes)
    started = time.perf_counter()
    result = deep_profile.evaluate(model.network, dataset.test_images, dataset.test_labels, T,
                                   params, confusion=True, progress=not args.quiet)
    seconds = time.perf_counter() - started
    n = len(dataset.test_labels)
    summary = {'model': str(args.model), 'dataset': dataset.name, 'model_kind': model.kind,
               'checkpoint': meta, 'profile_params': params, 'timesteps': T,
               'accuracy': result.accuracy, 'samples': n, 'seconds': seconds,
               'mean_ops': result.mean_ops, 'confusion': result.confusion.tolist()}
    write_json(args.out, summary)
    plot_confusion(result.confusion, f'{dataset.name}, T={T}: accuracy {result.accuracy:.3f}',
                   png)
    print(f'{dataset.name}: T={T} accuracy {result.accuracy:.4f} on {n} samples in '
          f'{seconds:.2f} s ({n / max(seconds, 1e-9):.0f} samples/s), '
          f'{result.mean_ops["exc_spikes"]:.0f} hidden spikes per sample; wrote {args.out} '
          f'and {png}')


def _differs_from_training(meta: dict, T: int, params: dict, relabelled: bool,
                           dataset: str) -> list[str]:
    """Why this evaluation is not the one topspark-train printed for the checkpoint."""
    if 'test_accuracy' not in meta:
        return []
    reasons = []
    if meta.get('dataset') not in (None, dataset):
        reasons.append(f'it was trained on {meta["dataset"]}, this is {dataset}')
    if meta.get('timesteps') not in (None, T):
        reasons.append(f'it was scored at T={meta["timesteps"]}, this at T={T}')
    if meta.get('profile_params', {}) != params:
        reasons.append('the profile parameters differ from those it was trained with')
    if relabelled:
        reasons.append('neurons were re-labelled here')
    if 'complete' not in meta:
        reasons.append('the checkpoint predates evaluations that keep the Poisson seeds')
    return reasons


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
