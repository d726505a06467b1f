# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception's parameter table, timestep-command checks and diagnostics content, without ROS
(``topspark_ros.perception.settings`` and ``status``); the node only converts them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from topspark_ros.activity import ActivityReport
from topspark_ros.models import ModelOutput, ModelSummary
from topspark_ros.perception import (apply_changes, check_changes, check_timesteps_command,
                                     input_status, ModelFiles, ModelStartError, model_status,
                                     open_service, parameter_specs, sample_activity, Settings)
from topspark_ros.perception.service import ServiceStatus
from topspark_ros.perception.status import ERROR, OK, WARN
from topspark_ros.snn import OpCounts
from topspark_ros.snn.config import MAX_TIMESTEPS

REPO = Path(__file__).resolve().parent.parent


def test_parameter_table_names_defaults_and_ranges():
    specs = {p.name: p for p in parameter_specs()}
    assert len(specs) == len(parameter_specs()), 'a parameter declared twice'
    settings = Settings()
    assert specs['timesteps'].default == settings.timesteps
    assert specs['timesteps'].integers == (1, MAX_TIMESTEPS)
    assert (specs['event_sensor_height'].default, specs['event_sensor_width'].default) == \
        settings.sensor_shape
    assert specs['model_fallback'].default == ModelFiles('').fallback == 'refuse'
    assert specs['n_neurons'].default == ModelFiles('').fresh_neurons
    assert {n for n, p in specs.items() if p.read_only} == {
        'model_path', 'model_fallback', 'profile_path', 'n_neurons', 'overwrite_model',
        'input_reliability', 'max_pixels'}
    for spec in specs.values():
        assert spec.description and not (spec.integers and spec.floats)
        bounds = spec.integers or spec.floats
        if bounds:
            assert bounds[0] <= spec.default <= bounds[1], spec.name
    # every run-time setting is a parameter of the same name (the sensor shape as two)
    names = set(Settings.__dataclass_fields__) - {'sensor_shape'}
    assert names <= set(specs)


def test_timesteps_command_checks():
    assert check_timesteps_command(40, 350, True, 20) is None
    assert check_timesteps_command(MAX_TIMESTEPS, 350, True, 20) is None
    limited = check_timesteps_command(40, 350, False, 20)
    assert limited.reason == 'timesteps_rate_limited' and 'more than 20' in limited.text
    for value in (0, MAX_TIMESTEPS + 1):
        refused = check_timesteps_command(value, 350, True, 20)
        assert refused.reason == 'timesteps_out_of_range'
        assert f'{value} is outside 1..{MAX_TIMESTEPS}; keeping 350' in refused.text


def test_parameter_changes_checked_without_a_model():
    assert check_changes({'timesteps': 7, 'learning': True}, None) is None   # checked later
    assert 'not one of' in check_changes({'model_fallback': 'retry'}, None)
    assert 'must end in .npz' in check_changes({'save_path': 'out.bin'}, None)
    assert check_changes({'save_path': ''}, None) is None


def test_input_status_levels_and_values():
    totals = {'processed': 5, 'dropped_frames': 2, 'rejected_too_large': 1,
              'rejected_bad_encoding': 3, 'callback_exceptions': 0}
    quiet = {k: 0 for k in totals}
    reliability = {'image': 'best_effort', 'events': 'waiting'}
    status = input_status(totals, quiet, 7, reliability, 0.25)
    assert (status.level, status.message) == (OK, '5 samples processed')
    assert list(status.values) == [
        'processed', 'dropped_frames', 'dropped_event_windows', 'dropped_event_packets',
        'dropped_window_events', 'rejected', 'callback_exceptions', 'rejected_bad_encoding',
        'rejected_too_large', 'reliability image', 'reliability events',
        'last_compute_seconds']
    assert status.values['rejected'] == 4 and status.values['dropped_window_events'] == 7
    assert status.values['reliability image'] == 'best_effort'

    dropped = input_status(totals, {**quiet, 'dropped_frames': 2}, 0, {}, math.nan)
    assert (dropped.level, dropped.message) == (WARN, '2 sample(s) dropped: model too slow')
    rejected = input_status(totals, {**quiet, 'dropped_frames': 2, 'rejected_too_large': 1},
                            0, {}, math.nan)
    assert (rejected.level, rejected.message) == (WARN, '1 input(s) rejected in the last period')
    raised = input_status({**totals, 'callback_exceptions': 1},
                          {**quiet, 'callback_exceptions': 1, 'rejected_too_large': 1},
                          0, {}, math.nan)
    assert raised.level == ERROR and 'a callback raised' in raised.message


