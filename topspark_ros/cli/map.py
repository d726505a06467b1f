# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-map: place a model's neurons on a neuromorphic chip and estimate energy and latency.

    topspark-map config/model_n400.npz --chip loihi --profile config/profile_n400 --out runs/map

Measures each neuron's spikes on held-out digits at every T (a profile's T with its
parameters, or --timesteps), places the neurons on the chip's cores twice (sequential fill,
and partitioned by the measured traffic), and reports cores used, spikes per sample that
cross cores, mean hops, energy and latency per sample. With --out: mapping.json and
energy_vs_timesteps.png. A model the chip cannot hold is refused with the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..deep.checkpoint import checkpoint_kind, load_deep_checkpoint, MODEL_KIND
from ..deep.config import DeepConfigError, replace_params as deep_replace
from ..hardware.chips import ChipError, load_chip
from ..hardware.mapping import MappingError, METHODS, place, placement_cost
from ..hardware.traffic import deep_counts, deep_graph, stdp_counts, stdp_graph
from ..snn import load_checkpoint, replace_params as stdp_replace
from ..snn.config import MAX_TIMESTEPS
from ..topspark import load_profile
from .common import add_dataset_argument, check_out_dir, CliError, load, run_cli, write_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-map', description=__doc__.split('\n')[0])
    parser.add_argument('model', type=Path, help='checkpoint (.npz), STDP or deep')
    parser.add_argument('--chip', default='loihi',
                        help="shipped chip name ('loihi', 'truenorth') or a chip YAML file")
    parser.add_argument('--profile', type=Path, help="the model's TopSpark profile: its T and "
                        'parameters (default: --timesteps with the base parameters)')
    parser.add_argument('--timesteps', type=int, nargs='+',
                        help="T values without a profile (default: T0, T0/2, T0/5, T0/10)")
    parser.add_argument('--samples', type=int, default=200,
                        help='held-out digits whose spikes are measured (default 200)')
    add_dataset_argument(parser)
    parser.add_argument('--out', type=Path, help='directory for mapping.json and the plot')
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    if not args.model.is_file():
        raise CliError(f'model: {args.model} not found')
    try:
        load_chip(args.chip)
    except ChipError as exc:
        raise CliError(f'--chip: {exc}') from None
    if args.profile is not None:
        load_profile(args.profile)          # ProfileError: one line
    if args.timesteps and not all(1 <= T <= MAX_TIMESTEPS for T in args.timesteps):
        raise CliError(f'--timesteps: values must be in 1..{MAX_TIMESTEPS}')
    if args.samples < 1:
        raise CliError('--samples must be >= 1')
    if args.out is not None:
        check_out_dir('--out', args.out)


DEEP_CURRENT, DEEP_SPIKES = 'deep', 'deep, spike input'
"""Structures of the deep network: the first layer's currents from the host, or input
neurons on the chip (any spike input coding)."""


