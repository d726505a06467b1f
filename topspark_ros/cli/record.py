# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-record: record topics into a rosbag2 (version 9, sqlite3 or mcap) without ROS bag.

    topspark-record --out runs/bag1 [--storage sqlite3|mcap] [--duration S] [--max-messages N]
                    [--wait S] [--all-topspark] [TOPIC ...] [--ros-args ...]

TOPIC defaults to /camera/image_raw; ``--all-topspark`` adds everything the topspark nodes
publish (topspark/prediction, scores, activity, latency, timesteps, energy/*, power). Relative
names resolve in the node's namespace (``--ros-args -r __ns:=/robot``).

Each topic's type and QoS come from its publishers (polled every 0.1 s, so publishers that
start later are picked up too): the subscription is reliable only if every publisher is, and
transient local only if every publisher offers it (rosbag2's rule); a best-effort or volatile
publisher joining later downgrades it. Subscriptions are raw: each message's CDR bytes go
into the bag with their receive time (node clock: ``-p use_sim_time:=true`` records /clock
time). Connections carry the type's definition and hash from the rosbags Kilted typestore
(or the package's .msg file) and the publishers' offered QoS profiles. A writer thread owns
the bag (the sqlite3 storage only works from the thread that opened it), so disk writes never
hold up the executor; its queue is unbounded.

Stops on SIGINT/SIGTERM, after ``--duration`` seconds (counted from the first subscription)
or ``--max-messages`` (over all topics); the bag is closed and valid in every case, and a
summary (messages per topic) goes to stdout; exit 0. Exit 2 with a one-line error when OUT
exists, or none of the topics appears within ``--wait`` seconds (the empty bag is removed).
"""

from __future__ import annotations

import argparse
import collections
from dataclasses import dataclass, field
from pathlib import Path
import queue
import shutil
import sys
import threading
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rclpy.subscription import Subscription
from rosbags.interfaces import Connection
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError

from ..ros.bags import (BagError, ensure_bag_type, import_message_type, make_typestore,
                        MessageTypeError, qos_name, split_ros_args, subscriber_qos, to_bag_qos,
                        TOPSPARK_OUTPUTS)
from ..ros.node_utils import stop_on_signals

DEFAULT_TOPICS = ('/camera/image_raw',)
STORAGES = {'sqlite3': StoragePlugin.SQLITE3, 'mcap': StoragePlugin.MCAP}
DISCOVERY_PERIOD_S = 0.1
QUEUE_DEPTH = 100           # per subscription: bursts wait here while the executor is busy


@dataclass
class _Topic:
    name: str
    msgtype: str = ''
    subscription: Subscription | None = None
    qos: QoSProfile | None = None
    skipped: str = ''                       # why the topic is not recorded
    count: int = 0
    warned_types: set = field(default_factory=set)


class BagWriterThread(threading.Thread):
    """Owns the rosbags Writer: opens, writes and closes it in one thread.

    The sqlite3 storage refuses use from a thread other than its creator's, and disk writes
    should not hold up the executor anyway. Callers queue connections and messages (FIFO, so a
    topic's connection precedes its messages); ``finish()`` writes what is queued and closes.
    """

    def __init__(self, path: Path, storage: StoragePlugin, on_error) -> None:
        super().__init__(name='bag_writer', daemon=True)
        self.path = path
        self._storage = storage
        self._on_error = on_error
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._opened = threading.Event()
        self.error = ''
        self.start()
        self._opened.wait()
        if self.error:
            raise BagError(self.error)

    def add(self, topic: str, msgtype: str, msgdef: str, digest: str, offered: list) -> None:
        self._queue.put(('add', (topic, msgtype, msgdef, digest, offered)))

    def write(self, topic: str, stamp: int, data: bytes) -> None:
        self._queue.put(('write', (topic, stamp, data)))

    def finish(self) -> None:
        self._queue.put(None)
        self.join()

    def run(self) -> None:
        try:
            writer = Writer(self.path, version=9, storage_plugin=self._storage)
            writer.open()
        except (WriterError, OSError) as exc:
            self.error = f'cannot create bag {self.path}: {exc}'
            self._opened.set()
            return
        self._opened.set()
        connections: dict[str, Connection] = {}
        while (item := self._queue.get()) is not None:
            if self.error:
                continue                            # drain after a failure, write nothing
            kind, args = item
            try:
                if kind == 'add':
                    topic, msgtype, msgdef, digest, offered = args
                    connections[topic] = writer.add_connection(
                        topic, msgtype, msgdef=msgdef, rihs01=digest,
                        offered_qos_profiles=offered)
                else:
                    topic, stamp, data = args
                    writer.write(connections[topic], stamp, data)
            except Exception as exc:                # noqa: BLE001 - disk full, ...: stop cleanly
                self.error = f'cannot write to {self.path}: {exc}'
                self._on_error(self.error)
        try:
            writer.close()
        except Exception as exc:                    # noqa: BLE001
            self.error = self.error or f'cannot close {self.path}: {exc}'


class BagRecorder(Node):
    """Subscribes raw to the given topics as their publishers appear and writes a rosbag2.

    ``done`` is set when a stop condition is reached (max messages, duration, or nothing to
    record after ``wait_s``; then ``error`` says why); the owner spins until then and calls
    ``close()``, which also works after an interruption at any point.
    """

    def __init__(self, out: str | Path, topics: list[str], storage: str = 'sqlite3',
                 wait_s: float = 10.0, max_messages: int = 0, duration_s: float = 0.0,
                 node_name: str = 'topspark_record', **kwargs) -> None:
        if storage not in STORAGES:
            raise BagError(f'storage {storage!r} is not one of {", ".join(STORAGES)}')
        super().__init__(node_name, **kwargs)
        self.out = Path(out)
        self.storage = storage
        self.wait_s = float(wait_s)
        self.max_messages = int(max_messages or 0)
        self.duration_s = float(duration_s or 0.0)
        self.done = threading.Event()
        self.error = ''
        self._lock = threading.Lock()
        self._closed = False
        self._total = 0
        self._store = make_typestore()
        self._topics: dict[str, _Topic] = {}
        for topic in topics:
            name = self.resolve_topic_name(topic)
            self._topics.setdefault(name, _Topic(name))
        if not self._topics:
            super().destroy_node()
            raise BagError('no topics to record')
        self._started = time.monotonic()
        self._first_subscription: float | None = None
        self._first_stamp: int | None = None
        self._last_stamp: int | None = None
        self._missing_reported = False
        if self.out.exists():
            super().destroy_node()
            raise BagError(f'{self.out} exists already; choose a new bag directory')
        try:
            self._writer = BagWriterThread(self.out, STORAGES[storage], self._on_write_error)
        except BagError:
            super().destroy_node()
            raise
        self._timer = self.create_timer(DISCOVERY_PERIOD_S, self._discover)
        self.get_logger().info(
            f'recording {", ".join(self._topics)} into {self.out} ({storage})')
        self._discover()

    # ---------------------------------------------------------------- discovery

    def _discover(self) -> None:
        if self.done.is_set() or self._closed:
            return
        now = time.monotonic()
        for topic in self._topics.values():
            if topic.skipped:
                continue
            publishers = self.get_publishers_info_by_topic(topic.name)
            if not publishers:
                continue
            if topic.subscription is None:
                self._start(topic, publishers)
            else:
                self._follow(topic, publishers)
        waiting = [t.name for t in self._topics.values()
                   if t.subscription is None and not t.skipped]
        if not self._missing_reported and now - self._started >= self.wait_s:
            self._missing_reported = True
            if all(t.subscription is None for t in self._topics.values()):
                skipped = [f'{t.name} ({t.skipped})' for t in self._topics.values() if t.skipped]
                self.error = (f'none of the topics could be recorded within {self.wait_s:g} s: '
                              + '; '.join([f'{", ".join(waiting)} never appeared'] * bool(waiting)
                                          + skipped))
                self.done.set()
                return
            if waiting:
                self.get_logger().warning(
                    f'no publisher within {self.wait_s:g} s for {", ".join(waiting)}; '
                    'still watching')
        if (self.duration_s and self._first_subscription is not None
                and now - self._first_subscription >= self.duration_s):
            self.done.set()

    def _start(self, topic: _Topic, publishers: list) -> None:
        types = collections.Counter(p.topic_type for p in publishers)
        msgtype = types.most_common(1)[0][0]
        if len(types) > 1:
            self.get_logger().warning(
                f'{topic.name}: publishers of several types {dict(types)}; recording {msgtype}')
        try:
            msg_class = import_message_type(msgtype)
            digest = ensure_bag_type(self._store, msgtype)
        except MessageTypeError as exc:
            topic.skipped = str(exc)
            self.get_logger().warning(f'{topic.name}: not recorded: {exc}')
            return
        same = [p for p in publishers if p.topic_type == msgtype]
        offered = {str(p.topic_type_hash) for p in same} - {'', 'INVALID'}
        if offered and offered != {digest}:
            self.get_logger().warning(
                f'{topic.name}: publishers\' type hash {sorted(offered)} differs from the bag '
                f'definition {digest} of {msgtype}; readers of the bag may misinterpret it')
        qos = subscriber_qos([p.qos_profile for p in same], QUEUE_DEPTH)
        topic.msgtype = msgtype
        msgdef, _ = self._store.generate_msgdef(msgtype, ros_version=2)
        self._writer.add(topic.name, msgtype, msgdef, digest,
                         [to_bag_qos(p.qos_profile) for p in same])
        self._subscribe(topic, msg_class, qos)
        if self._first_subscription is None:
            self._first_subscription = time.monotonic()
        self.get_logger().info(
            f'{topic.name}: recording {msgtype} ({qos_name(qos)}, {len(same)} publisher(s))')

    def _follow(self, topic: _Topic, publishers: list) -> None:
        """Downgrade the subscription when a publisher it cannot hear joins."""
        same = [p for p in publishers if p.topic_type == topic.msgtype]
        for p in publishers:
            if p.topic_type != topic.msgtype and p.topic_type not in topic.warned_types:
                topic.warned_types.add(p.topic_type)
                self.get_logger().warning(
                    f'{topic.name}: ignoring a publisher of {p.topic_type} (recording '
                    f'{topic.msgtype})')
        if not same:
            return
        wanted = subscriber_qos([p.qos_profile for p in same], QUEUE_DEPTH)
        current = topic.qos
        weaker = ((current.reliability == ReliabilityPolicy.RELIABLE
                   and wanted.reliability == ReliabilityPolicy.BEST_EFFORT)
                  or (current.durability == DurabilityPolicy.TRANSIENT_LOCAL
                      and wanted.durability == DurabilityPolicy.VOLATILE))
        if not weaker:
            return
        both_reliable = (current.reliability == wanted.reliability
                         == ReliabilityPolicy.RELIABLE)
        both_latched = current.durability == wanted.durability == DurabilityPolicy.TRANSIENT_LOCAL
        qos = QoSProfile(
            depth=QUEUE_DEPTH,
            reliability=(ReliabilityPolicy.RELIABLE if both_reliable
                         else ReliabilityPolicy.BEST_EFFORT),
            durability=(DurabilityPolicy.TRANSIENT_LOCAL if both_latched
                        else DurabilityPolicy.VOLATILE))
        self.get_logger().warning(
            f'{topic.name}: a new publisher needs {qos_name(qos)} (was {qos_name(current)}); '
            're-subscribing, messages sent meanwhile are lost')
        msg_class = topic.subscription.msg_type
        self.destroy_subscription(topic.subscription)
        self._subscribe(topic, msg_class, qos)

    def _subscribe(self, topic: _Topic, msg_class: type, qos: QoSProfile) -> None:
        topic.qos = qos
        topic.subscription = self.create_subscription(
            msg_class, topic.name, self._writer_for(topic), qos, raw=True)

    # ---------------------------------------------------------------- writing

    def _writer_for(self, topic: _Topic):
        def write(data: bytes) -> None:
            stamp = self.get_clock().now().nanoseconds
            with self._lock:
                if self._closed or (self.max_messages and self._total >= self.max_messages):
                    return
                self._writer.write(topic.name, stamp, data)
                topic.count += 1
                self._total += 1
                if self._first_stamp is None:
                    self._first_stamp = stamp
                self._last_stamp = stamp
                if self.max_messages and self._total >= self.max_messages:
                    self.done.set()
        return write

    def _on_write_error(self, error: str) -> None:
        self.error = error
        self.done.set()

    # ---------------------------------------------------------------- results

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {t.name: t.count for t in self._topics.values()}

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    def subscribed(self) -> list[str]:
        return [t.name for t in self._topics.values() if t.subscription is not None]

    def close(self) -> dict:
        """Close the bag (idempotent); removes it if it failed before recording anything."""
        with self._lock:
            closing, self._closed = not self._closed, True
        if closing:
            self.destroy_timer(self._timer)
            self._writer.finish()
            self.error = self.error or self._writer.error
            if self.error and self._total == 0:
                shutil.rmtree(self.out, ignore_errors=True)
        span = 0.0 if self._first_stamp is None else (self._last_stamp - self._first_stamp) / 1e9
        return {
            'bag': str(self.out), 'storage': self.storage, 'messages': self._total,
            'seconds': span, 'error': self.error,
            'topics': {t.name: {'type': t.msgtype, 'count': t.count, 'skipped': t.skipped,
                                'qos': qos_name(t.qos) if t.qos else ''}
                       for t in self._topics.values()},
        }


def format_summary(summary: dict) -> str:
    lines = [f'bag {summary["bag"]} ({summary["storage"]}): {summary["messages"]} messages '
             f'over {summary["seconds"]:.2f} s']
    width = max(len(name) for name in summary['topics'])
    for name, info in summary['topics'].items():
        if info['skipped']:
            state = f'skipped: {info["skipped"]}'
        elif not info['type']:
            state = 'never appeared'
        else:
            state = f'{info["count"]:>7}  {info["type"]} ({info["qos"]})'
        lines.append(f'  {name:<{width}}  {state}')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-record', description=__doc__.split('\n')[0])
    parser.add_argument('topics', nargs='*', metavar='TOPIC',
                        help=f'topics to record (default: {" ".join(DEFAULT_TOPICS)})')
    parser.add_argument('--out', type=Path, required=True,
                        help='bag directory to create (must not exist)')
    parser.add_argument('--storage', choices=sorted(STORAGES), default='sqlite3')
    parser.add_argument('--duration', type=float, default=0.0, metavar='S',
                        help='stop S seconds after the first subscription (0: no limit)')
    parser.add_argument('--max-messages', type=int, default=0, metavar='N',
                        help='stop after N messages over all topics (0: no limit)')
    parser.add_argument('--wait', type=float, default=10.0, metavar='S',
                        help='error out if no topic has a publisher within S s (default 10)')
    parser.add_argument('--all-topspark', action='store_true',
                        help='also record the topspark/* outputs: ' + ', '.join(TOPSPARK_OUTPUTS))
    return parser


def _topics(args: argparse.Namespace) -> list[str]:
    topics = list(args.topics)
    if not topics and not args.all_topspark:
        topics = list(DEFAULT_TOPICS)
    if args.all_topspark:
        topics += [t for t in TOPSPARK_OUTPUTS if t not in topics]
    return topics


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, ros_args = split_ros_args(argv)
    args = build_parser().parse_args(own)
    for name in ('duration', 'max_messages', 'wait'):
        if getattr(args, name) < 0:
            print(f'error: --{name.replace("_", "-")} must be >= 0', file=sys.stderr)
            return 2
    if args.out.exists():
        print(f'error: {args.out} exists already; choose a new bag directory', file=sys.stderr)
        return 2
    with stop_on_signals() as stop, rclpy.init(args=['topspark-record'] + ros_args,
                                               signal_handler_options=SignalHandlerOptions.NO):
        try:
            node = BagRecorder(args.out, _topics(args), args.storage, args.wait,
                               args.max_messages, args.duration)
        except BagError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 2
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            while not node.done.is_set() and not stop.is_set():
                executor.spin_once(timeout_sec=DISCOVERY_PERIOD_S)
        finally:
            summary = node.close()
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
    print(format_summary(summary), flush=True)
    if summary['error']:
        print(f'error: {summary["error"]}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
