# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-profile: run TopSpark's four steps for a network and write a profile directory.

    topspark-profile --dataset mnist_5k --neurons 400 --epochs 3 --out config/profile_n400
    topspark-profile --quick --out /tmp/profile            # small enough for a test
    topspark-profile ... --dask tcp://scheduler:8786        # run the points on a Dask cluster
    topspark-profile --retime config/profile_n400           # time it again on this machine

Writes profile.yaml (what the governor loads), report.md, details.json and PNG plots. Finished
points are cached under OUT/points, so an interrupted sweep resumes where it stopped.
Before any point runs, the whole grid is checked (every --timesteps at most T0, the dataset,
the output folder, the memory a worker needs); OUT is locked while the sweep runs (a second
sweep on it is refused with the holder's pid), and an OUT holding results of other settings
(network, dataset, epochs, seed, pretraining, workload) is refused instead of mixed.
The profile records what it was made for (network shape, T0, workload, training mode).
``--retime`` measures a finished profile's latency columns again (on the robot's computer, or
on a quiet machine) and rewrites its profile.yaml, report and plots; accuracies and op-count
energies do not depend on the machine and are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from .. import energy
from ..snn import NetworkConfig, replace_params
from ..snn.config import INHIBITION_VARIANTS, LEARNING_RULES
from ..topspark.policy import Requirements
from ..topspark.profile import load_profile, Profile, ProfileError
from ..topspark.report import plot_profile, write_report
from ..topspark.sweep import (claim_settings, DEFAULT_TIMESTEPS, FINALISTS, retime_profile,
                              Runner, run_sweep, sweep_lock, SweepSpec)
from .common import (add_dataset_argument, check_memory, check_out_dir, check_positive, CliError,
                     load, run_cli, write_json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-profile', description=__doc__.split('\n')[0])
    add_dataset_argument(parser)
    parser.add_argument('--config', type=Path, help='network configuration YAML (T0 parameters)')
    parser.add_argument('--neurons', type=int)
    parser.add_argument('--rule', choices=LEARNING_RULES)
    parser.add_argument('--inhibition', choices=INHIBITION_VARIANTS)
    parser.add_argument('--baseline-timesteps', type=int, help='T0 (default: the config, 350)')
    parser.add_argument('--timesteps', type=int, nargs='+', help='T values to profile')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--test-seeds', type=int, nargs='+', default=[], metavar='SEED',
                        help="more seeds for the test points: the profile's accuracies become "
                        'means over them and --seed')
    parser.add_argument('--search-seeds', type=int, nargs='+', default=[], metavar='SEED',
                        help=f'more seeds for the enhancement search: per T the {FINALISTS} '
                             'rules most accurate on --seed, each also with fast inhibition, '
                             'run again on these seeds, and the choice uses the mean '
                             'validation accuracy (default: --seed alone)')
    parser.add_argument('--pretrain-epochs', type=int, default=0,
                        help='start every point from a network trained this many epochs at '
                             'T0, then train --epochs online at T (the robot workflow); '
                             '0: train from scratch at T')
    parser.add_argument('--workload', choices=('frames', 'events'), default='frames',
                        help='frames (Poisson-coded) or events (the digits as emulated '
                             'event-camera streams, see topspark_ros/dvs.py)')
    parser.add_argument('--small-grid', action='store_true',
                        help='search 16 enhancement rules instead of 144 (events: 16, 72)')
    parser.add_argument('--selection-margin', type=float, default=0.005,
                        help='per T keep the rule with the fewest spikes among those within '
                             'this much validation accuracy of the best (fraction; default '
                             '0.005 = 0.5 pp; 0: the most accurate)')
    parser.add_argument('--platform', default='loihi', choices=sorted(energy.PLATFORMS),
                        help='energy platform for the energy columns of the profile')
    parser.add_argument('--cpu-power-w', type=float, default=15.0)
    parser.add_argument('--accuracy-tolerance', type=float, default=0.02,
                        help='for the choice shown in the report (fraction, 0.02 = 2 pp)')
    parser.add_argument('--workers', type=int, default=2, help='processes (default 2)')
    parser.add_argument('--dask', metavar='ADDRESS', help='Dask scheduler address')
    parser.add_argument('--quick', action='store_true',
                        help='N=30, 400 digits, T in {100, 50, 25}, 1 epoch, 3 rules')
    parser.add_argument('--out', type=Path, help='profile directory (required unless --retime)')
    parser.add_argument('--retime', type=Path, metavar='PROFILE_DIR',
                        help='re-measure the latency of this profile on this machine and '
                             'rewrite it in place (or into --out)')
    parser.add_argument('--samples', type=int, default=1000,
                        help='samples per latency measurement with --retime (default 1000)')
    parser.add_argument('--quiet', action='store_true')
    return parser


