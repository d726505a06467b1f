# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Governor node: picks the SNN timestep T from the battery level and the latency/energy budgets.

Subscribes (relative names) ``battery_state`` (sensor_msgs/BatteryState, sensor-data QoS),
``topspark/latency_budget`` (std_msgs/Float64 seconds, qos.RESULTS) and ``topspark/latency``
(std_msgs/Float64 seconds of compute per sample, from perception); publishes
``topspark/timesteps`` (std_msgs/UInt16, reliable, transient local: a perception node started
later still gets the command in force) and ``/diagnostics``. docs/ros.md has the contract.

Every ``decision_period_s`` the node turns the battery level into an accuracy tolerance
(``battery_tolerance``: ``tolerance_full`` at a full battery, ``tolerance_empty`` at the
``battery_reserve`` level and below), adds the budgets, and asks the TopSpark policy
(``topspark.choose``) for the timestep; the reason it gives is kept for diagnostics.

- Battery: ``percentage`` is 0..1, NaN when unmeasured; 0..100 producers (Gazebo's
  LinearBatteryPlugin with ``fix_issue_225``) are recognised by the majority of their recent
  values, never by one (``topspark.inputs.BatteryScale`` has the rule). A value just below 0
  (a drained LinearBatteryPlugin sends about -4.6e-5 for ever) is read as empty and said so;
  values the scale in force contradicts, below that, > 100 or infinite are rejected (counted
  per reason, warned about, the last good level is kept). NaN (unmeasured), no message yet,
  or none for ``battery_timeout_s`` all lead to the safe choice, ``battery_tolerance(None)``
  = accuracy first, with a WARN in diagnostics.
- Hysteresis: the tolerance is recomputed only when the level moved at least
  ``battery_hysteresis`` away from the level used for the last decision, so a level jittering
  around a step between two timesteps does not flip T.
- Dwell: a new T is published only when it differs from the current one and ``min_dwell_s``
  has passed since the last change (a change wanted earlier is deferred, not dropped). The
  first decision is published at once, when the node starts.
- Budgets: ``latency_budget_s`` and ``energy_budget_j`` (0 = none). A ``topspark/latency_budget``
  message sets the ``latency_budget_s`` parameter (0 clears it; NaN, negative or out-of-range
  values are rejected and counted): the most recent of topic and parameter wins, and
  ``ros2 param get`` shows the budget in force.
- ``latency_adapt``: an exponential moving average (``latency_ema_alpha``) of measured /
  profiled latency at the current T scales every profiled latency before the budget is
  checked, so the budget is met on this robot rather than on the profiling machine. The first
  ``LATENCY_SETTLE_SAMPLES`` samples after a change are skipped: they may still be of the old T.
  Latencies that are not finite, not > 0 or above ``topspark.inputs.MAX_LATENCY_S`` are
  rejected, counted per reason, so the average stays finite.
- Profile: ``profile_path`` (read-only) is loaded at start. Empty, missing or invalid is an
  ERROR (log and diagnostics) and the node publishes ``fallback_timesteps`` instead; it never
  stops for a bad file.

The decision logic is ``TimestepGovernor``: plain Python with explicit times, no node or
executor, so it can be tested (and reused) without a graph. The node feeds it messages and
parameters and publishes. Times come from the node's clock (ROS time), so ``use_sim_time`` with
a bridged ``/clock`` works; a clock jumping back (a bag or simulation restart) ends the dwell
and marks the battery stale.

Commands: ``ros.command_guard.CommandGate`` reports who publishes ``topspark/latency_budget``
and who calls the parameter services, in /diagnostics (status ``commands``); with
``command_publishers`` set, budgets from other nodes and parameter changes while another client
is present are refused.

