# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Network configuration: every constant of Diehl & Cook (2015) with its unit in its name.

Defaults follow BindsNET's ``DiehlAndCook2015`` (current-based synapses, reset -60 mV) as
specified in ``docs/model.md``. Configurations are frozen dataclasses so a network, a checkpoint
and a TopSpark profile can share one without copying surprises; ``replace_params`` derives a
modified copy (this is how TopSpark enhancement applies per-timestep settings).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

INHIBITION_VARIANTS = ('layer', 'direct')
LEARNING_RULES = ('pair', 'weight_dependent', 'adaptive')
INPUT_CODINGS = ('poisson', 'regular')
MAX_TIMESTEPS = 1000        # the longest presentation a node accepts: bounds one sample's work


class ConfigError(ValueError):
    """A configuration value or file is invalid; the message names the key and the value."""


@dataclass(frozen=True)
class ExcitatoryParams:
    """Excitatory LIF neurons with adaptive thresholds (Diehl & Cook 2015, eq. 1)."""

    v_rest_mv: float = -65.0
    v_reset_mv: float = -60.0
    v_thresh_mv: float = -52.0          # effective threshold is v_thresh_mv + theta
    tau_mem_ms: float = 100.0
    refractory_ms: float = 5.0
    theta_plus_mv: float = 0.05         # threshold increment per spike while learning
    tau_theta_ms: float = 1e7           # threshold decay while learning; frozen at inference


@dataclass(frozen=True)
class InhibitionParams:
    """Lateral inhibition: Diehl & Cook's inhibitory layer, or direct exc->exc inhibition."""

    variant: str = 'layer'
    exc_to_inh_mv: float = 22.5         # one-to-one excitatory -> inhibitory weight
    inh_to_exc_mv: float = 120.0        # inhibitory -> all other excitatory neurons (see docs)
    inh_v_rest_mv: float = -60.0
    inh_v_reset_mv: float = -45.0
    inh_v_thresh_mv: float = -40.0
    inh_tau_mem_ms: float = 10.0
    inh_refractory_ms: float = 2.0
    direct_mv: float = 120.0            # 'direct' variant: inhibition per excitatory spike
    direct_delay_ms: float = 2.0        # 'direct' variant: delay (2 ms equals the layer's path)


@dataclass(frozen=True)
class LearningParams:
    """Online STDP on the input -> excitatory weights (see docs/model.md for each rule)."""

    rule: str = 'pair'
    nu_pre: float = 1e-4                # depression rate on a presynaptic spike
    nu_post: float = 1e-2               # potentiation rate on a postsynaptic spike
    tau_pre_trace_ms: float = 20.0
    tau_post_trace_ms: float = 20.0
    w_min: float = 0.0
    w_max: float = 1.0
    w_init_max: float = 0.3             # initial weights are w_init_max * U(0, 1)
    norm_total: float = 78.4            # each neuron's input column sums to this (<= 0: off)


@dataclass(frozen=True)
class NetworkConfig:
    """Everything needed to rebuild a network: sizes, encoding, neurons, inhibition, learning."""

    n_neurons: int = 400
    input_shape: tuple[int, int] = (28, 28)
    input_rate_hz: float = 63.75        # firing rate of a white pixel (Diehl & Cook)
    input_coding: str = 'poisson'       # 'regular': phase-shifted deterministic rate code
    # Event input: the fraction of each sample's time window (from its start) binned into the
    # timesteps; a TopSpark profile shortens it with T (topspark.enhancement, omega).
    event_window_scale: float = 1.0
    # Event input: the fraction of events kept (each independently, reproducibly per sample);
    # a profile thins events as T shrinks, so each step's drive stays that of T0 while the
    # sample still spans its whole window (topspark.enhancement, kappa).
    event_keep_fraction: float = 1.0
    dt_ms: float = 1.0
    timesteps: int = 350                # T0, the full-length presentation
    n_classes: int = 10
    seed: int = 0
    excitatory: ExcitatoryParams = field(default_factory=ExcitatoryParams)
    inhibition: InhibitionParams = field(default_factory=InhibitionParams)
    learning: LearningParams = field(default_factory=LearningParams)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'input_shape', tuple(int(s) for s in self.input_shape))
        validate(self)

    @property
    def n_inputs(self) -> int:
        return self.input_shape[0] * self.input_shape[1]

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data['input_shape'] = list(self.input_shape)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'NetworkConfig':
        return _build(cls, data, 'config')

    @classmethod
    def from_json(cls, text: str) -> 'NetworkConfig':
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_yaml(cls, path: str | Path) -> 'NetworkConfig':
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f'{path}: configuration file not found') from None
        except yaml.YAMLError as exc:
            raise ConfigError(f'{path}: not valid YAML: {exc}') from None
        if not isinstance(data, Mapping):
            raise ConfigError(f'{path}: expected a mapping of configuration keys, found '
                              f'{type(data).__name__}')
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f'{path}: {exc}') from None


_GROUPS = {'excitatory': ExcitatoryParams, 'inhibition': InhibitionParams,
           'learning': LearningParams}


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f'{where}: unknown key(s) {unknown}; known keys are {sorted(names)}')
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _GROUPS and cls is NetworkConfig:
            if not isinstance(value, Mapping):
                raise ConfigError(f'{where}.{key}: expected a mapping, found {value!r}')
            kwargs[key] = _build(_GROUPS[key], value, f'{where}.{key}')
        else:
            kwargs[key] = _coerce(names[key], value, f'{where}.{key}')
    return cls(**kwargs)


