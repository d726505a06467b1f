# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints of the spiking deep network: versioned ``.npz`` without pickle, written
atomically, told apart from STDP checkpoints by ``model_kind``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
import zipfile

import numpy as np

from ..snn.checkpoint import CheckpointError, FORMAT, write_npz_atomically
from .config import DeepConfig, DeepConfigError
from .network import DeepNetwork

MODEL_KIND = 'deep_lif'
FORMAT_VERSION = 1


def recorded_validation_fraction(metadata: dict[str, Any], dataset: str) -> float | None:
    """The part of ``dataset``'s training split the checkpoint's training held out
    (``topspark-train-deep --validation-fraction``, kept in its metadata), or None when it
    was trained on other data or recorded none."""
    fraction = metadata.get('validation_fraction')
    if metadata.get('dataset') == dataset and isinstance(fraction, (int, float)):
        return float(fraction)
    return None


def save_deep_checkpoint(path: str | Path, network: DeepNetwork,
                         metadata: dict[str, Any] | None = None) -> Path:
    """Write the configuration, every layer's weight and bias, and ``metadata``."""
    path = Path(path)
    if path.suffix != '.npz':
        raise CheckpointError(f'{path}: checkpoint files must end in .npz')
    arrays = {'format': np.array(FORMAT), 'format_version': np.array(FORMAT_VERSION),
              'model_kind': np.array(MODEL_KIND),
              'config_json': np.array(network.config.to_json()),
              'metadata_json': np.array(json.dumps(metadata or {}, sort_keys=True))}
    for k, (weight, bias) in enumerate(zip(network.weights, network.biases)):
        if weight is not None:
            arrays[f'weight_{k}'] = weight
            arrays[f'bias_{k}'] = bias
    return write_npz_atomically(path, arrays)


def load_deep_checkpoint(path: str | Path) -> tuple[DeepNetwork, dict[str, Any]]:
    """Read a deep-network checkpoint; CheckpointError names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: checkpoint file not found')
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f'{path}: corrupt or truncated checkpoint ({exc})') from None
    if str(arrays.get('model_kind', '')) != MODEL_KIND:
        raise CheckpointError(f'{path}: not a {MODEL_KIND} checkpoint')
    if int(arrays.get('format_version', -1)) != FORMAT_VERSION:
        raise CheckpointError(f'{path}: format version {arrays.get("format_version")}, this '
                              f'release reads version {FORMAT_VERSION}')
    try:
        config = DeepConfig.from_json(str(arrays['config_json']))
        metadata = json.loads(str(arrays['metadata_json']))
    except (KeyError, DeepConfigError, ValueError) as exc:
        raise CheckpointError(f'{path}: invalid configuration inside ({exc})') from None
    weights = [arrays.get(f'weight_{k}') for k in range(len(config.layers))]
    biases = [arrays.get(f'bias_{k}') for k in range(len(config.layers))]
    try:
        network = DeepNetwork(config, weights, biases)
    except ValueError as exc:
        raise CheckpointError(f'{path}: arrays do not match its configuration ({exc})') from None
    return network, metadata


def checkpoint_kind(path: str | Path) -> str:
    """'deep_lif' or 'stdp' (checkpoints without a model_kind); CheckpointError if the file
    cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: checkpoint file not found')
    try:
        with np.load(path, allow_pickle=False) as data:
            return str(data['model_kind']) if 'model_kind' in data.files else 'stdp'
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f'{path}: corrupt or truncated checkpoint ({exc})') from None
