# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Energy model: per-sample operation counts -> joules on named platforms, plus measured energy.

Why a model and not only a meter: TopSpark's claim is about energy per sample as the timestep T
shrinks, and that depends on the platform. Event-driven neuromorphic hardware pays per synaptic
event (so its energy follows spikes), while a clock-driven dense simulation such as BindsNET pays
for every input x neuron x timestep multiply-accumulate (so its energy follows T). The core
(``topspark_ros.snn``) counts the work; this module multiplies the counts by published per-
operation energies, each with its citation, and also provides measured CPU energy (power x time,
or Intel RAPL counters where the kernel exposes them). See docs/energy.md.

No ROS imports here: the metrics node, benchmarks and notebooks all use these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
import math
import numbers
import os
import re
import time
from typing import Any

import numpy as np

from topspark_ros.snn import OpCounts
from topspark_ros.snn.ops import OP_NAMES

OP_FIELDS = OP_NAMES        # column order of run_batch's ops (this name: the metrics node's)
MODES = ('event', 'dense')
MAX_COUNT = 2 ** 63 - 1     # counts are int64 here; larger ones are refused (ValueError)
PJ = 1e-12          # joules per picojoule
NJ = 1e-9           # joules per nanojoule

# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V.
_H_FP32_ADD_J = 0.9 * PJ        # 32-bit floating-point add
_H_FP32_MULT_J = 3.7 * PJ       # 32-bit floating-point multiply
_H_SRAM_8KB_64B_J = 10.0 * PJ   # one 64-bit access to an 8 KB SRAM (cache)


