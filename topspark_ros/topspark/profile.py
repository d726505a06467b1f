"""TopSpark profiles: what each timestep costs and achieves, as a YAML file nodes can load.

A profile is the output of the four TopSpark steps for one network and workload: for every
timestep T, the accuracy with the baseline parameters and with the enhanced ones, latency and
energy per sample for training and inference, and the enhanced parameters perception applies
when the governor picks T. The governor and ``topspark-select`` read it; ``topspark-profile``
writes it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

FORMAT = 'topspark_ros.profile'
FORMAT_VERSION = 1
_NUMBERS = ('accuracy', 'accuracy_baseline_params', 'latency_train_s', 'latency_infer_s',
            'energy_train_j', 'energy_infer_j')


class ProfileError(ValueError):
    """A profile file is missing or invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class ProfileEntry:
    """One timestep's measured operating point."""

    timesteps: int
    accuracy: float                     # test accuracy with the enhanced parameters
    accuracy_baseline_params: float     # test accuracy with the T0 parameters at this T
    latency_train_s: float              # wall time per training sample (one thread)
    latency_infer_s: float              # wall time per inference sample (one thread)
    energy_train_j: float               # per training sample on the profile's platform
    energy_infer_j: float               # per inference sample on the profile's platform
    params: dict[str, Any] = field(default_factory=dict)    # dotted config overrides at T
    extra: dict[str, Any] = field(default_factory=dict)     # other measurements (spikes, ...)


@dataclass(frozen=True)
class Profile:
    baseline_timesteps: int
    platform: str
    entries: tuple[ProfileEntry, ...]
    network: dict[str, Any] = field(default_factory=dict)   # the base NetworkConfig as a dict
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entries:
            raise ProfileError('a profile needs at least one timestep entry')
        ts = [e.timesteps for e in self.entries]
        if len(set(ts)) != len(ts):
            raise ProfileError(f'duplicate timesteps in profile: {sorted(ts)}')
        object.__setattr__(self, 'entries',
                           tuple(sorted(self.entries, key=lambda e: -e.timesteps)))

    @property
    def timesteps(self) -> list[int]:
        return [e.timesteps for e in self.entries]

    def entry(self, timesteps: int) -> ProfileEntry:
        for e in self.entries:
            if e.timesteps == timesteps:
                return e
        raise KeyError(f'timestep {timesteps} is not in the profile (has {self.timesteps})')

    @property
    def baseline(self) -> ProfileEntry:
        """The T0 entry, or the most accurate one if T0 was not measured."""
        try:
            return self.entry(self.baseline_timesteps)
        except KeyError:
            return max(self.entries, key=lambda e: e.accuracy)

    def params_for(self, timesteps: int) -> dict[str, Any]:
        """Enhanced parameters for T: those of T itself, else of the nearest profiled T."""
        nearest = min(self.entries, key=lambda e: (abs(e.timesteps - timesteps), e.timesteps))
        return dict(nearest.params)

    def to_dict(self) -> dict[str, Any]:
        return {'format': FORMAT, 'format_version': FORMAT_VERSION,
                'baseline_timesteps': self.baseline_timesteps, 'platform': self.platform,
                'network': self.network, 'metadata': self.metadata,
                'entries': [asdict(e) for e in self.entries]}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f'.{path.name}.tmp')
        tmp.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        tmp.replace(path)
        return path


def profile_from_dict(data: Any, where: str = 'profile') -> Profile:
    """Validate and build a profile, naming the first problem found."""
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise ProfileError(f'{where}: not a topspark_ros profile (format must be {FORMAT!r})')
    if data.get('format_version') != FORMAT_VERSION:
        raise ProfileError(f'{where}: format_version {data.get("format_version")!r}, this '
                           f'release reads {FORMAT_VERSION}')
    entries = []
    for k, raw in enumerate(data.get('entries') or []):
        here = f'{where}: entries[{k}]'
        if not isinstance(raw, dict):
            raise ProfileError(f'{here}: expected a mapping')
        try:
            T = raw['timesteps']
            values = {name: raw[name] for name in _NUMBERS}
        except KeyError as exc:
            raise ProfileError(f'{here}: missing {exc.args[0]!r}') from None
        if not isinstance(T, int) or T < 1:
            raise ProfileError(f'{here}: timesteps must be an integer >= 1, got {T!r}')
        for name, value in values.items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ProfileError(f'{here} (T={T}): {name} must be a finite number >= 0, '
                                   f'got {value!r}')
        if values['accuracy'] > 1 or values['accuracy_baseline_params'] > 1:
            raise ProfileError(f'{here} (T={T}): accuracies are fractions in [0, 1]')
        params = raw.get('params') or {}
        if not isinstance(params, dict):
            raise ProfileError(f'{here} (T={T}): params must be a mapping')
        entries.append(ProfileEntry(T, **{k: float(v) for k, v in values.items()},
                                    params=params, extra=raw.get('extra') or {}))
    base = data.get('baseline_timesteps')
    if not isinstance(base, int) or base < 1:
        raise ProfileError(f'{where}: baseline_timesteps must be an integer >= 1, got {base!r}')
    try:
        return Profile(base, str(data.get('platform', '')), tuple(entries),
                       data.get('network') or {}, data.get('metadata') or {})
    except ProfileError as exc:
        raise ProfileError(f'{where}: {exc}') from None


def load_profile(path: str | Path) -> Profile:
    """Read ``profile.yaml`` (or a directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / 'profile.yaml'
    if not path.is_file():
        raise ProfileError(f'{path}: profile file not found')
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProfileError(f'{path}: not valid YAML ({exc})') from None
    return profile_from_dict(data, str(path))
