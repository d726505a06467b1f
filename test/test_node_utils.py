# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What every node shares: how ``main`` stops (``spin_node`` / ``run_nodes``), callbacks that
raise, parameter names, throttled logs and counters.

The ``main`` cases run a small node in its own process (signal handlers belong to the main
thread) that prints what it does; the test signals it at a known point. The first case failed
with rclpy's own signal handlers: the context was shut down while a timer callback was
publishing, which raised RCLError ("publisher's context is invalid") and exited 1. The spin
loop's cases run in this process, the loop in a thread of its own.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import threading
import time

from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterValue
from rcl_interfaces.srv import SetParameters
import pytest
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from topspark_ros.ros.node_utils import (callback_exceptions, CallbackExceptions,
                                         declare_checked, descriptor, EventCounters,
                                         GIL_SWITCH_INTERVAL_S, LogThrottle, run_nodes,
                                         spin_until, ThrottledLog)

from ros_helpers import domain_id, process_env, ros_context, wait_until, WAIT_S

PROCESS_DOMAIN_ID = domain_id(87)
DOMAIN_ID = domain_id(88)

NODE_SCRIPT = '''
import sys, time
from rclpy.node import Node
from std_msgs.msg import String
from topspark_ros.ros.node_utils import callback_exceptions, spin_node

MODE = sys.argv[1]


def say(text):
    print(text, flush=True)


class Busy(Node):
    def __init__(self):
        super().__init__('busy')
        self.pub = self.create_publisher(String, 'out', 1)
        self.timer = self.create_timer(0.05, self.on_timer)

    def on_timer(self):
        if MODE == 'raise':
            if callback_exceptions(self) == 3:
                say('survived')
            raise RuntimeError('callback broke')
        say('busy')
        time.sleep(1.0)
        self.pub.publish(String(data='late'))
        say('published')

    def close(self):
        if MODE == 'raise':
            say(f'callback_exceptions {callback_exceptions(self)}')
        say('closed')
        return MODE != 'failed-close'


def make():
    if MODE == 'slow-start':
        say('starting')
        time.sleep(1.0)
    return Busy()


sys.exit(spin_node(make, sys.argv[2:]))
'''


def run_node(tmp_path, mode: str, signal_after: str | None = None,
             sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
    """Run the node in ``mode``; send ``sig`` once it prints ``signal_after``; (status, output)."""
    script = tmp_path / 'busy_node.py'
    script.write_text(NODE_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), mode],
                            env=process_env(PROCESS_DOMAIN_ID), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    output = ''
    try:
        deadline = time.monotonic() + WAIT_S
        while signal_after is not None and signal_after not in output.splitlines():
            assert time.monotonic() < deadline, f'no {signal_after!r} in {output!r}'
            if select.select([proc.stdout], [], [], 0.1)[0]:
                line = proc.stdout.readline()
                assert line, f'ended before {signal_after!r}: {output!r}'
                output += line
        if signal_after is not None:
            proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, output + rest


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_in_a_publishing_callback_lets_it_finish_then_closes(tmp_path, sig):
    status, output = run_node(tmp_path, 'busy', signal_after='busy', sig=sig)
    assert status == 0, output
    lines = [line for line in output.splitlines() if 'stopping: signal' not in line]
    assert lines[lines.index('busy') + 1:] == ['published', 'closed'], output
    assert 'busy_node.py: stopping: signal' in output, output


def test_a_signal_while_the_node_is_made_stops_it_once_made(tmp_path):
    status, output = run_node(tmp_path, 'slow-start', signal_after='starting')
    assert status == 0, output
    assert output.splitlines()[-1] == 'closed' and 'busy' not in output.splitlines(), output


def test_a_failing_callback_is_logged_once_counted_and_survived(tmp_path):
    """It used to end the spin at once (exit 1); now the node runs on until signalled."""
    status, output = run_node(tmp_path, 'raise', signal_after='survived')
    assert status == 0, output
    assert output.count('Traceback (most recent call last)') == 1, output     # throttled
    assert 'a callback raised RuntimeError: callback broke [callback_exceptions: 1 so far]' \
        in output, output
    lines = output.splitlines()
    assert lines[-1] == 'closed' and int(lines[-2].split()[1]) >= 4, output


