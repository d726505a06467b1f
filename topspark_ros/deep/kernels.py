"""Numba kernel of the spiking deep network: one sample, every layer, T steps, event-driven.

Equations (docs/model.md, "The spiking deep network"), for each LIF neuron with input current
J (threshold v_th, times in seconds):

    v(t + dt) = J + (v(t) - J) exp(-dt' / tau_rc),   dt' = dt minus what is left of tau_ref
    a spike when v > v_th; v = 0 and the refractory period starts at the spike's exact time
    (interpolated within the step), so a constant J gives the LIF rate r(J) as T grows, up to
    one spike per step.

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

# layer table columns
KIND, C_IN, H_IN, W_IN, C_OUT, H_OUT, W_OUT, KERNEL, STRIDE, PAD, W_OFF, B_OFF, N_OFF = \
    range(13)
N_COLUMNS = 13
CONV, DENSE, AVGPOOL, SUMPOOL = range(4)
KIND_CODES = {'conv': CONV, 'dense': DENSE, 'avgpool': AVGPOOL, 'sumpool': SUMPOOL}
CODING_CURRENT, CODING_POISSON, CODING_REGULAR, CODING_SPIKES = range(4)
"""Constant currents, rate-coded frames (Poisson, regular), given input spikes (events)."""
# op counters, in the order of snn.network.OpCounts
OP_INPUT, OP_HIDDEN, OP_INH, OP_SYNAPTIC, OP_UPDATES, OP_WEIGHTS, OP_STEPS = range(7)
N_OPS = 7


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


@numba.njit(cache=True, nogil=True, fastmath=True, inline='always')
def _add_scaled(target, source, value):
    """target += value x source, on views: written this way the loop is vectorised (indexing
    the whole arrays with offsets ran 4x slower, measured in isolation)."""
    for o in range(target.size):
        target[o] += source[o] * value


@numba.njit(cache=True, nogil=True, fastmath=True, inline='always')
def _deliver(layers, weights, inp, layer, index, value, ops):
    """Add a spike (``index`` in layer ``layer - 1``'s channels-last output, carrying
    ``value``) to the inputs of layer ``layer``, through any pooling layers on the way."""
    while layers[layer, KIND] == AVGPOOL or layers[layer, KIND] == SUMPOOL:
        c_in, w_in = layers[layer, C_IN], layers[layer, W_IN]
        k = layers[layer, KERNEL]
        pixel, c = divmod(index, c_in)
        y, x = divmod(pixel, w_in)
        py, px = y // k, x // k
        if py >= layers[layer, H_OUT] or px >= layers[layer, W_OUT]:
            return                              # the edge rows a pooling window leaves out
        index = (py * layers[layer, W_OUT] + px) * c_in + c
        if layers[layer, KIND] == AVGPOOL:
            value /= k * k
        layer += 1
    c_in, h_in, w_in = layers[layer, C_IN], layers[layer, H_IN], layers[layer, W_IN]
    c_out, h_out, w_out = layers[layer, C_OUT], layers[layer, H_OUT], layers[layer, W_OUT]
    w_off, n_off = layers[layer, W_OFF], layers[layer, N_OFF]
    pixel, c = divmod(index, c_in)
    if layers[layer, KIND] == DENSE:
        y, x = divmod(pixel, w_in)
        row = w_off + ((c * h_in + y) * w_in + x) * c_out      # weights are (c, h, w) x out
        _add_scaled(inp[n_off:n_off + c_out], weights[row:row + c_out], value)
        ops[OP_SYNAPTIC] += c_out
        return
    k, stride, pad = layers[layer, KERNEL], layers[layer, STRIDE], layers[layer, PAD]
    y, x = divmod(pixel, w_in)
    # the kernel rows (columns) that map this input onto an output: ky = y + pad - stride oy
    for ky in range((y + pad) % stride, k, stride):
        oy = (y + pad - ky) // stride
        if oy < 0:
            break
        if oy >= h_out:
            continue
        for kx in range((x + pad) % stride, k, stride):
            ox = (x + pad - kx) // stride
            if ox < 0:
                break
            if ox >= w_out:
                continue
            base = w_off + ((c * k + ky) * k + kx) * c_out      # weights are (c, k, k) x out
            target = n_off + (oy * w_out + ox) * c_out
            _add_scaled(inp[target:target + c_out], weights[base:base + c_out], value)
            ops[OP_SYNAPTIC] += c_out


@numba.njit(cache=True, nogil=True)
def deliver_activation(layers, weights, layer, activation_hwc, scale, out, ops):
    """Add W (scale x activation) of layer ``layer`` (through any pooling layers from there)
    to ``out``: the linear part of a layer, by the same fan-out a spike takes. The first
    layer's current for a constant frame is computed this way, once per sample."""
    for i in range(activation_hwc.size):
        if activation_hwc[i] != 0.0:
            _deliver(layers, weights, out, layer, i, scale * activation_hwc[i], ops)


