# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-replay: publish a rosbag2's messages as recorded, without deserializing them.

    topspark-replay BAG [--topics T ...] [--remap OLD:=NEW ...] [--rate R] [--loop]
                    [--as-fast-as-possible [--ack-topic T] [--ack-timeout S]]
                    [--qos reliable|best_effort] [--wait-subscribers S] [--ros-args ...]

BAG is a rosbag2 directory (sqlite3 or mcap, e.g. from topspark-record or ros2 bag record) or
a single .db3/.mcap file. Each message's CDR bytes are published as they are; rclpy only
needs the topic's generated message class, imported by name (rosidl_runtime_py when present,
else ``pkg.msg``): a topic whose type cannot be imported is skipped with a warning.

Timing: by default messages keep their recorded spacing divided by ``--rate``. With
``--as-fast-as-possible`` the frames perception works on (Image, CompressedImage and
PointCloud2 event packets) are paced by perception itself: after each one the player waits
until a message arrives on ``--ack-topic`` (default topspark/prediction, type ``--ack-type``)
or ``--ack-timeout`` passes, so the network is never flooded and no frame is dropped for a
newer one; other topics, and frames while nobody publishes the ack topic, go back-to-back.

QoS: reliable unless ``--qos best_effort`` (a reliable publisher reaches reliable and
best-effort subscribers alike, and only reliable-to-reliable carries large frames between
processes with Fast DDS); transient local for topics whose recorded publishers all offered
it. Before the first message the player waits up to ``--wait-subscribers`` seconds for
perception: a subscriber on every frame topic (any topic if the bag has no frames) and, in ack
mode, a publisher of the ack topic. Exit 0 when done or on SIGINT/SIGTERM (printing what was
sent, marked interrupted), 2 with a one-line error for a missing or unreadable bag or nothing
to replay.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
import sys
import threading
import time
from typing import Iterator

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rosbags.interfaces import QosDurability
from rosbags.rosbag2 import Reader

from ..ros.bags import (BagError, FRAME_TYPES, import_message_type, MessageTypeError,
                        split_ros_args)
from ..ros.node_utils import stop_on_signals

RCLError = _rclpy.RCLError      # what a publish on a shut-down context raises
PUBLISH_DEPTH = 10
ACK_DEPTH = 50
SLICE_S = 0.05          # longest uninterrupted sleep: stop requests and shutdown are seen soon


@dataclass
class BagTopic:
    """One connection of the bag and how it is replayed."""

    topic: str                  # as recorded
    out_topic: str              # after --remap
    msgtype: str
    msg_class: type | None
    latched: bool               # every recorded publisher offered transient local
    count: int                  # messages in the bag
    skipped: str = ''


@dataclass
class PlayStats:
    published: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    ack_timeouts: int = 0
    unacknowledged: int = 0     # frames sent back-to-back while no one published the ack topic
    passes: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    error: str = ''             # the bag failed to read part-way (what was sent is counted)
    unmatched: list[str] = field(default_factory=list)


def _one_line(exc: Exception) -> str:
    return f'{type(exc).__name__}: ' + ' '.join(str(exc).split())


def parse_remaps(items: list[str]) -> dict[str, str]:
    remaps = {}
    for item in items:
        old, sep, new = item.partition(':=')
        if not sep or not old or not new:
            raise BagError(f'--remap {item!r} is not OLD:=NEW')
        remaps[old] = new
    return remaps


