# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Stand-in ``torchvision.utils``."""


def make_grid(*args, **kwargs):
    raise NotImplementedError("torchvision.utils.make_grid is a stub (benchmarks/peers/stub)")