@dataclass(frozen=True)
class Platform:
    """Per-operation energies of one platform, with the citation of every coefficient.

    ``mode`` says what the synaptic coefficient is charged on: 'event' charges each counted
    synaptic event (a spike times its fan-out) and each counted weight update; 'dense' charges
    every multiply-accumulate a clock-driven simulator performs whether or not a spike occurred
    (see ``dense_macs`` and ``dense_weight_updates``). ``weight_update_j`` None means the
    platform has no on-chip learning. ``neuron_update_idle_j`` (optional) is charged for the
    inhibitory layer's updates, which sit at rest except right after an excitatory spike.
    ``static_power_w`` is charged over the sample's duration when one is given.
    """

    name: str
    description: str
    synaptic_event_j: float
    neuron_update_j: float
    weight_update_j: float | None
    source: str
    mode: str = 'event'
    neuron_update_idle_j: float | None = None
    static_power_w: float = 0.0
    spike_routing_j: float = 0.0        # per spike sent (input, excitatory, inhibitory)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f'platform {self.name!r}: mode must be one of {MODES}, '
                             f'got {self.mode!r}')
        for name in ('synaptic_event_j', 'neuron_update_j', 'weight_update_j',
                     'neuron_update_idle_j', 'static_power_w', 'spike_routing_j'):
            value = getattr(self, name)
            if value is None and name in ('weight_update_j', 'neuron_update_idle_j'):
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f'platform {self.name!r}: {name} must be a finite number >= 0, '
                                 f'got {value!r}')
        if not self.source.strip():
            raise ValueError(f'platform {self.name!r}: every coefficient needs a source')

    @property
    def supports_learning(self) -> bool:
        return self.weight_update_j is not None


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform(
        name='loihi',
        description='Intel Loihi (14 nm), event-driven, on-chip STDP. Pre-silicon figures: '
                    'Davies et al. publish circuit-simulation estimates in Table 2.',
        # Davies et al., IEEE Micro 38(1) 2018, Table 2: energy per synaptic spike op (min).
        synaptic_event_j=23.6 * PJ,
        # Davies et al. 2018, Table 2: energy per neuron update, active.
        neuron_update_j=81.0 * PJ,
        # Davies et al. 2018, Table 2: energy per synaptic update (pairwise STDP).
        weight_update_j=120.0 * PJ,
        source='Davies et al., "Loihi: a neuromorphic manycore processor with on-chip '
               'learning", IEEE Micro 38(1):82-99, 2018, Table 2 (pre-silicon estimates). '
               'synaptic_event_j: "energy per synaptic spike op (min)" 23.6 pJ (a minimum; '
               'spike routing, 1.7 pJ within a tile plus per-hop energy, is not charged). '
               'neuron_update_j: "energy per neuron update (active)" 81 pJ. '
               'neuron_update_idle_j: "(inactive)" 52 pJ, charged to the inhibitory layer '
               '(assumption: it sits at rest except right after an excitatory spike). '
               'weight_update_j: "energy per synaptic update (pairwise STDP)" 120 pJ, charged '
               'per STDP change and, as an assumption, per renormalisation write (Loihi has no '
               'native column normalisation). static_power_w: not charged (no figure used).',
        # Davies et al. 2018, Table 2: energy per neuron update, inactive.
        neuron_update_idle_j=52.0 * PJ,
    ),
    Platform(
        name='loihi_mapped',
        description='Intel Loihi as "loihi", plus the routing of every spike between cores '
                    '(packets and mesh hops) of the N400 network placed by topspark-map.',
        synaptic_event_j=23.6 * PJ,             # Davies et al. 2018, Table 2 (as 'loihi')
        neuron_update_j=81.0 * PJ,              # Davies et al. 2018, Table 2 (as 'loihi')
        weight_update_j=120.0 * PJ,             # Davies et al. 2018, Table 2 (as 'loihi')
        neuron_update_idle_j=52.0 * PJ,         # Davies et al. 2018, Table 2 (as 'loihi')
        # topspark-map config/model_n400.npz --chip loihi --profile config/profile_n400
        # (traffic-aware placement, T = 350): 7.9 packets per spike x 76.8 pJ spike-out plus
        # 3.0 / 4.2 pJ per east-west / north-south hop = 620 pJ per spike (618-626 at every T)
        spike_routing_j=620.0 * PJ,
        source='Davies et al., IEEE Micro 38(1):82-99, 2018, Table 2, as "loihi": '
               'synaptic_event_j 23.6 pJ, neuron_update_j 81 pJ (neuron_update_idle_j 52 pJ), '
               'weight_update_j 120 pJ. spike_routing_j: 620 pJ per spike, '
               'measured by topspark-map for config/model_n400.npz on config/chips/loihi.yaml '
               '(traffic-aware placement on 9 cores): each spike leaves its core as one packet '
               'per destination core (7.9 per spike; 76.8 pJ each, SANA-FE arch/loihi.yaml '
               'axon_out) and crosses 3.0 pJ per east-west and 4.2 pJ per north-south hop '
               '(SANA-FE arch/loihi.yaml, Davies et al. 2018). Specific to that network and '
               'placement: other models get their own figure from topspark-map (docs/'
               'hardware.md). static_power_w: not charged.',
    ),
    Platform(
        name='cmos45',
        description='Event-driven digital design in 45 nm CMOS, FP32 arithmetic, weights in an '
                    '8 KB SRAM; arithmetic energies only for events and neuron updates.',
        # Horowitz ISSCC 2014: FP32 add 0.9 pJ (one accumulate per synaptic event).
        synaptic_event_j=_H_FP32_ADD_J,
        # Horowitz ISSCC 2014: FP32 mult 3.7 pJ + FP32 add 0.9 pJ = 4.6 pJ (decay and input).
        neuron_update_j=_H_FP32_MULT_J + _H_FP32_ADD_J,
        # Derived: read 10 + mult 3.7 + add 0.9 + write 10 = 24.6 pJ (Horowitz ISSCC 2014).
        weight_update_j=_H_SRAM_8KB_64B_J + _H_FP32_MULT_J + _H_FP32_ADD_J + _H_SRAM_8KB_64B_J,
        source='Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC '
               '2014, 45 nm at 0.9 V. synaptic_event_j: FP32 add 0.9 pJ (accumulate the weight; '
               'the weight fetch is not charged, so this is an arithmetic-only lower bound). '
               'neuron_update_j: FP32 multiply 3.7 pJ + FP32 add 0.9 pJ = 4.6 pJ (one MAC: '
               'decay and integrate). weight_update_j: derived assumption, read-modify-write '
               'of one weight = 8 KB SRAM 64-bit access 10 pJ (read) + FP32 multiply 3.7 pJ '
               '(learning rate x trace) + FP32 add 0.9 pJ + 10 pJ (write, assumed equal to a '
               'read) = 24.6 pJ. static_power_w: not charged.',
    ),
    Platform(
        name='truenorth',
        description='IBM TrueNorth (28 nm), event-driven, no on-chip learning; the published '
                    'per-event energy includes neuron and routing work.',
        # Merolla et al., Science 345:668, 2014: 26 pJ per synaptic event, all-in.
        synaptic_event_j=26.0 * PJ,
        # Merolla et al. 2014: included in the 26 pJ per synaptic event (all-in figure).
        neuron_update_j=0.0,
        # TrueNorth has no on-chip learning (weights are programmed off-chip).
        weight_update_j=None,
        source='Merolla et al., "A million spiking-neuron integrated circuit with a scalable '
               'communication network and interface", Science 345(6197):668-673, 2014. '
               'synaptic_event_j: 26 pJ per synaptic event, all-in. neuron_update_j: 0, '
               'because the all-in figure already includes neuron updates. weight_update_j: '
               'none, no on-chip learning, so training energy is undefined on this platform. '
               'static_power_w: not charged.',
    ),
    Platform(
        name='spinnaker2',
        description='SpiNNaker 2 prototype (22 nm FDSOI, ARM cores with dynamic power '
                    'management), event-driven; learning runs in software on the cores.',
        # Hoeppner et al., IEEE TCAS-I 66(8) 2019, as tabulated by keras-spiking: 450 pJ/synop.
        synaptic_event_j=450.0 * PJ,
        # Hoeppner et al. 2019, as tabulated by keras-spiking: 2.19 nJ per neuron update.
        neuron_update_j=2.19 * NJ,
        # Assumption: one weight update costs one synaptic-op equivalent (450 pJ).
        weight_update_j=450.0 * PJ,
        source='Hoeppner et al., "Dynamic power management for neuromorphic many-core '
               'systems", IEEE TCAS-I 66(8):2973-2986, 2019 (arXiv 1903.08941), as tabulated '
               'by keras-spiking (keras_spiking.ModelEnergy, device "spinnaker2"). '
               'synaptic_event_j: 450 pJ per synaptic operation. neuron_update_j: 2.19 nJ per '
               'neuron update. weight_update_j: derived assumption, one synaptic-op equivalent '
               '(450 pJ): a weight read-modify-write on the same core and memory as a synaptic '
               'operation; no published figure used. static_power_w: not charged.',
    ),
    Platform(
        name='dense_gpu_like',
        description='Clock-driven dense simulation as BindsNET computes it: every input x '
                    'neuron x timestep is a multiply-accumulate whether or not a spike '
                    'occurred; 45 nm FP32 MAC energy, arithmetic only (no memory traffic).',
        # Horowitz ISSCC 2014: FP32 MAC = mult 3.7 pJ + add 0.9 pJ = 4.6 pJ per dense MAC.
        synaptic_event_j=_H_FP32_MULT_J + _H_FP32_ADD_J,
        # Horowitz ISSCC 2014: FP32 MAC 4.6 pJ per neuron per timestep.
        neuron_update_j=_H_FP32_MULT_J + _H_FP32_ADD_J,
        # Horowitz ISSCC 2014: FP32 MAC 4.6 pJ per dense STDP outer-product element.
        weight_update_j=_H_FP32_MULT_J + _H_FP32_ADD_J,
        source='Horowitz, ISSCC 2014, 45 nm: FP32 multiply 3.7 pJ + FP32 add 0.9 pJ = 4.6 pJ '
               'per multiply-accumulate, for every coefficient. synaptic_event_j: per dense '
               'MAC of dense_macs() (input x neuron x timestep, plus the N x N lateral '
               'matrices), as BindsNET DiehlAndCook2015 computes s @ W each step. '
               'neuron_update_j: per neuron per timestep (both layers). weight_update_j: per '
               'element of dense_weight_updates() (BindsNET PostPre applies two dense n_inputs '
               'x N outer-product updates each step, and renormalises every column once per '
               'sample). Arithmetic only, no memory traffic: a lower bound for a GPU or CPU. '
               'static_power_w: not charged.',
        mode='dense',
    ),
)}


