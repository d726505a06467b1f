# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What perception does with its model, without ROS: load it (or refuse), apply the TopSpark
profile's parameters for T, run samples, take labels, and save learned state without ever
corrupting or silently replacing the user's model file.

The model file rules (docs/ros.md, "The model file"):

- ``model_path`` is loaded at start. A missing or corrupt file refuses the start
  (``ModelStartError``), unless ``fallback='fresh'`` asks for an untrained network instead.
- A checkpoint always holds the model's *base* configuration: the profile's per-T overrides
  are applied at run time and never saved. The loaded metadata (dataset, epochs, accuracy, ...)
  is kept, and every save appends what happened since the previous one to its ``history``
  (samples learned online and at which T, labels applied, resets).
- Nothing is written when nothing changed. Saves go to ``save_path``; saving over the file
  that was loaded needs ``overwrite_model``; a file that failed to load is never written.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime, timezone
import os
from pathlib import Path
import threading
from typing import Any

import numpy as np

from ..models import (CheckpointError, EventSample, load_model, ModelError, ModelOutput,
                      ModelSummary, PerceptionModel, StdpModel)
from ..snn import ConfigError, NetworkConfig
from ..topspark import load_profile, Profile, ProfileError
from .events import EventStream

FALLBACKS = ('refuse', 'fresh')


class ModelStartError(RuntimeError):
    """The model or profile cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class ModelFiles:
    """Where the model comes from and where learned state may go."""

    model_path: str
    save_path: str = ''
    overwrite_model: bool = False
    fallback: str = 'refuse'            # 'refuse' or 'fresh' (an untrained network)
    fresh_neurons: int = 400

    def check(self) -> str | None:
        """Why these settings cannot work, or None."""
        if self.fallback not in FALLBACKS:
            return f'model_fallback {self.fallback!r} is not one of {", ".join(FALLBACKS)}'
        if self.save_path and not self.save_path.endswith('.npz'):
            return f'save_path {self.save_path!r} must end in .npz (or be empty)'
        if (self.save_path and self.model_path and not self.overwrite_model
                and _same_file(self.save_path, self.model_path)):
            return (f'save_path {self.save_path!r} is the loaded model_path: set '
                    'overwrite_model to true to save over it, or choose another save_path')
        return None


def _same_file(a: str, b: str) -> bool:
    return os.path.abspath(os.path.expanduser(a)) == os.path.abspath(os.path.expanduser(b))


@dataclass(frozen=True)
class SaveResult:
    success: bool
    message: str
    written: bool = False


@dataclass
class _Changes:
    """What happened to the learned state since the last save."""

    samples_by_timesteps: collections.Counter[int] = field(default_factory=collections.Counter)
    labels: int = 0
    reset: bool = False

    def any(self) -> bool:
        return bool(self.samples_by_timesteps or self.labels or self.reset)

    def record(self, saved_by: str, source: str) -> dict[str, Any]:
        return {
            'saved_at': datetime.now(timezone.utc).isoformat(timespec='seconds'),
            'saved_by': saved_by, 'started_from': source,
            'samples_learned': sum(self.samples_by_timesteps.values()),
            'samples_learned_by_timesteps': {str(T): n for T, n in
                                             sorted(self.samples_by_timesteps.items())},
            'labels_applied': self.labels, 'reset': self.reset,
        }


@dataclass(frozen=True)
class ServiceStatus:
    """The model's part of /diagnostics."""

    summary: ModelSummary
    source: str
    load_error: str
    profile: str
    overrides: dict[str, Any]
    save_target: str
    last_save: str
    save_error: str
    unsaved_samples: int
    unsaved_labels: int


