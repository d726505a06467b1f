# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What every node of this package does alike: parameters, event counters, throttled logs,
the spin loop that survives a failing callback, and main (``run_nodes``)."""

from __future__ import annotations

import collections
import contextlib
from dataclasses import dataclass
import math
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any, Callable, Hashable, Iterator, Mapping, Sequence
import weakref

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
import rclpy
from rclpy.context import Context
from rclpy.executors import (ConditionReachedException, Executor, ExternalShutdownException,
                             ShutdownException, SingleThreadedExecutor, TimeoutException)
from rclpy.impl.rcutils_logger import RcutilsLogger
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions

SPIN_PERIOD_S = 0.1     # how soon a stop signal (or a deadline) is noticed while spinning
CALLBACK_LOG_THROTTLE_S = 5.0   # one traceback per node and exception type this often
# A node's worker thread, woken by a callback, needs the GIL, which the executor thread keeps
# for its Python bookkeeping until it blocks again; CPython only asks it to let go after the
# switch interval (5 ms by default). 0.1 ms bounds that hand-off (perception's frame hand-off
# figures: docs/results/latency.md). Process-wide, so it is set where the process's nodes
# are run (run_nodes), not by a node.
GIL_SWITCH_INTERVAL_S = 1e-4


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
    A parameter with an empty name is refused before ``check`` sees it.
    """
    def on_set(changed: list[Parameter]) -> SetParametersResult:
        if any(not p.name for p in changed):
            # rclpy 9.1.2 stores a parameter named '' even on a node that allows no
            # undeclared parameters
            return SetParametersResult(successful=False,
                                       reason='a parameter name must not be empty')
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


