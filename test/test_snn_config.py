# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Configuration dataclasses: defaults, YAML files, validation with named keys."""

import pytest

from topspark_ros.snn import ConfigError, NetworkConfig, replace_params


def test_defaults_follow_the_specification():
    cfg = NetworkConfig()
    assert (cfg.n_neurons, cfg.n_inputs, cfg.timesteps, cfg.dt_ms) == (400, 784, 350, 1.0)
    assert cfg.excitatory.v_thresh_mv == -52.0 and cfg.excitatory.tau_mem_ms == 100.0
    assert cfg.learning.norm_total == 78.4


def test_json_and_yaml_round_trip(tmp_path):
    cfg = replace_params(NetworkConfig(), {'n_neurons': 100, 'learning.rule': 'adaptive',
                                           'inhibition.variant': 'direct'})
    assert NetworkConfig.from_json(cfg.to_json()) == cfg
    path = tmp_path / 'net.yaml'
    path.write_text('n_neurons: 100\nlearning:\n  rule: adaptive\ninhibition:\n'
                    '  variant: direct\n')
    assert NetworkConfig.from_yaml(path) == cfg


@pytest.mark.parametrize('data, message', [
    ({'n_neurons': 0}, 'n_neurons'),
    ({'neurons': 10}, 'unknown key'),
    ({'learning': {'rule': 'hebb'}}, 'learning.rule'),
    ({'inhibition': {'variant': 'none'}}, 'inhibition.variant'),
    ({'excitatory': {'v_reset_mv': -40.0}}, 'v_reset_mv'),
    ({'excitatory': {'tau_mem_ms': 'fast'}}, 'expected a number'),
    ({'dt_ms': 1.0, 'input_rate_hz': 2000.0}, 'one spike per timestep'),
    ({'timesteps': 2.5}, 'expected an integer'),
    ({'excitatory': {'theta_plus_mv': float('nan')}}, 'finite'),
])
def test_invalid_values_are_rejected_with_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        NetworkConfig.from_dict(data)


def test_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        NetworkConfig.from_yaml(tmp_path / 'missing.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('n_neurons: [1, 2')
    with pytest.raises(ConfigError, match='bad.yaml'):
        NetworkConfig.from_yaml(bad)


def test_replace_params_rejects_unknown_names():
    with pytest.raises(ConfigError, match='no parameter'):
        replace_params(NetworkConfig(), {'excitatory.v_thresh': -50})
