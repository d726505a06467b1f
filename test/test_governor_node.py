# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Governor: the decision logic with explicit times, then the node with real rclpy.

The synthetic profile below gives, with the default tolerances (0.01 full, 0.10 at the 0.2
reserve; tolerance = 0.01 + (1 - level) / 0.8 * 0.09 above it):

    level 1.0 -> floor 0.89 -> T=350    level 0.66 -> floor 0.852 -> T=100
    level 0.1 -> floor 0.80 -> T=30     level 0.62 -> floor 0.847 -> T=50
    no / stale / NaN battery -> tolerance_full -> T=350 (accuracy first)

Every ROS test gets its own Context (domain id from the pid, offset from the other node tests)
and namespace (ros_helpers.py). Inputs are published until the expected effect shows, within a
generous bound; "nothing changed" is checked after the node has made several more decisions,
never after a sleep; no test asserts on timing. Run with ROS_PYTHON_CHECK_FIELDS=1.
"""

import math
import os
import signal

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.exceptions import InvalidParameterValueException
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data, ReliabilityPolicy
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Float64, UInt16

from topspark_ros.nodes.governor import (GovernorNode, GovernorSettings, LATENCY_SETTLE_SAMPLES,
                                         TimestepGovernor)
from topspark_ros.ros import diagnostics
from topspark_ros.ros.diagnostics import values_of
from topspark_ros.topspark import Profile, ProfileEntry
from topspark_ros.topspark.inputs import InputError, MAX_LATENCY_S

from ros_helpers import domain_id, finish, Graph, RecordingNode, start_module, wait_until

DOMAIN_ID = domain_id(33)
PROCESS_DOMAIN_ID = domain_id(83)                  # for the node started as a process


def entry(T: int, acc: float, lat_us: float, energy_uj: float) -> ProfileEntry:
    return ProfileEntry(T, acc, acc - 0.05, 2 * lat_us * 1e-6, lat_us * 1e-6,
                        2 * energy_uj * 1e-6, energy_uj * 1e-6, params={'T': T})


PROFILE = Profile(350, 'test', (entry(350, 0.90, 110, 35.0), entry(100, 0.88, 40, 10.0),
                                entry(50, 0.85, 25, 5.0), entry(30, 0.80, 18, 3.0)))


@pytest.fixture
def profile_path(tmp_path) -> str:
    return str(PROFILE.save(tmp_path / 'profile.yaml'))


# ------------------------------------------------------------------------------ logic, no ROS


def test_dwell_defers_a_change_until_it_has_passed():
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.3))
    first = g.decide(0.0)
    assert first.published and first.timesteps == 350 and first.battery == 'none'
    assert first.level == diagnostics.WARN                      # battery unknown
    g.battery(0.1, 0.05)
    held = g.decide(0.1)
    assert not held.published and held.timesteps == 350 and held.pending == 30
    assert held.dwell_left_s == pytest.approx(0.2) and 'min_dwell_s' in held.message
    changed = g.decide(0.3)
    assert changed.published and changed.timesteps == 30 and changed.pending is None
    assert changed.level == diagnostics.OK
    g.battery(1.0, 0.35)
    assert g.decide(0.5).pending == 350
    assert g.decide(0.61).timesteps == 350 and g.changes == 3 and g.deferred == 2
    assert g.decide(0.62).published is False                    # unchanged: nothing to publish


def test_hysteresis_keeps_the_level_until_it_moved_enough():
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0))
    g.battery(0.66, 0.0)
    assert g.decide(0.0).timesteps == 100
    for level in (0.64, 0.67, 0.64):                           # jitter around the 100/50 step
        g.battery(level, 0.1)
        d = g.decide(0.1)
        assert d.timesteps == 100 and d.level_used == 0.66
    g.battery(0.62, 0.2)
    assert g.decide(0.2).timesteps == 50
    g.settings.battery_hysteresis = 0.0
    g.battery(0.64, 0.3)
    assert g.decide(0.3).timesteps == 50 and g.decide(0.3).level_used == 0.64
    g.battery(0.66, 0.4)
    assert g.decide(0.4).timesteps == 100


def test_battery_normalisation_stale_and_unmeasured():
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0, battery_timeout_s=1.0))
    g.battery(0.1, 0.0)
    assert g.decide(0.5).timesteps == 30
    stale = g.decide(1.6)
    assert stale.timesteps == 350 and stale.battery == 'stale' and stale.level_used is None
    assert stale.level == diagnostics.WARN and 'stale' in stale.message
    g.battery(math.nan, 2.0)
    unmeasured = g.decide(2.0)
    assert unmeasured.battery == 'unmeasured' and unmeasured.timesteps == 350
    g.battery(0.1, 2.1)
    assert g.decide(2.1).timesteps == 30
    assert g.decide(1.0).battery == 'stale'                     # the clock jumped back
    for bad in (-0.1, 100.5, math.inf, -math.inf):
        with pytest.raises(InputError, match='outside') as refused:
            g.battery(bad, 3.0)
        assert refused.value.reason == 'battery_out_of_range'
    assert g.battery_level == pytest.approx(0.1) and not g.percent_scale
    assert g.battery_stamp == 2.1                               # refused: the time is kept too

    percent = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0))
    percent.battery(50.0, 0.0)                                  # a 0..100 producer ...
    assert percent.percent_scale and percent.battery_level == pytest.approx(0.5)
    for t, value in enumerate((20.0, 4.0, 1.2, 0.9), 1):        # ... at 0.9 %, not 90 %
        percent.battery(value, t)
    assert percent.battery_level == pytest.approx(0.009) and percent.decide(9.0).timesteps == 30


def test_one_value_above_1_does_not_change_the_scale_for_good():
    """A 0..1 producer's glitch in (1, 100] is refused, and a real 0.8 still reads 0.8 (it
    read 0.008, and T dropped to the low-battery choice, when one glitch latched 0..100)."""
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0))
    for t in range(5):
        g.battery(0.8, t * 0.1)
    for glitch in (50.0, 100.0, 1.5):
        with pytest.raises(InputError) as refused:
            g.battery(glitch, 0.6)
        assert refused.value.reason == 'battery_scale_mismatch'
        g.battery(0.8, 0.7)
        assert g.battery_level == pytest.approx(0.8) and not g.percent_scale
    assert g.decide(0.8).timesteps == 100 and g.decide(0.8).battery == 'ok'   # 0.008: 30


def linear_battery_plugin(percent_scale: bool, rate_hz: float = 10.0, drained_s: float = 60.0):
    """(sim time, percentage) as a draining Gazebo LinearBatteryPlugin publishes them: from
    full to empty in 332 s (the shipped world), then frozen just below 0 (the plugin stops the
    charge only once it went negative) for ``drained_s``; 0..100 with fix_issue_225."""
    full_s, frozen = 332.0, -4.6e-7
    scale = 100.0 if percent_scale else 1.0
    for i in range(int((full_s + drained_s) * rate_hz)):
        t = i / rate_hz
        soc = 1.0 - t / full_s if t < full_s else frozen
        yield t, soc * scale


@pytest.mark.parametrize('percent_scale', [True, False], ids=['0..100', '0..1'])
def test_whole_drain_to_below_zero_ends_at_the_low_battery_choice(percent_scale):
    """Through a whole drain T only goes down, and at the empty battery (tiny negative
    percentages for ever) it stays at the cheapest T: the reading neither goes stale nor is
    refused, so the safe accuracy-first rule never takes over (T went back 30 -> 350)."""
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=2.0, battery_timeout_s=5.0))
    chosen, refused, notes = [], 0, set()
    for t, percentage in linear_battery_plugin(percent_scale):
        try:
            if g.battery(percentage, t):
                notes.add(g.battery_remark)
        except ValueError:
            refused += 1
        d = g.decide(t)
        assert d.battery == 'ok', (t, percentage, d.message)
        chosen.append(d.timesteps)
    assert refused == 0
    assert all(a >= b for a, b in zip(chosen, chosen[1:])), sorted(set(chosen))
    assert chosen[0] == 350 and chosen[-1] == 30 and g.percent_scale == percent_scale
    assert g.battery_level == 0.0 and d.level_used < g.settings.battery_reserve
    assert d.tolerance == pytest.approx(g.settings.tolerance_empty)
    assert d.level == diagnostics.OK and 'read as empty' in d.message
    assert notes and all('read as empty' in n for n in notes)


def test_latency_scale_and_fallback():
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0, latency_budget_s=200e-6))
    g.battery(1.0, 0.0)
    assert g.decide(0.0).timesteps == 350
    assert not g.latency(330e-6) and not g.latency(330e-6)      # settling after the change
    assert g.latency(330e-6) and g.latency_ratio == pytest.approx(3.0)
    assert g.decide(0.1).timesteps == 350 and g.latency_scale == 1.0    # not adapting
    g.settings.latency_adapt = True
    d = g.decide(0.2)
    assert d.timesteps == 100 and d.relaxed == ('accuracy',)
    assert d.latency_scale == pytest.approx(3.0)
    assert 'scaled x3' in d.message and 'latency 120.0 us' in d.reason
    for bad, reason in ((0.0, 'latency_not_positive'), (-1.0, 'latency_not_positive'),
                        (math.nan, 'latency_not_finite'), (math.inf, 'latency_not_finite'),
                        (-math.inf, 'latency_not_finite'), (1e308, 'latency_implausible'),
                        (MAX_LATENCY_S * 1.001, 'latency_implausible')):
        with pytest.raises(InputError) as refused:
            g.latency(bad)
        assert refused.value.reason == reason
    assert g.latency_ratio == pytest.approx(3.0) and g.latency_samples == 1
    for _ in range(LATENCY_SETTLE_SAMPLES + 1):                  # the bound is accepted
        g.latency(MAX_LATENCY_S)
    assert g.latency_samples == 2 and math.isfinite(g.latency_ratio)

    fallback = TimestepGovernor(None, GovernorSettings(fallback_timesteps=123), 'x: broken')
    d = fallback.decide(0.0)
    assert d.published and d.timesteps == 123 and d.level == diagnostics.ERROR
    assert 'x: broken' in d.message and d.tolerance is None
    assert not fallback.latency(1e-3)


@pytest.mark.parametrize('settings', [
    {'tolerance_full': 1.0000005, 'tolerance_empty': 1.0000005},   # rclpy: within 1e-6 of 1
    {'tolerance_full': -1e-9, 'tolerance_empty': 0.1},
    {'latency_budget_s': -1e-9, 'energy_budget_j': -1e-9},
    {'latency_budget_s': math.inf, 'energy_budget_j': math.nan},
], ids=['tolerances-above-1', 'tolerance-below-0', 'negative-budgets', 'inf-nan-budgets'])
def test_settings_outside_the_policy_domain_never_make_a_decision_raise(settings):
    """Settings are clamped into what the policy accepts (tolerance in [0, 1], a budget that
    is not a finite number > 0 is none): the decision timer raised ValueError."""
    g = TimestepGovernor(PROFILE, GovernorSettings(min_dwell_s=0.0, **settings))
    for level, t in ((1.0, 0.0), (0.1, 1.0)):
        g.battery(level, t)
        d = g.decide(t)
        assert d.timesteps in PROFILE.timesteps and 0.0 <= d.tolerance <= 2.0


# ------------------------------------------------------------------------------ ROS helpers


class Probe(RecordingNode):
    """Publishes battery, budget and latency messages and records the governor's output."""

    resend_polls = 5

    def __init__(self, namespace: str, **kwargs) -> None:
        super().__init__(namespace, **kwargs)
        self.record(UInt16, 'topspark/timesteps',
                    QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                               durability=DurabilityPolicy.TRANSIENT_LOCAL))
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.record(DiagnosticArray, '/diagnostics', reliable)
        self.battery_pub = self.create_publisher(BatteryState, 'battery_state',
                                                 qos_profile_sensor_data)
        self.budget_pub = self.create_publisher(Float64, 'topspark/latency_budget', reliable)
        self.latency_pub = self.create_publisher(Float64, 'topspark/latency', reliable)

    def received(self) -> list[int]:
        return [m.data for m in self.messages('topspark/timesteps')]

    def last(self) -> int | None:
        timesteps = self.received()
        return timesteps[-1] if timesteps else None

    def status(self, what: str = 'decision', predicate=lambda s: True) -> DiagnosticStatus | None:
        """The newest 'governor: <what>' status that satisfies ``predicate``."""
        found = [s for s in self.statuses(f'governor: {what}') if predicate(s)]
        return found[-1] if found else None

    def battery_until(self, percentage: float, timesteps: int) -> None:
        self.send_until(self.battery_pub, lambda: BatteryState(percentage=percentage),
                        lambda: self.last() == timesteps,
                        f'T={timesteps} for battery percentage {percentage}')


