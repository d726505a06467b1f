# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Metrics node with real rclpy: joules per platform, totals, power window, savings, bad input.

Same shape as test_perception_node.py: each test has its own Context and namespace, and a
SingleThreadedExecutor spins in a thread (ros_helpers.py). Before a message is published the
test waits until every publisher involved has matched its subscriber, then publishes it exactly
once, so counts and totals are exact. No test asserts on timing; the power window runs on a fake
clock. Run with ROS_PYTHON_CHECK_FIELDS=1.
"""

import itertools
import math
import os
import signal
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
import pytest
import rclpy
from rclpy.exceptions import InvalidParameterValueException
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64

from topspark_ros.activity import ActivityError, ActivityReport
from topspark_ros.energy import cpu_energy, dense_macs, energy_per_sample, Platform, PLATFORMS
from topspark_ros.nodes import metrics
from topspark_ros.nodes.metrics import (baseline_activity, EnergyWindow, KNOWN_PLATFORMS,
                                        MetricsNode, sample_energy, SampleEnergy)
from topspark_ros.snn import OpCounts
from topspark_ros.ros import diagnostics
from topspark_ros.ros.diagnostics import values_of

from ros_helpers import (domain_id, finish, Graph, RecordingNode, start_module, wait_until,
                         WAIT_S)

DOMAIN_ID = domain_id(17)
PROCESS_DOMAIN_ID = domain_id(67)                  # for the node started as a process
N, N_INPUTS = 100, 784
TOPICS = {'sample': 'topspark/energy/sample', 'total': 'topspark/energy/total',
          'power': 'topspark/power', 'savings': 'topspark/energy/savings'}
ENERGY = 'metrics: energy'                         # the node's diagnostics status


def report(T: int = 50, mode: str = 'infer', input_spikes: int = 330, exc: int = 4,
           inh: int = 3, weight_updates: int = 0, compute_s: float = 0.004,
           layer: bool = True, **fields) -> ActivityReport:
    """A consistent sample, built as perception builds it (``ActivityReport``)."""
    ops = OpCounts(
        input_spikes=input_spikes, exc_spikes=exc, inh_spikes=inh if layer else 0,
        synaptic_events=input_spikes * N + (exc + inh * (N - 1) if layer else exc * (N - 1)),
        neuron_updates=(2 if layer else 1) * N * T, weight_updates=weight_updates,
        timesteps=T)
    return ActivityReport(**{
        'ops': ops, 'mode': mode, 'n_inputs': N_INPUTS, 'n_neurons': N, 'dt_ms': 1.0,
        'compute_seconds': compute_s, 'source': 'image',
        'inhibition': 'layer' if layer else 'direct', 'prediction': 3, **fields})


def activity(**changes) -> dict:
    """The KeyValue strings of ``report(**changes)``, as they travel."""
    return report(**changes).to_values()


def ops_of(values: dict) -> dict:
    return {k: int(values[k]) for k in ('input_spikes', 'exc_spikes', 'inh_spikes',
                                        'synaptic_events', 'neuron_updates', 'weight_updates',
                                        'timesteps')}


def model_j(values: dict, platform: str, learning: bool = None) -> float:
    learning = values['mode'] == 'learn' if learning is None else learning
    return energy_per_sample(ops_of(values), platform, learning, N_INPUTS, N).total_j


def activity_msg(*samples: dict) -> DiagnosticArray:
    return diagnostics.array(rclpy.clock.Clock().now().to_msg(), [
        diagnostics.status('perception', 'activity', diagnostics.OK, 'image sample', v)
        for v in samples])


class Probe(RecordingNode):
    """Publishes activity to the metrics node and records everything it publishes."""

    def __init__(self, namespace: str, **kwargs) -> None:
        super().__init__(namespace, **kwargs)
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for key, topic in TOPICS.items():
            self.record(Float64, topic, reliable, key)
        self.record(DiagnosticArray, '/diagnostics', reliable)
        self.activity_pub = self.create_publisher(DiagnosticArray, 'topspark/activity', reliable)

    def values(self, key: str) -> list:
        return [m.data for m in self.messages(key)]


class MetricsGraph(Graph):
    """A metrics node and a probe in one context, spun by a SingleThreadedExecutor."""

    prefix = 'm'

    def start(self, **params) -> tuple[MetricsNode, Probe]:
        # power only with samples: exact counts
        self.node = self.spawn(MetricsNode, **{'power_period_s': 0.0, **params})
        self.probe = self.add(Probe(self.namespace, context=self.context))
        publishers = (self.node._sample_pub, self.node._total_pub, self.node._power_pub,
                      self.node._savings_pub)
        wait_until(lambda: (self.probe.activity_pub.get_subscription_count() >= 1
                            and all(p.get_subscription_count() >= 1 for p in publishers)),
                   what='the probe and the metrics node to match')
        return self.node, self.probe

    def charge(self, *samples: dict, accepted: int = None) -> float:
        """Publish one message once; wait for the answers to its ``accepted`` (default: all)
        samples; return the last sample's joules."""
        before = {k: self.probe.count(k) for k in TOPICS}
        n = len(samples) if accepted is None else accepted
        self.probe.activity_pub.publish(activity_msg(*samples))
        wait_until(lambda: all(self.probe.count(k) >= before[k] + n for k in TOPICS),
                   what='energy, total, power and savings')
        return self.probe.values('sample')[-1]

    def reject(self, msg: DiagnosticArray, reason: str) -> None:
        """Publish a bad message once; wait until it is counted; nothing may be published."""
        key = f'rejected_{reason}'
        before, samples = self.node.counters().get(key, 0), self.probe.count('sample')
        self.probe.activity_pub.publish(msg)
        wait_until(lambda: self.node.counters().get(key, 0) > before, what=f'{reason} counted')
        assert self.probe.count('sample') == samples


