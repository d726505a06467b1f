# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-record and topspark-replay with real rclpy, sqlite3 and mcap bags.

Same pattern as test_perception_node.py (ros_helpers.py): an isolated Context per test (domain
id from the pid), a namespace per test, a SingleThreadedExecutor in a thread, and waits for
matched endpoints before anything is sent. Timing is only asserted as a lower bound (replay
cannot be faster than the recorded schedule). Run with ROS_PYTHON_CHECK_FIELDS=1.
"""

import os
from pathlib import Path
import signal
import threading
import time

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import QosDurability, QosReliability
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from sensor_msgs.msg import Image
from std_msgs.msg import Float64, Int32, UInt16

from topspark_ros.cli import record, replay
from topspark_ros.cli.record import BagRecorder
from topspark_ros.cli.replay import BagPlayer, BagSource
from topspark_ros.ros.bags import (BagError, ensure_bag_type, make_typestore, MessageTypeError,
                                   split_ros_args)
from topspark_ros.ros.conversions import image_to_numpy, numpy_to_image

from ros_helpers import domain_id, finish, Graph, ros_context, start_module, wait_until, WAIT_S

DOMAIN_ID = domain_id(21)
PROCESS_DOMAIN_ID = domain_id(71)                  # for the tools started as processes
N_FRAMES = 6
PERIOD_S = 0.03
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
BEST_EFFORT = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
TYPESTORE = get_typestore(Stores.ROS2_KILTED)


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(N_FRAMES)]


class BagGraph(Graph):
    prefix = 'b'

    def node(self, name: str) -> Node:
        return self.add(Node(name, namespace=self.namespace, context=self.context))


@pytest.fixture
def graph():
    with BagGraph(DOMAIN_ID) as g:
        yield g


class Sink:
    """Subscriptions of a node that keep what arrives, in order."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.lock = threading.Lock()
        self.got: dict[str, list] = {}

    def listen(self, msg_type: type, topic: str, qos: QoSProfile = RELIABLE, keep=None) -> None:
        self.got[topic] = []

        def store(msg) -> None:
            with self.lock:
                self.got[topic].append(keep(msg) if keep else msg)
        self.node.create_subscription(msg_type, topic, store, qos)

    def count(self, topic: str) -> int:
        with self.lock:
            return len(self.got[topic])


def pixels(msg: Image) -> np.ndarray:
    return image_to_numpy(msg).copy()


def write_bag(path: Path, storage: StoragePlugin, images: list[np.ndarray],
              extra: tuple[str, str, list] | None = None) -> None:
    """A bag written by rosbags alone: /camera/image_raw frames and /value floats."""
    Img, Header, Time = (TYPESTORE.types[t] for t in (
        'sensor_msgs/msg/Image', 'std_msgs/msg/Header', 'builtin_interfaces/msg/Time'))
    F64 = TYPESTORE.types['std_msgs/msg/Float64']
    with Writer(path, version=9, storage_plugin=storage) as writer:
        image_conn = writer.add_connection('/camera/image_raw', Img.__msgtype__,
                                           typestore=TYPESTORE)
        value_conn = writer.add_connection('/value', F64.__msgtype__, typestore=TYPESTORE)
        for i, arr in enumerate(images):
            t = 1_000_000_000 + i * int(PERIOD_S * 1e9)
            msg = Img(header=Header(stamp=Time(sec=1, nanosec=i), frame_id='camera'),
                      height=arr.shape[0], width=arr.shape[1], encoding='rgb8', is_bigendian=0,
                      step=arr.shape[1] * 3, data=arr.reshape(-1))
            writer.write(image_conn, t, TYPESTORE.serialize_cdr(msg, Img.__msgtype__))
            value = TYPESTORE.serialize_cdr(F64(data=float(i)), F64.__msgtype__)
            writer.write(value_conn, t + 1, value)
        if extra:
            store, msgtype, payloads = extra
            conn = writer.add_connection('/thing', msgtype, typestore=store)
            for payload in payloads:
                writer.write(conn, 2_000_000_000, store.serialize_cdr(payload, msgtype))


