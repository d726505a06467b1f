# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Minimal stand-in for ``torchvision``, for the peer benchmark only.

BindsNET 0.3.4 imports torchvision at module level (``bindsnet.datasets`` builds
wrapper classes around ``torchvision.datasets.*``, ``bindsnet.datasets.preprocess``
imports ``torchvision.transforms``, ``bindsnet.analysis.pipeline_analysis`` imports
``torchvision.utils.make_grid``).  PyPI's torchvision does not import beside the
CPU torch 2.13.0 wheel used here, and the benchmark needs none of it: it encodes
MNIST digits itself.  So this package only provides the names BindsNET touches at
import time; using any of them raises NotImplementedError.
"""

__version__ = "0.0.0+bindsnet-peer-stub"

from . import datasets, transforms, utils  # noqa: E402,F401

__all__ = ["datasets", "transforms", "utils"]
