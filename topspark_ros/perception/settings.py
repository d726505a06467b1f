"""Perception's run-time settings: one frozen value the parameter callback replaces whole, so
the worker thread always reads a consistent set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

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
