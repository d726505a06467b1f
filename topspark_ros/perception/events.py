# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Event packets to samples: fixed windows of event time, one sample each.

Event times arrive relative to each packet's header stamp (seconds). ``EventStream`` puts them
on one time line that starts at the first packet (float64 seconds stay precise near zero, not
near 1.7e9), checks that they are plausible, and ``EventWindow`` cuts that line into windows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..models.base import EventSample

MAX_EVENT_OFFSET_S = 3600.0
"""Largest |t| accepted relative to a packet's stamp. Beyond it the packet is refused: times in
nanoseconds or since the epoch would otherwise stretch a window over centuries, and near 4.5e15 s
a window's ``start + length`` equals its start."""
MAX_WINDOW_EVENTS = 2_000_000
"""Events one window holds at most (about 40 MB); further events of that window are dropped and
counted, so a flood between two window ends cannot exhaust memory."""


class EventRejected(ValueError):
    """A packet the stream refuses; ``reason`` is the diagnostics counter key."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


class Window(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    span: tuple[float, float]


class EventWindow:
    """Accumulates events into fixed windows of ``length`` seconds, one sample each.

    A window starts at its first event; once an event at or after its end arrives, the events
    inside are a complete sample, and the next window starts at the first later event (gaps
    are skipped). Events older than the current window's start are dropped; a jump back by
    more than one window (a bag restarting) starts over. Each completed window consumes at
    least one event, so one ``add`` loops at most once per event.
    """

    def __init__(self, length: float) -> None:
        self.length = length
        self.start: float | None = None
        self.overflow = 0                   # events dropped because a window was full
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._held = 0
        self._t_max = -math.inf

    @property
    def length(self) -> float:
        return self._length

    @length.setter
    def length(self, length: float) -> None:
        if not (math.isfinite(length) and length > 0):
            raise ValueError(f'event window length must be a positive number, got {length}')
        self._length = float(length)

    def add(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> list[Window]:
        """Add one packet (finite times in seconds); returns the windows it completed, oldest
        first."""
        if t.size == 0:
            return []
        if not np.isfinite(t).all():
            raise ValueError('event times must be finite')
        largest = float(np.abs(t).max())
        if largest + self.length <= largest:        # a window would not advance: no loop
            raise ValueError(f'event time {largest:g} s is too large for a {self.length} s '
                             'window')
        if self.start is not None and t.max() < self.start - self.length:
            self.clear()
        if self.start is None:
            self.start = float(t.min())
        room = MAX_WINDOW_EVENTS - self._held
        if t.size > room:           # a full window drops its own further events, not later ones
            current = t < self.start + self.length
            keep = ~current | (np.cumsum(current) <= room)
            self.overflow += t.size - int(keep.sum())
            x, y, t = x[keep], y[keep], t[keep]
        if t.size:
            self._t_max = max(self._t_max, float(t.max()))
            self._chunks.append((x, y, t))
            self._held += t.size
        done = []
        while self.start is not None and self._t_max >= self.start + self.length:
            xs, ys, ts = (np.concatenate(c) for c in zip(*self._chunks))
            end = self.start + self.length
            inside = (ts >= self.start) & (ts < end)
            done.append(Window(xs[inside], ys[inside], ts[inside], (self.start, end)))
            later = ts >= end
            self.clear()
            if later.any():
                self._chunks = [(xs[later], ys[later], ts[later])]
                self._held = int(later.sum())
                self.start = max(end, float(ts[later].min()))
                self._t_max = float(ts[later].max())
        return done

    def clear(self) -> None:
        self.start = None
        self._chunks = []
        self._held = 0
        self._t_max = -math.inf


class EventStream:
    """Packets (x, y, t relative to the stamp) in, completed event samples out."""

    def __init__(self, window_s: float, sensor_shape: tuple[int, int]) -> None:
        self.window = EventWindow(window_s)
        self.sensor_shape = sensor_shape        # (height, width)
        self._epoch: float | None = None

    def add(self, x: np.ndarray, y: np.ndarray, t: np.ndarray,
            stamp_s: float) -> list[EventSample]:
        """Add one packet; returns the samples it completed, oldest first. Raises
        ``EventRejected`` for a packet whose times cannot be right (the stream is unchanged)."""
        if t.size == 0:
            raise EventRejected('empty_events', 'packet without events')
        if not np.isfinite(t).all():
            raise EventRejected('non_finite', 'event times contain NaN/Inf')
        if not math.isfinite(stamp_s):
            raise EventRejected('bad_stamp', f'header stamp {stamp_s} is not finite')
        offset = float(np.abs(t).max())
        if offset > MAX_EVENT_OFFSET_S:
            raise EventRejected(
                'implausible_event_time',
                f'event time {offset:g} s from the header stamp exceeds {MAX_EVENT_OFFSET_S:g} '
                's (t must be seconds, or microseconds as uint32, relative to the stamp)')
        if self._epoch is None:
            self._epoch = stamp_s
        try:
            windows = self.window.add(x, y, t + (stamp_s - self._epoch))
        except ValueError as exc:
            raise EventRejected('implausible_event_time', str(exc)) from None
        return [EventSample(w.x, w.y, w.t, w.span, self.sensor_shape) for w in windows]

    def outside_sensor(self, sample: EventSample) -> int:
        """How many of the sample's events lie outside the sensor (they are ignored)."""
        height, width = sample.sensor_shape
        x, y = sample.x, sample.y
        return int(np.count_nonzero((x < 0) | (x >= width) | (y < 0) | (y >= height)))
