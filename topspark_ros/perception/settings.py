# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception's parameters and run-time settings, without ROS.

``parameter_specs()`` is the node's parameter table (name, default, description, range,
read-only), which the node turns into descriptors; ``Settings`` is the run-time part of it,
one frozen value the parameter callback replaces whole, so the worker thread always reads a
consistent set. ``check_timesteps_command`` is what a ``topspark/timesteps`` message must pass
before it becomes the ``timesteps`` parameter. ``open_service`` and ``apply_changes`` connect
the parameters to the model service: at start, and for each accepted change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from .. import shipped
from ..snn.config import MAX_TIMESTEPS
from .service import FALLBACKS, ModelFiles, ModelService, ModelStartError

DEFAULT_MAX_PIXELS = 4096 * 4096
"""Largest compressed frame (width x height, as its header declares it) perception decodes."""


@dataclass(frozen=True)
class Settings:
    timesteps: int = 350
    learning: bool = False
    event_window_s: float = 0.3
    sensor_shape: tuple[int, int] = (28, 28)        # (height, width) of the event sensor
    save_period_s: float = 0.0
    save_on_shutdown: bool = True
    max_pixels: int = DEFAULT_MAX_PIXELS
    log_throttle_s: float = 5.0

    def updated(self, values: Mapping[str, Any]) -> 'Settings':
        """A copy with the node's parameter values (by parameter name) applied; other names
        are ignored."""
        changes = {name: values[name] for name in
                   ('timesteps', 'learning', 'event_window_s', 'save_period_s',
                    'save_on_shutdown', 'max_pixels', 'log_throttle_s') if name in values}
        if 'event_sensor_height' in values or 'event_sensor_width' in values:
            height, width = self.sensor_shape
            changes['sensor_shape'] = (int(values.get('event_sensor_height', height)),
                                       int(values.get('event_sensor_width', width)))
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter as declared: a closed integer (step 1) or float range if any."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    integers: tuple[int, int] | None = None
    floats: tuple[float, float] | None = None


