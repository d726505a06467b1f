"""What every node of this package does alike: parameter descriptors, event counters, main."""

from __future__ import annotations

import collections
import contextlib
import math
import signal
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
import rclpy
from rclpy.context import Context
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.impl.rcutils_logger import RcutilsLogger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions

SPIN_PERIOD_S = 0.1     # how soon a stop signal (or a deadline) is noticed while spinning


def descriptor(description: str, *, read_only: bool = False,
               integers: tuple[int, int] | None = None,
               floats: tuple[float, float] | None = None) -> ParameterDescriptor:
    """A parameter's description, read-only flag and closed integer (step 1) or float range."""
    result = ParameterDescriptor(description=description, read_only=read_only)
    if integers is not None:
        result.integer_range = [IntegerRange(from_value=integers[0], to_value=integers[1],
                                             step=1)]
    if floats is not None:
        result.floating_point_range = [FloatingPointRange(from_value=floats[0],
                                                          to_value=floats[1], step=0.0)]
    return result


def declare_checked(node: Node, parameters: list[tuple[str, Any, ParameterDescriptor]],
                    check: Callable[[list[Parameter]], str | None],
                    apply: Callable[[dict[str, Parameter]], None]) -> None:
    """Declare ``parameters`` on ``node``; a change is refused when ``check`` gives a reason.

    ``check`` gets the parameters being set and returns why they are refused, or None (ranges,
    types and read-only are the descriptors' job). It is registered before declaring, so values
    given at start (-p, params files) are checked too. ``apply`` gets every accepted change,
    once set, as {name: Parameter}; not the declared values (the node applies those itself).
    """
    def on_set(changed: list[Parameter]) -> SetParametersResult:
        reason = check(changed)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    node.declare_parameters('', parameters)
    node.add_post_set_parameters_callback(lambda changed: apply({p.name: p for p in changed}))


def values_after(node: Node, new: dict[str, Any], *names: str) -> tuple[Any, ...]:
    """The values of ``names`` once ``new`` ({name: value}) is set; None for an undeclared one."""
    return tuple(new[name] if name in new else
                 node.get_parameter(name).value if node.has_parameter(name) else None
                 for name in names)


class EventCounters:
    """A node's event counters: ``counts`` by key and ``rejected`` inputs by reason.

    ``lock`` guards both (the node may also change them itself while holding it). ``warn`` and
    ``reject`` count one event and log ``'<text> [<key>: <count> so far]'`` when the last
    warning for that key is at least ``throttle_s`` (the node's ``log_throttle_s``) old on the
    monotonic clock; the warning is logged after ``lock`` is released.
    """

    def __init__(self, logger: RcutilsLogger, lock: threading.Lock,
                 throttle_s: float = 5.0) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.rejected: collections.Counter[str] = collections.Counter()
        self.throttle_s = throttle_s
        self._logger = logger
        self._lock = lock
        self._last_warned: dict[str, float] = {}

    def add(self, key: str) -> None:
        """Count one ``key`` event, silently."""
        with self._lock:
            self.counts[key] += 1

    def warn(self, key: str, text: str) -> None:
        """Count one ``key`` event and log a throttled warning."""
        self._count_and_warn(self.counts, key, text)

    def reject(self, reason: str, text: str) -> None:
        """Count a rejected input by ``reason`` and warn (throttled)."""
        self._count_and_warn(self.rejected, reason, text)

    def snapshot(self) -> dict[str, int]:
        """The counts and, as 'rejected_<reason>', the rejected ones."""
        with self._lock:
            snapshot = dict(self.counts)
            snapshot.update({f'rejected_{k}': v for k, v in self.rejected.items()})
        return snapshot

    def _count_and_warn(self, counter: collections.Counter[str], key: str, text: str) -> None:
        with self._lock:
            counter[key] += 1
            count = counter[key]
            now = time.monotonic()
            due = now - self._last_warned.get(key, -math.inf) >= self.throttle_s
            if due:
                self._last_warned[key] = now
        if due:
            self._logger.warning(f'{text} [{key}: {count} so far]')


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Yield an event that the first SIGINT or SIGTERM sets; a second one ends the process.

    For use with ``SignalHandlerOptions.NO`` instead of rclpy's handlers, which shut the context
    down from their own thread: a timer callback publishing at that moment raised RCLError
    ("publisher's context is invalid", exit 1), and now and then the process hung on the way
    out until killed. With a flag, the spin loop stops between callbacks and the nodes close
    in order. Handlers are installed only from the main thread (Python refuses others).
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def spin_until(executor: Executor, stop: threading.Event, context: Context,
               deadline: float | None = None) -> str:
    """Spin ``executor`` until ``stop`` is set, ``context`` shuts down or the monotonic time
    ``deadline`` passes; return which. A callback that raises is printed and ends the spin
    (``'a callback failed'``) so that the caller still closes, and saves, every node."""
    try:
        while not stop.is_set():
            remaining = SPIN_PERIOD_S if deadline is None else deadline - time.monotonic()
            if not context.ok():
                return 'context shut down'
            if remaining <= 0:
                return 'duration elapsed'
            executor.spin_once(timeout_sec=min(SPIN_PERIOD_S, remaining))
    except Exception:
        traceback.print_exc()
        return 'a callback failed'
    return 'signal'


def spin_node(make_node: Callable[[], Node | None], args: list[str] | None = None) -> int:
    """A node's ``main``: init rclpy with ``args``, spin the node until SIGINT/SIGTERM, return 0.

    ``make_node`` runs inside the rclpy context; it returns None (having logged why) when the
    node cannot start, which returns 1. A signal while it runs stops the node as soon as it
    is made. On the way out the node's ``close()``, if it has one, runs before
    ``destroy_node()``; a failed callback or a false ``close()`` (a failed shutdown save)
    returns 1.
    """
    with stop_on_signals() as stop:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        context = rclpy.get_default_context()
        try:
            node = make_node()
            if node is None:
                return 1
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            reason = spin_until(executor, stop, context)
            executor.shutdown(timeout_sec=2.0)
            close = getattr(node, 'close', None)
            ok = bool(close()) if callable(close) else True
            node.destroy_node()
        finally:
            rclpy.try_shutdown()
    return 0 if ok and reason != 'a callback failed' else 1
