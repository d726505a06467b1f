# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The activity contract: one sample's work as perception reports it and readers parse it.

Perception publishes one ``topspark/activity`` status per sample (diagnostic_msgs KeyValue
strings); the metrics node turns it into joules. Both sides use this module, so the keys, their
types and their ranges are written down once: ``ActivityReport.to_values()`` builds the strings,
``ActivityReport.from_values()`` parses and checks them, and the constructor refuses a report
that could not be parsed back. No ROS imports: the strings are what travel.

Keys (``schema`` = SCHEMA_VERSION first, then): the operation counts of ``OpCounts``
(``timesteps``, ``input_spikes``, ``exc_spikes``, ``inh_spikes``, ``synaptic_events``,
``neuron_updates``, ``weight_updates``: whole numbers 0..MAX_COUNT, ``timesteps`` >= 1),
``mode`` ('learn' | 'infer'), ``n_inputs`` and ``n_neurons`` (>= 1), ``dt_ms`` (one timestep in
milliseconds, > 0), ``compute_seconds`` (>= 0), ``source`` ('image', 'compressed', 'events',
...), and optionally ``snn_seconds`` (the part of compute_seconds that scales with T, 0 ..
compute_seconds), ``wait_seconds`` (>= 0), ``inhibition`` ('layer' | 'direct' | 'none'),
``prediction`` (>= -1) and ``model`` (which perception model produced it). Counts are bounded
by int64 because the energy model computes with int64 arrays: 9223372036854775808 synaptic
events are refused here, not overflowed there.

A status without ``schema`` is read as written by perception before the schema was versioned:
the same keys without ``dt_ms``, whose steps were LEGACY_DT_MS long.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
import math
import numbers
from typing import Mapping

from topspark_ros.energy import MAX_COUNT
from topspark_ros.snn import OpCounts

SCHEMA_KEY = 'schema'
SCHEMA_VERSION = 1
LEGACY_DT_MS = 1.0          # the step of unversioned reports (perception's fixed 1 ms steps)
MODES = ('learn', 'infer')
INHIBITIONS = ('layer', 'direct', 'none')     # 'none': a model without lateral inhibition
EVENT_SOURCE = 'events'     # event windows: input spikes do not scale with T
OP_KEYS = tuple(f.name for f in fields(OpCounts))

# Why a status was refused: ActivityError.reason, counted by readers as rejected_<reason>.
REASONS = ('missing_key', 'unsupported_version', 'non_numeric', 'non_finite', 'not_integer',
           'negative_value', 'not_positive', 'out_of_range', 'bad_mode', 'bad_inhibition',
           'bad_source', 'inconsistent_counts')


