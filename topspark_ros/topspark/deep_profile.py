# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark for the spiking deep network: how few timesteps per sample, at what accuracy,
latency and energy, and which run-time constants make short presentations work.

The four steps, as for the STDP network (docs/topspark.md), on a trained (converted) network
that does not learn on the robot:

1. accuracy vs T with the network's own (naive conversion) constants;
2. sensitivity: each run-time constant that may matter at short T (``KNOBS``: rate gain,
   initial membrane voltage, synapse, input coding, threshold) moved alone, at a short T;
3. enhancement: for every T, among the combinations of the values that helped in step 2
   whose validation accuracy is within ``tolerance`` of the best one, the one with the fewest
   synaptic events (energy-aware; tolerance 0: the most accurate, ties: fewer events);
4. trade-off: accuracy, latency and energy per sample at every T on the test split, with the
   enhanced and with the naive constants, written as a profile the governor reads.

Training figures equal inference ones: the network is trained offline and never on the robot.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import itertools
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from ..deep.config import replace_params
from ..deep.network import DeepNetwork, Simulator
from ..energy import get_platform, mean_energy
from ..models.deep import DeepModel
from ..snn.ops import OP_NAMES
from .profile import Profile, ProfileEntry

KNOBS: dict[str, tuple[Any, ...]] = {
    'rate_gain': (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0),
    'lif.v_init': (0.0, 0.25, 0.5, 0.75),
    'lif.tau_s_ms': (0.0, 1.0, 2.0),
    'input_coding': ('current', 'regular'),
    'lif.v_thresh': (1.0, 0.75),
}
"""The run-time constants step 2 probes and step 3 combines, with the values tried."""


@dataclass(frozen=True)
class Evaluation:
    """One network, constants and T on a set of samples."""

    timesteps: int
    overrides: dict[str, Any]
    accuracy: float
    mean_ops: dict[str, float]
    latency_s: float            # mean wall time per sample, one thread
    confusion: np.ndarray | None = None     # (true class, predicted class), when asked for


def evaluate(network: DeepNetwork, images: np.ndarray, labels: np.ndarray, timesteps: int,
             overrides: Mapping[str, Any] | None = None, timed: bool = False,
             confusion: bool = False, progress: bool = False) -> Evaluation:
    """Accuracy and mean operation counts of the spiking network at ``timesteps`` (sample k
    uses seed k, so Poisson-coded runs repeat)."""
    config = replace_params(network.config, overrides or {})
    simulator = Simulator(network)
    predictions = np.zeros(len(labels), np.int64)
    totals = np.zeros(len(OP_NAMES))
    started = time.perf_counter()
    for k, image in enumerate(tqdm(images, disable=not progress, desc=f'T={timesteps}')):
        scores, ops = simulator.run_frame(image, timesteps, config, seed=k)
        predictions[k] = int(np.argmax(scores))
        totals += [getattr(ops, name) for name in OP_NAMES]
    elapsed = time.perf_counter() - started
    n = max(len(labels), 1)
    matrix = None
    if confusion:
        # columns as the STDP network's matrices: one per class, then 'none' (never, here)
        matrix = np.zeros((config.n_classes, config.n_classes + 1), np.int64)
        np.add.at(matrix, (np.asarray(labels, np.int64), predictions), 1)
    return Evaluation(timesteps, dict(overrides or {}), float(np.mean(predictions == labels))
                      if len(labels) else 0.0, dict(zip(OP_NAMES, (totals / n).tolist())),
                      elapsed / n if timed else float('nan'), matrix)


def sensitivity(network: DeepNetwork, images: np.ndarray, labels: np.ndarray, timesteps: int,
                knobs: Mapping[str, Sequence[Any]] = KNOBS) -> list[tuple[str, Any, float]]:
    """Step 2: (knob, value, accuracy change) for each knob moved alone from the network's own
    value, at ``timesteps``, largest effect first."""
    base = evaluate(network, images, labels, timesteps).accuracy
    config = network.config.to_dict()
    effects = []
    for knob, values in knobs.items():
        own = _lookup(config, knob)
        for value in values:
            if value != own:
                accuracy = evaluate(network, images, labels, timesteps, {knob: value}).accuracy
                effects.append((knob, value, accuracy - base))
    return sorted(effects, key=lambda e: -abs(e[2]))