class GovernorGraph(Graph):
    prefix = 'g'

    def governor(self, **params) -> GovernorNode:
        return self.spawn(GovernorNode, **{'decision_period_s': 0.05, 'min_dwell_s': 0.0,
                                           'battery_timeout_s': 60.0, **params})

    def probe(self) -> Probe:
        return self.add(Probe(self.namespace, context=self.context))


@pytest.fixture
def graph():
    with GovernorGraph(DOMAIN_ID) as g:
        yield g


def more_decisions(node: GovernorNode, n: int = 3) -> None:
    """Wait until the node has decided ``n`` more times (the 'nothing changed' checks)."""
    start = node.decisions
    wait_until(lambda: node.decisions >= start + n, what=f'{n} more decisions')


def battery_seen(node: GovernorNode, level: float):
    return lambda: (node.governor.battery_level is not None
                    and abs(node.governor.battery_level - level) < 1e-6)


# ------------------------------------------------------------------------------ node


def test_late_subscriber_receives_the_timestep(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    assert node.governor.current == 350 and [t for _, t in node.published] == [350]
    more_decisions(node)
    probe = graph.probe()                       # joins after the only publication
    wait_until(lambda: probe.last() == 350, what='the latched timestep')
    assert probe.received() == [350]


def test_full_battery_larger_low_battery_smaller_timestep(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=1.0),
                     battery_seen(node, 1.0), 'a full battery')
    more_decisions(node)
    assert probe.last() == 350
    wait_until(lambda: probe.status(predicate=lambda s: s.level == DiagnosticStatus.OK),
               what='an OK decision status')
    values = values_of(probe.status(predicate=lambda s: s.level == DiagnosticStatus.OK))
    assert values['timesteps'] == '350' and values['battery_state'] == 'ok'
    assert values['battery_level'] == '1' and values['tolerance'] == '0.01'
    assert 'least energy' in values['reason'] and values['relaxed'] == 'none'
    assert {'latency_budget_s', 'energy_budget_j', 'latency_scale'} <= values.keys()

    probe.battery_until(0.1, 30)
    assert node.governor.current == 30 and node.last_decision.tolerance == pytest.approx(0.10)
    assert probe.received()[-2:] == [350, 30]