class ModelService:
    """A perception model with its file rules, profile and event stream; thread-safe.

    The node's worker runs samples while its callbacks take labels, resets and saves, so every
    use of the model holds ``lock``; a save copies the state under the lock and writes outside
    it.
    """

    def __init__(self, model: PerceptionModel, metadata: dict[str, Any], files: ModelFiles,
                 source: str, load_error: str = '', profile: Profile | None = None,
                 profile_path: str = '', event_window_s: float = 0.3,
                 sensor_shape: tuple[int, int] = (28, 28)) -> None:
        self.lock = threading.Lock()
        self.model = model
        self.files = files
        self.source = source
        self.load_error = load_error
        self.profile = profile
        self.profile_path = profile_path
        self._metadata = dict(metadata)
        self._changes = _Changes()
        self._overrides: dict[str, Any] = {}
        self._timesteps = model.baseline_timesteps
        self._event_window_s = event_window_s
        self.events = EventStream(event_window_s, sensor_shape)
        self._save_lock = threading.Lock()
        self._last_save = ''
        self._save_error = ''

    @classmethod
    def open(cls, files: ModelFiles, profile_path: str = '', **kwargs: Any) -> 'ModelService':
        """Load the model and profile by the file rules; ModelStartError says why not."""
        reason = files.check()
        if reason:
            raise ModelStartError(reason)
        load_error = ''
        if files.model_path:
            try:
                model, metadata = load_model(files.model_path)
                source = f'loaded {files.model_path}'
            except (CheckpointError, OSError, ValueError) as exc:
                load_error = str(exc)
        if load_error or not files.model_path:
            if files.fallback != 'fresh':
                raise ModelStartError(
                    f'cannot load model_path: {load_error or "model_path is empty"} (set '
                    "model_fallback to 'fresh' to run an untrained network instead)")
            try:
                model = StdpModel.fresh(NetworkConfig(n_neurons=files.fresh_neurons))
            except ConfigError as exc:
                raise ModelStartError(f'n_neurons: {exc}') from None
            metadata = {'origin': f'fresh untrained network ({files.fresh_neurons} neurons)'}
            source = (f'fallback: {metadata["origin"]} ({load_error})' if load_error
                      else metadata['origin'])
        profile = None
        if profile_path:
            try:
                profile = load_profile(profile_path)
            except (ProfileError, OSError) as exc:
                raise ModelStartError(f'profile_path: {exc}') from None
            try:
                model.check_profile(profile)
            except ProfileError as exc:
                raise ModelStartError(f'profile_path does not belong to the model ({source}): '
                                      f'{exc}') from None
        return cls(model, metadata, files, source, load_error, profile, profile_path, **kwargs)

    # ------------------------------------------------------------------ timesteps

    def check_timesteps(self, timesteps: int) -> str | None:
        """Why the model cannot run ``timesteps`` steps per sample, or None."""
        if self.profile is not None and timesteps not in self.profile.timesteps:
            return (f'T={timesteps} is not in the profile {self.profile_path} '
                    f'(profiled: {", ".join(map(str, self.profile.timesteps))})')
        return None

    def set_timesteps(self, timesteps: int) -> dict[str, Any]:
        """Apply the profile's parameters for ``timesteps``; returns them ({}: the model's own).
        Raises ModelError (nothing changed) for a T the profile does not have."""
        reason = self.check_timesteps(timesteps)
        if reason:
            raise ModelError(reason, 'timesteps_not_profiled')
        overrides = dict(self.profile.entry(timesteps).params) if self.profile else {}
        with self.lock:
            self.model.apply_overrides(overrides)
            self._overrides = overrides
            self._timesteps = timesteps
            self._sync_event_window()
        return overrides

    @property
    def timesteps(self) -> int:
        return self._timesteps

    def set_event_window(self, window_s: float, sensor_shape: tuple[int, int]) -> None:
        """The event sample length at T0 and the sensor size events are scaled from."""
        with self.lock:
            self._event_window_s = window_s
            self.events.sensor_shape = sensor_shape
            self._sync_event_window()

    def _sync_event_window(self) -> None:
        self.events.window.length = self._event_window_s * self.model.event_window_scale

    # ------------------------------------------------------------------ samples and labels

    def check_learning(self, learning: bool) -> str | None:
        reason = self.model.why_not_learning
        if learning and reason:
            return f'the {self.model.kind} model cannot learn online: {reason}'
        return None

    def run_frame(self, image: np.ndarray, learn: bool) -> ModelOutput:
        """One frame at the current T; raises ModelError for a frame the model refuses."""
        with self.lock:
            output = self.model.run_frame(image, self._timesteps, learn)
            self._count(learn)
        return output

    def run_events(self, sample: EventSample, learn: bool) -> ModelOutput:
        with self.lock:
            output = self.model.run_events(sample, self._timesteps, learn)
            self._count(learn)
        return output

    def _count(self, learn: bool) -> None:
        if learn:
            self._changes.samples_by_timesteps[self._timesteps] += 1

    def observe_label(self, label: int) -> None:
        """Teacher label for the last sample; raises ModelError (with the reason) if refused."""
        with self.lock:
            self.model.observe_label(label)
            self._changes.labels += 1

    def reset(self) -> None:
        """Untrained weights and no labels; the provenance says so from now on. ModelError
        for a model that cannot be reset (trained offline)."""
        with self.lock:
            self.model.reset()
            self._metadata = {'origin': f'reset from {self.source}',
                              'before_reset': self._metadata}
            self._changes = _Changes(reset=True)

    # ------------------------------------------------------------------ saving

    def save_target(self) -> Path | None:
        """Where a save goes: save_path, never a model file that failed to load."""
        target = self.files.save_path
        if not target:
            return None
        failed = self.files.model_path if self.load_error else ''
        if failed and _same_file(target, failed):
            return None
        return Path(os.path.expanduser(target))

    def unsaved(self) -> bool:
        with self.lock:
            return self._changes.any()

    def save(self, saved_by: str) -> SaveResult:
        """Write the learned state (base configuration, provenance) if anything changed."""
        with self._save_lock:
            target = self.save_target()
            with self.lock:
                if not self._changes.any():
                    return SaveResult(True, 'nothing learned or labelled since '
                                      f'{"the last save" if self._last_save else "the start"}: '
                                      'nothing written')
                if target is None:
                    why = ('model_path failed to load and is never written' if
                           self.files.save_path else 'save_path is empty')
                    return SaveResult(False, f'not saved: {why}; set save_path to keep what '
                                      'was learned')
                changes, self._changes = self._changes, _Changes()
                snapshot = self.model.snapshot()
                history = list(self._metadata.get('history', []))
                history.append(changes.record(saved_by, self.source))
                metadata = {**self._metadata, 'history': history}
            try:
                snapshot.save(target, metadata)
            except OSError as exc:
                with self.lock:         # keep the changes for the next attempt
                    self._merge_back(changes)
                self._save_error = f'{target}: {exc}'
                return SaveResult(False, f'save failed: {self._save_error}')
            with self.lock:
                self._metadata = metadata
            self._save_error = ''
            self._last_save = str(target)
            return SaveResult(True, f'saved to {target}', written=True)

    def _merge_back(self, changes: _Changes) -> None:
        self._changes.samples_by_timesteps.update(changes.samples_by_timesteps)
        self._changes.labels += changes.labels
        self._changes.reset = self._changes.reset or changes.reset

    # ------------------------------------------------------------------ status

    def status(self) -> ServiceStatus:
        with self.lock:
            summary = self.model.summary()
            overrides = dict(self._overrides)
            samples = sum(self._changes.samples_by_timesteps.values())
            labels = self._changes.labels
        target = self.save_target()
        return ServiceStatus(summary, self.source, self.load_error, self.profile_path,
                             overrides, str(target) if target else '', self._last_save,
                             self._save_error, samples, labels)
