# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark step 4: choose the timestep that meets accuracy, latency and energy requirements.

Rule: among profiled timesteps whose accuracy is at least ``acc(T0) - accuracy_tolerance``, whose
inference latency fits ``latency_budget_s`` and whose inference energy fits ``energy_budget_j``,
take the one with the least inference energy (ties: higher accuracy, then larger T). When no
timestep meets every requirement, a safe choice is still returned and the reason names what was
relaxed, in this order (a robot's deadline outranks its battery, its accuracy outranks both only
when nothing fits the deadline): first the energy budget; then accuracy (the most accurate T that
fits the latency budget); finally latency (the fastest T).

The governor moves the tolerance with the battery (``battery_tolerance``): a full battery asks for
accuracy close to T0, an empty one accepts more loss for less energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .profile import Profile, ProfileEntry


@dataclass(frozen=True)
class Requirements:
    accuracy_tolerance: float = 0.02            # fraction: 0.02 = 2 percentage points below T0
    latency_budget_s: float | None = None       # per inference sample
    energy_budget_j: float | None = None        # per inference sample

    def __post_init__(self) -> None:
        tol = self.accuracy_tolerance
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0.0 <= tol <= 1.0):
            raise ValueError(f'accuracy_tolerance must be in [0, 1], got {tol!r}')
        for name in ('latency_budget_s', 'energy_budget_j'):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f'{name} must be > 0 (or None for no budget), got {value!r}')

    @classmethod
    def within_domain(cls, accuracy_tolerance: float, latency_budget_s: float | None = None,
                      energy_budget_j: float | None = None) -> Requirements:
        """Requirements that never raise, for settings a caller has only range-checked: the
        tolerance clamped into [0, 1] (NaN: 0, accuracy first), a budget that is not a finite
        number > 0 read as none (0 is how the governor's parameters say "no budget")."""
        tol = float(accuracy_tolerance)
        tol = 0.0 if math.isnan(tol) else min(max(tol, 0.0), 1.0)

        def budget(value: float | None) -> float | None:
            return value if value is not None and math.isfinite(value) and value > 0 else None

        return cls(tol, budget(latency_budget_s), budget(energy_budget_j))


@dataclass(frozen=True)
class Choice:
    timesteps: int
    params: dict[str, Any]
    reason: str
    relaxed: tuple[str, ...] = ()
    entry: ProfileEntry | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {'timesteps': self.timesteps, 'params': self.params, 'reason': self.reason,
                'relaxed': list(self.relaxed),
                'accuracy': e.accuracy if e else None,
                'latency_infer_s': e.latency_infer_s if e else None,
                'energy_infer_j': e.energy_infer_j if e else None}


def _describe(e: ProfileEntry) -> str:
    return (f'accuracy {e.accuracy:.3f}, latency {e.latency_infer_s * 1e6:.1f} us, '
            f'energy {e.energy_infer_j:.3g} J per inference sample')


def choose(profile: Profile, req: Requirements) -> Choice:
    """The timestep for ``req`` (see the module docstring for the rule and the fallbacks)."""
    floor = profile.baseline.accuracy - req.accuracy_tolerance
    fits_acc = [e for e in profile.entries if e.accuracy >= floor - 1e-12]
    fits_lat = [e for e in profile.entries
                if req.latency_budget_s is None or e.latency_infer_s <= req.latency_budget_s]
    fits_energy = [e for e in profile.entries
                   if req.energy_budget_j is None or e.energy_infer_j <= req.energy_budget_j]

    def cheapest(candidates: list[ProfileEntry]) -> ProfileEntry:
        return min(candidates, key=lambda e: (e.energy_infer_j, -e.accuracy, -e.timesteps))

    wanted = (f'accuracy >= {floor:.3f} (T0={profile.baseline.timesteps}: '
              f'{profile.baseline.accuracy:.3f} - {req.accuracy_tolerance:.3f})')
    if req.latency_budget_s is not None:
        wanted += f', latency <= {req.latency_budget_s * 1e6:.1f} us'
    if req.energy_budget_j is not None:
        wanted += f', energy <= {req.energy_budget_j:.3g} J'

    both = [e for e in fits_acc if e in fits_lat]
    every = [e for e in both if e in fits_energy]
    if every:
        e = cheapest(every)
        return Choice(e.timesteps, dict(e.params),
                      f'T={e.timesteps}: least energy meeting {wanted}: {_describe(e)}', (), e)
    if both:
        e = cheapest(both)
        return Choice(e.timesteps, dict(e.params),
                      f'T={e.timesteps}: no timestep meets {wanted}; relaxed the energy budget '
                      f'and took the least energy meeting accuracy and latency: {_describe(e)}',
                      ('energy',), e)
    if fits_lat:
        e = max(fits_lat, key=lambda e: (e.accuracy, -e.energy_infer_j))
        return Choice(e.timesteps, dict(e.params),
                      f'T={e.timesteps}: no timestep meets {wanted}; relaxed accuracy and took '
                      f'the most accurate within the latency budget: {_describe(e)}',
                      ('energy', 'accuracy') if req.energy_budget_j else ('accuracy',), e)
    e = min(profile.entries, key=lambda e: (e.latency_infer_s, -e.accuracy))
    return Choice(e.timesteps, dict(e.params),
                  f'T={e.timesteps}: no timestep fits the latency budget; relaxed latency and '
                  f'took the fastest: {_describe(e)}', ('latency',), e)


def battery_tolerance(percentage: float | None, tolerance_full: float = 0.01,
                      tolerance_empty: float = 0.10, reserve: float = 0.2) -> float:
    """Accuracy tolerance for a battery level in [0, 1]: ``tolerance_full`` at a full battery,
    rising linearly to ``tolerance_empty`` at the ``reserve`` level and staying there below it.
    An unknown level (None or NaN) returns ``tolerance_full``: with no evidence of a low
    battery, keep accuracy (the documented safe choice)."""
    if percentage is None or math.isnan(percentage):
        return tolerance_full
    level = min(max(float(percentage), 0.0), 1.0)
    if level <= reserve:
        return tolerance_empty
    frac = (1.0 - level) / (1.0 - reserve)
    return tolerance_full + frac * (tolerance_empty - tolerance_full)
