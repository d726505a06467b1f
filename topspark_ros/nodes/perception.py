# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception node: camera frames or event packets in, a model's prediction and activity out.

Subscribes (relative names) ``image``, ``image/compressed``, ``events``, ``topspark/timesteps``
and ``topspark/label``; publishes ``topspark/prediction``, ``topspark/scores``,
``topspark/activity`` (stamped with the input's stamp, or the node's clock for an unstamped
input), ``topspark/latency`` and ``/diagnostics`` (1 Hz). Services: ``~/save_model``,
``~/reset_model``, ``~/set_learning``. Topic contract: docs/ros.md.

This file is wiring over ``topspark_ros.perception`` (no ROS there): the model service, event
windows, the callback-to-worker ``Inbox``, the parameter table and checks (``settings``) and
the diagnostics' content (``status``); who may command is ``ros.command_guard.CommandGate``.
Callbacks only store the newest frame or queue an event packet; the worker thread converts,
runs the model and publishes, so a slow sample never holds up a parameter change, a service or
a timestep command (why a thread and not a timer: docs/architecture.md).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from sensor_msgs.msg import CompressedImage, Image, PointCloud2
from std_msgs.msg import Float32MultiArray, Float64, Int32, MultiArrayDimension, UInt16
from std_srvs.srv import SetBool, Trigger

from ..models import ModelError, ModelOutput
from ..perception import (apply_changes, Arrival, check_changes, check_timesteps_command,
                          EventRejected, Inbox, input_status, ModelService, ModelStartError,
                          model_status, open_service, parameter_specs, sample_activity, Settings,
                          Status)
from ..ros import diagnostics, graph_watch, qos
from ..ros.command_guard import CommandGate, RateLimiter
from ..ros.conversions import (compressed_to_numpy, ConversionError, events_from_pointcloud2,
                               image_from_cdr, image_to_rgb_or_grey, shrink_area)
from ..ros.node_utils import (callback_exceptions, declare_checked, descriptor, EventCounters,
                              spin_node)
from ..ros.qos import check_reliability_mode, MatchedSubscription, policy_name
from ..snn.kernels import warm_up

DISCOVERY_PERIOD_S = 0.5
STREAMS = {'image': 'image', 'compressed': 'image/compressed', 'events': 'events'}
"""The input streams by name, and the topics they subscribe."""
LEVELS = {'ok': diagnostics.OK, 'warn': diagnostics.WARN, 'error': diagnostics.ERROR}


def _parameters() -> list[tuple[str, Any, Any]]:
    """The parameter table (perception.settings) as declarations, and command_publishers."""
    return [(p.name, p.default, descriptor(p.description, read_only=p.read_only,
                                           integers=p.integers, floats=p.floats))
            for p in parameter_specs()] + [graph_watch.allow_list_parameter(
                'topspark/timesteps, topspark/label, its services and parameter changes')]