def test_battery_in_0_to_100_is_accepted(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    probe.battery_until(10.0, 30)
    assert node.governor.battery_level == pytest.approx(0.1) and node.governor.percent_scale
    probe.battery_until(100.0, 350)
    wait_until(lambda: probe.status(predicate=lambda s: values_of(s)['percentage_scale']
                                    == '0..100'), what='percentage_scale 0..100')


def test_nan_battery_is_unmeasured_safe_choice_and_warn(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    probe.battery_until(0.1, 30)
    probe.battery_until(math.nan, 350)
    assert node.last_decision.battery == 'unmeasured'

    def unmeasured(s):
        return s.level == DiagnosticStatus.WARN and values_of(s)['battery_state'] == 'unmeasured'

    wait_until(lambda: probe.status(predicate=unmeasured), what='a WARN for the NaN battery')
    status = probe.status(predicate=unmeasured)
    assert 'NaN' in status.message and values_of(status)['battery_level'] == 'unknown'
    assert node.counters()['battery_unmeasured'] >= 1


def test_out_of_range_battery_is_rejected_and_counted(graph, profile_path):
    node = graph.governor(profile_path=profile_path, log_throttle_s=60.0)
    probe = graph.probe()
    probe.battery_until(0.1, 30)
    for bad in (-5.0, 150.0, math.inf):
        before = node.counters().get('rejected_battery_out_of_range', 0)
        probe.send_until(
            probe.battery_pub, lambda: BatteryState(percentage=bad),
            lambda: node.counters().get('rejected_battery_out_of_range', 0) > before,
            f'percentage {bad} rejected')
    more_decisions(node)
    assert node.governor.battery_level == pytest.approx(0.1) and probe.last() == 30
    assert not node.governor.percent_scale                      # 150 did not switch the scale
    wait_until(lambda: probe.status('inputs', lambda s: int(
        values_of(s).get('rejected_battery_out_of_range', 0)) >= 3), what='the counter')


def test_drained_gazebo_battery_stays_at_the_low_battery_choice(graph, profile_path):
    """A drained LinearBatteryPlugin sends -4.6e-5 for ever: read as empty (counted, said in
    the log and diagnostics), never rejected, so the reading does not go stale either."""
    node = graph.governor(profile_path=profile_path, battery_timeout_s=0.5)
    probe = graph.probe()
    probe.battery_until(20.0, 30)                               # 0..100: 20 %
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=-4.6e-5),
                     lambda: node.counters().get('battery_read_as_empty', 0) >= 20,
                     'drained battery messages')
    more_decisions(node)
    assert probe.last() == 30 and node.last_decision.battery == 'ok'
    assert node.governor.battery_level == 0.0
    assert not any(k.startswith('rejected_') for k in node.counters())
    wait_until(lambda: probe.status(predicate=lambda s: 'read as empty' in s.message),
               what='the empty reading in the decision status')
    wait_until(lambda: probe.status('inputs', lambda s: int(
        values_of(s)['battery_read_as_empty']) >= 20), what='the read-as-empty counter')
    # T0 may or may not reach the probe (it joins late and the topic keeps one message), but
    # once the low-battery choice arrived nothing else may follow it.
    received = probe.received()
    assert set(received[received.index(30):]) == {30}, received