class LogThrottle:
    """Which keys may log now: one line per key per ``throttle_s`` seconds (monotonic clock).

    ``due(key)`` returns None while the key's last line is younger than ``throttle_s``, else the
    number of lines held back since that last one (0 the first time), and restarts the wait.
    Not thread-safe on its own: callers hold their lock.
    """

    def __init__(self, throttle_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.throttle_s = throttle_s
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._held: collections.Counter[Hashable] = collections.Counter()

    def due(self, key: Hashable) -> int | None:
        now = self._clock()
        if now - self._last.get(key, -math.inf) < self.throttle_s:
            self._held[key] += 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


def _held_back(count: int) -> str:
    return f' ({count} more like it since the last one)' if count else ''


class ThrottledLog:
    """A logger that writes at most one line per key per ``throttle_s`` seconds.

    For errors that can repeat as fast as a timer fires (a save path that is not writable
    with a short period): the first line is written, the next ones within ``throttle_s``
    are counted and named in the next line that is written. Thread-safe.
    """

    def __init__(self, logger: RcutilsLogger, throttle_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._throttle = LogThrottle(throttle_s, clock)
        self._lock = threading.Lock()

    @property
    def throttle_s(self) -> float:
        return self._throttle.throttle_s

    @throttle_s.setter
    def throttle_s(self, value: float) -> None:
        self._throttle.throttle_s = value

    def error(self, key: Hashable, text: str) -> bool:
        """Log ``text`` as an ERROR unless ``key`` logged within throttle_s; True if logged."""
        return self._log(self._logger.error, key, text)

    def warning(self, key: Hashable, text: str) -> bool:
        """Log ``text`` as a WARN unless ``key`` logged within throttle_s; True if logged."""
        return self._log(self._logger.warning, key, text)

    def _log(self, write: Callable[[str], Any], key: Hashable, text: str) -> bool:
        with self._lock:
            held = self._throttle.due(key)
        if held is None:
            return False
        write(text + _held_back(held))
        return True


@dataclass(frozen=True)
class CountsReport:
    """A node's counters at one diagnostics report, and how much each grew since the last."""

    totals: Mapping[str, int]
    new: Mapping[str, int]

    def total(self, prefix: str) -> int:
        """Sum of the totals whose key starts with ``prefix`` (e.g. 'rejected_')."""
        return sum(v for k, v in self.totals.items() if k.startswith(prefix))

    def new_total(self, prefix: str) -> int:
        """Sum of the growth since the last report of the keys starting with ``prefix``."""
        return sum(v for k, v in self.new.items() if k.startswith(prefix))


class EventCounters:
    """A node's event counters: ``counts`` by key and ``rejected`` inputs by reason.

    ``lock`` guards both (the node may also change them itself while holding it). ``warn``,
    ``error`` and ``reject`` count one event and log ``'<text> [<key>: <count> so far]'`` when
    the last line for that key is at least ``throttle_s`` (the node's ``log_throttle_s``) old
    on the monotonic clock; the line is logged after ``lock`` is released. ``report`` gives
    what a diagnostics status needs: totals and the growth since the previous report.
    """

    def __init__(self, logger: RcutilsLogger, lock: threading.Lock,
                 throttle_s: float = 5.0) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.rejected: collections.Counter[str] = collections.Counter()
        self._logger = logger
        self._lock = lock
        self._throttle = LogThrottle(throttle_s)
        self._reported: dict[str, int] = {}

    @property
    def throttle_s(self) -> float:
        return self._throttle.throttle_s

    @throttle_s.setter
    def throttle_s(self, value: float) -> None:
        self._throttle.throttle_s = value

    def add(self, key: str) -> None:
        """Count one ``key`` event, silently."""
        with self._lock:
            self.counts[key] += 1

    def warn(self, key: str, text: str) -> None:
        """Count one ``key`` event and log a throttled warning."""
        self._count_and_log(self.counts, key, text, self._logger.warning)

    def error(self, key: str, text: str) -> None:
        """Count one ``key`` event and log an ERROR (throttled): e.g. a failing periodic save."""
        self._count_and_log(self.counts, key, text, self._logger.error)

    def reject(self, reason: str, text: str) -> None:
        """Count a rejected input by ``reason`` and warn (throttled)."""
        self._count_and_log(self.rejected, reason, text, self._logger.warning)

    def snapshot(self) -> dict[str, int]:
        """The counts and, as 'rejected_<reason>', the rejected ones."""
        with self._lock:
            snapshot = dict(self.counts)
            snapshot.update({f'rejected_{k}': v for k, v in self.rejected.items()})
        return snapshot

    def report(self, extra: Mapping[str, int] | None = None) -> CountsReport:
        """``snapshot()`` plus ``extra`` counts (e.g. ``callback_exceptions``), and the growth
        of each since the previous call: call it once per diagnostics report."""
        totals = self.snapshot()
        totals.update(extra or {})
        with self._lock:
            new = {k: v - self._reported.get(k, 0) for k, v in totals.items()}
            self._reported = dict(totals)
        return CountsReport(totals, new)

    def _count_and_log(self, counter: collections.Counter[str], key: str, text: str,
                       write: Callable[[str], Any]) -> None:
        with self._lock:
            counter[key] += 1
            count = counter[key]
            due = self._throttle.due((id(counter), key)) is not None
        if due:
            write(f'{text} [{key}: {count} so far]')


class CallbackExceptions:
    """Exceptions raised by callbacks that ``spin_until`` ran: counted per node, logged with
    their traceback (one line per node and exception type per ``throttle_s``), survived."""

    def __init__(self, throttle_s: float = CALLBACK_LOG_THROTTLE_S) -> None:
        self._lock = threading.Lock()
        self._counts: weakref.WeakKeyDictionary[Node, int] = weakref.WeakKeyDictionary()
        self._unowned = 0
        self._throttle = LogThrottle(throttle_s)

    def record(self, node: Node | None, exc: BaseException) -> None:
        """Count ``exc`` for ``node`` (None: a task of no node) and log it, throttled."""
        with self._lock:
            if node is None:
                self._unowned += 1
                count = self._unowned
            else:
                self._counts[node] = count = self._counts.get(node, 0) + 1
            held = self._throttle.due((id(node), type(exc)))
        if held is None:
            return
        logger = node.get_logger() if node is not None else get_logger('topspark_ros')
        trace = ''.join(traceback.format_exception(exc)).rstrip()
        logger.error(f'a callback raised {type(exc).__name__}: {exc} [callback_exceptions: '
                     f'{count} so far]{_held_back(held)}; the node keeps running\n{trace}')

    def count(self, node: Node) -> int:
        with self._lock:
            return self._counts.get(node, 0)


CALLBACK_EXCEPTIONS = CallbackExceptions()
"""The process's record of callbacks that raised (the spin loop is the process's too)."""


def callback_exceptions(node: Node) -> int:
    """How many of ``node``'s callbacks raised an unexpected exception that the spin loop
    (``run_nodes``, ``spin_node``, ``topspark-bringup``) survived; for its /diagnostics."""
    return CALLBACK_EXCEPTIONS.count(node)


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
    """Run ``executor``'s callbacks until ``stop`` is set, ``context`` shuts down or the
    monotonic time ``deadline`` passes; return which.

    A callback that raises (a bug, or one inside rclpy such as its parameter service given a
    ParameterValue of type 42) is logged with its traceback, counted for its node
    (``callback_exceptions``) and survived: one bad message must not stop every node of the
    process. Only a failure of the executor itself ends the spin (``'the executor failed'``),
    so that the caller still closes, and saves, every node.
    """
    while not stop.is_set():
        remaining = SPIN_PERIOD_S if deadline is None else deadline - time.monotonic()
        if not context.ok():
            return 'context shut down'
        if remaining <= 0:
            return 'duration elapsed'
        try:
            handler, _, node = executor.wait_for_ready_callbacks(
                timeout_sec=min(SPIN_PERIOD_S, remaining))
        except (TimeoutException, ConditionReachedException):
            continue
        except (ShutdownException, ExternalShutdownException):
            return 'context shut down'
        except Exception:
            traceback.print_exc()
            return 'the executor failed'
        handler()
        exception = handler.exception()
        if exception is not None:
            CALLBACK_EXCEPTIONS.record(node, exception)
    return 'signal'


def close_nodes(nodes: Sequence[Node], say: Callable[[str], None] | None = None) -> bool:
    """``close()`` (where a node has one) then ``destroy_node()``, last node first.

    Returns False if a ``close()`` returned False or raised (a failed save); failures are told
    to ``say`` (default: standard error).
    """
    say = say or _to_stderr
    ok = True
    for node in reversed(nodes):
        close = getattr(node, 'close', None)
        if callable(close):
            try:
                ok = close() is not False and ok
            except Exception as exc:
                say(f'closing {node.get_fully_qualified_name()} failed: {exc!r}')
                ok = False
    for node in reversed(nodes):
        try:
            node.destroy_node()
        except Exception as exc:
            say(f'destroying {node.get_fully_qualified_name()} failed: {exc!r}')
            ok = False
    return ok


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _gil_switch_interval(seconds: float) -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_nodes(make_nodes: Callable[[Context, threading.Event], Sequence[Node] | None], *,
              args: list[str] | None = None, context: Context | None = None,
              duration_s: float | None = None,
              say: Callable[[str], None] | None = None) -> int:
    """Run nodes in one process until SIGINT/SIGTERM, the context's shutdown or ``duration_s``.

    The one main of every node (``spin_node``) and of ``topspark-bringup``: init rclpy with
    ``args`` in ``context`` (default: rclpy's default context) without rclpy's signal handlers
    (``stop_on_signals``), lower the GIL switch interval to GIL_SWITCH_INTERVAL_S while the
    nodes run, call ``make_nodes(context, stop)`` (None: they could not start, having said
    why), spin them all in one SingleThreadedExecutor (``spin_until``: callback exceptions
    are survived), then ``close_nodes``. ``say`` gets 'running ...', 'stopping: <reason>' and
    close failures (default: standard error). Returns 0, or 1 if the nodes did not start, a
    ``close()`` failed (a failed save) or the executor failed.

    Single-threaded on purpose: with rclpy 9.1.2 on a 2-core machine the MultiThreadedExecutor
    stalled message delivery for up to 1.8 s now and then; perception runs its network in its
    own thread, so one executor thread only handles the (short) callbacks.
    """
    say = say or _to_stderr
    # rclpy warns about the half-made node when rcl refuses one (e.g. without DDS security
    # libraries); the refusal itself is reported on one line below
    warnings.filterwarnings('ignore', message='Failed to fini rosout publisher',
                            category=RuntimeWarning)
    with stop_on_signals() as stop, _gil_switch_interval(GIL_SWITCH_INTERVAL_S):
        try:
            rclpy.init(args=args, context=context,
                       signal_handler_options=SignalHandlerOptions.NO)
        except Exception as exc:        # e.g. a missing security enclave: one line, exit 1
            say(f'cannot start ROS: {one_line(exc)}')
            return 1
        context = context if context is not None else rclpy.get_default_context()
        try:
            try:
                nodes = make_nodes(context, stop)
            except Exception as exc:    # e.g. RCLError: no DDS security libraries
                say(f'cannot start: {type(exc).__name__}: {one_line(exc)}')
                return 1
            if nodes is None:
                return 1
            executor = SingleThreadedExecutor(context=context)
            for node in nodes:
                executor.add_node(node)
            names = ', '.join(node.get_fully_qualified_name() for node in nodes)
            say(f'running {len(nodes)} node(s): {names}'
                + (f' for {duration_s:g} s' if duration_s is not None else ''))
            deadline = None if duration_s is None else time.monotonic() + duration_s
            reason = spin_until(executor, stop, context, deadline)
            say(f'stopping: {reason}')
            executor.shutdown(timeout_sec=2.0)
            ok = close_nodes(nodes, say)
        finally:
            rclpy.try_shutdown(context=context)
    return 0 if ok and reason != 'the executor failed' else 1


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (rcl's errors span several)."""
    return ' '.join(str(exc).split())


def spin_node(make_node: Callable[[], Node | None], args: list[str] | None = None) -> int:
    """A node's ``main``: ``run_nodes`` with the one node ``make_node()`` makes.

    ``make_node`` runs inside rclpy's default context; it returns None (having logged why)
    when the node cannot start, which returns 1. A signal while it runs stops the node as soon
    as it is made. On the way out the node's ``close()``, if it has one, runs before
    ``destroy_node()``; a false ``close()`` (a failed shutdown save) returns 1.
    """
    def make(context: Context, stop: threading.Event) -> list[Node] | None:
        node = make_node()
        return None if node is None else [node]

    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'node'
    return run_nodes(make, args=args,
                     say=lambda text: _to_stderr(f'{program}: {text}'))
