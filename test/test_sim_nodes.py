# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""camera_sim and battery_sim with real rclpy: frames, labels, events, battery drain, parameters.

Same shape as test_metrics_node.py: each test has its own Context and namespace, and a
SingleThreadedExecutor spins in a thread (ros_helpers.py). Frames published before discovery are
lost, so received messages are matched to what the node recorded
(``CameraSimNode.published``) by stamp, and label streams are compared over their common tail.
The exact battery arithmetic runs on simulated time (``use_sim_time`` and a test-published
``/clock``); the wall-clock test only compares two batteries. Run with ROS_PYTHON_CHECK_FIELDS=1.
"""

import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

from builtin_interfaces.msg import Time
import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
import pytest
from rclpy.exceptions import InvalidParameterValueException
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, Image, PointCloud2
from std_msgs.msg import Float64, Int32

from topspark_ros.dvs import digit_to_events, DvsConfig
from topspark_ros.nodes.battery_sim import BatteryModel, BatterySimNode
from topspark_ros.nodes.camera_sim import CameraSimNode
from topspark_ros.ros.conversions import events_from_pointcloud2, image_to_numpy
from topspark_ros.ros.diagnostics import values_of
from topspark_ros.sim.sources import load_source

from ros_helpers import (domain_id, finish, Graph, process_env, RecordingNode, start_module,
                         wait_until, WAIT_S)

DOMAIN_ID = domain_id(9)                           # apart from the other node tests' ids
PROCESS_DOMAIN_ID = domain_id(59)                  # for the nodes started as processes


def stamp_ns(header) -> int:
    return header.stamp.sec * 10 ** 9 + header.stamp.nanosec


def sim_time(seconds: float) -> Clock:
    ns = round(seconds * 1e9)
    return Clock(clock=Time(sec=ns // 10 ** 9, nanosec=ns % 10 ** 9))


class Probe(RecordingNode):
    """Records what the simulators publish; publishes topspark/power and /clock."""

    TOPICS = {'image': Image, 'events': PointCloud2, 'topspark/label_truth': Int32,
              'topspark/label': Int32, 'battery_state': BatteryState,
              '/diagnostics': DiagnosticArray}

    def __init__(self, namespace: str, **kwargs) -> None:
        super().__init__(namespace, **kwargs)
        qos = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self.subs = {topic: self.record(msg_type, topic, qos)
                     for topic, msg_type in self.TOPICS.items()}
        self.power_pub = self.create_publisher(Float64, 'topspark/power', qos)
        self.clock_pub = self.create_publisher(Clock, '/clock', qos)


class SimGraph(Graph):
    prefix = 's'

    def camera(self, namespace: str = None, **params) -> CameraSimNode:
        return self.spawn(CameraSimNode, namespace, **params)

    def battery(self, namespace: str = None, **params) -> BatterySimNode:
        return self.spawn(BatterySimNode, namespace, **params)

    def probe(self, namespace: str = None) -> Probe:
        return self.add(Probe(namespace or self.namespace, context=self.context))


@pytest.fixture
def graph():
    with SimGraph(DOMAIN_ID) as g:
        yield g


@pytest.fixture(scope='module')
def mnist_test():
    source = load_source('mnist_5k', 'test')
    return np.stack([source.load(i) for i in range(len(source))]), source.labels


def settle(probe: Probe, topics: tuple[str, ...], quiet_s: float = 0.3) -> None:
    """Wait until none of ``topics`` received anything for ``quiet_s``."""
    last = None
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        counts = tuple(probe.count(t) for t in topics)
        if counts == last:
            return
        last = counts
        time.sleep(quiet_s)
    raise AssertionError(f'{topics} never went quiet')


def stop_publishing(camera: CameraSimNode, probe: Probe, topics: tuple[str, ...]) -> list:
    """Stop the camera's timer, let in-flight messages arrive, return its records."""
    camera._timer.cancel()
    settle(probe, topics)
    return list(camera.published)


# ------------------------------------------------------------------------------ camera_sim


