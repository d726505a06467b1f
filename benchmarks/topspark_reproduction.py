# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark headline numbers from profiles: chosen T against T0, per profile and on average.

    python benchmarks/topspark_reproduction.py config/profile_n400 runs/profile_n400 ...
    python benchmarks/topspark_reproduction.py PROFILE... --plot docs/images/topspark_grid.png

For each profile the policy picks T for a 2 pp tolerance (``--tolerance``); the table gives the
latency reduction (inference and training, measured wall time, one thread), the energy
reduction in inference and training on event-driven platforms (Loihi, 45 nm CMOS: energy follows
spikes and neuron updates) and time-based ones (CPU measured time x power, and a clock-driven
dense accounting: energy follows T, as the paper measured on a GPU), and the accuracy change.
``--plot``: the same per profile as a PNG, against the paper's figures and the 5x goal.

Where the chosen T drops the inhibitory layer (fast inhibition: direct lateral inhibition, one
step) a second table compares its energy with T0 counted without the layer too: with the
layer's two-step delay, direct inhibition fires exactly the same spikes, so that is the T0
network on the same footing (``energy.without_inhibitory_layer``, from the T0 point's mean
counts in the profile's details.json); what is left is what the shorter T and its enhancement
bought.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
import sys

import numpy as np

from topspark_ros.energy import mean_energy, without_inhibitory_layer
from topspark_ros.topspark import choose, load_profile, Requirements

EVENT_AND_DENSE = ('loihi', 'cmos45', 'dense_gpu_like')


def ratios(path: str, tolerance: float) -> dict:
    prof = load_profile(path)
    choice = choose(prof, Requirements(tolerance))
    b, c = prof.baseline, choice.entry
    rule = prof.network['learning']['rule']
    rule = {'weight_dependent': 'w-dep'}.get(rule, rule)
    row = {'profile': path, 'T0': b.timesteps, 'T': c.timesteps,
           'label': (f"N{prof.network['n_neurons']} {rule}\n"
                     f"{prof.metadata.get('workload', 'frames')}, T={c.timesteps}"),
           'mode': ('online after T0 pretraining' if prof.metadata.get('pretrain_epochs_at_t0')
                    else 'from scratch at T'),
           'accuracy_T0': b.accuracy, 'accuracy_T': c.accuracy,
           'accuracy_T_baseline_params': c.accuracy_baseline_params,
           'latency_infer_x': b.latency_infer_s / c.latency_infer_s,
           'latency_train_x': b.latency_train_s / c.latency_train_s}
    for name in EVENT_AND_DENSE:
        eb, ec = b.extra['energy_by_platform'][name], c.extra['energy_by_platform'][name]
        row[f'{name}_infer_x'] = eb['infer_j'] / ec['infer_j']
        row[f'{name}_train_x'] = eb['train_j'] / ec['train_j']
    row['cpu_infer_x'] = b.extra['cpu_energy_infer_j'] / c.extra['cpu_energy_infer_j']
    row['cpu_train_x'] = b.extra['cpu_energy_train_j'] / c.extra['cpu_energy_train_j']
    row['same_structure'] = same_structure_ratios(path, prof, c)
    return row


def same_structure_ratios(path: str, prof, chosen) -> dict | None:
    """Energy ratios against T0 counted without the inhibitory layer, when the chosen T drops
    it and T0 has it (None otherwise: both have the same structure already)."""
    if (prof.network['inhibition']['variant'] != 'layer'
            or chosen.params.get('inhibition.variant') != 'direct'):
        return None
    details = json.loads((Path(path) / 'details.json').read_text())
    t0 = details['analysis'][str(prof.baseline.timesteps)]
    n_in, n = math.prod(prof.network['input_shape']), prof.network['n_neurons']
    out = {}
    for name in EVENT_AND_DENSE:
        for kind, learning in (('infer', False), ('train', True)):
            with_layer = mean_energy(t0[f'{kind}_ops'], name, learning, n_in, n, True)
            recorded = prof.baseline.extra['energy_by_platform'][name][f'{kind}_j']
            if not math.isclose(with_layer, recorded, rel_tol=1e-9):
                raise ValueError(f'{path}: details.json does not hold the T0 point of this '
                                 f'profile ({with_layer} J against {recorded} J)')
            without = mean_energy(without_inhibitory_layer(t0[f'{kind}_ops'], n), name,
                                  learning, n_in, n, False)
            out[f'{name}_{kind}_x'] = without / chosen.extra['energy_by_platform'][name][
                f'{kind}_j']
    return out


PAPER = {'latency': 3.9, 'train': 3.5, 'infer': 3.3}     # Putra & Shafique, IROS 2023
GOAL = 5.0


def plot(rows: list[dict], path: Path) -> None:
    """Latency and Loihi energy reductions per profile (bars) against the paper's figures and
    the 5x goal (lines), and the accuracy change at the chosen T with and without the
    enhancement against the 2 pp tolerance."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    x = np.arange(len(rows))
    bars = [('latency_infer_x', 'latency, inference'), ('latency_train_x', 'latency, training'),
            ('loihi_infer_x', 'energy (Loihi), inference'),
            ('loihi_train_x', 'energy (Loihi), training')]
    width = 0.8 / len(bars)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8.0, 1.3 * len(rows)), 8.0),
                                   sharex=True, height_ratios=(2, 1))
    for k, (key, name) in enumerate(bars):
        ax1.bar(x + (k - 1.5) * width, [r[key] for r in rows], width, label=name)
    for value, style, name in ((PAPER['latency'], '--', f"paper: latency {PAPER['latency']}x"),
                               (PAPER['train'], ':',
                                f"paper: energy {PAPER['train']}x (training)"),
                               (PAPER['infer'], '-.',
                                f"paper: energy {PAPER['infer']}x (inference)"),
                               (GOAL, '-', f'goal: {GOAL:g}x')):
        ax1.axhline(value, color='k', linestyle=style, linewidth=0.8, label=name)
    ax1.set_ylabel('T0 / chosen T (higher is better)')
    ax1.legend(fontsize=7, ncol=2, loc='upper left')
    t0 = sorted({int(r['T0']) for r in rows if 'T0' in r})
    ax1.set_title(f"TopSpark: chosen T against T0 = {', '.join(map(str, t0))} on the held-out "
                  'digits')
    enhanced = [100 * (r['accuracy_T'] - r['accuracy_T0']) for r in rows]
    baseline = [100 * (r['accuracy_T_baseline_params'] - r['accuracy_T0']) for r in rows]
    ax2.bar(x - 0.2, enhanced, 0.4, label='enhanced (profile)')
    ax2.bar(x + 0.2, baseline, 0.4, label='T0 parameters at T')
    ax2.axhline(-2.0, color='k', linestyle='--', linewidth=0.8, label='2 pp tolerance')
    low = max(-12.0, min(baseline + enhanced) - 1.0)
    ax2.set_ylim(low, max(3.0, max(enhanced) + 1.0))
    for k, value in enumerate(baseline):
        if value < low:                         # clipped: write its value on it
            ax2.text(x[k] + 0.2, low + 0.5, f'{value:.0f}', ha='center', fontsize=7,
                     color='white', rotation=90)
    ax2.set_ylabel('accuracy vs T0 (pp)')
    ax2.legend(fontsize=7, loc='lower left')
    ax2.set_xticks(x, [r['label'] for r in rows], fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_same_structure(rows: list[dict]) -> None:
    """Energy against T0 without the inhibitory layer where the chosen T has none; the other
    rows as in the first table (the same structure at both ends already)."""
    cols = [f'{name}_{kind}_x' for name in EVENT_AND_DENSE for kind in ('infer', 'train')]
    print('\nEnergy against T0 without the inhibitory layer (same spikes) where the chosen T '
          'has none (*):')
    names = [c.removesuffix('_x').replace('_', ' ') for c in cols]
    print('| profile | T | ' + ' | '.join(names) + ' |')
    print('|---|---|' + '---|' * len(cols))
    same = [r['same_structure'] or {c: r[c] for c in cols} for r in rows]
    for r, values in zip(rows, same):
        star = '*' if r['same_structure'] else ''
        print(f"| {r['profile']} | {r['T']}{star} | "
              + ' | '.join(f'{values[c]:.2f}x' for c in cols) + ' |')
    if len(rows) > 1:
        print('| mean | | ' + ' | '.join(f'{np.mean([v[c] for v in same]):.2f}x'
                                         for c in cols) + ' |')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('profiles', nargs='+')
    parser.add_argument('--tolerance', type=float, default=0.02)
    parser.add_argument('--plot', type=Path, help='also write this PNG')
    args = parser.parse_args(argv)
    rows = [ratios(p, args.tolerance) for p in args.profiles]
    cols = [('latency_infer_x', 'latency infer'), ('latency_train_x', 'latency train'),
            ('loihi_infer_x', 'Loihi infer'), ('loihi_train_x', 'Loihi train'),
            ('cmos45_infer_x', '45nm infer'), ('cmos45_train_x', '45nm train'),
            ('cpu_infer_x', 'CPU infer'), ('cpu_train_x', 'CPU train'),
            ('dense_gpu_like_infer_x', 'dense infer'), ('dense_gpu_like_train_x', 'dense train')]
    print('| profile | mode | T0 -> T | accuracy T0 -> T (T0 params at T) | '
          + ' | '.join(name for _, name in cols) + ' |')
    print('|---|---|---|---|' + '---|' * len(cols))
    for r in rows:
        print(f"| {r['profile']} | {r['mode']} | {r['T0']} -> {r['T']} | "
              f"{100 * r['accuracy_T0']:.1f} -> {100 * r['accuracy_T']:.1f} "
              f"({100 * r['accuracy_T_baseline_params']:.1f}) | "
              + ' | '.join(f'{r[k]:.2f}x' for k, _ in cols) + ' |')
    if len(rows) > 1:
        keys = [k for k, v in rows[0].items() if isinstance(v, float)]
        mean = {**{k: float(np.mean([r[k] for r in rows])) for k in keys}, 'label': 'mean'}
        dacc = np.mean([r['accuracy_T'] - r['accuracy_T0'] for r in rows])
        print(f'| mean | | | {100 * dacc:+.1f} pp | '
              + ' | '.join(f'{mean[k]:.2f}x' for k, _ in cols) + ' |')
    if any(r['same_structure'] for r in rows):
        print_same_structure(rows)
    if len(rows) > 1:
        rows = rows + [mean]
    if args.plot:
        plot(rows, args.plot)
        print(f'wrote {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
