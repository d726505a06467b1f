# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Core-based neuromorphic chips as the mapper sees them: a 2-D mesh of tiles holding cores,
each core's limits, and the energy and latency of each event (config/chips/*.yaml, every
figure with its source)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..shipped import shipped

CHIP_DIR = 'config/chips'
EVENTS = ('synaptic_op', 'neuron_update', 'spike_out', 'hop_east_west', 'hop_north_south')


class ChipError(ValueError):
    """A chip description is missing or invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ChipLimits:
    neurons_per_core: int
    fan_in_per_core: int        # distinct presynaptic sources (input axon slots) per core
    fan_out_per_core: int       # sum over its neurons of distinct destination cores
    fan_out_per_neuron: int     # destination cores per neuron; 0: no limit
    synapses_per_core: int


@dataclass(frozen=True)
class EventCosts:
    """Per-event joules or seconds."""

    synaptic_op: float
    neuron_update: float
    spike_out: float            # one packet leaving a core (one per destination core)
    hop_east_west: float
    hop_north_south: float


@dataclass(frozen=True)
class Chip:
    name: str
    description: str
    mesh_width: int
    mesh_height: int
    cores_per_tile: int
    limits: ChipLimits
    energy_j: EventCosts
    latency_s: EventCosts
    within_tile_s: float
    barrier_s: float
    sources: tuple[str, ...]

    @property
    def cores(self) -> int:
        return self.mesh_width * self.mesh_height * self.cores_per_tile

    def tile_xy(self, core: int) -> tuple[int, int]:
        """(x, y) of the tile holding ``core`` (cores numbered tile by tile, row-major)."""
        tile = core // self.cores_per_tile
        return tile % self.mesh_width, tile // self.mesh_width


def _number(data: Mapping[str, Any], key: str, where: str, integer: bool = False) -> Any:
    value = data.get(key)
    if isinstance(value, Mapping):
        value = value.get('value')
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ChipError(f'{where}.{key}: needs a number >= 0, got {value!r}')
    if integer and int(value) != value:
        raise ChipError(f'{where}.{key}: needs an integer, got {value!r}')
    return int(value) if integer else float(value)


def chip_from_dict(data: Any, where: str) -> Chip:
    if not isinstance(data, Mapping):
        raise ChipError(f'{where}: expected a mapping')
    try:
        mesh, limits, energy, latency = (data[k] for k in ('mesh', 'limits', 'energy_j',
                                                           'latency_s'))
    except KeyError as exc:
        raise ChipError(f'{where}: missing section {exc}') from None
    sources = tuple(str(s) for s in data.get('sources') or ())
    if not sources:
        raise ChipError(f'{where}: every chip description needs its sources')
    chip = Chip(
        name=str(data.get('name', where)), description=str(data.get('description', '')),
        mesh_width=_number(mesh, 'width', f'{where}: mesh', True),
        mesh_height=_number(mesh, 'height', f'{where}: mesh', True),
        cores_per_tile=_number(mesh, 'cores_per_tile', f'{where}: mesh', True),
        limits=ChipLimits(*(_number(limits, k, f'{where}: limits', True)
                            for k in ('neurons_per_core', 'fan_in_per_core', 'fan_out_per_core',
                                      'fan_out_per_neuron', 'synapses_per_core'))),
        energy_j=EventCosts(*(_number(energy, k, f'{where}: energy_j') for k in EVENTS)),
        latency_s=EventCosts(*(_number(latency, k, f'{where}: latency_s') for k in EVENTS)),
        within_tile_s=_number(latency, 'within_tile', f'{where}: latency_s'),
        barrier_s=_number(latency, 'timestep_barrier', f'{where}: latency_s'),
        sources=sources)
    if min(chip.mesh_width, chip.mesh_height, chip.cores_per_tile,
           chip.limits.neurons_per_core) < 1:
        raise ChipError(f'{where}: mesh sizes and neurons_per_core must be >= 1')
    return chip


def chip_names() -> list[str]:
    """Names of the shipped chip descriptions."""
    directory = shipped(CHIP_DIR)
    return sorted(p.stem for p in Path(directory).glob('*.yaml')) if directory else []


def load_chip(name_or_path: str | Path) -> Chip:
    """A shipped chip by name ('loihi') or a chip description file."""
    path = Path(name_or_path)
    if path.suffix not in ('.yaml', '.yml'):
        found = shipped(f'{CHIP_DIR}/{name_or_path}.yaml')
        if not found:
            raise ChipError(f'unknown chip {str(name_or_path)!r}; shipped chips: '
                            f'{", ".join(chip_names()) or "none found"}')
        path = Path(found)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ChipError(f'{path}: chip description not found') from None
    except yaml.YAMLError as exc:
        raise ChipError(f'{path}: not valid YAML ({exc})') from None
    return chip_from_dict(data, str(path))