@dataclass(frozen=True)
class EnergyBreakdown:
    """Joules for one sample (floats) or for a batch (arrays of one value per sample)."""

    synaptic_j: Any
    neuron_j: Any
    learning_j: Any
    static_j: Any
    total_j: Any

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def get_platform(platform: Platform | str) -> Platform:
    """Resolve a preset name; unknown names fail with the list of known ones."""
    if isinstance(platform, Platform):
        return platform
    try:
        return PLATFORMS[platform]
    except (KeyError, TypeError):
        raise ValueError(f'unknown energy platform {platform!r}; known platforms: '
                         f'{", ".join(sorted(PLATFORMS))}') from None


def dense_macs(n_inputs: int, n_neurons: int, timesteps: int, inhibition_layer: bool) -> int:
    """Multiply-accumulates of one clock-driven (BindsNET-style) sample, spikes or not.

    Each step computes input spikes @ W (n_inputs x N) and the lateral connections as dense
    N x N matrices: excitatory->inhibitory and inhibitory->excitatory with an inhibitory layer,
    one recurrent excitatory->excitatory matrix with direct lateral inhibition.
    """
    _check_sizes(n_inputs, n_neurons, timesteps)
    return int(_dense_macs(int(n_inputs), int(n_neurons), int(timesteps), bool(inhibition_layer)))