def test_implausible_latencies_are_rejected_per_reason(graph, profile_path):
    node = graph.governor(profile_path=profile_path, latency_adapt=True, log_throttle_s=60.0)
    probe = graph.probe()
    probe.send_until(probe.latency_pub, lambda: Float64(data=2 * PROFILE.entry(350)
                                                        .latency_infer_s),
                     lambda: node.governor.latency_samples >= 1, 'a good latency sample')
    for bad, reason in ((1e308, 'implausible'), (math.inf, 'not_finite'),
                        (math.nan, 'not_finite'), (-1e-3, 'not_positive'),
                        (MAX_LATENCY_S + 1.0, 'implausible')):
        key = f'rejected_latency_{reason}'
        before = node.counters().get(key, 0)
        probe.send_until(probe.latency_pub, lambda: Float64(data=bad),
                         lambda: node.counters().get(key, 0) > before, f'latency {bad} rejected')
    more_decisions(node)
    assert node.governor.latency_ratio == pytest.approx(2.0)
    assert node.last_decision.latency_scale == pytest.approx(2.0)
    wait_until(lambda: probe.status('inputs', lambda s: int(
        values_of(s).get('rejected_latency_implausible', 0)) >= 2), what='the counter')


def test_callback_exception_is_logged_counted_and_survived(graph, profile_path, capfd):
    """An unexpected exception in a subscription or the decision timer must not reach the
    executor (it stopped every node spun by it)."""
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    failing = {'battery': True, 'decide': True}
    battery, decide = node.governor.battery, node.governor.decide

    def broken_battery(*args):
        if failing['battery']:
            raise RuntimeError('injected battery failure')
        return battery(*args)

    def broken_decide(*args):
        if failing['decide']:
            raise RuntimeError('injected decision failure')
        return decide(*args)

    node.governor.battery, node.governor.decide = broken_battery, broken_decide
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=0.1),
                     lambda: node.counters().get('callback_errors', 0) >= 3, 'failures')
    failing.update(battery=False, decide=False)
    probe.battery_until(0.1, 30)                                # still subscribed and deciding
    err = capfd.readouterr().err
    assert 'callback failed' in err and 'RuntimeError: injected' in err, err[-2000:]
    wait_until(lambda: probe.status('inputs', lambda s: int(
        values_of(s)['callback_errors']) >= 3), what='callback_errors in diagnostics')


