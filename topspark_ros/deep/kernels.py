# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Numba kernel of the spiking deep network: one sample, every layer, T steps, event-driven.

Equations (docs/model.md, "The spiking deep network"), for each LIF neuron with input current
J (threshold v_th, times in seconds):

    v(t + dt) = J + (v(t) - J) exp(-dt' / tau_rc),   dt' = dt minus what is left of tau_ref
    a spike when v > v_th; v = 0 and the refractory period starts at the spike's exact time
    (interpolated within the step), so a constant J gives the LIF rate r(J) as T grows, up to
    one spike per step.

With lif.integration 'discrete' (``SimConstants.discrete``) the same step, but a spike when
v > v_th at the step's end and v = 0 there, with no refractory period: the forward step of NIR
simulators such as snnTorch (docs/hardware.md).

A spike of a layer adds ``amplitude / dt`` times its fan-out weights to the next layer's input
of the same step (pooling layers pass it on scaled); with a synapse (tau_s > 0) that input is
low-pass filtered. A LIF layer's current is J = input + gain x bias; with constant-current
input the first layer's J = gain x (W x + b) is computed once per sample. The readout layer
integrates its input: scores = mean over steps of input / gain + bias.

Internal layout: neuron state is channels-last ((y, x, c) flattened) so that a spike's fan-out
into a convolution writes consecutive channels; weights are stored to match
(``network.pack_layers``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ..snn.ops import (OP_EXC_SPIKES, OP_INPUT_SPIKES, OP_NEURON_UPDATES,
                       OP_SYNAPTIC_EVENTS, OP_TIMESTEPS)

# layer table columns
KIND, C_IN, H_IN, W_IN, C_OUT, H_OUT, W_OUT, KERNEL, STRIDE, PAD, W_OFF, B_OFF, N_OFF = \
    range(13)
N_COLUMNS = 13
CONV, DENSE, AVGPOOL, SUMPOOL = range(4)
KIND_CODES = {'conv': CONV, 'dense': DENSE, 'avgpool': AVGPOOL, 'sumpool': SUMPOOL}
CODING_CURRENT, CODING_POISSON, CODING_REGULAR, CODING_SPIKES = range(4)
"""Constant currents, rate-coded frames (Poisson, regular), given input spikes (events)."""


class SimConstants(NamedTuple):
    """Per-run constants of the kernel (seconds, not ms)."""

    dt: float
    tau_rc: float
    tau_ref: float
    syn_decay: float            # exp(-dt / tau_s); 0 without a synapse
    v_init: float               # x v_thresh
    v_thresh: float
    amplitude: float
    gain: float
    coding: int
    input_rate_hz: float
    readout_counts: bool
    discrete: bool = False      # lif.integration 'discrete': ``_fire_at_step_end``


@numba.njit(cache=True, nogil=True, fastmath=True, inline='always')
def _add_scaled(target, source, value):
    """target += value x source, on views: written this way the loop is vectorised (indexing
    the whole arrays with offsets ran 4x slower, measured in isolation)."""
    for o in range(target.size):
        target[o] += source[o] * value


class Fanout(NamedTuple):
    """Where each spike goes, precomputed (``network.fanout_segments``): source neuron g (of a
    population: the input, or a layer's output) adds ``scale x weights[weight:weight + length]``
    to ``inp[target:target + length]`` for each of its segments ``start[g]:start[g + 1]``.
    Pooling on the way is folded into the targets and scales."""

    start: np.ndarray           # int64 (n_sources + 1,)
    target: np.ndarray          # int64 (n_segments,): first neuron (channels-last, global)
    weight: np.ndarray          # int64: first weight in the flat weights
    length: np.ndarray          # int64: consecutive neurons and weights (the out channels)
    scale: np.ndarray           # float64: 1, or 1 / k^2 through an average pool
    base: np.ndarray            # int64 (n_layers,): first source of the population feeding
    #                             layer L (-1 where no population feeds it)


@numba.njit(cache=True, nogil=True, fastmath=True, inline='always')
def _deliver(fanout, weights, inp, source, value, ops):
    """Add one spike of global source ``source``, carrying ``value``, to its targets' input."""
    for s in range(fanout.start[source], fanout.start[source + 1]):
        t, w, n = fanout.target[s], fanout.weight[s], fanout.length[s]
        _add_scaled(inp[t:t + n], weights[w:w + n], value * fanout.scale[s])
        ops[OP_SYNAPTIC_EVENTS] += n


@numba.njit(cache=True, nogil=True, fastmath=True)
def _integrate(syn, inp, constant, current, v, refractory, keep, take, inv_thresh, leak):
    """One step of one layer, branch-free (vectorised): the input through the synapse, the
    current in units of the threshold, and a whole step of leak for every neuron outside its
    refractory period (those in it are handled one by one, with the spikes). A function of its
    own, on views of one layer: inside ``simulate`` the same loop ran about 5x slower."""
    for i in range(v.size):
        syn[i] = keep * syn[i] + take * inp[i]
        inp[i] = 0.0
        current[i] = (constant[i] + syn[i]) * inv_thresh
        free = refractory[i] == 0.0
        v[i] = v[i] + (current[i] - v[i]) * leak if free else v[i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fire(v, refractory, current, counts, dt, tau_rc, tau_ref, spikes):
    """After ``_integrate``: the neurons in or leaving their refractory period, and the
    spikes, written to ``spikes`` (indices in the layer); returns how many fired."""
    fired = 0
    for i in range(v.size):
        left = refractory[i]
        if left != 0.0:
            # refractory time left at this step's start; negative: the last spike came that
            # long before this step began, and the neuron integrates for it too
            if left < dt:
                v[i] -= (current[i] - v[i]) * math.expm1((left - dt) / tau_rc)
            refractory[i] = left - dt if left > dt else 0.0
        if v[i] > 1.0:
            # the spike's time within the step, where v crossed 1: the refractory period
            # starts there, not at the step's end
            t_spike = dt + tau_rc * math.log1p(-(v[i] - 1.0) / (current[i] - 1.0))
            refractory[i] = tau_ref + t_spike - dt              # >= -dt
            v[i] = 0.0
            counts[i] += 1
            spikes[fired] = i
            fired += 1
    return fired


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fire_at_step_end(v, counts, spikes):
    """``_fire`` for lif.integration 'discrete', the step NIR simulators (snnTorch) take: a
    spike when v > 1 at the step's end, then v = 0; no refractory period, no spike time."""
    fired = 0
    for i in range(v.size):
        if v[i] > 1.0:
            v[i] = 0.0
            counts[i] += 1
            spikes[fired] = i
            fired += 1
    return fired


@numba.njit(cache=True, nogil=True)
def deliver_activation(fanout, weights, layer, activation_hwc, scale, out, ops):
    """Add W (scale x activation) of layer ``layer`` (through any pooling layers from there)
    to ``out``: the linear part of a layer, by the same fan-out a spike takes. The first
    layer's current for a constant frame is computed this way, once per sample."""
    base = fanout.base[layer]
    for i in range(activation_hwc.size):
        if activation_hwc[i] != 0.0:
            _deliver(fanout, weights, out, base + i, scale * activation_hwc[i], ops)


@numba.njit(cache=True, nogil=True)
def _first_layer_current(layers, fanout, weights, biases, image_hwc, gain, current, ops):
    """J = gain (W x + b) of the first layer for a constant input (channels-last)."""
    deliver_activation(fanout, weights, 0, image_hwc, gain, current, ops)
    _add_bias(layers, biases, 0, gain, current)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _add_bias(layers, biases, layer, scale, out):
    """out += scale x bias for every neuron of ``layer`` (channels-last: the bias repeats
    every C_OUT neurons)."""
    c_out, n_off, b_off = layers[layer, C_OUT], layers[layer, N_OFF], layers[layer, B_OFF]
    bias = biases[b_off:b_off + c_out]
    for pixel in range(layers[layer, H_OUT] * layers[layer, W_OUT]):
        _add_scaled(out[n_off + pixel * c_out:n_off + (pixel + 1) * c_out], bias, scale)


@numba.njit(cache=True, nogil=True, fastmath=True)
def simulate(layers, fanout, weights, biases, image_hwc, step_ptr, spike_index, timesteps,
             k: SimConstants, seed, v, refractory, inp, syn, constant, counts, scores, ops):
    """Run one sample for ``timesteps`` steps: a frame (``image_hwc``, channels-last, in
    [0, 1]) coded as ``k.coding`` says, or with CODING_SPIKES the input spikes of each step
    (``spike_index[step_ptr[t]:step_ptr[t + 1]]``). ``v``, ``refractory``, ``inp``, ``syn``,
    ``constant`` and ``counts`` hold every neuron of every layer (``N_OFF`` offsets); they are
    reset here. ``scores`` (n_classes) and ``ops`` (7) are outputs."""
    n_layers = layers.shape[0]
    last = n_layers - 1
    v[:] = k.v_init                             # membranes in units of the threshold
    refractory[:] = 0.0
    inp[:] = 0.0
    syn[:] = 0.0
    constant[:] = 0.0
    counts[:] = 0
    scores[:] = 0.0
    ops[:] = 0
    leak = -math.expm1(-k.dt / k.tau_rc)        # the fraction of (J - v) closed in a full step
    inv_thresh = 1.0 / k.v_thresh
    keep = k.syn_decay                          # synapse: s <- keep s + take input
    take = 1.0 - k.syn_decay
    current = np.empty(v.size)
    spikes = np.empty(v.size, np.int64)        # one layer's spikes of one step
    spike_value = k.amplitude / k.dt
    input_base = fanout.base[0]
    n_inputs = image_hwc.size
    if k.coding == CODING_CURRENT:
        _first_layer_current(layers, fanout, weights, biases, image_hwc, k.gain, constant, ops)
    else:
        _add_bias(layers, biases, 0, k.gain, constant)
    for layer in range(1, n_layers):
        kind = layers[layer, KIND]
        if kind == CONV or kind == DENSE:       # the readout's: its mean input / gain + b
            _add_bias(layers, biases, layer,
                      k.gain if (layer < last or k.readout_counts) else 1.0, constant)
    if k.coding != CODING_CURRENT:
        np.random.seed(seed)
        phase = np.full(n_inputs, 0.5)
        p_step = k.input_rate_hz * k.dt
        input_value = k.gain / (k.input_rate_hz * k.dt)
    for step in range(timesteps):
        if k.coding == CODING_POISSON:
            for i in range(n_inputs):
                if image_hwc[i] > 0.0 and np.random.random() < image_hwc[i] * p_step:
                    ops[OP_INPUT_SPIKES] += 1
                    _deliver(fanout, weights, inp, input_base + i, input_value, ops)
        elif k.coding == CODING_SPIKES:
            for j in range(step_ptr[step], step_ptr[step + 1]):
                ops[OP_INPUT_SPIKES] += 1
                _deliver(fanout, weights, inp, input_base + spike_index[j], input_value,
                         ops)
        elif k.coding == CODING_REGULAR:
            for i in range(n_inputs):
                phase[i] += image_hwc[i] * p_step
                if phase[i] >= 1.0:
                    phase[i] -= 1.0
                    ops[OP_INPUT_SPIKES] += 1
                    _deliver(fanout, weights, inp, input_base + i, input_value, ops)
        for layer in range(n_layers):
            kind = layers[layer, KIND]
            if kind == AVGPOOL or kind == SUMPOOL:
                continue
            n_off = layers[layer, N_OFF]
            n = layers[layer, C_OUT] * layers[layer, H_OUT] * layers[layer, W_OUT]
            if layer == last and not k.readout_counts:      # the readout integrates
                for i in range(n_off, n_off + n):
                    scores[i - n_off] += constant[i] + inp[i] / k.gain
                    inp[i] = 0.0
                ops[OP_NEURON_UPDATES] += n
                continue
            ops[OP_NEURON_UPDATES] += n
            _integrate(syn[n_off:n_off + n], inp[n_off:n_off + n], constant[n_off:n_off + n],
                       current[n_off:n_off + n], v[n_off:n_off + n],
                       refractory[n_off:n_off + n], keep, take, inv_thresh, leak)
            if k.discrete:
                fired = _fire_at_step_end(v[n_off:n_off + n], counts[n_off:n_off + n], spikes)
            else:
                fired = _fire(v[n_off:n_off + n], refractory[n_off:n_off + n],
                              current[n_off:n_off + n], counts[n_off:n_off + n], k.dt,
                              k.tau_rc, k.tau_ref, spikes)
            ops[OP_EXC_SPIKES] += fired
            if layer < last:
                base = fanout.base[layer + 1]
                for j in range(fired):
                    _deliver(fanout, weights, inp, base + spikes[j], spike_value, ops)
    if k.readout_counts:
        n_off = layers[last, N_OFF]
        for i in range(scores.size):
            scores[i] = counts[n_off + i]
    else:
        for i in range(scores.size):
            scores[i] /= timesteps
    ops[OP_TIMESTEPS] = timesteps
