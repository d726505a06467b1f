# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Battery simulator: a battery drained by the robot's base load plus the SNN's reported power.

Publishes ``battery_state`` (sensor_msgs/BatteryState, reliable, which the governor's
sensor-data subscription also receives) at ``rate_hz`` and ``/diagnostics`` (1 Hz); subscribes
``topspark/power`` (std_msgs/Float64 watts, reliable, from the metrics node). So the governor
sees a battery that the perception workload itself drains, without a robot or Gazebo.

Model: an energy store of ``capacity_wh``, starting at ``initial_percentage`` (0..1). Every
tick the node integrates, over the node clock's elapsed time (ROS time: ``use_sim_time`` with
a ``/clock`` works; nothing is drained while sim time has not started or stands still, and a
clock jumping back only restarts the integration)::

    draw_w = base_load_w + compute_power_scale * last topspark/power
    energy_wh -= draw_w * elapsed_s * speedup / 3600

``compute_power_scale`` makes the SNN's power (microwatts to milliwatts on neuromorphic chips)
visible next to a robot's watts in a demo; ``speedup`` compresses time (a 10 Wh battery at
10 W lasts an hour; with ``speedup`` 60, a minute). The last topspark/power value counts until
``power_timeout_s`` passes without a new one (then 0 W and a WARN: the metrics node publishes
power every second while running). NaN, infinite or negative power messages are counted,
warned about and ignored.

Message: ``percentage`` = energy / capacity (0..1), ``voltage`` linear from ``voltage_empty`` at
0 to ``voltage_full`` at 1, ``current`` = -draw_w / voltage (negative: discharging; the modelled
draw, not multiplied by ``speedup``), ``charge``/``capacity``/``design_capacity`` in Ah at the
nominal voltage (the mean of empty and full), ``temperature`` NaN (unmeasured),
``power_supply_status`` DISCHARGING, ``present`` true. At 0 % the battery stays at 0 with
status NOT_CHARGING and current 0 (the robot is off; diagnostics WARN), unless
``recharge_at_empty`` refills it to 100 % at once (status FULL in that message; the refills are
counted), for demos that loop. Setting ``initial_percentage`` at run time sets the charge to it.

The arithmetic is ``BatteryModel`` (no ROS), so it can be tested with explicit times.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
import threading
from typing import Any

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Float64

from ..ros import diagnostics, qos
from ..ros.node_utils import (callback_exceptions, declare_checked, descriptor, EventCounters,
                              spin_node, values_after)

MAX_WATTS = 1e9


@dataclass
class BatteryModel:
    """Energy store and the linear voltage model; times are seconds of any clock."""

    capacity_wh: float
    energy_wh: float
    voltage_empty: float
    voltage_full: float
    recharge_at_empty: bool = False
    recharges: int = 0
    drained_wh: float = 0.0                     # total energy taken, across refills

    @property
    def percentage(self) -> float:
        return min(1.0, max(0.0, self.energy_wh / self.capacity_wh))

    @property
    def empty(self) -> bool:
        return self.energy_wh <= 0.0

    @property
    def voltage(self) -> float:
        return self.voltage_empty + self.percentage * (self.voltage_full - self.voltage_empty)

    @property
    def nominal_voltage(self) -> float:
        return 0.5 * (self.voltage_empty + self.voltage_full)

    def set_percentage(self, percentage: float) -> None:
        self.energy_wh = percentage * self.capacity_wh

    def drain(self, draw_w: float, seconds: float) -> bool:
        """Take ``draw_w`` for ``seconds`` (already sped up); True if it just became empty, or
        was refilled (recharge_at_empty, also when it started empty). Without
        recharge_at_empty an empty battery stays at 0."""
        if not self.empty:
            if seconds <= 0.0:
                return False
            taken = min(self.energy_wh, draw_w * seconds / 3600.0)
            self.energy_wh -= taken
            self.drained_wh += taken
            if self.energy_wh > 1e-12 * self.capacity_wh:
                return False
            self.energy_wh = 0.0
        elif not self.recharge_at_empty:
            return False
        if self.recharge_at_empty:
            self.energy_wh = self.capacity_wh
            self.recharges += 1
        return True


