# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Metrics node: perception's per-sample work in, joules, power and TopSpark savings out.

Subscribes ``topspark/activity`` (diagnostic_msgs/DiagnosticArray, one status per sample, as
the perception node publishes it; keys, types and ranges: ``topspark_ros.activity``) and
publishes, all reliable:

- ``topspark/energy/sample`` (std_msgs/Float64): joules of the last sample;
- ``topspark/energy/total`` (Float64): joules of every accepted sample since the node started
  (across platform changes: each sample is charged on the platform configured when it arrived);
- ``topspark/power`` (Float64): watts over a moving window of ``power_window_s`` seconds of wall
  time (monotonic clock): the energy of the samples that arrived in the window divided by the
  window length, or by the time since the node started when that is shorter. Published with
  every sample and, when ``power_period_s`` > 0, periodically, so it decays to 0 when samples
  stop;
- ``topspark/energy/savings`` (Float64): estimated energy of the same sample at the baseline
  timestep ``baseline_timesteps`` divided by its actual energy (see "Savings estimate");
- ``/diagnostics`` at 1 Hz: platform, counters, total, mean energy per sample, power, savings.

Energy model: ``platform`` names one of ``topspark_ros.energy.PLATFORMS`` (per-operation
energies charged on the published counts with ``energy_per_sample``; weight updates are charged
only for ``mode`` 'learn') or ``cpu``: the measured ``compute_seconds`` x ``cpu_power_w``
(``cpu_energy``, TopSpark's own power x time). A learn sample on a platform without on-chip
learning (truenorth) is charged its inference energy only and counted as
``learning_not_charged`` (diagnostics WARN): training energy is undefined there, and skipping
the sample would understate power even more. Static power, where a platform has one, is charged
over the sample's duration on the chip, ``timesteps`` x ``dt_ms`` (both from the report).

Savings estimate. Nobody ran the sample at the baseline T, so its counts are scaled by
``r = baseline_timesteps / timesteps``, only for the terms that are proportional to T:

- ``neuron_updates`` (clock-driven: N x T, or 2 x N x T with an inhibitory layer): exact;
- for frame input (``source`` other than 'events'), the Poisson ``input_spikes`` and their
  synaptic events (``input_spikes x n_neurons`` of ``synaptic_events``): proportional to T in
  expectation. Event-camera input is not scaled: the event window is fixed, T only bins it;
- everything else is kept as measured: excitatory and inhibitory spikes, the lateral part of
  ``synaptic_events``, and ``weight_updates``. Output spiking does not scale simply with T
  (adaptive thresholds, winner-take-all, no spike at all in short samples), so for T below the
  baseline this under-estimates the baseline energy: the savings ratio errs low (conservative).

Dense platforms charge T x (n_inputs x N + lateral) MACs and (2T + 1) x n_inputs x N learning
writes from T itself, so their baseline is exact. For ``cpu`` the baseline time is
``(compute_seconds - snn_seconds) + snn_seconds x r``: conversion and readout are fixed per
sample, the encoding and simulation scale with T (all of ``compute_seconds`` is scaled when
``snn_seconds`` is absent). At T = baseline every term is unchanged, so the ratio is exactly 1.
A sample with zero actual energy has ratio 1 if its baseline is zero too, else no finite ratio:
it is not published and is counted as ``savings_undefined``.

Bad activity messages (empty, or any ``ActivityError`` of ``ActivityReport.from_values``:
missing keys, an unknown schema version, non-numeric, NaN/Inf, negative, fractional or
out-of-range counts such as 2^63 synaptic events, unknown mode or inhibition; and counts the
energy model rejects, 'inconsistent_counts') are counted per reason, warned about at most once
per ``log_throttle_s`` each, and skipped; the node keeps running. Diagnostics also count the
node's ``callback_exceptions`` (ERROR in the period one happened).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, replace
import math
import sys
import threading
import time
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from std_msgs.msg import Float64

from ..activity import ActivityError, ActivityReport
from ..energy import cpu_energy, EnergyBreakdown, energy_per_sample, PLATFORMS
from ..ros import diagnostics, qos
from ..ros.diagnostics import values_of
from ..ros.node_utils import (callback_exceptions, declare_checked, descriptor, EventCounters,
                              spin_node)

CPU = 'cpu'
KNOWN_PLATFORMS = (CPU,) + tuple(sorted(PLATFORMS))


def check_platform(name: Any) -> str | None:
    """None when ``name`` is a known platform, else the reason (for a parameter callback)."""
    if name in KNOWN_PLATFORMS:
        return None
    return f'unknown energy platform {name!r}; known platforms: {", ".join(KNOWN_PLATFORMS)}'


def _scaled(count: int, timesteps: int, baseline: int) -> int:
    """count x baseline / timesteps, rounded half up, in exact integer arithmetic."""
    return (2 * count * baseline + timesteps) // (2 * timesteps)


def baseline_activity(activity: ActivityReport, baseline_timesteps: int) -> ActivityReport:
    """The sample's estimated work at ``baseline_timesteps`` (module docstring, "Savings").

    Raises ActivityError ('out_of_range') when a scaled count leaves the contract's range.
    """
    ops = activity.ops
    T, Tb = ops.timesteps, baseline_timesteps
    if T == Tb:
        return activity                 # exactly the same work: the ratio is exactly 1
    changes = {'timesteps': Tb, 'neuron_updates': _scaled(ops.neuron_updates, T, Tb)}
    if not activity.event_input:
        input_events = min(ops.input_spikes * activity.n_neurons, ops.synaptic_events)
        lateral = ops.synaptic_events - input_events
        changes['input_spikes'] = _scaled(ops.input_spikes, T, Tb)
        changes['synaptic_events'] = lateral + _scaled(input_events, T, Tb)
    scaling_s = activity.compute_seconds if activity.snn_seconds is None else activity.snn_seconds
    scaled_s = scaling_s * Tb / T
    fixed_s = activity.compute_seconds - scaling_s      # >= 0, so compute >= snn stays true
    return replace(activity, ops=replace(ops, **changes), compute_seconds=fixed_s + scaled_s,
                   snn_seconds=None if activity.snn_seconds is None else scaled_s)


@dataclass(frozen=True)
class SampleEnergy:
    """Joules charged for one sample, and its baseline estimate."""

    energy_j: float
    baseline_j: float
    breakdown: EnergyBreakdown | None   # None on 'cpu'
    learning_charged: bool              # False: a learn sample on a platform without learning

    @property
    def savings(self) -> float | None:
        """baseline / actual; 1 when both are 0; None when only the actual energy is 0."""
        if self.energy_j > 0:
            return self.baseline_j / self.energy_j
        return 1.0 if self.baseline_j == 0 else None


def _charge(activity: ActivityReport, platform: str, cpu_power_w: float
            ) -> tuple[float, EnergyBreakdown | None, bool]:
    if platform == CPU:
        return cpu_energy(activity.compute_seconds, cpu_power_w), None, True
    plat = PLATFORMS[platform]
    learning = activity.learning and plat.supports_learning
    try:
        breakdown = energy_per_sample(
            activity.ops, plat, learning, activity.n_inputs, activity.n_neurons,
            activity.inhibition_layer, duration_s=activity.duration_s)
    except ValueError as exc:
        raise ActivityError('inconsistent_counts', str(exc)) from None
    return breakdown.total_j, breakdown, learning == activity.learning


def sample_energy(activity: ActivityReport, platform: str, cpu_power_w: float,
                  baseline_timesteps: int) -> SampleEnergy:
    """Charge one sample on ``platform`` (a KNOWN_PLATFORMS name), and its baseline."""
    energy_j, breakdown, charged = _charge(activity, platform, cpu_power_w)
    baseline_j, _, _ = _charge(baseline_activity(activity, baseline_timesteps), platform,
                               cpu_power_w)
    return SampleEnergy(energy_j, baseline_j, breakdown, charged)


class EnergyWindow:
    """Energy of the samples of the last ``length_s`` seconds, for a moving-window power.

    Times are any monotonic clock's seconds; ``start_s`` is when observation began.
    """

    def __init__(self, length_s: float, start_s: float) -> None:
        self.length_s = length_s
        self.start_s = start_s
        self._samples: collections.deque[tuple[float, float]] = collections.deque()

    def add(self, t_s: float, energy_j: float) -> None:
        self._samples.append((t_s, energy_j))

    def power_w(self, now_s: float) -> float:
        """Joules in (now - length, now] over min(length, now - start); 0 before any time."""
        while self._samples and self._samples[0][0] <= now_s - self.length_s:
            self._samples.popleft()
        span = min(self.length_s, now_s - self.start_s)
        if span <= 0:
            return 0.0
        return math.fsum(j for t, j in self._samples if t <= now_s) / span


class MetricsNode(Node):
    """Turns topspark/activity into energy per sample, total energy, power and savings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('metrics', **kwargs)
        declare_checked(self, [
            ('platform', 'loihi', descriptor(
                'Energy model charged per sample: one of ' + ', '.join(KNOWN_PLATFORMS) +
                ' (cpu: compute_seconds x cpu_power_w; the others: per-operation energies of '
                'topspark_ros.energy). May change at run time; the next sample uses it.')),
            ('cpu_power_w', 15.0, descriptor(
                "Watts of the CPU running perception, for platform 'cpu' (a measured average "
                'or RAPL figure of your machine; 15 W is only a laptop-class placeholder).',
                floats=(0.0, 100000.0))),
            ('baseline_timesteps', 350, descriptor(
                'Timestep T the savings ratio compares against (350: the TopSpark baseline).',
                integers=(1, 1000000))),
            ('power_window_s', 10.0, descriptor(
                'Seconds of wall time of the moving window topspark/power averages over.',
                floats=(0.001, 86400.0))),
            ('power_period_s', 1.0, descriptor(
                'Seconds between periodic topspark/power messages (so power decays when '
                'samples stop); 0: only with each sample.', floats=(0.0, 3600.0))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.',
                floats=(0.0, 3600.0))),
        ], self._check_parameters, self._apply)

        self._clock_s: Callable[[], float] = time.monotonic     # the power window's clock
        self._lock = threading.Lock()           # totals, window, counters (read by diagnostics)
        self._stats = EventCounters(self.get_logger(), self._lock)
        self._total_j = 0.0
        self._baseline_total_j = 0.0            # of the samples whose savings are defined
        self._charged_total_j = 0.0             # their actual energy
        self._last: SampleEnergy | None = None
        self._power_timer: Timer | None = None
        self._window = EnergyWindow(self.get_parameter('power_window_s').value, self._clock_s())
        self._apply(self.get_parameters_by_prefix(''))

        self._sample_pub = self.create_publisher(Float64, 'topspark/energy/sample', qos.RESULTS)
        self._total_pub = self.create_publisher(Float64, 'topspark/energy/total', qos.RESULTS)
        self._power_pub = self.create_publisher(Float64, 'topspark/power', qos.RESULTS)
        self._savings_pub = self.create_publisher(Float64, 'topspark/energy/savings', qos.RESULTS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.RESULTS)
        self._activity_sub = self.create_subscription(
            DiagnosticArray, 'topspark/activity', self._on_activity,
            qos.ACTIVITY)
        self.create_timer(1.0, self._on_diagnostics_timer)
        self.get_logger().info(
            f'ready: platform {self._platform}, baseline T={self._baseline_timesteps}, power '
            f'window {self._window.length_s} s, listening on {self._activity_sub.topic_name}')

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Validation only (types and ranges are checked by the descriptors)."""
        for p in parameters:
            if p.name == 'platform':
                reason = check_platform(p.value)
                if reason:
                    return reason
        return None

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        value = {name: p.value for name, p in parameters.items()}
        with self._lock:
            if 'platform' in value:
                old = getattr(self, '_platform', None)
                self._platform = value['platform']
                if old is not None and old != self._platform:
                    self.get_logger().info(f'energy platform: {old} -> {self._platform}')
            if 'cpu_power_w' in value:
                self._cpu_power_w = float(value['cpu_power_w'])
            if 'baseline_timesteps' in value:
                self._baseline_timesteps = int(value['baseline_timesteps'])
            if 'power_window_s' in value:
                self._window.length_s = float(value['power_window_s'])
            if 'log_throttle_s' in value:
                self._stats.throttle_s = float(value['log_throttle_s'])
        if 'power_period_s' in value:
            if self._power_timer is not None:
                self.destroy_timer(self._power_timer)
                self._power_timer = None
            if value['power_period_s'] > 0:
                self._power_timer = self.create_timer(value['power_period_s'],
                                                      self._on_power_timer)

    # ---------------------------------------------------------------- callbacks

    def _on_activity(self, msg: DiagnosticArray) -> None:
        now = self._clock_s()
        topic = self._activity_sub.topic_name
        if not msg.status:
            self._stats.reject('empty', f'{topic}: message without a status; skipped')
        for status in msg.status:
            with self._lock:
                platform, cpu_w, baseline = (self._platform, self._cpu_power_w,
                                             self._baseline_timesteps)
            try:
                result = sample_energy(ActivityReport.from_values(values_of(status)),
                                       platform, cpu_w, baseline)
            except ActivityError as exc:
                self._stats.reject(exc.reason, f'{topic}: {exc}; skipped')
                continue
            self._account(now, platform, result)

    def _account(self, now: float, platform: str, result: SampleEnergy) -> None:
        savings = result.savings
        with self._lock:
            self._stats.counts['samples'] += 1
            self._total_j += result.energy_j
            self._window.add(now, result.energy_j)
            power = self._window.power_w(now)
            total = self._total_j
            self._last = result
            if savings is None:
                self._stats.counts['savings_undefined'] += 1
            else:
                self._baseline_total_j += result.baseline_j
                self._charged_total_j += result.energy_j
        if not result.learning_charged:
            self._stats.warn('learning_not_charged',
                             f'platform {platform} has no on-chip learning: learn samples are '
                             'charged their inference energy only')
        self._sample_pub.publish(Float64(data=result.energy_j))
        self._total_pub.publish(Float64(data=total))
        self._power_pub.publish(Float64(data=power))
        if savings is not None:
            self._savings_pub.publish(Float64(data=savings))

    def _on_power_timer(self) -> None:
        self._power_pub.publish(Float64(data=self.power_w()))

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(self.get_clock().now().to_msg(),
                                                        [self._status()]))

    # ---------------------------------------------------------------- counters, diagnostics

    def counters(self) -> dict[str, int]:
        """samples, learning_not_charged, savings_undefined and 'rejected_<reason>' counts."""
        return self._stats.snapshot()

    @property
    def total_j(self) -> float:
        with self._lock:
            return self._total_j

    def power_w(self) -> float:
        """Watts over the moving window, now."""
        with self._lock:
            return self._window.power_w(self._clock_s())

    def _status(self) -> DiagnosticStatus:
        report = self._stats.report({'callback_exceptions': callback_exceptions(self)})
        counts = report.totals
        power = self.power_w()
        with self._lock:
            platform, total, last = self._platform, self._total_j, self._last
            cumulative = (self._baseline_total_j / self._charged_total_j
                          if self._charged_total_j > 0 else math.nan)
            window = self._window.length_s
        samples = counts.get('samples', 0)
        uncharged = counts.get('learning_not_charged', 0)
        if report.new['callback_exceptions']:
            level = diagnostics.ERROR
            message = (f'{report.new["callback_exceptions"]} callback exception(s) in the last '
                       'period (traceback in the log)')
        elif report.new_total('rejected_'):
            level = diagnostics.WARN
            message = (f'{report.new_total("rejected_")} activity message(s) rejected in the '
                       'last period')
        elif report.new.get('learning_not_charged'):
            level = diagnostics.WARN
            message = (f'{report.new["learning_not_charged"]} learn sample(s) charged without '
                       f'learning energy: {platform} has no on-chip learning')
        elif not samples:
            level, message = diagnostics.OK, 'waiting for topspark/activity'
        else:
            level, message = diagnostics.OK, f'{samples} samples charged on {platform}'
        values: dict[str, Any] = {
            'platform': platform, 'samples': samples, 'total_energy_j': total,
            'mean_energy_per_sample_j': total / samples if samples else math.nan,
            'power_w': power, 'power_window_s': window,
            'last_energy_j': last.energy_j if last else math.nan,
            'last_savings': (last.savings if last and last.savings is not None else math.nan),
            'cumulative_savings': cumulative,
            'baseline_timesteps': self._baseline_timesteps,
            'learning_not_charged': uncharged,
            'savings_undefined': counts.get('savings_undefined', 0),
            'callback_exceptions': counts['callback_exceptions'],
            'rejected': report.total('rejected_'),
        }
        if last is not None and last.breakdown is not None:
            values.update({f'last_{k}': v for k, v in last.breakdown.as_dict().items()
                           if k != 'total_j'})
        values.update(sorted((k, v) for k, v in counts.items() if k.startswith('rejected_')))
        return diagnostics.status(self.get_name(), 'energy', level, message, values)


def main(args: list[str] | None = None) -> int:
    """Spin the node; return 0 on SIGINT/SIGTERM."""
    return spin_node(MetricsNode, args)


if __name__ == '__main__':
    sys.exit(main())
