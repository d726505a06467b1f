"""Perception node: camera frames or event packets in, SNN prediction and activity out.

Subscribes (relative names) ``image``, ``image/compressed``, ``events``, ``topspark/timesteps``
and ``topspark/label``; publishes ``topspark/prediction``, ``topspark/scores``,
``topspark/activity``, ``topspark/latency`` and ``/diagnostics`` (1 Hz). Services:
``~/save_model``, ``~/reset_model``, ``~/set_learning``. See docs/ros.md for the topic contract.
The activity message's header carries the input's stamp (the frame's, or the event packet's
that completed the window), so consumers can match a result to its input; unstamped (zero)
inputs get the node's clock instead.

Threading: subscription callbacks only store the newest frame (a replaced, unprocessed frame is
counted as dropped) or queue the event packet, then notify a dedicated worker thread through a
``threading.Condition``. The worker converts, runs the network and publishes. Chosen over a
timer in its own MutuallyExclusiveCallbackGroup because:

- latency: from the subscription callback to the worker picking up a frame takes about
  0.26 ms (median, measured by benchmarks/bench_latency.py; 0.35 ms before the node lowered
  the GIL switch interval to GIL_SWITCH_INTERVAL_S; the bare Condition wake-up is ~0.01 ms),
  while a timer adds up to one period of waiting and wakes the executor for nothing while idle;
- executor independence: with ``rclpy.spin`` (a SingleThreadedExecutor) a timer running the
  SNN would hold up parameter changes, services, labels and timestep commands for the whole
  sample; the thread behaves the same under any executor. (The simulation kernels are compiled
  ``nogil``, so Python callbacks run while a sample is being simulated.)

Camera images are subscribed raw: the callback keeps the CDR bytes and the worker reads the
header fields and views the pixels in place (``image_from_cdr``), skipping rclpy's copy of every
frame into a message.

The price is shared state: the network and readout are used by the worker and by the label and
service callbacks, so every access holds ``_model_lock``. The frame and event callbacks only
touch the Condition-guarded slot, so they sit in a ReentrantCallbackGroup: under a
MultiThreadedExecutor a frame is not held back by a timer or service of this node.

Frames larger than the network input are shrunk in their own dtype (``shrink_area``: box
averages) before the channels are reordered and the core turns them into grey rates, so a
640x480 bgr8 frame costs about 0.45 ms instead of 3 (docs/results/latency.md).

Model file: ``model_path`` is loaded at start; empty means a fresh untrained network of
``n_neurons``. A missing or corrupt file is an ERROR (log and diagnostics) and the node runs a
fresh untrained network instead. That file is then never written: saves go to ``save_path``
if it names another file, else to ``<model_path>.recovered.npz``. Saves are atomic
(``save_checkpoint``). ``main`` saves on SIGINT/SIGTERM when ``save_on_shutdown`` is true and
exits 0 (1 if that save failed).
"""

from __future__ import annotations

import collections
from datetime import datetime, timezone
import math
import os
from pathlib import Path
import sys
import threading
import time
from typing import Any, Callable

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from sensor_msgs.msg import CompressedImage, Image, PointCloud2
from std_msgs.msg import Float32MultiArray, Float64, Int32, MultiArrayDimension, UInt16
from std_srvs.srv import SetBool, Trigger

from ..ros import diagnostics, qos
from ..ros.conversions import (compressed_to_numpy, ConversionError, events_from_pointcloud2,
                               image_from_cdr, image_to_rgb_or_grey, shrink_area)
from ..ros.node_utils import declare_checked, descriptor, EventCounters, spin_node
from ..ros.qos import check_reliability_mode, MatchedSubscription, policy_name
from ..snn import (bin_events, CheckpointError, ConfigError, load_checkpoint, Network,
                   NetworkConfig, Readout, replace_params, SampleResult, save_checkpoint)