def test_malformed_set_parameters_request_is_survived(graph, profile_path):
    """A SetParameters request with ParameterValue.type 42 raises inside rclpy's parameter
    service; the process stopped. Now the request is answered (empty) and counted."""
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    client = probe.create_client(SetParameters, f'{node.get_fully_qualified_name()}/'
                                 'set_parameters')
    assert client.wait_for_service(timeout_sec=10.0)
    request = SetParameters.Request(parameters=[
        ParameterMsg(name='min_dwell_s', value=ParameterValue(type=42))])
    future = client.call_async(request)
    wait_until(future.done, what='the answer to a malformed SetParameters request')
    assert list(future.result().results) == []
    assert node.counters().get('callback_errors', 0) == 1
    probe.battery_until(0.1, 30)                                # still deciding
    assert node.get_parameter('min_dwell_s').value == 0.0


def test_stale_battery_falls_back_to_the_safe_choice(graph, profile_path):
    node = graph.governor(profile_path=profile_path, battery_timeout_s=0.5)
    probe = graph.probe()
    probe.battery_until(0.1, 30)
    wait_until(lambda: probe.last() == 350, what='the safe choice once the battery is stale')
    assert node.last_decision.battery == 'stale'
    wait_until(lambda: probe.status(predicate=lambda s: s.level == DiagnosticStatus.WARN
                                    and 'stale' in s.message), what='a WARN for the stale battery')


