"""Commands that cannot be abused cheaply: a rate limit, and a record of every service call.

A flood of timestep commands would make perception re-apply its profile parameters for every
message; ``RateLimiter`` keeps at most ``max_per_s`` in any one-second window and the node
drops (and counts) the rest. ``record_calls`` lets a node log each call of a service with
what rclpy knows of the request: rclpy (9.1.2) passes the request header
(``rmw_service_info_t``) to ``Service.send_response`` but not to the callback, and that header
holds the request's sequence number and its source/received timestamps; the client's GID is
not exposed, so the node adds the clients the graph shows (``graph_watch``).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Callable


class RateLimiter:
    """At most ``max_per_s`` events in any window of ``window_s`` seconds; 0: no limit."""

    def __init__(self, max_per_s: int, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()
        self.max_per_s = max_per_s

    @property
    def max_per_s(self) -> int:
        return self._max

    @max_per_s.setter
    def max_per_s(self, value: int) -> None:
        if value < 0:
            raise ValueError(f'max_per_s must be >= 0, got {value}')
        self._max = int(value)
        while len(self._times) > self._max:     # bounded by the limit, whatever came before
            self._times.popleft()

    def allow(self, now: float) -> bool:
        """Count an event at monotonic time ``now``; False if it exceeds the limit (dropped:
        a dropped event does not count against later ones)."""
        if self._max == 0:
            return True
        if self._times and now < self._times[-1]:
            self._times.clear()                 # the clock went back: start a new window
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()               # expired
        if len(self._times) >= self._max:
            return False
        self._times.append(now)
        return True


@dataclass(frozen=True)
class RequestHeader:
    """What rclpy tells of one service request (no client identity: see the module doc)."""

    sequence_number: int
    source_timestamp_ns: int | None = None
    received_timestamp_ns: int | None = None

    def describe(self) -> str:
        text = f'request #{self.sequence_number}'
        if self.source_timestamp_ns and self.received_timestamp_ns:
            delay_ms = (self.received_timestamp_ns - self.source_timestamp_ns) / 1e6
            text += f' sent at {self.source_timestamp_ns / 1e9:.3f} s ({delay_ms:.1f} ms before)'
        return text


def request_header(header: Any) -> RequestHeader:
    """A RequestHeader from rclpy's ``rmw_service_info_t`` (or ``rmw_request_id_t``)."""
    request_id = getattr(header, 'request_id', header)
    return RequestHeader(int(getattr(request_id, 'sequence_number', -1)),
                         getattr(header, 'source_timestamp', None),
                         getattr(header, 'received_timestamp', None))


def record_calls(service: Any, on_response: Callable[[Any, RequestHeader], None],
                 logger: Any) -> None:
    """Call ``on_response(response, header)`` for every answered request of ``service``
    (an rclpy Service), just before the response is sent; the executor hands the header
    only to ``send_response``, so that is where it is read. A failing ``on_response`` is
    logged to ``logger`` and never keeps the response from the client."""
    send = service.send_response

    def send_recorded(response: Any, header: Any) -> None:
        try:
            on_response(response, request_header(header))
        except Exception as exc:        # the record must not cost the client its answer
            logger.error(f'{service.service_name}: recording the call failed: {exc!r}')
        send(response, header)
    service.send_response = send_recorded
