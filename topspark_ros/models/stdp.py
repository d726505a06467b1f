# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The Diehl & Cook (2015) STDP network behind the perception model interface."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..snn import (bin_events, CheckpointError, ConfigError, load_checkpoint, Network,
                   NetworkConfig, Readout, replace_params, save_checkpoint)
from ..snn.network import SampleResult
from ..topspark.profile import Profile
from .base import EventSample, ModelError, ModelOutput, ModelSummary, PerceptionModel


class StdpModel(PerceptionModel):
    """Network (weights, thresholds) plus readout (neuron labels); learns online with STDP
    and labels its neurons from teacher labels."""

    kind = 'stdp'
    can_learn = True

    def __init__(self, network: Network, readout: Readout) -> None:
        self.network = network
        self.readout = readout
        self.base_config = network.config
        self._last_counts: np.ndarray | None = None

    @classmethod
    def fresh(cls, config: NetworkConfig) -> 'StdpModel':
        """An untrained network: random weights, no labelled neurons."""
        return cls(Network(config), Readout(config.n_neurons, config.n_classes))

    @classmethod
    def load(cls, path: Path) -> tuple['StdpModel', dict[str, Any]]:
        """The model and its metadata; CheckpointError names the file and the problem."""
        network, readout, metadata = load_checkpoint(path)
        return cls(network, readout), metadata

    # ------------------------------------------------------------------ configuration

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.base_config.input_shape

    @property
    def dt_ms(self) -> float:
        return self.network.config.dt_ms

    @property
    def baseline_timesteps(self) -> int:
        return self.base_config.timesteps

    @property
    def event_window_scale(self) -> float:
        return self.network.config.event_window_scale

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        try:
            config = replace_params(self.base_config, overrides) if overrides else \
                self.base_config
        except ConfigError as exc:
            raise ModelError(str(exc), 'bad_override') from None
        self.network.config = config

    # ------------------------------------------------------------------ samples

    def run_frame(self, image: np.ndarray, timesteps: int, learn: bool) -> ModelOutput:
        try:
            result = self.network.run_image(image, timesteps, learn)
        except ValueError as exc:               # EncodingError and shape checks
            raise ModelError(str(exc), 'encoding_error') from None
        return self._output(result)

    def run_events(self, sample: EventSample, timesteps: int, learn: bool) -> ModelOutput:
        config = self.network.config
        try:
            spikes = bin_events(sample.x, sample.y, sample.t, None, sample.sensor_shape,
                                config.input_shape, timesteps, window=sample.window,
                                keep_fraction=config.event_keep_fraction,
                                seed=self.network.next_seed())
            result = self.network.run(spikes, learn)
        except ValueError as exc:
            raise ModelError(str(exc), 'encoding_error') from None
        return self._output(result)

    def _output(self, result: SampleResult) -> ModelOutput:
        self._last_counts = result.counts
        return ModelOutput.from_scores(self.readout.scores(result.counts)[0], result.ops)

    def observe_label(self, label: int) -> None:
        if not 0 <= label < self.readout.n_classes:
            raise ModelError(f'{label} is outside 0..{self.readout.n_classes - 1}',
                             'label_out_of_range')
        if self._last_counts is None:
            raise ModelError('no new sample since the last label', 'label_without_sample')
        self.readout.observe(self._last_counts, label)
        self._last_counts = None

    def reset(self) -> None:
        current = self.network.config               # keeps the overrides for the current T
        self.network = Network(self.base_config)
        self.network.config = current
        self.readout = Readout(self.base_config.n_neurons, self.base_config.n_classes)
        self._last_counts = None

    # ------------------------------------------------------------------ state

    def summary(self) -> ModelSummary:
        config = self.network.config
        labelled = int((self.readout.assignments >= 0).sum())
        return ModelSummary(
            kind=self.kind, n_inputs=config.n_inputs, n_neurons=config.n_neurons,
            n_classes=config.n_classes, ready=labelled > 0,
            note=(f'{labelled} of {config.n_neurons} neurons labelled' if labelled
                  else 'no labelled neurons: predictions are -1'),
            inhibition=config.inhibition.variant, samples_seen=self.network.samples_seen)

    def check_profile(self, profile: Profile) -> None:
        profile.check_model(self.base_config)

    def snapshot(self) -> 'StdpModel':
        return copy.deepcopy(self)

    def save(self, path: Path, metadata: Mapping[str, Any]) -> Path:
        net = self.network
        base = Network(self.base_config, net.weights, net.theta, net.samples_seen)
        try:
            return save_checkpoint(path, base, self.readout, dict(metadata))
        except CheckpointError as exc:
            raise OSError(str(exc)) from None
