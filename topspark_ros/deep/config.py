# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Configuration of the spiking deep network (Hunsberger & Eliasmith 2016): layers, LIF
constants with their units, input coding and readout, as frozen dataclasses.

A network is trained offline as a rate network with the soft-LIF response and run as spiking
LIF neurons with the same constants (docs/model.md, "The spiking deep network"). Everything
TopSpark may change per T is a field here, addressed by a dotted key (``lif.v_init``,
``rate_gain``, ...) through ``replace_params``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import json
import math
from typing import Any, Mapping

from ..snn.config import apply_overrides

LAYER_KINDS = ('conv', 'dense', 'avgpool', 'sumpool')
INPUT_CODINGS = ('current', 'poisson', 'regular')
READOUTS = ('current', 'counts')
INTEGRATIONS = ('exact', 'discrete')
"""LIF stepping: spike and reset at the exact crossing time, or at the step's end with no
refractory period (the forward step of NIR simulators; docs/hardware.md)."""


class DeepConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the value."""


@dataclass(frozen=True)
class LifParams:
    """LIF neurons with threshold ``v_thresh`` and reset to 0 (Hunsberger & Eliasmith 2016).

    tau_rc dv/dt = j - v; a spike when v reaches v_thresh, then v = 0 for tau_ref. The rate for
    a constant current j (v_thresh = 1) is r(j) = 1 / (tau_ref + tau_rc log(1 + 1/(j - 1))).
    A spike carries ``amplitude`` (the activation the next layer sees is amplitude x rate).
    ``integration`` 'discrete' spikes and resets at the end of a step and needs tau_ref = 0
    (what NIR simulators such as snnTorch run; imported NIR graphs use it).
    """

    tau_rc_ms: float = 20.0
    tau_ref_ms: float = 2.0
    amplitude: float = 0.063 / 4        # activation per Hz (a spike is amplitude / dt)
    gamma: float = 0.02                 # soft-LIF smoothing; training only
    tau_s_ms: float = 0.0               # first-order synapse on spike inputs; 0: none
    v_init: float = 0.0                 # membrane at the start of a sample, x v_thresh
    v_thresh: float = 1.0
    integration: str = 'exact'          # one of INTEGRATIONS

    def with_integration(self, integration: str) -> 'LifParams':
        """The same neurons stepped with ``integration``; 'discrete' has no refractory
        period, so tau_ref becomes 0 (docs/hardware.md)."""
        tau_ref_ms = 0.0 if integration == 'discrete' else self.tau_ref_ms
        return dataclasses.replace(self, integration=integration, tau_ref_ms=tau_ref_ms)


@dataclass(frozen=True)
class LayerSpec:
    """One layer. conv: ``size`` output channels, ``kernel`` x ``kernel``, ``stride``,
    ``padding``; dense: ``size`` units; avgpool / sumpool: ``kernel`` x ``kernel`` windows
    with stride ``kernel``. conv and dense layers hold LIF neurons, except the last layer,
    which is the readout."""

    kind: str
    size: int = 0
    kernel: int = 1
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class DeepConfig:
    input_shape: tuple[int, int, int] = (1, 28, 28)      # (channels, height, width)
    layers: tuple[LayerSpec, ...] = (LayerSpec('dense', 500), LayerSpec('dense', 200),
                                     LayerSpec('dense', 10))
    lif: LifParams = LifParams()
    n_classes: int = 10
    dt_ms: float = 1.0
    timesteps: int = 200                # T0: the presentation it was made for (the paper: 200 ms)
    input_coding: str = 'current'       # constant pixel currents, or input spikes
    input_rate_hz: float = 200.0        # a white pixel's rate with spike input codings
    rate_gain: float = 1.0              # currents x gain, spike amplitude / gain (inference)
    readout: str = 'current'            # output layer: summed weighted input, or spike counts
    readout_learning_rate: float = 0.002  # delta rule step per label on the robot (deep.online)
    seed: int = 0

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def n_inputs(self) -> int:
        return math.prod(self.input_shape)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'DeepConfig':
        data = dict(data)
        try:
            data['input_shape'] = tuple(int(v) for v in data.get('input_shape', (1, 28, 28)))
            data['layers'] = tuple(LayerSpec(**layer) for layer in data.get('layers', ()))
            data['lif'] = LifParams(**data.get('lif', {}))
            return cls(**data)
        except TypeError as exc:
            raise DeepConfigError(f'unknown or missing configuration key: {exc}') from None

    @classmethod
    def from_json(cls, text: str) -> 'DeepConfig':
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class OperatingPoint:
    """A setting the spiking network will run at, which spiking fine-tuning (``deep.bptt``,
    ``topspark-train-deep --spiking-points``) trains for: T steps per sample, the rate gain
    and the initial membrane voltage (x threshold), as a profile's constants set them."""

    timesteps: int
    rate_gain: float = 1.0
    v_init: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.timesteps, int) and self.timesteps >= 1):
            raise ValueError(f'timesteps must be a whole number >= 1, got {self.timesteps}')
        if not (math.isfinite(self.rate_gain) and self.rate_gain > 0):
            raise ValueError(f'rate_gain must be > 0, got {self.rate_gain}')
        if not (math.isfinite(self.v_init) and 0.0 <= self.v_init < 1.0):
            raise ValueError(f'v_init must be in [0, 1), got {self.v_init}')