@numba.njit(cache=True, nogil=True)
def _first_layer_current(layers, weights, biases, image_hwc, gain, current, ops):
    """J = gain (W x + b) of the first layer for a constant input (channels-last)."""
    deliver_activation(layers, weights, 0, image_hwc, gain, current, ops)
    n_off, b_off = layers[0, N_OFF], layers[0, B_OFF]
    c_out = layers[0, C_OUT]
    for i in range(c_out * layers[0, H_OUT] * layers[0, W_OUT]):
        current[n_off + i] += gain * biases[b_off + i % c_out]


@numba.njit(cache=True, nogil=True, fastmath=True)
def simulate(layers, weights, biases, image_hwc, step_ptr, spike_index, timesteps,
             k: SimConstants, seed, v, refractory, inp, syn, constant, counts, scores, ops):
    """Run one sample for ``timesteps`` steps: a frame (``image_hwc``, channels-last, in
    [0, 1]) coded as ``k.coding`` says, or with CODING_SPIKES the input spikes of each step
    (``spike_index[step_ptr[t]:step_ptr[t + 1]]``). ``v``, ``refractory``, ``inp``, ``syn``,
    ``constant`` and ``counts`` hold every neuron of every layer (``N_OFF`` offsets); they are
    reset here. ``scores`` (n_classes) and ``ops`` (7) are outputs."""
    n_layers = layers.shape[0]
    last = n_layers - 1
    n_total = v.size
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
    current = np.empty(n_total)
    spike_value = k.amplitude / k.dt
    n_inputs = image_hwc.size
    if k.coding == CODING_CURRENT:
        _first_layer_current(layers, weights, biases, image_hwc, k.gain, constant, ops)
    else:
        first_out = layers[0, C_OUT] * layers[0, H_OUT] * layers[0, W_OUT]
        for i in range(first_out):
            constant[layers[0, N_OFF] + i] = k.gain * biases[layers[0, B_OFF] + i %
                                                             layers[0, C_OUT]]
    for layer in range(1, n_layers):
        kind = layers[layer, KIND]
        if kind == CONV or kind == DENSE:
            n = layers[layer, C_OUT] * layers[layer, H_OUT] * layers[layer, W_OUT]
            scale = 1.0 if (layer < last or k.readout_counts) else 1.0 / k.gain
            for i in range(n):
                constant[layers[layer, N_OFF] + i] = (
                    biases[layers[layer, B_OFF] + i % layers[layer, C_OUT]] * k.gain * scale)
    if k.coding != CODING_CURRENT:
        np.random.seed(seed)
        phase = np.full(n_inputs, 0.5)
        p_step = k.input_rate_hz * k.dt
        input_value = k.gain / (k.input_rate_hz * k.dt)
    for step in range(timesteps):
        if k.coding == CODING_POISSON:
            for i in range(n_inputs):
                if image_hwc[i] > 0.0 and np.random.random() < image_hwc[i] * p_step:
                    ops[OP_INPUT] += 1
                    _deliver(layers, weights, inp, 0, i, input_value, ops)
        elif k.coding == CODING_SPIKES:
            for j in range(step_ptr[step], step_ptr[step + 1]):
                ops[OP_INPUT] += 1
                _deliver(layers, weights, inp, 0, spike_index[j], input_value, ops)
        elif k.coding == CODING_REGULAR:
            for i in range(n_inputs):
                phase[i] += image_hwc[i] * p_step
                if phase[i] >= 1.0:
                    phase[i] -= 1.0
                    ops[OP_INPUT] += 1
                    _deliver(layers, weights, inp, 0, i, input_value, ops)
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
                ops[OP_UPDATES] += n
                continue
            ops[OP_UPDATES] += n
            # pass 1, branch-free (vectorised): input through the synapse, current, and a
            # whole step of leak for every neuron outside its refractory period
            for i in range(n_off, n_off + n):
                syn[i] = keep * syn[i] + take * inp[i]
                inp[i] = 0.0
                current[i] = (constant[i] + syn[i]) * inv_thresh    # in units of threshold
                free = refractory[i] == 0.0
                v[i] = v[i] + (current[i] - v[i]) * leak if free else v[i]
            # pass 2: the few neurons in or leaving a refractory period, and the spikes
            for i in range(n_off, n_off + n):
                left = refractory[i]
                if left != 0.0:
                    # refractory time left at this step's start; negative: the last spike
                    # came that long before this step began, and the neuron integrates for
                    # it too
                    if left < k.dt:
                        v[i] -= (current[i] - v[i]) * math.expm1((left - k.dt) / k.tau_rc)
                    refractory[i] = left - k.dt if left > k.dt else 0.0
                if v[i] > 1.0:
                    # the spike's time within the step, where v crossed 1: the refractory
                    # period starts there, not at the step's end
                    t_spike = k.dt + k.tau_rc * math.log1p(-(v[i] - 1.0) / (current[i] - 1.0))
                    refractory[i] = k.tau_ref + t_spike - k.dt      # >= -dt
                    v[i] = 0.0
                    counts[i] += 1
                    ops[OP_HIDDEN] += 1
                    if layer < last:
                        _deliver(layers, weights, inp, layer + 1, (i - n_off), spike_value, ops)
    if k.readout_counts:
        n_off = layers[last, N_OFF]
        for i in range(scores.size):
            scores[i] = counts[n_off + i]
    else:
        for i in range(scores.size):
            scores[i] /= timesteps
    ops[OP_STEPS] = timesteps
    return n_total