def _dense_macs(n_inputs: int, n_neurons: int, timesteps: Any, layer: Any) -> Any:
    """``dense_macs`` elementwise over arrays of timesteps and inhibition-layer flags."""
    lateral = np.where(layer, 2, 1) * n_neurons * n_neurons
    return timesteps * (n_inputs * n_neurons + lateral)


def dense_weight_updates(n_inputs: int, n_neurons: int, timesteps: int) -> int:
    """Weight updates of one clock-driven STDP sample (BindsNET ``PostPre``).

    Every step applies a dense depression (pre spikes x post traces) and a dense potentiation
    (pre traces x post spikes) outer product over all n_inputs x N weights; after the sample
    every column is renormalised (one write per weight).
    """
    _check_sizes(n_inputs, n_neurons, timesteps)
    return int(_dense_weight_updates(int(n_inputs), int(n_neurons), int(timesteps)))


def _dense_weight_updates(n_inputs: int, n_neurons: int, timesteps: Any) -> Any:
    """``dense_weight_updates`` elementwise over an array of timesteps."""
    return (2 * timesteps + 1) * n_inputs * n_neurons


def energy_per_sample(ops: OpCounts | Mapping[str, int] | np.ndarray, platform: Platform | str,
                      learning: bool, n_inputs: int, n_neurons: int,
                      inhibition_layer: bool | None = None,
                      duration_s: float | None = None) -> EnergyBreakdown:
    """Joules of one sample on ``platform`` from the core's operation counts.

    ``learning`` charges weight updates (training); inference charges none. ``inhibition_layer``
    is inferred from the neuron update count when omitted (2 x N x T with an inhibitory layer,
    N x T with direct inhibition). ``duration_s`` is needed only when the platform has static
    power.
    """
    cols = _columns(ops if isinstance(ops, np.ndarray) else [ops])
    if cols['timesteps'].shape != (1,):
        raise ValueError('energy_per_sample takes the counts of one sample; use energy_batch')
    e = _energy(cols, get_platform(platform), learning, n_inputs, n_neurons, inhibition_layer,
                duration_s)
    return EnergyBreakdown(*(float(getattr(e, f.name)[0]) for f in fields(e)))


def energy_batch(ops: np.ndarray | Sequence[OpCounts | Mapping[str, int]],
                 platform: Platform | str, learning: bool, n_inputs: int, n_neurons: int,
                 inhibition_layer: bool | None = None,
                 duration_s: float | np.ndarray | None = None) -> EnergyBreakdown:
    """Vectorised ``energy_per_sample``: ``ops`` is an (n, 7) array as ``run_batch`` returns
    (columns in ``OP_FIELDS`` order) or a sequence of counts; fields are float64 arrays (n,)."""
    return _energy(_columns(ops), get_platform(platform), learning, n_inputs, n_neurons,
                   inhibition_layer, duration_s)