def _coerce(f: dataclasses.Field, value: Any, where: str) -> Any:
    default = f.default
    if isinstance(default, bool) or isinstance(value, bool) and not isinstance(default, bool):
        raise ConfigError(f'{where}: expected a number, found {value!r}')
    if isinstance(default, float):
        if not isinstance(value, (int, float)):
            raise ConfigError(f'{where}: expected a number, found {value!r}')
        return float(value)
    if isinstance(default, int):
        if not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
            raise ConfigError(f'{where}: expected an integer, found {value!r}')
        return int(value)
    if f.name == 'input_shape':
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ConfigError(f'{where}: expected [height, width], found {value!r}')
        return tuple(value)
    return value


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def validate(config: NetworkConfig) -> None:
    """Reject configurations the simulator cannot run, naming the offending key."""
    ex, inh, ln = config.excitatory, config.inhibition, config.learning
    for name, group in (('', config), ('excitatory.', ex), ('inhibition.', inh),
                        ('learning.', ln)):
        for f in dataclasses.fields(group):
            value = getattr(group, f.name)
            if isinstance(value, float):
                _check(math.isfinite(value), f'{name}{f.name} must be finite, got {value}')
    _check(config.n_neurons >= 1, f'n_neurons must be >= 1, got {config.n_neurons}')
    _check(all(s >= 1 for s in config.input_shape),
           f'input_shape must be positive, got {config.input_shape}')
    _check(config.dt_ms > 0, f'dt_ms must be > 0, got {config.dt_ms}')
    _check(config.timesteps >= 1, f'timesteps must be >= 1, got {config.timesteps}')
    _check(config.n_classes >= 2, f'n_classes must be >= 2, got {config.n_classes}')
    _check(config.input_coding in INPUT_CODINGS,
           f'input_coding must be one of {INPUT_CODINGS}, got {config.input_coding!r}')
    _check(0.0 < config.event_window_scale <= 1.0,
           f'event_window_scale must be in (0, 1], got {config.event_window_scale}')
    _check(0.0 < config.event_keep_fraction <= 1.0,
           f'event_keep_fraction must be in (0, 1], got {config.event_keep_fraction}')
    _check(config.input_rate_hz >= 0, f'input_rate_hz must be >= 0, got {config.input_rate_hz}')
    _check(config.input_rate_hz * config.dt_ms / 1000.0 <= 1.0,
           'input_rate_hz * dt_ms must not exceed one spike per timestep, '
           f'got {config.input_rate_hz} Hz at dt {config.dt_ms} ms')
    _check(0 <= config.seed < 2**63, f'seed must be in [0, 2**63), got {config.seed}')
    for name in ('tau_mem_ms', 'tau_theta_ms'):
        _check(getattr(ex, name) > 0, f'excitatory.{name} must be > 0')
    _check(ex.refractory_ms >= 0, 'excitatory.refractory_ms must be >= 0')
    _check(ex.theta_plus_mv >= 0, 'excitatory.theta_plus_mv must be >= 0')
    _check(ex.v_reset_mv < ex.v_thresh_mv,
           f'excitatory.v_reset_mv ({ex.v_reset_mv}) must be below v_thresh_mv ({ex.v_thresh_mv})')
    _check(ex.v_rest_mv < ex.v_thresh_mv,
           f'excitatory.v_rest_mv ({ex.v_rest_mv}) must be below v_thresh_mv ({ex.v_thresh_mv})')
    _check(inh.variant in INHIBITION_VARIANTS,
           f'inhibition.variant must be one of {INHIBITION_VARIANTS}, got {inh.variant!r}')
    _check(inh.inh_tau_mem_ms > 0, 'inhibition.inh_tau_mem_ms must be > 0')
    _check(inh.inh_refractory_ms >= 0, 'inhibition.inh_refractory_ms must be >= 0')
    _check(inh.inh_v_reset_mv < inh.inh_v_thresh_mv,
           'inhibition.inh_v_reset_mv must be below inh_v_thresh_mv')
    _check(inh.direct_delay_ms >= config.dt_ms,
           f'inhibition.direct_delay_ms must be >= dt_ms ({config.dt_ms}), '
           f'got {inh.direct_delay_ms}')
    for name in ('exc_to_inh_mv', 'inh_to_exc_mv', 'direct_mv'):
        _check(getattr(inh, name) >= 0, f'inhibition.{name} must be >= 0 (a magnitude)')
    _check(ln.rule in LEARNING_RULES,
           f'learning.rule must be one of {LEARNING_RULES}, got {ln.rule!r}')
    _check(ln.nu_pre >= 0 and ln.nu_post >= 0, 'learning.nu_pre and nu_post must be >= 0')
    _check(ln.tau_pre_trace_ms > 0 and ln.tau_post_trace_ms > 0, 'learning trace taus must be > 0')
    _check(ln.w_min < ln.w_max, f'learning.w_min ({ln.w_min}) must be below w_max ({ln.w_max})')
    _check(0 < ln.w_init_max <= ln.w_max, 'learning.w_init_max must be in (0, w_max]')


def replace_params(config: NetworkConfig, overrides: Mapping[str, Any]) -> NetworkConfig:
    """A copy with dotted-key overrides applied, e.g. ``{'excitatory.v_thresh_mv': -55.0}``."""
    return NetworkConfig.from_dict(apply_overrides(config.to_dict(), overrides))


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any],
                    error: type[ValueError] = ConfigError,
                    fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data`` (a configuration as nested dicts) with dotted-key ``overrides`` set in place;
    an unknown group or parameter, or one of ``fixed``, raises ``error`` naming it. The one
    implementation behind both models' ``replace_params``."""
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split('.')
        for part in parents:
            if part not in node or not isinstance(node[part], dict):
                raise error(f'override {dotted!r}: no group {part!r}')
            node = node[part]
        if leaf not in node or leaf in fixed:
            raise error(f'override {dotted!r}: no parameter {leaf!r}')
        node[leaf] = value
    return data
