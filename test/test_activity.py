# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The activity contract: ActivityReport's builder and parser, tested together.

Perception builds the strings (``to_values``), metrics parses them (``from_values``); every
report the builder accepts parses back to itself, and everything the parser refuses carries a
reason code. No ROS needed.
"""

import dataclasses
import math
import subprocess
import sys

import pytest

from topspark_ros.activity import (ActivityError, ActivityReport, EVENT_SOURCE, LEGACY_DT_MS,
                                   OP_KEYS, REASONS, SCHEMA_KEY, SCHEMA_VERSION)
from topspark_ros.energy import MAX_COUNT, OP_FIELDS
from topspark_ros.snn import OpCounts

OPS = OpCounts(input_spikes=330, exc_spikes=4, inh_spikes=3,
               synaptic_events=330 * 400 + 4 + 3 * 399, neuron_updates=2 * 400 * 50,
               weight_updates=0, timesteps=50)
FULL = ActivityReport(ops=OPS, mode='learn', n_inputs=784, n_neurons=400, dt_ms=0.5,
                      compute_seconds=0.1 + 0.2, source='image', snn_seconds=1 / 3 * 0.3,
                      wait_seconds=2.5e-5, inhibition='layer', prediction=-1,
                      model='diehl_cook')
MINIMAL = ActivityReport(ops=OPS, mode='infer', n_inputs=1, n_neurons=1, dt_ms=1.0,
                         compute_seconds=0.0, source=EVENT_SOURCE)

# What perception's _run publishes today (topspark_ros/nodes/perception.py); the schema keeps
# every one of them.
PERCEPTION_KEYS = {'timesteps', 'mode', 'input_spikes', 'exc_spikes', 'inh_spikes',
                   'synaptic_events', 'neuron_updates', 'weight_updates', 'compute_seconds',
                   'n_neurons', 'n_inputs', 'inhibition', 'source', 'prediction', 'snn_seconds',
                   'wait_seconds'}


@pytest.mark.parametrize('report', [FULL, MINIMAL], ids=['full', 'minimal'])
def test_what_the_builder_writes_parses_back_exactly(report):
    values = report.to_values()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    assert values[SCHEMA_KEY] == str(SCHEMA_VERSION) and list(values)[0] == SCHEMA_KEY
    assert ActivityReport.from_values(values) == report          # floats too (repr)


def test_the_schema_covers_what_perception_publishes_and_the_energy_model_needs():
    keys = FULL.to_values().keys()
    assert PERCEPTION_KEYS | {'dt_ms', 'model', SCHEMA_KEY} == set(keys)
    assert set(OP_KEYS) == set(OP_FIELDS) <= set(keys)
    assert MINIMAL.to_values().keys() == set(keys) - {'snn_seconds', 'wait_seconds',
                                                      'inhibition', 'prediction', 'model'}


def test_derived_properties():
    assert FULL.learning and not MINIMAL.learning
    assert MINIMAL.event_input and not FULL.event_input
    assert FULL.inhibition_layer is True and MINIMAL.inhibition_layer is None
    assert dataclasses.replace(FULL, inhibition='direct').inhibition_layer is False
    assert FULL.duration_s == pytest.approx(50 * 0.5e-3)


def text(**changes: str) -> dict:
    """FULL's strings with ``changes`` (None removes a key)."""
    values = {**FULL.to_values(), **changes}
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize('values, reason', [
    (text(synaptic_events=None), 'missing_key'),
    (text(dt_ms=None), 'missing_key'),                   # versioned reports must give it
    (text(source=None), 'missing_key'),
    (text(schema='2'), 'unsupported_version'),
    (text(schema='one'), 'unsupported_version'),
    (text(input_spikes='many'), 'non_numeric'),
    (text(compute_seconds=''), 'non_numeric'),
    (text(compute_seconds='nan'), 'non_finite'),
    (text(timesteps='inf'), 'non_finite'),
    (text(weight_updates='2.5'), 'not_integer'),
    (text(prediction='0.5'), 'not_integer'),
    (text(exc_spikes='-1'), 'negative_value'),
    (text(wait_seconds='-1e-9'), 'negative_value'),
    (text(timesteps='0'), 'not_positive'),
    (text(n_inputs='0'), 'not_positive'),
    (text(dt_ms='0'), 'not_positive'),
    (text(synaptic_events='9223372036854775808'), 'out_of_range'),
    (text(neuron_updates='1e300'), 'out_of_range'),
    (text(prediction='-2'), 'out_of_range'),
    (text(mode='train'), 'bad_mode'),
    (text(inhibition='maybe'), 'bad_inhibition'),
    (text(source='  '), 'bad_source'),
    (text(snn_seconds='1.0'), 'inconsistent_counts'),
])
def test_the_parser_refuses_with_a_reason(values, reason):
    with pytest.raises(ActivityError) as info:
        ActivityReport.from_values(values)
    assert info.value.reason == reason and reason in REASONS


