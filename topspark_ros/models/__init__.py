# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception models behind one interface (``PerceptionModel``), chosen by the checkpoint.

Use from a script or notebook:

    from topspark_ros.models import load_model
    model, metadata = load_model('config/model_n400.npz')
    output = model.run_frame(image, timesteps=30, learn=False)    # STDP or deep, alike
    output.prediction, output.scores, output.ops
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..deep.checkpoint import checkpoint_kind, MODEL_KIND as DEEP_KIND
from ..snn import CheckpointError
from .base import EventSample, ModelError, ModelOutput, ModelSummary, PerceptionModel
from .deep import DeepModel
from .stdp import StdpModel


def load_model(path: str | Path) -> tuple[PerceptionModel, dict[str, Any]]:
    """The model a checkpoint holds and its metadata; CheckpointError names the file and the
    problem (missing, corrupt, unknown kind)."""
    path = Path(path)
    if checkpoint_kind(path) == DEEP_KIND:
        return DeepModel.load(path)
    return StdpModel.load(path)


__all__ = ['CheckpointError', 'DeepModel', 'EventSample', 'ModelError', 'ModelOutput',
           'ModelSummary', 'PerceptionModel', 'StdpModel', 'load_model']
