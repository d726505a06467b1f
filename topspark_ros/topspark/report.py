# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Plots and a Markdown report of a TopSpark profile (what people would rather look at)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..datasets import EMULATED_WINDOW_S as EVENT_WINDOW_S
from .policy import choose, Requirements
from .profile import Profile


def _plt():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def plot_profile(profile: Profile, out_dir: Path) -> list[Path]:
    """accuracy_vs_timesteps.png, cost_vs_timesteps.png, pareto.png."""
    plt = _plt()
    e = sorted(profile.entries, key=lambda x: x.timesteps)
    T = [x.timesteps for x in e]
    paths = []

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(T, [100 * x.accuracy_baseline_params for x in e], 'o--', label='T0 parameters')
    ax.plot(T, [100 * x.accuracy for x in e], 'o-', label='enhanced (TopSpark)')
    ax.axhline(100 * profile.baseline.accuracy - 2, color='grey', lw=0.8, ls=':',
               label='T0 accuracy - 2 pp')
    ax.set_xlabel('timesteps T')
    ax.set_ylabel('test accuracy (%)')
    ax.set_title('Step 1 and 3: accuracy vs timesteps (train and infer at T)')
    ax.legend()
    paths.append(_save(fig, out_dir / 'accuracy_vs_timesteps.png'))

    fig, ax1 = plt.subplots(figsize=(6.4, 4.0))
    ax1.plot(T, [1e6 * x.latency_infer_s for x in e], 'o-', label='latency, inference (us)')
    ax1.plot(T, [1e6 * x.latency_train_s for x in e], 's-', label='latency, training (us)')
    ax1.plot(T, [1e6 * x.energy_infer_j for x in e], 'o--',
             label=f'energy, inference ({profile.platform}, uJ)')
    ax1.plot(T, [1e6 * x.energy_train_j for x in e], 's--',
             label=f'energy, training ({profile.platform}, uJ)')
    ax1.set_yscale('log')
    ax1.set_xlabel('timesteps T')
    ax1.set_title('Latency and energy per sample')
    ax1.legend(fontsize=8)
    paths.append(_save(fig, out_dir / 'cost_vs_timesteps.png'))

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    pts = sorted(((x.energy_infer_j, x.accuracy, x.timesteps) for x in e))
    front, best = [], -1.0
    for en, acc, t in pts:
        if acc > best:
            front.append((en, acc, t))
            best = acc
    ax.scatter([1e6 * p[0] for p in pts], [100 * p[1] for p in pts], c='tab:blue')
    ax.plot([1e6 * p[0] for p in front], [100 * p[1] for p in front], 'r-', label='Pareto front')
    for en, acc, t in pts:
        ax.annotate(f'T={t}', (1e6 * en, 100 * acc), fontsize=7, xytext=(3, 3),
                    textcoords='offset points')
    ax.set_xscale('log')
    ax.set_xlabel(f'inference energy per sample ({profile.platform}, uJ)')
    ax.set_ylabel('test accuracy (%)')
    ax.set_title('Step 4: accuracy-energy trade-off')
    ax.legend()
    paths.append(_save(fig, out_dir / 'pareto.png'))
    return paths


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)                   # pyplot keeps every open figure alive otherwise
    return path