def service_status(**changes) -> ServiceStatus:
    summary = changes.pop('summary', ModelSummary('stdp', 784, 400, 10, True, 'trained', 'layer',
                                                  60000))
    fields = dict(source='model.npz', load_error='', profile='profile.yaml', overrides={},
                  save_target='', last_save='', save_error='', unsaved_samples=0,
                  unsaved_labels=0)
    fields.update(changes)
    return ServiceStatus(summary, **fields)


def test_model_status_levels_and_values():
    settings = Settings(timesteps=40, learning=True)
    ok = model_status(service_status(overrides={'input_coding': 'regular', 'nu_post': 0.001}),
                      settings, {'saves': 2, 'labels_applied': 3})
    assert (ok.level, ok.message) == (OK, 'model.npz')
    assert ok.values['enhancement'] == 'input_coding=regular, nu_post=0.001'
    assert (ok.values['timesteps'], ok.values['learning'], ok.values['saves'],
            ok.values['labels_applied']) == (40, True, 2, 3)
    assert model_status(service_status(), settings, {}).values['enhancement'] == 'none'

    untrained = ModelSummary('stdp', 784, 20, 10, False, 'no labelled neurons yet', 'layer', 0)
    waiting = model_status(service_status(summary=untrained), settings, {})
    assert (waiting.level, waiting.message) == (WARN, 'no labelled neurons yet')
    failed = model_status(service_status(save_error='disk full'), settings, {})
    assert (failed.level, failed.message) == (ERROR, 'last save failed: disk full')
    both = model_status(service_status(load_error='missing', save_error='disk full'),
                        settings, {})
    assert (both.level, both.message) == (ERROR, 'model_path not loaded: missing')


def test_sample_activity_is_the_activity_contract():
    ops = OpCounts(input_spikes=330, exc_spikes=4, inh_spikes=3, synaptic_events=1000,
                   neuron_updates=5000, weight_updates=0, timesteps=40)
    output = ModelOutput.from_scores(np.arange(10, dtype=np.float32), ops)
    summary = ModelSummary('stdp', 784, 400, 10, True, 'trained', 'layer', 60000)
    status = sample_activity(output, summary, 0.5, 'events', True, 0.010, 0.012, 0.002)
    assert (status.level, status.message) == (OK, 'events sample: prediction 9')
    report = ActivityReport.from_values({k: str(v) for k, v in status.values.items()})
    assert (report.ops, report.mode, report.dt_ms) == (ops, 'learn', 0.5)
    assert report.source == 'events' and report.n_neurons == 400
    assert report.snn_seconds == report.compute_seconds == 0.010    # capped at the sample's
    assert (report.wait_seconds, report.inhibition, report.model) == (0.002, 'layer', 'stdp')


def test_the_model_service_follows_the_parameters(tmp_path):
    values = {spec.name: spec.default for spec in parameter_specs()}
    values.update(model_path=str(REPO / 'config' / 'model_n400.npz'),
                  profile_path=str(REPO / 'config' / 'profile_n400'))
    settings = Settings().updated(values)
    service = open_service(values, settings)
    assert service.timesteps == settings.timesteps
    unprofiled = next(T for T in range(1, MAX_TIMESTEPS) if T not in service.profile.timesteps)
    with pytest.raises(ModelStartError, match='not in the profile'):
        open_service(values, settings.updated({'timesteps': unprofiled}))

    short = min(service.profile.timesteps)
    changed = {'timesteps': short, 'event_window_s': 0.2, 'save_path': str(tmp_path / 'o.npz')}
    new = settings.updated(changed)
    overrides = apply_changes(service, settings, new, changed)
    assert overrides == dict(service.profile.entry(short).params) and service.timesteps == short
    assert service.files.save_path == changed['save_path']
    assert service.files.model_path == values['model_path']
    assert service.events.window.length == pytest.approx(0.2 * service.model.event_window_scale)
    assert apply_changes(service, new, new, {}) == {}               # nothing changed
