# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What the governor's measured inputs mean: battery percentages of either scale, latencies.

Plain Python, no ROS: the governor node feeds message fields in and gets levels or reasons out.

Battery percentage (``sensor_msgs/BatteryState.percentage``; ``docs/ros.md`` has the rule in
words). The message defines 0..1, but Gazebo's LinearBatteryPlugin with ``fix_issue_225``
sends 0..100, and a value such as 0.9 is 90 % on one scale and 0.9 % on the other. The scale is
a property of the producer, so it is decided by the majority of the last ``SCALE_WINDOW``
messages that say something about it, never latched by one message:

- a value above 1 is a vote for 0..100;
- a value in (0, 1] is a vote for 0..1, except while 0..100 is in force and the last level was
  at most ``LOW_LEVEL``: then it is a 0..100 producer's last percent (1.0, 0.9, ... on its way
  to 0) and votes for 0..100;
- 0, tiny negatives, NaN and rejected values do not vote. A tie keeps the scale in force; the
  first one is 0..1 (the message definition's).

Each value is read in the scale in force once its own vote is counted. A value that scale
contradicts (above 1 under 0..1; in (0, 1] under 0..100 while the last level was above
``LOW_LEVEL``) is refused as a scale mismatch: a glitch moves neither the level nor the scale.

A drained LinearBatteryPlugin freezes the charge just below 0 and from then on publishes about
-4.6e-5: a value in [-``EMPTY_BELOW_ZERO``, 0) is read as empty (level 0, with a note), so the
reading stays fresh and the governor stays at its low-battery choice. Values below that, above
100 or infinite are refused as out of range.

Latency (``topspark/latency``, seconds of compute for one sample): a finite number > 0 and at
most ``MAX_LATENCY_S`` (an hour: the largest budget the governor accepts, far beyond any real
sample); anything else is refused with a reason, so a moving average of accepted values stays
finite.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
import math

SCALE_WINDOW = 15           # scale votes kept (odd: a full window has no tie)
LOW_LEVEL = 0.05            # under 0..100, a value <= 1 after a level <= this is still percent
EMPTY_BELOW_ZERO = 0.01     # values in [-this, 0) are a drained battery, read as empty
MAX_LATENCY_S = 3600.0      # a latency above this is implausible (the largest budget accepted)

FRACTION = '0..1'
PERCENT = '0..100'


class InputError(ValueError):
    """A refused input; ``reason`` is the short key it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BatteryReading:
    """One accepted percentage: the level 0..1 (None: NaN, unmeasured), the scale it was read
    in, and a note when it needed interpreting (a tiny negative read as empty)."""

    level: float | None
    scale: str
    note: str = ''


class BatteryScale:
    """Reads one producer's ``BatteryState.percentage`` values (module docstring for the rule)."""

    def __init__(self, window: int = SCALE_WINDOW) -> None:
        self._votes: collections.deque[str] = collections.deque(maxlen=window)
        self.scale = FRACTION
        self.last_level: float | None = None        # the last numeric level read

    @property
    def percent(self) -> bool:
        return self.scale == PERCENT

    def read(self, percentage: float) -> BatteryReading:
        """The level for ``percentage``; raises InputError ('battery_out_of_range' or
        'battery_scale_mismatch') for a value it refuses, keeping its state but the vote."""
        value = float(percentage)
        if math.isnan(value):
            return BatteryReading(None, self.scale)
        if math.isinf(value) or value > 100.0 or value < -EMPTY_BELOW_ZERO:
            raise InputError('battery_out_of_range',
                             f'percentage {value!r} is outside 0..1 (and 0..100)')
        if value <= 0.0:
            self.last_level = 0.0
            note = '' if value == 0.0 else (
                f'percentage {value:.3g} is below 0 by less than {EMPTY_BELOW_ZERO:g}: '
                'read as empty (a drained battery)')
            return BatteryReading(0.0, self.scale, note)
        self._vote(self._evidence(value))
        if value > 1.0 and self.scale == FRACTION:
            raise InputError('battery_scale_mismatch',
                             f'percentage {value:g} > 1 from a producer that sends 0..1 (the '
                             f'last {len(self._votes)} values say so)')
        if value <= 1.0 and self.scale == PERCENT and not self._low():
            raise InputError('battery_scale_mismatch',
                             f'percentage {value:g} <= 1 from a producer that sends 0..100, '
                             f'after a level of {self.last_level:.3f}')
        level = value / 100.0 if self.scale == PERCENT else value
        self.last_level = level
        return BatteryReading(level, self.scale)

    def _low(self) -> bool:
        return self.last_level is None or self.last_level <= LOW_LEVEL

    def _evidence(self, value: float) -> str:
        if value > 1.0:
            return PERCENT
        return PERCENT if self.scale == PERCENT and self._low() else FRACTION

    def _vote(self, vote: str) -> None:
        self._votes.append(vote)
        percent = sum(v == PERCENT for v in self._votes)
        fraction = len(self._votes) - percent
        if percent != fraction:
            self.scale = PERCENT if percent > fraction else FRACTION


def check_latency(seconds: float) -> float:
    """``seconds`` if it is a plausible compute latency; else InputError with the reason
    ('latency_not_finite', 'latency_not_positive' or 'latency_implausible')."""
    value = float(seconds)
    if not math.isfinite(value):
        raise InputError('latency_not_finite', f'latency {value!r} is not a finite number')
    if value <= 0.0:
        raise InputError('latency_not_positive', f'latency {value!r} s is not > 0')
    if value > MAX_LATENCY_S:
        raise InputError('latency_implausible',
                         f'latency {value:g} s is above the plausible {MAX_LATENCY_S:g} s')
    return value