@pytest.fixture
def graph():
    with MetricsGraph(DOMAIN_ID) as g:
        yield g


# ------------------------------------------------------------------------------ energy


def test_joules_follow_the_platform_model_and_run_time_changes(graph):
    node, probe = graph.start(platform='loihi', cpu_power_w=20.0)
    expected = []

    infer = activity(T=50)
    assert graph.charge(infer) == pytest.approx(model_j(infer, 'loihi'), rel=1e-12)
    expected.append(model_j(infer, 'loihi'))

    learn = activity(T=80, mode='learn', weight_updates=12345, compute_s=0.02)
    for platform in ('cmos45', 'dense_gpu_like'):
        assert node.set_parameters([Parameter('platform', value=platform)])[0].successful
        j = graph.charge(learn)                     # the next sample uses the new platform
        assert j == pytest.approx(model_j(learn, platform), rel=1e-12)
        assert j > model_j(learn, platform, learning=False)       # learning energy charged
        expected.append(j)

    assert node.set_parameters([Parameter('platform', value='cpu')])[0].successful
    assert graph.charge(learn) == pytest.approx(cpu_energy(0.02, 20.0), rel=1e-12) == 0.4
    expected.append(0.4)

    # TrueNorth has no on-chip learning: inference energy only, counted and reported.
    assert node.set_parameters([Parameter('platform', value='truenorth')])[0].successful
    assert graph.charge(learn) == pytest.approx(model_j(learn, 'truenorth', learning=False))
    expected.append(probe.values('sample')[-1])
    assert node.counters()['learning_not_charged'] == 1

    assert probe.values('sample') == pytest.approx(expected, rel=1e-12)
    totals = probe.values('total')
    assert totals == pytest.approx(list(itertools.accumulate(expected)), rel=1e-12)
    assert node.total_j == totals[-1] and node.counters()['samples'] == 5

    def summary():
        found = [values_of(s) for s in probe.statuses(ENERGY) if values_of(s)['samples'] == '5']
        return found[-1] if found else None

    wait_until(summary, what='a diagnostics status after 5 samples')
    values = summary()
    assert values['platform'] == 'truenorth'
    assert float(values['total_energy_j']) == pytest.approx(totals[-1])
    assert float(values['mean_energy_per_sample_j']) == pytest.approx(totals[-1] / 5)
    assert values['learning_not_charged'] == '1' and values['rejected'] == '0'
    wait_until(lambda: any(s.level == DiagnosticStatus.WARN and 'learning' in s.message
                           for s in probe.statuses(ENERGY)), what='a WARN for uncharged learning')


