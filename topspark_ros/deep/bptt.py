# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The spiking deep network in JAX, differentiable through its time steps (BPTT).

The rate network (``train.forward``) models what the spiking network fires on average; at a
short T what matters is what it fires in those few steps. This module runs the spiking
network itself, step by step as the Numba kernel does with lif.integration 'discrete'
(``kernels.simulate``; a test holds the scores to 1e-5), so training can fine-tune the
weights for an operating point (T steps, rate gain, initial membrane voltage) the governor
will run. The threshold's step function gets a surrogate gradient, the fast sigmoid's
``1 / (1 + SURROGATE_SLOPE |v - v_th|)^2`` (SuperSpike, Zenke & Ganguli 2018), and the reset
passes no gradient (Zenke & Vogels 2021). Only the 'discrete' stepping with constant-current
input and an integrating readout is supported (``check_trainable``): the 'exact' stepping's
sub-step spike times and refractory lists have no such simple step.

Per step, for hidden LIF layer l with input current J (units of the threshold v_th):

    J_1 = g (W_1 x + b_1)                   (constant-current frame, once per sample)
    J_l = g b_l + syn_l,   syn_l <- k syn_l + (1 - k) W_l (amplitude / dt) s_{l-1}
    v_l <- v_l + (J_l / v_th - v_l)(1 - e^(-dt / tau_rc));   s_l = [v_l > 1];   v_l <- 0 where s_l

with k = e^(-dt / tau_s) (0 without a synapse) and v_l starting at v_init; scores = b_out +
W_out (amplitude / dt) counts / (g T), counts = the readout's feeder's spikes over T steps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .config import DeepConfig, layer_shapes
from .jax_layers import layer_linear

SURROGATE_SLOPE = 5.0   # per unit of threshold: the surrogate falls to 1/4 at v = v_th +- 0.2
UNROLL_STEPS = 16
"""Time steps unrolled per pass of the scan: XLA on CPU runs an unrolled step 3.5-4x faster
than a rolled one (a gradient step of the shipped CNN at T = 8, batch 64: 44 against 157 ms),
and short runs are what this trains for; longer runs compile a loop of this many steps."""


def check_trainable(config: DeepConfig) -> None:
    """Raise ValueError unless this module steps ``config`` as the kernel does."""
    if config.lif.integration != 'discrete':
        raise ValueError("spiking fine-tuning steps the network as lif.integration 'discrete' "
                         f'does, this one is {config.lif.integration!r} (convert it first: '
                         'topspark-train-deep --init-from M.npz --epochs 0 --integration '
                         'discrete)')
    if config.input_coding != 'current':
        raise ValueError('spiking fine-tuning takes constant-current input, this network '
                         f'codes its input as {config.input_coding!r}')
    if config.readout != 'current':
        raise ValueError('spiking fine-tuning needs the integrating readout (readout: '
                         f'current), this network reads out {config.readout!r}')
    if not any(layer.kind in ('conv', 'dense') for layer in config.layers[:-1]):
        raise ValueError('spiking fine-tuning needs at least one hidden conv or dense layer')


@jax.custom_jvp
def spike(x: jnp.ndarray) -> jnp.ndarray:
    """[x > 0] with the fast sigmoid's derivative as its gradient."""
    return (x > 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike(x), dx / (1.0 + SURROGATE_SLOPE * jnp.abs(x)) ** 2


def spiking_scores(config: DeepConfig, params, images: jnp.ndarray, timesteps: int,
                   rate_gain: float | jnp.ndarray = 1.0,
                   v_init: float | jnp.ndarray = 0.0) -> jnp.ndarray:
    """Class scores (n, n_classes) of the spiking network run for ``timesteps`` steps with
    ``rate_gain`` and ``v_init`` (an ``OperatingPoint``'s fields; these two may be traced, so
    one compilation serves every point of a T) for images (n, c, h, w) in [0, 1]; ``params``
    as ``train.params_of``. Differentiable (surrogate)."""
    check_trainable(config)
    lif = config.lif
    gain = rate_gain
    dt = config.dt_ms / 1000.0
    leak = -math.expm1(-dt / (lif.tau_rc_ms / 1000.0))
    keep = math.exp(-config.dt_ms / lif.tau_s_ms) if lif.tau_s_ms > 0 else 0.0   # synapse
    spike_value = lif.amplitude / dt
    layers = config.layers
    last = len(layers) - 1
    weights, flat = [], iter(params)
    for layer in layers:
        weights.append(next(flat) if layer.kind in ('conv', 'dense') else None)
    hidden = [k for k in range(last) if layers[k].kind in ('conv', 'dense')]

    def through_pooling(a, start, stop):
        for m in range(start, stop):
            a = layer_linear(layers[m], a, None, None)
        return a

    first = hidden[0]
    w, b = weights[first]
    constant = gain * layer_linear(layers[first], through_pooling(images, 0, first), w, b)
    outputs = layer_shapes(config)
    shapes = [(images.shape[0],) + outputs[k] for k in hidden]

    def step(carry, _):
        membranes, synapses, counts = carry
        new_v, new_syn = [], []
        s = None
        for index, k in enumerate(hidden):
            if index == 0:
                current, syn = constant, synapses[0]
            else:
                w, b = weights[k]
                a = through_pooling(s * spike_value, hidden[index - 1] + 1, k)
                syn = keep * synapses[index] + (1.0 - keep) * layer_linear(
                    layers[k], a, w, jnp.zeros_like(b))
                current = gain * b[None, :, None, None] + syn
            v = membranes[index] + (current / lif.v_thresh - membranes[index]) * leak
            s = spike(v - 1.0)
            new_v.append(v * (1.0 - jax.lax.stop_gradient(s)))
            new_syn.append(syn)
        return (tuple(new_v), tuple(new_syn), counts + s), None

    membranes = tuple(jnp.full(shape, v_init, constant.dtype) for shape in shapes)
    synapses = tuple(jnp.zeros(shape, constant.dtype) for shape in shapes)
    counts = jnp.zeros(shapes[-1], constant.dtype)
    (_, _, counts), _ = jax.lax.scan(step, (membranes, synapses, counts), None,
                                     length=timesteps, unroll=min(timesteps, UNROLL_STEPS))
    a = through_pooling(counts * spike_value / (gain * timesteps), hidden[-1] + 1, last)
    w, b = weights[last]
    return layer_linear(layers[last], a, w, b).reshape(images.shape[0], -1)