def mean_energy(mean_ops: Mapping[str, float], platform: Platform | str, learning: bool,
                n_inputs: int, n_neurons: int, inhibition_layer: bool) -> float:
    """Joules per sample from a batch's mean counts (what profiles and sweep points keep): the
    model is linear in the counts, so this is the batch's mean energy. Platforms with static
    power need durations: use ``energy_batch``."""
    plat = get_platform(platform)
    if plat.static_power_w:
        raise ValueError(f'platform {plat.name!r} has static power: use energy_batch')
    try:
        cols = {k: np.array([float(mean_ops[k])]) for k in OP_FIELDS}
    except OverflowError:
        raise ValueError(f'mean operation counts must be finite and >= 0, got '
                         f'{mean_ops!r}') from None
    if not all(np.isfinite(v[0]) and v[0] >= 0 for v in cols.values()):
        raise ValueError(f'mean operation counts must be finite and >= 0, got {mean_ops!r}')
    return float(_energy(cols, plat, learning, n_inputs, n_neurons, inhibition_layer,
                         None).total_j[0])


def without_inhibitory_layer(mean_ops: Mapping[str, float], n_neurons: int) -> dict[str, float]:
    """The counts of the same spikes with direct lateral inhibition instead of the inhibitory
    layer. With the layer's two-step delay, direct inhibition fires exactly the same spikes
    (``test_direct_inhibition_with_two_step_delay_equals_inhibitory_layer``), so this is what
    the same network costs without the layer: a T0 baseline on the same footing as a short T
    that drops the layer (``EnhancementRule.fast_inhibition``). Each excitatory spike then
    reaches the N - 1 others directly, in place of its inhibitory neuron, whose spike reached
    them; the layer's neuron updates go."""
    out = {k: float(mean_ops[k]) for k in OP_FIELDS}
    exc, inh = out['exc_spikes'], out['inh_spikes']
    out['synaptic_events'] += exc * (n_neurons - 1) - exc - inh * (n_neurons - 1)
    out['inh_spikes'] = 0.0
    out['neuron_updates'] = float(n_neurons) * out['timesteps']
    return out


def _energy(cols: dict[str, np.ndarray], plat: Platform, learning: bool, n_inputs: int,
            n_neurons: int, inhibition_layer: bool | None,
            duration_s: float | np.ndarray | None) -> EnergyBreakdown:
    T = cols['timesteps']
    _check_sizes(n_inputs, n_neurons, 1)
    exc_updates = float(n_neurons) * T      # float: N x T may not fit in int64
    if inhibition_layer is None:
        layer = cols['neuron_updates'] == 2 * exc_updates
        direct = cols['neuron_updates'] == exc_updates
        if not np.all(layer | direct):
            raise ValueError('cannot infer the inhibition variant: neuron_updates is neither '
                             f'N x T nor 2 x N x T for N={n_neurons}; pass inhibition_layer')
    else:
        layer = np.full(T.shape, bool(inhibition_layer))
    updates = cols['neuron_updates'].astype(np.float64)

    if plat.mode == 'dense':
        synaptic_j = _dense_macs(n_inputs, n_neurons, T, layer) * plat.synaptic_event_j
        writes = _dense_weight_updates(n_inputs, n_neurons, T).astype(np.float64)
    else:
        synaptic_j = cols['synaptic_events'] * plat.synaptic_event_j
        writes = cols['weight_updates'].astype(np.float64)

    if plat.neuron_update_idle_j is None:
        neuron_j = updates * plat.neuron_update_j
    else:
        idle = np.where(layer, updates - exc_updates, 0.0)
        neuron_j = (updates - idle) * plat.neuron_update_j + idle * plat.neuron_update_idle_j

    if not learning:
        learning_j = np.zeros(T.shape)
    elif plat.weight_update_j is None:
        raise ValueError(f'platform {plat.name!r} has no on-chip learning: training energy '
                         'is undefined there (use learning=False for inference energy)')
    else:
        learning_j = writes * plat.weight_update_j

    if plat.static_power_w == 0.0:
        static_j = np.zeros(T.shape)
    elif duration_s is None:
        raise ValueError(f'platform {plat.name!r} has static power: pass duration_s')
    else:
        d = np.broadcast_to(np.asarray(duration_s, np.float64), T.shape)
        if not np.all(np.isfinite(d) & (d >= 0)):
            raise ValueError(f'duration_s must be finite and >= 0, got {duration_s!r}')
        static_j = d * plat.static_power_w

    synaptic_j = np.asarray(synaptic_j, np.float64)
    if plat.spike_routing_j:                    # routing between cores (mapped platforms)
        synaptic_j = synaptic_j + plat.spike_routing_j * (
            cols['input_spikes'] + cols['exc_spikes'] + cols['inh_spikes'])
    total_j = synaptic_j + neuron_j + learning_j + static_j
    return EnergyBreakdown(synaptic_j, neuron_j, learning_j, static_j, total_j)


