"""How every node's ``main`` stops: ``spin_node`` on a signal, a failing callback or close.

Each case runs a small node in its own process (signal handlers belong to the main thread) that
prints what it does; the test signals it at a known point. The first case failed with rclpy's
own signal handlers: the context was shut down while a timer callback was publishing, which
raised RCLError ("publisher's context is invalid") and exited 1.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time

import pytest

from ros_helpers import domain_id, process_env, WAIT_S

PROCESS_DOMAIN_ID = domain_id(87)

NODE_SCRIPT = '''
import sys, time
from rclpy.node import Node
from std_msgs.msg import String
from topspark_ros.ros.node_utils import spin_node

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
            raise RuntimeError('callback broke')
        say('busy')
        time.sleep(1.0)
        self.pub.publish(String(data='late'))
        say('published')

    def close(self):
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
    lines = output.splitlines()
    assert lines[lines.index('busy') + 1:] == ['published', 'closed'], output


def test_a_signal_while_the_node_is_made_stops_it_once_made(tmp_path):
    status, output = run_node(tmp_path, 'slow-start', signal_after='starting')
    assert status == 0, output
    assert output.splitlines()[-1] == 'closed' and 'busy' not in output, output


def test_a_failing_callback_still_closes_and_returns_1(tmp_path):
    status, output = run_node(tmp_path, 'raise')
    assert status == 1, output
    assert 'RuntimeError: callback broke' in output and output.splitlines()[-1] == 'closed'


def test_a_failed_close_returns_1(tmp_path):
    status, output = run_node(tmp_path, 'failed-close', signal_after='published')
    assert status == 1, output
    assert output.splitlines()[-1] == 'closed', output
