# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-export: a trained model (STDP or spiking deep network) as a NIR graph.

    topspark-export config/model_n400.npz model_n400.nir
    topspark-export config/model_deep_cnn.npz cnn.nir --integration discrete

The graph and what it cannot hold are described in docs/hardware.md; the lost features are
listed in the graph's metadata (key 'topspark_ros').
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..deep.checkpoint import checkpoint_kind, load_deep_checkpoint, MODEL_KIND
from ..deep.config import INTEGRATIONS
from ..hardware.nir_export import (deep_to_nir, graph_metadata, NirError, require_nir,
                                   stdp_to_nir, write_graph)
from ..snn import load_checkpoint
from .common import check_out_file, CliError, run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-export', description=__doc__.split('\n')[0])
    parser.add_argument('model', type=Path, help='checkpoint (.npz), STDP or deep')
    parser.add_argument('out', type=Path, help='NIR file to write (.nir)')
    parser.add_argument('--integration', choices=INTEGRATIONS,
                        help="deep network: run it with this lif.integration ('discrete': "
                        'the step of NIR simulators such as snnTorch, no refractory period); '
                        "default: the model's own")
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    if not args.model.is_file():
        raise CliError(f'model: {args.model} not found')
    check_out_file('out', args.out, '.nir')
    try:
        require_nir()
    except NirError as exc:
        raise CliError(str(exc)) from None


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    check_arguments(args)
    try:
        if checkpoint_kind(args.model) == MODEL_KIND:
            network, _ = load_deep_checkpoint(args.model)
            if args.integration:
                network = network.with_integration(args.integration)
            graph = deep_to_nir(network)
        elif args.integration:
            raise CliError('--integration: only for a deep network (this is an STDP model)')
        else:
            network, readout, _ = load_checkpoint(args.model)
            graph = stdp_to_nir(network, readout)
        write_graph(args.out, graph)
    except NirError as exc:
        raise CliError(str(exc)) from None
    lost = [item['feature'] for item in graph_metadata(graph).get('lost', [])]
    print(f'wrote {args.out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges; kept in '
          f'metadata (not in NIR): {", ".join(lost)}')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
