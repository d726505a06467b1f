# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Pieces the command-line tools share: argument parsing of datasets and configurations, and
the checks every tool makes before its long work starts (each failure: one line naming the
flag or file, exit code 2)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..datasets import DatasetError, load_dataset
from ..snn import CheckpointError, ConfigError, EncodingError, NetworkConfig
from ..topspark import ProfileError, ProfileWarning


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, ProfileWarning):
        print(f'warning: {message}', file=sys.stderr)
    else:
        _show_default(message, category, filename, lineno, file, line)


_show_default = warnings.showwarning


def run_cli(main_body, argv: list[str] | None = None) -> int:
    """Run a tool body, turning expected failures into a one-line message and exit code 2,
    and profile warnings into one 'warning:' line."""
    with warnings.catch_warnings():
        warnings.simplefilter('always', ProfileWarning)
        warnings.showwarning = _one_line_warning
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


def warn(message: str) -> None:
    print(f'warning: {message}', file=sys.stderr)


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--dataset', default='mnist_5k',
                        help="'mnist_5k' (default), 'digits', or a path to an .npz with images "
                             'and labels (or train_/test_ arrays); see docs/topspark.md, '
                             'Tools, for the checks')


def load(name: str):
    return load_dataset(name)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.tmp')
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
    tmp.replace(path)


# -- checks made before the work starts ---------------------------------------------------

def check_positive(flag: str, value: int | float | None, minimum: int | float = 1) -> None:
    if value is not None and value < minimum:
        raise CliError(f'{flag} must be >= {minimum}, got {value}')


def _probe_writable(flag: str, directory: Path) -> None:
    """Create ``directory`` (as the tool would) and a file in it, or fail naming ``flag``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CliError(f'{flag} {directory}: cannot write there ({exc.strerror or exc})') \
            from None


def check_out_file(flag: str, path: Path, suffix: str | None = None) -> None:
    """``path`` can be written as a file: not a directory, its folder writable."""
    if suffix and path.suffix != suffix:
        raise CliError(f'{flag} {path}: must be a {suffix} file')
    if path.is_dir():
        raise CliError(f'{flag} {path}: is a directory, expected a file')
    if path.exists() and not os.access(path, os.W_OK):
        raise CliError(f'{flag} {path}: the file exists and is not writable')
    _probe_writable(flag, path.parent)


def check_out_dir(flag: str, path: Path) -> None:
    """``path`` can be used as an output folder: not an existing file, writable."""
    if path.exists() and not path.is_dir():
        raise CliError(f'{flag} {path}: is an existing file, expected a directory')
    _probe_writable(flag, path)


def available_memory_bytes() -> int | None:
    """What the machine can still give (MemAvailable), None where unknown."""
    try:
        for line in Path('/proc/meminfo').read_text().splitlines():
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError, AttributeError):
        return None


def network_memory_bytes(config: NetworkConfig, timesteps: int, samples: int = 0) -> int:
    """An upper estimate of one network's memory at T: float32 weights three times (the
    network, a copy while saving, a sweep's copy), one sample's worst-case input spikes (every
    input every step, int32) and per-step neuron state, and per sample of a dataset its input
    probabilities (float64) and spike counts (int32)."""
    weights = 4 * config.n_inputs * config.n_neurons
    per_sample = 8 * config.n_inputs + 4 * config.n_neurons
    return (3 * weights + 4 * timesteps * config.n_inputs + 16 * timesteps * config.n_neurons
            + samples * per_sample)


def check_memory(config: NetworkConfig, timesteps: int, flags: str, copies: int = 1,
                 samples: int = 0) -> None:
    """Refuse a network that cannot fit: ``flags`` names what set its size."""
    need = copies * network_memory_bytes(config, timesteps, samples)
    have = available_memory_bytes()
    if have is not None and need > have:
        raise CliError(f'{flags}: N={config.n_neurons}, T={timesteps}'
                       f'{f" on {copies} workers" if copies > 1 else ""}'
                       f'{f" with {samples} samples" if samples else ""} needs about '
                       f'{need / 2**30:.1f} GiB, this machine has {have / 2**30:.1f} GiB '
                       'available')