def _operating_points(args: argparse.Namespace, base_timesteps: int) -> list[tuple[int, dict]]:
    """(T, parameter overrides) to evaluate, longest T first."""
    if args.profile is not None:
        profile = load_profile(args.profile)
        return [(e.timesteps, dict(e.params)) for e in profile.entries]
    grid = args.timesteps or [base_timesteps, base_timesteps // 2, base_timesteps // 5,
                              base_timesteps // 10]
    return [(T, {}) for T in sorted({T for T in grid if T >= 1}, reverse=True)]


def measure(model: Any, deep: bool, images: np.ndarray, points: list[tuple[int, dict]]
            ) -> list[tuple[str, np.ndarray]]:
    """(graph key, mean spikes per neuron per sample) at each operating point; the key names
    the network's structure at that point (a profile may switch the STDP network to direct
    inhibition, which drops the inhibitory neurons, or the deep network to input spikes,
    which makes the inputs neurons on the chip)."""
    out = []
    for T, params in points:
        try:
            if deep:
                config = deep_replace(model.config, params)
                key = DEEP_CURRENT if config.input_coding == 'current' else DEEP_SPIKES
                out.append((key, deep_counts(model, images, T, config)))
            else:
                base = model.config
                model.config = stdp_replace(base, params)
                out.append((model.config.inhibition.variant, stdp_counts(model, images, T)))
                model.config = base
        except (DeepConfigError, ValueError) as exc:
            raise CliError(f'--profile: T={T}: parameters {params} do not apply to this '
                           f'model ({exc})') from None
    return out


def graph_for(model: Any, deep: bool, key: str):
    if deep:
        coding = 'current' if key == DEEP_CURRENT else 'regular'   # the graph is the same
        return deep_graph(model, deep_replace(model.config, {'input_coding': coding}))
    base = model.config
    model.config = dataclasses.replace(base, inhibition=dataclasses.replace(
        base.inhibition, variant=key))
    graph = stdp_graph(model)
    model.config = base
    return graph


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, style in zip(METHODS, ('o-', 's--')):
        pts = sorted((r['timesteps'], r[method]['energy_j']) for r in rows)
        ax.plot([p[0] for p in pts], [p[1] * 1e6 for p in pts], style, label=method)
    ax.set_xlabel('timesteps T')
    ax.set_ylabel('energy per sample (uJ)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title='placement')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_arguments(args)
    chip = load_chip(args.chip)
    deep = checkpoint_kind(args.model) == MODEL_KIND
    if deep:
        model, _ = load_deep_checkpoint(args.model)
    else:
        model, _, _ = load_checkpoint(args.model)
    points = _operating_points(args, model.config.timesteps)
    dataset = load(args.dataset)
    images = dataset.test_images[:args.samples]
    measured = measure(model, deep, images, points)
    graphs, placements = {}, {}
    try:
        for key, counts in measured:        # longest T first: its traffic places the graph
            if key not in graphs:           # (a chip is configured once per structure)
                graphs[key] = graph_for(model, deep, key)
                placements[key] = {m: place(chip, graphs[key], counts, m) for m in METHODS}
    except MappingError as exc:
        raise CliError(f'{args.model}: {exc}') from None
    rows = []
    for (T, params), (key, counts) in zip(points, measured):
        row: dict[str, Any] = {'timesteps': T, 'params': params, 'structure': key,
                               'cores_used': {m: p.cores_used
                                              for m, p in placements[key].items()}}
        for m, placement in placements[key].items():
            row[m] = dataclasses.asdict(placement_cost(chip, graphs[key], placement, counts, T))
        rows.append(row)
    graph = graphs[measured[0][0]]
    print(f'{args.model} on {chip.name} ({chip.cores} cores): {graph.n} neurons, '
          f'{graph.targets.size} synapses; spikes measured on {len(images)} held-out samples')
    for key in graphs:
        used = ', '.join(f'{m} {p.cores_used}' for m, p in placements[key].items())
        print(f'  {key}: {graphs[key].n} neurons; cores used: {used}')
    print(f'{"T":>5} {"placement":>10} {"spikes":>9} {"inter-core":>10} {"hops":>5} '
          f'{"energy uJ":>9} {"routing uJ":>10} {"latency ms":>10}')
    for row in rows:
        for m in METHODS:
            r = row[m]
            print(f'{row["timesteps"]:>5} {m:>10} {r["spikes"]:>9.1f} '
                  f'{r["inter_core_spikes"]:>10.1f} {r["mean_hops"]:>5.2f} '
                  f'{r["energy_j"] * 1e6:>9.3f} {r["energy_routing_j"] * 1e6:>10.3f} '
                  f'{r["latency_s"] * 1e3:>10.3f}')
        seq, tra = row['sequential']['inter_core_spikes'], row['traffic']['inter_core_spikes']
        if seq > 0:
            print(f'{"":>5} traffic-aware: {100 * (1 - tra / seq):.1f} % fewer inter-core '
                  'spikes than sequential')
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_json(args.out / 'mapping.json', {
            'model': str(args.model), 'chip': chip.name, 'samples': len(images),
            'dataset': dataset.name, 'neurons': graph.n, 'synapses': int(graph.targets.size),
            'rows': rows})
        plot(rows, args.out / 'energy_vs_timesteps.png',
             f'{args.model.name} on {chip.name}: energy per sample')
        print(f'wrote {args.out}/mapping.json and energy_vs_timesteps.png')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
