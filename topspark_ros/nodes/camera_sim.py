# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Camera simulator: real digits as a camera (and optionally an event camera) would send them.

Publishes (relative names) ``image`` (sensor_msgs/Image) at ``rate_hz``, the true class of
every frame on ``topspark/label_truth`` (std_msgs/Int32) right after it, optionally the same
label on ``topspark/label`` (``publish_teacher_labels``: the perception node's teacher input for
online labelling), optionally ``events`` (sensor_msgs/PointCloud2, ``events`` true) and
``/diagnostics`` (1 Hz). Closes the loop a new user sees first: camera_sim -> perception ->
metrics -> governor, with battery_sim feeding the governor.

Source (``source``, read-only): a dataset name (``mnist_5k``, ``digits``) of which ``split``
is used (test by default: digits the network was not trained on), an ``.npz`` file or a folder
of images (``sim.sources``). Frames and events are rendered by ``sim.camera.CameraScene``:
stretched to ``width`` x ``height`` in ``encoding``, shifted by up to ``motion_px``, with
Gaussian noise of ``noise_std`` grey levels; rendered clean frames are kept in a cache of up to
``cache_mb``.

Stamps and order: each frame's header stamp is the node clock at publishing (ROS time, so
``use_sim_time`` works) with ``frame_id``. For every frame, in this order: the image, its
label on ``topspark/label_truth`` (-1 if unknown, so the two topics stay in step: the n-th label
belongs to the n-th frame), then its event packet. Int32 has no header; match by order (labels
are always reliable, depth 50). The teacher label (known labels only) goes out one frame period
later, at the next tick before the next frame: perception applies a label to the last sample
it has processed, and a label sent right after its frame reached perception while that frame
was still being processed, so it labelled the previous sample (measured at 10 Hz with the
400-neuron model: 4 of 81 labels on their own frame; with the delay all 74 applied labels).

Events (``events``, read-only, off by default): an emulated DVS recording of the digit with
the header of its frame and ``t`` in [0, ``event_duration_s``) seconds relative to that stamp,
on a sensor of the frame's size (see ``sim.camera``). ``event_duration_s`` must not exceed the
frame period: set perception's ``event_window_s`` to it so each window holds one digit (with
``event_duration_s`` below the period there is a gap between digits, at which perception's
window restarts).

``loop`` restarts at the end (reshuffled each pass when ``shuffle``); without it the node
stops publishing after the last image and says so in diagnostics. ``shuffle`` and the random
motion, noise and event placement all come from ``seed``, so a run is reproducible.
``reliability`` (read-only) is the publishers' QoS reliability: 'reliable' (default: Fast DDS
loses large frames from best-effort publishers between processes, docs/ros.md) or
'best_effort'.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
import math
import sys
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.timer import Timer
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import Header, Int32

from ..ros import diagnostics, qos
from ..ros.conversions import events_to_pointcloud2, numpy_to_image
from ..ros.node_utils import (callback_exceptions, declare_checked, descriptor, EventCounters,
                              spin_node, values_after)
from ..sim.camera import CameraScene, ENCODINGS, Frame, RenderSettings
from ..sim.sources import check_source, DATASETS, load_source, SourceError, SPLITS

RELIABILITIES = {'reliable': ReliabilityPolicy.RELIABLE,
                 'best_effort': ReliabilityPolicy.BEST_EFFORT}
RATE_WINDOW = 50            # frames the measured rate averages over
FRAME_DEPTH = 5
LABEL_DEPTH = 50
RENDER_PARAMETERS = ('width', 'height', 'encoding', 'event_duration_s')  # settable at run time


@dataclass(frozen=True)
class Published:
    """One published frame, for tests and diagnostics."""

    seq: int                # 1, 2, ... frames published by this node
    stamp_ns: int           # header stamp (node clock)
    index: int              # index into the source
    label: int              # -1: unknown
    n_events: int           # -1: no event packet


