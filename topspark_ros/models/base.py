# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The interface every perception model implements, so nodes, metrics and profiles need no
per-model code.

A model turns one sample (a frame, or a window of events) into per-class scores and the
operation counts the energy model prices. Its parameters come in two layers: the *base*
configuration it was trained with (what a checkpoint stores) and the overrides a TopSpark
profile applies for the current T (never stored). Models that learn online also take a
teacher label for their last sample.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from ..snn.network import OpCounts
from ..topspark.profile import Profile


class ModelError(ValueError):
    """A model refuses a sample, a label or a setting; the message says what and why, and
    ``reason`` is the key a node counts it under (rewording the message never moves a count)."""

    def __init__(self, text: str, reason: str = 'model_refused') -> None:
        super().__init__(text)
        self.reason = reason


@dataclass(frozen=True)
class EventSample:
    """One window of events: pixel x, y on a ``sensor_shape`` (height, width) sensor, time t
    in seconds, and the window [start, end) that is split into T steps."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    window: tuple[float, float]
    sensor_shape: tuple[int, int]


@dataclass(frozen=True)
class ModelOutput:
    """What one sample gives: per-class scores, the winning class (-1: no evidence) and the
    work done."""

    scores: np.ndarray          # float32 (n_classes,)
    prediction: int
    ops: OpCounts

    @classmethod
    def from_scores(cls, scores: np.ndarray, ops: OpCounts) -> 'ModelOutput':
        scores = np.asarray(scores, np.float32)
        prediction = int(np.argmax(scores)) if scores.size and scores.max() > 0 else -1
        return cls(scores, prediction, ops)


@dataclass(frozen=True)
class ModelSummary:
    """The model's shape and state as /diagnostics shows it (no per-model code in the node)."""

    kind: str                   # 'stdp', ...
    n_inputs: int
    n_neurons: int              # neurons that spike (excitatory, or all hidden ones)
    n_classes: int
    ready: bool                 # can it predict at all (an STDP net needs labelled neurons)
    note: str                   # why not ready, or a short description
    inhibition: str             # 'layer', 'direct' or 'none': what energy.py needs to know
    samples_seen: int


class PerceptionModel(abc.ABC):
    """One perception model behind the node: run a sample, apply a profile's overrides for T,
    learn (if it can), save."""

    kind: ClassVar[str]
    can_learn: bool             # learn=True accepted (a class or an instance attribute)

    @property
    def why_not_learning(self) -> str | None:
        """Why learn=True is refused, or None when it is accepted."""
        return None if self.can_learn else 'it runs inference only'

    @property
    @abc.abstractmethod
    def input_shape(self) -> tuple[int, int]:
        """(height, width) the model's input layer expects; frames are shrunk to it."""

    @property
    @abc.abstractmethod
    def dt_ms(self) -> float:
        """Length of one timestep in milliseconds."""

    @property
    @abc.abstractmethod
    def baseline_timesteps(self) -> int:
        """T0: the presentation length the model was trained for."""

    @property
    @abc.abstractmethod
    def event_window_scale(self) -> float:
        """Factor on the node's event window at the current T (a profile may shorten it)."""

    @abc.abstractmethod
    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Run with the base configuration plus ``overrides`` (dotted keys; {} restores the
        base). Raises ModelError, leaving the model as it was, when one does not apply."""

    @abc.abstractmethod
    def run_frame(self, image: np.ndarray, timesteps: int, learn: bool) -> ModelOutput:
        """One frame (any size the model can shrink, grey or colour) for ``timesteps`` steps."""

    @abc.abstractmethod
    def run_events(self, sample: EventSample, timesteps: int, learn: bool) -> ModelOutput:
        """One event window binned into ``timesteps`` steps."""

    @abc.abstractmethod
    def observe_label(self, label: int) -> None:
        """Teacher label for the last sample. Raises ModelError when there is none or the
        label is out of range."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Back to an untrained state of the same shape and base configuration."""

    @abc.abstractmethod
    def summary(self) -> ModelSummary:
        """Shape and state for diagnostics."""

    @abc.abstractmethod
    def check_profile(self, profile: Profile) -> None:
        """Refuse (ProfileError naming both sides) a profile not made for this model."""

    @abc.abstractmethod
    def snapshot(self) -> 'PerceptionModel':
        """An independent copy of the learned state, to save while the original runs on."""

    @abc.abstractmethod
    def save(self, path: Path, metadata: Mapping[str, Any]) -> Path:
        """Write the learned state with the *base* configuration and ``metadata``,
        atomically."""