class BagSource:
    """An opened bag: its connections with rclpy types, and a message stream over the kept ones.

    Opening checks what can be checked without reading every message; a storage that fails
    later (a truncated file) raises BagError from ``messages()``.
    """

    def __init__(self, path: str | Path, topics: list[str] | None = None,
                 remaps: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f'{self.path}: no such bag directory or file')
        try:
            self._reader = Reader(self.path)
            self._reader.open()
            connections = list(self._reader.connections)
        except FileNotFoundError as exc:
            raise BagError(f'{self.path}: not a rosbag2 ({_one_line(exc)})') from None
        except Exception as exc:    # noqa: BLE001 - rosbags, sqlite3, mcap, yaml errors alike
            raise BagError(f'{self.path}: cannot open bag: {_one_line(exc)}') from None
        remaps = remaps or {}
        wanted = set(topics or ())
        recorded = {c.topic for c in connections}
        unknown = wanted - recorded
        if unknown:
            raise BagError(f'{self.path}: no topic {", ".join(sorted(unknown))} in the bag; it '
                           f'has {", ".join(sorted(recorded)) or "none"}')
        self.topics: dict[int, BagTopic] = {}
        self.warnings: list[str] = []
        for conn in connections:
            if wanted and conn.topic not in wanted:
                continue
            offered = getattr(conn.ext, 'offered_qos_profiles', None) or []
            latched = bool(offered) and all(
                q.durability == QosDurability.TRANSIENT_LOCAL for q in offered)
            entry = BagTopic(conn.topic, remaps.get(conn.topic, conn.topic), conn.msgtype,
                             None, latched, conn.msgcount)
            if getattr(conn.ext, 'serialization_format', 'cdr') != 'cdr':
                entry.skipped = f'serialization {conn.ext.serialization_format!r} is not cdr'
            else:
                try:
                    entry.msg_class = import_message_type(conn.msgtype)
                except MessageTypeError as exc:
                    entry.skipped = str(exc)
            if entry.skipped:
                self.warnings.append(f'skipping {conn.topic} ({conn.msgtype}): {entry.skipped}')
            self.topics[conn.id] = entry
        self._kept = [c for c in connections if c.id in self.topics
                      and not self.topics[c.id].skipped]
        if not self._kept:
            self.close()
            raise BagError(f'{self.path}: nothing to replay'
                           + (f' ({"; ".join(self.warnings)})' if self.warnings else ''))

    def messages(self) -> Iterator[tuple[BagTopic, int, bytes]]:
        """(topic, recorded time in ns, CDR bytes) in bag order, kept topics only.

        Raises BagError when the storage fails, or ends before the message count its metadata
        promises (the mcap reader stops silently at some damage).
        """
        stream = self._reader.messages(connections=self._kept)
        expected = sum(c.msgcount for c in self._kept)
        read = 0
        while True:
            try:
                conn, stamp, data = next(stream)
            except StopIteration:
                break
            except Exception as exc:    # noqa: BLE001 - corrupt storage surfaces here
                raise BagError(f'{self.path}: cannot read bag after {read} messages: '
                               f'{_one_line(exc)}') from None
            read += 1
            yield self.topics[conn.id], stamp, bytes(data)
        if read < expected:
            raise BagError(f'{self.path}: the bag ended after {read} of the {expected} messages '
                           'its metadata lists; the storage file is damaged or truncated')

    def close(self) -> None:
        if self._reader.is_open:
            self._reader.close()