def test_hysteresis_battery_jitter_does_not_flip_the_timestep(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    probe.battery_until(0.66, 100)
    for level in (0.64, 0.67, 0.64):                           # 0.64 alone would give T=50
        probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=level),
                         battery_seen(node, level), f'battery {level}')
        more_decisions(node)
        assert probe.last() == 100
        assert node.last_decision.level_used == pytest.approx(0.66)
    assert probe.received().count(50) == 0
    probe.battery_until(0.62, 50)                               # moved 0.04: recomputed


def test_dwell_defers_a_second_change(graph, profile_path):
    node = graph.governor(profile_path=profile_path, min_dwell_s=0.3)
    probe = graph.probe()
    probe.battery_until(0.1, 30)                                # first change: 350 -> 30

    # A dwell that cannot pass during the test makes the deferral deterministic.
    assert node.set_parameters([Parameter('min_dwell_s', value=3600.0)])[0].successful
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=1.0),
                     lambda: node.last_decision.pending == 350, 'the change to 350 deferred')
    more_decisions(node)
    # What the node sent is the sequence; the probe (joined late, one message kept) may miss T0.
    assert [t for _, t in node.published] == [350, 30] and probe.last() == 30
    assert node.governor.deferred >= 1
    wait_until(lambda: probe.status(predicate=lambda s: values_of(s)['pending_timesteps']
                                    == '350'), what='the pending change in diagnostics')

    assert node.set_parameters([Parameter('min_dwell_s', value=0.3)])[0].successful
    wait_until(lambda: probe.last() == 350, what='the deferred change once the dwell passed')
    assert [t for _, t in node.published] == [350, 30, 350]
    stamps = [t for t, _ in node.published]
    assert all(b - a >= 0.3 for a, b in zip(stamps, stamps[1:]))