class CameraSimNode(Node):
    """Publishes source images as camera frames with their labels (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('camera_sim', **kwargs)
        declare_checked(self, [
            ('source', 'mnist_5k', descriptor(
                f'Images to publish: a dataset ({", ".join(DATASETS)}), an .npz file (images '
                '[+ labels], or train_/test_ images and labels) or a folder of png/jpg files '
                '(label: the leading digit of the file name).', read_only=True)),
            ('split', 'test', descriptor(
                "Part of a dataset (or train/test .npz) to publish: 'test', 'train' or 'all'.",
                read_only=True)),
            ('rate_hz', 10.0, descriptor('Frames per second.', floats=(0.01, 1000.0))),
            ('width', 28, descriptor('Frame width in pixels (images are stretched to it).',
                                     integers=(1, 8192))),
            ('height', 28, descriptor('Frame height in pixels.', integers=(1, 8192))),
            ('encoding', 'mono8', descriptor(
                f'Frame encoding: {", ".join(ENCODINGS)}.')),
            ('frame_id', 'camera_optical_frame', descriptor('header.frame_id of every frame.')),
            ('noise_std', 0.0, descriptor(
                'Standard deviation of the Gaussian pixel noise, in grey levels (0: none).',
                floats=(0.0, 255.0))),
            ('motion_px', 0, descriptor(
                'Largest random translation of a frame, in whole pixels along x and y (0: '
                'none).', integers=(0, 8192))),
            ('loop', True, descriptor('Start again after the last image (else stop).')),
            ('shuffle', False, descriptor(
                'Random order (a new one every pass), from seed.', read_only=True)),
            ('seed', 0, descriptor('Seed of the order, motion, noise and event placement.',
                                   read_only=True, integers=(0, 2 ** 31 - 1))),
            ('publish_teacher_labels', False, descriptor(
                'Also publish every known label on topspark/label (teacher for online '
                'labelling in perception).')),
            ('events', False, descriptor(
                'Also publish an emulated event-camera packet per frame on events '
                '(PointCloud2).', read_only=True)),
            ('event_duration_s', 0.05, descriptor(
                'Seconds of saccades per event packet (t in [0, this)); at most one frame '
                "period. Use it as perception's event_window_s.", floats=(0.001, 60.0))),
            ('reliability', 'reliable', descriptor(
                "QoS reliability of the publishers: 'reliable' or 'best_effort'.",
                read_only=True)),
            ('cache_mb', 256.0, descriptor(
                'Megabytes of rendered frames kept for reuse (0: render every frame).',
                floats=(0.0, 65536.0))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0))),
        ], self._check_parameters, self._apply)

        p = {name: param.value for name, param in self.get_parameters_by_prefix('').items()}
        self._lock = threading.Lock()       # the scene, sequence and counters
        self._stats = EventCounters(self.get_logger(), self._lock)
        self._timer: Timer | None = None
        self.scene = CameraScene(
            load_source(p['source'], p['split']),
            RenderSettings(p['width'], p['height'], p['encoding'], p['events'],
                           p['event_duration_s']),
            seed=p['seed'], shuffle=p['shuffle'], loop=p['loop'], motion_px=p['motion_px'],
            noise_std=p['noise_std'], cache_bytes=int(p['cache_mb'] * 2 ** 20))
        self._pending_teacher: int | None = None
        self._seq = 0
        self._render_s = 0.0
        self._times: collections.deque[float] = collections.deque(maxlen=RATE_WINDOW)
        self.published: collections.deque[Published] = collections.deque(maxlen=1000)
        self._apply(self.get_parameters_by_prefix(''))

        frames_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=FRAME_DEPTH,
                                reliability=RELIABILITIES[p['reliability']],
                                durability=DurabilityPolicy.VOLATILE)
        labels_qos = QoSProfile(depth=LABEL_DEPTH, reliability=ReliabilityPolicy.RELIABLE)
        self._image_pub = self.create_publisher(Image, 'image', frames_qos)
        self._truth_pub = self.create_publisher(Int32, 'topspark/label_truth', labels_qos)
        self._teacher_pub = self.create_publisher(Int32, 'topspark/label', qos.RESULTS)
        self._events_pub = (self.create_publisher(PointCloud2, 'events', frames_qos)
                            if p['events'] else None)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      qos.RESULTS)
        self.create_timer(1.0, self._on_diagnostics_timer)
        source = self.scene.source
        known = int(np.count_nonzero(source.labels >= 0))
        self.get_logger().info(
            f'ready: {len(source)} images from {source.name} ({known} labelled), '
            f'{p["width"]}x{p["height"]} {p["encoding"]} at {self._rate_hz:g} Hz on '
            f'{self._image_pub.topic_name}' + (', events on' if p['events'] else ''))

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Validation only (types, ranges and read-only are the descriptors' job)."""
        new = {p.name: p.value for p in parameters}
        reason = None
        if 'source' in new:
            reason = check_source(new['source'])
        if not reason and 'split' in new and new['split'] not in SPLITS:
            reason = f'split {new["split"]!r} is not one of {", ".join(SPLITS)}'
        if not reason and 'encoding' in new and new['encoding'] not in ENCODINGS:
            reason = f'encoding {new["encoding"]!r} is not one of {", ".join(ENCODINGS)}'
        if not reason and 'reliability' in new and new['reliability'] not in RELIABILITIES:
            reason = (f'reliability {new["reliability"]!r} is not one of '
                      f'{", ".join(RELIABILITIES)}')
        events, duration, rate = values_after(self, new, 'events', 'event_duration_s', 'rate_hz')
        if (not reason and events and duration is not None and rate is not None
                and duration > 1.0 / rate + 1e-9):
            reason = (f'event_duration_s ({duration:g}) must not exceed the frame period '
                      f'1/rate_hz ({1.0 / rate:g} s): event packets would overlap')
        return reason

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        value = {name: p.value for name, p in parameters.items()}
        scene = self.scene
        with self._lock:
            render = {name: value[name] for name in RENDER_PARAMETERS if name in value}
            if render:
                scene.configure(**render)
            if 'noise_std' in value:
                scene.noise_std = float(value['noise_std'])
            if 'motion_px' in value:
                scene.motion_px = value['motion_px']
            if 'loop' in value:
                scene.set_loop(value['loop'])
            if 'cache_mb' in value:
                scene.cache.resize(int(value['cache_mb'] * 2 ** 20))
            for name in ('frame_id', 'publish_teacher_labels'):
                if name in value:
                    setattr(self, f'_{name}', value[name])
            if 'log_throttle_s' in value:
                self._stats.throttle_s = float(value['log_throttle_s'])
        if 'rate_hz' in value:
            self._rate_hz = float(value['rate_hz'])
            if self._timer is not None:
                self.destroy_timer(self._timer)
            self._times.clear()
            self._timer = self.create_timer(1.0 / self._rate_hz, self._on_timer)

    # ---------------------------------------------------------------- publishing

    def _next_frame(self) -> Frame | SourceError | None:
        """The scene's next frame, the error of an unreadable image, None once finished.

        Called with the lock held, so it does not count the error (``EventCounters`` locks).
        """
        was_finished = self.scene.finished
        try:
            frame = self.scene.next_frame()
        except SourceError as exc:
            return exc
        if frame is None and not was_finished:
            self.get_logger().info(
                f'all {len(self.scene)} images published; loop is false: stopping')
        return frame

    def _on_timer(self) -> None:
        started = time.perf_counter()
        with self._lock:
            pending, self._pending_teacher = self._pending_teacher, None
            teacher = self._publish_teacher_labels
        if pending is not None and teacher:
            self._teacher_pub.publish(Int32(data=pending))          # the previous frame's label
        with self._lock:
            encoding, frame_id = self.scene.settings.encoding, self._frame_id
            frame = self._next_frame()
        if isinstance(frame, SourceError):
            self._stats.warn('unreadable_images', f'{frame}; skipped')
            return
        if frame is None:
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=frame_id)
        image_msg = numpy_to_image(frame.image, encoding, header)
        cloud = None
        if frame.events is not None:
            events = frame.events
            cloud = events_to_pointcloud2(events.x, events.y, events.t, events.polarity,
                                          header=header)
        self._image_pub.publish(image_msg)
        self._truth_pub.publish(Int32(data=frame.label))
        if cloud is not None:
            self._events_pub.publish(cloud)
        with self._lock:
            if teacher and frame.label >= 0:
                self._pending_teacher = frame.label
            self._seq += 1
            self._times.append(time.monotonic())
            self._render_s += time.perf_counter() - started
            self.published.append(Published(
                self._seq, header.stamp.sec * 10 ** 9 + header.stamp.nanosec, frame.index,
                frame.label, -1 if cloud is None else int(cloud.width)))

    # ---------------------------------------------------------------- diagnostics

    def measured_rate_hz(self) -> float:
        """Frames per second over the last RATE_WINDOW frames (NaN before two frames)."""
        with self._lock:
            times = list(self._times)
        if len(times) < 2 or times[-1] <= times[0]:
            return math.nan
        return (len(times) - 1) / (times[-1] - times[0])

    def counters(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._stats.counts)
            counts['frames'] = self._seq
        return counts

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(self.get_clock().now().to_msg(),
                                                        [self._status()]))

    def _status(self) -> DiagnosticStatus:
        rate = self.measured_rate_hz()
        report = self._stats.report({'callback_exceptions': callback_exceptions(self)})
        counts = report.totals
        with self._lock:
            scene, settings, cache = self.scene, self.scene.settings, self.scene.cache
            frames, finished = self._seq, scene.finished
            last = self.published[-1] if self.published else None
            window_full = len(self._times) >= min(RATE_WINDOW, max(3, 2 * self._rate_hz))
            values: dict[str, Any] = {
                'source': scene.source.name, 'images': len(scene),
                'labelled_images': int(np.count_nonzero(scene.source.labels >= 0)),
                'frames': frames, 'epoch': scene.epoch, 'position': scene.position,
                'last_index': '' if last is None else last.index,
                'last_label': '' if last is None else last.label,
                'rate_hz': self._rate_hz, 'measured_rate_hz': rate,
                'mean_render_ms': 1e3 * self._render_s / frames if frames else math.nan,
                'size': f'{settings.width}x{settings.height}', 'encoding': settings.encoding,
                'noise_std': scene.noise_std, 'motion_px': scene.motion_px,
                'loop': scene.loop, 'shuffle': scene.shuffle,
                'teacher_labels': self._publish_teacher_labels, 'events': settings.events,
                'last_events': '' if last is None or last.n_events < 0 else last.n_events,
                'cache_frames': len(cache), 'cache_mb': cache.bytes / 2 ** 20,
                'cache_hits': cache.hits, 'cache_misses': cache.misses,
                'unreadable_images': counts.get('unreadable_images', 0),
                'callback_exceptions': counts['callback_exceptions'],
            }
        new_unreadable = report.new.get('unreadable_images', 0)
        if report.new['callback_exceptions']:
            level, message = diagnostics.ERROR, 'a callback raised (logged with its trace)'
        elif new_unreadable:
            level = diagnostics.WARN
            message = f'{new_unreadable} image(s) could not be read and were skipped'
        elif finished:
            level, message = diagnostics.OK, f'finished: {frames} frames published (loop false)'
        elif window_full and not math.isnan(rate) and rate < 0.9 * self._rate_hz:
            level = diagnostics.WARN
            message = (f'publishing {rate:.1f} Hz, below rate_hz {self._rate_hz:g}: rendering '
                       'or the executor is too slow')
        else:
            level, message = diagnostics.OK, f'{frames} frames published'
        return diagnostics.status(self.get_name(), 'camera', level, message, values)


def _start() -> CameraSimNode | None:
    """The node, or None (logged) when its source cannot be loaded."""
    try:
        return CameraSimNode()
    except SourceError as exc:
        get_logger('camera_sim').error(f'cannot load the source: {exc}')
        return None


def main(args: list[str] | None = None) -> int:
    """Spin the node; return 0 on SIGINT/SIGTERM, 1 if the source cannot be loaded."""
    return spin_node(_start, args)


if __name__ == '__main__':
    sys.exit(main())
