# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Placement of a spike graph's neurons on a chip's cores, and what a placement costs.

A core holds at most ``neurons_per_core`` neurons and ``synapses_per_core`` synapses (each
stored at its target), receives from at most ``fan_in_per_core`` distinct sources, and sends
through at most ``fan_out_per_core`` (neuron, destination core) slots. A spike leaves its
core as one packet per destination core (multicast by core, as on Loihi); packets to other
cores cross the mesh, one hop per tile step (x: east-west, y: north-south).

- ``sequential``: neurons in id order (inputs, then layer by layer) fill core after core.
- ``traffic``: partition by measured traffic, then place. Parts grow greedily from the
  busiest unplaced neuron, always adding the neuron with the most spike traffic to and from
  the part (a neuron's traffic to a target is its spikes per sample) that still fits; the
  sequential fill and, for a deep network's image maps, a fill in bands of image rows are
  the other starts; each is refined by single-neuron moves and the one with the fewest
  inter-core packets wins; then the parts go on the mesh heaviest first, each where its
  traffic to the parts already placed travels the fewest weighted hops.
"""

from __future__ import annotations

from dataclasses import dataclass
import heapq

import numpy as np

from .chips import Chip
from .traffic import SpikeGraph

METHODS = ('sequential', 'traffic')


class MappingError(ValueError):
    """The model does not fit the chip; the message gives the numbers."""


@dataclass(frozen=True)
class Placement:
    method: str
    core_of: np.ndarray         # core of every neuron (int32)

    @property
    def cores_used(self) -> int:
        return int(np.unique(self.core_of).size)


@dataclass(frozen=True)
class MappingCost:
    """One placement at one T, per sample."""

    timesteps: int
    spikes: float               # spikes sent by all neurons
    packets: float              # one per (spike, destination core)
    inter_core_spikes: float    # packets to another core than the sender's
    mean_hops: float            # per inter-core packet (0 within a tile)
    energy_j: float
    energy_routing_j: float     # spike-out and hop energy (what the placement changes)
    latency_s: float


def _by_target(graph: SpikeGraph) -> tuple[np.ndarray, np.ndarray]:
    """CSR of presynaptic sources by target."""
    order = np.argsort(graph.targets, kind='stable')
    sources = graph.sources()[order]
    indptr = np.zeros(graph.n + 1, np.int64)
    indptr[1:] = np.cumsum(np.bincount(graph.targets, minlength=graph.n))
    return indptr, sources


class _Cores:
    """Fill state of the cores: neurons, synapses and distinct sources of each."""

    def __init__(self, chip: Chip, graph: SpikeGraph) -> None:
        self.chip, self.graph = chip, graph
        self.pre_indptr, self.pre = _by_target(graph)
        self.fan_in = graph.fan_in
        self.neurons: list[int] = []
        self.synapses: list[int] = []
        self.n_sources: list[int] = []
        self.has_source: list[np.ndarray] = []

    def open(self) -> int:
        if len(self.neurons) >= self.chip.cores:
            raise MappingError(self._too_large())
        self.neurons.append(0)
        self.synapses.append(0)
        self.n_sources.append(0)
        self.has_source.append(np.zeros(self.graph.n, bool))
        return len(self.neurons) - 1

    def fits(self, core: int, j: int) -> bool:
        limits = self.chip.limits
        if self.neurons[core] + 1 > limits.neurons_per_core:
            return False
        if self.synapses[core] + self.fan_in[j] > limits.synapses_per_core:
            return False
        pre = self.pre[self.pre_indptr[j]:self.pre_indptr[j + 1]]
        new = np.count_nonzero(~self.has_source[core][pre])
        return self.n_sources[core] + new <= limits.fan_in_per_core

    def add(self, core: int, j: int) -> None:
        pre = self.pre[self.pre_indptr[j]:self.pre_indptr[j + 1]]
        seen = self.has_source[core]
        self.n_sources[core] += np.count_nonzero(~seen[pre])
        seen[pre] = True
        self.neurons[core] += 1
        self.synapses[core] += int(self.fan_in[j])

    def _too_large(self) -> str:
        graph, limits = self.graph, self.chip.limits
        need = max(-(-graph.n // limits.neurons_per_core),
                   -(-int(graph.fan_in.sum()) // max(limits.synapses_per_core, 1)))
        return (f'the model does not fit {self.chip.name}: {graph.n} neurons and '
                f'{int(graph.fan_in.sum())} synapses need more than its {self.chip.cores} '
                f'cores ({limits.neurons_per_core} neurons, {limits.synapses_per_core} '
                f'synapses, {limits.fan_in_per_core} input slots per core; at least {need} '
                'cores by neurons and synapses alone)')


def check_neuron_limits(chip: Chip, graph: SpikeGraph) -> None:
    """MappingError for a neuron no placement can hold (more synapses or sources than a
    core takes)."""
    limits = chip.limits
    worst = int(np.argmax(graph.fan_in)) if graph.n else 0
    if graph.n and graph.fan_in[worst] > min(limits.synapses_per_core, limits.fan_in_per_core):
        raise MappingError(
            f'a neuron of {graph.group_names[graph.group[worst]]} has {graph.fan_in[worst]} '
            f'synapses; a {chip.name} core takes {limits.fan_in_per_core} input slots and '
            f'{limits.synapses_per_core} synapses')
    if graph.n > chip.cores * limits.neurons_per_core:
        raise MappingError(f'the model does not fit {chip.name}: {graph.n} neurons, the chip '
                           f'holds {chip.cores} x {limits.neurons_per_core}')
    if int(graph.fan_in.sum()) > chip.cores * limits.synapses_per_core:
        raise MappingError(f'the model does not fit {chip.name}: {int(graph.fan_in.sum())} '
                           f'synapses, the chip holds {chip.cores} x '
                           f'{limits.synapses_per_core}')


def _fill(chip: Chip, graph: SpikeGraph, order: np.ndarray) -> np.ndarray:
    """Neurons in ``order`` fill core after core under the core limits."""
    cores = _Cores(chip, graph)
    core_of = np.zeros(graph.n, np.int32)
    current = cores.open()
    for j in order:
        if not cores.fits(current, j):
            current = cores.open()
        cores.add(current, j)
        core_of[j] = current
    return core_of


def sequential_placement(chip: Chip, graph: SpikeGraph) -> Placement:
    check_neuron_limits(chip, graph)
    core_of = _fill(chip, graph, np.arange(graph.n))
    return _repair_fan_out(chip, graph, Placement('sequential', core_of))


def _symmetric_weights(graph: SpikeGraph, counts: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of neighbours (both directions) with the spike traffic on each synapse."""
    src = graph.sources()
    dst = graph.targets
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    w = np.concatenate([counts[src], counts[src]])
    order = np.argsort(a, kind='stable')
    indptr = np.zeros(graph.n + 1, np.int64)
    indptr[1:] = np.cumsum(np.bincount(a, minlength=graph.n))
    return indptr, b[order], w[order]


def _partition(chip: Chip, graph: SpikeGraph, counts: np.ndarray) -> list[list[int]]:
    """Greedy growth of parts along the heaviest traffic (module docstring)."""
    cores = _Cores(chip, graph)
    indptr, neighbour, weight = _symmetric_weights(graph, counts)
    traffic = np.bincount(np.concatenate([graph.sources(), graph.targets]),
                          weights=np.concatenate([counts[graph.sources()]] * 2),
                          minlength=graph.n)
    seeds = np.argsort(-traffic, kind='stable')
    next_seed = 0
    assigned = np.zeros(graph.n, bool)
    parts: list[list[int]] = []
    while not assigned.all():
        core = cores.open()
        part: list[int] = []
        gain = np.zeros(graph.n)
        heap: list[tuple[float, int]] = []
        refused = 0
        while refused < 64 and cores.neurons[core] < chip.limits.neurons_per_core:
            if not heap:                        # start (or restart) from the busiest left
                while next_seed < graph.n and assigned[seeds[next_seed]]:
                    next_seed += 1
                if next_seed == graph.n or not cores.fits(core, int(seeds[next_seed])):
                    break
                heap.append((0.0, int(seeds[next_seed])))
            g, j = heapq.heappop(heap)
            if assigned[j] or -g < gain[j] - 1e-12:
                continue                        # placed already, or a stale heap entry
            if not cores.fits(core, j):
                refused += 1
                continue
            cores.add(core, j)
            assigned[j] = True
            part.append(j)
            lo, hi = indptr[j], indptr[j + 1]
            for k, w in zip(neighbour[lo:hi].tolist(), weight[lo:hi].tolist()):
                if not assigned[k]:
                    gain[k] += w
                    heapq.heappush(heap, (-gain[k], k))
        if not part:
            raise MappingError(cores._too_large())
        parts.append(part)
    return parts


def _place_parts(chip: Chip, graph: SpikeGraph, counts: np.ndarray,
                 parts: list[list[int]]) -> np.ndarray:
    """Cores for the parts: heaviest first, each at the free core with the fewest
    traffic-weighted hops to the parts already placed."""
    part_of = np.zeros(graph.n, np.int64)
    for p, members in enumerate(parts):
        part_of[members] = p
    n_parts = len(parts)
    flow = np.zeros((n_parts, n_parts))
    np.add.at(flow, (part_of[graph.sources()], part_of[graph.targets]),
              counts[graph.sources()])
    flow = flow + flow.T
    np.fill_diagonal(flow, 0.0)
    xy = np.array([chip.tile_xy(c) for c in range(chip.cores)], float)
    hop_cost = (np.abs(xy[:, None, 0] - xy[None, :, 0]) * max(chip.energy_j.hop_east_west, 1e-15)
                + np.abs(xy[:, None, 1] - xy[None, :, 1])
                * max(chip.energy_j.hop_north_south, 1e-15))
    centre = np.argmin(hop_cost.sum(1))
    core_of_part = np.full(n_parts, -1)
    free = np.ones(chip.cores, bool)
    order = [int(np.argmax(flow.sum(1)))] if n_parts else []
    core_of_part[order[0]] = centre
    free[centre] = False
    while len(order) < n_parts:
        placed = core_of_part >= 0
        pull = flow[:, placed].sum(1)
        pull[placed] = -1.0
        p = int(np.argmax(pull))
        costs = hop_cost[:, core_of_part[placed]] @ flow[p, placed]
        costs[~free] = np.inf
        core = int(np.argmin(costs))
        core_of_part[p] = core
        free[core] = False
        order.append(p)
    return core_of_part[part_of].astype(np.int32)


def _refine(chip: Chip, graph: SpikeGraph, counts: np.ndarray, core_of: np.ndarray,
            passes: int = 6) -> np.ndarray:
    """Move single neurons to the core that most reduces inter-core packets
    (sum over sources of spikes x destination cores other than the source's own), within
    every core limit; busiest neurons first, until a pass gains < 0.1 %."""
    limits = chip.limits
    n_cores = int(core_of.max()) + 1
    core_of = core_of.astype(np.int64).copy()
    src_all = graph.sources().astype(np.int64)
    pre_indptr, pre = _by_target(graph)
    pre = pre.astype(np.int64)
    # cnt[i, k]: targets of source i on core k
    cnt = np.zeros((graph.n, n_cores), np.int32)
    np.add.at(cnt, (src_all, core_of[graph.targets]), 1)
    dests = cnt > 0
    neurons = np.bincount(core_of, minlength=n_cores)
    synapses = np.bincount(core_of, weights=graph.fan_in, minlength=n_cores)
    n_src = dests.sum(0)
    fan_out = np.bincount(core_of, weights=dests.sum(1), minlength=n_cores)
    fan_in = graph.fan_in
    order = np.argsort(-(counts * graph.fan_out + np.bincount(
        graph.targets, weights=counts[src_all], minlength=graph.n)), kind='stable')

    def crossing() -> float:
        return float((counts * (dests.sum(1) - dests[np.arange(graph.n), core_of])).sum())

    before = crossing()
    cores = np.arange(n_cores)
    for _ in range(passes):
        for j in order:
            a = core_of[j]
            p = pre[pre_indptr[j]:pre_indptr[j + 1]]
            c_p = counts[p]
            home = core_of[p]
            # sources losing core a (j was their only target there) and gaining each core
            lose_a = (cnt[p, a] == 1)
            gain_b = (cnt[p] == 0)                              # (|p|, cores)
            delta = counts[j] * (float(dests[j, a]) - dests[j].astype(float))
            delta -= float((c_p * (lose_a & (home != a))).sum())
            delta += ((c_p[:, None]) * (gain_b & (home[:, None] != cores[None, :]))).sum(0)
            delta[a] = 0.0
            ok = ((neurons + 1 <= limits.neurons_per_core)
                  & (synapses + fan_in[j] <= limits.synapses_per_core)
                  & (n_src + gain_b.sum(0) <= limits.fan_in_per_core))
            own_fan_out = dests[j].sum()       # the sources' slots: _repair_fan_out
            ok &= fan_out + own_fan_out <= limits.fan_out_per_core
            ok[a] = False
            if not ok.any():
                continue
            delta[~ok] = np.inf
            b = int(np.argmin(delta))
            if delta[b] >= -1e-12:
                continue
            # apply the move
            cnt[p, a] -= 1
            cnt[p, b] += 1
            for_lose = p[cnt[p, a] == 0]
            for_gain = p[cnt[p, b] == 1]
            dests[for_lose, a] = False
            dests[for_gain, b] = True
            n_src[a] -= np.unique(for_lose).size
            n_src[b] += np.unique(for_gain).size
            np.subtract.at(fan_out, core_of[for_lose], 1)
            np.add.at(fan_out, core_of[for_gain], 1)
            fan_out[a] -= own_fan_out
            fan_out[b] += own_fan_out
            neurons[a] -= 1
            neurons[b] += 1
            synapses[a] -= fan_in[j]
            synapses[b] += fan_in[j]
            core_of[j] = b
        after = crossing()
        if before - after < 1e-3 * max(before, 1e-12):
            break
        before = after
    return core_of.astype(np.int32)


def traffic_placement(chip: Chip, graph: SpikeGraph, counts: np.ndarray) -> Placement:
    """Partition by traffic (greedy growth, the sequential fill, or for a graph with image
    geometry a fill in bands of image rows, whichever leaves the fewest inter-core packets
    once refined by single-neuron moves), then place the parts on the mesh."""
    check_neuron_limits(chip, graph)
    counts = np.asarray(counts, np.float64)
    candidates = []
    grown = np.zeros(graph.n, np.int32)
    for p, members in enumerate(_partition(chip, graph, counts)):
        grown[members] = p
    starts = [grown, sequential_placement(chip, graph).core_of]
    if graph.row is not None:       # local connections stay on a core within a band of rows
        starts.append(_fill(chip, graph, np.lexsort((np.arange(graph.n), graph.row))))
    for start in starts:
        refined = _refine(chip, graph, counts, start)
        candidates.append((_inter_core(graph, counts, refined), refined))
    best = min(candidates, key=lambda item: item[0])[1]
    parts = [np.flatnonzero(best == k).tolist() for k in np.unique(best)]
    placement = Placement('traffic', _place_parts(chip, graph, counts, parts))
    return _repair_fan_out(chip, graph, placement)


def _inter_core(graph: SpikeGraph, counts: np.ndarray, core_of: np.ndarray) -> float:
    src, dst = destination_cores(graph, core_of)
    return float(counts[src][dst != core_of[src]].sum())


def destination_cores(graph: SpikeGraph, core_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(source neuron, destination core) pairs, one per distinct destination core."""
    base = int(core_of.max()) + 1 if core_of.size else 1
    pairs = np.unique(graph.sources().astype(np.int64) * base + core_of[graph.targets])
    return (pairs // base).astype(np.int64), (pairs % base).astype(np.int64)


def _repair_fan_out(chip: Chip, graph: SpikeGraph, placement: Placement) -> Placement:
    """Move neurons off cores whose fan-out slots overflow (to fresh cores); MappingError if
    a neuron alone needs more destination cores than the chip allows."""
    core_of = placement.core_of.copy()
    for _ in range(32):
        src, _dst = destination_cores(graph, core_of)
        per_neuron = np.bincount(src, minlength=graph.n)
        limit = chip.limits.fan_out_per_neuron
        if limit and per_neuron.max(initial=0) > limit:
            worst = int(np.argmax(per_neuron))
            raise MappingError(
                f'a neuron of {graph.group_names[graph.group[worst]]} reaches '
                f'{per_neuron[worst]} cores; a {chip.name} neuron reaches {limit} (it would '
                'need splitter neurons, which this mapper does not add)')
        per_core = np.bincount(core_of, weights=per_neuron, minlength=chip.cores)
        over = np.flatnonzero(per_core > chip.limits.fan_out_per_core)
        if not over.size:
            return Placement(placement.method, core_of)
        used = set(np.unique(core_of).tolist())
        for core in over:
            members = np.flatnonzero(core_of == core)
            members = members[np.argsort(-per_neuron[members], kind='stable')]
            excess = per_core[core] - chip.limits.fan_out_per_core
            moved = members[np.cumsum(per_neuron[members]) - per_neuron[members] < excess]
            fresh = next((c for c in range(chip.cores) if c not in used), None)
            if fresh is None:
                raise MappingError(f'the model does not fit {chip.name}: core {core} needs '
                                   f'{int(per_core[core])} fan-out slots (limit '
                                   f'{chip.limits.fan_out_per_core}) and no core is free')
            core_of[moved] = fresh
            used.add(fresh)
    raise MappingError(f'fan-out slots still overflow on {chip.name} after 32 repairs')


def violations(chip: Chip, graph: SpikeGraph, core_of: np.ndarray) -> list[str]:
    """Every limit a placement breaks (empty: it respects the chip)."""
    limits = chip.limits
    problems = []
    if core_of.shape != (graph.n,) or core_of.min(initial=0) < 0 \
            or core_of.max(initial=0) >= chip.cores:
        return [f'cores must be in 0..{chip.cores - 1} for each of {graph.n} neurons']
    neurons = np.bincount(core_of, minlength=chip.cores)
    synapses = np.bincount(core_of, weights=graph.fan_in, minlength=chip.cores)
    pairs = np.unique(graph.sources().astype(np.int64) * chip.cores + core_of[graph.targets])
    fan_in = np.bincount(pairs % chip.cores, minlength=chip.cores)
    src, _ = destination_cores(graph, core_of)
    per_neuron = np.bincount(src, minlength=graph.n)
    fan_out = np.bincount(core_of, weights=per_neuron, minlength=chip.cores)
    for name, used, limit in (('neurons', neurons, limits.neurons_per_core),
                              ('synapses', synapses, limits.synapses_per_core),
                              ('fan-in slots', fan_in, limits.fan_in_per_core),
                              ('fan-out slots', fan_out, limits.fan_out_per_core)):
        for core in np.flatnonzero(used > limit):
            problems.append(f'core {core}: {int(used[core])} {name} > {limit}')
    if limits.fan_out_per_neuron and per_neuron.max(initial=0) > limits.fan_out_per_neuron:
        problems.append(f'a neuron reaches {per_neuron.max()} cores > '
                        f'{limits.fan_out_per_neuron}')
    return problems


def placement_cost(chip: Chip, graph: SpikeGraph, placement: Placement, counts: np.ndarray,
                   timesteps: int) -> MappingCost:
    """Spikes, inter-core traffic, energy and latency of one sample (``counts``: spikes per
    neuron per sample at this T). Latency: T synchronised steps, each as long as the
    busiest core's work in a mean step, plus the longest route's hops and the barrier."""
    counts = np.asarray(counts, np.float64)
    core_of = placement.core_of
    src, dst = destination_cores(graph, core_of)
    c = counts[src]
    xy = np.array([chip.tile_xy(k) for k in range(chip.cores)])
    dx = np.abs(xy[core_of[src], 0] - xy[dst, 0])
    dy = np.abs(xy[core_of[src], 1] - xy[dst, 1])
    crossing = dst != core_of[src]
    packets = float(c.sum())
    inter = float(c[crossing].sum())
    hops = float((c * (dx + dy)).sum())
    e, t = chip.energy_j, chip.latency_s
    synaptic_ops = float((counts * graph.fan_out).sum())
    updates = float(graph.updated.sum()) * timesteps
    routing = packets * e.spike_out + float((c * (dx * e.hop_east_west
                                                  + dy * e.hop_north_south)).sum())
    energy = synaptic_ops * e.synaptic_op + updates * e.neuron_update + routing
    # per-core work in a mean step
    syn_in = np.bincount(core_of[graph.targets], weights=counts[graph.sources()],
                         minlength=chip.cores)
    neurons = np.bincount(core_of, weights=graph.updated.astype(float), minlength=chip.cores)
    sent = np.bincount(core_of[src], weights=c, minlength=chip.cores)
    work = (syn_in * t.synaptic_op + sent * t.spike_out) / timesteps + neurons * t.neuron_update
    route = float(np.max(dx * t.hop_east_west + dy * t.hop_north_south, initial=0.0))
    if np.any(crossing & (dx + dy == 0)):
        route = max(route, chip.within_tile_s)
    latency = timesteps * (float(work.max()) + route + chip.barrier_s)
    return MappingCost(int(timesteps), float(counts.sum()), packets, inter,
                       hops / inter if inter else 0.0, energy, routing, latency)


def place(chip: Chip, graph: SpikeGraph, counts: np.ndarray, method: str) -> Placement:
    if method == 'sequential':
        return sequential_placement(chip, graph)
    if method == 'traffic':
        return traffic_placement(chip, graph, counts)
    raise ValueError(f'placement method must be one of {METHODS}, got {method!r}')
