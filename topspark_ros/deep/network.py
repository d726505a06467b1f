"""The spiking deep network: configuration plus trained weights; runs as spiking LIF neurons
(``kernels``) or as the rate network it was trained as (``rates.forward_rates``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .config import DeepConfig, weight_shapes
from .rates import forward_rates


class DeepNetwork:
    """Weights (conv: (out, in, k, k); dense: (out, in)) and biases of every layer; None for
    pooling layers."""

    def __init__(self, config: DeepConfig, weights: Sequence[np.ndarray | None],
                 biases: Sequence[np.ndarray | None]) -> None:
        expected = weight_shapes(config)
        if len(weights) != len(expected) or len(biases) != len(expected):
            raise ValueError(f'{len(expected)} layers need {len(expected)} weights and biases')
        self.weights: list[np.ndarray | None] = []
        self.biases: list[np.ndarray | None] = []
        for k, (shapes, weight, bias) in enumerate(zip(expected, weights, biases)):
            if shapes is None:
                self.weights.append(None)
                self.biases.append(None)
                continue
            if weight is None or bias is None:
                raise ValueError(f'layer {k} ({config.layers[k].kind}) has no weights')
            weight = np.ascontiguousarray(weight, np.float32)
            bias = np.ascontiguousarray(bias, np.float32)
            if weight.shape != shapes[0] or bias.shape != shapes[1]:
                raise ValueError(f'layer {k}: weight {weight.shape} / bias {bias.shape}, the '
                                 f'configuration needs {shapes[0]} / {shapes[1]}')
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError(f'layer {k}: weights or biases contain NaN/Inf')
            self.weights.append(weight)
            self.biases.append(bias)
        self.config = config

    @classmethod
    def initialised(cls, config: DeepConfig, seed: int = 0) -> 'DeepNetwork':
        """He-uniform weights and zero biases (what training starts from)."""
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for shapes in weight_shapes(config):
            if shapes is None:
                weights.append(None)
                biases.append(None)
                continue
            fan_in = int(np.prod(shapes[0][1:]))
            bound = np.sqrt(6.0 / fan_in)
            weights.append(rng.uniform(-bound, bound, shapes[0]).astype(np.float32))
            biases.append(np.zeros(shapes[1], np.float32))
        return cls(config, weights, biases)

    def rate_scores(self, image: np.ndarray, soft: bool = True) -> np.ndarray:
        """Class scores of the rate network (the ANN) for one input in [0, 1]."""
        return forward_rates(self.config, self.weights, self.biases, image, soft)
