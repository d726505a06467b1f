"""Pieces the command-line tools share: argument parsing of datasets and configurations."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..datasets import DatasetError, load_dataset
from ..snn import CheckpointError, ConfigError, EncodingError
from ..topspark import ProfileError


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def run_cli(main_body, argv: list[str] | None = None) -> int:
    """Run a tool body, turning expected failures into a one-line message and exit code 2."""
    try:
        main_body(argv)
    except (CliError, ConfigError, DatasetError, CheckpointError, EncodingError,
            ProfileError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    return 0


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--dataset', default='mnist_5k',
                        help="'mnist_5k' (default), 'digits', or a path to an .npz with images "
                             'and labels (or train_/test_ arrays)')


def load(name: str):
    return load_dataset(name)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.tmp')
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
    tmp.replace(path)