class PerceptionNode(Node):
    """Runs a perception model on the newest frame or event window and reports its work."""

    _service: ModelService | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('perception', **kwargs)
        self._stats = EventCounters(self.get_logger(), threading.Lock())
        self._save_timer: Timer | None = None
        self._last_compute_s = float('nan')
        self._settings = Settings()
        self._timestep_limiter = RateLimiter(0)
        declare_checked(self, _parameters(), self._check_parameters, self._apply)
        graph_watch.initialise_allow_list(self)
        values = {name: p.value for name, p in self.get_parameters_by_prefix('').items()}
        self._timestep_limiter.max_per_s = values['max_timestep_commands_per_s']
        self._settings = Settings().updated(values)
        self._service = open_service(values, self._settings)
        self._stats.throttle_s = self._settings.log_throttle_s
        self._arm_save_timer()
        if self._service.load_error:
            self.get_logger().error(f'model: {self._service.source}')
        warm_up()       # load the compiled kernels now, not while the first frame waits

        self._prediction_pub = self.create_publisher(Int32, 'topspark/prediction', qos.RESULTS)
        self._scores_pub = self.create_publisher(Float32MultiArray, 'topspark/scores',
                                                 qos.RESULTS)
        self._activity_pub = self.create_publisher(DiagnosticArray, 'topspark/activity',
                                                   qos.RESULTS)
        self._latency_pub = self.create_publisher(Float64, 'topspark/latency', qos.RESULTS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      qos.RESULTS)
        mode = values['input_reliability']
        group = ReentrantCallbackGroup()        # frames never wait for this node's other callbacks
        self._streams = {
            # raw: the worker reads the CDR bytes in place instead of rclpy copying each frame
            'image': MatchedSubscription(self, Image, STREAMS['image'], self._on_image, mode,
                                         group, raw=True),
            'compressed': MatchedSubscription(self, CompressedImage, STREAMS['compressed'],
                                              self._on_compressed, mode, group),
            'events': MatchedSubscription(self, PointCloud2, STREAMS['events'], self._on_events,
                                          mode, group),
        }
        commands = [
            self.create_subscription(UInt16, 'topspark/timesteps', self._on_timesteps_command,
                                     qos.COMMAND),
            self.create_subscription(Int32, 'topspark/label', self._on_label, qos.RESULTS)]
        services = {'save_model': self.create_service(Trigger, '~/save_model',
                                                      self._on_save_model),
                    'reset_model': self.create_service(Trigger, '~/reset_model',
                                                       self._on_reset_model),
                    'set_learning': self.create_service(SetBool, '~/set_learning',
                                                        self._on_set_learning)}
        self._gate = CommandGate(self, self._stats, [sub.topic_name for sub in commands],
                                 services, values[graph_watch.ALLOW_LIST],
                                 self._on_diagnostics_timer)
        self.create_timer(1.0, self._on_diagnostics_timer)
        if mode == 'auto':
            self.create_timer(DISCOVERY_PERIOD_S, self._on_discovery_timer)

        self._inbox = Inbox()
        self._worker = threading.Thread(target=self._work, name='perception_worker', daemon=True)
        self._worker.start()
        self.get_logger().info(
            f'ready: {self._service.source}, T={self._settings.timesteps}, learning='
            f'{self._settings.learning}, save to {self._service.save_target() or "nowhere"}, '
            f'inputs {", ".join(s.topic for s in self._streams.values())} ({mode})')

    @property
    def service(self) -> ModelService:
        assert self._service is not None
        return self._service

    @property
    def settings(self) -> Settings:
        return self._settings

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Validation beyond the descriptors' ranges and read-only flags."""
        values = {p.name: p.value for p in parameters}
        return (graph_watch.check_allow_list(values.get(graph_watch.ALLOW_LIST))
                or check_reliability_mode(values.get('input_reliability', 'auto'))
                or check_changes(values, self._service))

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        """Swap in the new settings and pass what changed to the model service."""
        values = {name: p.value for name, p in parameters.items()}
        old, new = self._settings, self._settings.updated(values)
        self._settings = new
        self._stats.throttle_s = new.log_throttle_s
        if 'max_timestep_commands_per_s' in values:
            self._timestep_limiter.max_per_s = values['max_timestep_commands_per_s']
        if self._service is None:
            return
        overrides = apply_changes(self._service, old, new, values)
        if overrides:
            self.get_logger().info(f'T={new.timesteps}: profile parameters {overrides}')
        if new.save_period_s != old.save_period_s:
            self._arm_save_timer()

    def _arm_save_timer(self) -> None:
        if self._save_timer is not None:
            self.destroy_timer(self._save_timer)
            self._save_timer = None
        if self._settings.save_period_s > 0:
            self._save_timer = self.create_timer(self._settings.save_period_s,
                                                 self._on_save_timer)

    # ---------------------------------------------------------------- model file

    def save_model(self) -> tuple[bool, str]:
        """Save if anything was learned or labelled; returns (success, message)."""
        result = self.service.save(self.get_fully_qualified_name())
        if result.written:
            self._stats.add('saves')
        if result.success:
            self.get_logger().info(result.message)
        else:
            self._stats.error('save_failed', result.message)      # throttled: periodic saves
        return result.success, result.message

    def close(self) -> bool:
        """Stop the worker, then save if save_on_shutdown; False if that save failed."""
        self._stop_worker()
        if not self._settings.save_on_shutdown:
            if self.service.unsaved():
                self.get_logger().warning('save_on_shutdown is false: what was learned since '
                                          'the last save is not kept')
            return True
        return self.save_model()[0]

    def destroy_node(self) -> None:
        if hasattr(self, '_worker'):        # not when the constructor failed before starting it
            self._stop_worker()
        super().destroy_node()

    # ---------------------------------------------------------------- callbacks

    def _on_image(self, serialized: bytes) -> None:
        if self._inbox.put_frame(Arrival('image', serialized)):
            self._stats.add('dropped_frames')

    def _on_compressed(self, msg: CompressedImage) -> None:
        if self._inbox.put_frame(Arrival('compressed', msg)):
            self._stats.add('dropped_frames')

    def _on_events(self, msg: PointCloud2) -> None:
        if self._inbox.put_packet(Arrival('events', msg)):
            self._stats.add('dropped_event_packets')

    def _on_timesteps_command(self, msg: UInt16, info: Any) -> None:
        if not self._gate.accepted('topspark/timesteps', info):
            return
        refusal = check_timesteps_command(
            msg.data, self._settings.timesteps, self._timestep_limiter.allow(time.monotonic()),
            self._timestep_limiter.max_per_s)
        if refusal:
            self._stats.reject(refusal.reason, refusal.text)
            return
        result = self.set_parameters([Parameter('timesteps', Parameter.Type.INTEGER,
                                                int(msg.data))])[0]
        if not result.successful:
            self._stats.reject('timesteps_rejected', f'topspark/timesteps {msg.data}: '
                               f'{result.reason}; keeping {self._settings.timesteps}')

    def _on_label(self, msg: Int32, info: Any) -> None:
        """A teacher label for the most recent sample; each sample takes one label."""
        if not self._gate.accepted('topspark/label', info):
            return
        try:
            self.service.observe_label(msg.data)
        except ModelError as exc:
            self._stats.reject(exc.reason, f'topspark/label: {exc}; ignored')
            return
        self._stats.add('labels_applied')

    def _on_save_model(self, request: Trigger.Request,
                       response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.save_model()
        return response

    def _on_reset_model(self, request: Trigger.Request,
                        response: Trigger.Response) -> Trigger.Response:
        try:
            self.service.reset()
        except ModelError as exc:
            response.success, response.message = False, str(exc)
            return response
        self.get_logger().info('model reset to untrained weights and no labels')
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

    # ---------------------------------------------------------------- timers

    def _on_discovery_timer(self) -> None:
        for stream in self._streams.values():
            stream.update()

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(
            self.get_clock().now().to_msg(),
            [self._input_status(), self._model_status(), self._commands_status()]))

    # ---------------------------------------------------------------- worker

    def _stop_worker(self) -> None:
        self._inbox.stop()
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join()

    def _work(self) -> None:
        """Take the newest frame and all queued packets, process them, until stopped."""
        while (batch := self._inbox.take()) is not None:
            try:
                if batch.packets:
                    self._process_packets(batch.packets)
                if batch.frame:
                    self._process_frame(batch.frame)
            except Exception as exc:   # the worker must outlive any one bad sample
                if not self.context.ok():
                    return
                self._stats.reject('internal_error', f'processing failed: {exc!r}')

    def _process_frame(self, arrival: Arrival) -> None:
        started = time.perf_counter()
        topic = self._streams[arrival.topic].topic
        shape = self.service.model.input_shape
        try:
            if arrival.topic == 'image':
                msg = image_from_cdr(arrival.message)
                image = image_to_rgb_or_grey(msg, shrink_to=shape)
            else:
                msg = arrival.message
                image = shrink_area(compressed_to_numpy(msg, max_pixels=self._settings.max_pixels),
                                    shape)
        except ConversionError as exc:
            self._stats.reject(exc.reason, f'{topic}: {exc}; skipped')
            return
        self._run(self.service.run_frame, image, topic, arrival.topic, arrival.at, started,
                  msg.header.stamp)

    def _process_packets(self, packets: list[Arrival]) -> None:
        """Add packets to the event stream; run the newest completed window, drop older ones."""
        started = time.perf_counter()
        topic = self._streams['events'].topic
        newest = None
        for arrival in packets:
            msg = arrival.message
            try:
                x, y, t, _ = events_from_pointcloud2(msg)
                stamp_s = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
                samples = self.service.events.add(x, y, t, stamp_s)
            except (ConversionError, EventRejected) as exc:
                self._stats.reject(exc.reason, f'{topic}: {exc}; skipped')
                continue
            for sample in samples:
                if newest is not None:
                    self._stats.add('dropped_event_windows')
                newest = (sample, arrival.at, msg.header.stamp)
        if newest is None:
            return
        sample, arrived, stamp = newest
        outside = self.service.events.outside_sensor(sample)
        if outside:
            height, width = sample.sensor_shape
            self._stats.reject('events_outside_sensor',
                               f'{topic}: {outside} of {sample.x.size} events lie outside the '
                               f'{width}x{height} sensor (event_sensor_width/height); '
                               'they are ignored')
        self._run(self.service.run_events, sample, topic, 'events', arrived, started, stamp)

    def _run(self, run: Any, sample: Any, topic: str, source: str, arrived: float,
             started: float, stamp: Time) -> None:
        """Run one sample through the model service and publish what it gave."""
        learn = self._settings.learning
        snn_started = time.perf_counter()
        try:
            output = run(sample, learn)
        except ModelError as exc:
            self._stats.reject(exc.reason, f'{topic}: {exc}; skipped')
            return
        self._publish(output, source, learn, arrived, started,
                      time.perf_counter() - snn_started, stamp)

    def _publish(self, output: ModelOutput, source: str, learn: bool, arrived: float,
                 started: float, snn_s: float, stamp: Time) -> None:
        """Prediction, scores, activity (stamped with the input's stamp, or now if it has
        none) and latency of one sample."""
        compute_s = time.perf_counter() - started
        self._last_compute_s = compute_s
        self._stats.add('processed')
        self._prediction_pub.publish(Int32(data=output.prediction))
        scores = Float32MultiArray()
        scores.layout.dim = [MultiArrayDimension(label='class', size=output.scores.size,
                                                 stride=output.scores.size)]
        scores.data.frombytes(output.scores.tobytes())
        self._scores_pub.publish(scores)
        activity = sample_activity(output, self.service.model.summary(),
                                   self.service.model.dt_ms, source, learn, compute_s, snn_s,
                                   max(started - arrived, 0.0))
        if not (stamp.sec or stamp.nanosec):
            stamp = self.get_clock().now().to_msg()
        self._activity_pub.publish(diagnostics.array(stamp, [self._status('activity', activity)]))
        self._latency_pub.publish(Float64(data=compute_s))

    # ---------------------------------------------------------------- diagnostics

    def counters(self) -> dict[str, int]:
        """Processed/dropped/saves counters and 'rejected_<reason>' ones (a snapshot)."""
        return self._stats.snapshot()

    @property
    def stream_reliability(self) -> dict[str, str]:
        """Reliability of each camera/event subscription, 'waiting' before one exists."""
        return {s.topic: policy_name(s.reliability) for s in self._streams.values()}

    def _status(self, what: str, status: Status) -> DiagnosticStatus:
        return diagnostics.status(self.get_name(), what, LEVELS[status.level], status.message,
                                  status.values)

    def _input_status(self) -> DiagnosticStatus:
        report = self._stats.report({'callback_exceptions': callback_exceptions(self)})
        return self._status('input', input_status(
            report.totals, report.new, self.service.events.window.overflow,
            self.stream_reliability, self._last_compute_s))

    def _model_status(self) -> DiagnosticStatus:
        return self._status('model', model_status(self.service.status(), self._settings,
                                                  self.counters()))

    def _commands_status(self) -> DiagnosticStatus:
        return self._gate.status(
            {'max_timestep_commands_per_s': self._timestep_limiter.max_per_s})


def _make_node() -> PerceptionNode | None:
    try:
        return PerceptionNode()
    except ModelStartError as exc:
        print(f'perception: cannot start: {exc}', file=sys.stderr)
        return None


def main(args: list[str] | None = None) -> int:
    """Spin the node; on SIGINT/SIGTERM save (if anything changed) and return 0, 1 if that
    save failed or the model cannot be loaded."""
    return spin_node(_make_node, args)


if __name__ == '__main__':
    sys.exit(main())