from ..snn.config import MAX_TIMESTEPS
from ..snn.kernels import warm_up
from ..topspark import load_profile, ProfileError


DISCOVERY_PERIOD_S = 0.5
MAX_EVENT_PACKETS = 4096            # queued packets beyond this are dropped (and counted)
# The worker, woken by a frame callback, needs the GIL, which the executor thread keeps for its
# Python bookkeeping until it blocks again; CPython only asks it to let go after the switch
# interval (5 ms by default). 0.1 ms bounds that hand-off (see the module docstring).
GIL_SWITCH_INTERVAL_S = 1e-4

# ConversionError texts -> per-reason counter keys; the first matching fragment wins.
_REASONS = (
    ('unknown encoding', 'unknown_encoding'),
    ('zero size', 'zero_size'),
    ('NaN/Inf', 'non_finite'),
    ('truncated', 'truncated_message'),
    ('CDR encapsulation', 'bad_serialization'),
    ('data has', 'data_too_short'),
    ('data is empty', 'empty_data'),
    ('cannot decode', 'corrupt_compressed'),
    ('compressedDepth', 'unsupported_format'),
    ('missing field', 'missing_field'),
    ('has datatype', 'wrong_field_type'),
    ('has count', 'wrong_field_type'),
    ('appears more than once', 'duplicate_field'),
    ('smaller than', 'bad_layout'),
    ('does not fit', 'bad_layout'),
)


def conversion_reason(exc: ConversionError) -> str:
    """Counter key for a rejected message, from the text of its ConversionError."""
    text = str(exc)
    return next((key for fragment, key in _REASONS if fragment in text), 'invalid_message')


class EventWindow:
    """Accumulates event packets into fixed windows of ``length`` seconds, one sample each.

    A window starts at its first event; once an event at or after its end arrives, the events
    inside are a complete sample, and the next window starts at the first later event (gaps
    are skipped). Events older than the current window's start are dropped; a jump back by
    more than one window (a bag restarting) starts over.
    """

    def __init__(self, length: float) -> None:
        self.length = length
        self.start: float | None = None
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._t_max = -math.inf

    def add(self, x: np.ndarray, y: np.ndarray, t: np.ndarray
            ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]]:
        """Add one packet (times in seconds); returns the windows it completed, oldest first."""
        if self.start is not None and t.max() < self.start - self.length:
            self.clear()
        if self.start is None:
            self.start = float(t.min())
        self._chunks.append((x, y, t))
        self._t_max = max(self._t_max, float(t.max()))
        done = []
        while self.start is not None and self._t_max >= self.start + self.length:
            xs, ys, ts = (np.concatenate(c) for c in zip(*self._chunks))
            end = self.start + self.length
            inside = (ts >= self.start) & (ts < end)
            done.append((xs[inside], ys[inside], ts[inside], (self.start, end)))
            later = ts >= end
            self.clear()
            if later.any():
                self._chunks = [(xs[later], ys[later], ts[later])]
                self.start = max(end, float(ts[later].min()))
                self._t_max = float(ts[later].max())
        return done

    def clear(self) -> None:
        self.start = None
        self._chunks = []
        self._t_max = -math.inf