class BatterySimNode(Node):
    """Publishes a simulated BatteryState drained by base load plus reported compute power."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('battery_sim', **kwargs)
        declare_checked(self, [
            ('rate_hz', 5.0, descriptor('battery_state messages per second.',
                                        floats=(0.01, 1000.0))),
            ('capacity_wh', 10.0, descriptor(
                'Energy capacity in watt-hours (> 0). A change keeps the percentage.',
                floats=(0.0, 1e9))),
            ('initial_percentage', 1.0, descriptor(
                'Charge at start, 0..1; setting it at run time sets the charge to it.',
                floats=(0.0, 1.0))),
            ('base_load_w', 10.0, descriptor(
                "Watts the rest of the robot draws (motors, sensors, computer).",
                floats=(0.0, MAX_WATTS))),
            ('compute_power_scale', 1.0, descriptor(
                'Factor on topspark/power (the SNN power from the metrics node), to make it '
                'visible in a demo; 1: as reported.', floats=(0.0, 1e12))),
            ('speedup', 1.0, descriptor(
                'Simulated battery seconds per clock second (> 0): 60 drains in a minute what '
                'takes an hour.', floats=(0.0, 1e9))),
            ('voltage_empty', 10.5, descriptor('Voltage at 0 % (linear model).',
                                               floats=(0.0, 10000.0))),
            ('voltage_full', 12.6, descriptor(
                'Voltage at 100 %; must exceed voltage_empty.', floats=(0.0, 10000.0))),
            ('recharge_at_empty', False, descriptor(
                'Refill to 100 % on reaching 0 % (loops a demo) instead of staying empty.')),
            ('power_timeout_s', 5.0, descriptor(
                'A topspark/power value older than this no longer counts (0 W, WARN); '
                '0: it counts until the next one.', floats=(0.0, 86400.0))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0))),
        ], self._check_parameters, self._apply)

        p = {name: param.value for name, param in self.get_parameters_by_prefix('').items()}
        self._lock = threading.Lock()           # model, power input, counters
        self._stats = EventCounters(self.get_logger(), self._lock)
        self._timer: Timer | None = None
        self._model = BatteryModel(p['capacity_wh'], p['initial_percentage'] * p['capacity_wh'],
                                   p['voltage_empty'], p['voltage_full'], p['recharge_at_empty'])
        self._last_t: float | None = None       # clock seconds of the last integration
        self._power_w: float | None = None      # last accepted topspark/power
        self._power_t: float | None = None
        self._draw_w = 0.0
        self._was_empty = self._model.empty
        self.last_state: BatteryState | None = None
        self._running = False                   # initial_percentage: charge set above
        self._apply(self.get_parameters_by_prefix(''))
        self._running = True

        self._state_pub = self.create_publisher(BatteryState, 'battery_state', qos.RESULTS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.RESULTS)
        self._power_sub = self.create_subscription(Float64, 'topspark/power', self._on_power,
                                                   qos.RESULTS)
        self.create_timer(1.0, self._on_diagnostics_timer)
        self.get_logger().info(
            f'ready: {p["capacity_wh"]:g} Wh at {100 * self._model.percentage:.1f} %, base load '
            f'{p["base_load_w"]:g} W + {p["compute_power_scale"]:g} x '
            f'{self._power_sub.topic_name}, speedup {p["speedup"]:g}, publishing '
            f'{self._state_pub.topic_name} at {p["rate_hz"]:g} Hz')

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Checks the descriptors cannot express (> 0, cross-parameter)."""
        new = {p.name: p.value for p in parameters}
        reason = None
        for name in ('capacity_wh', 'speedup'):
            if name in new and isinstance(new[name], float) and not new[name] > 0.0:
                reason = f'{name} must be > 0, got {new[name]:g}'
        empty, full = values_after(self, new, 'voltage_empty', 'voltage_full')
        if (not reason and isinstance(empty, float) and isinstance(full, float)
                and not full > empty):
            reason = (f'voltage_full ({full:g}) must exceed voltage_empty ({empty:g})')
        return reason

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        value = {name: p.value for name, p in parameters.items()}
        with self._lock:
            m = self._model
            if 'capacity_wh' in value:
                percentage = m.percentage
                m.capacity_wh = float(value['capacity_wh'])
                m.set_percentage(percentage)
            if self._running and 'initial_percentage' in value:
                m.set_percentage(float(value['initial_percentage']))    # at run time only
                self._was_empty = m.empty
            for name in ('voltage_empty', 'voltage_full', 'recharge_at_empty'):
                if name in value:
                    setattr(m, name, value[name])
            for name in ('base_load_w', 'compute_power_scale', 'speedup', 'power_timeout_s'):
                if name in value:
                    setattr(self, f'_{name}', float(value[name]))
            if 'log_throttle_s' in value:
                self._stats.throttle_s = float(value['log_throttle_s'])
        if 'rate_hz' in value:
            self._rate_hz = float(value['rate_hz'])
            if self._timer is not None:
                self.destroy_timer(self._timer)
            self._timer = self.create_timer(1.0 / self._rate_hz, self._on_timer)

    # ---------------------------------------------------------------- callbacks

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_power(self, msg: Float64) -> None:
        watts = msg.data
        if not (math.isfinite(watts) and 0.0 <= watts <= MAX_WATTS):
            self._stats.reject('power',
                               f'{self._power_sub.topic_name}: {watts!r} is not a number of '
                               f'watts in 0..{MAX_WATTS:g}; ignored')
            return
        now = self._now()
        with self._lock:
            self._power_w, self._power_t = float(watts), now
            self._stats.counts['power_messages'] += 1

    def _compute_power(self, now: float) -> tuple[float, str]:
        """Watts of topspark/power that count now, and 'ok' | 'none' | 'stale' (lock held)."""
        if self._power_w is None or self._power_t is None:
            return 0.0, 'none'
        age = now - self._power_t
        if self._power_timeout_s > 0.0 and (age > self._power_timeout_s or age < 0.0):
            return 0.0, 'stale'
        return self._power_w, 'ok'

    def _on_timer(self) -> None:
        clock_now = self.get_clock().now()
        now = clock_now.nanoseconds * 1e-9
        with self._lock:
            m = self._model
            compute_w, _ = self._compute_power(now)
            self._draw_w = self._base_load_w + self._compute_power_scale * compute_w
            recharged = False
            if now <= 0.0:
                pass                            # sim time not started: nothing to integrate
            elif self._last_t is None or now < self._last_t:
                if self._last_t is not None:
                    self._stats.counts['clock_jumps_back'] += 1
                self._last_t = now
            else:
                recharges = m.recharges
                m.drain(self._draw_w, (now - self._last_t) * self._speedup)
                recharged = m.recharges > recharges
                self._last_t = now
            empty = m.empty
            became_empty = empty and not self._was_empty
            self._was_empty = empty
            msg = self._message(clock_now.to_msg(), recharged)
        self._state_pub.publish(msg)
        self.last_state = msg
        if became_empty:
            self.get_logger().warning('battery empty (0 %): it stays at 0; set '
                                      'initial_percentage to refill, or recharge_at_empty')
        if recharged:
            self.get_logger().info(f'battery empty: refilled to 100 % (recharge_at_empty, '
                                   f'{m.recharges} so far)')

    def _message(self, stamp: Time, recharged: bool) -> BatteryState:
        """The BatteryState of the model, stamped ``stamp`` (lock held)."""
        m = self._model
        msg = BatteryState()
        msg.header.stamp = stamp
        msg.voltage = m.voltage
        msg.temperature = math.nan
        msg.percentage = m.percentage
        ah = 1.0 / m.nominal_voltage if m.nominal_voltage > 0 else math.nan
        msg.charge = m.energy_wh * ah
        msg.capacity = m.capacity_wh * ah
        msg.design_capacity = msg.capacity
        msg.power_supply_health = BatteryState.POWER_SUPPLY_HEALTH_GOOD
        msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_UNKNOWN
        msg.present = True
        if recharged:
            msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_FULL
            msg.current = 0.0
        elif m.empty:
            msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_NOT_CHARGING
            msg.current = 0.0
        else:
            msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
            msg.current = -self._draw_w / m.voltage if m.voltage > 0 else math.nan
        return msg

    # ---------------------------------------------------------------- diagnostics

    def counters(self) -> dict[str, int]:
        """power_messages, clock_jumps_back, rejected_power (a snapshot)."""
        return self._stats.snapshot()

    @property
    def model(self) -> BatteryModel:
        """The battery state (read it; change it through parameters)."""
        return self._model

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(self.get_clock().now().to_msg(),
                                                        [self._status()]))

    def _status(self) -> DiagnosticStatus:
        now = self._now()
        report = self._stats.report({'callback_exceptions': callback_exceptions(self)})
        counts = report.totals
        with self._lock:
            m = self._model
            compute_w, power_state = self._compute_power(now)
            draw_w = self._base_load_w + self._compute_power_scale * compute_w
            rate_wh_s = draw_w * self._speedup / 3600.0
            values: dict[str, Any] = {
                'percentage': m.percentage, 'energy_wh': m.energy_wh,
                'capacity_wh': m.capacity_wh, 'voltage': m.voltage, 'draw_w': draw_w,
                'base_load_w': self._base_load_w, 'compute_power_w': compute_w,
                'compute_power_scale': self._compute_power_scale,
                'compute_power_state': power_state, 'speedup': self._speedup,
                'time_to_empty_s': (m.energy_wh / rate_wh_s if rate_wh_s > 0 and not m.empty
                                    else (0.0 if m.empty else math.inf)),
                'drained_wh': m.drained_wh, 'recharges': m.recharges,
                'power_messages': counts.get('power_messages', 0),
                'rejected_power': counts.get('rejected_power', 0),
                'clock_jumps_back': counts.get('clock_jumps_back', 0),
                'callback_exceptions': counts['callback_exceptions'],
            }
            empty = m.empty
        new_rejected = report.new.get('rejected_power', 0)
        topic = self._power_sub.topic_name
        if report.new['callback_exceptions']:
            level = diagnostics.ERROR
            message = (f'{report.new["callback_exceptions"]} callback exception(s) in the last '
                       'period (traceback in the log)')
        elif empty:
            level, message = diagnostics.WARN, 'battery empty (0 %)'
        elif new_rejected:
            level = diagnostics.WARN
            message = f'{new_rejected} {topic} message(s) rejected in the last period'
        elif power_state == 'stale':
            level = diagnostics.WARN
            message = (f'{topic} is stale (none for power_timeout_s {self._power_timeout_s:g} '
                       's): base load only')
        else:
            level = diagnostics.OK
            message = f'{100 * values["percentage"]:.1f} %, drawing {draw_w:.3g} W' + (
                f' (no {topic} yet)' if power_state == 'none' else '')
        return diagnostics.status(self.get_name(), 'battery', level, message, values)


def main(args: list[str] | None = None) -> int:
    """Spin the node; return 0 on SIGINT/SIGTERM."""
    return spin_node(BatterySimNode, args)


if __name__ == '__main__':
    sys.exit(main())