def test_frames_are_the_dataset_digits_with_labels_in_step(graph, mnist_test):
    """640x480 bgr8 frames of real test digits; truth and teacher labels follow each frame."""
    images, labels = mnist_test
    probe = graph.probe()
    camera = graph.camera(width=640, height=480, encoding='bgr8', rate_hz=20.0,
                          frame_id='cam', publish_teacher_labels=True)
    topics = ('image', 'topspark/label_truth', 'topspark/label')
    wait_until(lambda: all(probe.count(t) >= 12 for t in topics), what='12 frames and labels')
    records = stop_publishing(camera, probe, topics)
    by_stamp = {r.stamp_ns: r for r in records}
    frames = probe.messages('image')

    # Every frame after discovery arrived, in order, and is one the node recorded.
    assert [stamp_ns(f.header) for f in frames] == [r.stamp_ns for r in records[-len(frames):]]
    flat = images.reshape(len(images), -1).astype(np.float32)
    for msg in frames:
        assert (msg.width, msg.height, msg.encoding, msg.step) == (640, 480, 'bgr8', 640 * 3)
        assert msg.header.frame_id == 'cam'
        frame = image_to_numpy(msg)
        assert frame.shape == (480, 640, 3)
        assert np.array_equal(frame[:, :, 0], frame[:, :, 2])     # a grey digit in colour
        small = cv2.resize(frame[:, :, 0], (28, 28), interpolation=cv2.INTER_AREA)
        record = by_stamp[stamp_ns(msg.header)]
        digit = images[record.index].astype(np.float32)
        assert np.abs(small - digit).mean() < 1.0, record
        # Content alone identifies the digit: its nearest test image has the published label.
        nearest = int(np.argmin(((flat - small.reshape(1, -1)) ** 2).sum(axis=1)))
        assert labels[nearest] == record.label == labels[record.index]

    # Labels are in step with the frames: the n-th label is the n-th frame's label. The
    # teacher label of a frame goes out at the next tick, so the last frame's is still pending.
    assert [r.index for r in records] == list(range(records[0].index,
                                                    records[0].index + len(records)))
    truth = [m.data for m in probe.messages('topspark/label_truth')]
    assert len(truth) >= 12 and truth == [r.label for r in records[-len(truth):]]
    teacher = [m.data for m in probe.messages('topspark/label')]
    assert len(teacher) >= 11 and teacher == [r.label for r in records[:-1][-len(teacher):]]
    assert camera._pending_teacher == records[-1].label
    assert len(set(r.label for r in records)) > 3


def test_mono8_frames_and_events_are_exact(graph, mnist_test):
    """28x28 mono8 frames are the digits themselves; each frame's event packet is the emulated
    recording of that digit, stamped like the frame, t relative to it."""
    images, labels = mnist_test
    probe = graph.probe()
    camera = graph.camera(events=True, event_duration_s=0.05, rate_hz=15.0, shuffle=True,
                          seed=11)
    wait_until(lambda: probe.count('image') >= 5 and probe.count('events') >= 5,
               what='frames and event packets')
    records = stop_publishing(camera, probe, ('image', 'events'))
    by_stamp = {r.stamp_ns: r for r in records}
    assert len({r.index for r in records}) == len(records)        # shuffled, no repeats
    assert [r.index for r in records] != list(range(records[0].index,
                                                    records[0].index + len(records)))
    frames = {stamp_ns(m.header): m for m in probe.messages('image')}
    packets = probe.messages('events')
    assert len(packets) >= 5
    for packet in packets:
        key = stamp_ns(packet.header)
        record = by_stamp[key]
        frame = frames[key]
        assert frame.encoding == 'mono8' and (frame.width, frame.height) == (28, 28)
        assert np.array_equal(image_to_numpy(frame), images[record.index])
        assert packet.header.frame_id == frame.header.frame_id == 'camera_optical_frame'
        x, y, t, polarity = events_from_pointcloud2(packet)
        assert x.size == packet.width == record.n_events > 100
        assert x.max() < 28 and y.max() < 28
        assert t.min() >= 0.0 and t.max() < 0.05
        assert set(np.unique(polarity)) <= {-1, 1}
        expected = digit_to_events(images[record.index], DvsConfig(seed=11), 0.05)
        assert np.array_equal(x, expected.x) and np.array_equal(y, expected.y)
        assert np.array_equal(t, expected.t) and np.array_equal(polarity, expected.polarity)


def _write_folder(folder: Path) -> None:
    folder.mkdir()
    red = np.zeros((12, 16, 3), np.uint8)
    red[:, :, 2] = 255                                  # OpenCV writes BGR: this is red
    cv2.imwrite(str(folder / '3_red.png'), red)
    cv2.imwrite(str(folder / '7grey.png'), np.full((20, 20), 90, np.uint8))
    cv2.imwrite(str(folder / 'nolabel.jpg'), np.full((8, 8), 200, np.uint8))
    (folder / '5_broken.png').write_bytes(b'not a png')
    (folder / 'readme.txt').write_text('ignored')


