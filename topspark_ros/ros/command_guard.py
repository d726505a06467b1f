# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Commands that cannot be abused cheaply: a rate limit, and a record of every service call.

A flood of timestep commands would make perception re-apply its profile parameters for every
message; ``RateLimiter`` keeps at most ``max_per_s`` in any one-second window and the node
drops (and counts) the rest. ``record_calls`` lets a node log each call of a service with
what rclpy knows of the request: rclpy (9.1.2) passes the request header
(``rmw_service_info_t``) to ``Service.send_response`` but not to the callback, and that header
holds the request's sequence number and its source/received timestamps; the client's GID is
not exposed, so the node adds the clients the graph shows (``graph_watch``).

``CommandGate`` puts these together with ``graph_watch`` for a node: it is the one place where
perception and the governor decide whether a command message or a call is taken.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from diagnostic_msgs.msg import DiagnosticStatus
from rcl_interfaces.msg import SetParametersResult
from rcl_interfaces.srv import SetParameters, SetParametersAtomically

from . import diagnostics, graph_watch


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


class CommandGate:
    """Who commands ``node``, in one place: the graph watch over its command topics, its own
    services and rclpy's set_parameters services, the verdicts the callbacks ask for, and the
    'commands' status of /diagnostics.

    ``topics`` are the resolved names of the command subscriptions, ``services`` its own
    services by key ('save_model': the rclpy Service; a response with ``success`` and
    ``message``, as std_srvs' Trigger and SetBool). While an unexpected client of one is
    present, its calls are answered ``success=False`` with the reason, without running the
    node's callback. Each answered call is logged and counted as ``<key>_calls`` in ``stats``;
    refused messages and calls are counted there by reason. rclpy's set_parameters services
    refuse while an unexpected client is present (a parameter change is a command too).
    ``allowed`` is ``command_publishers``' value; the gate follows later changes of that
    parameter itself. ``on_change()`` runs after the set of
    unexpected nodes changed (logged here), so the node can publish its diagnostics at once.
    """

    def __init__(self, node: Any, stats: Any, topics: Sequence[str],
                 services: Mapping[str, Any], allowed: Iterable[str],
                 on_change: Callable[[], None]) -> None:
        self._node = node
        self._stats = stats
        self._on_change = on_change
        self._services = {key: srv.service_name for key, srv in services.items()}
        for key, srv in services.items():
            srv.callback = self._answering_refusals(key, srv.callback)
            record_calls(srv, self._recorder(key), node.get_logger())
        parameter_services = [node.resolve_service_name(n)
                              for n in graph_watch.PARAMETER_SERVICES]
        for srv in node.services:
            if srv.service_name in parameter_services:
                srv.callback = self._refusing(srv.service_name, srv.callback)
        self.watch = graph_watch.GraphWatch(
            node, topics, list(self._services.values()) + parameter_services, allowed,
            graph_watch.PERIOD_S, self._changed)
        node.add_post_set_parameters_callback(self._on_parameters)

    def accepted(self, topic: str, info: Any) -> bool:
        """False (counted, warned) for a command message from a publisher outside
        command_publishers; ``info`` is rclpy's MessageInfo of the message."""
        reason, sender = self.watch.message_verdict(info)
        if reason:
            self._stats.reject(reason, f'{topic}: a command from {sender}, which is not in '
                                       'command_publishers; ignored')
        return reason is None

    def refused_call(self, key: str) -> str | None:
        """Why a call of the node's service ``key`` is refused now (an unexpected client is
        present; counted, warned), or None."""
        name = self._services[key]
        reason = self.watch.call_verdict(name)
        if reason is None:
            return None
        text = (f'refused: {name} has clients outside command_publishers '
                f'({", ".join(self.watch.clients(name))})')
        self._stats.reject(reason, text)
        return text

    def status(self, extra: Mapping[str, Any] | None = None) -> DiagnosticStatus:
        """The 'commands' status: who publishes and calls, the calls answered, ``extra``."""
        report = self.watch.report
        counts = self._stats.snapshot()
        values: dict[str, Any] = dict(report.values())
        values.update({f'{key}_calls': counts.get(f'{key}_calls', 0) for key in self._services})
        values.update(extra or {})
        level = diagnostics.WARN if report.unexpected else diagnostics.OK
        return diagnostics.status(self._node.get_name(), 'commands', level, report.message(),
                                  values)

    def _answering_refusals(self, key: str, callback: Callable[[Any, Any], Any]
                            ) -> Callable[[Any, Any], Any]:
        def answering(request: Any, response: Any) -> Any:
            refusal = self.refused_call(key)
            if refusal:
                response.success, response.message = False, refusal
                return response
            return callback(request, response)
        return answering

    def _recorder(self, key: str) -> Callable[[Any, RequestHeader], None]:
        name = self._services[key]

        def record(response: Any, header: RequestHeader) -> None:
            self._stats.add(f'{key}_calls')
            clients = ', '.join(self.watch.clients(name)) or 'none seen'
            self._node.get_logger().info(
                f'{name}: {"done" if response.success else "not done"} ({response.message}); '
                f'{header.describe()}; clients in the graph: {clients}')
        return record

    def _refusing(self, name: str, callback: Callable[[Any, Any], Any]
                  ) -> Callable[[Any, Any], Any]:
        def refusing(request: Any, response: Any) -> Any:
            reason = self.watch.call_verdict(name)
            if reason is None:
                return callback(request, response)
            refused = SetParametersResult(
                successful=False, reason=f'refused: {name} has clients outside '
                                         'command_publishers')
            self._stats.reject(reason, f'{name}: {refused.reason}')
            if isinstance(response, SetParameters.Response):
                response.results = [refused for _ in request.parameters]
            elif isinstance(response, SetParametersAtomically.Response):
                response.result = refused
            return response
        return refusing

    def _on_parameters(self, changed: list[Any]) -> None:
        for p in changed:
            if p.name == graph_watch.ALLOW_LIST:
                self.watch.set_allowed(p.value)

    def _changed(self, report: graph_watch.WatchReport) -> None:
        if report.unexpected:
            self._node.get_logger().warning(f'{report.message()} (command_publishers: '
                                            f'{", ".join(sorted(report.allowed))})')
        else:
            self._node.get_logger().info('no unexpected commander any more')
        self._on_change()
