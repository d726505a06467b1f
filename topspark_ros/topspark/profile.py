# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark profiles: what each timestep costs and achieves, as a YAML file nodes can load.

A profile is the output of the four TopSpark steps for one network and workload: for every
timestep T, the accuracy with the baseline parameters and with the enhanced ones, latency and
energy per sample for training and inference, and the enhanced parameters perception applies
when the governor picks T. The governor and ``topspark-select`` read it; ``topspark-profile``
writes it.

A profile's numbers hold only for the model it was measured for: its ``made_for`` section records
the network shape, T0, the workload and the training mode, and ``Profile.check_model`` refuses a
model that does not match. Files written before ``made_for`` existed are read with a
``ProfileWarning``; what they were made for is then inferred from their network and metadata.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from ..snn.config import NetworkConfig

FORMAT = 'topspark_ros.profile'
FORMAT_VERSION = 1
_NUMBERS = ('accuracy', 'accuracy_baseline_params', 'latency_train_s', 'latency_infer_s',
            'energy_train_j', 'energy_infer_j')


WORKLOADS = ('frames', 'events')
TRAINING_MODES = ('scratch', 'online', 'offline')
"""STDP: from scratch at T, or online at T after T0 pretraining; deep networks: offline."""


class ProfileError(ValueError):
    """A profile file is missing or invalid, or does not fit a model or a T; the message names
    the file and both sides."""


class ProfileWarning(UserWarning):
    """A profile can be used but something about it cannot be checked (e.g. an older file)."""


@dataclass(frozen=True)
class MadeFor:
    """What a profile was measured for: its accuracies and parameters hold for this alone."""

    n_neurons: int
    input_shape: tuple[int, int]
    baseline_timesteps: int         # T0: the presentation length the model was trained at
    workload: str                   # 'frames' (Poisson-coded images) or 'events'
    training: str                   # 'scratch', or 'online' (pretrained at T0, learning at T)
    pretrain_epochs: int = 0        # epochs at T0 before learning at T ('online' only)
    epochs: int = 1                 # STDP epochs at T
    dataset: str = ''
    model_kind: str = 'stdp'        # 'stdp', or 'deep_lif' (trained offline: training 'offline')
    architecture: str = ''          # deep networks: their layers, e.g. 'conv16k5s2-dense10'

    def __post_init__(self) -> None:
        object.__setattr__(self, 'input_shape', tuple(int(v) for v in self.input_shape))

    def describe(self) -> str:
        h, w = self.input_shape
        if self.model_kind != 'stdp':
            return (f'a {self.model_kind} network {self.architecture} on {h}x{w} inputs, '
                    f'T0={self.baseline_timesteps}, {self.workload}')
        mode = (f'online after {self.pretrain_epochs} epochs at T0' if self.training == 'online'
                else 'trained from scratch at T')
        return (f'N={self.n_neurons}, input {h}x{w}, T0={self.baseline_timesteps}, '
                f'{self.workload}, {mode}')

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), 'input_shape': list(self.input_shape)}


def made_for_from_dict(data: Any, where: str) -> MadeFor:
    """Validate a ``made_for`` mapping, naming the first bad field."""
    if not isinstance(data, dict):
        raise ProfileError(f'{where}: made_for must be a mapping')
    try:
        made = MadeFor(**{k: data[k] for k in ('n_neurons', 'input_shape', 'baseline_timesteps',
                                               'workload', 'training')},
                       pretrain_epochs=data.get('pretrain_epochs', 0),
                       epochs=data.get('epochs', 1), dataset=str(data.get('dataset', '')),
                       model_kind=str(data.get('model_kind', 'stdp')),
                       architecture=str(data.get('architecture', '')))
    except KeyError as exc:
        raise ProfileError(f'{where}: made_for lacks {exc.args[0]!r}') from None
    except (TypeError, ValueError) as exc:
        raise ProfileError(f'{where}: made_for.input_shape must be two integers ({exc})') \
            from None
    for name in ('n_neurons', 'baseline_timesteps', 'pretrain_epochs', 'epochs'):
        value = getattr(made, name)
        if not isinstance(value, int) or value < 0 or (value == 0 and name in (
                'n_neurons', 'baseline_timesteps')):
            raise ProfileError(f'{where}: made_for.{name} must be a positive integer, '
                               f'got {value!r}')
    if len(made.input_shape) != 2:
        raise ProfileError(f'{where}: made_for.input_shape must be [height, width], got '
                           f'{list(made.input_shape)}')
    if made.workload not in WORKLOADS:
        raise ProfileError(f'{where}: made_for.workload must be one of {WORKLOADS}, got '
                           f'{made.workload!r}')
    if made.training not in TRAINING_MODES:
        raise ProfileError(f'{where}: made_for.training must be one of {TRAINING_MODES}, got '
                           f'{made.training!r}')
    return made


