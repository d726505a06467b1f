# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Stand-in ``torchvision.datasets``: any attribute is a Dataset class that
cannot be instantiated (BindsNET only subclasses them at import time)."""

from torch.utils.data import Dataset

_cache = {}


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in _cache:

        def _init(self, *args, **kwargs):
            raise NotImplementedError(
                f"torchvision.datasets.{name} is a stub (benchmarks/peers/stub)")

        _cache[name] = type(name, (Dataset,), {"__init__": _init, "__doc__": None,
                                               "__module__": __name__})
    return _cache[name]
