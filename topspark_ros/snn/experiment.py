# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Training, labelling and evaluation loops shared by the CLI tools, TopSpark sweeps and tests.

The protocol (docs/model.md): train with STDP for some epochs over the training images in a
fixed order, then freeze the network and present the training images once more to label each
neuron by its class response, then predict the test images with those labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .encoding import EventSamples
from .kernels import warm_up
from .network import Network
from .ops import N_OPS, OP_NAMES
from .readout import Readout, accuracy, confusion_matrix

__all__ = ['CHUNK', 'Evaluation', 'EventSamples', 'evaluate', 'label', 'mean_ops', 'present',
           'scaled_window', 'train']

CHUNK = 200     # samples per kernel call: large enough to amortise Python, small for progress


@dataclass
class Evaluation:
    accuracy: float
    samples: int
    seconds: float              # wall time of the presentation loop
    timesteps: int
    predictions: np.ndarray
    confusion: np.ndarray       # (classes, classes + 1), last column: no prediction
    mean_ops: dict[str, float] = field(default_factory=dict)
    ops: np.ndarray = field(default_factory=lambda: np.zeros((0, N_OPS), np.int64))  # per sample

    def summary(self) -> dict:
        return {'accuracy': self.accuracy, 'samples': self.samples, 'seconds': self.seconds,
                'timesteps': self.timesteps,
                'samples_per_second': self.samples / self.seconds if self.seconds else None,
                'no_prediction': int(self.confusion[:, -1].sum()),
                'confusion': self.confusion.tolist(), 'mean_ops': self.mean_ops}


def scaled_window(window: tuple[float, float], scale: float) -> tuple[float, float]:
    """The first ``scale`` of ``window``: events after it are left out of the sample."""
    start, end = window
    return start, start + (end - start) * scale


def present(network: Network, inputs: np.ndarray | EventSamples, timesteps: int, learn: bool,
            desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run every sample through the network in order: rows of per-step spike probabilities
    (frames, Poisson-coded in the kernel), or event samples (binned into the timesteps)."""
    counts = np.zeros((len(inputs), network.config.n_neurons), np.int32)
    ops = np.zeros((len(inputs), N_OPS), np.int64)
    with tqdm(total=len(inputs), desc=desc, unit='sample', disable=desc is None,
              leave=False) as bar:
        if isinstance(inputs, EventSamples):
            index = inputs.input_index(network.config.input_shape)
            window = scaled_window(inputs.window, network.config.event_window_scale)
            for start in range(0, len(inputs), CHUNK):
                stop = min(start + CHUNK, len(inputs))
                # only this chunk's events: run_events checks (and holds the bins of) what it
                # is given, so a chunk bounds both
                a, b = inputs.offsets[start], inputs.offsets[stop]
                counts[start:stop], ops[start:stop] = network.run_events(
                    index[a:b], inputs.t[a:b], inputs.offsets[start:stop + 1] - a, window,
                    timesteps, learn, inputs.time_sorted)
                bar.update(stop - start)
            return counts, ops
        for start in range(0, len(inputs), CHUNK):
            stop = min(start + CHUNK, len(inputs))
            counts[start:stop], ops[start:stop] = network.run_probability(
                inputs[start:stop], timesteps, learn)
            bar.update(stop - start)
    return counts, ops


def mean_ops(ops: np.ndarray) -> dict[str, float]:
    return {name: float(ops[:, k].mean()) if len(ops) else 0.0 for k, name in enumerate(OP_NAMES)}


def train(network: Network, prob: np.ndarray | EventSamples, timesteps: int, epochs: int,
          progress: bool = False, of: tuple[int, int] | None = None) -> dict[str, float]:
    """STDP over the training samples for ``epochs`` epochs; returns timing and mean op counts.
    ``of`` (first epoch, all epochs) numbers the progress bars of a caller that trains epoch by
    epoch (to checkpoint between them)."""
    first, total = of or (0, epochs)
    start = time.perf_counter()
    all_ops = []
    for epoch in range(epochs):
        _, ops = present(network, prob, timesteps, True,
                         f'train epoch {first + epoch + 1}/{total}' if progress else None)
        all_ops.append(ops)
    seconds = time.perf_counter() - start
    ops = np.concatenate(all_ops) if all_ops else np.zeros((0, N_OPS), np.int64)
    return {'seconds': seconds, 'samples': len(ops), **mean_ops(ops)}


def label(network: Network, prob: np.ndarray | EventSamples, labels: np.ndarray, timesteps: int,
          progress: bool = False, proportion_weighting: bool = False) -> Readout:
    """Assign neurons to classes from their response to labelled samples (learning off)."""
    counts, _ = present(network, prob, timesteps, False, 'label' if progress else None)
    readout = Readout(network.config.n_neurons, network.config.n_classes, proportion_weighting)
    readout.observe(counts, labels)
    return readout


def evaluate(network: Network, readout: Readout, prob: np.ndarray | EventSamples,
             labels: np.ndarray,
             timesteps: int, progress: bool = False) -> Evaluation:
    """Predict every sample (learning off) and score against ``labels``.

    Evaluating leaves the network as it was, its sample counter (which seeds the Poisson
    code) included: a checkpoint saved after this and evaluated again on the same samples
    gets the same spikes, so topspark-train and topspark-evaluate print the same accuracy."""
    warm_up()
    seen = network.samples_seen
    start = time.perf_counter()
    try:
        counts, ops = present(network, prob, timesteps, False,
                              'evaluate' if progress else None)
    finally:
        network.samples_seen = seen
    seconds = time.perf_counter() - start
    pred = readout.predict(counts)
    return Evaluation(accuracy(pred, labels), len(labels), seconds, int(timesteps), pred,
                      confusion_matrix(pred, labels, network.config.n_classes), mean_ops(ops),
                      ops)
