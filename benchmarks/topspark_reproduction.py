"""TopSpark headline numbers from profiles: chosen T against T0, per profile and on average.

    python benchmarks/topspark_reproduction.py config/profile_n400 runs/profile_n400 ...

For each profile the policy picks T for a 2 pp tolerance (``--tolerance``); the table gives the
latency reduction (inference and training, measured wall time, one thread), the energy
reduction in inference and training on event-driven platforms (Loihi, 45 nm CMOS: energy follows
spikes and neuron updates) and time-based ones (CPU measured time x power, and a clock-driven
dense accounting: energy follows T, as the paper measured on a GPU), and the accuracy change.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from topspark_ros.topspark import choose, load_profile, Requirements


def ratios(path: str, tolerance: float) -> dict:
    prof = load_profile(path)
    choice = choose(prof, Requirements(tolerance))
    b, c = prof.baseline, choice.entry
    row = {'profile': path, 'T0': b.timesteps, 'T': c.timesteps,
           'mode': ('online after T0 pretraining' if prof.metadata.get('pretrain_epochs_at_t0')
                    else 'from scratch at T'),
           'accuracy_T0': b.accuracy, 'accuracy_T': c.accuracy,
           'accuracy_T_baseline_params': c.accuracy_baseline_params,
           'latency_infer_x': b.latency_infer_s / c.latency_infer_s,
           'latency_train_x': b.latency_train_s / c.latency_train_s}
    for name in ('loihi', 'cmos45', 'dense_gpu_like'):
        eb, ec = b.extra['energy_by_platform'][name], c.extra['energy_by_platform'][name]
        row[f'{name}_infer_x'] = eb['infer_j'] / ec['infer_j']
        row[f'{name}_train_x'] = eb['train_j'] / ec['train_j']
    row['cpu_infer_x'] = b.extra['cpu_energy_infer_j'] / c.extra['cpu_energy_infer_j']
    row['cpu_train_x'] = b.extra['cpu_energy_train_j'] / c.extra['cpu_energy_train_j']
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('profiles', nargs='+')
    parser.add_argument('--tolerance', type=float, default=0.02)
    args = parser.parse_args()
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
        mean = {k: float(np.mean([r[k] for r in rows])) for k, _ in cols}
        dacc = np.mean([r['accuracy_T'] - r['accuracy_T0'] for r in rows])
        print(f'| mean | | | {100 * dacc:+.1f} pp | '
              + ' | '.join(f'{mean[k]:.2f}x' for k, _ in cols) + ' |')


if __name__ == '__main__':
    sys.exit(main())