def _columns(ops: Any) -> dict[str, np.ndarray]:
    """Counts as one int64 array per field, validated (non-negative, T >= 1)."""
    if isinstance(ops, np.ndarray):
        arr = np.atleast_2d(ops)
        if arr.ndim != 2 or arr.shape[1] != len(OP_FIELDS):
            raise ValueError(f'ops array must have shape (n, {len(OP_FIELDS)}), got {ops.shape}')
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError('operation counts must be whole numbers')
        if arr.dtype.kind in 'uf' and arr.size and arr.max() > MAX_COUNT:
            raise ValueError(f'operation counts must not exceed {MAX_COUNT} (int64)')
        arr = arr.astype(np.int64)
    else:
        rows = []
        for item in ops:
            if isinstance(item, OpCounts):
                item = item.as_dict()
            if not isinstance(item, Mapping):
                raise ValueError(f'operation counts must be OpCounts or a mapping, got '
                                 f'{type(item).__name__}')
            missing = [k for k in OP_FIELDS if k not in item]
            if missing:
                raise ValueError(f'operation counts lack {missing}')
            rows.append([_count(k, item[k]) for k in OP_FIELDS])
        arr = np.array(rows, np.int64).reshape(-1, len(OP_FIELDS))
    cols = {k: arr[:, i] for i, k in enumerate(OP_FIELDS)}
    for k, v in cols.items():
        if np.any(v < 0):
            raise ValueError(f'operation count {k} must be >= 0, got {int(v.min())}')
    if np.any(cols['timesteps'] < 1):
        raise ValueError('timesteps must be >= 1')
    return cols


def _count(name: str, value: Any) -> int:
    """One operation count as an int in 0..MAX_COUNT (checked by _columns: >= 0), or
    ValueError: a count too large for int64 must not escape as OverflowError."""
    if isinstance(value, bool):
        raise ValueError(f'operation count {name} must be a whole number, got {value!r}')
    if not isinstance(value, numbers.Integral):
        try:
            whole = float(value).is_integer()
        except (OverflowError, TypeError, ValueError):
            whole = False
        if not whole:
            raise ValueError(f'operation count {name} must be a whole number, got {value!r}')
    if int(value) > MAX_COUNT:
        raise ValueError(f'operation count {name} must not exceed {MAX_COUNT} (int64), '
                         f'got {value!r}')
    return int(value)


def _check_sizes(n_inputs: int, n_neurons: int, timesteps: int) -> None:
    for name, value in (('n_inputs', n_inputs), ('n_neurons', n_neurons),
                        ('timesteps', timesteps)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                or not 1 <= value <= MAX_COUNT):
            raise ValueError(f'{name} must be a positive integer up to {MAX_COUNT}, '
                             f'got {value!r}')


# ----------------------------------------------------------------------------- measured energy