class ActivityError(ValueError):
    """An activity report that breaks the contract; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, text: str) -> None:
        if reason not in REASONS:
            raise ValueError(f'unknown ActivityError reason {reason!r}')
        super().__init__(text)
        self.reason = reason


@dataclass(frozen=True)
class ActivityReport:
    """One sample's work and how it was run; checked on construction (module docstring)."""

    ops: OpCounts
    mode: str
    n_inputs: int
    n_neurons: int
    dt_ms: float
    compute_seconds: float
    source: str
    snn_seconds: float | None = None
    wait_seconds: float | None = None
    inhibition: str | None = None
    prediction: int | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        for key in OP_KEYS:
            _check_count(key, getattr(self.ops, key))
        for key in ('timesteps', 'n_inputs', 'n_neurons'):
            value = self.ops.timesteps if key == 'timesteps' else getattr(self, key)
            _check_count(key, value)
            if value < 1:
                raise ActivityError('not_positive', f'{key}={value!r} must be >= 1')
        if self.mode not in MODES:
            raise ActivityError('bad_mode', f"mode={self.mode!r} is neither 'learn' nor 'infer'")
        if self.inhibition is not None and self.inhibition not in INHIBITIONS:
            raise ActivityError('bad_inhibition', f'inhibition={self.inhibition!r} is neither '
                                                  "'layer' nor 'direct'")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ActivityError('bad_source', f'source={self.source!r} must name the input')
        _check_seconds('dt_ms', self.dt_ms)
        if self.dt_ms <= 0:
            raise ActivityError('not_positive', f'dt_ms={self.dt_ms!r} must be > 0')
        _check_seconds('compute_seconds', self.compute_seconds)
        for key in ('snn_seconds', 'wait_seconds'):
            if getattr(self, key) is not None:
                _check_seconds(key, getattr(self, key))
        if self.snn_seconds is not None and self.snn_seconds > self.compute_seconds:
            raise ActivityError('inconsistent_counts',
                                f'snn_seconds={self.snn_seconds!r} is not within '
                                f'0..compute_seconds ({self.compute_seconds!r})')
        if self.prediction is not None and (isinstance(self.prediction, bool)
                                            or not isinstance(self.prediction, int)
                                            or self.prediction < -1):
            raise ActivityError('out_of_range', f'prediction={self.prediction!r} must be a '
                                                'class index or -1')

    @property
    def learning(self) -> bool:
        """The sample was learned from (mode 'learn'): weight updates are charged."""
        return self.mode == 'learn'

    @property
    def event_input(self) -> bool:
        """Input from an event window (fixed length; T only bins it), not a rate-coded frame."""
        return self.source.strip() == EVENT_SOURCE

    @property
    def inhibition_layer(self) -> bool | None:
        """True: inhibitory layer, False: direct or no inhibition, None: not reported."""
        return None if self.inhibition is None else self.inhibition == 'layer'

    @property
    def duration_s(self) -> float:
        """The sample's simulated time, timesteps x dt_ms (what static power is charged over)."""
        return self.ops.timesteps * self.dt_ms * 1e-3

    def to_values(self) -> dict[str, str]:
        """The KeyValue strings of this report, in a fixed order; None fields are left out.
        Floats are written with ``repr``, so ``from_values`` gives them back exactly."""
        values: dict[str, object] = {SCHEMA_KEY: SCHEMA_VERSION, 'timesteps': self.ops.timesteps,
                                     'mode': self.mode}
        values.update((key, getattr(self.ops, key)) for key in OP_KEYS if key != 'timesteps')
        values.update(compute_seconds=self.compute_seconds, snn_seconds=self.snn_seconds,
                      wait_seconds=self.wait_seconds, dt_ms=self.dt_ms,
                      n_neurons=self.n_neurons, n_inputs=self.n_inputs,
                      inhibition=self.inhibition, source=self.source,
                      prediction=self.prediction, model=self.model)
        return {key: _text(value) for key, value in values.items() if value is not None}

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> ActivityReport:
        """Parse and check the KeyValues of one activity status; ActivityError says why not."""
        version = values.get(SCHEMA_KEY)
        if version is not None and version.strip() != str(SCHEMA_VERSION):
            raise ActivityError('unsupported_version',
                                f'{SCHEMA_KEY}={version!r}: this reader knows version '
                                f'{SCHEMA_VERSION} (and unversioned reports)')
        required = OP_KEYS + ('mode', 'n_inputs', 'n_neurons', 'compute_seconds', 'source')
        required += ('dt_ms',) if version is not None else ()
        missing = [key for key in required if key not in values]
        if missing:
            raise ActivityError('missing_key', f'missing key(s) {", ".join(missing)}')

        def integer(key: str) -> int:
            return int(_number(values, key, integer=True))

        def real(key: str) -> float | None:
            return float(_number(values, key, integer=False)) if key in values else None

        def text(key: str) -> str | None:
            return values[key].strip() if key in values else None

        dt_ms = real('dt_ms')
        return cls(ops=OpCounts(**{key: integer(key) for key in OP_KEYS}),
                   mode=text('mode'), n_inputs=integer('n_inputs'),
                   n_neurons=integer('n_neurons'),
                   dt_ms=LEGACY_DT_MS if dt_ms is None else dt_ms,
                   compute_seconds=real('compute_seconds'), source=text('source'),
                   snn_seconds=real('snn_seconds'), wait_seconds=real('wait_seconds'),
                   inhibition=text('inhibition'),
                   prediction=integer('prediction') if 'prediction' in values else None,
                   model=text('model'))


def _text(value: object) -> str:
    """A value as the contract writes it: floats exactly (repr), NumPy scalars as plain ones."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return str(value)


def _check_count(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ActivityError('not_integer', f'{key}={value!r} is not a whole number')
    if value < 0:
        raise ActivityError('negative_value', f'{key}={value!r} is negative')
    if value > MAX_COUNT:
        raise ActivityError('out_of_range', f'{key}={value!r} exceeds {MAX_COUNT} (int64)')


def _check_seconds(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ActivityError('non_numeric', f'{key}={value!r} is not a number')
    if not math.isfinite(value):
        raise ActivityError('non_finite', f'{key}={value!r} is not finite')
    if value < 0:
        raise ActivityError('negative_value', f'{key}={value!r} is negative')


def _number(values: Mapping[str, str], key: str, integer: bool) -> float | int:
    """The number in ``values[key]``: an int's text stays exact; '1e3' is 1000 for integers."""
    text = values[key].strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ActivityError('non_numeric', f'{key}={text!r} is not a number') from None
    if not math.isfinite(number):
        raise ActivityError('non_finite', f'{key}={text!r} is not finite')
    if integer:
        if not number.is_integer():
            raise ActivityError('not_integer', f'{key}={text!r} is not a whole number')
        return int(number)
    return number
