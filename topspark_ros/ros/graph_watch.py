# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Who commands this node: publishers of its command topics and clients of its services.

Without DDS security anyone on the ROS domain can publish a timestep command or call a
service; with it, only the enclaves the policy allows can (config/sros2/policy.xml). Either
way a node can look at the ROS graph and say who is there. ``GraphWatch`` polls the graph for
the publishers of the node's command topics (by node name and namespace) and, where the
middleware tells it (the ``rq/<service>Request`` writers of the DDS-based rmw
implementations), the clients of its services, and reports them for /diagnostics.

``command_publishers`` (the node parameter, fully qualified node names) is the allow-list.
Empty: anyone may command, as before, and the watch only reports who does. Otherwise a
publisher or client outside the list is *unexpected*: a WARN in /diagnostics naming it, and
  - a command message is attributed to its publisher (the ``publisher_gid`` rclpy gives with
    each message, matched to the graph's endpoint GIDs) and refused when that node is not
    allowed ('unexpected_publisher') or unknown to the graph ('unknown_publisher');
  - a service call is refused while an unexpected client of that service is present
    ('unexpected_client'): rclpy 9.1.2's request header carries only a sequence number and
    timestamps, not the client's GID, so a call cannot be attributed to one client.
Node names are not authenticated without DDS security: a process can name itself
``/governor``. The watch detects mistakes and casual intrusions; SROS2 stops impostors.

``CommandWatch`` is the decision logic without ROS (plain data in, verdicts out);
``GraphWatch`` feeds it from a node's graph API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import threading
from typing import Any, Callable, Iterable, Mapping, Sequence

from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter

ALLOW_ANY = frozenset[str]()
UNEXPECTED_PUBLISHER = 'unexpected_publisher'
UNKNOWN_PUBLISHER = 'unknown_publisher'
UNEXPECTED_CLIENT = 'unexpected_client'
PERIOD_S = 0.25         # graph polls: an unexpected commander is reported well within a second
ALLOW_LIST = 'command_publishers'
PARAMETER_SERVICES = ('~/set_parameters', '~/set_parameters_atomically')
"""rclpy's services that change a node's parameters: commands too (``ros2 param set``)."""


def allow_list_parameter(commands: str) -> tuple[str, Any, ParameterDescriptor]:
    """The ``command_publishers`` declaration (name, type, descriptor) for declare_parameters;
    ``commands`` says what it guards. Declared without a value (an empty list has no type in
    rclpy or in a params file), then set to [] by ``initialise_allow_list``."""
    return (ALLOW_LIST, Parameter.Type.STRING_ARRAY, ParameterDescriptor(
        type=ParameterType.PARAMETER_STRING_ARRAY,
        description=f'Fully qualified names of the nodes allowed to command this node '
                    f'({commands}); others are reported as WARN in /diagnostics and their '
                    'commands refused. Empty: any node (who commands is still reported).'))


def initialise_allow_list(node: Any) -> list[str]:
    """Set ``command_publishers`` to [] when no value was given; return its value."""
    try:
        return list(node.get_parameter(ALLOW_LIST).value)
    except ParameterUninitializedException:
        node.set_parameters([Parameter(ALLOW_LIST, Parameter.Type.STRING_ARRAY, [])])
        return []


def fully_qualified(name: str, namespace: str) -> str:
    """``/ns/name`` from a node's name and namespace as the graph gives them."""
    return f'{namespace.rstrip("/")}/{name}'


def check_allow_list(names: Sequence[str] | None) -> str | None:
    """Why ``names`` is not a list of fully qualified node names, or None (None: declared
    without a value yet)."""
    for name in names or ():
        if not name.startswith('/') or name.endswith('/') or '//' in name or ' ' in name:
            return (f'command_publishers: {name!r} is not a fully qualified node name such as '
                    "'/governor' or '/robot1/governor'")
    return None


@dataclass(frozen=True)
class Endpoint:
    """One publisher (or service client) in the graph."""

    node: str           # fully qualified node name
    gid: bytes          # the endpoint's GID (rmw), matched against a message's publisher_gid


@dataclass(frozen=True)
class WatchReport:
    """Who publishes the command topics and calls the services, and who is unexpected."""

    publishers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    clients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unexpected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allowed: frozenset[str] = ALLOW_ANY

    @property
    def unexpected_nodes(self) -> tuple[str, ...]:
        return tuple(sorted({n for names in self.unexpected.values() for n in names}))

    def message(self) -> str:
        if self.unexpected:
            return 'unexpected commander: ' + '; '.join(
                f'{", ".join(names)} on {name}' for name, names in sorted(self.unexpected.items()))
        if not self.allowed:
            return 'any node may command (command_publishers is empty)'
        return 'only command_publishers command'

    def values(self) -> dict[str, str]:
        """KeyValues for /diagnostics: publishers, clients and the allow-list."""
        result = {f'publishers {t}': ', '.join(n) or 'none'
                  for t, n in sorted(self.publishers.items())}
        result.update({f'clients {s}': ', '.join(n) or 'none'
                       for s, n in sorted(self.clients.items())})
        result['command_publishers'] = ', '.join(sorted(self.allowed)) or 'any'
        result['unexpected'] = ', '.join(self.unexpected_nodes) or 'none'
        return result


class CommandWatch:
    """The watch's decisions, without ROS: feed it the graph (``update``), ask for verdicts."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(allowed)
        self.report = WatchReport()
        self._node_of_gid: dict[bytes, str] = {}

    def set_allowed(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(allowed)
        self.report = self._assess(self.report.publishers, self.report.clients)

    def update(self, publishers: Mapping[str, Sequence[Endpoint]],
               clients: Mapping[str, Sequence[Endpoint]]) -> WatchReport:
        """Take the graph's publishers of each command topic and clients of each service."""
        self._node_of_gid = {e.gid: e.node for endpoints in publishers.values()
                             for e in endpoints}
        self.report = self._assess(
            {t: tuple(sorted({e.node for e in es})) for t, es in publishers.items()},
            {s: tuple(sorted({e.node for e in es})) for s, es in clients.items()})
        return self.report

    def _assess(self, publishers: Mapping[str, tuple[str, ...]],
                clients: Mapping[str, tuple[str, ...]]) -> WatchReport:
        unexpected = {}
        if self.allowed:
            for name, nodes in list(publishers.items()) + list(clients.items()):
                outside = tuple(n for n in nodes if n not in self.allowed)
                if outside:
                    unexpected[name] = outside
        return WatchReport(dict(publishers), dict(clients), unexpected, self.allowed)

    def publisher_of(self, gid: bytes | None) -> str | None:
        """The node that owns publisher ``gid``, as of the last update; None if unknown."""
        return None if gid is None else self._node_of_gid.get(bytes(gid))

    def message_verdict(self, gid: bytes | None) -> str | None:
        """Why a command message from publisher ``gid`` is refused, or None to accept it."""
        if not self.allowed:
            return None
        node = self.publisher_of(gid)
        if node is None:
            return UNKNOWN_PUBLISHER
        return None if node in self.allowed else UNEXPECTED_PUBLISHER

    def call_verdict(self, service: str) -> str | None:
        """Why a call of ``service`` is refused now, or None: an unexpected client is there."""
        return UNEXPECTED_CLIENT if self.report.unexpected.get(service) else None


def publisher_gid(info: Mapping[str, Any] | None) -> bytes | None:
    """The publisher's GID from rclpy's MessageInfo of a received message, if it has one."""
    gid = (info or {}).get('publisher_gid')
    data = gid.get('data') if isinstance(gid, Mapping) else None
    return bytes(data) if data is not None else None


class GraphWatch:
    """Polls ``node``'s graph every ``period_s`` for the publishers of ``topics`` and the
    clients of ``services`` (resolved names); ``on_change(report)`` runs when the set of
    unexpected nodes changes (from the timer's thread). Thread-safe."""

    def __init__(self, node: Any, topics: Sequence[str], services: Sequence[str],
                 allowed: Iterable[str], period_s: float,
                 on_change: Callable[[WatchReport], None]) -> None:
        self._node = node
        self.topics = tuple(topics)
        self.services = tuple(services)
        self._watch = CommandWatch(allowed)
        self._lock = threading.Lock()
        self._on_change = on_change
        self._timer = node.create_timer(period_s, self.refresh)

    @property
    def report(self) -> WatchReport:
        with self._lock:
            return self._watch.report

    def set_allowed(self, allowed: Iterable[str]) -> None:
        with self._lock:
            before = self._watch.report.unexpected_nodes
            self._watch.set_allowed(allowed)
            report = self._watch.report
        if report.unexpected_nodes != before:
            self._on_change(report)

    def refresh(self) -> WatchReport:
        """Read the graph now (the timer does this every period)."""
        publishers = {t: self._endpoints(t, False) for t in self.topics}
        clients = {s: self._endpoints(f'rq{s}Request', True) for s in self.services}
        with self._lock:
            before = self._watch.report.unexpected_nodes
            report = self._watch.update(publishers, clients)
        if report.unexpected_nodes != before:
            self._on_change(report)
        return report

    def _endpoints(self, topic: str, no_mangle: bool) -> list[Endpoint]:
        infos = self._node.get_publishers_info_by_topic(topic, no_mangle=no_mangle)
        return [Endpoint(fully_qualified(i.node_name, i.node_namespace), bytes(i.endpoint_gid))
                for i in infos]

    def message_verdict(self, info: Mapping[str, Any] | None) -> tuple[str | None, str]:
        """(why refused or None, the publishing node or 'unknown') for a received command;
        a publisher not yet in the graph cache gets one fresh look at the graph."""
        gid = publisher_gid(info)
        with self._lock:
            if not self._watch.allowed:         # anyone may command: no graph look needed
                return None, self._watch.publisher_of(gid) or 'unknown'
            known = self._watch.publisher_of(gid) is not None
        if not known and gid is not None:
            self.refresh()
        with self._lock:
            return (self._watch.message_verdict(gid),
                    self._watch.publisher_of(gid) or 'unknown')

    def call_verdict(self, service: str) -> str | None:
        with self._lock:
            return self._watch.call_verdict(service)

    def clients(self, service: str) -> tuple[str, ...]:
        with self._lock:
            return self._watch.report.clients.get(service, ())
