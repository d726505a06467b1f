# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What the tests with real rclpy share: isolated graphs, recording probes, waits, node processes.

Every test gets its own Context on a domain id from the pid (``rclpy.init(context=Context(),
domain_id=N)``: another domain gets nothing, even within one process; ROS documents ids 0-101 as
safe), offset per test file (``domain_id``) so that files do not share ids, and its own namespace,
so runs in parallel processes do not see each other's topics. Discovery is asynchronous: inputs are
published repeatedly until the expected answer arrives (``RecordingNode.send_until``) or the test
waits for matched endpoints, within a generous bound (``WAIT_S``); no test asserts on timing. The
executor is single-threaded: with rclpy 9.1.2's MultiThreadedExecutor, deliveries here stalled for
0.1-1.8 s now and then (2 CPUs; compare ros2/rclpy#1452), which only made the tests slow.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

from diagnostic_msgs.msg import DiagnosticStatus
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 20.0                                      # upper bound for anything to arrive
_namespaces = itertools.count()


def domain_id(offset: int) -> int:
    """This process's ROS domain id for one use (``offset`` apart from the others' ones)."""
    return 1 + (os.getpid() + offset) % 100        # safe ids are 0..101 (ROS docs)


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = 'condition',
               state: Callable[[], Any] | None = None) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` s, with ``state()`` if given."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}'
                                 + (f'; state: {state()}' if state else ''))
        time.sleep(0.01)


@contextlib.contextmanager
def ros_context(domain: int) -> Iterator[Context]:
    """An initialised rclpy Context of its own on ``domain``, shut down on the way out."""
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


@contextlib.contextmanager
def launched(context: Context) -> Iterator[Callable[[Any], list]]:
    """``build(spec)``: the nodes ``topspark-bringup`` makes from a LaunchSpec (the exact
    cli_args), in ``context``; all closed and destroyed (``bringup.close_nodes``) on the way out.
    """
    from topspark_ros import bringup

    made: list = []

    def build(spec: Any) -> list:
        nodes = bringup.create_nodes(spec, context)
        made.extend(nodes)
        return nodes

    try:
        yield build
    finally:
        bringup.close_nodes(made)


class Graph:
    """Nodes of one test in one context, spun by a SingleThreadedExecutor in a thread.

    Use it as a context manager (or call ``stop``): the executor stops, then every node added
    is destroyed and the context shut down. Namespaces are ``/<prefix><pid>_<n>``.
    """

    prefix = 't'

    def __init__(self, domain: int) -> None:
        os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.namespace = f'/{self.prefix}{os.getpid()}_{next(_namespaces)}'
        self.nodes: list[Node] = []

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def spawn(self, node_class: type[Node], namespace: str | None = None, **params: Any) -> Any:
        """Add a ``node_class`` node in this graph's context, with ``params`` as overrides."""
        return self.add(node_class(
            context=self.context, namespace=namespace or self.namespace,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()]))

    def stop(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.thread.join(timeout=5.0)
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RecordingNode(Node):
    """A probe node that keeps every message its subscriptions receive, by key, in order."""

    resend_polls = 10               # send_until: checks, 0.01 s apart, per message

    def __init__(self, namespace: str, name: str = 'probe', **kwargs: Any) -> None:
        super().__init__(name, namespace=namespace, **kwargs)
        self._lock = threading.Lock()
        self._received: dict[str, list] = {}

    def record(self, msg_type: type, topic: str, qos: QoSProfile,
               key: str | None = None) -> Subscription:
        """Subscribe to ``topic`` and keep its messages under ``key`` (default: the topic)."""
        kept = self._received.setdefault(topic if key is None else key, [])

        def keep(msg: Any) -> None:
            with self._lock:
                kept.append(msg)
        return self.create_subscription(msg_type, topic, keep, qos)

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._received[key])

    def messages(self, key: str) -> list:
        with self._lock:
            return list(self._received[key])

    def statuses(self, name: str) -> list[DiagnosticStatus]:
        """The statuses called ``name`` in every /diagnostics message received, oldest first."""
        return [s for m in self.messages('/diagnostics') for s in m.status if s.name == name]

    def send_until(self, publisher: Any, make_msg: Callable[[], Any],
                   predicate: Callable[[], Any], what: str) -> None:
        """Publish (a fresh message each time) until ``predicate`` holds: waits out discovery."""
        end = time.monotonic() + WAIT_S
        while True:
            publisher.publish(make_msg())
            for _ in range(self.resend_polls):
                if predicate():
                    return
                time.sleep(0.01)
            if time.monotonic() > end:
                raise AssertionError(f'timed out after {WAIT_S} s waiting for {what}')


def process_env(domain: int) -> dict[str, str]:
    """The environment of a process of this package on ``domain`` (localhost discovery)."""
    return dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                         os.environ.get('PYTHONPATH')])))


def start_module(module: str, *args: str, domain: int) -> subprocess.Popen:
    """``python -m <module> <args>`` on ``domain``, stdout and stderr in one text pipe."""
    return subprocess.Popen([sys.executable, '-m', module, *args], env=process_env(domain),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, sig: signal.Signals | None = None) -> str:
    """Send ``sig`` (if any), wait up to WAIT_S for the process to end (else kill it) and
    return its output."""
    if sig is not None:
        proc.send_signal(sig)
    try:
        output, _ = proc.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output
