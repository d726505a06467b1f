"""Perception node: camera frames or event packets in, a model's prediction and activity out.

Subscribes (relative names) ``image``, ``image/compressed``, ``events``, ``topspark/timesteps``
and ``topspark/label``; publishes ``topspark/prediction``, ``topspark/scores``,
``topspark/activity``, ``topspark/latency`` and ``/diagnostics`` (1 Hz). Services:
``~/save_model``, ``~/reset_model``, ``~/set_learning``. Topic contract: docs/ros.md.
The activity message's header carries the input's stamp (the frame's, or the event packet's
that completed the window), so consumers can match a result to its input; unstamped (zero)
inputs get the node's clock instead.

Commands (the timestep and label topics, the services, parameter changes) are watched:
``graph_watch`` reports who publishes and calls them, and refuses those outside
``command_publishers`` when it is set; timestep commands are rate-limited
(``max_timestep_commands_per_s``); every service call is logged and counted.

This file is wiring. The model, its file rules and the TopSpark profile live in
``perception.ModelService``; event windows in ``perception.events``; the hand-off from the
callbacks to the worker thread in ``perception.Inbox`` (why a thread and not a timer:
docs/architecture.md). Callbacks only store the newest frame or queue an event packet; the
worker converts, runs the model and publishes, so a slow sample never holds up a parameter
change, a service or a timestep command.
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
from rcl_interfaces.msg import SetParametersResult
from rcl_interfaces.srv import SetParameters, SetParametersAtomically
from std_srvs.srv import SetBool, Trigger

from .. import shipped
from ..activity import ActivityReport
from ..models import ModelError, ModelOutput
from ..perception import (Arrival, EventRejected, FALLBACKS, Inbox, ModelFiles, ModelService,
                          ModelStartError, Settings)
from ..ros import diagnostics, graph_watch, qos
from ..ros.command_guard import RateLimiter, record_calls, RequestHeader
from ..ros.conversions import (compressed_to_numpy, ConversionError, events_from_pointcloud2,
                               image_from_cdr, image_to_rgb_or_grey, shrink_area)
from ..ros.node_utils import (callback_exceptions, declare_checked, descriptor, EventCounters,
                              spin_node)
from ..ros.qos import check_reliability_mode, MatchedSubscription, policy_name
from ..snn.config import MAX_TIMESTEPS
from ..snn.kernels import warm_up

DISCOVERY_PERIOD_S = 0.5
COMMAND_TOPICS = ('topspark/timesteps', 'topspark/label')
SERVICES = ('save_model', 'reset_model', 'set_learning')
STREAMS = {'image': 'image', 'compressed': 'image/compressed', 'events': 'events'}
"""The input streams by name, and the topics they subscribe."""


def _parameters() -> list[tuple[str, Any, Any]]:
    defaults = Settings()
    return [
        ('model_path', shipped.shipped(shipped.MODEL), descriptor(
            'Checkpoint (.npz) loaded at start (default: the shipped model). A missing or '
            'corrupt file refuses the start, unless model_fallback is fresh.', read_only=True)),
        ('model_fallback', 'refuse', descriptor(
            "When model_path cannot be loaded: 'refuse' (exit with the reason) or 'fresh' "
            '(an untrained network of n_neurons, never saved until it learned).',
            read_only=True)),
        ('profile_path', shipped.shipped(shipped.PROFILE), descriptor(
            'TopSpark profile (profile.yaml or its directory) made for this model: its '
            'parameters for each T are applied when T changes, and only its T are accepted. '
            "Empty: the model's own parameters at any T.", read_only=True)),
        ('n_neurons', 400, descriptor(
            "Excitatory neurons of a fresh network (model_fallback 'fresh' only).",
            read_only=True, integers=(1, 10000))),
        ('timesteps', defaults.timesteps, descriptor(
            'Timesteps T per sample; fewer means less energy and latency. Also set by the '
            'topspark/timesteps topic.', integers=(1, MAX_TIMESTEPS))),
        ('learning', defaults.learning, descriptor(
            'Online learning on every sample (models that can learn); also ~/set_learning.')),
        ('save_path', '', descriptor(
            'Checkpoint (.npz) written by ~/save_model, periodic and shutdown saves, when '
            'something was learned or labelled. Empty: nothing is saved.')),
        ('overwrite_model', False, descriptor(
            'Allow save_path to be the loaded model_path.', read_only=True)),
        ('save_period_s', defaults.save_period_s, descriptor(
            'Seconds between periodic saves; 0 disables them.', floats=(0.0, 86400.0))),
        ('save_on_shutdown', defaults.save_on_shutdown, descriptor(
            'Save (if anything changed) when the node exits.')),
        ('input_reliability', 'auto', descriptor(
            "Camera/event subscription reliability: 'auto' matches the publishers "
            "(all reliable -> reliable, else best effort), or 'reliable', 'best_effort'.",
            read_only=True)),
        ('event_window_s', defaults.event_window_s, descriptor(
            'Seconds of events in one sample at T0; a profile can shorten it with T.',
            floats=(0.001, 60.0))),
        ('event_sensor_width', defaults.sensor_shape[1], descriptor(
            'Event sensor width in pixels; x is scaled from it to the model input.',
            integers=(1, 65535))),
        ('event_sensor_height', defaults.sensor_shape[0], descriptor(
            'Event sensor height in pixels; y is scaled from it to the model input.',
            integers=(1, 65535))),
        ('max_pixels', defaults.max_pixels, descriptor(
            'Largest compressed frame (width x height) decoded; frames whose header declares '
            'more are refused before decoding (too_large).', read_only=True,
            integers=(1, 1 << 30))),
        ('log_throttle_s', defaults.log_throttle_s, descriptor(
            'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0))),
        graph_watch.allow_list_parameter(
            'topspark/timesteps, topspark/label, its services and parameter changes'),
        ('max_timestep_commands_per_s', 20, descriptor(
            'topspark/timesteps messages accepted in any one second; more are dropped and '
            'counted. 0: no limit.', integers=(0, 1000))),
    ]


class PerceptionNode(Node):
    """Runs a perception model on the newest frame or event window and reports its work."""

    _service: ModelService | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('perception', **kwargs)
        self._stats = EventCounters(self.get_logger(), threading.Lock())
        self._save_timer: Timer | None = None
        self._last_compute_s = float('nan')
        self._settings = Settings()
        declare_checked(self, _parameters(), self._check_parameters, self._apply)
        graph_watch.initialise_allow_list(self)
        values = {name: p.value for name, p in self.get_parameters_by_prefix('').items()}
        self._timestep_limiter = RateLimiter(values['max_timestep_commands_per_s'])
        self._settings = Settings().updated(values)
        self._service = ModelService.open(
            ModelFiles(values['model_path'], values['save_path'], values['overwrite_model'],
                       values['model_fallback'], values['n_neurons']),
            values['profile_path'], event_window_s=self._settings.event_window_s,
            sensor_shape=self._settings.sensor_shape)
        reason = (self._service.check_timesteps(self._settings.timesteps)
                  or self._service.check_learning(self._settings.learning))
        if reason:
            raise ModelStartError(reason)
        self._service.set_timesteps(self._settings.timesteps)
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
        services = [self.create_service(Trigger, '~/save_model', self._on_save_model),
                    self.create_service(Trigger, '~/reset_model', self._on_reset_model),
                    self.create_service(SetBool, '~/set_learning', self._on_set_learning)]
        self._service_names = {key: srv.service_name for key, srv in zip(SERVICES, services)}
        for key, srv in zip(SERVICES, services):
            record_calls(srv, self._call_recorder(key), self.get_logger())
        parameter_services = self._guard_parameter_services()
        self._watch = graph_watch.GraphWatch(
            self, [sub.topic_name for sub in commands],
            list(self._service_names.values()) + parameter_services,
            values[graph_watch.ALLOW_LIST], graph_watch.PERIOD_S, self._on_watch_change)
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
        if graph_watch.ALLOW_LIST in values:
            reason = graph_watch.check_allow_list(values[graph_watch.ALLOW_LIST])
            if reason:
                return reason
        if 'input_reliability' in values:
            reason = check_reliability_mode(values['input_reliability'])
            if reason:
                return reason
        if 'model_fallback' in values and values['model_fallback'] not in FALLBACKS:
            return f'model_fallback {values["model_fallback"]!r} is not one of {FALLBACKS}'
        if 'save_path' in values:
            files = self._service.files if self._service else ModelFiles('')
            reason = ModelFiles(files.model_path, values['save_path'],
                                files.overwrite_model).check()
            if reason:
                return reason
        if self._service is not None:           # at start, checked once the model is loaded
            if 'timesteps' in values:
                reason = self._service.check_timesteps(values['timesteps'])
                if reason:
                    return reason
            if 'learning' in values:
                return self._service.check_learning(values['learning'])
        return None

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        """Swap in the new settings and pass what changed to the model service."""
        old = self._settings
        new = old.updated({name: p.value for name, p in parameters.items()})
        self._settings = new
        self._stats.throttle_s = new.log_throttle_s
        if 'max_timestep_commands_per_s' in parameters and hasattr(self, '_timestep_limiter'):
            self._timestep_limiter.max_per_s = parameters['max_timestep_commands_per_s'].value
        if graph_watch.ALLOW_LIST in parameters and hasattr(self, '_watch'):
            self._watch.set_allowed(parameters[graph_watch.ALLOW_LIST].value)
        if self._service is None:
            return
        if 'save_path' in parameters:
            files = self._service.files
            self._service.files = ModelFiles(files.model_path, parameters['save_path'].value,
                                             files.overwrite_model, files.fallback,
                                             files.fresh_neurons)
        if new.timesteps != old.timesteps:
            overrides = self._service.set_timesteps(new.timesteps)
            if overrides:
                self.get_logger().info(f'T={new.timesteps}: profile parameters {overrides}')
        if (new.event_window_s, new.sensor_shape) != (old.event_window_s, old.sensor_shape):
            self._service.set_event_window(new.event_window_s, new.sensor_shape)
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
        if not self._command_accepted('topspark/timesteps', info):
            return
        if not self._timestep_limiter.allow(time.monotonic()):
            self._stats.reject('timesteps_rate_limited', f'topspark/timesteps: more than '
                               f'{self._timestep_limiter.max_per_s} commands in one second '
                               f'(max_timestep_commands_per_s); {msg.data} dropped')
            return
        if not 1 <= msg.data <= MAX_TIMESTEPS:
            self._stats.reject('timesteps_out_of_range',
                               f'topspark/timesteps: {msg.data} is outside 1..{MAX_TIMESTEPS}; '
                               f'keeping {self._settings.timesteps}')
            return
        result = self.set_parameters([Parameter('timesteps', Parameter.Type.INTEGER,
                                                int(msg.data))])[0]
        if not result.successful:
            self._stats.reject('timesteps_rejected', f'topspark/timesteps {msg.data}: '
                               f'{result.reason}; keeping {self._settings.timesteps}')

    def _on_label(self, msg: Int32, info: Any) -> None:
        """A teacher label for the most recent sample; each sample takes one label."""
        if not self._command_accepted('topspark/label', info):
            return
        try:
            self.service.observe_label(msg.data)
        except ModelError as exc:
            reason = ('label_out_of_range' if 'outside' in str(exc) else 'label_without_sample')
            self._stats.reject(reason, f'topspark/label: {exc}; ignored')
            return
        self._stats.add('labels_applied')

    def _on_save_model(self, request: Trigger.Request,
                       response: Trigger.Response) -> Trigger.Response:
        refusal = self._refused_call('save_model')
        if refusal:
            response.success, response.message = False, refusal
            return response
        response.success, response.message = self.save_model()
        return response

    def _on_reset_model(self, request: Trigger.Request,
                        response: Trigger.Response) -> Trigger.Response:
        refusal = self._refused_call('reset_model')
        if refusal:
            response.success, response.message = False, refusal
            return response
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
        refusal = self._refused_call('set_learning')
        if refusal:
            response.success, response.message = False, refusal
            return response
        result = self.set_parameters([Parameter('learning', Parameter.Type.BOOL,
                                                bool(request.data))])[0]
        response.success = result.successful
        response.message = (f'learning {"on" if request.data else "off"}' if result.successful
                            else result.reason)
        return response

    def _on_save_timer(self) -> None:
        self.save_model()

    # ---------------------------------------------------------------- who commands

    def _command_accepted(self, topic: str, info: Any) -> bool:
        """False (counted, warned) for a command from a publisher outside command_publishers."""
        reason, sender = self._watch.message_verdict(info)
        if reason:
            self._stats.reject(reason, f'{topic}: a command from {sender}, which is not in '
                                       'command_publishers; ignored')
        return reason is None

    def _refused_call(self, key: str) -> str | None:
        """Why a call of service ``key`` is refused now (an unexpected client), or None."""
        name = self._service_names[key]
        reason = self._watch.call_verdict(name)
        if reason is None:
            return None
        text = (f'refused: {name} has clients outside command_publishers '
                f'({", ".join(self._watch.clients(name))})')
        self._stats.reject(reason, text)
        return text

    def _call_recorder(self, key: str) -> Any:
        """Logs and counts each answered call of service ``key`` (command_guard)."""
        name = self._service_names[key]

        def record(response: Any, header: RequestHeader) -> None:
            self._stats.add(f'{key}_calls')
            clients = ', '.join(self._watch.clients(name)) or 'none seen'
            self.get_logger().info(
                f'{name}: {"done" if response.success else "not done"} ({response.message}); '
                f'{header.describe()}; clients in the graph: {clients}')
        return record

    def _guard_parameter_services(self) -> list[str]:
        """Make rclpy's set_parameters services refuse while an unexpected client is present
        (a parameter change is a command too); return their names for the watch."""
        names = [self.resolve_service_name(n) for n in graph_watch.PARAMETER_SERVICES]
        for srv in self.services:
            if srv.service_name in names:
                srv.callback = self._refusing(srv.service_name, srv.callback)
        return names

    def _refusing(self, name: str, callback: Any) -> Any:
        def guarded(request: Any, response: Any) -> Any:
            reason = self._watch.call_verdict(name)
            if reason is None:
                return callback(request, response)
            refused = SetParametersResult(
                successful=False, reason=f'refused: {name} has clients outside '
                                         'command_publishers')
            self._stats.reject(reason, f'{name}: {refused.reason}')
            if isinstance(response, SetParameters.Response):
                response.results = [refused for _ in request.parameters]
            elif isinstance(response, SetParametersAtomically.Response):
                response.result = refused
            return response
        return guarded

    def _on_watch_change(self, report: graph_watch.WatchReport) -> None:
        if report.unexpected:
            self.get_logger().warning(f'{report.message()} (command_publishers: '
                                      f'{", ".join(sorted(report.allowed))})')
        else:
            self.get_logger().info('no unexpected commander any more')
        self._on_diagnostics_timer()            # now, not at the next period

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
        learn = self._settings.learning
        try:
            output, snn_s = _timed(self.service.run_frame, image, learn)
        except ModelError as exc:
            self._stats.reject('encoding_error', f'{topic}: {exc}; skipped')
            return
        self._publish(output, arrival.topic, learn, arrival.at, started, snn_s,
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
            except ConversionError as exc:
                self._stats.reject(exc.reason, f'{topic}: {exc}; skipped')
                continue
            except EventRejected as exc:
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
        learn = self._settings.learning
        try:
            output, snn_s = _timed(self.service.run_events, sample, learn)
        except ModelError as exc:
            self._stats.reject('encoding_error', f'{topic}: {exc}; skipped')
            return
        self._publish(output, 'events', learn, arrived, started, snn_s, stamp)

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
        summary = self.service.model.summary()
        report = ActivityReport(
            ops=output.ops, mode='learn' if learn else 'infer', n_inputs=summary.n_inputs,
            n_neurons=summary.n_neurons, dt_ms=self.service.model.dt_ms,
            compute_seconds=compute_s, source=source, snn_seconds=min(snn_s, compute_s),
            wait_seconds=max(started - arrived, 0.0), inhibition=summary.inhibition,
            prediction=output.prediction, model=summary.kind)
        if not (stamp.sec or stamp.nanosec):
            stamp = self.get_clock().now().to_msg()
        self._activity_pub.publish(diagnostics.array(stamp, [diagnostics.status(
            self.get_name(), 'activity', diagnostics.OK,
            f'{source} sample: prediction {output.prediction}', report.to_values())]))
        self._latency_pub.publish(Float64(data=compute_s))

    # ---------------------------------------------------------------- diagnostics

    def counters(self) -> dict[str, int]:
        """Processed/dropped/saves counters and 'rejected_<reason>' ones (a snapshot)."""
        return self._stats.snapshot()

    @property
    def stream_reliability(self) -> dict[str, str]:
        """Reliability of each camera/event subscription, 'waiting' before one exists."""
        return {s.topic: policy_name(s.reliability) for s in self._streams.values()}

    def _input_status(self) -> DiagnosticStatus:
        report = self._stats.report({'callback_exceptions': callback_exceptions(self)})
        counts = report.totals
        if report.new.get('callback_exceptions'):
            level, message = diagnostics.ERROR, 'a callback raised (logged with its trace)'
        elif report.new_total('rejected_'):
            level = diagnostics.WARN
            message = f'{report.new_total("rejected_")} input(s) rejected in the last period'
        elif report.new_total('dropped_'):
            level = diagnostics.WARN
            message = f'{report.new_total("dropped_")} sample(s) dropped: model too slow'
        else:
            level, message = diagnostics.OK, f'{counts.get("processed", 0)} samples processed'
        values: dict[str, Any] = {
            'processed': counts.get('processed', 0),
            'dropped_frames': counts.get('dropped_frames', 0),
            'dropped_event_windows': counts.get('dropped_event_windows', 0),
            'dropped_event_packets': counts.get('dropped_event_packets', 0),
            'dropped_window_events': self.service.events.window.overflow,
            'rejected': report.total('rejected_'),
            'callback_exceptions': counts['callback_exceptions'],
        }
        values.update(sorted((k, v) for k, v in counts.items() if k.startswith('rejected_')))
        values.update({f'reliability {topic}': r for topic, r in self.stream_reliability.items()})
        values['last_compute_seconds'] = self._last_compute_s
        return diagnostics.status(self.get_name(), 'input', level, message, values)

    def _commands_status(self) -> DiagnosticStatus:
        report = self._watch.report
        counts = self.counters()
        values: dict[str, Any] = dict(report.values())
        values.update({f'{key}_calls': counts.get(f'{key}_calls', 0) for key in SERVICES})
        values['max_timestep_commands_per_s'] = self._timestep_limiter.max_per_s
        level = diagnostics.WARN if report.unexpected else diagnostics.OK
        return diagnostics.status(self.get_name(), 'commands', level, report.message(), values)

    def _model_status(self) -> DiagnosticStatus:
        status = self.service.status()
        summary = status.summary
        if status.load_error:
            level, message = diagnostics.ERROR, f'model_path not loaded: {status.load_error}'
        elif status.save_error:
            level, message = diagnostics.ERROR, f'last save failed: {status.save_error}'
        elif not summary.ready:
            level, message = diagnostics.WARN, summary.note
        else:
            level, message = diagnostics.OK, status.source
        counts = self.counters()
        return diagnostics.status(self.get_name(), 'model', level, message, {
            'model_kind': summary.kind, 'model_source': status.source,
            'save_target': status.save_target, 'last_save': status.last_save,
            'saves': counts.get('saves', 0), 'unsaved_samples': status.unsaved_samples,
            'unsaved_labels': status.unsaved_labels, 'learning': self._settings.learning,
            'timesteps': self._settings.timesteps, 'n_neurons': summary.n_neurons,
            'ready': summary.ready, 'state': summary.note,
            'labels_applied': counts.get('labels_applied', 0),
            'samples_seen': summary.samples_seen, 'profile': status.profile,
            'enhancement': ', '.join(f'{k}={v}' for k, v in status.overrides.items()) or 'none',
        })


def _timed(run: Any, *args: Any) -> tuple[ModelOutput, float]:
    """``run(*args)`` and the seconds it took (the model's share of the compute time)."""
    started = time.perf_counter()
    output = run(*args)
    return output, time.perf_counter() - started


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
