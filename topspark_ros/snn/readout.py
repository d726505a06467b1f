# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Readout: label neurons by their class response, then vote (Diehl & Cook 2015, section 2.4).

Each neuron is assigned the class for which its mean spike count is highest over labelled
samples; a prediction is the class whose assigned neurons fire most on average ("all activity"),
or, with proportion weighting, each neuron votes with its share of responses per class. Labels
may arrive in bulk (training) or one by one (a robot's sparse teacher), so the readout keeps
running sums rather than a fixed label matrix.
"""

from __future__ import annotations

import numpy as np


class Readout:
    """Running per-class spike statistics of every neuron, and the votes they imply."""

    def __init__(self, n_neurons: int, n_classes: int, proportion_weighting: bool = False,
                 class_spikes: np.ndarray | None = None,
                 class_samples: np.ndarray | None = None) -> None:
        self.n_neurons = int(n_neurons)
        self.n_classes = int(n_classes)
        self.proportion_weighting = bool(proportion_weighting)
        self.class_spikes = (np.zeros((n_classes, n_neurons)) if class_spikes is None
                             else np.array(class_spikes, np.float64))
        self.class_samples = (np.zeros(n_classes) if class_samples is None
                              else np.array(class_samples, np.float64))
        if self.class_spikes.shape != (n_classes, n_neurons):
            raise ValueError(f'class_spikes has shape {self.class_spikes.shape}, '
                             f'expected {(n_classes, n_neurons)}')
        if self.class_samples.shape != (n_classes,):
            raise ValueError(f'class_samples has shape {self.class_samples.shape}')
        self._refresh()

    def reset(self) -> None:
        self.class_spikes[:] = 0
        self.class_samples[:] = 0
        self._refresh()

    def observe(self, counts: np.ndarray, labels: np.ndarray | int) -> None:
        """Add spike counts (N,) or (n, N) of samples with known labels."""
        counts = np.atleast_2d(np.asarray(counts, np.float64))
        labels = np.atleast_1d(np.asarray(labels, np.int64))
        if counts.shape != (labels.size, self.n_neurons):
            raise ValueError(f'counts shape {counts.shape} does not match {labels.size} labels '
                             f'and {self.n_neurons} neurons')
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f'labels must be in [0, {self.n_classes}), got {labels.min()}..'
                             f'{labels.max()}')
        np.add.at(self.class_spikes, labels, counts)
        self.class_samples += np.bincount(labels, minlength=self.n_classes)
        self._refresh()

    def _refresh(self) -> None:
        rates = self.class_spikes / np.maximum(self.class_samples, 1)[:, None]
        self.assignments = np.where(rates.sum(0) > 0, rates.argmax(0), -1)
        total = rates.sum(0)
        self.proportions = np.divide(rates, total, out=np.zeros_like(rates), where=total > 0)

    @property
    def labelled(self) -> bool:
        return bool((self.assignments >= 0).any())

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """Per-class evidence (n, n_classes): mean count of each class's assigned neurons."""
        counts = np.atleast_2d(np.asarray(counts, np.float64))
        onehot = np.zeros((self.n_neurons, self.n_classes))
        assigned = self.assignments >= 0
        onehot[np.flatnonzero(assigned), self.assignments[assigned]] = 1.0
        n_assigned = np.maximum(onehot.sum(0), 1.0)
        votes = onehot * self.proportions.T if self.proportion_weighting else onehot
        return counts @ votes / n_assigned

    def predict(self, counts: np.ndarray) -> np.ndarray:
        """Predicted class per sample; -1 when no assigned neuron fired (nothing to vote)."""
        scores = self.scores(counts)
        return np.where(scores.max(1) > 0, scores.argmax(1), -1)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of correct predictions; a -1 (no vote) counts as wrong."""
    labels = np.asarray(labels)
    return float((np.asarray(predictions) == labels).mean()) if labels.size else float('nan')


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes + 1): rows are true classes, columns predicted classes,
    and the last column counts samples with no prediction (-1)."""
    cm = np.zeros((n_classes, n_classes + 1), np.int64)
    pred = np.where(np.asarray(predictions) < 0, n_classes, predictions)
    np.add.at(cm, (np.asarray(labels), pred), 1)
    return cm
