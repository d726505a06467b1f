# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-select: the timestep a TopSpark profile prescribes for given requirements.

Usage::

    topspark-select --profile config/profile_n400 --accuracy-tolerance 0.02 \
        [--latency-budget 0.0001] [--energy-budget 2e-5] [--model MODEL.npz] [--json]

With --model, the model must be one the profile was made for (else exit 2, both named).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..models import load_model
from ..topspark import choose, load_profile, ProfileError, Requirements
from .common import CliError, run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-select', description=__doc__.split('\n')[0])
    parser.add_argument('--profile', type=Path, required=True,
                        help='profile directory or profile.yaml')
    parser.add_argument('--accuracy-tolerance', type=float, default=0.02,
                        help='allowed accuracy loss against T0, as a fraction (0.02 = 2 pp)')
    parser.add_argument('--latency-budget', type=float, help='seconds per inference sample')
    parser.add_argument('--energy-budget', type=float, help='joules per inference sample')
    parser.add_argument('--model', type=Path,
                        help='checkpoint the choice is for: refused unless the profile was '
                             'made for its network and T0')
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    return parser


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    try:
        profile = load_profile(args.profile)
        req = Requirements(args.accuracy_tolerance, args.latency_budget, args.energy_budget)
    except (ProfileError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.model:
        model, _ = load_model(args.model)            # either model family
        model.check_profile(profile)
    choice = choose(profile, req)
    if args.json:
        print(json.dumps(choice.to_dict(), sort_keys=True))
    else:
        print(f'timesteps: {choice.timesteps}\nreason: {choice.reason}')
        if choice.params:
            print('parameters: ' + ', '.join(f'{k}={v}' for k, v in choice.params.items()))


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