def test_a_failed_close_returns_1(tmp_path):
    status, output = run_node(tmp_path, 'failed-close', signal_after='published')
    assert status == 1, output
    assert output.splitlines()[-1] == 'closed', output


# ------------------------------------------------------------------------------ the spin loop


class Ticker(Node):
    """Counts its timer's ticks; raises from it when ``fail`` is set."""

    def __init__(self, name: str, context: Context, fail: bool = False) -> None:
        super().__init__(name, context=context)
        self.fail = fail
        self.ticks = 0
        self.create_timer(0.02, self.on_timer)

    def on_timer(self) -> None:
        self.ticks += 1
        if self.fail:
            raise RuntimeError(f'{self.get_name()} broke')


class SpinThread:
    """``spin_until`` over ``nodes`` in a thread, stopped (and its reason kept) on exit."""

    def __init__(self, context: Context, *nodes: Node) -> None:
        self.executor = SingleThreadedExecutor(context=context)
        for node in nodes:
            self.executor.add_node(node)
        self.stop = threading.Event()
        self.reason = ''
        self.thread = threading.Thread(target=self._spin, args=(context,), daemon=True)

    def _spin(self, context: Context) -> None:
        self.reason = spin_until(self.executor, self.stop, context)

    def __enter__(self) -> 'SpinThread':
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(WAIT_S)
        self.executor.shutdown(timeout_sec=2.0)


def test_a_node_whose_callback_raises_does_not_stop_the_others():
    """Graph test: both nodes share one executor; the spin loop used to end on the first
    exception, so the healthy node stopped ticking too."""
    with ros_context(DOMAIN_ID) as context:
        broken, healthy = Ticker('broken', context, fail=True), Ticker('healthy', context)
        try:
            with SpinThread(context, broken, healthy) as spin:
                wait_until(lambda: callback_exceptions(broken) >= 3, what='3 exceptions',
                           state=lambda: spin.reason)
                ticks = healthy.ticks
                wait_until(lambda: healthy.ticks >= ticks + 3, what='the healthy node ticking',
                           state=lambda: spin.reason)
                assert spin.thread.is_alive()
            assert spin.reason == 'signal'
            assert callback_exceptions(healthy) == 0
            assert callback_exceptions(broken) == broken.ticks
        finally:
            broken.destroy_node()
            healthy.destroy_node()


def set_parameters(client_node: Node, client, *parameters: ParameterMsg):
    """The future of a SetParameters request (the spin thread completes it)."""
    assert client.wait_for_service(timeout_sec=WAIT_S)
    return client.call_async(SetParameters.Request(parameters=list(parameters)))


def test_an_exception_inside_rclpys_parameter_service_is_survived_and_empty_names_refused():
    """A ParameterValue of type 42 makes rclpy's own service callback raise ValueError (an
    rclpy bug): it used to end the spin and so the process. A parameter named '' was stored
    although the node allows no undeclared parameters."""
    with ros_context(DOMAIN_ID) as context:
        target = Node('target', context=context)
        declare_checked(target, [('gain', 1, descriptor('a gain'))], lambda changed: None,
                        lambda changed: None)
        asker = Node('asker', context=context)
        client = asker.create_client(SetParameters, '/target/set_parameters')
        try:
            with SpinThread(context, target, asker) as spin:
                bad = set_parameters(asker, client, ParameterMsg(
                    name='gain', value=ParameterValue(type=42)))
                wait_until(lambda: callback_exceptions(target) == 1, what='the exception',
                           state=lambda: spin.reason)
                good = set_parameters(asker, client, ParameterMsg(
                    name='gain', value=ParameterValue(type=2, integer_value=5)))
                wait_until(good.done, what='the next request answered',
                           state=lambda: spin.reason)
                assert good.result().results[0].successful
                assert target.get_parameter('gain').value == 5
                empty = set_parameters(asker, client, ParameterMsg(
                    name='', value=ParameterValue(type=2, integer_value=3)))
                wait_until(empty.done, what='the empty name answered')
                result = empty.result().results[0]
                assert not result.successful and 'must not be empty' in result.reason
                assert not target.has_parameter('')
                assert not bad.done()                   # rclpy sends no answer to that one
            assert spin.reason == 'signal'
        finally:
            asker.destroy_node()
            target.destroy_node()