def test_latency_budget_topic_tightens_the_choice_and_zero_clears_it(graph, profile_path):
    node = graph.governor(profile_path=profile_path)
    probe = graph.probe()
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=1.0),
                     battery_seen(node, 1.0), 'a full battery')
    probe.send_until(probe.budget_pub, lambda: Float64(data=50e-6),
                     lambda: probe.last() == 100, 'T=100 under a 50 us budget')
    assert node.get_parameter('latency_budget_s').value == pytest.approx(50e-6)
    decision = node.last_decision
    assert decision.relaxed == ('accuracy',) and decision.level == diagnostics.WARN

    def relaxed(s):
        return s.level == DiagnosticStatus.WARN and values_of(s)['relaxed'] == 'accuracy'

    wait_until(lambda: probe.status(predicate=relaxed), what='a WARN for the relaxed accuracy')
    assert values_of(probe.status(predicate=relaxed))['latency_budget_source'] == 'topic'

    for bad in (math.nan, -1e-3, math.inf, 1e6):
        before = node.counters().get('rejected_latency_budget_invalid', 0)
        probe.send_until(
            probe.budget_pub, lambda: Float64(data=bad),
            lambda: node.counters().get('rejected_latency_budget_invalid', 0) > before,
            f'budget {bad} rejected')
    assert node.get_parameter('latency_budget_s').value == pytest.approx(50e-6)

    probe.send_until(probe.budget_pub, lambda: Float64(data=0.0),
                     lambda: probe.last() == 350, 'T=350 once the budget is cleared')
    assert node.get_parameter('latency_budget_s').value == 0.0
    assert probe.received()[-2:] == [100, 350]


def test_latency_adapt_checks_the_budget_against_measured_speed(graph, profile_path):
    node = graph.governor(profile_path=profile_path, latency_budget_s=200e-6)
    probe = graph.probe()
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=1.0),
                     battery_seen(node, 1.0), 'a full battery')

    def three_times_slower():                   # this robot runs 3x slower than profiled
        return Float64(data=3 * PROFILE.entry(node.governor.current).latency_infer_s)

    probe.send_until(probe.latency_pub, three_times_slower,
                     lambda: node.governor.latency_samples >= 3, 'latency samples')
    more_decisions(node)
    assert probe.last() == 350 and node.last_decision.latency_scale == 1.0    # not adapting
    assert node.governor.latency_ratio == pytest.approx(3.0)

    assert node.set_parameters([Parameter('latency_adapt', value=True)])[0].successful
    wait_until(lambda: probe.last() == 100, what='T=100 with latencies scaled x3')
    assert node.last_decision.latency_scale == pytest.approx(3.0)
    assert node.last_decision.relaxed == ('accuracy',)


@pytest.mark.parametrize('problem', ['missing', 'corrupt', 'binary', 'empty'])
def test_bad_profile_publishes_the_fallback_with_error(graph, tmp_path, capfd, problem):
    path = tmp_path / 'profile.yaml'
    if problem == 'corrupt':
        path.write_text('format: topspark_ros.profile\nentries: [{timesteps: 5\n')
    elif problem == 'binary':
        path.write_bytes(b'\x89PNG\r\n\x1a\n\xff\xfe\x00')
    node = graph.governor(profile_path='' if problem == 'empty' else str(path),
                          fallback_timesteps=123)
    err = capfd.readouterr().err
    assert 'ERROR' in err and ('profile_path is empty' if problem == 'empty' else str(path)) in err
    assert {'missing': 'not found', 'corrupt': 'not valid YAML', 'binary': str(path),
            'empty': 'empty'}[problem] in err

    probe = graph.probe()
    wait_until(lambda: probe.last() == 123, what='the fallback timestep')
    wait_until(lambda: probe.status(predicate=lambda s: s.level == DiagnosticStatus.ERROR),
               what='an ERROR decision status')
    status = probe.status(predicate=lambda s: s.level == DiagnosticStatus.ERROR)
    assert 'fallback' in status.message and values_of(status)['profile_error']
    probe.send_until(probe.battery_pub, lambda: BatteryState(percentage=0.1),
                     battery_seen(node, 0.1), 'a low battery')
    more_decisions(node)
    assert probe.received() == [123] and node.governor.profile is None    # the battery is moot