def test_numpy_counts_from_a_model_are_accepted_and_written_as_plain_numbers():
    import numpy as np

    ops = OpCounts(*(np.int64(v) for v in dataclasses.astuple(OPS)))
    report = dataclasses.replace(FULL, ops=ops, n_neurons=np.int32(400),
                                 compute_seconds=np.float64(0.25))
    assert report.to_values() == dataclasses.replace(FULL, compute_seconds=0.25).to_values()


def test_the_largest_count_and_integral_float_texts_are_accepted():
    parsed = ActivityReport.from_values(text(synaptic_events=str(MAX_COUNT),
                                             weight_updates='1e3', compute_seconds='3'))
    assert parsed.ops.synaptic_events == MAX_COUNT and parsed.ops.weight_updates == 1000
    assert parsed.compute_seconds == 3.0 and isinstance(parsed.compute_seconds, float)


def test_an_unversioned_report_is_perceptions_earlier_output_with_1_ms_steps():
    legacy = {k: v for k, v in FULL.to_values().items() if k not in (SCHEMA_KEY, 'dt_ms')}
    assert ActivityReport.from_values(legacy) == dataclasses.replace(FULL, dt_ms=LEGACY_DT_MS)
    assert ActivityReport.from_values({**legacy, 'dt_ms': '0.25'}).dt_ms == 0.25


@pytest.mark.parametrize('changes, reason', [
    ({'ops': dataclasses.replace(OPS, exc_spikes=True)}, 'not_integer'),
    ({'ops': dataclasses.replace(OPS, exc_spikes=4.0)}, 'not_integer'),
    ({'ops': dataclasses.replace(OPS, synaptic_events=MAX_COUNT + 1)}, 'out_of_range'),
    ({'ops': dataclasses.replace(OPS, timesteps=0)}, 'not_positive'),
    ({'n_neurons': 0}, 'not_positive'),
    ({'mode': 'Learn'}, 'bad_mode'),
    ({'dt_ms': math.inf}, 'non_finite'),
    ({'compute_seconds': '0.1'}, 'non_numeric'),
    ({'snn_seconds': 1.0}, 'inconsistent_counts'),
    ({'prediction': True}, 'out_of_range'),
    ({'source': ''}, 'bad_source'),
])
def test_the_builder_refuses_what_the_parser_would(changes, reason):
    with pytest.raises(ActivityError) as info:
        dataclasses.replace(FULL, **changes)
    assert info.value.reason == reason


def test_a_reason_must_be_a_known_code():
    with pytest.raises(ValueError, match="unknown ActivityError reason 'typo'"):
        ActivityError('typo', 'text')


def test_the_contract_imports_no_ros():
    code = ('import sys; import topspark_ros.activity; '
            'assert not [m for m in sys.modules if m.startswith("rclpy")], "rclpy loaded"')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
