# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""Where a profile's time per sample goes, at the T you ask for.

    python benchmarks/latency_breakdown.py config/profile_n400 --timesteps 350 75
    python benchmarks/latency_breakdown.py docs/results/topspark_n400_wdep_events_online \
        --timesteps 350 50

For each T, with that T's enhanced parameters, on the networks and samples ``--retime`` times
(the profile's T0-trained timing network, 1,000 held-out samples): microseconds per sample for
inference; for the same inference with one excitatory neuron (what does not grow with N: Poisson
or regular encoding or event binning, and the per-step loop); for training; and for training with
renormalisation or depression switched off. The last two are rough shares: switching a part off
changes the weights and so the spikes that follow. Interleaved rounds, the best kept
(``best_seconds_per_sample``); compare rows of one run, not runs on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from topspark_ros.snn import Network, replace_params
from topspark_ros.topspark.profile import load_profile
from topspark_ros.topspark.sweep import (best_seconds_per_sample, spec_from_profile,
                                         timing_setups, TimingSetup)

_TRAINING_VARIANTS = {'train': {}, 'train, no renormalisation': {'learning.norm_total': 0.0},
                      'train, no depression': {'learning.nu_pre': 0.0}}


def _with(net: Network, overrides: dict) -> Network:
    """A copy of net with parameters changed, keeping its learned state."""
    out = copy.deepcopy(net)
    out.config = replace_params(net.config, overrides)
    return out


def _one_neuron(net: Network) -> Network:
    """A network with net's input parameters and a single excitatory neuron (fresh weights)."""
    return Network(replace_params(net.config, {'n_neurons': 1}))


def profile_timing_args(description: str, argv: list[str] | None
                        ) -> tuple[argparse.Namespace, list[TimingSetup]]:
    """The command line of the scripts that time a profile at chosen T (PROFILE --timesteps T
    ... [--samples N] [--rounds R]) and the profile's timing setups for those T."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('profile', type=Path, help='profile directory')
    parser.add_argument('--timesteps', type=int, nargs='+', required=True)
    parser.add_argument('--samples', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args(argv)

    profile = load_profile(args.profile)
    missing = [T for T in args.timesteps if T not in profile.timesteps]
    if missing:
        parser.error(f'{args.profile} has no entry for T = {missing}; it has '
                     f'{sorted(profile.timesteps)}')
    spec = spec_from_profile(profile, args.profile)
    return args, timing_setups(spec, [{'timesteps': T, **profile.entry(T).params}
                                      for T in args.timesteps], args.samples)


def main(argv: list[str] | None = None) -> int:
    args, setups = profile_timing_args(__doc__.split('\n')[0], argv)
    columns = ['inference', 'inference, one neuron', *_TRAINING_VARIANTS]
    runs = []
    for s in setups:
        runs.append((s.network, s.test_inputs, s.timesteps, False))
        runs.append((_one_neuron(s.network), s.test_inputs, s.timesteps, False))
        runs += [(_with(s.network, over), s.train_inputs, s.timesteps, True)
                 for over in _TRAINING_VARIANTS.values()]
    seconds = best_seconds_per_sample(runs, args.rounds, progress=True)

    print(f'{args.profile}: us per sample, best of {args.rounds} interleaved rounds, '
          f'{args.samples} samples')
    print('| T | ' + ' | '.join(columns) + ' |')
    print('|---' * (len(columns) + 1) + '|')
    for k, s in enumerate(setups):
        row = seconds[k * len(columns):(k + 1) * len(columns)]
        print(f'| {s.timesteps} | ' + ' | '.join(f'{1e6 * x:.1f}' for x in row) + ' |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
