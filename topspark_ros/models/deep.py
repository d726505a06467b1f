# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The spiking deep network (Hunsberger & Eliasmith 2016) behind the perception model
interface: trained offline; on the robot its readout may learn from teacher labels (the delta
rule, ``deep.online``) while the hidden layers keep their offline weights."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..deep.checkpoint import load_deep_checkpoint, save_deep_checkpoint
from ..deep.config import DeepConfig, DeepConfigError, replace_params
from ..deep.network import DeepNetwork, Simulator
from ..deep.online import delta_rule, learning_refusal, readout_activity, ReadoutSample
from ..snn import bin_events
from ..snn.network import OpCounts
from ..topspark.profile import MadeFor, Profile, ProfileError
from .base import EventSample, ModelError, ModelOutput, ModelSummary, PerceptionModel


class DeepModel(PerceptionModel):
    """Converted soft-LIF network run as spiking LIF neurons; the profile's overrides change
    its run-time constants (rate gain, initial membrane voltage, synapse, input coding). With
    learning, a sample's label adapts the readout (``deep.online``); ``reset`` restores the
    readout it was loaded with."""

    kind = 'deep_lif'

    def __init__(self, network: DeepNetwork) -> None:
        self.network = network
        self.config = network.config
        self._simulator = Simulator(network)
        self._samples = 0
        self._learning_refusal = learning_refusal(network.config)
        self.can_learn = self._learning_refusal is None
        self._loaded_readout = (network.weights[-1].copy(), network.biases[-1].copy())
        self._pending: ReadoutSample | None = None      # the last learning sample, unlabelled

    @classmethod
    def load(cls, path: Path) -> tuple['DeepModel', dict[str, Any]]:
        network, metadata = load_deep_checkpoint(path)
        return cls(network), metadata

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.config.input_shape[1:]

    @property
    def dt_ms(self) -> float:
        return self.config.dt_ms

    @property
    def baseline_timesteps(self) -> int:
        return self.network.config.timesteps

    @property
    def event_window_scale(self) -> float:
        return 1.0

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        try:
            config = replace_params(self.network.config, overrides) if overrides else \
                self.network.config
        except DeepConfigError as exc:
            raise ModelError(str(exc), 'bad_override') from None
        if config.layers != self.network.config.layers:
            raise ModelError('a profile cannot change the layers', 'bad_override')
        self.config = config

    def run_frame(self, image: np.ndarray, timesteps: int, learn: bool) -> ModelOutput:
        self._refuse_learning(learn)
        try:
            scores, ops = self._simulator.run_frame(image, timesteps, self.config,
                                                    seed=self._samples)
        except ValueError as exc:
            raise ModelError(str(exc), 'encoding_error') from None
        return self._finish(scores, ops, timesteps, learn)

    def run_events(self, sample: EventSample, timesteps: int, learn: bool) -> ModelOutput:
        self._refuse_learning(learn)
        try:
            spikes = bin_events(sample.x, sample.y, sample.t, None, sample.sensor_shape,
                                self.input_shape, timesteps, window=sample.window)
            scores, ops = self._simulator.run_spikes(spikes, self.config)
        except ValueError as exc:
            raise ModelError(str(exc), 'encoding_error') from None
        return self._finish(scores, ops, timesteps, learn)

    @property
    def why_not_learning(self) -> str | None:
        return self._learning_refusal

    def _refuse_learning(self, learn: bool) -> None:
        if learn and not self.can_learn:
            raise ModelError(f'the deep model cannot learn online: {self._learning_refusal}',
                             'learning_refused')

    def _finish(self, scores: np.ndarray, ops: OpCounts, timesteps: int,
                learn: bool) -> ModelOutput:
        """The output; a learning sample waits for its label with what the rule needs, and
        its ops include the readout update that label makes."""
        self._samples += 1
        self._pending = None
        if learn:
            self._pending = ReadoutSample(
                readout_activity(self._simulator, self.config, timesteps), scores.copy())
            ops = dataclasses.replace(ops, weight_updates=ops.weight_updates
                                      + self._readout_size())
        return _output(scores, ops)

    def _readout_size(self) -> int:
        return self.network.weights[-1].size + self.network.biases[-1].size

    def observe_label(self, label: int) -> None:
        if not 0 <= label < self.config.n_classes:
            raise ModelError(f'{label} is outside 0..{self.config.n_classes - 1}',
                             'label_out_of_range')
        if self._pending is None:
            raise ModelError('no learning sample since the last label (the deep model learns '
                             'from labels only with learning on)', 'label_without_sample')
        sample, self._pending = self._pending, None
        try:
            delta_rule(self.network, sample, label, self.config.readout_learning_rate)
        except ValueError as exc:
            raise ModelError(str(exc), 'learning_diverged') from None
        self._simulator.reload_readout()

    def reset(self) -> None:
        """The readout back to the weights it was loaded with (the hidden layers never
        change on the robot)."""
        weight, bias = self._loaded_readout
        self.network.weights[-1][...] = weight
        self.network.biases[-1][...] = bias
        self._simulator.reload_readout()
        self._pending = None

    def summary(self) -> ModelSummary:
        packed = self._simulator.packed
        return ModelSummary(
            kind=self.kind, n_inputs=self.config.n_inputs,
            n_neurons=packed.n_neurons - self.config.n_classes, n_classes=self.config.n_classes,
            ready=True, note=f'{len(self.config.layers)} layers, {packed.n_neurons} neurons',
            inhibition='none', samples_seen=self._samples)

    def made_for(self) -> MadeFor:
        """This network as a profile records what it was made for."""
        config = self.network.config
        return MadeFor(n_neurons=self.summary().n_neurons, input_shape=config.input_shape[1:],
                       baseline_timesteps=config.timesteps, workload='frames',
                       training='offline', model_kind=self.kind,
                       architecture=architecture(config))

    def check_profile(self, profile: Profile) -> None:
        made, mine = profile.made_for, self.made_for()
        if made is None:
            raise ProfileError(f'{profile.source} records no network; a deep network needs '
                               'a profile made for it (topspark-profile-deep)')
        if (made.model_kind, made.architecture, made.input_shape, made.baseline_timesteps) != \
                (mine.model_kind, mine.architecture, mine.input_shape, mine.baseline_timesteps):
            raise ProfileError(f'{profile.source} was made for {made.describe()}; the model is '
                               f'{mine.describe()}')
        # same layers, other dynamics: a converted ('discrete') model's accuracies are not the
        # exact model's (profiles written before the mode existed were measured 'exact')
        measured = profile.network.get('lif', {}).get('integration', 'exact')
        if measured != self.network.config.lif.integration:
            raise ProfileError(f'{profile.source} was measured with {measured!r} LIF stepping; '
                               f'the model steps {self.network.config.lif.integration!r}: '
                               'profile it on its own (topspark-profile-deep)')

    def snapshot(self) -> 'DeepModel':
        return copy.deepcopy(self)

    def save(self, path: Path, metadata: Mapping[str, Any]) -> Path:
        return save_deep_checkpoint(path, self.network, dict(metadata))


def architecture(config: DeepConfig) -> str:
    """The layers in one word, e.g. 'c1x28x28-conv16k5s2p0-avgpool2-dense10'."""
    parts = ['c{}x{}x{}'.format(*config.input_shape)]
    for layer in config.layers:
        if layer.kind == 'conv':
            parts.append(f'conv{layer.size}k{layer.kernel}s{layer.stride}p{layer.padding}')
        elif layer.kind == 'dense':
            parts.append(f'dense{layer.size}')
        else:
            parts.append(f'{layer.kind}{layer.kernel}')
    return '-'.join(parts)


def _output(scores: np.ndarray, ops: OpCounts) -> ModelOutput:
    """The readout's scores are mean currents (they may be negative): the prediction is the
    largest, always."""
    return ModelOutput(scores.astype(np.float32), int(np.argmax(scores)), ops)