def test_two_samples_in_one_message_are_both_charged(graph):
    node, probe = graph.start(platform='cmos45')
    a, b = activity(T=50), activity(T=100, input_spikes=700)
    graph.charge(a, b)
    assert probe.values('sample')[-2:] == pytest.approx([model_j(a, 'cmos45'),
                                                         model_j(b, 'cmos45')], rel=1e-12)
    assert node.counters()['samples'] == 2


def test_activity_from_the_real_perception_node_is_charged(graph):
    """The contract end to end: perception's own KeyValues parse and charge exactly."""
    from sensor_msgs.msg import Image

    from topspark_ros.nodes.perception import PerceptionNode
    from topspark_ros.ros.conversions import numpy_to_image

    node, probe = graph.start(platform='loihi')
    graph.spawn(PerceptionNode, n_neurons=20, timesteps=40, model_path='', model_fallback='fresh',
                profile_path='')
    seen = []
    probe.create_subscription(DiagnosticArray, 'topspark/activity', seen.append,
                              QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    image_pub = probe.create_publisher(Image, 'image',
                                       QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    frame = numpy_to_image(np.pad(np.full((20, 6), 255, np.uint8), ((4, 4), (11, 11))), 'mono8')
    end = time.monotonic() + WAIT_S
    while not (seen and probe.count('sample') and probe.count('savings')):
        assert time.monotonic() < end, 'no charged sample from the perception node'
        if not node.counters().get('samples'):
            image_pub.publish(frame)
        time.sleep(0.05)
    values = values_of(seen[0].status[0])
    expected = energy_per_sample(ops_of(values), 'loihi', False, 784, 20).total_j
    assert probe.values('sample')[0] == pytest.approx(expected, rel=1e-12)
    assert probe.values('savings')[0] > 1.0             # T=40 against the baseline 350
    assert not any(k.startswith('rejected') for k in node.counters())


# ------------------------------------------------------------------------------ savings


def test_savings_against_the_baseline_timestep(graph):
    node, probe = graph.start(platform='loihi', baseline_timesteps=350)

    # T=50 -> 350: neuron updates, input spikes and their synaptic events x7; the rest kept.
    short = activity(T=50, input_spikes=330, exc=4, inh=3)
    long_ops = ops_of(short)
    long_ops.update(timesteps=350, input_spikes=330 * 7, neuron_updates=2 * N * 350,
                    synaptic_events=330 * 7 * N + 4 + 3 * (N - 1))
    actual = graph.charge(short)
    baseline = energy_per_sample(long_ops, 'loihi', False, N_INPUTS, N).total_j
    savings = probe.values('savings')[-1]
    assert savings == pytest.approx(baseline / actual, rel=1e-12)
    assert 1.0 < savings < 7.0

    graph.charge(activity(T=350, input_spikes=2300, exc=30, inh=25))
    assert probe.values('savings')[-1] == 1.0

    # Dense platform: the baseline follows T alone, so it is exact.
    assert node.set_parameters([Parameter('platform', value='dense_gpu_like')])[0].successful
    actual = graph.charge(short)
    assert actual == pytest.approx(dense_macs(N_INPUTS, N, 50, True) * 4.6e-12
                                   + 2 * N * 50 * 4.6e-12, rel=1e-9)
    at_350 = activity(T=350, input_spikes=1, exc=0, inh=0)         # spikes do not matter
    assert probe.values('savings')[-1] == pytest.approx(model_j(at_350, 'dense_gpu_like')
                                                        / actual, rel=1e-12)

    # Events: the window is fixed, so input spikes are not scaled; only neuron updates are.
    assert node.set_parameters([Parameter('platform', value='loihi')])[0].successful
    events = activity(T=50, source='events')
    actual = graph.charge(events)
    events_350 = dict(ops_of(events), timesteps=350, neuron_updates=2 * N * 350)
    assert probe.values('savings')[-1] == pytest.approx(
        energy_per_sample(events_350, 'loihi', False, N_INPUTS, N).total_j / actual, rel=1e-12)

    # CPU: conversion time is fixed, simulation time scales with T.
    assert node.set_parameters([Parameter('platform', value='cpu')])[0].successful
    graph.charge(activity(T=50, compute_s=0.010, snn_seconds=0.008))
    assert probe.values('savings')[-1] == pytest.approx((0.002 + 0.008 * 7) / 0.010)
    graph.charge(activity(T=350, compute_s=0.010, snn_seconds=0.008))
    assert probe.values('savings')[-1] == 1.0

    assert node.set_parameters([Parameter('baseline_timesteps', value=100)])[0].successful
    graph.charge(activity(T=50, compute_s=0.010))                  # no snn_seconds: all scales
    assert probe.values('savings')[-1] == pytest.approx(2.0)


def test_baseline_estimate_and_savings_edge_cases():
    a = report(T=50, mode='learn', weight_updates=999, compute_s=0.01)
    b = baseline_activity(a, 350)
    assert b.ops.weight_updates == 999 and b.ops.exc_spikes == a.ops.exc_spikes
    assert b.compute_seconds == pytest.approx(0.07) and baseline_activity(a, 50) is a
    odd = report(T=3, input_spikes=1)
    assert baseline_activity(odd, 10).ops.input_spikes == 3          # 3.33 rounded
    rounded = report(T=7, compute_s=0.1, snn_seconds=0.1 - 1e-17)
    scaled = baseline_activity(rounded, 350)                        # snn stays <= compute
    assert scaled.snn_seconds <= scaled.compute_seconds
    assert SampleEnergy(2.0, 6.0, None, True).savings == 3.0
    assert SampleEnergy(0.0, 0.0, None, True).savings == 1.0
    assert SampleEnergy(0.0, 1.0, None, True).savings is None


# ------------------------------------------------------------------------------ power


def test_power_over_a_moving_window(graph):
    node, probe = graph.start(platform='cpu', cpu_power_w=10.0, power_window_s=2.0)
    clock = [0.0]
    node._clock_s = lambda: clock[0]
    node._window = EnergyWindow(2.0, 0.0)           # the node "started" at fake time 0

    def at(t: float, compute_s: float) -> float:
        clock[0] = t
        graph.charge(activity(compute_s=compute_s))
        return probe.values('power')[-1]

    # Energies 0.1, 0.2, 0.4, 0.8, 1.6 J (cpu: compute_seconds x 10 W).
    assert at(0.5, 0.01) == pytest.approx(0.1 / 0.5)           # shorter than the window
    assert at(1.5, 0.02) == pytest.approx(0.3 / 1.5)
    assert at(3.0, 0.04) == pytest.approx((0.2 + 0.4) / 2.0)   # 0.1 J at 0.5 s left it
    assert at(10.0, 0.08) == pytest.approx(0.8 / 2.0)
    assert node.set_parameters([Parameter('power_window_s', value=5.0)])[0].successful
    assert at(11.0, 0.16) == pytest.approx((0.8 + 1.6) / 5.0)
    clock[0] = 20.0
    assert node.power_w() == 0.0                                # no sample in (15, 20]
    assert probe.values('total')[-1] == pytest.approx(3.1)


def test_power_is_also_published_periodically(graph):
    node, probe = graph.start(platform='cmos45', power_period_s=0.05)
    wait_until(lambda: probe.count('power') >= 3, what='periodic power without samples')
    assert set(probe.values('power')) == {0.0}
    assert node.set_parameters([Parameter('power_period_s', value=0.0)])[0].successful
    assert node._power_timer is None


def test_energy_window_unit():
    window = EnergyWindow(1.0, 10.0)
    assert window.power_w(10.0) == 0.0
    window.add(10.25, 2.0)
    assert window.power_w(10.5) == pytest.approx(4.0)
    assert window.power_w(11.25) == 0.0 and window.power_w(12.0) == 0.0


# ------------------------------------------------------------------------------ parameters


def test_invalid_parameters_are_rejected_with_a_reason(graph):
    node, _ = graph.start(platform='cmos45')

    def rejected(name, value):
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful, f'{name}={value!r} was accepted'
        return result.reason

    reason = rejected('platform', 'tpu')
    assert 'tpu' in reason and all(p in reason for p in KNOWN_PLATFORMS)
    assert 'cpu' in KNOWN_PLATFORMS and set(PLATFORMS) < set(KNOWN_PLATFORMS)
    assert 'out of range' in rejected('cpu_power_w', -1.0)
    assert 'out of range' in rejected('cpu_power_w', math.nan)
    assert 'out of range' in rejected('power_window_s', 0.0)
    assert 'out of range' in rejected('power_window_s', -2.0)
    assert 'out of range' in rejected('baseline_timesteps', 0)
    assert 'out of range' in rejected('power_period_s', -1.0)
    assert rejected('platform', 3)                                    # wrong type
    assert rejected('cpu_power_w', 15)                                # int for a double
    assert node.get_parameter('platform').value == 'cmos45' and node._platform == 'cmos45'
    assert node.describe_parameter('platform').description
    assert node.set_parameters([Parameter('cpu_power_w', value=0.0)])[0].successful


def test_invalid_start_value_is_refused(graph):
    with pytest.raises(InvalidParameterValueException, match='known platforms'):
        graph.start(platform='tpu')


# ------------------------------------------------------------------------------ bad input


def _without(key: str, **changes) -> DiagnosticArray:
    values = activity(**changes)
    del values[key]
    return activity_msg(values)


def _with(**texts: str) -> DiagnosticArray:
    """A consistent sample whose given keys are replaced by the given texts."""
    return activity_msg({**activity(), **texts})


def _without_inhibition_and(**texts: str) -> DiagnosticArray:
    values = {**activity(), **texts}
    del values['inhibition']
    return activity_msg(values)


BAD_MESSAGES = [
    (lambda: DiagnosticArray(), 'empty'),
    (lambda: _without('synaptic_events'), 'missing_key'),
    (lambda: _without('mode'), 'missing_key'),
    (lambda: _without('dt_ms'), 'missing_key'),
    (lambda: _with(schema='2'), 'unsupported_version'),
    (lambda: _with(input_spikes='many'), 'non_numeric'),
    (lambda: _with(timesteps=''), 'non_numeric'),
    (lambda: _with(compute_seconds='nan'), 'non_finite'),
    (lambda: _with(neuron_updates='NaN'), 'non_finite'),
    (lambda: _with(weight_updates='inf'), 'non_finite'),
    (lambda: _with(exc_spikes='-1'), 'negative_value'),
    (lambda: _with(compute_seconds='-0.5'), 'negative_value'),
    (lambda: _with(weight_updates='2.5'), 'not_integer'),
    (lambda: _with(timesteps='0'), 'not_positive'),
    (lambda: _with(n_neurons='0'), 'not_positive'),
    (lambda: _with(dt_ms='0'), 'not_positive'),
    # the fuzz campaign's message: OverflowError in energy.py took the process down
    (lambda: _with(synaptic_events='9223372036854775808'), 'out_of_range'),
    (lambda: _with(mode='train'), 'bad_mode'),
    (lambda: _with(inhibition='maybe'), 'bad_inhibition'),
    (lambda: _with(source=' '), 'bad_source'),
    (lambda: _without_inhibition_and(neuron_updates='7'), 'inconsistent_counts'),
    (lambda: _with(snn_seconds='1.0'), 'inconsistent_counts'),
]


def test_bad_messages_are_counted_and_skipped(graph):
    node, probe = graph.start(platform='loihi', log_throttle_s=60.0)
    for make_msg, reason in BAD_MESSAGES:
        graph.reject(make_msg(), reason)
    assert 'samples' not in node.counters() and node.total_j == 0.0

    good = activity(T=40)
    assert graph.charge(good) == pytest.approx(model_j(good, 'loihi'), rel=1e-12)
    reasons = {reason for _, reason in BAD_MESSAGES}
    counts = node.counters()
    assert counts['samples'] == 1
    assert {k: counts[f'rejected_{k}'] for k in reasons} == {
        r: sum(1 for _, b in BAD_MESSAGES if b == r) for r in reasons}

    # A message with a bad and a good status: the good one is still charged.
    graph.charge({**activity(), 'mode': 'oops'}, good, accepted=1)
    assert node.counters()['samples'] == 2 and node.counters()['rejected_bad_mode'] == 2

    keys = {f'rejected_{r}' for r in reasons}
    wait_until(lambda: any(keys <= values_of(s).keys() for s in probe.statuses(ENERGY)),
               what='a diagnostics status counting every reason')
    wait_until(lambda: any(s.level == DiagnosticStatus.WARN for s in probe.statuses(ENERGY)),
               what='a WARN status after rejected messages')
    last = [values_of(s) for s in probe.statuses(ENERGY) if keys <= values_of(s).keys()][-1]
    assert int(last['rejected']) >= len(BAD_MESSAGES)


def test_callback_exceptions_are_in_the_diagnostics(graph):
    from topspark_ros.ros.node_utils import CALLBACK_EXCEPTIONS

    node, _ = graph.start(platform='loihi')
    assert values_of(node._status())['callback_exceptions'] == '0'
    CALLBACK_EXCEPTIONS.record(node, RuntimeError('a bug'))
    status = node._status()
    assert status.level == DiagnosticStatus.ERROR and '1 callback exception' in status.message
    assert values_of(status)['callback_exceptions'] == '1'
    assert node._status().level == DiagnosticStatus.OK         # only in the period it happened


def test_parse_activity_reasons():
    with pytest.raises(ActivityError) as info:
        ActivityReport.from_values({'timesteps': '5'})
    assert info.value.reason == 'missing_key' and 'synaptic_events' in str(info.value)
    parsed = ActivityReport.from_values({**activity(T=20), 'compute_seconds': '1e-3',
                                         'weight_updates': '1e3'})
    assert parsed.ops.weight_updates == 1000 and parsed.compute_seconds == 0.001
    assert parsed.inhibition_layer is True and not parsed.event_input
    assert parsed.snn_seconds is None


def test_a_baseline_beyond_int64_is_refused_not_overflowed():
    """Counts near 2^63 at T=1 scale past int64 at the baseline T: that used to raise
    OverflowError out of the energy model (and out of the callback)."""
    huge = report(T=1, ops=OpCounts(input_spikes=2 ** 55, exc_spikes=0, inh_spikes=0,
                                    synaptic_events=2 ** 62, neuron_updates=2 * N,
                                    weight_updates=0, timesteps=1))
    assert sample_energy(huge, 'loihi', 15.0, 1).energy_j > 0      # charged as it is
    with pytest.raises(ActivityError) as info:
        sample_energy(huge, 'loihi', 15.0, 350)
    assert info.value.reason == 'out_of_range'


def test_static_power_is_charged_over_the_reported_step(monkeypatch):
    """The step comes from the report's dt_ms (metrics had its own 1 ms copy, STEP_S)."""
    monkeypatch.setitem(metrics.PLATFORMS, 'static_test', Platform(
        'static_test', 'a test platform with 2 W static power', 0.0, 0.0, 0.0,
        source='test', static_power_w=2.0))
    for dt_ms in (1.0, 0.5):
        energy = sample_energy(report(T=100, dt_ms=dt_ms), 'static_test', 15.0, 100)
        assert energy.breakdown.static_j == pytest.approx(2.0 * 100 * dt_ms * 1e-3)


def test_a_legacy_report_without_schema_is_charged_with_1_ms_steps():
    values = activity(T=40)
    del values['schema'], values['dt_ms']
    parsed = ActivityReport.from_values(values)
    assert parsed == report(T=40) and parsed.dt_ms == 1.0


# ------------------------------------------------------------------------------ process


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_process_exits_0_on_signal(sig):
    namespace = f'/mp{os.getpid()}_{sig.name}'
    proc = start_module('topspark_ros.nodes.metrics', '--ros-args', '-r', f'__ns:={namespace}',
                        '-p', 'platform:=cmos45', domain=PROCESS_DOMAIN_ID)
    try:
        with Graph(PROCESS_DOMAIN_ID) as g:
            probe = g.add(Probe(namespace, context=g.context))
            sample = activity()
            probe.send_until(probe.activity_pub, lambda: activity_msg(sample),
                             lambda: probe.count('sample') > 0,
                             'an energy sample from the node process')
            assert probe.values('sample')[0] == pytest.approx(model_j(sample, 'cmos45'),
                                                              rel=1e-12)
    finally:
        output = finish(proc, sig)
    assert proc.returncode == 0, output
    assert 'ready: platform cmos45' in output, output