def infer_made_for(network: dict[str, Any], metadata: dict[str, Any],
                   baseline_timesteps: int) -> MadeFor | None:
    """What an older profile (without ``made_for``) was made for, from the settings it kept;
    None when it kept no network."""
    if not network:
        return None
    pretrain = int(metadata.get('pretrain_epochs_at_t0', 0) or 0)
    return MadeFor(int(network.get('n_neurons', 400)),
                   tuple(network.get('input_shape', (28, 28))), baseline_timesteps,
                   str(metadata.get('workload', 'frames')),
                   'online' if pretrain else 'scratch', pretrain,
                   int(metadata.get('epochs', 1)), str(metadata.get('dataset', '')))


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
    made_for: MadeFor | None = None     # None: an older file that kept no network
    source: str = field(default='profile', compare=False)     # the file, for messages

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
        """Enhanced parameters for T: those of T itself, else of the nearest profiled T.
        Tools use ``params_at``, which refuses a T the profile lacks."""
        nearest = min(self.entries, key=lambda e: (abs(e.timesteps - timesteps), e.timesteps))
        return dict(nearest.params)

    def params_at(self, timesteps: int) -> dict[str, Any]:
        """Enhanced parameters for a profiled T; a T the profile lacks is refused (its
        parameters were never measured: the nearest T's can be far off)."""
        for e in self.entries:
            if e.timesteps == timesteps:
                return dict(e.params)
        raise ProfileError(f'{self.source}: T={timesteps} is not in the profile; it has '
                           f'T in {sorted(self.timesteps)}')

    def check_model(self, config: NetworkConfig, workload: str | None = None) -> None:
        """Refuse a model this profile was not made for, naming both sides.

        ``config`` is the model's base ``NetworkConfig`` (as its checkpoint holds it, not one
        with a T's enhanced parameters applied): its ``n_neurons``, ``input_shape`` and
        ``timesteps`` (T0) must equal the profile's. ``workload`` ('frames' or 'events'), when
        given, must equal the profile's too. Raises ``ProfileError``; a profile that records
        nothing to check against (an old hand-written file) passes with a ``ProfileWarning``.
        """
        made = self.made_for
        if made is None:
            warnings.warn(f'{self.source}: records no network, so cannot check that the model '
                          'fits it', ProfileWarning, stacklevel=2)
            return
        h, w = config.input_shape
        model = f'N={config.n_neurons}, input {h}x{w}, T0={config.timesteps}'
        if workload is not None:
            model += f', {workload}'
        if ((made.model_kind, config.n_neurons, tuple(config.input_shape), config.timesteps)
                != ('stdp', made.n_neurons, made.input_shape, made.baseline_timesteps)
                or (workload is not None and workload != made.workload)):
            raise ProfileError(f'{self.source} was made for {made.describe()}; the model has '
                               f'{model}')

    def training_mode_note(self, training: str) -> str | None:
        """A warning when ``training`` ('scratch' or 'online') is not the mode the profile's
        parameters were tuned for, else None."""
        made = self.made_for
        if made is None or made.training == training:
            return None
        modes = {'online': 'online from a model trained at T0', 'scratch': 'from scratch at T',
                 'offline': 'offline (a deep network, no learning at T)'}
        return (f'{self.source}: its parameters were tuned for training {modes[made.training]}, '
                f'this run trains {modes[training]}: expect other accuracies than the '
                "profile's")

    def to_dict(self) -> dict[str, Any]:
        data = {'format': FORMAT, 'format_version': FORMAT_VERSION,
                'baseline_timesteps': self.baseline_timesteps, 'platform': self.platform}
        if self.made_for is not None:
            data['made_for'] = self.made_for.to_dict()
        return {**data, 'network': self.network, 'metadata': self.metadata,
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
    network, metadata = data.get('network') or {}, data.get('metadata') or {}
    if 'made_for' in data:
        made_for = made_for_from_dict(data['made_for'], where)
        if made_for.baseline_timesteps != base:
            raise ProfileError(f'{where}: made_for.baseline_timesteps '
                               f'{made_for.baseline_timesteps} differs from baseline_timesteps '
                               f'{base}')
    else:
        made_for = infer_made_for(network, metadata, base)
        what = (f'inferred from its network and metadata: {made_for.describe()}' if made_for
                else 'it records no network, so a model cannot be checked against it')
        warnings.warn(f'{where}: no made_for section (an older profile); {what}',
                      ProfileWarning, stacklevel=3)
    try:
        return Profile(base, str(data.get('platform', '')), tuple(entries), network, metadata,
                       made_for, where)
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