def parameter_specs() -> tuple[ParameterSpec, ...]:
    """Perception's parameters (but ``command_publishers``, which the command guard declares);
    defaults from ``Settings`` and the shipped model and profile (looked up now)."""
    defaults, files = Settings(), ModelFiles('')
    return (
        ParameterSpec(
            'model_path', shipped.shipped(shipped.MODEL),
            'Checkpoint (.npz) loaded at start (default: the shipped model). A missing or '
            'corrupt file refuses the start, unless model_fallback is fresh.', read_only=True),
        ParameterSpec(
            'model_fallback', files.fallback,
            "When model_path cannot be loaded: 'refuse' (exit with the reason) or 'fresh' "
            '(an untrained network of n_neurons, never saved until it learned).',
            read_only=True),
        ParameterSpec(
            'profile_path', shipped.shipped(shipped.PROFILE),
            'TopSpark profile (profile.yaml or its directory) made for this model: its '
            'parameters for each T are applied when T changes, and only its T are accepted. '
            "Empty: the model's own parameters at any T.", read_only=True),
        ParameterSpec(
            'n_neurons', files.fresh_neurons,
            "Excitatory neurons of a fresh network (model_fallback 'fresh' only).",
            read_only=True, integers=(1, 10000)),
        ParameterSpec(
            'timesteps', defaults.timesteps,
            'Timesteps T per sample; fewer means less energy and latency. Also set by the '
            'topspark/timesteps topic.', integers=(1, MAX_TIMESTEPS)),
        ParameterSpec(
            'learning', defaults.learning,
            'Online learning on every sample (models that can learn); also ~/set_learning.'),
        ParameterSpec(
            'save_path', files.save_path,
            'Checkpoint (.npz) written by ~/save_model, periodic and shutdown saves, when '
            'something was learned or labelled. Empty: nothing is saved.'),
        ParameterSpec(
            'overwrite_model', files.overwrite_model,
            'Allow save_path to be the loaded model_path.',
            read_only=True),
        ParameterSpec(
            'save_period_s', defaults.save_period_s,
            'Seconds between periodic saves; 0 disables them.', floats=(0.0, 86400.0)),
        ParameterSpec(
            'save_on_shutdown', defaults.save_on_shutdown,
            'Save (if anything changed) when the node exits.'),
        ParameterSpec(
            'input_reliability', 'auto',
            "Camera/event subscription reliability: 'auto' matches the publishers "
            "(all reliable -> reliable, else best effort), or 'reliable', 'best_effort'.",
            read_only=True),
        ParameterSpec(
            'event_window_s', defaults.event_window_s,
            'Seconds of events in one sample at T0; a profile can shorten it with T.',
            floats=(0.001, 60.0)),
        ParameterSpec(
            'event_sensor_width', defaults.sensor_shape[1],
            'Event sensor width in pixels; x is scaled from it to the model input.',
            integers=(1, 65535)),
        ParameterSpec(
            'event_sensor_height', defaults.sensor_shape[0],
            'Event sensor height in pixels; y is scaled from it to the model input.',
            integers=(1, 65535)),
        ParameterSpec(
            'max_pixels', defaults.max_pixels,
            'Largest compressed frame (width x height) decoded; frames whose header declares '
            'more are refused before decoding (too_large).', read_only=True,
            integers=(1, 1 << 30)),
        ParameterSpec(
            'log_throttle_s', defaults.log_throttle_s,
            'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0)),
        ParameterSpec(
            'max_timestep_commands_per_s', 20,
            'topspark/timesteps messages accepted in any one second; more are dropped and '
            'counted. 0: no limit.', integers=(0, 1000)),
    )


def check_changes(values: Mapping[str, Any], service: ModelService | None) -> str | None:
    """Why perception refuses these parameter values (by name), or None: what the descriptors'
    ranges and read-only flags cannot say. ``service`` None: at start, before the model is
    loaded (timesteps and learning are checked once it is)."""
    if 'model_fallback' in values and values['model_fallback'] not in FALLBACKS:
        return f'model_fallback {values["model_fallback"]!r} is not one of {FALLBACKS}'
    if 'save_path' in values:
        files = service.files if service else ModelFiles('')
        reason = ModelFiles(files.model_path, values['save_path'], files.overwrite_model).check()
        if reason:
            return reason
    if service is not None:
        if 'timesteps' in values:
            reason = service.check_timesteps(values['timesteps'])
            if reason:
                return reason
        if 'learning' in values:
            return service.check_learning(values['learning'])
    return None


def open_service(values: Mapping[str, Any], settings: Settings) -> ModelService:
    """The model service for the node's parameter ``values`` (by name), at ``settings``' T;
    raises ModelStartError when the model, the profile, T or learning cannot work."""
    service = ModelService.open(
        ModelFiles(values['model_path'], values['save_path'], values['overwrite_model'],
                   values['model_fallback'], values['n_neurons']),
        values['profile_path'], event_window_s=settings.event_window_s,
        sensor_shape=settings.sensor_shape)
    reason = (service.check_timesteps(settings.timesteps)
              or service.check_learning(settings.learning))
    if reason:
        raise ModelStartError(reason)
    service.set_timesteps(settings.timesteps)
    return service


def apply_changes(service: ModelService, old: Settings, new: Settings,
                  values: Mapping[str, Any]) -> dict[str, Any]:
    """Pass what changed from ``old`` to ``new`` settings (and a new ``save_path`` among the
    changed parameter ``values``) to ``service``; return the profile's parameters applied
    for a new T (empty if T did not change or the profile has none for it)."""
    if 'save_path' in values:
        service.files = dataclasses.replace(service.files, save_path=values['save_path'])
    overrides = service.set_timesteps(new.timesteps) if new.timesteps != old.timesteps else {}
    if (new.event_window_s, new.sensor_shape) != (old.event_window_s, old.sensor_shape):
        service.set_event_window(new.event_window_s, new.sensor_shape)
    return overrides


@dataclass(frozen=True)
class Refusal:
    """Why an input is not taken: its counter key and the line to log."""

    reason: str
    text: str


def check_timesteps_command(value: int, current: int, within_rate: bool,
                            max_per_s: int) -> Refusal | None:
    """Why a ``topspark/timesteps`` command ``value`` is dropped, or None to set it as the
    ``timesteps`` parameter; ``within_rate``: the rate limiter let it through."""
    if not within_rate:
        return Refusal('timesteps_rate_limited', f'topspark/timesteps: more than {max_per_s} '
                       f'commands in one second (max_timestep_commands_per_s); {value} dropped')
    if not 1 <= value <= MAX_TIMESTEPS:
        return Refusal('timesteps_out_of_range', f'topspark/timesteps: {value} is outside '
                       f'1..{MAX_TIMESTEPS}; keeping {current}')
    return None