class PerceptionNode(Node):
    """Runs the Diehl & Cook SNN on the newest frame or event window and reports its work."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('perception', **kwargs)
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        declare_checked(self, [
            ('model_path', '', descriptor(
                'Checkpoint (.npz) loaded at start; empty: a fresh untrained network. A missing '
                'or corrupt file is an ERROR; the node then runs a fresh network and never '
                'overwrites that file.', read_only=True)),
            ('profile_path', '', descriptor(
                'TopSpark profile (profile.yaml or its directory): whenever the timestep '
                'changes, its enhanced neuron parameters for that T are applied. Empty: the '
                "model's own parameters at every T. A missing or invalid file is an ERROR and "
                'the model runs with its own parameters.', read_only=True)),
            ('n_neurons', 400, descriptor(
                'Excitatory neurons of a fresh network (used only without a loadable model).',
                read_only=True, integers=(1, 10000))),
            ('timesteps', 350, descriptor(
                'Timesteps T per sample (1 ms each); fewer means less energy and latency. '
                'Also set by the topspark/timesteps topic.', integers=(1, MAX_TIMESTEPS))),
            ('learning', False, descriptor(
                'Online STDP on every sample (unsupervised); also ~/set_learning.')),
            ('save_path', '', descriptor(
                'Checkpoint (.npz) written by ~/save_model, periodic and shutdown saves; '
                'empty: model_path.')),
            ('save_period_s', 0.0, descriptor(
                'Seconds between periodic saves; 0 disables them.', floats=(0.0, 86400.0))),
            ('save_on_shutdown', True, descriptor('Save the model when the node exits.')),
            ('input_reliability', 'auto', descriptor(
                "Camera/event subscription reliability: 'auto' matches the publishers "
                "(all reliable -> reliable, else best effort), or 'reliable', 'best_effort'.",
                read_only=True)),
            ('event_window_s', 0.3, descriptor(
                'Seconds of events in one sample at T0 (0.3: the three saccades of N-MNIST); '
                'a profile can shorten it with T (event_window_scale) or thin its events '
                '(event_keep_fraction).',
                floats=(0.001, 60.0))),
            ('event_sensor_width', 28, descriptor(
                'Event sensor width in pixels; x is scaled from it to the network input.',
                integers=(1, 65535))),
            ('event_sensor_height', 28, descriptor(
                'Event sensor height in pixels; y is scaled from it to the network input.',
                integers=(1, 65535))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.',
                floats=(0.0, 3600.0))),
        ], self._check_parameters, self._apply)

        self._model_lock = threading.Lock()     # network, readout, last sample
        self._stats_lock = threading.Lock()     # counters
        self._save_lock = threading.Lock()
        self._wakeup = threading.Condition()    # pending frame / packets, stop flag
        self._stats = EventCounters(self.get_logger(), self._stats_lock)
        self._reported = (0, 0)                 # (dropped, rejected) at the last diagnostics
        self._frame: tuple[str, Any, float] | None = None
        self._packets: collections.deque[tuple[PointCloud2, float]] = collections.deque()
        self._stopping = False
        self._last_counts: np.ndarray | None = None
        self._last_compute_s = math.nan
        self._event_epoch: float | None = None
        self._save_error = ''
        self._last_save = ''
        self._save_timer: Timer | None = None
        self._apply(self.get_parameters_by_prefix(''))
        self._events = EventWindow(self._event_window_s)
        self._load_model()
        self._load_profile()
        warm_up()       # load the compiled kernels now, not while the first frame waits

        self._prediction_pub = self.create_publisher(Int32, 'topspark/prediction', qos.RESULTS)
        self._scores_pub = self.create_publisher(Float32MultiArray, 'topspark/scores', qos.RESULTS)
        self._activity_pub = self.create_publisher(DiagnosticArray, 'topspark/activity',
                                                   qos.RESULTS)
        self._latency_pub = self.create_publisher(Float64, 'topspark/latency', qos.RESULTS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.RESULTS)

        mode = self.get_parameter('input_reliability').value
        streams = ReentrantCallbackGroup()      # frames never wait for this node's other callbacks
        self._streams = [
            # raw: the worker reads the CDR bytes in place (image_from_cdr) instead of rclpy
            # copying every frame into a message first
            MatchedSubscription(self, Image, 'image', self._on_image, mode, streams, raw=True),
            MatchedSubscription(self, CompressedImage, 'image/compressed', self._on_compressed,
                                mode, streams),
            MatchedSubscription(self, PointCloud2, 'events', self._on_events, mode, streams),
        ]
        self.create_subscription(UInt16, 'topspark/timesteps', self._on_timesteps_command,
                                 qos.COMMAND)
        self.create_subscription(Int32, 'topspark/label', self._on_label, qos.RESULTS)
        self.create_service(Trigger, '~/save_model', self._on_save_model)
        self.create_service(Trigger, '~/reset_model', self._on_reset_model)
        self.create_service(SetBool, '~/set_learning', self._on_set_learning)
        self.create_timer(1.0, self._on_diagnostics_timer)
        if mode == 'auto':
            self._discovery_timer = self.create_timer(DISCOVERY_PERIOD_S, self._on_discovery_timer)

        self._worker = threading.Thread(target=self._work, name='perception_worker', daemon=True)
        self._worker.start()
        self.get_logger().info(
            f'ready: {self._model_source}, T={self._timesteps}, learning={self._learning}, '
            f'inputs {", ".join(s.topic for s in self._streams)} ({mode})')

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Validation only (ranges and read-only are checked by the descriptors)."""
        for p in parameters:
            reason = None
            if p.name == 'input_reliability':
                reason = check_reliability_mode(p.value)
            elif p.name == 'save_path' and p.value and not p.value.endswith('.npz'):
                reason = f'save_path {p.value!r} must end in .npz (or be empty)'
            if reason:
                return reason
        return None

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        """Copy accepted values to the attributes the worker reads, and re-arm the save timer."""
        value = {name: p.value for name, p in parameters.items()}
        if 'timesteps' in value:
            self._timesteps = int(value['timesteps'])
            if hasattr(self, '_base_config'):
                self._enhance_for(self._timesteps)
        if 'learning' in value:
            self._learning = bool(value['learning'])
        if 'log_throttle_s' in value:
            self._stats.throttle_s = float(value['log_throttle_s'])
        if 'event_window_s' in value:
            self._event_window_s = float(value['event_window_s'])
            if hasattr(self, '_network'):
                self._sync_event_window()
        if 'event_sensor_width' in value or 'event_sensor_height' in value:
            self._sensor_shape = (self.get_parameter('event_sensor_height').value,
                                  self.get_parameter('event_sensor_width').value)
        if 'save_period_s' in value:
            if self._save_timer is not None:
                self.destroy_timer(self._save_timer)
                self._save_timer = None
            if value['save_period_s'] > 0:
                self._save_timer = self.create_timer(value['save_period_s'],
                                                     self._on_save_timer)

    # ---------------------------------------------------------------- model

    def _load_model(self) -> None:
        model_path = self.get_parameter('model_path').value
        n_neurons = self.get_parameter('n_neurons').value
        self._load_error = ''
        if model_path:
            try:
                self._network, self._readout, _ = load_checkpoint(model_path)
                self._model_source = f'loaded {model_path}'
                if self._network.config.n_neurons != n_neurons:
                    self.get_logger().info(
                        f'model has {self._network.config.n_neurons} neurons; the n_neurons '
                        f'parameter ({n_neurons}) applies to fresh networks only')
                return
            except (CheckpointError, OSError, ValueError) as exc:
                self._load_error = str(exc)
        config = NetworkConfig(n_neurons=n_neurons)
        self._network = Network(config)
        self._readout = Readout(config.n_neurons, config.n_classes)
        fresh = f'fresh untrained network ({n_neurons} neurons)'
        self._model_source = f'fallback: {fresh}' if self._load_error else fresh
        if self._load_error:
            self.get_logger().error(
                f'cannot load model_path: {self._load_error}. Falling back to a {fresh}; '
                f'that file is left untouched and saves go to {self._save_target()}')

    def _load_profile(self) -> None:
        """Read the TopSpark profile, then apply its parameters for the current T."""
        self._base_config = self._network.config      # the model's own (T0) parameters
        self._profile = None
        self._profile_error = ''
        self._enhancement: dict[str, Any] = {}
        path = self.get_parameter('profile_path').value
        if path:
            try:
                self._profile = load_profile(path)
            except (ProfileError, OSError) as exc:
                self._profile_error = str(exc)
                self.get_logger().error(f'cannot load profile_path: {exc}. Running with the '
                                        "model's own parameters at every timestep")
        self._enhance_for(self._timesteps)

    def _enhance_for(self, timesteps: int) -> None:
        """Apply the profile's enhanced parameters for ``timesteps`` to the network."""
        params = self._profile.params_for(timesteps) if self._profile else {}
        try:
            config = replace_params(self._base_config, params) if params else self._base_config
        except ConfigError as exc:
            self._profile_error = f'parameters for T={timesteps} rejected: {exc}'
            self.get_logger().error(f'profile: {self._profile_error}; keeping the previous ones')
            return
        with self._model_lock:
            self._network.config = config
            self._enhancement = params
        self._sync_event_window()
        if params:
            self.get_logger().info(f'T={timesteps}: enhanced parameters {params}')

    def _sync_event_window(self) -> None:
        """An event sample spans ``event_window_s`` times the network's event_window_scale (a
        profile shortens the window with T, see topspark.enhancement)."""
        self._events.length = self._event_window_s * self._network.config.event_window_scale

    def _save_target(self) -> Path | None:
        """Where saves go: save_path, else model_path, never a model file that failed to load."""
        model_path = self.get_parameter('model_path').value
        target = self.get_parameter('save_path').value or model_path
        if not target:
            return None
        if self._load_error and os.path.abspath(target) == os.path.abspath(model_path):
            return Path(model_path + '.recovered.npz')
        return Path(target)

    def save_model(self) -> tuple[bool, str]:
        """Atomically write the network and readout; returns (success, message)."""
        target = self._save_target()
        if target is None:
            return False, 'nothing to save to: set save_path or model_path'
        with self._model_lock:
            net = self._network
            network = Network(net.config, net.weights.copy(), net.theta.copy(), net.samples_seen)
            readout = Readout(self._readout.n_neurons, self._readout.n_classes,
                              self._readout.proportion_weighting, self._readout.class_spikes,
                              self._readout.class_samples)
        metadata = {'saved_by': self.get_fully_qualified_name(),
                    'saved_at': datetime.now(timezone.utc).isoformat(timespec='seconds'),
                    'model_source': self._model_source, 'timesteps': self._timesteps}
        with self._save_lock:
            try:
                save_checkpoint(target, network, readout, metadata)
            except (CheckpointError, OSError) as exc:
                self._save_error = f'{target}: {exc}'
                self.get_logger().error(f'saving the model failed: {self._save_error}')
                return False, f'save failed: {self._save_error}'
        self._save_error = ''
        self._last_save = str(target)
        self._stats.add('saves')
        self.get_logger().info(f'model saved to {target} ({network.samples_seen} samples seen)')
        return True, f'saved to {target}'

    def reset_model(self) -> None:
        """Fresh weights for the same configuration, and an empty readout."""
        with self._model_lock:
            config = self._network.config           # keeps the enhancement for the current T
            self._network = Network(config)
            self._readout = Readout(config.n_neurons, config.n_classes)
            self._last_counts = None
        self.get_logger().info(f'model reset to fresh weights ({config.n_neurons} neurons)')

    def close(self) -> bool:
        """Stop the worker, then save if save_on_shutdown; False if that save failed."""
        self._stop_worker()
        if not self.get_parameter('save_on_shutdown').value:
            return True
        if self._save_target() is None:
            self.get_logger().info('not saving on shutdown: save_path and model_path are empty')
            return True
        return self.save_model()[0]

    def destroy_node(self) -> None:
        if hasattr(self, '_worker'):        # not when the constructor failed before starting it
            self._stop_worker()
        super().destroy_node()

    # ---------------------------------------------------------------- callbacks

    def _on_image(self, serialized: bytes) -> None:
        self._store_frame('image', serialized)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._store_frame('compressed', msg)

    def _store_frame(self, kind: str, msg: Any) -> None:
        """Keep only the newest frame; replacing an unprocessed one counts as a drop."""
        with self._wakeup:
            if self._frame is not None:
                self._stats.add('dropped_frames')
            self._frame = (kind, msg, time.perf_counter())
            self._wakeup.notify()

    def _on_events(self, msg: PointCloud2) -> None:
        with self._wakeup:
            if len(self._packets) >= MAX_EVENT_PACKETS:
                self._packets.popleft()
                self._stats.add('dropped_event_packets')
            self._packets.append((msg, time.perf_counter()))
            self._wakeup.notify()

    def _on_timesteps_command(self, msg: UInt16) -> None:
        if not 1 <= msg.data <= MAX_TIMESTEPS:
            self._stats.reject('timesteps_out_of_range',
                               f'topspark/timesteps: {msg.data} is outside 1..{MAX_TIMESTEPS}; '
                               f'keeping {self._timesteps}')
            return
        result = self.set_parameters([Parameter('timesteps', Parameter.Type.INTEGER,
                                                int(msg.data))])[0]
        if not result.successful:
            self._stats.reject('timesteps_rejected', f'topspark/timesteps: {result.reason}')

    def _on_label(self, msg: Int32) -> None:
        """A teacher label for the most recent sample; each sample takes one label."""
        with self._model_lock:
            n_classes = self._readout.n_classes
            if not 0 <= msg.data < n_classes:
                reason, text = 'label_out_of_range', f'{msg.data} is outside 0..{n_classes - 1}'
            elif self._last_counts is None:
                reason, text = 'label_without_sample', 'no new sample since the last label'
            else:
                self._readout.observe(self._last_counts, msg.data)
                self._last_counts = None
                reason = ''
        if reason:
            self._stats.reject(reason, f'topspark/label: {text}; ignored')
        else:
            self._stats.add('labels_applied')

    def _on_save_model(self, request: Trigger.Request,
                       response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.save_model()
        return response

    def _on_reset_model(self, request: Trigger.Request,
                        response: Trigger.Response) -> Trigger.Response:
        self.reset_model()
        response.success, response.message = True, 'weights and neuron labels reset'
        return response

    def _on_set_learning(self, request: SetBool.Request,
                         response: SetBool.Response) -> SetBool.Response:
        result = self.set_parameters([Parameter('learning', Parameter.Type.BOOL,
                                                bool(request.data))])[0]
        response.success = result.successful
        response.message = (f'learning {"on" if request.data else "off"}' if result.successful
                            else result.reason)
        return response

    def _on_save_timer(self) -> None:
        self.save_model()

    def _on_discovery_timer(self) -> None:
        for stream in self._streams:
            stream.update()

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(
            self.get_clock().now().to_msg(), [self._input_status(), self._model_status()]))

    # ---------------------------------------------------------------- worker

    def _stop_worker(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join()

    def _work(self) -> None:
        """Take the newest frame and all queued packets, process them, repeat until stopped."""
        while True:
            with self._wakeup:
                self._wakeup.wait_for(lambda: self._stopping or self._frame or self._packets)
                if self._stopping:
                    return
                frame, self._frame = self._frame, None
                packets = list(self._packets)
                self._packets.clear()
            try:
                if packets:
                    self._process_packets(packets)
                if frame:
                    self._process_frame(*frame)
            except Exception as exc:   # the worker must outlive any one bad sample
                if not self.context.ok():
                    return
                self._stats.reject('internal_error', f'processing failed: {exc!r}')

    def _process_frame(self, kind: str, msg: Any, arrived: float) -> None:
        started = time.perf_counter()
        topic = self._streams[0 if kind == 'image' else 1].topic
        try:
            shape = self._network.config.input_shape
            if kind == 'image':
                msg = image_from_cdr(msg)
                image = image_to_rgb_or_grey(msg, shrink_to=shape)
            else:
                image = shrink_area(compressed_to_numpy(msg), shape)
        except ConversionError as exc:
            self._stats.reject(conversion_reason(exc), f'{topic}: {exc}; skipped')
            return
        self._run(kind, lambda net, T, learn: net.run_image(image, T, learn), arrived, started,
                  msg.header.stamp)

    def _process_packets(self, packets: list[tuple[PointCloud2, float]]) -> None:
        """Add packets to the event window; run the newest completed window, drop older ones."""
        started = time.perf_counter()
        topic = self._streams[2].topic
        newest = None
        for msg, arrived in packets:
            try:
                x, y, t, _ = events_from_pointcloud2(msg)
            except ConversionError as exc:
                self._stats.reject(conversion_reason(exc), f'{topic}: {exc}; skipped')
                continue
            if t.size == 0:
                self._stats.reject('empty_events', f'{topic}: packet without events; skipped')
                continue
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            if self._event_epoch is None:
                self._event_epoch = stamp          # keeps float64 times small and precise
            for window in self._events.add(x, y, t + (stamp - self._event_epoch)):
                if newest is not None:
                    self._stats.add('dropped_event_windows')
                newest = (window, arrived, msg.header.stamp)
        if newest is None:
            return
        (x, y, t, window), arrived, input_stamp = newest
        sensor = self._sensor_shape
        outside = int(np.count_nonzero((x < 0) | (x >= sensor[1]) | (y < 0) | (y >= sensor[0])))
        if outside:
            self._stats.reject('events_outside_sensor',
                               f'{topic}: {outside} of {x.size} events lie outside the '
                               f'{sensor[1]}x{sensor[0]} sensor (event_sensor_width/height); '
                               'they are ignored')

        def run(net: Network, T: int, learn: bool) -> SampleResult:
            spikes = bin_events(x, y, t, None, sensor, net.config.input_shape, T, window=window,
                                keep_fraction=net.config.event_keep_fraction,
                                seed=net.next_seed())
            return net.run(spikes, learn)

        self._run('events', run, arrived, started, input_stamp)

    def _run(self, source: str, run: Callable[[Network, int, bool], SampleResult],
             arrived: float, started: float, stamp: Time) -> None:
        """Present one sample to the network, vote, publish prediction, scores and activity.

        The activity header gets ``stamp`` (the input's), or the node's clock if it is zero.
        """
        T, learn = self._timesteps, self._learning
        with self._model_lock:
            snn_started = time.perf_counter()
            try:
                result = run(self._network, T, learn)
            except ValueError as exc:                   # EncodingError and shape checks
                self._stats.reject('encoding_error', f'{source}: {exc}; skipped')
                return
            snn_s = time.perf_counter() - snn_started
            scores = self._readout.scores(result.counts)[0]
            self._last_counts = result.counts
            config = self._network.config
        prediction = int(np.argmax(scores)) if scores.size and scores.max() > 0 else -1
        compute_s = time.perf_counter() - started
        self._last_compute_s = compute_s
        self._stats.add('processed')

        self._prediction_pub.publish(Int32(data=prediction))
        scores_msg = Float32MultiArray()
        scores_msg.layout.dim = [MultiArrayDimension(label='class', size=scores.size,
                                                     stride=scores.size)]
        scores_msg.data.frombytes(scores.astype(np.float32).tobytes())
        self._scores_pub.publish(scores_msg)
        ops = result.ops
        values = {
            'timesteps': ops.timesteps, 'mode': 'learn' if learn else 'infer',
            'input_spikes': ops.input_spikes, 'exc_spikes': ops.exc_spikes,
            'inh_spikes': ops.inh_spikes, 'synaptic_events': ops.synaptic_events,
            'neuron_updates': ops.neuron_updates, 'weight_updates': ops.weight_updates,
            'compute_seconds': compute_s, 'n_neurons': config.n_neurons,
            'n_inputs': config.n_inputs, 'inhibition': config.inhibition.variant,
            'source': source, 'prediction': prediction, 'snn_seconds': snn_s,
            'wait_seconds': started - arrived,
        }
        if not (stamp.sec or stamp.nanosec):
            stamp = self.get_clock().now().to_msg()
        self._activity_pub.publish(diagnostics.array(
            stamp,
            [diagnostics.status(self.get_name(), 'activity', diagnostics.OK,
                                f'{source} sample: prediction {prediction}', values)]))
        self._latency_pub.publish(Float64(data=compute_s))

    # ---------------------------------------------------------------- counters, diagnostics

    def counters(self) -> dict[str, int]:
        """Processed/dropped/saves counters and 'rejected_<reason>' ones (a snapshot)."""
        return self._stats.snapshot()

    @property
    def stream_reliability(self) -> dict[str, str]:
        """Reliability of each camera/event subscription, 'waiting' before one exists."""
        return {s.topic: policy_name(s.reliability) for s in self._streams}

    def _input_status(self) -> DiagnosticStatus:
        counts = self.counters()
        dropped = sum(v for k, v in counts.items() if k.startswith('dropped'))
        rejected = sum(v for k, v in counts.items() if k.startswith('rejected'))
        new_dropped, new_rejected = dropped - self._reported[0], rejected - self._reported[1]
        self._reported = (dropped, rejected)
        if new_rejected:
            level = diagnostics.WARN
            message = f'{new_rejected} input(s) rejected in the last period'
        elif new_dropped:
            level, message = diagnostics.WARN, f'{new_dropped} frame(s) dropped: network too slow'
        else:
            level, message = diagnostics.OK, f'{counts.get("processed", 0)} samples processed'
        values: dict[str, Any] = {
            'processed': counts.get('processed', 0),
            'dropped_frames': counts.get('dropped_frames', 0),
            'dropped_event_windows': counts.get('dropped_event_windows', 0),
            'dropped_event_packets': counts.get('dropped_event_packets', 0),
            'rejected': rejected,
        }
        values.update(sorted((k, v) for k, v in counts.items() if k.startswith('rejected_')))
        values.update({f'reliability {topic}': r for topic, r in self.stream_reliability.items()})
        values['last_compute_seconds'] = self._last_compute_s
        return diagnostics.status(self.get_name(), 'input', level, message, values)

    def _model_status(self) -> DiagnosticStatus:
        with self._model_lock:
            labelled = int((self._readout.assignments >= 0).sum())
            n_neurons = self._network.config.n_neurons
            samples_seen = self._network.samples_seen
        if self._load_error:
            level, message = diagnostics.ERROR, f'model_path not loaded: {self._load_error}'
        elif self._profile_error:
            level, message = diagnostics.ERROR, f'profile: {self._profile_error}'
        elif self._save_error:
            level, message = diagnostics.ERROR, f'last save failed: {self._save_error}'
        elif not labelled:
            level, message = diagnostics.WARN, 'no labelled neurons: predictions are -1'
        else:
            level, message = diagnostics.OK, self._model_source
        target = self._save_target()
        counts = self.counters()
        return diagnostics.status(self.get_name(), 'model', level, message, {
            'model_source': self._model_source, 'save_target': target or '',
            'last_save': self._last_save, 'saves': counts.get('saves', 0),
            'learning': self._learning, 'timesteps': self._timesteps, 'n_neurons': n_neurons,
            'labelled_neurons': labelled, 'labels_applied': counts.get('labels_applied', 0),
            'samples_seen': samples_seen,
            'profile': self.get_parameter('profile_path').value,
            'enhancement': ', '.join(f'{k}={v}' for k, v in self._enhancement.items()) or 'none',
        })


def main(args: list[str] | None = None) -> int:
    """Spin the node; on SIGINT/SIGTERM save (if save_on_shutdown) and return 0, 1 if it failed."""
    return spin_node(PerceptionNode, args)


if __name__ == '__main__':
    sys.exit(main())
