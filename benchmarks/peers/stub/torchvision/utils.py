"""Stand-in ``torchvision.utils``."""


def make_grid(*args, **kwargs):
    raise NotImplementedError("torchvision.utils.make_grid is a stub (benchmarks/peers/stub)")
