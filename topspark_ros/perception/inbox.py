# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The hand-off between subscription callbacks and perception's worker thread.

Callbacks only store: the newest frame replaces an unprocessed one (a slow network drops old
frames instead of queueing them), event packets queue up to a bound (every packet carries
part of a window). The worker takes both at once and runs them; ``stop`` wakes it to end.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
import threading
import time
from typing import Any

MAX_EVENT_PACKETS = 4096        # queued packets beyond this push out the oldest (counted)


@dataclass(frozen=True)
class Arrival:
    """A message as a callback received it, and when (perf_counter seconds)."""

    topic: str
    message: Any
    at: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Batch:
    frame: Arrival | None
    packets: list[Arrival]


class Inbox:
    """Newest frame slot plus a bounded packet queue, guarded by one Condition."""

    def __init__(self, max_packets: int = MAX_EVENT_PACKETS) -> None:
        self._wakeup = threading.Condition()
        self._frame: Arrival | None = None
        self._packets: collections.deque[Arrival] = collections.deque()
        self._max_packets = max_packets
        self._stopping = False

    def put_frame(self, arrival: Arrival) -> bool:
        """Store the newest frame; True if it replaced one the worker had not taken."""
        with self._wakeup:
            replaced = self._frame is not None
            self._frame = arrival
            self._wakeup.notify()
        return replaced

    def put_packet(self, arrival: Arrival) -> bool:
        """Queue an event packet; True if the queue was full and the oldest one was dropped."""
        with self._wakeup:
            dropped = len(self._packets) >= self._max_packets
            if dropped:
                self._packets.popleft()
            self._packets.append(arrival)
            self._wakeup.notify()
        return dropped

    def take(self) -> Batch | None:
        """Wait for work; the newest frame and all queued packets, or None once stopped."""
        with self._wakeup:
            self._wakeup.wait_for(lambda: self._stopping or self._frame or self._packets)
            if self._stopping:
                return None
            batch = Batch(self._frame, list(self._packets))
            self._frame = None
            self._packets.clear()
        return batch

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