def _other_seeds(seeds: list[int], seed: int) -> tuple[int, ...]:
    return tuple(s for s in dict.fromkeys(seeds) if s != seed)


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    command = 'topspark-profile ' + ' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    if args.retime:
        _retime(args, command)
        return
    if args.out is None:
        raise CliError('--out is required (the profile directory to write)')
    check_out_dir('--out', args.out)
    check_positive('--workers', args.workers)
    check_positive('--neurons', args.neurons)
    check_positive('--baseline-timesteps', args.baseline_timesteps)
    check_positive('--epochs', args.epochs)
    check_positive('--pretrain-epochs', args.pretrain_epochs, 0)
    check_positive('--cpu-power-w', args.cpu_power_w, 0)
    for flag, seeds in (('--seed', [args.seed]), ('--test-seeds', args.test_seeds),
                        ('--search-seeds', args.search_seeds)):
        for seed in seeds:
            check_positive(flag, seed, 0)
    config = NetworkConfig.from_yaml(args.config) if args.config else NetworkConfig()
    flags = (('n_neurons', args.neurons), ('learning.rule', args.rule),
             ('inhibition.variant', args.inhibition), ('timesteps', args.baseline_timesteps))
    over = {k: v for k, v in flags if v is not None}
    timesteps = tuple(args.timesteps or DEFAULT_TIMESTEPS)
    dataset, epochs = args.dataset, args.epochs
    if args.quick:
        over.setdefault('n_neurons', 30)
        over.setdefault('timesteps', 100)
        timesteps = tuple(args.timesteps or (100, 50, 25))
        epochs = 1
    config = replace_params(config, over) if over else config
    _check_grid(timesteps, config.timesteps)
    check_memory(config, config.timesteps, '--neurons/--timesteps',
                 1 if args.dask else args.workers)
    try:
        requirements = Requirements(args.accuracy_tolerance)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not 0.0 <= args.selection_margin < 1.0:
        raise CliError(f'--selection-margin must be a fraction in [0, 1), got '
                       f'{args.selection_margin}')
    with sweep_lock(args.out):
        if args.quick and dataset == 'mnist_5k':
            dataset = str(_quick_dataset(args.out))
        load(dataset).check_classes(config.n_classes)
        spec = SweepSpec(config.to_dict(), dataset, timesteps, epochs, args.seed,
                         args.pretrain_epochs, str(args.out), args.platform, args.cpu_power_w,
                         quick=args.quick, workload=args.workload, small_grid=args.small_grid,
                         selection_margin=args.selection_margin,
                         test_seeds=_other_seeds(args.test_seeds, args.seed),
                         search_seeds=_other_seeds(args.search_seeds, args.seed))
        claim_settings(spec, args.out)
        runner = Runner(spec, args.out / 'points', args.workers, args.dask, not args.quiet)
        profile, details = run_sweep(spec, args.out, runner)
        profile = replace(profile, metadata={**profile.metadata, 'command': command})
        profile.save(args.out / 'profile.yaml')
        write_json(args.out / 'details.json', details)
        plot_profile(profile, args.out)
        report = write_report(profile, details, args.out, requirements, command)
    print(f'wrote {args.out / "profile.yaml"} and {report}')
    print(json.dumps({'timesteps': profile.timesteps,
                      'accuracy': [round(e.accuracy, 4) for e in profile.entries]}))


def _check_grid(timesteps: tuple[int, ...], baseline: int) -> None:
    """The T grid, checked before the sweep: each T in 1..T0 (a T above T0 has no meaning for
    TopSpark, which shortens the presentation, and would fail at its end)."""
    bad = sorted(T for T in timesteps if T < 1)
    if bad:
        raise CliError(f'--timesteps must be >= 1, got {bad}')
    above = sorted(T for T in timesteps if T > baseline)
    if above:
        raise CliError(f'--timesteps {above} exceed T0 = {baseline} (--baseline-timesteps): '
                       'TopSpark profiles shorter presentations than T0')


def _retime(args: argparse.Namespace, command: str) -> None:
    """--retime: the latency columns measured again on this machine, the rest kept."""
    source = args.retime if args.retime.is_dir() else args.retime.parent
    out = args.out or source
    check_positive('--samples', args.samples)
    try:
        requirements = Requirements(args.accuracy_tolerance)
        profile = load_profile(source)
    except (ValueError, ProfileError) as exc:
        raise CliError(str(exc)) from None
    check_out_dir('--out', out)
    with sweep_lock(out):
        _retime_locked(args, command, source, out, profile, requirements)


def _retime_locked(args: argparse.Namespace, command: str, source: Path, out: Path,
                   profile: Profile, requirements: Requirements) -> None:
    details_path = source / 'details.json'
    details = json.loads(details_path.read_text()) if details_path.is_file() else {}
    made_by = profile.metadata.get('command') or _command_in_report(source / 'report.md')
    profile = retime_profile(profile, out, args.samples, not args.quiet)
    profile = replace(profile, metadata={**profile.metadata, 'command': made_by,
                                         'retime_command': command})
    profile.save(out / 'profile.yaml')
    if out != source:
        write_json(out / 'details.json', details)
    plot_profile(profile, out)
    timed = profile.metadata['latency_timed_on']
    report = write_report(profile, details, out, requirements, made_by or command,
                          retimed=f'`{command}` ({timed["processor"]}, {timed["date"]})')
    print(f'wrote {out / "profile.yaml"} and {report}')
    print(json.dumps({'timesteps': profile.timesteps,
                      'latency_infer_us': [round(1e6 * e.latency_infer_s, 1)
                                           for e in profile.entries],
                      'latency_train_us': [round(1e6 * e.latency_train_s, 1)
                                           for e in profile.entries]}))


def _command_in_report(report: Path) -> str | None:
    """The command a profile made before metadata kept it was regenerated with."""
    if report.is_file():
        match = re.search(r'^Regenerate: `([^`]+)`', report.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return None


def _quick_dataset(out: Path) -> Path:
    """400 training and 100 test digits of mnist_5k, so --quick runs in seconds (written only
    when missing or different: the points' cache keys hash the dataset file)."""
    import numpy as np

    from ..datasets import mnist_5k

    data = mnist_5k()
    arrays = {'train_images': data.train_images[:400], 'train_labels': data.train_labels[:400],
              'test_images': data.test_images[:100], 'test_labels': data.test_labels[:100]}
    path = out / 'quick_dataset.npz'
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as old:
                if all(np.array_equal(old[k], v) for k, v in arrays.items()):
                    return path
        except (OSError, ValueError, KeyError):
            pass
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp.npz')
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