Robustness: a double parameter is refused outside its declared range exactly (rclpy lets values
within 1e-6 relative of a bound through), the policy gets its requirements through
``Requirements.within_domain``, and every callback (subscriptions, timer, parameter callbacks
and rclpy's parameter services) logs, counts (``callback_errors``) and survives an unexpected
exception instead of raising it into the executor.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, fields, replace
import math
import sys
import threading
import traceback
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from rclpy.timer import Timer
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Float64, UInt16

from ..ros import diagnostics, graph_watch, qos
from ..ros.command_guard import CommandGate
from ..ros.node_utils import declare_checked, descriptor, EventCounters, spin_node, values_after
from ..snn.config import MAX_TIMESTEPS
from ..topspark import battery_tolerance, choose, load_profile, Profile, Requirements
from ..topspark.inputs import BatteryScale, check_latency, MAX_LATENCY_S


LATENCY_SETTLE_SAMPLES = 2      # latency samples ignored after a change (maybe of the old T)
MAX_LATENCY_BUDGET_S = MAX_LATENCY_S  # no budget beyond the longest plausible latency


@dataclass
class GovernorSettings:
    """The parameters the decision uses (names and defaults as the node's parameters)."""

    fallback_timesteps: int = 350
    tolerance_full: float = 0.01
    tolerance_empty: float = 0.10
    battery_reserve: float = 0.2
    latency_budget_s: float = 0.0       # 0: none
    energy_budget_j: float = 0.0        # 0: none
    battery_timeout_s: float = 5.0      # 0: a battery level never goes stale
    min_dwell_s: float = 2.0
    battery_hysteresis: float = 0.03
    latency_adapt: bool = False
    latency_ema_alpha: float = 0.2


SETTINGS = frozenset(f.name for f in fields(GovernorSettings))


@dataclass(frozen=True)
class Decision:
    """One decision: the command in force, what the policy wants, and why."""

    timesteps: int                  # the command in force after this decision
    target: int                     # what the policy asks for now
    published: bool                 # timesteps is new (or the first): publish it
    pending: int | None             # target held back by min_dwell_s
    dwell_left_s: float
    level: bytes                    # diagnostics.OK / WARN / ERROR
    message: str
    reason: str                     # the policy's reason for target
    relaxed: tuple[str, ...]
    battery: str                    # 'ok', 'none', 'stale' or 'unmeasured'
    battery_note: str
    level_used: float | None        # the hysteresis-filtered level the tolerance came from
    tolerance: float | None         # None on the profile fallback
    latency_scale: float            # applied to the profiled latencies (1.0 when not adapting)


class TimestepGovernor:
    """The governor's decision state, without ROS: feed it messages and times, ask ``decide``.

    ``profile`` None means the profile could not be loaded (``profile_error`` says why): every
    decision is then ``settings.fallback_timesteps`` at level ERROR.
    """

    def __init__(self, profile: Profile | None, settings: GovernorSettings | None = None,
                 profile_error: str = '') -> None:
        self.profile = profile
        self.profile_error = profile_error
        self.settings = settings or GovernorSettings()
        self.current: int | None = None         # the command in force (last published)
        self.changed_at: float | None = None
        self.changes = 0
        self.deferred = 0                       # decisions that held a change back
        self.battery_scale = BatteryScale()         # 0..1 or 0..100, by the producer's values
        self.battery_level: float | None = None     # normalised 0..1; None: unmeasured (NaN)
        self.battery_remark = ''                    # how the last level was read, if notable
        self.battery_stamp: float | None = None     # when the last accepted message arrived
        self.level_used: float | None = None
        self.latency_ratio: float | None = None     # EMA of measured / profiled at current T
        self.latency_samples = 0
        self._settle = 0

    # ------------------------------------------------------------------ inputs

    @property
    def percent_scale(self) -> bool:
        """The battery producer sends 0..100 (decided by its recent values)."""
        return self.battery_scale.percent

    def battery(self, percentage: float, now: float) -> str:
        """Take one ``BatteryState.percentage``; return a note when it needed interpreting
        (a tiny negative read as empty), else ''. Raises ``inputs.InputError`` (a ValueError
        with a ``reason``) for a value it refuses; the level and its time are then kept."""
        reading = self.battery_scale.read(percentage)
        self.battery_level, self.battery_stamp = reading.level, now
        self.battery_remark = reading.note
        return reading.note

    def latency(self, seconds: float) -> bool:
        """Fold one measured compute latency into the scale; False if it could not be used.

        Raises ``inputs.InputError`` (a ValueError with a ``reason``) for an implausible value:
        not finite, not > 0 or above ``inputs.MAX_LATENCY_S``."""
        seconds = check_latency(seconds)
        if self.profile is None or self.current is None:
            return False
        if self._settle > 0:
            self._settle -= 1
            return False
        try:
            profiled = self.profile.entry(self.current).latency_infer_s
        except KeyError:
            return False
        if not profiled > 0.0:
            return False
        ratio = seconds / profiled
        if not math.isfinite(ratio):
            return False
        alpha = self.settings.latency_ema_alpha
        self.latency_ratio = (ratio if self.latency_ratio is None
                              else self.latency_ratio + alpha * (ratio - self.latency_ratio))
        self.latency_samples += 1
        return True

    @property
    def latency_scale(self) -> float:
        """Factor applied to the profiled latencies: the measured ratio when adapting, else 1."""
        if self.settings.latency_adapt and self.latency_ratio is not None:
            return self.latency_ratio
        return 1.0

    def battery_state(self, now: float) -> tuple[str, str]:
        """('ok' | 'none' | 'stale' | 'unmeasured', a sentence for diagnostics)."""
        timeout = self.settings.battery_timeout_s
        if self.battery_stamp is None:
            return 'none', 'no battery_state message yet: accuracy first'
        age = now - self.battery_stamp
        if age < 0.0:
            return 'stale', 'the clock jumped back since the last battery_state: accuracy first'
        if timeout > 0.0 and age > timeout:
            return 'stale', (f'battery_state is stale (none for {age:.1f} s, battery_timeout_s '
                             f'{timeout:g}): accuracy first')
        if self.battery_level is None:
            return 'unmeasured', 'battery percentage is NaN (unmeasured): accuracy first'
        remark = f' ({self.battery_remark})' if self.battery_remark else ''
        return 'ok', f'battery {self.battery_level:.3f}{remark}'

    def dwell_left(self, now: float) -> float:
        if self.changed_at is None or now < self.changed_at:    # none yet, or clock jumped back
            return 0.0
        return max(0.0, self.settings.min_dwell_s - (now - self.changed_at))

    # ------------------------------------------------------------------ decision

    def _scaled_profile(self, scale: float) -> Profile:
        profile = self.profile
        assert profile is not None
        if scale == 1.0:
            return profile
        entries = tuple(replace(e, latency_infer_s=e.latency_infer_s * scale)
                        for e in profile.entries)
        return replace(profile, entries=entries)        # keeps made_for and the source

    def decide(self, now: float) -> Decision:
        """Choose T for the inputs so far; a change is applied only once the dwell has passed."""
        s = self.settings
        battery, battery_note = self.battery_state(now)
        scale = self.latency_scale
        notes = []
        if self.profile is None:
            target, relaxed, tolerance = s.fallback_timesteps, (), None
            self.level_used = self.battery_level if battery == 'ok' else None
            reason = (f'T={target}: fallback_timesteps, the profile is not loaded '
                      f'({self.profile_error})')
            level = diagnostics.ERROR
        else:
            if battery != 'ok':
                self.level_used = None
            elif (self.level_used is None
                  or abs(self.battery_level - self.level_used) >= s.battery_hysteresis - 1e-9):
                self.level_used = self.battery_level
            tolerance = battery_tolerance(self.level_used, s.tolerance_full, s.tolerance_empty,
                                          s.battery_reserve)
            requirements = Requirements.within_domain(tolerance, s.latency_budget_s,
                                                      s.energy_budget_j)
            tolerance = requirements.accuracy_tolerance
            choice = choose(self._scaled_profile(scale), requirements)
            target, relaxed, reason = choice.timesteps, choice.relaxed, choice.reason
            level = diagnostics.WARN if relaxed or battery != 'ok' else diagnostics.OK
            if scale != 1.0:
                notes.append(f'profiled latencies scaled x{scale:.3g} (measured)')
        if (battery != 'ok' or self.battery_remark) and self.profile is not None:
            notes.insert(0, battery_note)

        published, pending, dwell_left = False, None, 0.0
        if target != self.current:
            dwell_left = self.dwell_left(now)
            if self.current is None or dwell_left <= 0.0:
                self.current, self.changed_at = target, now
                self.changes += 1
                self._settle = LATENCY_SETTLE_SAMPLES
                published = True
            else:
                pending = target
                self.deferred += 1
                notes.insert(0, f'holding T={self.current} for min_dwell_s ({dwell_left:.2f} s '
                                f'left), then T={target}')
        message = '; '.join([reason] + notes)
        return Decision(self.current, target, published, pending, dwell_left, level, message,
                        reason, tuple(relaxed), battery, battery_note, self.level_used,
                        tolerance, scale)


# ---------------------------------------------------------------------- node


def _number(value: float | None, digits: int = 4) -> str:
    return 'unknown' if value is None else f'{value:.{digits}g}'


class GovernorNode(Node):
    """Publishes the TopSpark timestep for the battery level and the budgets (module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('governor', **kwargs)
        d = GovernorSettings()
        self._lock = threading.Lock()           # governor state, counters, last decision
        self._stats = EventCounters(self.get_logger(), self._lock)
        declared = [
            ('profile_path', '', descriptor(
                'TopSpark profile (YAML, or a directory holding profile.yaml) loaded at start. '
                'Empty, missing or invalid: ERROR, and fallback_timesteps is published.',
                read_only=True)),
            ('fallback_timesteps', d.fallback_timesteps, descriptor(
                'Timestep published when the profile cannot be loaded.',
                integers=(1, MAX_TIMESTEPS))),
            ('tolerance_full', d.tolerance_full, descriptor(
                'Accuracy loss accepted (fraction below the T0 accuracy) at a full battery; '
                'must not exceed tolerance_empty.', floats=(0.0, 1.0))),
            ('tolerance_empty', d.tolerance_empty, descriptor(
                'Accuracy loss accepted at the battery_reserve level and below.',
                floats=(0.0, 1.0))),
            ('battery_reserve', d.battery_reserve, descriptor(
                'Battery level (0..1) from which the tolerance is tolerance_empty.',
                floats=(0.0, 0.95))),
            ('latency_budget_s', d.latency_budget_s, descriptor(
                'Inference latency budget per sample in seconds; 0: none. The '
                'topspark/latency_budget topic sets it at run time.',
                floats=(0.0, MAX_LATENCY_BUDGET_S))),
            ('energy_budget_j', d.energy_budget_j, descriptor(
                'Inference energy budget per sample in joules; 0: none.', floats=(0.0, 1e6))),
            ('battery_timeout_s', d.battery_timeout_s, descriptor(
                'A battery level older than this is stale (safe choice: accuracy first); '
                '0: never stale.', floats=(0.0, 86400.0))),
            ('min_dwell_s', d.min_dwell_s, descriptor(
                'Minimum seconds between two timestep changes; an earlier change is deferred.',
                floats=(0.0, 3600.0))),
            ('battery_hysteresis', d.battery_hysteresis, descriptor(
                'The battery level must move this much from the level of the last decision '
                'before the tolerance is recomputed (prevents flipping at a step).',
                floats=(0.0, 0.5))),
            ('decision_period_s', 0.5, descriptor(
                'Seconds between decisions (and diagnostics).', floats=(0.01, 60.0))),
            ('latency_adapt', d.latency_adapt, descriptor(
                'Scale the profiled latencies by measured/profiled latency at the current T '
                '(moving average of topspark/latency) before checking the latency budget.')),
            ('latency_ema_alpha', d.latency_ema_alpha, descriptor(
                'Weight of a new topspark/latency sample in the moving average.',
                floats=(0.001, 1.0))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0))),
            graph_watch.allow_list_parameter('topspark/latency_budget and parameter changes'),
        ]
        self._float_ranges = {name: (r[0].from_value, r[0].to_value)
                              for name, _, desc in declared
                              for r in [desc.floating_point_range] if r}
        declare_checked(self, declared, self._guarded_check, self._guarded('parameters',
                                                                           self._apply))
        allowed = graph_watch.initialise_allow_list(self)
        self._budget_source = 'parameter'
        self._decision_timer: Timer | None = None
        self._last_decision: Decision | None = None
        self._last_battery = 'none'
        self.decisions = 0
        self.published: collections.deque[tuple[float, int]] = collections.deque(maxlen=100)
        self._timesteps_pub = self.create_publisher(UInt16, 'topspark/timesteps', qos.COMMAND)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.RESULTS)
        profile, error = self._load_profile()
        self._governor = TimestepGovernor(profile, GovernorSettings(), error)
        self._apply(self.get_parameters_by_prefix(''))

        self.create_subscription(BatteryState, 'battery_state',
                                 self._guarded('battery_state', self._on_battery),
                                 qos_profile_sensor_data)
        on_budget = self._guarded('latency_budget', self._on_latency_budget)
        budget_sub = self.create_subscription(Float64, 'topspark/latency_budget',
                                              lambda msg, info: on_budget(msg, info),
                                              qos.RESULTS)
        self.create_subscription(Float64, 'topspark/latency',
                                 self._guarded('latency', self._on_latency), qos.RESULTS)
        self._gate = CommandGate(self, self._stats, [budget_sub.topic_name], {}, allowed,
                                 self._guarded('graph watch', self._on_watch_change))
        for service in self.services:       # rclpy's parameter services, against bad requests
            service.callback = self._guarded_service(service.srv_name, service.callback)
        self._decide()                          # the first decision goes out at once
        source = self.get_parameter('profile_path').value if profile else 'no profile'
        self.get_logger().info(f'ready: {source}, T={self._governor.current}')

    # ---------------------------------------------------------------- parameters

    def _guarded(self, what: str, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback`` that logs (with the trace) and counts an unexpected exception instead
        of raising it into the executor, which would stop every node of the process."""
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:                   # survive anything: log, count, go on
                self._callback_failed(what)
        return guarded

    def _guarded_service(self, what: str, callback: Callable[[Any, Any], Any]
                         ) -> Callable[[Any, Any], Any]:
        """A service callback that answers with the (partly filled) response instead of
        raising: a SetParameters request with an unknown ParameterValue.type raised in rclpy."""
        def guarded(request: Any, response: Any) -> Any:
            try:
                return callback(request, response)
            except Exception:
                self._callback_failed(f'service {what}')
                return response
        return guarded

    def _callback_failed(self, what: str) -> None:
        self._stats.add('callback_errors')
        self.get_logger().error(f'{what} callback failed, ignored: {traceback.format_exc()}',
                                throttle_duration_sec=max(self._stats.throttle_s, 1.0))

    def _guarded_check(self, parameters: list[Parameter]) -> str | None:
        """``_check_parameters``; an unexpected exception refuses the change with its text."""
        try:
            return self._check_parameters(parameters)
        except Exception as exc:
            self._callback_failed('parameter check')
            return f'refused: the check failed ({type(exc).__name__}: {exc})'

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Cross-parameter checks and exact float ranges (types, read-only and ranges within
        rclpy's 1e-6 relative tolerance are the descriptors' job)."""
        for p in parameters:
            bounds = self._float_ranges.get(p.name)
            if bounds is not None and isinstance(p.value, float) and not (
                    bounds[0] <= p.value <= bounds[1]):
                return (f'{p.name} out of range: {p.value!r} is outside [{bounds[0]:g}, '
                        f'{bounds[1]:g}]')
        new = {p.name: p.value for p in parameters}
        if graph_watch.ALLOW_LIST in new:
            reason = graph_watch.check_allow_list(new[graph_watch.ALLOW_LIST])
            if reason:
                return reason
        full, empty = values_after(self, new, 'tolerance_full', 'tolerance_empty')
        if full is not None and empty is not None and full > empty:
            return (f'tolerance_full ({full:g}) must not exceed tolerance_empty ({empty:g}): '
                    'a lower battery may only accept more accuracy loss')
        return None

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        """Copy accepted values into the governor's settings; re-arm the decision timer."""
        with self._lock:
            for name, p in parameters.items():
                if name in SETTINGS:
                    setattr(self._governor.settings, name, p.value)
            if 'latency_budget_s' in parameters:
                self._budget_source = 'parameter'
            if 'log_throttle_s' in parameters:
                self._stats.throttle_s = float(parameters['log_throttle_s'].value)
        if 'decision_period_s' in parameters:
            if self._decision_timer is not None:
                self.destroy_timer(self._decision_timer)
            self._decision_timer = self.create_timer(parameters['decision_period_s'].value,
                                                     self._guarded('decision', self._decide))

    # ---------------------------------------------------------------- profile

    def _load_profile(self) -> tuple[Profile | None, str]:
        path = self.get_parameter('profile_path').value
        profile, error = None, ''
        if not path:
            error = 'profile_path is empty (no profile given)'
        else:
            try:
                profile = load_profile(path)
            except Exception as exc:            # any bad file: fall back, never stop
                error = str(exc) if path in str(exc) else f'{path}: {exc}'
            if profile is not None:
                bad = [T for T in profile.timesteps if not 1 <= T <= MAX_TIMESTEPS]
                if bad:
                    profile, error = None, (f'{path}: timesteps {bad} are outside 1..'
                                            f'{MAX_TIMESTEPS}, which perception accepts')
        if error:
            self.get_logger().error(
                f'cannot load the TopSpark profile: {error}. Publishing fallback_timesteps='
                f'{self.get_parameter("fallback_timesteps").value} instead')
        return profile, error

    # ---------------------------------------------------------------- callbacks

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_battery(self, msg: BatteryState) -> None:
        now = self._now()
        with self._lock:
            was_percent = self._governor.percent_scale
            note, error, reason = '', '', ''
            try:
                note = self._governor.battery(msg.percentage, now)
            except ValueError as exc:
                error, reason = str(exc), getattr(exc, 'reason', 'battery_out_of_range')
            level = self._governor.battery_level
            switched = self._governor.percent_scale != was_percent
            scale = self._governor.battery_scale.scale
            self._stats.counts['battery_messages'] += 1
            if not error and math.isnan(msg.percentage):
                self._stats.counts['battery_unmeasured'] += 1
        if error:
            kept = 'unknown' if level is None else f'{level:.3f}'
            self._stats.reject(reason, f'battery_state: {error}; ignored, keeping the battery '
                                       f'level {kept}')
        elif note:
            self._stats.warn('battery_read_as_empty', f'battery_state: {note}')
        if switched:
            self.get_logger().warning(
                f'battery_state: most recent percentages say this producer sends {scale}; '
                f'reading its values as {scale} from now on')

    def _on_latency_budget(self, msg: Float64, info: Any) -> None:
        if not self._gate.accepted('topspark/latency_budget', info):
            return
        value = msg.data
        if not (math.isfinite(value) and value >= 0.0):
            self._stats.reject('latency_budget_invalid',
                               f'topspark/latency_budget: {value!r} is not a number of seconds '
                               '>= 0 (0 clears the budget); ignored')
            return
        if value != self.get_parameter('latency_budget_s').value:   # no parameter event spam
            result = self.set_parameters([Parameter('latency_budget_s', Parameter.Type.DOUBLE,
                                                    float(value))])[0]
            if not result.successful:
                self._stats.reject('latency_budget_invalid',
                                   f'topspark/latency_budget: {result.reason}; ignored')
                return
        with self._lock:
            self._budget_source = 'topic'
            self._stats.counts['latency_budget_messages'] += 1

    def _on_latency(self, msg: Float64) -> None:
        with self._lock:
            try:
                used = self._governor.latency(msg.data)
                error = reason = ''
            except ValueError as exc:
                error, used = str(exc), False
                reason = getattr(exc, 'reason', 'latency_invalid')
            if used:
                self._stats.counts['latency_samples_used'] += 1
        if error:
            self._stats.reject(reason, f'topspark/latency: {error}; ignored')

    def _on_watch_change(self) -> None:
        """Who commands changed: report it now, not at the next decision."""
        with self._lock:
            decision = self._last_decision
        if decision is not None:
            self._publish_diagnostics(decision, self._now())

    def _decide(self) -> None:
        now = self._now()
        with self._lock:
            before = self._governor.current
            decision = self._governor.decide(now)
            self._last_decision = decision
            battery_changed = decision.battery != self._last_battery
            self._last_battery = decision.battery
            self.decisions += 1
        if decision.published:
            self._timesteps_pub.publish(UInt16(data=decision.timesteps))
            self.published.append((now, decision.timesteps))
            change = 'first command' if before is None else f'was {before}'
            self.get_logger().info(f'timesteps {decision.timesteps} ({change}): '
                                   f'{decision.message}')
        if battery_changed and decision.battery in ('stale', 'unmeasured'):
            self.get_logger().warning(decision.battery_note)
        self._publish_diagnostics(decision, now)

    def _publish_diagnostics(self, decision: Decision, now: float) -> None:
        self._diagnostics_pub.publish(diagnostics.array(
            self.get_clock().now().to_msg(), [self._decision_status(decision, now),
                                              self._input_status(), self._gate.status()]))

    # ---------------------------------------------------------------- diagnostics

    def counters(self) -> dict[str, int]:
        """Message counters, 'rejected_<reason>' among them (a snapshot)."""
        return self._stats.snapshot()

    @property
    def governor(self) -> TimestepGovernor:
        """The decision state (read it; change it through parameters and topics)."""
        return self._governor

    @property
    def last_decision(self) -> Decision | None:
        with self._lock:
            return self._last_decision

    def _decision_status(self, d: Decision, now: float) -> DiagnosticStatus:
        with self._lock:
            g = self._governor
            s = g.settings
            age = None if g.battery_stamp is None else now - g.battery_stamp
            values = {
                'timesteps': d.timesteps, 'target_timesteps': d.target,
                'pending_timesteps': '' if d.pending is None else d.pending,
                'reason': d.reason, 'relaxed': ', '.join(d.relaxed) or 'none',
                'battery_state': d.battery, 'battery_level': _number(g.battery_level),
                'battery_level_used': _number(d.level_used), 'battery_age_s': _number(age, 3),
                'percentage_scale': '0..100' if g.percent_scale else '0..1',
                'tolerance': _number(d.tolerance),
                'latency_budget_s': s.latency_budget_s,
                'latency_budget_source': self._budget_source,
                'energy_budget_j': s.energy_budget_j,
                'latency_adapt': s.latency_adapt, 'latency_scale': _number(d.latency_scale),
                'latency_ratio_measured': _number(g.latency_ratio),
                'latency_samples': g.latency_samples,
                'min_dwell_s': s.min_dwell_s, 'dwell_left_s': _number(d.dwell_left_s, 3),
                'changes': g.changes, 'deferred_decisions': g.deferred,
                'profile': self.get_parameter('profile_path').value,
                'profile_error': g.profile_error,
            }
        return diagnostics.status(self.get_name(), 'decision', d.level, d.message, values)

    def _input_status(self) -> DiagnosticStatus:
        report = self._stats.report()
        counts, rejected, new_rejected = (report.totals, report.total('rejected_'),
                                          report.new_total('rejected_'))
        if new_rejected:
            level = diagnostics.WARN
            message = f'{new_rejected} input(s) rejected in the last period'
        else:
            level = diagnostics.OK
            message = f'{counts.get("battery_messages", 0)} battery messages'
        values: dict[str, Any] = {
            'battery_messages': counts.get('battery_messages', 0),
            'battery_unmeasured': counts.get('battery_unmeasured', 0),
            'latency_budget_messages': counts.get('latency_budget_messages', 0),
            'latency_samples_used': counts.get('latency_samples_used', 0),
            'battery_read_as_empty': counts.get('battery_read_as_empty', 0),
            'callback_errors': counts.get('callback_errors', 0),
            'rejected': rejected,
        }
        values.update(sorted((k, v) for k, v in counts.items() if k.startswith('rejected_')))
        return diagnostics.status(self.get_name(), 'inputs', level, message, values)


def main(args: list[str] | None = None) -> int:
    """Spin the node; return 0 on SIGINT/SIGTERM."""
    return spin_node(GovernorNode, args)


if __name__ == '__main__':
    sys.exit(main())
