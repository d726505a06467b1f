"""topspark-profile: run TopSpark's four steps for a network and write a profile directory.

    topspark-profile --dataset mnist_5k --neurons 400 --epochs 3 --out config/profile_n400
    topspark-profile --quick --out /tmp/profile            # small enough for a test
    topspark-profile ... --dask tcp://scheduler:8786        # run the points on a Dask cluster

Writes profile.yaml (what the governor loads), report.md, details.json and PNG plots. Finished
points are cached under OUT/points, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .. import energy
from ..snn import NetworkConfig, replace_params
from ..snn.config import INHIBITION_VARIANTS, LEARNING_RULES
from ..topspark.policy import Requirements
from ..topspark.report import plot_profile, write_report
from ..topspark.sweep import DEFAULT_TIMESTEPS, Runner, run_sweep, SweepSpec
from .common import CliError, add_dataset_argument, run_cli, write_json


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
                        'means over them and --seed (the search stays on --seed)')
    parser.add_argument('--pretrain-epochs', type=int, default=0,
                        help='start every point from a network trained this many epochs at '
                             'T0, then train --epochs online at T (the robot workflow); '
                             '0: train from scratch at T')
    parser.add_argument('--workload', choices=('frames', 'events'), default='frames',
                        help='frames (Poisson-coded) or events (the digits as emulated '
                             'event-camera streams, see topspark_ros/dvs.py)')
    parser.add_argument('--small-grid', action='store_true',
                        help='search 8 enhancement rules instead of 48')
    parser.add_argument('--platform', default='loihi', choices=sorted(energy.PLATFORMS),
                        help='energy platform for the energy columns of the profile')
    parser.add_argument('--cpu-power-w', type=float, default=15.0)
    parser.add_argument('--accuracy-tolerance', type=float, default=0.02,
                        help='for the choice shown in the report (fraction, 0.02 = 2 pp)')
    parser.add_argument('--workers', type=int, default=2, help='processes (default 2)')
    parser.add_argument('--dask', metavar='ADDRESS', help='Dask scheduler address')
    parser.add_argument('--quick', action='store_true',
                        help='N=30, 400 digits, T in {100, 50, 25}, 1 epoch, 3 rules')
    parser.add_argument('--out', type=Path, required=True, help='profile directory')
    parser.add_argument('--quiet', action='store_true')
    return parser


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
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
        if dataset == 'mnist_5k':
            dataset = str(_quick_dataset(args.out))
    config = replace_params(config, over) if over else config
    if any(T < 1 for T in timesteps) or epochs < 1:
        raise CliError('--timesteps and --epochs must be >= 1')
    try:
        requirements = Requirements(args.accuracy_tolerance)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.pretrain_epochs < 0:
        raise CliError('--pretrain-epochs must be >= 0')
    spec = SweepSpec(config.to_dict(), dataset, timesteps, epochs, args.seed,
                     args.pretrain_epochs, str(args.out), args.platform, args.cpu_power_w,
                     quick=args.quick, workload=args.workload, small_grid=args.small_grid,
                     test_seeds=tuple(s for s in dict.fromkeys(args.test_seeds)
                                      if s != args.seed))
    runner = Runner(spec, args.out / 'points', args.workers, args.dask, not args.quiet)
    profile, details = run_sweep(spec, args.out, runner)
    profile.save(args.out / 'profile.yaml')
    write_json(args.out / 'details.json', details)
    plot_profile(profile, args.out)
    command = 'topspark-profile ' + ' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report = write_report(profile, details, args.out, requirements, command)
    print(f'wrote {args.out / "profile.yaml"} and {report}')
    print(json.dumps({'timesteps': profile.timesteps,
                      'accuracy': [round(e.accuracy, 4) for e in profile.entries]}))


def _quick_dataset(out: Path) -> Path:
    """400 training and 100 test digits of mnist_5k, so --quick runs in seconds."""
    import numpy as np

    from ..datasets import mnist_5k

    data = mnist_5k()
    path = out / 'quick_dataset.npz'
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, train_images=data.train_images[:400], train_labels=data.train_labels[:400],
             test_images=data.test_images[:100], test_labels=data.test_labels[:100])
    return path


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