def test_folder_source_colour_unknown_labels_bad_files_and_no_loop(graph, tmp_path):
    folder = tmp_path / 'imgs'
    _write_folder(folder)
    probe = graph.probe()
    camera = graph.camera(source=str(folder), width=32, height=24, encoding='rgb8',
                          rate_hz=5.0, loop=False, publish_teacher_labels=True)
    wait_until(lambda: camera.scene.finished, what='one pass to end')
    wait_until(lambda: any('finished' in s.message for s in probe.statuses('camera_sim: camera')),
               what='diagnostics saying finished')
    settle(probe, ('image', 'topspark/label_truth', 'topspark/label'))
    records = list(camera.published)
    # Sorted by name: 3_red, 5_broken (unreadable, skipped), 7grey, nolabel.
    assert [(r.index, r.label) for r in records] == [(0, 3), (2, 7), (3, -1)]
    assert camera.counters()['unreadable_images'] == 1
    frames = probe.messages('image')
    assert frames and [stamp_ns(m.header) for m in frames] == \
        [r.stamp_ns for r in records[-len(frames):]]
    for msg in frames:
        assert (msg.width, msg.height, msg.encoding) == (32, 24, 'rgb8')
    last = image_to_numpy(frames[-1]).astype(int)                        # nolabel.jpg
    assert last.shape == (24, 32, 3) and np.abs(last - 200).max() <= 2
    if len(frames) == 3:                                                  # 3_red.png arrived
        first = image_to_numpy(frames[0])
        assert (first[:, :, 0] == 255).all() and (first[:, :, 1:] == 0).all()   # red in rgb8
    truth = [m.data for m in probe.messages('topspark/label_truth')]
    assert truth and truth == [r.label for r in records[-len(truth):]]   # -1 included
    teacher = [m.data for m in probe.messages('topspark/label')]    # flushed after the pass
    assert teacher == [r.label for r in records if r.label >= 0][-len(teacher):]
    assert teacher[-1] == 7 and -1 not in teacher
    statuses = probe.statuses('camera_sim: camera')
    assert any(s.level == DiagnosticStatus.WARN and 'could not be read' in s.message
               for s in statuses)
    assert values_of(statuses[-1])['frames'] == '3'
    assert statuses[-1].level == DiagnosticStatus.OK


def test_motion_noise_and_rate_change(graph, tmp_path):
    npz = tmp_path / 'flat.npz'
    np.savez(npz, images=np.full((3, 10, 10), 128, np.uint8), labels=np.array([1, 2, 3]))
    probe = graph.probe()
    camera = graph.camera(source=str(npz), width=64, height=48, noise_std=8.0, motion_px=3,
                          rate_hz=50.0)
    wait_until(lambda: probe.count('image') >= 20, what='20 noisy frames')
    frames = [image_to_numpy(m).astype(np.float64) for m in probe.messages('image')[:20]]
    assert abs(np.std(frames) - 8.0) < 0.5 and abs(np.mean(frames) - 128.0) < 0.5
    assert not np.array_equal(frames[0], frames[1])
    assert camera.set_parameters([Parameter('rate_hz', value=100.0)])[0].successful
    assert camera._timer.timer_period_ns == 10 ** 7
    status = camera._status()
    assert status.level in (DiagnosticStatus.OK, DiagnosticStatus.WARN)
    assert values_of(status)['size'] == '64x48'


