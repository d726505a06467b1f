# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Rate responses of LIF neurons and the rate (ANN) forward pass, in NumPy.

The soft-LIF (Hunsberger & Eliasmith 2016) replaces max(x, 0) in the LIF rate curve by
rho(x) = gamma log(1 + exp(x / gamma)), so its derivative stays bounded at threshold:

    r(j) = 1 / (tau_ref + tau_rc log(1 + v_th / rho(j - v_th)))          (Hz, taus in s)

As gamma -> 0 it becomes the LIF curve, whose value is 0 for j <= v_th. The spiking network
(``simulate``) converges to ``lif_rate`` for a constant current as T grows. The training code
(``topspark_ros.deep.train``, JAX) implements the same formulas; these are the reference.

With lif.integration 'discrete' (spike and reset at a step's end, no refractory period) a
neuron crossing threshold after a time x = tau_rc log(1 + v_th / (j - v_th)) spikes at the end
of that step, so its period is a whole number of steps: r(j) = 1 / (dt (floor(x / dt) + 1)).
Averaged over where x falls within a step that is the LIF curve with tau_ref = dt / 2, which is
what the soft-LIF of a discrete network uses (``curve_tau_ref_s``).
"""

from __future__ import annotations

import numpy as np

from .config import DeepConfig, LifParams


def curve_tau_ref_s(lif: LifParams, dt_ms: float) -> float:
    """The refractory period (s) of the rate curves: tau_ref, or for 'discrete' stepping the
    half step a spike waits on average for the step's end (module docstring)."""
    return dt_ms / 2000.0 if lif.integration == 'discrete' else lif.tau_ref_ms / 1000.0


def lif_rate(j: np.ndarray, lif: LifParams, dt_ms: float) -> np.ndarray:
    """Steady-state firing rate (Hz) of a LIF neuron for a constant current ``j``, run with
    steps of ``dt_ms`` (which only 'discrete' stepping depends on)."""
    j = np.asarray(j, np.float64)
    out = np.zeros_like(j)
    above = j > lif.v_thresh
    crossing = lif.tau_rc_ms / 1000.0 * np.log1p(lif.v_thresh / (j[above] - lif.v_thresh))
    if lif.integration == 'discrete':
        dt = dt_ms / 1000.0
        out[above] = 1.0 / (dt * (np.floor(crossing / dt) + 1.0))
    else:
        out[above] = 1.0 / (lif.tau_ref_ms / 1000.0 + crossing)
    return out


def soft_lif_rate(j: np.ndarray, lif: LifParams, dt_ms: float) -> np.ndarray:
    """The soft-LIF rate (Hz): smooth everywhere, equal to the LIF curve with
    ``curve_tau_ref_s`` as gamma -> 0."""
    j = np.asarray(j, np.float64)
    x = (j - lif.v_thresh) / lif.gamma
    rho = lif.gamma * np.logaddexp(0.0, x)          # gamma log(1 + e^x), without overflow
    with np.errstate(divide='ignore', over='ignore'):      # rho -> 0: the rate -> 0
        log_term = np.log1p(lif.v_thresh / rho)
    return 1.0 / (curve_tau_ref_s(lif, dt_ms) + lif.tau_rc_ms / 1000.0 * log_term)


def layer_forward(kind: str, a: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                  kernel: int, stride: int, padding: int) -> np.ndarray:
    """One layer's linear part on a (c, h, w) input: conv (cross-correlation, PyTorch's),
    dense, or pooling; returns (c', h', w') currents or pooled activations."""
    if kind == 'dense':
        return (weight @ a.reshape(-1) + bias).reshape(-1, 1, 1)
    if kind in ('avgpool', 'sumpool'):
        c, h, w = a.shape
        hh, ww = h // kernel, w // kernel
        pooled = a[:, :hh * kernel, :ww * kernel].reshape(c, hh, kernel, ww, kernel).sum((2, 4))
        return pooled / (kernel * kernel) if kind == 'avgpool' else pooled
    padded = np.pad(a, ((0, 0), (padding, padding), (padding, padding)))
    out_c, _, k, _ = weight.shape
    h = (padded.shape[1] - k) // stride + 1
    w = (padded.shape[2] - k) // stride + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))
    windows = windows[:, ::stride, ::stride][:, :h, :w]          # (in, h, w, k, k)
    return np.einsum('ihwab,oiab->ohw', windows, weight) + bias[:, None, None]


def forward_rates(config: DeepConfig, weights: list[np.ndarray | None],
                  biases: list[np.ndarray | None], image: np.ndarray,
                  soft: bool = True) -> np.ndarray:
    """The rate network's class scores for one input (c, h, w) in [0, 1]: each LIF layer's
    activation is amplitude x rate (soft-LIF or LIF), the last layer is linear."""
    rate = soft_lif_rate if soft else lif_rate
    a = np.asarray(image, np.float64).reshape(config.input_shape)
    last = len(config.layers) - 1
    for k, layer in enumerate(config.layers):
        a = layer_forward(layer.kind, a, weights[k], biases[k], layer.kernel, layer.stride,
                          layer.padding)
        if layer.kind in ('conv', 'dense') and k < last:
            a = config.lif.amplitude * rate(a, config.lif, config.dt_ms)
    return a.reshape(-1)
