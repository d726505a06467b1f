# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Smoke test of benchmarks/bench_latency.py: a --quick run with few frames writes its JSON.

Starts real node and client processes (own ROS domain id, localhost discovery). No timing is
asserted: only that every configuration ran and matched at least one result to its frame.
"""

import json
import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_ID = 1 + (os.getpid() + 75) % 100      # apart from test_perception_node's ids
QOS = ('reliable', 'best_effort', 'reliable_profile')
STATS = {'p50', 'p99', 'max', 'mean', 'n'}
PHASE_KEYS = {'phase', 'frame', 'qos', 'timesteps', 'rate_hz', 'achieved_rate_hz', 'frames_sent',
              'matched', 'predictions_received', 'processed', 'dropped_frames', 'rejected',
              'publish_failed', 'publish_error',
              'reached_node', 'lost_in_transport', 'accuracy', 'latency_ms', 'compute_ms',
              'publish_call_ms', 'breakdown_ms', 'first_result_s'}


def test_quick_run_writes_json_with_a_matched_sample_per_configuration(tmp_path):
    out = tmp_path / 'latency.json'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])))
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'bench_latency.py'), '--quick',
         '--frames', '5', '--timesteps', '350', '75', '--throughput-s', '0.3',
         '--domain-id', str(DOMAIN_ID), '--out', str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Latency (ms)' in proc.stdout and 'Throughput' in proc.stdout

    result = json.loads(out.read_text())
    assert {'command', 'machine', 'settings', 'latency', 'small_frame', 'throughput', 'target',
            'floor', 'local_costs_ms'} <= result.keys()
    assert {r['qos'] for r in result['floor']} == set(QOS)          # the do-nothing echo node
    assert all(r['matched'] >= 1 and r['latency_ms']['p50'] > 0 for r in result['floor'])
    assert all(v['floor_p99_ms'] is not None for v in result['target'])
    assert '--quick' in result['command']
    assert {(r['qos'], r['timesteps']) for r in result['latency']} == {
        (qos, T) for qos in QOS for T in (350, 75)}
    assert {(r['qos'], r['phase']) for r in result['throughput']} == {
        (qos, phase) for qos in QOS for phase in ('throughput', 'overload', 'flood')}
    assert {(r['qos'], r['timesteps'], r['frame']) for r in result['small_frame']} == {
        (qos, 350, '28x28 mono8') for qos in QOS}
    assert all(r['timesteps'] == 350 for r in result['throughput'])
    for r in result['latency'] + result['small_frame'] + result['throughput']:
        assert PHASE_KEYS <= r.keys(), sorted(PHASE_KEYS - r.keys())
        assert r['matched'] >= 1, r
        assert STATS <= r['latency_ms'].keys() and r['latency_ms']['n'] == r['matched']
        assert r['compute_ms']['n'] >= 1
        assert r['frames_sent'] >= 2
    for r in result['latency'] + result['small_frame']:
        assert r['frames_sent'] == 5
        assert {'transport', 'wait', 'convert_resize', 'snn', 'tail_dominant'} <= (
            r['breakdown_ms'].keys())
    assert {v['qos'] for v in result['target']} == set(QOS)
    assert {'serialize', 'deserialize', 'parse_cdr', 'convert_shrink', 'snn_T350', 'snn_T75'} <= (
        result['local_costs_ms'].keys())