class BagPlayer(Node):
    """Publishes a BagSource's messages raw; ``play()`` blocks (run an executor meanwhile)."""

    def __init__(self, source: BagSource, rate: float = 1.0, fast: bool = False,
                 loop: bool = False, reliability: str | None = None,
                 ack_topic: str = 'topspark/prediction', ack_type: str = 'std_msgs/msg/Int32',
                 ack_timeout: float = 2.0, node_name: str = 'topspark_replay',
                 stop: threading.Event | None = None, **kwargs) -> None:
        if not rate > 0:
            raise BagError(f'--rate must be > 0, got {rate}')
        if reliability not in (None, 'reliable', 'best_effort'):
            raise BagError(f'--qos {reliability!r} is not reliable or best_effort')
        ack_class = import_message_type(ack_type) if fast else None
        super().__init__(node_name, **kwargs)
        self.source = source
        self.rate = float(rate)
        self.fast = fast
        self.loop = loop
        self.ack_timeout = float(ack_timeout)
        self._stop = stop if stop is not None else threading.Event()   # set: play() returns
        self._acks = 0
        self._warned_no_ack = False
        self._ack_cond = threading.Condition()
        policy = (ReliabilityPolicy.BEST_EFFORT if reliability == 'best_effort'
                  else ReliabilityPolicy.RELIABLE)
        self._outputs: dict[tuple[str, str], Publisher] = {}
        for entry in source.topics.values():
            key = (entry.out_topic, entry.msgtype)
            if entry.skipped or key in self._outputs:
                continue
            qos = QoSProfile(
                history=HistoryPolicy.KEEP_LAST, depth=PUBLISH_DEPTH, reliability=policy,
                durability=(DurabilityPolicy.TRANSIENT_LOCAL if entry.latched
                            else DurabilityPolicy.VOLATILE))
            self._outputs[key] = self.create_publisher(entry.msg_class, entry.out_topic, qos)
        self.ack_topic = self.resolve_topic_name(ack_topic) if fast else ''
        if fast:
            self.create_subscription(
                ack_class, self.ack_topic, self._on_ack,
                QoSProfile(depth=ACK_DEPTH, reliability=ReliabilityPolicy.RELIABLE), raw=True)
        for warning in source.warnings:
            self.get_logger().warning(warning)

    def _on_ack(self, _data: bytes) -> None:
        with self._ack_cond:
            self._acks += 1
            self._ack_cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._ack_cond:
            self._ack_cond.notify_all()

    def _stopping(self) -> bool:
        return self._stop.is_set() or not self.context.ok()

    def _sleep_until(self, deadline: float) -> bool:
        """Sleep until the monotonic ``deadline``; False if stopped meanwhile."""
        while not self._stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self._stop.wait(min(left, SLICE_S))
        return False

    def subscriber_counts(self) -> dict[str, int]:
        """Matched subscriptions per output topic."""
        return {topic: pub.get_subscription_count() for (topic, _), pub in self._outputs.items()}

    def wait_for_subscribers(self, timeout: float) -> list[str]:
        """Wait until perception is there; returns what is still unmatched after ``timeout``.

        Perception is there when every frame topic (Image, CompressedImage, PointCloud2) has a
        subscriber and, in ack mode, someone publishes the ack topic; a bag without frame
        topics waits for a subscriber on any topic. Topics nobody listens to (recorded
        outputs, say) do not hold up the start.
        """
        deadline = time.monotonic() + timeout
        frames = [topic for (topic, msgtype) in self._outputs if msgtype in FRAME_TYPES]

        def unmatched() -> list[str]:
            counts = self.subscriber_counts()
            if frames:
                missing = [topic for topic in frames if counts[topic] == 0]
            else:
                missing = [] if any(counts.values()) else ['any topic']
            if self.fast and self.count_publishers(self.ack_topic) == 0:
                missing.append(f'{self.ack_topic} (ack publisher)')
            return missing

        missing = unmatched()
        while missing and time.monotonic() < deadline and not self._stopping():
            self._stop.wait(SLICE_S)
            missing = unmatched()
        if missing:
            self.get_logger().warning(
                f'no subscriber after {timeout:g} s, starting anyway: {", ".join(missing)}')
        return missing

    def _wait_ack(self, baseline: int) -> bool:
        deadline = time.monotonic() + self.ack_timeout
        with self._ack_cond:
            while self._acks <= baseline and not self._stopping():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ack_cond.wait(min(left, SLICE_S))
            return self._acks > baseline

    def _send(self, entry: BagTopic, data: bytes, stats: PlayStats) -> None:
        """Publish one message; in fast mode, wait for perception's answer to a frame."""
        publisher = self._outputs[(entry.out_topic, entry.msgtype)]
        if not self.fast or entry.msgtype not in FRAME_TYPES:
            publisher.publish(data)
        elif self.count_publishers(self.ack_topic) == 0:
            if not self._warned_no_ack:
                self._warned_no_ack = True
                self.get_logger().warning(
                    f'nobody publishes {self.ack_topic}: frames go back-to-back until it '
                    'appears')
            publisher.publish(data)
            stats.unacknowledged += 1
        else:
            with self._ack_cond:
                baseline = self._acks
            publisher.publish(data)
            if self._wait_ack(baseline):
                stats.acknowledged += 1
            elif not self._stopping():
                stats.ack_timeouts += 1
                self.get_logger().warning(
                    f'no {self.ack_topic} within {self.ack_timeout:g} s of a '
                    f'{entry.out_topic} message; going on', throttle_duration_sec=5.0)
        stats.published[entry.out_topic] += 1

    def play(self, wait_subscribers: float = 0.0) -> PlayStats:
        """Replay the bag (once, or until stopped with ``loop``); returns what was sent."""
        stats = PlayStats(published={key[0]: 0 for key in self._outputs})
        if wait_subscribers > 0:
            stats.unmatched = self.wait_for_subscribers(wait_subscribers)
        started = time.monotonic()
        try:
            self._play(stats)
        except BagError as exc:
            stats.error = str(exc)
        except RCLError:
            if self.context.ok():
                raise
            stats.interrupted = True        # the context was shut down meanwhile
        stats.seconds = time.monotonic() - started
        return stats

    def _play(self, stats: PlayStats) -> None:
        while True:
            t0 = wall0 = None
            sent = 0
            for entry, stamp, data in self.source.messages():
                if self._stopping():
                    stats.interrupted = True
                    return
                if not self.fast:
                    if t0 is None:
                        t0, wall0 = stamp, time.monotonic()
                    if not self._sleep_until(wall0 + (stamp - t0) / 1e9 / self.rate):
                        stats.interrupted = True
                        return
                self._send(entry, data, stats)
                sent += 1
            stats.passes += 1
            if not self.loop or sent == 0:
                return
            if self._stopping():
                stats.interrupted = True
                return


