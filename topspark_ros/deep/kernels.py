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
integrates its input: scores = mean over steps of input / gain + bias; being linear, that
input is summed once at the end from its feeder's spike counts.

Refractory time without logarithms: a neuron keeps ``x = exp(left / tau_rc)`` for the
refractory time ``left`` still to run (measured from the step's start). At a spike,
``left = tau_ref + tau_rc log((J - v) / (J - 1))`` (the crossing time solved from the
membrane equation, v and J in units of the threshold), so ``x = exp(tau_ref / tau_rc) (J - v)
/ (J - 1)``; a step takes ``x -> x exp(-dt / tau_rc)``; the step in which the period ends
integrates from v = 0 for ``dt - left``: ``v = J (1 - x exp(-dt / tau_rc))``. The numbers
``log1p`` and ``expm1`` gave, up to rounding, without either per spike; the neurons in their
period are on a per-layer list rather than tested each step.

Internal layout: neuron state is channels-last ((y, x, c) flattened) so that a spike's fan-out
into a convolution writes consecutive channels; weights are stored to match
(``network.pack_layers``). Weights (float32, as trained) and the input accumulators are
float32, the neuron state float64.
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
V, REFRACTORY, SYN, CONSTANT = range(4)
"""Rows of the neuron state (``simulate``'s ``state``): membrane (x v_th), exp(refractory
time left / tau_rc) of the neurons on a layer's refractory list, synapse, constant current."""
N_STATE_ROWS = 4


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
    scale: np.ndarray           # float32: 1, or 1 / k^2 through an average pool
    events: np.ndarray          # int64 (n_sources,): synaptic events of one spike of g
    base: np.ndarray            # int64 (n_layers,): first source of the population feeding
    #                             layer L (-1 where no population feeds it)


@numba.njit(cache=True, nogil=True, fastmath=True, inline='always')
def _deliver(fanout, weights, inp, source, value):
    """Add one spike of global source ``source``, carrying ``value``, to its targets' input
    (the caller counts its ``fanout.events``)."""
    for s in range(fanout.start[source], fanout.start[source + 1]):
        t, w, n = fanout.target[s], fanout.weight[s], fanout.length[s]
        _add_scaled(inp[t:t + n], weights[w:w + n], value * fanout.scale[s])


@numba.njit(cache=True, nogil=True, fastmath=True)
def _integrate(v, syn, inp, constant, keep, take, inv_thresh, leak):
    """One whole step of one layer for every neuron, branch-free (vectorised): the input
    through the synapse and the membrane towards J = (constant + synapse) / v_th. Neurons on
    the refractory list are corrected afterwards (``_refractory``). A function of its own, on
    views of one layer: inside ``simulate`` such loops ran about 5x slower."""
    for i in range(v.size):
        s = keep * syn[i] + take * inp[i]
        syn[i] = s
        inp[i] = 0.0
        v[i] += ((constant[i] + s) * inv_thresh - v[i]) * leak


@numba.njit(cache=True, nogil=True, fastmath=True)
def _integrate_constant(v, constant, inv_thresh, leak):
    """``_integrate`` for a layer without input of its own (the first layer, given its
    current once per sample): half the memory traffic."""
    for i in range(v.size):
        v[i] += (constant[i] * inv_thresh - v[i]) * leak


@numba.njit(cache=True, nogil=True, fastmath=True)
def _refractory(v, refractory, syn, constant, waiting, n_waiting, inv_thresh, e_dt, decay):
    """After ``_integrate``: the neurons on the refractory list ``waiting[:n_waiting]`` (layer
    indices). Those with at least a whole step left stay at v = 0; the others integrate from
    0 for the part of the step after their period ends (module docstring). Returns how many
    remain on the list (compacted in place)."""
    kept = 0
    for j in range(n_waiting):
        i = waiting[j]
        x = refractory[i]
        if x >= e_dt:                               # left >= dt: the whole step
            v[i] = 0.0
            refractory[i] = x * decay
            waiting[kept] = i
            kept += x > e_dt
        else:
            v[i] = (constant[i] + syn[i]) * inv_thresh * (1.0 - x * decay)
    return kept


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fire(v, refractory, syn, constant, counts, spikes, waiting, n_waiting, inv_thresh,
          e_ref):
    """After ``_refractory``: the neurons above threshold spike (their indices, ascending, to
    ``spikes``), reset, and join the refractory list. Returns (spikes, list length)."""
    fired = 0
    for i in range(v.size):                         # branch-free compaction
        spikes[fired] = i
        fired += v[i] > 1.0
    for j in range(fired):
        i = spikes[j]
        current = (constant[i] + syn[i]) * inv_thresh
        refractory[i] = e_ref * (current - v[i]) / (current - 1.0)
        v[i] = 0.0
        counts[i] += 1
        waiting[n_waiting] = i
        n_waiting += 1
    return fired, n_waiting


@numba.njit(cache=True, nogil=True, fastmath=True)
def _fire_at_step_end(v, counts, spikes):
    """``_fire`` for lif.integration 'discrete', the step NIR simulators (snnTorch) take: a
    spike when v > 1 at the step's end, then v = 0; no refractory period, no spike time."""
    fired = 0
    for i in range(v.size):                         # branch-free compaction
        spikes[fired] = i
        fired += v[i] > 1.0
    for j in range(fired):
        v[spikes[j]] = 0.0
        counts[spikes[j]] += 1
    return fired


@numba.njit(cache=True, nogil=True)
def deliver_activation(fanout, weights, layer, activation_hwc, scale, out, ops):
    """Add W (scale x activation) of layer ``layer`` (through any pooling layers from there)
    to ``out``: the linear part of a layer, by the same fan-out a spike takes. The first
    layer's current for a constant frame is computed this way, once per sample."""
    base = fanout.base[layer]
    for i in range(activation_hwc.size):
        if activation_hwc[i] != 0.0:
            _deliver(fanout, weights, out, base + i, scale * activation_hwc[i])
            ops[OP_SYNAPTIC_EVENTS] += fanout.events[base + i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _add_bias(layers, biases, layer, scale, out):
    """out += scale x bias for every neuron of ``layer`` (channels-last: the bias repeats
    every C_OUT neurons)."""
    c_out, n_off, b_off = layers[layer, C_OUT], layers[layer, N_OFF], layers[layer, B_OFF]
    bias = biases[b_off:b_off + c_out]
    for pixel in range(layers[layer, H_OUT] * layers[layer, W_OUT]):
        _add_scaled(out[n_off + pixel * c_out:n_off + (pixel + 1) * c_out], bias, scale)


@numba.njit(cache=True, nogil=True)
def _feeder(layers, layer):
    """The conv/dense layer whose spikes reach ``layer`` (through pooling), -1 for the input."""
    for source in range(layer - 1, -1, -1):
        if layers[source, KIND] == CONV or layers[source, KIND] == DENSE:
            return source
    return -1


@numba.njit(cache=True, nogil=True, fastmath=True)
def simulate(layers, fanout_arrays, weights, biases, image_hwc, step_ptr, spike_index,
             timesteps, constants, seed, state, inp, counts, scratch, scores, ops):
    """Run one sample for ``timesteps`` steps: a frame (``image_hwc``, channels-last, in
    [0, 1]) coded as ``constants`` say, or with CODING_SPIKES the input spikes of each step
    (``spike_index[step_ptr[t]:step_ptr[t + 1]]``). ``fanout_arrays`` and ``constants``: a
    ``Fanout`` and a ``SimConstants`` as plain tuples (a NamedTuple argument costs about
    1 us more per call in Numba's dispatcher). ``state`` (N_STATE_ROWS x neurons), ``inp``
    and ``counts`` hold every neuron of every layer (``N_OFF`` offsets) and are reset here;
    ``scratch`` (2 x neurons, int64) is working space. ``scores`` (n_classes) and ``ops``
    (7) are outputs."""
    fanout = Fanout(*fanout_arrays)
    k = SimConstants(*constants)
    n_layers = layers.shape[0]
    last = n_layers - 1
    v, refractory, syn, constant = state[V], state[REFRACTORY], state[SYN], state[CONSTANT]
    v[:] = k.v_init                             # membranes in units of the threshold
    syn[:] = 0.0
    inp[:] = 0.0
    constant[:] = 0.0
    counts[:] = 0
    scores[:] = 0.0
    ops[:] = 0
    spikes, waiting = scratch[0], scratch[1]    # one layer's spikes; refractory lists
    n_waiting = np.zeros(n_layers, np.int64)
    leak = -math.expm1(-k.dt / k.tau_rc)        # the fraction of (J - v) closed in a full step
    decay = math.exp(-k.dt / k.tau_rc)          # x -> x decay per step; left >= dt: x >= e_dt
    e_dt = math.exp(k.dt / k.tau_rc)
    e_ref = math.exp(k.tau_ref / k.tau_rc)
    inv_thresh = 1.0 / k.v_thresh
    keep = k.syn_decay                          # synapse: s <- keep s + take input
    take = 1.0 - k.syn_decay
    spike_value = np.float32(k.amplitude / k.dt)   # float32, as the weights and inputs
    input_base = fanout.base[0]
    n_inputs = image_hwc.size
    # the readout's input is linear in its feeder's spike counts: added once, at the end
    integrated = not k.readout_counts
    feeder = _feeder(layers, last) if integrated else -2
    if k.coding == CODING_CURRENT:
        deliver_activation(fanout, weights, 0, image_hwc, k.gain, constant, ops)
    _add_bias(layers, biases, 0, k.gain, constant)
    for layer in range(1, n_layers):
        kind = layers[layer, KIND]
        if kind == CONV or kind == DENSE:       # the readout's: its mean input / gain + b
            _add_bias(layers, biases, layer, 1.0 if layer == last and integrated else k.gain,
                      constant)
    if k.coding != CODING_CURRENT:
        np.random.seed(seed)
        phase = np.full(n_inputs, 0.5)
        p_step = k.input_rate_hz * k.dt
        input_value = np.float32(k.gain / (k.input_rate_hz * k.dt))
    for step in range(timesteps):
        if k.coding == CODING_POISSON:
            for i in range(n_inputs):
                if image_hwc[i] > 0.0 and np.random.random() < image_hwc[i] * p_step:
                    ops[OP_INPUT_SPIKES] += 1
                    ops[OP_SYNAPTIC_EVENTS] += fanout.events[input_base + i]
                    _deliver(fanout, weights, inp, input_base + i, input_value)
        elif k.coding == CODING_SPIKES:
            for j in range(step_ptr[step], step_ptr[step + 1]):
                ops[OP_INPUT_SPIKES] += 1
                ops[OP_SYNAPTIC_EVENTS] += fanout.events[input_base + spike_index[j]]
                _deliver(fanout, weights, inp, input_base + spike_index[j], input_value)
        elif k.coding == CODING_REGULAR:
            for i in range(n_inputs):
                phase[i] += image_hwc[i] * p_step
                if phase[i] >= 1.0:
                    phase[i] -= 1.0
                    ops[OP_INPUT_SPIKES] += 1
                    ops[OP_SYNAPTIC_EVENTS] += fanout.events[input_base + i]
                    _deliver(fanout, weights, inp, input_base + i, input_value)
        for layer in range(n_layers):
            kind = layers[layer, KIND]
            if kind == AVGPOOL or kind == SUMPOOL:
                continue
            n_off = layers[layer, N_OFF]
            n = layers[layer, C_OUT] * layers[layer, H_OUT] * layers[layer, W_OUT]
            ops[OP_NEURON_UPDATES] += n
            if layer == last and integrated:
                if feeder < 0:                  # fed by the input: sum its input
                    for i in range(n_off, n_off + n):
                        syn[i] += inp[i]
                        inp[i] = 0.0
                continue
            end = n_off + n
            if layer == 0 and k.coding == CODING_CURRENT:     # syn and inp stay 0
                _integrate_constant(v[n_off:end], constant[n_off:end], inv_thresh, leak)
            else:
                _integrate(v[n_off:end], syn[n_off:end], inp[n_off:end],
                           constant[n_off:end], keep, take, inv_thresh, leak)
            if k.discrete:
                fired = _fire_at_step_end(v[n_off:end], counts[n_off:end], spikes)
            else:
                listed = _refractory(v[n_off:end], refractory[n_off:end], syn[n_off:end],
                                     constant[n_off:end], waiting[n_off:end],
                                     n_waiting[layer], inv_thresh, e_dt, decay)
                fired, listed = _fire(v[n_off:end], refractory[n_off:end], syn[n_off:end],
                                      constant[n_off:end], counts[n_off:end], spikes,
                                      waiting[n_off:end], listed, inv_thresh, e_ref)
                n_waiting[layer] = listed
            ops[OP_EXC_SPIKES] += fired
            if layer < last:
                base = fanout.base[layer + 1]
                if layer == feeder:             # counted now, delivered at the end
                    for j in range(fired):
                        ops[OP_SYNAPTIC_EVENTS] += fanout.events[base + spikes[j]]
                    continue
                for j in range(fired):
                    ops[OP_SYNAPTIC_EVENTS] += fanout.events[base + spikes[j]]
                    _deliver(fanout, weights, inp, base + spikes[j], spike_value)
    n_off = layers[last, N_OFF]
    if integrated:
        # mean input / gain + bias; the readout has no synapse, so its row of ``syn`` is free
        # to sum its input over the run: what its feeder's spikes delivered
        if feeder >= 0:
            base = fanout.base[feeder + 1]
            f_off = layers[feeder, N_OFF]
            n_feeder = layers[feeder, C_OUT] * layers[feeder, H_OUT] * layers[feeder, W_OUT]
            for i in range(n_feeder):
                if counts[f_off + i] != 0:
                    _deliver(fanout, weights, syn, base + i,
                             k.amplitude / k.dt * counts[f_off + i])
        for i in range(scores.size):
            scores[i] = constant[n_off + i] + syn[n_off + i] / (k.gain * timesteps)
    else:
        for i in range(scores.size):
            scores[i] = counts[n_off + i]
    ops[OP_TIMESTEPS] = timesteps