def layer_shapes(config: DeepConfig) -> list[tuple[int, int, int]]:
    """Output shape (channels, height, width) of every layer; dense layers are (n, 1, 1)."""
    shapes = []
    c, h, w = config.input_shape
    for k, layer in enumerate(config.layers):
        if layer.kind == 'conv':
            h = (h + 2 * layer.padding - layer.kernel) // layer.stride + 1
            w = (w + 2 * layer.padding - layer.kernel) // layer.stride + 1
            c = layer.size
        elif layer.kind == 'dense':
            c, h, w = layer.size, 1, 1
        else:
            h, w = h // layer.kernel, w // layer.kernel
        if min(c, h, w) < 1:
            raise DeepConfigError(f'layers[{k}] ({layer.kind}) leaves no output: shape '
                                  f'{(c, h, w)}')
        shapes.append((c, h, w))
    return shapes


def weight_shapes(config: DeepConfig) -> list[tuple[tuple[int, ...], tuple[int, ...]] | None]:
    """(weight, bias) shapes of every layer; None for pooling. conv: (out, in, k, k), the
    layout of NIR and PyTorch; dense: (out, in), inputs flattened in (c, h, w) order."""
    shapes: list[tuple[tuple[int, ...], tuple[int, ...]] | None] = []
    previous = config.input_shape
    for layer, out in zip(config.layers, layer_shapes(config)):
        if layer.kind == 'conv':
            shapes.append(((layer.size, previous[0], layer.kernel, layer.kernel),
                           (layer.size,)))
        elif layer.kind == 'dense':
            shapes.append(((layer.size, math.prod(previous)), (layer.size,)))
        else:
            shapes.append(None)
        previous = out
    return shapes


def replace_params(config: DeepConfig, overrides: Mapping[str, Any]) -> DeepConfig:
    """A copy with dotted-key overrides applied, e.g. ``{'lif.v_init': 0.5}`` (the layers are
    the trained network's: not an override)."""
    return DeepConfig.from_dict(apply_overrides(config.to_dict(), overrides, DeepConfigError,
                                                fixed=('layers',)))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise DeepConfigError(message)


def _validate(config: DeepConfig) -> None:
    lif = config.lif
    _check(len(config.input_shape) == 3 and min(config.input_shape) >= 1,
           f'input_shape must be (channels, height, width) >= 1, got {config.input_shape}')
    _check(bool(config.layers), 'layers must not be empty')
    for k, layer in enumerate(config.layers):
        _check(layer.kind in LAYER_KINDS, f'layers[{k}].kind must be one of {LAYER_KINDS}, '
               f'got {layer.kind!r}')
        _check(layer.kernel >= 1 and layer.stride >= 1 and layer.padding >= 0,
               f'layers[{k}]: kernel and stride must be >= 1 and padding >= 0')
        if layer.kind in ('conv', 'dense'):
            _check(layer.size >= 1, f'layers[{k}].size must be >= 1, got {layer.size}')
    _check(config.layers[-1].kind == 'dense' and config.layers[-1].size == config.n_classes,
           f'the last layer must be dense with n_classes ({config.n_classes}) units')
    _check(config.input_coding in INPUT_CODINGS,
           f'input_coding must be one of {INPUT_CODINGS}, got {config.input_coding!r}')
    _check(config.readout in READOUTS,
           f'readout must be one of {READOUTS}, got {config.readout!r}')
    for name in ('tau_rc_ms', 'amplitude', 'gamma', 'v_thresh'):
        value = getattr(lif, name)
        _check(math.isfinite(value) and value > 0, f'lif.{name} must be > 0, got {value}')
    for name in ('tau_ref_ms', 'tau_s_ms'):
        value = getattr(lif, name)
        _check(math.isfinite(value) and value >= 0, f'lif.{name} must be >= 0, got {value}')
    _check(0.0 <= lif.v_init < 1.0, f'lif.v_init must be in [0, 1), got {lif.v_init}')
    _check(lif.integration in INTEGRATIONS,
           f'lif.integration must be one of {INTEGRATIONS}, got {lif.integration!r}')
    _check(lif.integration == 'exact' or lif.tau_ref_ms == 0,
           f"lif.integration 'discrete' has no refractory period: lif.tau_ref_ms must be 0, "
           f'got {lif.tau_ref_ms}')
    _check(config.dt_ms > 0 and config.timesteps >= 1, 'dt_ms must be > 0 and timesteps >= 1')
    _check(0 < config.input_rate_hz * config.dt_ms / 1000.0 <= 1.0,
           'input_rate_hz x dt_ms must be in (0, one spike per step]')
    _check(math.isfinite(config.rate_gain) and config.rate_gain > 0,
           f'rate_gain must be > 0, got {config.rate_gain}')
    _check(math.isfinite(config.readout_learning_rate) and config.readout_learning_rate >= 0,
           f'readout_learning_rate must be >= 0, got {config.readout_learning_rate}')
    layer_shapes(config)
