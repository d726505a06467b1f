# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-import: a feed-forward LIF / CubaLIF NIR graph as a spiking deep network.

    topspark-import net.nir model_imported.npz
    topspark-import snntorch_net.nir model.npz --spike-semantics per_step --source-dt 1e-4

Graphs written by topspark-export carry their own settings; for others, --spike-semantics
per_step reads weights as snnTorch writes them (added for one step, taus for a 1e-4 s
step). They run with --integration discrete by default (spike and reset at the end of a
step, no refractory period: snnTorch's step). What cannot be represented is refused with one
line naming the node.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..deep.checkpoint import save_deep_checkpoint
from ..deep.config import INTEGRATIONS
from ..hardware.nir_export import graph_metadata, NirError
from ..hardware.nir_import import (graph_to_deep, ImportOptions, read_graph, SNNTORCH_DT_S,
                                   SPIKE_SEMANTICS)
from ..snn.config import MAX_TIMESTEPS
from .common import check_out_file, CliError, run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-import', description=__doc__.split('\n')[0])
    parser.add_argument('graph', type=Path, help='NIR file (.nir)')
    parser.add_argument('out', type=Path, help='deep-network checkpoint to write (.npz)')
    parser.add_argument('--spike-semantics', choices=SPIKE_SEMANTICS, default='impulse',
                        help="'impulse' (NIR's, default) or 'per_step' (snnTorch's writer)")
    parser.add_argument('--source-dt', type=float, default=SNNTORCH_DT_S,
                        help='per_step: the writer\'s step in seconds (default 1e-4)')
    parser.add_argument('--dt-ms', type=float, default=1.0, help='our step (default 1 ms)')
    parser.add_argument('--timesteps', type=int, default=50, help="the model's T0 (default 50)")
    parser.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='shape of a flat Input node (default: square grey image)')
    parser.add_argument('--integration', choices=INTEGRATIONS, default='discrete',
                        help="graphs written elsewhere: 'discrete' (default, the step of "
                        "snnTorch) or 'exact' (reset at the crossing time); ours keep theirs")
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    if not args.graph.is_file():
        raise CliError(f'graph: {args.graph} not found')
    check_out_file('out', args.out, '.npz')
    if not (args.source_dt > 0 and args.dt_ms > 0):
        raise CliError('--source-dt and --dt-ms must be > 0')
    if not 1 <= args.timesteps <= MAX_TIMESTEPS:
        raise CliError(f'--timesteps must be in 1..{MAX_TIMESTEPS}')
    if args.input_shape is not None and min(args.input_shape) < 1:
        raise CliError('--input-shape values must be >= 1')


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_arguments(args)
    options = ImportOptions(args.spike_semantics, args.source_dt, args.dt_ms, args.timesteps,
                            tuple(args.input_shape) if args.input_shape else None,
                            args.integration)
    try:
        graph = read_graph(args.graph)
        network = graph_to_deep(graph, options)
    except NirError as exc:
        raise CliError(str(exc)) from None
    ours = graph_metadata(graph)
    save_deep_checkpoint(args.out, network, {
        'tool': 'topspark-import', 'source': str(args.graph),
        'source_model_kind': ours.get('model_kind', 'foreign'),
        'import_options': {'spike_semantics': options.spike_semantics,
                           'source_dt_s': options.source_dt_s,
                           'integration': options.integration}})
    layers = ', '.join(f'{spec.kind} {spec.size}' if spec.size else spec.kind
                       for spec in network.config.layers)
    lif = network.config.lif
    print(f'wrote {args.out}: {layers}; tau_rc {lif.tau_rc_ms:.4g} ms, tau_s '
          f'{lif.tau_s_ms:.4g} ms, readout {network.config.readout}, integration '
          f'{lif.integration}')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
