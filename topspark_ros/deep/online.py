# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Online learning of the spiking deep network's readout from teacher labels: the delta rule.

The readout is linear in what its feeder layer fired: scores = W a + b, with a = the feeder's
spike counts x amplitude / (dt T gain) (passed through any pooling layers in between), which is
how the kernel computes them. The gradient of the softmax cross-entropy of one labelled sample
is therefore local to each synapse, presynaptic activity times the output unit's error:

    p = softmax(scores),  e = p - onehot(label),  W <- W - eta e a^T,  b <- b - eta e

the delta rule (Widrow-Hoff with a softmax output; Nengo's PES is the same rule for a linear
error), one step per label (eta: ``DeepConfig.readout_learning_rate``, 0.002 by default,
chosen on inverted-contrast digits). The hidden layers keep their offline weights and so their
features; the readout adapts to what they show on a shifted input (docs/model.md, "Online
learning of the readout").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import kernels as K
from .config import DeepConfig
from .network import DeepNetwork, Simulator
from .rates import layer_forward


class ReadoutSample(NamedTuple):
    """What one sample leaves for its label: the readout's input activity and scores."""

    activity: np.ndarray        # float64 (n_inputs of the readout,)
    scores: np.ndarray          # float64 (n_classes,)


def learning_refusal(config: DeepConfig) -> str | None:
    """Why this network's readout cannot learn online, or None."""
    if config.readout != 'current':
        return (f"readout {config.readout!r}: the delta rule needs the readout's currents "
                "(readout 'current')")
    if config.layers[-1].kind != 'dense':
        return f'the readout is a {config.layers[-1].kind} layer, not dense'
    return None


def readout_activity(simulator: Simulator, config: DeepConfig, timesteps: int) -> np.ndarray:
    """The readout's input activity a of the simulator's last sample (scores = W a + b)."""
    table = simulator.packed.table
    last = len(config.layers) - 1
    feeder = max(k for k in range(last) if table[k, K.KIND] in (K.CONV, K.DENSE))
    c, h, w = (int(v) for v in table[feeder, [K.C_OUT, K.H_OUT, K.W_OUT]])
    start = int(table[feeder, K.N_OFF])
    counts = simulator.hidden_counts()[start:start + c * h * w]
    scale = config.lif.amplitude / (config.dt_ms / 1000.0 * timesteps * config.rate_gain)
    a = counts.reshape(h, w, c).transpose(2, 0, 1) * scale         # channels-last -> (c, h, w)
    for layer in config.layers[feeder + 1:last]:                      # pooling between
        a = layer_forward(layer.kind, a, None, None, layer.kernel, layer.stride, layer.padding)
    return a.reshape(-1)


def delta_rule(network: DeepNetwork, sample: ReadoutSample, label: int,
               learning_rate: float) -> int:
    """One step of the delta rule on the readout's weights and biases (in place); returns the
    number of weights and biases it changed. ValueError, nothing changed, if the step would
    leave a weight that is not finite (a learning rate far too large)."""
    scores = sample.scores - sample.scores.max()
    p = np.exp(scores)
    p /= p.sum()
    error = p
    error[label] -= 1.0
    weight, bias = network.weights[-1], network.biases[-1]
    with np.errstate(over='ignore', invalid='ignore'):     # checked just below
        new_weight = weight - (learning_rate * np.outer(error, sample.activity)).astype(
            np.float32)
        new_bias = bias - (learning_rate * error).astype(np.float32)
    if not (np.isfinite(new_weight).all() and np.isfinite(new_bias).all()):
        raise ValueError(f'a delta-rule step of {learning_rate:g} leaves weights that are not '
                         'finite; nothing changed')
    weight[...] = new_weight
    bias[...] = new_bias
    return weight.size + bias.size
