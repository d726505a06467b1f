"""topspark-train: learn a Diehl & Cook network with STDP, label its neurons, save a checkpoint.

    topspark-train --dataset mnist_5k --neurons 400 --timesteps 350 --epochs 3 \
        --rule pair --inhibition layer --seed 0 --out model.npz

Writes MODEL.npz and, next to it, MODEL.json with the accuracy on the dataset's test split.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..snn import Network, NetworkConfig, replace_params, save_checkpoint
from ..snn.config import INHIBITION_VARIANTS, LEARNING_RULES
from ..snn.experiment import evaluate, label, train
from ..topspark import load_profile
from .common import CliError, add_dataset_argument, load, run_cli, write_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-train', description=__doc__.split('\n')[0])
    add_dataset_argument(parser)
    parser.add_argument('--config', type=Path, help='network configuration YAML (flags override)')
    parser.add_argument('--neurons', type=int, help='excitatory neurons N (default 400)')
    parser.add_argument('--timesteps', type=int, help='timesteps per sample T (default 350)')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--rule', choices=LEARNING_RULES, help='STDP rule (default pair)')
    parser.add_argument('--inhibition', choices=INHIBITION_VARIANTS,
                        help='lateral inhibition variant (default layer)')
    parser.add_argument('--seed', type=int, help='seed of weights and Poisson inputs (default 0)')
    parser.add_argument('--out', type=Path, required=True, help='checkpoint path (.npz)')
    parser.add_argument('--metrics', type=Path, help='metrics JSON (default: OUT with .json)')
    parser.add_argument('--profile', type=Path,
                        help="TopSpark profile: use its enhanced parameters for --timesteps "
                             "(its network is the base unless --config is given)")
    parser.add_argument('--quiet', action='store_true', help='no progress bars')
    return parser


def config_from_args(args: argparse.Namespace) -> NetworkConfig:
    profile = load_profile(args.profile) if args.profile else None
    if args.config:
        config = NetworkConfig.from_yaml(args.config)
    elif profile is not None and profile.network:
        config = NetworkConfig.from_dict(profile.network)
    else:
        config = NetworkConfig()
    flags = (('n_neurons', args.neurons), ('timesteps', args.timesteps), ('seed', args.seed),
             ('learning.rule', args.rule), ('inhibition.variant', args.inhibition))
    overrides = {key: value for key, value in flags if value is not None}
    if profile is not None:
        overrides = {**profile.params_for(args.timesteps or config.timesteps), **overrides}
    return replace_params(config, overrides) if overrides else config


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    if args.out.suffix != '.npz':
        raise CliError(f'--out {args.out}: the checkpoint must be an .npz file')
    if args.epochs < 0:
        raise CliError(f'--epochs must be >= 0, got {args.epochs}')
    config = config_from_args(args)
    dataset = load(args.dataset)
    progress = not args.quiet
    network = Network(config)
    T = config.timesteps
    train_prob = network.input_probability(dataset.train_images)
    test_prob = network.input_probability(dataset.test_images)
    started = time.time()
    training = train(network, train_prob, T, args.epochs, progress)
    readout = label(network, train_prob, dataset.train_labels, T, progress)
    result = evaluate(network, readout, test_prob, dataset.test_labels, T, progress)
    metrics = {
        'dataset': dataset.name, 'epochs': args.epochs, 'config': config.to_dict(),
        'train': training, 'test': result.summary(), 'accuracy': result.accuracy,
        'samples': result.samples, 'seconds': result.seconds,
        'wall_seconds_total': time.time() - started,
    }
    save_checkpoint(args.out, network, readout,
                    {'dataset': dataset.name, 'epochs': args.epochs, 'timesteps': T,
                     'test_accuracy': result.accuracy})
    write_json(args.metrics or args.out.with_suffix('.json'), metrics)
    print(f'{dataset.name}: N={config.n_neurons} T={T} epochs={args.epochs} '
          f'rule={config.learning.rule} inhibition={config.inhibition.variant} '
          f'seed={config.seed}: test accuracy {result.accuracy:.4f} on {result.samples} samples '
          f'({training["samples"] / max(training["seconds"], 1e-9):.0f} training samples/s); '
          f'saved {args.out}')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
