# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-train: learn a Diehl & Cook network with STDP, label its neurons, save a checkpoint.

    topspark-train --dataset mnist_5k --neurons 400 --timesteps 350 --epochs 3 \
        --rule pair --inhibition layer --seed 0 --out model.npz
    topspark-train --init config/model_n400.npz --profile config/profile_n400 \
        --timesteps 30 --epochs 1 --dataset new.npz --out adapted.npz     # online, as on a robot

Two training modes: from scratch (a fresh network), or online with --init (continue a
checkpoint on new data, what perception does on the robot). A profile is made for one of them
(its made_for.training; the shipped profile_n400: online after 3 epochs at T0 = 350); a run in
the other mode gets a warning, as its accuracy will not be the profile's.

Writes MODEL.npz after every epoch (atomically; resume an interrupted run with --init MODEL.npz)
and, at the end, with the neuron labels, plus MODEL.json with the accuracy on the dataset's
test split. The checkpoint keeps the model's base configuration (a profile's parameters for T
are applied at run time, never saved as the base) and its provenance in the metadata.
The accuracy printed is the one topspark-evaluate gives for MODEL.npz at the same T (and
profile): evaluation does not advance the model's Poisson seeds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..snn import load_checkpoint, Network, NetworkConfig, replace_params, save_checkpoint
from ..snn.config import INHIBITION_VARIANTS, LEARNING_RULES
from ..snn.experiment import evaluate, label, train
from ..topspark import load_profile, Profile
from .common import (add_dataset_argument, check_memory, check_out_file, check_positive,
                     CliError, load, run_cli, warn, write_json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-train', description=__doc__.split('\n')[0],
                                     epilog='Modes: from scratch (default), or online with '
                                     '--init. A --profile states the mode it was made for; '
                                     'training in the other mode is warned about.')
    add_dataset_argument(parser)
    parser.add_argument('--config', type=Path, help='network configuration YAML (flags override)')
    parser.add_argument('--init', type=Path, metavar='MODEL.npz',
                        help='continue training this checkpoint (online mode: the network, '
                             'its configuration and its provenance are kept); also resumes an '
                             'interrupted run from its per-epoch checkpoint')
    parser.add_argument('--neurons', type=int, help='excitatory neurons N (default 400)')
    parser.add_argument('--timesteps', type=int, help='timesteps per sample T (default 350, '
                        "or the model's T0 with --init)")
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--rule', choices=LEARNING_RULES, help='STDP rule (default pair)')
    parser.add_argument('--inhibition', choices=INHIBITION_VARIANTS,
                        help='lateral inhibition variant (default layer)')
    parser.add_argument('--seed', type=int, help='seed of weights and Poisson inputs (default 0)')
    parser.add_argument('--out', type=Path, required=True, help='checkpoint path (.npz)')
    parser.add_argument('--metrics', type=Path, help='metrics JSON (default: OUT with .json)')
    parser.add_argument('--profile', type=Path,
                        help='TopSpark profile: use its enhanced parameters for --timesteps (a '
                             'T it lists); its network is the base unless --config or --init '
                             'is given, and the model must be one it was made for')
    parser.add_argument('--quiet', action='store_true', help='no progress bars')
    return parser


