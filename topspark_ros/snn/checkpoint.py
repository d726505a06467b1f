# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints: versioned ``.npz`` files without pickle, written atomically.

A checkpoint holds the full configuration (as JSON text), the weights, the adaptive thresholds,
the readout statistics (from which assignments follow) and free-form metadata. Writes go to a
temporary file in the same directory, are flushed to disk, then ``os.replace``d over the target:
a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, NetworkConfig
from .network import Network
from .readout import Readout

FORMAT = 'topspark_ros.checkpoint'
FORMAT_VERSION = 1
_REQUIRED = ('format', 'format_version', 'config_json', 'weights', 'theta', 'class_spikes',
             'class_samples', 'samples_seen', 'metadata_json')


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, truncated or does not match; names the file."""


def save_checkpoint(path: str | Path, network: Network, readout: Readout | None = None,
                    metadata: dict[str, Any] | None = None) -> Path:
    """Write ``network`` (and ``readout``) to ``path`` atomically; returns the path."""
    path = Path(path)
    if path.suffix != '.npz':
        raise CheckpointError(f'{path}: checkpoint files must end in .npz')
    cfg = network.config
    if readout is None:
        readout = Readout(cfg.n_neurons, cfg.n_classes)
    arrays = {
        'format': np.array(FORMAT),
        'format_version': np.array(FORMAT_VERSION),
        'config_json': np.array(cfg.to_json()),
        'weights': network.weights,
        'theta': network.theta,
        'class_spikes': readout.class_spikes,
        'class_samples': readout.class_samples,
        'samples_seen': np.array(network.samples_seen, np.int64),
        'metadata_json': np.array(json.dumps(metadata or {}, sort_keys=True)),
    }
    return write_npz_atomically(path, arrays)


def write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as an .npz at ``path``: a temporary in the same directory (named with
    this pid), flushed to disk, then renamed over the target; a crash leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.{os.getpid()}.', suffix='.tmp',
                               dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600; keep the mode of the file it replaces, else rw-r--r--.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    remove_stale_temporaries(path)
    return path


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files that writers of ``path`` killed mid-write left behind (their
    name carries the writer's pid; files of running processes are kept). Returns them."""
    removed = []
    for tmp in path.parent.glob(f'.{glob.escape(path.name)}.*.tmp'):
        pid = tmp.name[len(path.name) + 2:].split('.', 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:             # exists, owned by someone else
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | Path,
                    expect: NetworkConfig | None = None) -> tuple[Network, Readout, dict]:
    """Read a checkpoint; ``expect`` checks that it matches a configuration's network shape."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: checkpoint file not found')
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _REQUIRED if k not in data.files]
            if missing:
                raise CheckpointError(f'{path}: not a topspark_ros checkpoint (missing {missing})')
            arrays = {k: data[k] for k in _REQUIRED}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f'{path}: corrupt or truncated checkpoint ({exc})') from None
    if str(arrays['format']) != FORMAT:
        raise CheckpointError(f'{path}: unknown format {str(arrays["format"])!r}')
    version = int(arrays['format_version'])
    if version != FORMAT_VERSION:
        raise CheckpointError(f'{path}: format version {version}, this release reads '
                              f'version {FORMAT_VERSION}')
    try:
        config = NetworkConfig.from_json(str(arrays['config_json']))
    except (ConfigError, ValueError) as exc:
        raise CheckpointError(f'{path}: invalid configuration inside ({exc})') from None
    if expect is not None and ((expect.n_neurons, expect.input_shape)
                               != (config.n_neurons, config.input_shape)):
        raise CheckpointError(
            f'{path}: holds a network of {config.n_neurons} neurons on {config.input_shape} '
            f'inputs, expected {expect.n_neurons} on {expect.input_shape}')
    try:
        network = Network(config, arrays['weights'], arrays['theta'],
                          int(arrays['samples_seen']))
        readout = Readout(config.n_neurons, config.n_classes,
                          class_spikes=arrays['class_spikes'],
                          class_samples=arrays['class_samples'])
    except ValueError as exc:
        raise CheckpointError(f'{path}: arrays do not match its configuration ({exc})') from None
    if not (np.isfinite(network.weights).all() and np.isfinite(network.theta).all()):
        raise CheckpointError(f'{path}: weights or thresholds contain NaN/Inf')
    return network, readout, json.loads(str(arrays['metadata_json']))
