# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-train-deep: train the spiking deep network offline as a soft-LIF rate network.

    topspark-train-deep --dataset mnist_5k --arch cnn --epochs 30 --noise count \
        --target-timesteps 10 --rate-gain 4 --seed 0 --out cnn.npz --plot cnn.png

Writes OUT (a deep_lif checkpoint, rewritten atomically after every epoch; its metadata says
whether training completed) and OUT with .json (provenance and per-epoch history). Needs the
optional training extra: pip install -r requirements-deep.txt (JAX and optax, CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..datasets import Dataset, validation_split
from ..deep.checkpoint import (checkpoint_kind, CheckpointError, load_deep_checkpoint,
                               MODEL_KIND, recorded_validation_fraction,
                               save_deep_checkpoint)
from ..deep.config import (DeepConfig, DeepConfigError, INTEGRATIONS, LayerSpec, LifParams,
                           OperatingPoint)
from ..deep.network import DeepNetwork
from ..snn.encoding import to_intensity
from .common import CliError, add_dataset_argument, check_out_file, load, run_cli, write_json

DEFAULT_VALIDATION_FRACTION = 0.1
MNIST_AMPLITUDE = 0.063     # Hunsberger & Eliasmith's MNIST amplitude: rate gain 1
ARCHITECTURES = {           # hidden layers; the dense readout of n_classes is appended
    'mlp': 'dense:500,dense:200',
    'cnn': 'conv:16:5:2,conv:32:3:2,dense:128',
}
NOISE_CHOICES = ('none', 'gaussian', 'count')    # train.NOISE_KINDS (not imported: no JAX)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (exit 2), like every other refusal here."""

    def error(self, message: str) -> None:
        print(f'error: {message}', file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='topspark-train-deep', description=__doc__.split('\n')[0])
    add_dataset_argument(parser)
    parser.add_argument('--arch', default='mlp',
                        help="'mlp' (784-500-200-10), 'cnn' (conv 5x5/2 x16, conv 3x3/2 x32, "
                             "dense 128, dense 10) or hidden layers such as "
                             "'conv:16:5:2:0,avgpool:2,dense:128' (conv:SIZE:KERNEL[:STRIDE"
                             "[:PADDING]], dense:SIZE, avgpool:K, sumpool:K); the dense readout "
                             'is appended')
    parser.add_argument('--epochs', type=int,
                        help='passes over the training images (default 30; 0 with --init-from: '
                             'convert the checkpoint, e.g. to --integration discrete, without '
                             'training)')
    parser.add_argument('--batch-size', type=int, help='images per Adam step (default 64)')
    parser.add_argument('--lr', type=float, help='Adam learning rate (default '
                        '2e-3, cosine-decayed to 0 unless --constant-lr)')
    parser.add_argument('--constant-lr', action='store_true', help='no learning-rate decay')
    parser.add_argument('--seed', type=int,
                        help='seed of initial weights, batch order, noise and dropout (default 0)')
    parser.add_argument('--noise', choices=NOISE_CHOICES,
                        help="training noise: 'gaussian' (N(0, sigma) Hz where firing), "
                             "'count' (spike-count quantisation at --target-timesteps) or "
                             "'none' (default count)")
    parser.add_argument('--noise-sigma-hz', type=float,
                        help='sigma of the gaussian noise (Hz, default 10)')
    parser.add_argument('--target-timesteps', type=int,
                        help='T whose spike counts the count noise and the rate penalty '
                             'model (default 10)')
    parser.add_argument('--rate-penalty', type=float,
                        help='loss per expected hidden spike per sample in --target-timesteps '
                             'steps (activity penalty, default 0; the shipped CNN: 2e-4)')
    parser.add_argument('--augment-shift', type=int,
                        help='translate training images randomly by up to this many pixels '
                             '(default 0)')
    parser.add_argument('--init-from', type=Path,
                        help='fine-tune this deep_lif checkpoint (its layers and LIF constants; '
                             '--rate-gain or --amplitude still override the amplitude)')
    gain = parser.add_mutually_exclusive_group()
    gain.add_argument('--amplitude', type=float,
                      help='activation per Hz of a hidden neuron (LifParams.amplitude)')
    gain.add_argument('--rate-gain', type=float,
                      help=f'train at G x the rates of amplitude {MNIST_AMPLITUDE}: amplitude '
                           f'= {MNIST_AMPLITUDE} / G (default 4)')
    parser.add_argument('--integration', choices=INTEGRATIONS,
                        help="how the spiking network will step (lif.integration): 'exact' "
                             "(default, or --init-from's; refractory period, spike at the "
                             "crossing time) or "
                             "'discrete' (spike and reset at a step's end, no refractory "
                             "period: what NIR simulators and chips run, so an export runs "
                             "unchanged; the shipped CNN); training fits the rate curve of "
                             "that stepping")
    parser.add_argument('--readout-learning-rate', type=float,
                        help='delta-rule step per teacher label when the readout learns on the '
                             "robot (perception's learning; default 0.002, or --init-from's)")
    parser.add_argument('--spiking-points', type=parse_points, metavar='T:GAIN[:V_INIT],...',
                        help='spiking fine-tuning: also train the spiking network itself at '
                             'these operating points (T steps, rate gain, initial membrane '
                             'voltage x threshold, default 0), one drawn per batch, through '
                             "its time steps; needs lif.integration 'discrete' (the shipped "
                             'CNN: 5:1.5:0.5,6:1:0.5,7:1.25:0.25,8:1.25:0.25,8:1:0.5, 40 '
                             'epochs at --lr 1e-3 from the converted network)')
    parser.add_argument('--dropout', type=float,
                        help='dropout on hidden activations while training (default 0)')
    parser.add_argument('--validation-fraction', type=float,
                        help='part of the training split held out for per-epoch validation '
                             "(default 0.1, or --init-from's: fine-tuning holds out what its "
                             'checkpoint held out; 0 trains on all of it)')
    parser.add_argument('--out', type=Path, required=True, help='checkpoint path (.npz)')
    parser.add_argument('--plot', type=Path, help='loss and accuracy per epoch (.png)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def parse_layers(spec: str) -> tuple[LayerSpec, ...]:
    """Hidden layers from ``--arch``: a name in ARCHITECTURES or a comma-separated spec."""
    text = ARCHITECTURES.get(spec, spec)
    layers = []
    for item in text.split(','):
        kind, *numbers = item.strip().split(':')
        try:
            values = [int(v) for v in numbers]
        except ValueError:
            raise CliError(f'--arch {spec!r}: {item!r} has a non-integer field') from None
        counts = {'conv': (2, 4), 'dense': (1, 1), 'avgpool': (1, 1), 'sumpool': (1, 1)}
        if kind not in counts:
            raise CliError(f"--arch {spec!r}: unknown layer {kind!r} (use 'mlp', 'cnn' or "
                           'conv/dense/avgpool/sumpool layers)')
        low, high = counts[kind]
        if not low <= len(values) <= high or min(values) < 0:
            raise CliError(f'--arch {spec!r}: {item!r} needs {low}..{high} fields >= 0')
        if kind == 'conv':
            layers.append(LayerSpec('conv', values[0], values[1], *values[2:]))
        elif kind == 'dense':
            layers.append(LayerSpec('dense', values[0]))
        else:
            layers.append(LayerSpec(kind, kernel=values[0]))
    return tuple(layers)


def parse_points(text: str) -> tuple[OperatingPoint, ...]:
    """``--spiking-points``: 'T:GAIN[:V_INIT]' items, comma-separated (``OperatingPoint``
    checks the values)."""
    points = []
    for item in text.split(','):
        fields = item.strip().split(':')
        try:
            if not 2 <= len(fields) <= 3:
                raise ValueError
            timesteps, gain = int(fields[0]), float(fields[1])
            v_init = float(fields[2]) if len(fields) == 3 else 0.0
        except ValueError:
            raise argparse.ArgumentTypeError(f'{item!r} is not T:GAIN[:V_INIT]') from None
        try:
            points.append(OperatingPoint(timesteps, gain, v_init))
        except ValueError:
            raise argparse.ArgumentTypeError(f'{item!r}: T must be >= 1, GAIN > 0 and V_INIT '
                                             'in [0, 1)') from None
    return tuple(points)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainSettings fields set on the command line (the others keep their defaults)."""
    flags = {'epochs': args.epochs, 'batch_size': args.batch_size, 'learning_rate': args.lr,
             'seed': args.seed, 'noise': args.noise, 'noise_sigma_hz': args.noise_sigma_hz,
             'target_timesteps': args.target_timesteps, 'dropout': args.dropout,
             'rate_penalty': args.rate_penalty, 'augment_shift': args.augment_shift}
    if args.constant_lr:
        flags['cosine_decay'] = False
    return {name: value for name, value in flags.items() if value is not None}


def _check_numbers(args: argparse.Namespace) -> None:
    given = _given(args)
    fine_tuning = args.init_from is not None            # --epochs 0 converts it
    checks = (('--epochs', given.get('epochs', 1) >= (0 if fine_tuning else 1),
               'must be >= 0 with --init-from, else >= 1'),
              ('--batch-size', given.get('batch_size', 1) >= 1, 'must be >= 1'),
              ('--lr', math.isfinite(given.get('learning_rate', 1)) and
               given.get('learning_rate', 1) > 0, 'must be > 0'),
              ('--noise-sigma-hz', math.isfinite(given.get('noise_sigma_hz', 0))
               and given.get('noise_sigma_hz', 0) >= 0, 'must be >= 0'),
              ('--target-timesteps', given.get('target_timesteps', 1) >= 1, 'must be >= 1'),
              ('--dropout', 0.0 <= given.get('dropout', 0) < 1.0, 'must be in [0, 1)'),
              ('--rate-penalty', math.isfinite(given.get('rate_penalty', 0))
               and given.get('rate_penalty', 0) >= 0, 'must be >= 0'),
              ('--augment-shift', given.get('augment_shift', 0) >= 0, 'must be >= 0'),
              ('--validation-fraction', args.validation_fraction is None
               or 0.0 <= args.validation_fraction <= 0.5,
               'must be in [0, 0.5]'))
    rate = args.readout_learning_rate
    if rate is not None and not (math.isfinite(rate) and rate >= 0):
        raise CliError(f'--readout-learning-rate must be >= 0, got {rate}')
    if args.epochs == 0 and args.plot is not None:
        raise CliError('--plot: --epochs 0 trains nothing to plot')
    if args.epochs == 0 and args.spiking_points:
        raise CliError('--spiking-points: --epochs 0 trains nothing')
    for flag, ok, rule in checks:
        if not ok:
            value = getattr(args, flag[2:].replace('-', '_'))
            raise CliError(f'{flag} {rule}, got {value}')
    for flag, value in (('--amplitude', args.amplitude), ('--rate-gain', args.rate_gain)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise CliError(f'{flag} must be > 0, got {value}')


def _import_training():
    try:
        from ..deep import train
    except ImportError as exc:
        raise CliError(f'training needs JAX and optax ({exc}): pip install jax optax '
                       '(or pip install -r requirements-deep.txt)') from None
    return train


def build_config(dataset: Dataset, hidden: tuple[LayerSpec, ...], amplitude: float | None,
                 seed: int, arch: str, integration: str) -> DeepConfig:
    height, width = dataset.train_images.shape[1:3]
    lif = (LifParams() if amplitude is None else LifParams(amplitude=amplitude)
           ).with_integration(integration)
    try:
        return DeepConfig(input_shape=(1, int(height), int(width)),
                          layers=hidden + (LayerSpec('dense', dataset.n_classes),),
                          lif=lif, n_classes=dataset.n_classes, seed=seed)
    except DeepConfigError as exc:
        raise CliError(f'--arch {arch!r} on {height}x{width} {dataset.name} images: '
                       f'{exc}') from None


def _initial_network(path: Path | None) -> tuple[DeepNetwork | None, dict[str, Any]]:
    """The checkpoint --init-from names and its metadata, read before any work (one line if
    it cannot be)."""
    if path is None:
        return None, {}
    if not path.is_file():
        raise CliError(f'--init-from {path}: not found')
    try:
        if checkpoint_kind(path) != MODEL_KIND:
            raise CliError(f'--init-from {path}: not a spiking deep network checkpoint')
        return load_deep_checkpoint(path)
    except CheckpointError as exc:
        raise CliError(f'--init-from {path}: {exc}') from None


def fine_tuning_config(config: DeepConfig, dataset: Dataset, amplitude: float | None,
                       seed: int, path: Path) -> DeepConfig:
    """The checkpoint's configuration (amplitude and seed as given) if it fits the data."""
    height, width = dataset.train_images.shape[1:3]
    if config.input_shape != (1, int(height), int(width)) or \
            config.n_classes != dataset.n_classes:
        raise CliError(f'--init-from {path}: made for {config.input_shape} inputs and '
                       f'{config.n_classes} classes, not {dataset.name}\'s {height}x{width} '
                       f'images and {dataset.n_classes} classes')
    lif = config.lif if amplitude is None else dataclasses.replace(config.lif,
                                                                   amplitude=amplitude)
    return dataclasses.replace(config, lif=lif, seed=seed)


def validation_fraction(given: float | None, parent: dict[str, Any], dataset: str) -> float:
    """--validation-fraction, else what the --init-from checkpoint held out of the same
    dataset (its held-out digits stay unseen), else the default."""
    if given is not None:
        return given
    inherited = recorded_validation_fraction(parent, dataset)
    return DEFAULT_VALIDATION_FRACTION if inherited is None else inherited


def unit_images(images: np.ndarray) -> np.ndarray:
    """(n, h, w) frames as float32 intensities in [0, 1], as perception reads them."""
    return np.stack([to_intensity(img) for img in images]).astype(np.float32)


def write_plot(path: Path, history: Sequence[Any], title: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h.epoch for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [h.loss for h in history], marker='o')
    left.set(xlabel='epoch', ylabel='training loss (with noise)', title='loss')
    right.plot(epochs, [h.train_accuracy for h in history], marker='o', label='train')
    if history and history[0].validation_accuracy is not None:
        right.plot(epochs, [h.validation_accuracy for h in history], marker='o',
                   label='validation')
    right.set(xlabel='epoch', ylabel='accuracy (rate network, no noise)', title='accuracy')
    right.legend()
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp.png')
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    _check_numbers(args)
    check_out_file('--out', args.out, '.npz')
    if args.plot is not None:
        check_out_file('--plot', args.plot, '.png')
    hidden = parse_layers(args.arch)
    initial, parent = _initial_network(args.init_from)
    train = _import_training()
    dataset = load(args.dataset)
    amplitude = args.amplitude if args.rate_gain is None else MNIST_AMPLITUDE / args.rate_gain
    converting = args.epochs == 0           # --init-from as it is, run with other constants
    points = args.spiking_points or ()
    settings = train.TrainSettings(**{name: value for name, value in _given(args).items()
                                      if name != 'epochs' or not converting},
                                   spiking_points=points)
    if initial is None:
        config = build_config(dataset, hidden, amplitude, settings.seed, args.arch,
                              args.integration or 'exact')
    else:
        config = fine_tuning_config(initial.config, dataset, amplitude, settings.seed,
                                    args.init_from)
        if args.integration:
            config = dataclasses.replace(config,
                                         lif=config.lif.with_integration(args.integration))
    if args.readout_learning_rate is not None:
        config = dataclasses.replace(config, readout_learning_rate=args.readout_learning_rate)
    if points:
        try:
            train.check_trainable(config)
        except ValueError as exc:
            raise CliError(f'--spiking-points: {exc}') from None
    fraction = validation_fraction(args.validation_fraction, parent, dataset.name)
    if fraction > 0:
        split = validation_split(dataset, fraction)
        fit, validation = (split.train_images, split.train_labels), (split.test_images,
                                                                     split.test_labels)
    else:
        fit, validation = (dataset.train_images, dataset.train_labels), (None, None)
    provenance = {
        'tool': 'topspark-train-deep', 'package_version': __version__,
        'jax_version': train.jax.__version__, 'optax_version': train.optax.__version__,
        'trained_at': datetime.now(timezone.utc).isoformat(timespec='seconds'),
        'dataset': dataset.name, 'n_train': len(fit[1]),
        'init_from': None if initial is None else str(args.init_from),
        'init_from_metadata': parent or None,       # the parent's provenance, kept whole
        'n_validation': 0 if validation[1] is None else len(validation[1]),
        'n_test': len(dataset.test_labels),
        'arch': args.arch if initial is None else f'as {args.init_from}',
        'amplitude': config.lif.amplitude,
        'training_rate_gain': MNIST_AMPLITUDE / config.lif.amplitude,
        'integration': config.lif.integration,
        'validation_fraction': fraction,
        'training': {'epochs': 0} if converting else {
                     'epochs': settings.epochs, 'batch_size': settings.batch_size,
                     'learning_rate': settings.learning_rate,
                     'cosine_decay': settings.cosine_decay, 'seed': settings.seed,
                     'noise': settings.noise, 'noise_sigma_hz': settings.noise_sigma_hz,
                     'target_timesteps': settings.target_timesteps,
                     'dropout': settings.dropout, 'rate_penalty': settings.rate_penalty,
                     'augment_shift': settings.augment_shift,
                     'spiking_points': [dataclasses.asdict(p) for p in points]},
    }

    def history_dicts(history) -> list[dict[str, Any]]:
        return [dataclasses.asdict(h) for h in history]

    def on_epoch(network, history) -> None:
        save_deep_checkpoint(args.out, network, {
            **provenance, 'complete': False, 'epochs_done': len(history),
            'history': history_dicts(history)})

    started = time.perf_counter()
    start = None if initial is None else DeepNetwork(config, initial.weights, initial.biases)
    if converting:
        result = train.TrainResult(start)
    else:
        val_x = None if validation[0] is None else unit_images(validation[0])
        result = train.train_network(config, settings, unit_images(fit[0]), fit[1], val_x,
                                     validation[1], on_epoch=on_epoch,
                                     progress=not args.quiet, initial=start)
    test_x = unit_images(dataset.test_images)
    soft = train.rate_accuracy(result.network, test_x, dataset.test_labels, soft=True)
    hard = train.rate_accuracy(result.network, test_x, dataset.test_labels, soft=False)
    metadata = {**provenance, 'complete': True, 'epochs_done': len(result.history),
                'history': history_dicts(result.history), 'test_accuracy_soft_lif': soft,
                'test_accuracy_lif': hard, 'training_seconds': result.seconds,
                'wall_seconds_total': time.perf_counter() - started}
    save_deep_checkpoint(args.out, result.network, metadata)
    write_json(args.out.with_suffix('.json'), {**metadata, 'config': config.to_dict()})
    if args.plot is not None:                   # (refused with --epochs 0)
        write_plot(args.plot, result.history,
                   f'{dataset.name} {provenance["arch"]}, noise {settings.noise}, '
                   f'seed {settings.seed}: '
                   f'test {soft:.3f}')
    done = (f'converted to lif.integration {config.lif.integration}' if converting else
            f'{settings.epochs} epochs, noise {settings.noise}, gain '
            f'{MNIST_AMPLITUDE / config.lif.amplitude:g}, seed {settings.seed}, trained in '
            f'{result.seconds:.1f} s')
    print(f'{dataset.name}: arch {provenance["arch"]}, {done}: rate-network test accuracy '
          f'{soft:.4f} (soft-LIF) / {hard:.4f} (LIF) on {len(dataset.test_labels)} samples; '
          f'saved {args.out}')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