class Plan:
    """What one run trains: the base configuration (saved), the one it runs with (base +
    the profile's parameters for T), and where it started from."""

    def __init__(self, base: NetworkConfig, run: NetworkConfig, params: dict[str, Any],
                 init: tuple[Network, dict[str, Any]] | None) -> None:
        self.base, self.run, self.params, self.init = base, run, params, init


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Check every flag against the others (and the profile against the model) before any
    data is loaded or any network built."""
    check_positive('--neurons', args.neurons)
    check_positive('--timesteps', args.timesteps)
    check_positive('--epochs', args.epochs, 0)
    check_positive('--seed', args.seed, 0)
    profile = load_profile(args.profile) if args.profile else None
    init = None
    if args.init:
        clash = [flag for flag, value in (('--config', args.config), ('--neurons', args.neurons),
                                          ('--rule', args.rule),
                                          ('--inhibition', args.inhibition)) if value]
        if clash:
            raise CliError(f'--init {args.init}: the checkpoint fixes the network; drop '
                           f'{", ".join(clash)}')
        network, _, meta = load_checkpoint(args.init)
        base = network.config
        init = (network, meta)
    elif args.config:
        base = NetworkConfig.from_yaml(args.config)
    elif profile is not None and profile.network:
        base = NetworkConfig.from_dict(profile.network)
    else:
        base = NetworkConfig()
    flags = (('n_neurons', args.neurons), ('seed', args.seed),
             ('learning.rule', args.rule), ('inhibition.variant', args.inhibition))
    overrides = {key: value for key, value in flags if value is not None}
    if overrides:
        base = replace_params(base, overrides)
    if profile is None and not args.init and args.timesteps:
        base = replace_params(base, {'timesteps': args.timesteps})    # the model's own T
    T = args.timesteps or base.timesteps
    check_memory(base, T, '--neurons/--timesteps')
    params: dict[str, Any] = {}
    if profile is not None:
        params = _profile_params(profile, base, T, 'online' if init else 'scratch')
    run = replace_params(base, {**params, 'timesteps': T, **overrides})
    return Plan(base, run, params, init)


def _profile_params(profile: Profile, base: NetworkConfig, T: int, mode: str) -> dict[str, Any]:
    profile.check_model(base, 'frames')
    note = profile.training_mode_note(mode)
    if note:
        warn(note)
    return profile.params_at(T)


def _save(path: Path, network: Network, plan: Plan, readout: Any,
          metadata: dict[str, Any]) -> None:
    """Write the network with its base configuration (never the run's enhanced one)."""
    run_config = network.config
    network.config = plan.base
    try:
        save_checkpoint(path, network, readout, metadata)
    finally:
        network.config = run_config


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_out_file('--out', args.out, '.npz')
    if args.metrics:
        check_out_file('--metrics', args.metrics)
    plan = plan_from_args(args)
    dataset = load(args.dataset)
    dataset.check_classes(plan.base.n_classes)
    check_memory(plan.run, plan.run.timesteps, '--neurons/--timesteps/--dataset',
                 samples=len(dataset.train_labels) + len(dataset.test_labels))
    progress = not args.quiet
    if plan.init is not None:
        network = plan.init[0]
        network.config = plan.run
    else:
        network = Network(plan.run)
    T = plan.run.timesteps
    provenance = {
        'dataset': dataset.name, 'epochs': args.epochs, 'timesteps': T,
        'training': 'online' if plan.init else 'scratch',
        **({'init': str(args.init), 'init_metadata': plan.init[1]} if plan.init else {}),
        **({'profile': str(args.profile), 'profile_params': plan.params}
           if args.profile else {})}
    train_prob = network.input_probability(dataset.train_images)
    test_prob = network.input_probability(dataset.test_images)
    started = time.time()
    parts = []
    for epoch in range(args.epochs):
        parts.append(train(network, train_prob, T, 1, progress, of=(epoch, args.epochs)))
        _save(args.out, network, plan, None,
              {**provenance, 'epochs_done': epoch + 1, 'complete': False})
    training = _merge(parts)
    readout = label(network, train_prob, dataset.train_labels, T, progress)
    result = evaluate(network, readout, test_prob, dataset.test_labels, T, progress)
    metrics = {
        'dataset': dataset.name, 'epochs': args.epochs, 'config': plan.run.to_dict(),
        'base_config': plan.base.to_dict(),
        'train': training, 'test': result.summary(), 'accuracy': result.accuracy,
        'samples': result.samples, 'seconds': result.seconds,
        'wall_seconds_total': time.time() - started,
    }
    _save(args.out, network, plan, readout,
          {**provenance, 'epochs_done': args.epochs, 'complete': True,
           'test_accuracy': result.accuracy})
    write_json(args.metrics or args.out.with_suffix('.json'), metrics)
    config = plan.run
    rate = training['samples'] / max(training['seconds'], 1e-9)
    print(f'{dataset.name}: N={config.n_neurons} T={T} epochs={args.epochs} '
          f'({provenance["training"]}) rule={config.learning.rule} '
          f'inhibition={config.inhibition.variant} seed={config.seed}: test accuracy '
          f'{result.accuracy:.4f} on {result.samples} samples ({rate:.0f} training samples/s); '
          f'saved {args.out}')


def _merge(parts: list[dict[str, float]]) -> dict[str, float]:
    """One summary of per-epoch training summaries (sample-weighted means)."""
    samples = sum(p['samples'] for p in parts)
    merged = {'seconds': sum(p['seconds'] for p in parts), 'samples': samples}
    for key in (parts[0] if parts else {}):
        if key not in merged:
            merged[key] = (sum(p[key] * p['samples'] for p in parts) / samples
                           if samples else 0.0)
    return merged


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