def test_camera_invalid_parameters_are_rejected_with_a_reason(graph, tmp_path):
    npz = tmp_path / 'two.npz'
    np.savez(npz, images=np.zeros((2, 5, 5), np.uint8))
    camera = graph.camera(source=str(npz))
    assert (camera.scene.source.labels == -1).all()

    def rejected(name, value):
        result = camera.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful, f'{name}={value!r} was accepted'
        return result.reason

    assert 'out of range' in rejected('rate_hz', -1.0)
    assert 'out of range' in rejected('rate_hz', 0.0)
    assert 'out of range' in rejected('rate_hz', math.nan)
    assert 'out of range' in rejected('width', 0)
    assert 'out of range' in rejected('noise_std', -1.0)
    assert 'out of range' in rejected('motion_px', -2)
    assert 'yuv422' in rejected('encoding', 'yuv422')
    assert 'read-only' in rejected('source', 'digits')
    assert 'read-only' in rejected('reliability', 'best_effort')
    assert rejected('rate_hz', 10)                                    # int for a double
    assert camera.set_parameters([Parameter('encoding', value='rgb8')])[0].successful

    bad_starts = [({'source': str(tmp_path / 'missing.npz')}, 'not found'),
                  ({'source': 'cifar10'}, 'not a dataset name'),
                  ({'source': str(npz), 'encoding': 'bgra8'}, 'not one of'),
                  ({'source': str(npz), 'split': 'validation'}, 'not one of'),
                  ({'source': str(npz), 'reliability': 'auto'}, 'not one of'),
                  ({'source': str(npz), 'events': True, 'event_duration_s': 0.3},
                   'frame period'),
                  ({'source': str(npz), 'rate_hz': -5.0}, 'out of range')]
    for params, reason in bad_starts:
        with pytest.raises(InvalidParameterValueException, match=reason):
            graph.camera(namespace=f'{graph.namespace}_bad', **params)
    events_on = graph.camera(namespace=f'{graph.namespace}_ev', source=str(npz), events=True,
                             event_duration_s=0.1)
    reason = events_on.set_parameters([Parameter('rate_hz', value=20.0)])[0].reason
    assert 'event_duration_s' in reason and 'period' in reason


# ------------------------------------------------------------------------------ battery_sim


def test_battery_model():
    m = BatteryModel(capacity_wh=2.0, energy_wh=1.0, voltage_empty=10.0, voltage_full=12.0)
    assert m.percentage == 0.5 and m.voltage == 11.0 and m.nominal_voltage == 11.0
    assert not m.drain(360.0, 5.0)                      # 0.5 Wh
    assert m.percentage == pytest.approx(0.25)
    assert not m.drain(360.0, -1.0) and m.percentage == pytest.approx(0.25)
    assert m.drain(360.0, 100.0)                        # far past empty
    assert m.empty and m.percentage == 0.0 and m.voltage == 10.0
    assert m.drained_wh == pytest.approx(1.0)
    assert not m.drain(360.0, 1.0) and m.percentage == 0.0      # stays empty
    m.recharge_at_empty = True
    assert m.drain(0.0, 0.0) and m.percentage == 1.0 and m.recharges == 1


def test_battery_integrates_sim_time_exactly_and_clamps_at_zero(graph):
    """use_sim_time: percentage follows (base + scale x power) x speedup over /clock time."""
    probe = graph.probe()
    battery = graph.battery(use_sim_time=True, capacity_wh=2.0, initial_percentage=0.9,
                            base_load_w=36.0, compute_power_scale=2.0, speedup=3.0,
                            power_timeout_s=0.0, rate_hz=5.0)
    wait_until(lambda: probe.power_pub.get_subscription_count() >= 1
               and probe.clock_pub.get_subscription_count() >= 1
               and probe.subs['battery_state'].get_publisher_count() >= 1, what='matching')
    probe.power_pub.publish(Float64(data=9.0))          # draw 36 + 2 x 9 = 54 W, x3 = 162 W
    wait_until(lambda: battery.counters().get('power_messages') == 1, what='power taken')
    t = 100.0
    probe.clock_pub.publish(sim_time(t))
    wait_until(lambda: any(stamp_ns(m.header) >= 100 * 10 ** 9
                           for m in probe.messages('battery_state')), what='sim time start')
    while t < 145.0:
        t += 0.1
        probe.clock_pub.publish(sim_time(t))
        time.sleep(0.002)
    wait_until(lambda: stamp_ns(probe.messages('battery_state')[-1].header) >= 144.8e9,
               what='the last sim-time tick')
    states = [m for m in probe.messages('battery_state') if stamp_ns(m.header) >= 100e9]
    t0 = stamp_ns(states[0].header) * 1e-9
    assert states[0].percentage == pytest.approx(0.9, abs=1e-6)
    for m in states:
        elapsed = stamp_ns(m.header) * 1e-9 - t0
        expected = max(0.0, 0.9 - 162.0 * elapsed / 3600.0 / 2.0)   # empty after 40 s
        assert m.percentage == pytest.approx(expected, abs=1e-5), elapsed
        assert m.present and math.isnan(m.temperature)
        assert m.voltage == pytest.approx(10.5 + 2.1 * m.percentage, abs=1e-4)
        if m.percentage > 0:
            assert m.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
            assert m.current == pytest.approx(-54.0 / m.voltage, rel=1e-5)
        assert 0.0 <= m.percentage <= 1.0
    assert states[-1].percentage == 0.0
    assert states[-1].power_supply_status == BatteryState.POWER_SUPPLY_STATUS_NOT_CHARGING
    assert states[-1].current == 0.0
    empty = sum(m.percentage == 0.0 for m in states)
    assert empty >= 5                                                # it stays at 0
    assert battery._status().level == DiagnosticStatus.WARN

    # A clock jumping back only restarts the integration; recharge_at_empty refills.
    def advance(start: float, predicate, what: str) -> None:
        t = start
        end = time.monotonic() + WAIT_S
        while not predicate():
            assert time.monotonic() < end, f'timed out waiting for {what}'
            probe.clock_pub.publish(sim_time(t))
            t += 0.1
            time.sleep(0.01)

    advance(50.0, lambda: battery.counters().get('clock_jumps_back') == 1, 'jump counted')
    assert battery.model.percentage == 0.0
    assert battery.set_parameters([Parameter('recharge_at_empty', value=True)])[0].successful
    advance(60.0, lambda: probe.messages('battery_state')[-1].percentage == 1.0, 'refill')
    assert probe.messages('battery_state')[-1].power_supply_status == \
        BatteryState.POWER_SUPPLY_STATUS_FULL
    assert battery.model.recharges == 1


