# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Stand-in ``torchvision.transforms``: any attribute is a class that raises
when constructed (BindsNET uses them only inside functions)."""

_cache = {}


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in _cache:

        def _init(self, *args, **kwargs):
            raise NotImplementedError(
                f"torchvision.transforms.{name} is a stub (benchmarks/peers/stub)")

        _cache[name] = type(name, (), {"__init__": _init, "__module__": __name__})
    return _cache[name]
