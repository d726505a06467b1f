# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Does a profile's choice hold for other seeds? Test accuracy at T0 and at the chosen T.

    python benchmarks/topspark_seeds.py config/profile_n400 --seeds 0 1 2 3 4
    python benchmarks/topspark_seeds.py PROFILE --seeds 1 2 --timesteps 50 --out /tmp/seeds
    python benchmarks/topspark_seeds.py PROFILE --t0-override event_keep_fraction=0.5

A profile is measured with one seed (the network's initial weights and Poisson input). For
each seed this reruns, with the profile's own network, dataset, workload and training mode, the
three test-split points the headline rests on: T0 with the T0 parameters, the chosen T (policy,
``--tolerance``; or ``--timesteps``) with the profile's enhanced parameters, and the same T with
the T0 parameters. Points run through the sweep's Runner (``run_point``, cached under
``--out``), so the numbers are the sweep's own. Prints a table (mean and standard deviation
over the seeds) and writes ``seeds.json`` and ``seeds.md`` to ``--out``. ``--t0-override``
adds T0 with other parameters, to see whether the T0 baseline leaves accuracy on the table.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
from pathlib import Path
import sys

import numpy as np
from tqdm import tqdm

from topspark_ros.topspark import choose, load_profile, Requirements
from topspark_ros.topspark.sweep import Point, Runner, spec_from_profile, SweepSpec

ROOT = Path(__file__).resolve().parent.parent


def spec_for(profile, seed: int, out: Path) -> SweepSpec:
    """The profile's sweep settings for ``seed``, working in its own directory under ``out``."""
    return replace(spec_from_profile(profile, out / f'seed{seed}'), seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('profile', help='profile directory or profile.yaml')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--tolerance', type=float, default=0.02)
    parser.add_argument('--timesteps', type=int, help='T to check (default: the policy choice)')
    parser.add_argument('--out', type=Path, help='work and result directory '
                        '(default: runs/seeds_<profile name>)')
    parser.add_argument('--t0-override', action='append', default=[], metavar='NAME=VALUE',
                        help='also test T0 with this dotted parameter (repeatable)')
    args = parser.parse_args(argv)
    try:
        t0_over = {k: float(v) for k, v in (o.split('=', 1) for o in args.t0_override)}
    except ValueError:
        parser.error('--t0-override takes NAME=VALUE with a number')

    profile = load_profile(args.profile)
    T0 = profile.baseline_timesteps
    T = args.timesteps or choose(profile, Requirements(args.tolerance)).timesteps
    params = profile.params_for(T)
    name = Path(args.profile).name if Path(args.profile).is_dir() else Path(
        args.profile).parent.name
    out = args.out or ROOT / 'runs' / f'seeds_{name}'
    points = {'T0': Point('test', T0), 'T enhanced': Point('test', T, tuple(sorted(
        params.items()))), 'T with T0 parameters': Point('test', T)}
    if t0_over:
        points['T0, ' + ', '.join(args.t0_override)] = Point('test', T0, tuple(sorted(
            t0_over.items())))
    rows = []
    for seed in tqdm(args.seeds, desc='seeds', unit='seed'):
        runner = Runner(spec_for(profile, seed, out), out / 'points', progress=False)
        results = runner.run(points.values(), f'seed {seed}')   # pretrains once, cached
        rows.append({'seed': seed, **{label: r['accuracy'] for label, r in zip(points, results)}})
    acc = {label: np.array([r[label] for r in rows]) for label in points}
    drop = acc['T0'] - acc['T enhanced']
    summary = {'profile': str(args.profile), 'T0': T0, 'T': T, 'enhanced_parameters': params,
               'seeds': rows,
               'mean': {label: float(a.mean()) for label, a in acc.items()},
               'std': {label: float(a.std(ddof=1)) if len(a) > 1 else 0.0
                       for label, a in acc.items()},
               'loss_pp_mean': float(drop.mean() * 100), 'loss_pp_max': float(drop.max() * 100),
               'within_tolerance': int((drop <= args.tolerance + 1e-12).sum())}
    lines = [f'Test accuracy (%) of `{args.profile}` over seeds {args.seeds}: T0 = {T0}, '
             f'chosen T = {T}', '',
             '| seed | ' + ' | '.join(points) + ' |', '|---|' + '---|' * len(points)]
    lines += [f'| {r["seed"]} | ' + ' | '.join(f'{r[label] * 100:.1f}' for label in points)
              + ' |' for r in rows]
    lines.append('| mean +/- sd | ' + ' | '.join(
        f'{summary["mean"][label] * 100:.1f} +/- {summary["std"][label] * 100:.1f}'
        for label in points) + ' |')
    lines += ['', f'Loss at T against T0: mean {summary["loss_pp_mean"]:.1f} pp, worst '
              f'{summary["loss_pp_max"]:.1f} pp; within {args.tolerance * 100:g} pp for '
              f'{summary["within_tolerance"]} of {len(rows)} seeds.']
    out.mkdir(parents=True, exist_ok=True)
    (out / 'seeds.json').write_text(json.dumps(summary, indent=1) + '\n')
    (out / 'seeds.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