# ------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize('storage', ['sqlite3', 'mcap'])
def test_record_then_replay_with_recorded_timing(graph, tmp_path, storage):
    ns = graph.namespace
    source = graph.node('source')
    image_pub = source.create_publisher(Image, 'camera/image_raw', RELIABLE)
    value_pub = source.create_publisher(Float64, 'value', BEST_EFFORT)
    latched_pub = source.create_publisher(UInt16, 'topspark/timesteps', LATCHED)
    latched_pub.publish(UInt16(data=42))        # before the recorder exists: transient local

    bag = tmp_path / f'bag_{storage}'
    recorder = graph.add(BagRecorder(
        bag, ['camera/image_raw', 'value', 'topspark/timesteps', 'not/published'], storage,
        wait_s=WAIT_S, namespace=ns, context=graph.context))
    wait_until(lambda: all(p.get_subscription_count() for p in (image_pub, value_pub,
                                                                latched_pub)),
               what='the recorder to subscribe')
    wait_until(lambda: recorder.counts()[f'{ns}/topspark/timesteps'] == 1, what='latched')
    time.sleep(0.1)
    originals = frames()
    for i, arr in enumerate(originals):
        image_pub.publish(numpy_to_image(arr, 'rgb8'))
        value_pub.publish(Float64(data=float(i)))
        time.sleep(PERIOD_S)
    wait_until(lambda: recorder.total == 2 * N_FRAMES + 1, what='all messages in the bag')
    summary = recorder.close()
    assert summary['messages'] == 2 * N_FRAMES + 1 and not summary['error']
    assert summary['topics'][f'{ns}/value']['qos'] == 'best_effort/volatile'
    assert summary['topics'][f'{ns}/topspark/timesteps']['qos'] == 'reliable/transient_local'
    assert summary['topics'][f'{ns}/not/published']['count'] == 0
    text = record.format_summary(summary)
    assert f'{ns}/not/published' in text and 'never appeared' in text

    with Reader(bag) as reader:
        topics = {c.topic: c for c in reader.connections}
        assert {t: (c.msgtype, c.msgcount) for t, c in topics.items()} == {
            f'{ns}/camera/image_raw': ('sensor_msgs/msg/Image', N_FRAMES),
            f'{ns}/value': ('std_msgs/msg/Float64', N_FRAMES),
            f'{ns}/topspark/timesteps': ('std_msgs/msg/UInt16', 1)}
        offered = {t: c.ext.offered_qos_profiles[0] for t, c in topics.items()}
        assert offered[f'{ns}/camera/image_raw'].reliability == QosReliability.RELIABLE
        assert offered[f'{ns}/value'].reliability == QosReliability.BEST_EFFORT
        assert offered[f'{ns}/topspark/timesteps'].durability == QosDurability.TRANSIENT_LOCAL
        images, stamps = [], []
        for conn, stamp, raw in reader.messages([topics[f'{ns}/camera/image_raw']]):
            msg = TYPESTORE.deserialize_cdr(raw, conn.msgtype)
            assert (msg.height, msg.width, msg.encoding) == (24, 32, 'rgb8')
            images.append(msg.data.reshape(24, 32, 3))
            stamps.append(stamp)
        values = [TYPESTORE.deserialize_cdr(raw, c.msgtype).data
                  for c, _, raw in reader.messages([topics[f'{ns}/value']])]
    assert all(np.array_equal(a, b) for a, b in zip(images, originals, strict=True))
    assert values == [float(i) for i in range(N_FRAMES)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    span_s = (stamps[-1] - stamps[0]) / 1e9
    assert span_s >= (N_FRAMES - 1) * PERIOD_S * 0.9

    sink = Sink(graph.node('sink'))         # on new names: the source still publishes
    sink.listen(Image, 'replayed', keep=pixels)
    sink.listen(Float64, 'replayed_value', keep=lambda m: m.data)
    sink.listen(UInt16, 'replayed_timesteps', LATCHED, keep=lambda m: m.data)
    bag_source = BagSource(bag, remaps={f'{ns}/camera/image_raw': f'{ns}/replayed',
                                        f'{ns}/value': f'{ns}/replayed_value',
                                        f'{ns}/topspark/timesteps': f'{ns}/replayed_timesteps'})
    try:
        player = graph.add(BagPlayer(bag_source, rate=2.0, namespace=ns,
                                     context=graph.context))
        wait_until(lambda: all(player.subscriber_counts().values()), what='matched sinks')
        stats = player.play(wait_subscribers=WAIT_S)
    finally:
        bag_source.close()
    assert stats.unmatched == [] and stats.passes == 1 and not stats.interrupted
    assert stats.published == {f'{ns}/replayed': N_FRAMES, f'{ns}/replayed_value': N_FRAMES,
                               f'{ns}/replayed_timesteps': 1}
    assert stats.seconds >= 0.9 * span_s / 2.0
    wait_until(lambda: sink.count('replayed') == N_FRAMES
               and sink.count('replayed_value') == N_FRAMES
               and sink.count('replayed_timesteps') == 1, what='the replayed messages',
               state=lambda: {k: len(v) for k, v in sink.got.items()})
    assert all(np.array_equal(a, b) for a, b in zip(sink.got['replayed'], originals,
                                                    strict=True))
    assert sink.got['replayed_value'] == values and sink.got['replayed_timesteps'] == [42]


class Acknowledger:
    """Fake perception: answers each frame on topspark/prediction after ``delay`` seconds,
    except the frames it ignores; notes how many frames were unanswered when one arrives."""

    def __init__(self, node: Node, delay: float, ignore: set[int]) -> None:
        self.pub = node.create_publisher(Int32, 'topspark/prediction', RELIABLE)
        node.create_subscription(Image, 'replayed', self._on_frame, RELIABLE)
        self.delay, self.ignore = delay, ignore
        self.lock = threading.Lock()
        self.frames: list[np.ndarray] = []
        self.answered = 0
        self.outstanding: list[int] = []
        self.timers: list[threading.Timer] = []
        self.answering = True

    def _on_frame(self, msg: Image) -> None:
        with self.lock:
            index = len(self.frames)
            self.frames.append(pixels(msg))
            ignored = sum(1 for i in self.ignore if i < index)
            self.outstanding.append(index - self.answered - ignored)
        if self.answering and index not in self.ignore:
            timer = threading.Timer(self.delay, self._answer, args=(index,))
            self.timers.append(timer)
            timer.start()

    def stop(self) -> None:
        self.answering = False
        for timer in self.timers:
            timer.join()

    def _answer(self, index: int) -> None:
        with self.lock:
            self.answered += 1
        self.pub.publish(Int32(data=index % 10))


def test_as_fast_as_possible_waits_for_each_acknowledgement(graph, tmp_path):
    ns = graph.namespace
    originals = frames()
    bag = tmp_path / 'written_by_rosbags'
    write_bag(bag, StoragePlugin.MCAP, originals)
    ack = Acknowledger(graph.node('perception'), delay=0.05, ignore={2})
    sink = Sink(graph.node('sink'))
    sink.listen(Float64, 'value', keep=lambda m: m.data)
    remaps = {'/camera/image_raw': f'{ns}/replayed', '/value': f'{ns}/value'}

    bag_source = BagSource(bag, remaps=remaps)
    try:
        player = graph.add(BagPlayer(bag_source, fast=True, ack_timeout=0.5, namespace=ns,
                                     context=graph.context))
        wait_until(lambda: all(player.subscriber_counts().values()), what='matched sinks')
        stats = player.play(wait_subscribers=WAIT_S)
    finally:
        bag_source.close()
    assert stats.unmatched == []
    assert (stats.acknowledged, stats.ack_timeouts, stats.unacknowledged) == (N_FRAMES - 1, 1, 0)
    assert stats.seconds >= 0.5 + (N_FRAMES - 1) * 0.05 * 0.9
    wait_until(lambda: len(ack.frames) == N_FRAMES and sink.count('value') == N_FRAMES,
               what='the paced frames')
    assert ack.outstanding == [0] * N_FRAMES           # never a second frame in flight
    assert all(np.array_equal(a, b) for a, b in zip(ack.frames, originals, strict=True))
    assert sink.got['value'] == [float(i) for i in range(N_FRAMES)]

    # Nobody publishes the ack topic: frames go back-to-back, still complete and in order.
    ack.stop()
    sink.listen(Image, 'replayed', keep=pixels)
    bag_source = BagSource(bag, topics=['/camera/image_raw'], remaps=remaps)
    try:
        player = graph.add(BagPlayer(bag_source, fast=True, ack_topic='nobody/answers',
                                     node_name='replay2', namespace=ns, context=graph.context))
        wait_until(lambda: all(player.subscriber_counts().values()), what='matched sink')
        stats = player.play()
    finally:
        bag_source.close()
    assert (stats.acknowledged, stats.ack_timeouts, stats.unacknowledged) == (0, 0, N_FRAMES)
    assert stats.published == {f'{ns}/replayed': N_FRAMES}
    wait_until(lambda: sink.count('replayed') == N_FRAMES, what='back-to-back frames')
    assert all(np.array_equal(a, b) for a, b in zip(sink.got['replayed'], originals,
                                                    strict=True))


def test_recorder_stop_conditions_and_topic_list(graph, tmp_path):
    bag = tmp_path / 'empty'
    recorder = graph.add(BagRecorder(bag, ['nothing/here'], 'mcap', wait_s=0.3,
                                     namespace=graph.namespace, context=graph.context))
    wait_until(recorder.done.is_set, what='the recorder to give up')
    summary = recorder.close()
    assert 'nothing/here never appeared' in summary['error'] and not bag.exists()

    graph.node('source').create_publisher(Float64, 'quiet', RELIABLE)
    bag = tmp_path / 'timed'
    started = time.monotonic()          # before: the duration may start as it is constructed
    recorder = graph.add(BagRecorder(bag, ['quiet'], 'sqlite3', duration_s=0.3,
                                     node_name='timed', namespace=graph.namespace,
                                     context=graph.context))
    wait_until(recorder.done.is_set, what='the duration to pass')
    assert time.monotonic() - started >= 0.3
    summary = recorder.close()
    assert summary['error'] == '' and summary['messages'] == 0
    with Reader(bag) as reader:
        assert [(c.topic, c.msgcount) for c in reader.connections] == [
            (f'{graph.namespace}/quiet', 0)]

    parser = record.build_parser()
    assert record._topics(parser.parse_args(['--out', 'b'])) == ['/camera/image_raw']
    topics = record._topics(parser.parse_args(['--out', 'b', '--all-topspark', 'image']))
    assert topics[0] == 'image' and 'topspark/prediction' in topics
    assert '/camera/image_raw' not in topics and len(topics) == len(set(topics))


# ------------------------------------------------------------------------------ errors


def test_unimportable_types_are_skipped_with_a_warning(tmp_path, capsys):
    store = get_typestore(Stores.ROS2_KILTED)
    store.register(get_types_from_msg('int32 count\nstring name', 'fake_pkg/msg/Thing'))
    Thing = store.types['fake_pkg/msg/Thing']
    bag = tmp_path / 'custom'
    write_bag(bag, StoragePlugin.SQLITE3, frames()[:2],
              extra=(store, 'fake_pkg/msg/Thing', [Thing(count=1, name='a')]))
    source = BagSource(bag)
    try:
        [thing] = [t for t in source.topics.values() if t.topic == '/thing']
        assert 'cannot import fake_pkg/msg/Thing' in thing.skipped
        assert any('skipping /thing (fake_pkg/msg/Thing)' in w for w in source.warnings)
        sent = [(t.topic, len(data)) for t, _, data in source.messages()]
        assert [t for t, _ in sent] == ['/camera/image_raw', '/value'] * 2
    finally:
        source.close()
    assert replay.main([str(bag), '--topics', '/thing']) == 2
    assert 'nothing to replay' in capsys.readouterr().err


def test_bad_bags_and_arguments_exit_2_with_a_message(tmp_path, capsys):
    def fails(argv, text):
        assert replay.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith('error: ') and text in err and err.count('\n') == 1, err

    fails([str(tmp_path / 'missing')], 'no such bag directory or file')
    (tmp_path / 'no_metadata').mkdir()
    fails([str(tmp_path / 'no_metadata')], 'not a rosbag2')
    broken = tmp_path / 'broken_yaml'
    broken.mkdir()
    (broken / 'metadata.yaml').write_text('rosbag2_bagfile_information: [\n')
    fails([str(broken)], 'cannot open bag')

    for storage, suffix in ((StoragePlugin.SQLITE3, '.db3'), (StoragePlugin.MCAP, '.mcap')):
        bag = tmp_path / f'truncated{suffix}'
        write_bag(bag, storage, frames())
        data = (bag / f'{bag.name}{suffix}').read_bytes()
        (bag / f'{bag.name}{suffix}').write_bytes(data[:len(data) // 3])
        fails([str(bag)], 'cannot open bag')

    good = tmp_path / 'good'
    write_bag(good, StoragePlugin.MCAP, frames())
    fails([str(good), '--topics', '/nope'], 'no topic /nope in the bag')
    fails([str(good), '--remap', 'nonsense'], "'nonsense' is not OLD:=NEW")
    fails([str(good), '--rate', '0'], '--rate must be > 0')
    (tmp_path / 'taken').mkdir()
    assert record.main(['--out', str(tmp_path / 'taken'), '/x']) == 2
    assert 'exists already' in capsys.readouterr().err

    # Damage in the middle of an mcap file: the reader stops early without an error.
    damaged = tmp_path / 'damaged'
    write_bag(damaged, StoragePlugin.MCAP, frames())
    path = damaged / 'damaged.mcap'
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = bytes(2000)
    path.write_bytes(bytes(data))
    source = BagSource(damaged)
    try:
        with pytest.raises(BagError, match=r'(ended after \d+ of the 12|cannot read bag)'):
            list(source.messages())
    finally:
        source.close()


def test_types_outside_the_typestore_come_from_share_msg_files(tmp_path, monkeypatch):
    msg_dir = tmp_path / 'share' / 'fake_pkg' / 'msg'
    msg_dir.mkdir(parents=True)
    (msg_dir / 'Thing.msg').write_text('geometry_msgs/Point where\nfake_pkg/Part[] parts\n')
    (msg_dir / 'Part.msg').write_text('uint8 KIND=3\nstring name\n')
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))
    store = make_typestore()
    digest = ensure_bag_type(store, 'fake_pkg/msg/Thing')
    assert digest.startswith('RIHS01_') and 'fake_pkg/msg/Part' in store.types
    assert ensure_bag_type(store, 'sensor_msgs/msg/Image') == TYPESTORE.hash_rihs01(
        'sensor_msgs/msg/Image')
    with pytest.raises(MessageTypeError, match='no nowhere_pkg/msg/Gone.msg'):
        ensure_bag_type(store, 'nowhere_pkg/msg/Gone')
    assert split_ros_args(['--remap', 'a:=b', '--ros-args', '-r', '__ns:=/x', '--', 'bag']) == (
        ['--remap', 'a:=b', 'bag'], ['--ros-args', '-r', '__ns:=/x'])


# ------------------------------------------------------------------------------ processes


@pytest.mark.parametrize('stop', ['SIGINT', 'SIGTERM', 'max-messages'])
def test_record_process_stops_cleanly(tmp_path, stop):
    namespace = f'/rp{os.getpid()}_{stop.replace("-", "_")}'
    bag = tmp_path / 'bag'
    extra = ['--max-messages', '3'] if stop == 'max-messages' else []
    proc = start_module('topspark_ros.cli.record', '--out', str(bag), '--storage', 'mcap',
                        'value', *extra, '--ros-args', '-r', f'__ns:={namespace}',
                        domain=PROCESS_DOMAIN_ID)
    with ros_context(PROCESS_DOMAIN_ID) as context:
        node = Node('source', namespace=namespace, context=context)
        try:
            pub = node.create_publisher(Float64, 'value', RELIABLE)
            wait_until(lambda: pub.get_subscription_count() > 0 or proc.poll() is not None,
                       what='the recorder process to subscribe')
            for i in range(5):
                pub.publish(Float64(data=float(i)))
                time.sleep(0.02)
            if stop == 'max-messages':
                output = finish(proc)
            else:
                time.sleep(0.5)                             # let the reliable writer deliver
                output = finish(proc, getattr(signal, stop))
        finally:
            if proc.poll() is None:
                proc.kill()
            node.destroy_node()
    assert proc.returncode == 0, output
    expected = 3 if stop == 'max-messages' else 5
    assert f'{namespace}/value' in output and f'{expected} messages' in output, output
    with Reader(bag) as reader:
        values = [TYPESTORE.deserialize_cdr(raw, c.msgtype).data
                  for c, _, raw in reader.messages()]
    assert values == [float(i) for i in range(expected)]


@pytest.mark.parametrize('stop', ['SIGINT', 'SIGTERM'])
def test_replay_process_stops_cleanly_on_a_signal_and_says_what_it_sent(tmp_path, stop):
    namespace = f'/ps{os.getpid()}_{stop}'
    bag = tmp_path / 'bag'
    write_bag(bag, StoragePlugin.SQLITE3, frames())
    with Graph(PROCESS_DOMAIN_ID) as g:
        sink = Sink(Node('sink', namespace=namespace, context=g.context))
        sink.listen(Image, 'replayed')
        g.add(sink.node)
        proc = start_module('topspark_ros.cli.replay', str(bag), '--loop', '--rate', '4',
                            '--remap', f'/camera/image_raw:={namespace}/replayed',
                            '--wait-subscribers', str(WAIT_S), domain=PROCESS_DOMAIN_ID)
        try:
            wait_until(lambda: sink.count('replayed') > N_FRAMES or proc.poll() is not None,
                       what='a second pass of the looped bag')
        finally:
            output = finish(proc, getattr(signal, stop))
    assert proc.returncode == 0, output
    assert '(interrupted)' in output and f'/camera/image_raw -> {namespace}/replayed' in output


def test_replay_process_publishes_the_bag(tmp_path):
    namespace = f'/pp{os.getpid()}'
    bag = tmp_path / 'bag'
    originals = frames()
    write_bag(bag, StoragePlugin.SQLITE3, originals)
    with Graph(PROCESS_DOMAIN_ID) as g:
        sink = Sink(Node('sink', namespace=namespace, context=g.context))
        sink.listen(Image, 'replayed', keep=pixels)
        g.add(sink.node)
        proc = start_module('topspark_ros.cli.replay', str(bag), '--topics', '/camera/image_raw',
                            '--remap', f'/camera/image_raw:={namespace}/replayed',
                            '--rate', '4', '--wait-subscribers', str(WAIT_S),
                            domain=PROCESS_DOMAIN_ID)
        output = finish(proc)
        assert proc.returncode == 0, output
        assert f'/camera/image_raw -> {namespace}/replayed  {N_FRAMES}' in output, output
        wait_until(lambda: sink.count('replayed') == N_FRAMES, what='frames from the process')
    assert all(np.array_equal(a, b) for a, b in zip(sink.got['replayed'], originals,
                                                    strict=True))
