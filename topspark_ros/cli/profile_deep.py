# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""topspark-profile-deep: TopSpark's four steps for a trained spiking deep network.

    topspark-profile-deep config/model_deep_cnn.npz --out runs/profile_deep \\
        --timesteps 200 100 50 20 10 8 6 5 4 3

Writes OUT/profile.yaml (what perception and the governor load), OUT/details.json (every
evaluation of steps 1-3) and OUT/accuracy_vs_timesteps.png. Run-time constants are chosen on
the part of the training split the model's training held out (else on a fifth of it), the
fewest synaptic events within --enhance-tolerance of the most accurate; the profile's figures
are on the test split.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from ..datasets import validation_split
from ..deep.checkpoint import (checkpoint_kind, load_deep_checkpoint, MODEL_KIND,
                               recorded_validation_fraction)
from ..energy import get_platform
from ..snn.config import MAX_TIMESTEPS
from ..topspark import deep_profile
from .common import add_dataset_argument, check_out_dir, CliError, load, run_cli, write_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-profile-deep',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('model', type=Path, help='deep-network checkpoint (.npz)')
    parser.add_argument('--out', type=Path, required=True, help='profile directory')
    add_dataset_argument(parser)
    parser.add_argument('--timesteps', type=int, nargs='+', default=[200, 100, 50, 20, 10, 5, 3],
                        help="T values to profile (the model's T0 is added)")
    parser.add_argument('--sensitivity-timesteps', type=int, default=5,
                        help='the short T of step 2 (default 5)')
    parser.add_argument('--validation', type=int, default=500,
                        help='validation samples for steps 1-3 (default 500)')
    parser.add_argument('--enhance-tolerance', type=float, default=ENHANCE_TOLERANCE,
                        help='step 3 keeps the fewest synaptic events among the constants '
                             'within this validation accuracy of the best (a fraction, default '
                             f'{ENHANCE_TOLERANCE}: half a point; 0: the most accurate)')
    parser.add_argument('--test', type=int, default=0,
                        help='test samples for step 4 (default 0: the whole test split)')
    parser.add_argument('--platform', default='loihi', help='energy platform (event-driven)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


ENHANCE_TOLERANCE = 0.005


def held_out_fraction(metadata: dict, dataset: str) -> tuple[float, ...]:
    """``validation_split``'s fraction for the samples the model's training on ``dataset``
    held out (``topspark-train-deep --validation-fraction``), so steps 1-3 choose constants
    on samples it never saw; () (the default split, which it may have been trained on)
    otherwise."""
    fraction = recorded_validation_fraction(metadata, dataset)
    return (fraction,) if fraction else ()


def check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be wrong, before the long work starts."""
    if not args.model.is_file():
        raise CliError(f'model: {args.model} not found')
    if checkpoint_kind(args.model) != MODEL_KIND:
        raise CliError(f'model: {args.model} is not a spiking deep network (use '
                       'topspark-profile for STDP networks)')
    bad = [T for T in args.timesteps + [args.sensitivity_timesteps]
           if not 1 <= T <= MAX_TIMESTEPS]
    if bad:
        raise CliError(f'--timesteps: {bad} outside 1..{MAX_TIMESTEPS}')
    if args.validation < 10 or args.test < 0:
        raise CliError('--validation must be >= 10 and --test >= 0')
    if not 0.0 <= args.enhance_tolerance < 1.0:
        raise CliError(f'--enhance-tolerance must be in [0, 1), got {args.enhance_tolerance}')
    check_out_dir('--out', args.out)
    try:
        get_platform(args.platform)
    except (KeyError, ValueError) as exc:
        raise CliError(f'--platform: {exc}') from None


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_arguments(args)
    network, metadata = load_deep_checkpoint(args.model)
    dataset = load(args.dataset)
    held_out = held_out_fraction(metadata, dataset.name)
    validation = validation_split(dataset, *held_out)
    val_images = validation.test_images[:args.validation]
    val_labels = validation.test_labels[:args.validation]
    test_images, test_labels = dataset.test_images, dataset.test_labels
    if args.test:
        test_images, test_labels = test_images[:args.test], test_labels[:args.test]
    grid = sorted(set(args.timesteps) | {network.config.timesteps}, reverse=True)
    bar = tqdm(total=2 + 2 * len(grid), disable=args.quiet, desc='topspark-profile-deep')

    def step(text: str) -> None:
        bar.set_postfix_str(text)
        bar.update(1)

    naive = {T: deep_profile.evaluate(network, val_images, val_labels, T) for T in grid}
    step('step 1: accuracy vs T')
    effects = deep_profile.sensitivity(network, val_images, val_labels,
                                       args.sensitivity_timesteps)
    step('step 2: sensitivity')
    knobs = deep_profile.knobs_that_help(effects, network)
    enhanced = {}
    for T in grid:              # T0 is the reference: the network's own constants
        enhanced[T] = (naive[T] if T == network.config.timesteps else
                       deep_profile.enhance(network, val_images, val_labels, T, knobs,
                                            args.enhance_tolerance))
        step(f'step 3: T={T}')
    profile = deep_profile.build_profile(
        network, test_images, test_labels, {T: e.overrides for T, e in enhanced.items()},
        args.platform, {'model': str(args.model), 'dataset': dataset.name,
                        'validation_samples': len(val_labels),
                        'validation_held_out_in_training': bool(held_out),
                        'enhance_tolerance': args.enhance_tolerance,
                        'test_samples': len(test_labels), 'model_metadata': metadata},
        progress=step)
    bar.close()
    args.out.mkdir(parents=True, exist_ok=True)
    profile.save(args.out / 'profile.yaml')
    write_json(args.out / 'details.json', {
        'naive_validation': {T: e.accuracy for T, e in naive.items()},
        'sensitivity': [{'knob': k, 'value': v, 'accuracy_change': d} for k, v, d in effects],
        'knobs_combined': {k: list(v) for k, v in knobs.items()},
        'enhanced_validation': {T: {'accuracy': e.accuracy, 'overrides': e.overrides,
                                    'mean_ops': e.mean_ops} for T, e in enhanced.items()}})
    plot(profile, args.out / 'accuracy_vs_timesteps.png')
    base = profile.baseline
    print(f'wrote {args.out}/profile.yaml: T0={profile.baseline_timesteps} accuracy '
          f'{base.accuracy:.4f}')
    for e in profile.entries:
        print(f'  T={e.timesteps:>4}: accuracy {e.accuracy:.4f} (naive '
              f'{e.accuracy_baseline_params:.4f}), {e.latency_infer_s * 1e6:8.1f} us, '
              f'{e.extra["mean_ops"]["synaptic_events"]:10.0f} synaptic events, '
              f'{e.energy_infer_j:.3g} J  {e.params}')


def plot(profile, path: Path) -> None:
    """Accuracy vs T with the enhanced and the naive constants, and synaptic events."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    T = [e.timesteps for e in profile.entries]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(T, [100 * e.accuracy for e in profile.entries], 'o-', label='enhanced')
    left.plot(T, [100 * e.accuracy_baseline_params for e in profile.entries], 's--',
              label='naive conversion')
    left.set(xscale='log', xlabel='timesteps T', ylabel='test accuracy (%)',
             title='accuracy vs T')
    left.legend()
    right.plot(T, [e.extra['mean_ops']['synaptic_events'] for e in profile.entries], 'o-')
    right.set(xscale='log', yscale='log', xlabel='timesteps T',
              ylabel='synaptic events per sample', title='work per sample')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