def test_run_nodes_lowers_the_gil_switch_interval_only_while_it_runs():
    seen = []
    said = []

    def make(context: Context, stop: threading.Event) -> list[Node]:
        seen.append(sys.getswitchinterval())
        return [Ticker('short', context)]

    before = sys.getswitchinterval()
    assert run_nodes(make, context=Context(), duration_s=0.3, say=said.append) == 0
    assert seen == [pytest.approx(min(before, GIL_SWITCH_INTERVAL_S))]
    assert sys.getswitchinterval() == before
    assert said == ['running 1 node(s): /short for 0.3 s', 'stopping: duration elapsed']


def test_run_nodes_returns_1_when_the_nodes_cannot_start():
    assert run_nodes(lambda context, stop: None, context=Context(), say=lambda text: None) == 1


# ------------------------------------------------------------------------------ logs, counters


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def error(self, text: str) -> None:
        self.lines.append(('error', text))

    def warning(self, text: str) -> None:
        self.lines.append(('warning', text))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttled_log_writes_one_line_per_key_and_period_and_counts_the_rest():
    """An unwritable save path with a short period logged hundreds of ERROR lines a second."""
    logger, clock = FakeLogger(), FakeClock()
    log = ThrottledLog(logger, throttle_s=5.0, clock=clock)
    assert log.error('save', 'cannot write')
    for _ in range(670):
        clock.now += 1 / 671
        assert not log.error('save', 'cannot write')
    assert log.warning('other', 'different key')
    clock.now += 5.0
    assert log.error('save', 'still cannot write')
    assert logger.lines == [('error', 'cannot write'), ('warning', 'different key'),
                            ('error', 'still cannot write (670 more like it since the last one)')]


def test_log_throttle_due():
    clock = FakeClock()
    throttle = LogThrottle(1.0, clock)
    assert throttle.due('a') == 0 and throttle.due('a') is None and throttle.due('b') == 0
    clock.now += 1.0
    assert throttle.due('a') == 1 and throttle.due('a') is None


def test_event_counters_error_is_counted_and_throttled():
    logger = FakeLogger()
    counters = EventCounters(logger, threading.Lock(), throttle_s=60.0)
    for _ in range(100):
        counters.error('save_failures', 'save failed')
    counters.warn('save_failures_other', 'x')
    assert counters.snapshot() == {'save_failures': 100, 'save_failures_other': 1}
    assert logger.lines == [('error', 'save failed [save_failures: 1 so far]'),
                            ('warning', 'x [save_failures_other: 1 so far]')]


def test_event_counters_report_gives_the_growth_since_the_last_report():
    counters = EventCounters(FakeLogger(), threading.Lock())
    counters.reject('bad', 'x')
    counters.reject('worse', 'y')
    counters.add('dropped_frames')
    first = counters.report({'callback_exceptions': 2})
    assert first.total('rejected_') == 2 and first.new_total('rejected_') == 2
    assert first.new['callback_exceptions'] == 2 and first.totals['dropped_frames'] == 1
    counters.reject('bad', 'x')
    second = counters.report({'callback_exceptions': 2})
    assert second.total('rejected_') == 3 and second.new_total('rejected_') == 1
    assert second.new_total('dropped') == 0 and second.new['callback_exceptions'] == 0
    assert second.new['rejected_bad'] == 1 and second.new['rejected_worse'] == 0


def test_callback_exceptions_of_no_node_are_counted_apart():
    record = CallbackExceptions()
    record.record(None, ValueError('from a task'))
    with ros_context(DOMAIN_ID) as context:
        node = Node('counted', context=context)
        try:
            record.record(node, ValueError('one'))
            record.record(node, ValueError('two'))
            assert record.count(node) == 2
            assert callback_exceptions(node) == 0        # the process's record is another one
        finally:
            node.destroy_node()