def drained(battery: BatterySimNode) -> tuple[float, float]:
    """(percentage, clock seconds of the integration that produced it), read atomically."""
    with battery._lock:
        return battery.model.percentage, battery._last_t


def test_reported_power_drains_faster_and_initial_percentage_holds(graph):
    """Two batteries on wall time, one of them also fed topspark/power: it drains faster."""
    plain_ns, powered_ns = f'{graph.namespace}_plain', f'{graph.namespace}_powered'
    params = dict(capacity_wh=1.0, initial_percentage=0.8, base_load_w=18.0, speedup=10.0,
                  compute_power_scale=1000.0, rate_hz=20.0)
    plain = graph.battery(plain_ns, **params)
    powered = graph.battery(powered_ns, **params)
    idle = graph.battery(f'{graph.namespace}_idle', initial_percentage=0.42, base_load_w=0.0)
    probe = graph.probe(powered_ns)
    wait_until(lambda: probe.power_pub.get_subscription_count() >= 1, what='matching')
    stop = threading.Event()

    def feed():                                      # 18 mW x 1000: doubles the draw
        while not stop.is_set():
            probe.power_pub.publish(Float64(data=0.018))
            time.sleep(0.02)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        wait_until(lambda: powered.counters().get('power_messages', 0) >= 3, what='power')
        time.sleep(0.1)                              # a tick with the power in force
        start = (drained(plain), drained(powered))
        time.sleep(1.0)
        end = (drained(plain), drained(powered))
    finally:
        stop.set()
        feeder.join()
    plain_drop, powered_drop = start[0][0] - end[0][0], start[1][0] - end[1][0]
    assert 0.02 < plain_drop < 0.08 and powered_drop > 1.5 * plain_drop
    # Exact rates over each node's own integration times: 18 W x 10 = 180 W = 0.05 Wh/s
    # of 1 Wh (5 % per second); the fed one draws (18 + 1000 x 0.018) x 10 = 360 W.
    for (p0, t0), (p1, t1), watts in ((start[0], end[0], 180.0), (start[1], end[1], 360.0)):
        assert (p0 - p1) / (t1 - t0) == pytest.approx(watts / 3600.0, rel=1e-6)
    assert probe.messages('battery_state') and all(
        m.percentage < 0.8 for m in probe.messages('battery_state')[1:])
    assert idle.model.percentage == pytest.approx(0.42) and idle.last_state is not None
    assert idle.last_state.percentage == pytest.approx(0.42)
    assert values_of(powered._status())['compute_power_state'] == 'ok'

    # Bad power messages are counted and ignored.
    for bad in (math.nan, -1.0, math.inf):
        probe.power_pub.publish(Float64(data=bad))
    wait_until(lambda: powered.counters().get('rejected_power', 0) == 3, what='3 rejections')
    assert powered._power_w == pytest.approx(0.018)
    # Setting initial_percentage at run time sets the charge.
    assert powered.set_parameters([Parameter('initial_percentage', value=0.3)])[0].successful
    assert powered.model.percentage == pytest.approx(0.3, abs=0.01)