def knobs_that_help(effects: Sequence[tuple[str, Any, float]],
                    network: DeepNetwork) -> dict[str, tuple[Any, ...]]:
    """Step 2 -> step 3: the knobs some value of which raised accuracy at the short T, each
    with its own value and the values that helped (the combinations step 3 tries)."""
    config = network.config.to_dict()
    helped: dict[str, list[Any]] = {}
    for knob, value, change in effects:
        if change > 0:
            helped.setdefault(knob, [_lookup(config, knob)]).append(value)
    return {knob: tuple(values) for knob, values in helped.items()}


def enhance(network: DeepNetwork, images: np.ndarray, labels: np.ndarray, timesteps: int,
            knobs: Mapping[str, Sequence[Any]] = KNOBS, tolerance: float = 0.0) -> Evaluation:
    """Step 3 at ``timesteps``: of the knob combinations whose accuracy is within
    ``tolerance`` (a fraction: 0.005 is half a point) of the best combination's, the one with
    the fewest synaptic events (ties: higher accuracy, then fewer changes from the network's
    own values). Tolerance 0 picks the most accurate."""
    if not tolerance >= 0:
        raise ValueError(f'tolerance must be >= 0, got {tolerance}')
    config = network.config.to_dict()
    results = []
    for values in itertools.product(*knobs.values()):
        overrides = {k: v for k, v in zip(knobs, values) if v != _lookup(config, k)}
        results.append(evaluate(network, images, labels, timesteps, overrides))
    return cheapest_within(results, tolerance)


def cheapest_within(results: Sequence[Evaluation], tolerance: float) -> Evaluation:
    """The evaluation with the fewest synaptic events among those within ``tolerance`` of
    the best accuracy (ties: higher accuracy, then fewer overrides)."""
    best = max(r.accuracy for r in results)
    # 1e-9: accuracies are fractions of whole samples; keep a result exactly at the edge
    near = [r for r in results if r.accuracy >= best - tolerance - 1e-9]
    return min(near, key=lambda r: (r.mean_ops['synaptic_events'], -r.accuracy,
                                    len(r.overrides)))


def build_profile(network: DeepNetwork, test_images: np.ndarray, test_labels: np.ndarray,
                  enhanced: Mapping[int, Mapping[str, Any]], platform: str,
                  metadata: Mapping[str, Any],
                  progress: Callable[[str], None] = lambda _: None) -> Profile:
    """Step 4: every T's test accuracy, latency and energy with its enhanced constants, and
    its accuracy with the network's own constants."""
    plat = get_platform(platform)
    if plat.mode != 'event':
        raise ValueError(f'platform {platform!r} charges dense STDP layers; deep-network '
                         'profiles use an event-driven platform (e.g. loihi)')
    n_neurons = Simulator(network).packed.n_neurons
    entries = []
    for T, overrides in sorted(enhanced.items(), reverse=True):
        progress(f'T={T}: test split')
        result = evaluate(network, test_images, test_labels, T, overrides, timed=True)
        naive = evaluate(network, test_images, test_labels, T)
        energy = mean_energy(result.mean_ops, plat, False, network.config.n_inputs, n_neurons,
                             inhibition_layer=False)
        entries.append(ProfileEntry(
            T, result.accuracy, naive.accuracy, result.latency_s, result.latency_s, energy,
            energy, params=dict(overrides),
            extra={'mean_ops': result.mean_ops, 'naive_mean_ops': naive.mean_ops}))
    return Profile(network.config.timesteps, platform, tuple(entries),
                   network=network.config.to_dict(),
                   made_for=dataclasses.replace(DeepModel(network).made_for(),
                                                dataset=str(metadata.get('dataset', ''))),
                   metadata={'model_kind': 'deep_lif', 'workload': 'frames',
                             'training': 'offline (profiled as inference; on the robot only '
                                         'the readout may learn)',
                             **dict(metadata)})


def _lookup(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split('.'):
        node = node[part]
    return node