def cpu_energy(seconds_s: float, power_w: float) -> float:
    """Measured CPU energy as TopSpark reports it: wall (or CPU) seconds x platform power.

    The power is the caller's: a TDP, a measured average, or RAPL's energy over a run divided by
    its duration. No default, because no single figure fits every machine.
    """
    for name, value in (('seconds_s', seconds_s), ('power_w', power_w)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
    return float(seconds_s) * float(power_w)


POWERCAP_ROOT = '/sys/class/powercap'
_PACKAGE_ZONE = re.compile(r'^intel-rapl:\d+$')    # packages only: subzones would double count


@dataclass(frozen=True)
class RaplZone:
    name: str                   # the zone's ``name`` file, e.g. 'package-0'
    path: str
    energy_uj: int
    max_energy_range_uj: int


@dataclass(frozen=True)
class RaplSnapshot:
    """One reading of every RAPL package zone, or why there is none."""

    available: bool
    reason: str
    zones: tuple[RaplZone, ...] = ()

    @property
    def energy_j(self) -> float | None:
        """Sum of the package counters (only differences between snapshots mean anything)."""
        return sum(z.energy_uj for z in self.zones) * 1e-6 if self.available else None


def read_rapl(root: str = POWERCAP_ROOT) -> RaplSnapshot:
    """Read ``<root>/intel-rapl:N/energy_uj`` of every package; never raises for absence.

    Since Linux 5.10 ``energy_uj`` is readable by root only (the Platypus side channel), and
    virtual machines usually expose no powercap at all: both give ``available=False``.
    """
    if not os.path.isdir(root):
        return RaplSnapshot(False, f'{root} does not exist (no powercap driver, e.g. a VM)')
    try:
        names = sorted(n for n in os.listdir(root) if _PACKAGE_ZONE.match(n))
    except OSError as exc:
        return RaplSnapshot(False, f'cannot list {root}: {exc}')
    names = [n for n in names if os.path.exists(os.path.join(root, n, 'energy_uj'))]
    if not names:
        return RaplSnapshot(False, f'no intel-rapl:N package zone with energy_uj under {root}')
    zones = []
    for n in names:
        path = os.path.join(root, n)
        try:
            energy = _read_int(os.path.join(path, 'energy_uj'))
            max_range = _read_int(os.path.join(path, 'max_energy_range_uj'))
        except PermissionError as exc:
            return RaplSnapshot(False, f'permission denied reading {exc.filename} (root only '
                                'since Linux 5.10)')
        except (OSError, ValueError) as exc:
            return RaplSnapshot(False, f'cannot read RAPL zone {path}: {exc}')
        try:
            with open(os.path.join(path, 'name')) as f:
                label = f.read().strip() or n
        except OSError:
            label = n
        zones.append(RaplZone(label, path, energy, max_range))
    return RaplSnapshot(True, 'ok', tuple(zones))


def read_rapl_energy_j(root: str = POWERCAP_ROOT) -> float | None:
    """Current RAPL package counter sum in joules, or None when RAPL is unavailable."""
    return read_rapl(root).energy_j


def rapl_delta_j(before: RaplSnapshot, after: RaplSnapshot) -> float:
    """Joules between two snapshots, per zone, allowing one wrap of each counter.

    A counter wraps to 0 after ``max_energy_range_uj``; more than one wrap between the two
    readings cannot be detected, so read at least once per wrap period on long runs.
    """
    if not (before.available and after.available):
        raise ValueError(f'RAPL unavailable: {before.reason if not before.available else ""}'
                         f'{after.reason if not after.available else ""}')
    if [z.path for z in before.zones] != [z.path for z in after.zones]:
        raise ValueError('RAPL zones changed between the two readings')
    total_uj = 0
    for b, a in zip(before.zones, after.zones):
        d = a.energy_uj - b.energy_uj
        if d < 0:
            d += a.max_energy_range_uj
        total_uj += d
    return total_uj * 1e-6


class RaplMeter:
    """Context manager: RAPL package energy and wall time of the ``with`` block.

    After the block: ``available``, ``reason``, ``energy_j`` (None when unavailable),
    ``elapsed_s`` and ``power_w``. Degrades rather than raising, so callers can always fall back
    to ``cpu_energy(elapsed_s, watts)``.
    """

    def __init__(self, root: str = POWERCAP_ROOT,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.root = root
        self._clock = clock
        self._start: RaplSnapshot | None = None
        self._t0_s = 0.0
        self.available = False
        self.reason = 'not measured yet'
        self.energy_j: float | None = None
        self.elapsed_s: float | None = None

    def __enter__(self) -> 'RaplMeter':
        self._start = read_rapl(self.root)
        self.available = self._start.available
        self.reason = self._start.reason
        self.energy_j = None
        self.elapsed_s = None
        self._t0_s = self._clock()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed_s = self._clock() - self._t0_s
        end = read_rapl(self.root)
        if not self._start.available:
            return
        if not end.available:
            self.available, self.reason = False, end.reason
            return
        try:
            self.energy_j = rapl_delta_j(self._start, end)
        except ValueError as exc:
            self.available, self.reason = False, str(exc)

    @property
    def power_w(self) -> float | None:
        """Average package power over the block."""
        if self.energy_j is None or not self.elapsed_s:
            return None
        return self.energy_j / self.elapsed_s


def _read_int(path: str) -> int:
    with open(path) as f:
        return int(f.read().strip())