def test_parameters_validated_with_a_reason(graph, profile_path, tmp_path):
    node = graph.governor(profile_path=profile_path)

    def rejected(*pairs):
        result = node.set_parameters_atomically([Parameter(n, value=v) for n, v in pairs])
        assert not result.successful, f'{pairs} was accepted'
        return result.reason

    assert 'must not exceed tolerance_empty' in rejected(('tolerance_full', 0.2))
    assert 'must not exceed' in rejected(('tolerance_full', 0.05), ('tolerance_empty', 0.04))
    assert 'out of range' in rejected(('min_dwell_s', -1.0))
    assert 'out of range' in rejected(('decision_period_s', 0.0))
    assert 'out of range' in rejected(('latency_budget_s', math.nan))
    assert 'out of range' in rejected(('battery_reserve', 1.0))
    assert 'out of range' in rejected(('fallback_timesteps', 0))
    assert 'read-only' in rejected(('profile_path', str(tmp_path / 'other.yaml')))
    assert rejected(('latency_adapt', 'yes'))                   # wrong type
    assert node.governor.settings.tolerance_full == 0.01

    # Both at once may pass through a state that one at a time would refuse.
    assert node.set_parameters_atomically([Parameter('tolerance_full', value=0.2),
                                           Parameter('tolerance_empty', value=0.3)]).successful
    assert (node.governor.settings.tolerance_full, node.governor.settings.tolerance_empty) == (
        0.2, 0.3)
    timer = node._decision_timer
    assert node.set_parameters([Parameter('decision_period_s', value=0.02)])[0].successful
    assert node._decision_timer is not timer
    more_decisions(node)                        # the new timer decides
    assert node.describe_parameter('min_dwell_s').description


def test_invalid_start_value_is_refused(graph, profile_path):
    with pytest.raises(InvalidParameterValueException, match='tolerance_empty'):
        graph.governor(profile_path=profile_path, tolerance_full=0.5)


def test_values_rclpy_lets_through_at_a_bound_are_refused(graph, profile_path):
    """rclpy accepts a double within 1e-6 (relative) of a range bound: 1.0000005 for both
    tolerances was accepted, and the decision timer then raised ValueError."""
    node = graph.governor(profile_path=profile_path)
    result = node.set_parameters_atomically([Parameter('tolerance_full', value=1.0000005),
                                             Parameter('tolerance_empty', value=1.0000005)])
    assert not result.successful and 'out of range' in result.reason
    result = node.set_parameters([Parameter('battery_reserve', value=0.95 * (1 + 5e-7))])[0]
    assert not result.successful and 'battery_reserve' in result.reason
    assert node.set_parameters([Parameter('tolerance_empty', value=1.0)])[0].successful
    assert node.set_parameters([Parameter('tolerance_full', value=1.0)])[0].successful
    more_decisions(node)                                        # the bounds themselves work
    assert node.last_decision.tolerance == 1.0
    with pytest.raises(InvalidParameterValueException, match='tolerance_empty'):
        graph.governor(profile_path=profile_path, tolerance_empty=1.0000005)


# ------------------------------------------------------------------------------ process


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_process_exits_0_on_signal(profile_path, sig):
    namespace = f'/gp{os.getpid()}_{sig.name}'
    proc = start_module('topspark_ros.nodes.governor', '--ros-args', '-r', f'__ns:={namespace}',
                        '-p', f'profile_path:={profile_path}', domain=PROCESS_DOMAIN_ID)
    try:
        with Graph(PROCESS_DOMAIN_ID) as g:
            probe = g.add(Probe(namespace, context=g.context))
            probe.battery_until(0.1, 30)
    finally:
        output = finish(proc, sig)
    assert proc.returncode == 0, output
    assert 'timesteps 30 (was 350)' in output, output
