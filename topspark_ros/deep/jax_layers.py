# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The deep network's layers as linear maps on a batch in JAX, shared by the rate network
(``train``) and the spiking network stepped through time (``bptt``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .config import LayerSpec


def layer_linear(layer: LayerSpec, a: jnp.ndarray, weight: jnp.ndarray | None,
                 bias: jnp.ndarray | None) -> jnp.ndarray:
    """``rates.layer_forward`` on a batch (n, c, h, w)."""
    n = a.shape[0]
    if layer.kind == 'dense':
        return (a.reshape(n, -1) @ weight.T + bias).reshape(n, -1, 1, 1)
    if layer.kind == 'conv':
        pad = ((layer.padding, layer.padding), (layer.padding, layer.padding))
        out = jax.lax.conv_general_dilated(a, weight, (layer.stride, layer.stride), pad,
                                           dimension_numbers=('NCHW', 'OIHW', 'NCHW'),
                                           precision=jax.lax.Precision.HIGHEST)
        return out + bias[None, :, None, None]
    k = layer.kernel
    _, c, h, w = a.shape
    hh, ww = h // k, w // k
    pooled = a[:, :, :hh * k, :ww * k].reshape(n, c, hh, k, ww, k).sum((3, 5))
    return pooled / (k * k) if layer.kind == 'avgpool' else pooled