def test_battery_diagnostics_report_new_rejections_and_callback_exceptions_once(graph):
    """EventCounters.report: a WARN (or ERROR) for the period in which something happened."""
    from topspark_ros.ros.node_utils import CALLBACK_EXCEPTIONS

    node = graph.battery(log_throttle_s=60.0)
    node._on_power(Float64(data=math.nan))
    first = node._status()
    assert first.level == DiagnosticStatus.WARN and '1 ' in first.message
    assert values_of(first)['rejected_power'] == '1'
    assert node._status().level == DiagnosticStatus.OK          # nothing new since
    CALLBACK_EXCEPTIONS.record(node, RuntimeError('a bug'))
    broken = node._status()
    assert broken.level == DiagnosticStatus.ERROR and 'callback exception' in broken.message
    assert values_of(broken)['callback_exceptions'] == '1'
    assert node._status().level == DiagnosticStatus.OK


def test_battery_invalid_parameters_are_rejected_with_a_reason(graph):
    battery = graph.battery()

    def rejected(name, value):
        result = battery.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful, f'{name}={value!r} was accepted'
        return result.reason

    assert 'out of range' in rejected('rate_hz', -1.0)
    assert 'out of range' in rejected('capacity_wh', -3.0)
    assert '> 0' in rejected('capacity_wh', 0.0)
    assert '> 0' in rejected('speedup', 0.0)
    assert 'out of range' in rejected('initial_percentage', 1.5)
    assert 'out of range' in rejected('initial_percentage', -0.1)
    assert 'out of range' in rejected('base_load_w', -1.0)
    assert 'out of range' in rejected('base_load_w', math.nan)
    assert 'must exceed' in rejected('voltage_full', 9.0)
    assert rejected('capacity_wh', 5)                                 # int for a double
    assert battery.model.capacity_wh == 10.0 and battery.model.voltage_full == 12.6
    assert battery.set_parameters([Parameter('capacity_wh', value=20.0)])[0].successful
    assert battery.model.capacity_wh == 20.0 and battery.model.percentage == 1.0
    for params, reason in (({'capacity_wh': 0.0}, '> 0'), ({'initial_percentage': 2.0}, 'range'),
                           ({'voltage_empty': 13.0}, 'must exceed'), ({'rate_hz': 0.0}, 'range')):
        with pytest.raises(InvalidParameterValueException, match=reason):
            graph.battery(f'{graph.namespace}_bad', **params)


# ------------------------------------------------------------------------------ processes


def test_processes_exit_0_on_sigint_and_sigterm(tmp_path):
    npz = tmp_path / 'digits.npz'
    np.savez(npz, images=np.full((2, 8, 8), 50, np.uint8), labels=np.array([4, 2]))
    runs = []
    for module, topic, extra in (('camera_sim', 'image', ['-p', f'source:={npz}']),
                                 ('battery_sim', 'battery_state', [])):
        for sig in (signal.SIGINT, signal.SIGTERM):
            namespace = f'/sp{os.getpid()}_{module}_{sig.name}'
            proc = start_module(f'topspark_ros.nodes.{module}', '--ros-args',
                                '-r', f'__ns:={namespace}', '-p', 'rate_hz:=20.0', *extra,
                                domain=PROCESS_DOMAIN_ID)
            runs.append((module, sig, namespace, topic, proc))
    outputs = []
    try:
        with SimGraph(PROCESS_DOMAIN_ID) as g:
            probes = [(g.probe(namespace), topic) for _, _, namespace, topic, _ in runs]
            for probe, topic in probes:
                wait_until(lambda: probe.count(topic) > 0,
                           what=f'{probe.get_namespace()} {topic}')
    finally:
        for module, sig, _, _, proc in runs:
            proc.send_signal(sig)
        for module, sig, _, _, proc in runs:
            output = finish(proc)
            outputs.append((module, sig, proc.returncode, output))
    for module, sig, returncode, output in outputs:
        assert returncode == 0, (module, sig, output)
        assert 'ready:' in output, (module, sig, output)


def test_camera_process_exits_1_for_an_unloadable_source(tmp_path):
    broken = tmp_path / 'broken.npz'
    broken.write_bytes(b'not a zip')
    proc = subprocess.run(
        [sys.executable, '-m', 'topspark_ros.nodes.camera_sim', '--ros-args',
         '-p', f'source:={broken}'], env=process_env(PROCESS_DOMAIN_ID), capture_output=True,
        text=True, timeout=WAIT_S)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'cannot load the source' in proc.stderr + proc.stdout