def format_stats(source: BagSource, stats: PlayStats) -> str:
    lines = [f'replayed {source.path}: {sum(stats.published.values())} messages in '
             f'{stats.seconds:.2f} s, {stats.passes} full pass(es)'
             + (' (interrupted)' if stats.interrupted else '')]
    for entry in source.topics.values():
        if entry.skipped:
            lines.append(f'  {entry.topic}  skipped: {entry.skipped}')
        else:
            name = entry.topic if entry.topic == entry.out_topic else (
                f'{entry.topic} -> {entry.out_topic}')
            lines.append(f'  {name}  {stats.published.get(entry.out_topic, 0)}  '
                         f'{entry.msgtype}')
    if stats.acknowledged or stats.ack_timeouts or stats.unacknowledged:
        lines.append(f'  acknowledged {stats.acknowledged}, timed out {stats.ack_timeouts}, '
                     f'sent without an acknowledger {stats.unacknowledged}')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-replay', description=__doc__.split('\n')[0])
    parser.add_argument('bag', type=Path, help='rosbag2 directory (or .db3/.mcap file)')
    parser.add_argument('--topics', nargs='+', default=[], metavar='TOPIC',
                        help='replay only these recorded topics')
    parser.add_argument('--remap', nargs='+', action='extend', default=[], metavar='OLD:=NEW',
                        help='publish recorded topic OLD on NEW')
    parser.add_argument('--rate', type=float, default=1.0,
                        help='speed factor for the recorded timing (default 1)')
    parser.add_argument('--as-fast-as-possible', dest='fast', action='store_true',
                        help='ignore recorded timing; pace frames by perception acknowledgements')
    parser.add_argument('--ack-topic', default='topspark/prediction',
                        help='topic acknowledging each frame (default topspark/prediction)')
    parser.add_argument('--ack-type', default='std_msgs/msg/Int32',
                        help='message type of --ack-topic (default std_msgs/msg/Int32)')
    parser.add_argument('--ack-timeout', type=float, default=2.0, metavar='S',
                        help='longest wait for an acknowledgement (default 2 s)')
    parser.add_argument('--loop', action='store_true', help='replay until interrupted')
    parser.add_argument('--qos', choices=('reliable', 'best_effort'),
                        help='publisher reliability (default reliable)')
    parser.add_argument('--wait-subscribers', type=float, default=5.0, metavar='S',
                        help='wait up to S s for perception (subscribers of the frame topics, '
                             'the ack publisher) before starting (default 5)')
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, ros_args = split_ros_args(argv)
    args = build_parser().parse_args(own)
    try:
        if not args.rate > 0:
            raise BagError(f'--rate must be > 0, got {args.rate}')
        if args.ack_timeout < 0 or args.wait_subscribers < 0:
            raise BagError('--ack-timeout and --wait-subscribers must be >= 0')
        source = BagSource(args.bag, args.topics, parse_remaps(args.remap))
    except BagError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    try:
        with stop_on_signals() as stop, rclpy.init(
                args=['topspark-replay'] + ros_args,
                signal_handler_options=SignalHandlerOptions.NO):
            try:
                node = BagPlayer(source, args.rate, args.fast, args.loop, args.qos,
                                 args.ack_topic, args.ack_type, args.ack_timeout, stop=stop)
            except BagError as exc:
                print(f'error: {exc}', file=sys.stderr)
                return 2
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            spinner = threading.Thread(target=_spin, args=(executor,), daemon=True)
            spinner.start()
            try:
                stats = node.play(args.wait_subscribers)
            finally:
                node.stop()
                executor.shutdown(timeout_sec=1.0)
                spinner.join(timeout=2.0)
                node.destroy_node()
    finally:
        source.close()
    print(format_stats(source, stats), flush=True)
    if stats.error:
        print(f'error: {stats.error}', file=sys.stderr)
        return 2
    return 0


def _spin(executor: SingleThreadedExecutor) -> None:
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == '__main__':
    sys.exit(main())