def write_report(profile: Profile, details: dict[str, Any], out_dir: Path,
                 requirements: Requirements, command: str, retimed: str | None = None) -> Path:
    """report.md: the profile table, the sensitivity ranking and the chosen timestep.
    ``retimed``: how and where the latency columns were measured again, if they were."""
    base = profile.baseline
    choice = choose(profile, requirements)
    c = choice.entry
    lines = [f'# TopSpark profile ({profile.metadata.get("dataset")}, '
             f'N={profile.network.get("n_neurons")}, T0={profile.baseline_timesteps})', '',
             f'Regenerate: `{command}`', '',
             *([f'Made for: {profile.made_for.describe()} (models that differ are refused).',
                ''] if profile.made_for else []),
             *([f'Latency re-timed: {retimed}', ''] if retimed else []),
             '## Chosen timestep', '',
             f'Requirements: accuracy tolerance {requirements.accuracy_tolerance:.3f}'
             + (f', latency budget {requirements.latency_budget_s} s'
                if requirements.latency_budget_s else '')
             + (f', energy budget {requirements.energy_budget_j} J'
                if requirements.energy_budget_j else '') + '.', '',
             f'**{choice.reason}**', '']
    if c is not None and c.timesteps != base.timesteps:
        lines += [
            f'Against T0 = {base.timesteps}: latency '
            f'{base.latency_infer_s / c.latency_infer_s:.2f}x lower (inference), '
            f'{base.latency_train_s / c.latency_train_s:.2f}x (training); energy '
            f'({profile.platform}) {base.energy_infer_j / c.energy_infer_j:.2f}x lower in '
            f'inference, {base.energy_train_j / max(c.energy_train_j, 1e-30):.2f}x in training; '
            f'accuracy {100 * (c.accuracy - base.accuracy):+.1f} pp.', '']
        scale = c.params.get('event_window_scale')
        if scale is not None:
            lines += [f'Event window at T = {c.timesteps}: {scale:.3f} of the T0 window '
                      f'({1000 * EVENT_WINDOW_S * scale:.0f} ms of the {1000 * EVENT_WINDOW_S:.0f}'
                      ' ms samples), so a robot also waits that much less for the events of '
                      'a sample; the latency columns are compute only.', '']
        keep = c.params.get('event_keep_fraction')
        if keep is not None:
            lines += [f'Events at T = {c.timesteps}: {keep:.3f} of each sample\'s events are '
                      'kept (thinned), so each step gets about the input of a T0 step.', '']
        if c.params.get('input_coding') == 'regular':
            lines += [f'Frames at T = {c.timesteps}: the regular rate code instead of Poisson '
                      '(each input spikes rate x T times, +/- 1, at a random phase).', '']
        if (c.params.get('inhibition.variant') == 'direct'
                and profile.network.get('inhibition', {}).get('variant') == 'layer'):
            lines += [f'Lateral inhibition at T = {c.timesteps}: direct, '
                      f'{c.params.get("inhibition.direct_delay_ms", 0):g} ms after an excitatory '
                      'spike, instead of through the inhibitory layer (two steps); the energy '
                      'ratio includes the layer that T0 has and this T does not '
                      '(`benchmarks/topspark_reproduction.py` also compares with T0 without '
                      'it).', '']
    seeds = profile.metadata.get('test_seeds') or []
    lines += ['## Per timestep (test split)', '']
    if len(seeds) > 1:
        lines += [f'Accuracies are means over seeds {seeds} (per seed: `accuracy_by_seed` in '
                  'profile.yaml); latency and energy are the first seed\'s.', '']
    lines += [
              '| T | accuracy | with T0 params | latency infer us | latency train us | '
              f'energy infer uJ ({profile.platform}) | energy train uJ | input spikes | '
              'exc spikes | enhancement |', '|---|---|---|---|---|---|---|---|---|---|']
    for e in profile.entries:
        lines.append(
            f'| {e.timesteps} | {100 * e.accuracy:.1f} | {100 * e.accuracy_baseline_params:.1f} '
            f'| {1e6 * e.latency_infer_s:.1f} | {1e6 * e.latency_train_s:.1f} | '
            f'{1e6 * e.energy_infer_j:.2f} | {1e6 * e.energy_train_j:.2f} | '
            f'{e.extra.get("input_spikes", 0):.0f} | {e.extra.get("exc_spikes", 0):.1f} | '
            f'{e.extra.get("rule", "")} |')
    lines += ['', f'## Sensitivity at T={profile.metadata.get("sensitivity_timesteps")} '
              '(validation split)', '',
              '| parameter | validation accuracy x0.5 | x2 | largest change (pp) |',
              '|---|---|---|---|']
    for s in details.get('sensitivity', []):
        acc = s['accuracy']
        lines.append(f"| {s['parameter']} | {100 * acc['x0.5']:.1f} | {100 * acc['x2']:.1f} | "
                     f"{100 * s['max_change']:.1f} |")
    if details.get('sensitivity'):
        lines.append(f"\nBase validation accuracy: "
                     f"{100 * details['sensitivity'][0]['base_accuracy']:.1f} %.")
    lines += ['', '![accuracy](accuracy_vs_timesteps.png)', '![cost](cost_vs_timesteps.png)',
              '![pareto](pareto.png)', '']
    path = out_dir / 'report.md'
    path.write_text('\n'.join(lines))
    return path
