# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Input encoding: frames to Poisson rates, event streams to per-timestep input spikes.

Frames: any 2-D (or H x W x C) array of uint8, uint16, bool or float in [0, 1] becomes a grey image
resized to the network's input shape; each pixel fires at ``pixel * input_rate_hz`` (Diehl & Cook).
Events: (x, y, t, polarity) arrays are mapped onto the input grid and their time window onto the
T timesteps; a pixel spikes at most once per step however many events fall into it.
``EventSamples`` holds many event samples at once (a dataset, or a sweep's input).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .kernels import bin_events_csr, kept_events, poisson_spike_train


class EncodingError(ValueError):
    """An input frame or event packet cannot be encoded; the message says what was wrong."""


@dataclass(frozen=True)
class SpikeTrain:
    """Input spikes of one sample in CSR form: the inputs spiking at step t are
    ``indices[step_ptr[t]:step_ptr[t + 1]]``."""

    step_ptr: np.ndarray      # int32, shape (timesteps + 1,)
    indices: np.ndarray       # int32, input neuron ids
    timesteps: int

    @property
    def n_spikes(self) -> int:
        return int(self.step_ptr[-1])

    def to_dense(self, n_inputs: int) -> np.ndarray:
        """Boolean (timesteps, n_inputs) raster, for tests and plots."""
        dense = np.zeros((self.timesteps, n_inputs), bool)
        for t in range(self.timesteps):
            dense[t, self.indices[self.step_ptr[t]:self.step_ptr[t + 1]]] = True
        return dense


def to_intensity(image: np.ndarray) -> np.ndarray:
    """Grey intensity in [0, 1] (float32) of a 2-D or H x W x C array; colour is read as RGB(A)."""
    img = np.asarray(image)
    if img.ndim == 2:
        grey = _scale(img, img.dtype)
    elif img.ndim == 3 and img.shape[2] == 1:
        grey = _scale(img[:, :, 0], img.dtype)
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        grey = _scale(img[:, :, :3], img.dtype) @ _LUMA
    else:
        raise EncodingError('expected a 2-D image or H x W x {1,3,4} array, '
                            f'got shape {img.shape}')
    return np.clip(grey, 0.0, 1.0)


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)     # ITU-R BT.601, as OpenCV's RGB2GRAY


def _scale(img: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if img.size == 0:
        raise EncodingError(f'empty image (shape {img.shape})')
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return img.astype(np.float32)
    if np.issubdtype(dtype, np.integer):
        if dtype.itemsize > 2:
            raise EncodingError(f'unsupported integer image dtype {dtype}; use uint8 or uint16')
        return img.astype(np.float32) / float(np.iinfo(dtype).max)
    if np.issubdtype(dtype, np.floating):
        img = img.astype(np.float32)
        if not np.isfinite(img).all():
            raise EncodingError(f'image contains {int((~np.isfinite(img)).sum())} NaN/Inf values')
        return img
    raise EncodingError(f'unsupported image dtype {dtype}')


def image_to_rates(image: np.ndarray, input_shape: tuple[int, int],
                   input_rate_hz: float) -> np.ndarray:
    """Firing rate (Hz, float64, flattened row-major) of each input neuron for one frame."""
    grey = to_intensity(image)
    if grey.shape != tuple(input_shape):
        grey = cv2.resize(grey, (input_shape[1], input_shape[0]), interpolation=cv2.INTER_AREA)
    return grey.astype(np.float64).ravel() * float(input_rate_hz)


def rates_to_probability(rates_hz: np.ndarray, dt_ms: float) -> np.ndarray:
    """Spike probability per timestep of a Poisson neuron firing at ``rates_hz``."""
    return np.clip(np.asarray(rates_hz, np.float64) * (dt_ms / 1000.0), 0.0, 1.0)


def poisson_encode(rates_hz: np.ndarray, timesteps: int, dt_ms: float, seed: int) -> SpikeTrain:
    """Bernoulli spikes with probability ``rate * dt`` per input and timestep."""
    prob = rates_to_probability(rates_hz, dt_ms)
    step_ptr, indices = poisson_spike_train(prob, int(timesteps), int(seed))
    return SpikeTrain(step_ptr, indices, int(timesteps))


def _input_index(x: np.ndarray, y: np.ndarray, sensor_shape: tuple[int, int],
                 input_shape: tuple[int, int]) -> np.ndarray:
    """Input neuron of each sensor pixel (x, y): the sensor scaled onto the input grid."""
    rows = (y.astype(np.int64) * input_shape[0]) // sensor_shape[0]
    cols = (x.astype(np.int64) * input_shape[1]) // sensor_shape[1]
    return rows * input_shape[1] + cols


def event_input_index(x: np.ndarray, y: np.ndarray, sensor_shape: tuple[int, int],
                      input_shape: tuple[int, int]) -> np.ndarray:
    """``bin_events``' pixel mapping for many samples at once (int64; -1 outside the sensor),
    for ``Network.run_events``."""
    x, y = np.asarray(x), np.asarray(y)
    height, width = (int(v) for v in sensor_shape)
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return np.where(inside, _input_index(x, y, (height, width), input_shape), -1)


def bin_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, polarity: np.ndarray | None,
               sensor_shape: tuple[int, int], input_shape: tuple[int, int], timesteps: int,
               window: tuple[float, float] | None = None, polarities: str = 'both',
               keep_fraction: float = 1.0, seed: int = 0) -> SpikeTrain:
    """Map events (pixel x, y on a ``sensor_shape`` = (height, width) sensor, time t in any unit)
    to input spikes: the window [t0, t1) is split into ``timesteps`` equal bins (default: the
    packet's own time span). ``polarities`` keeps 'both', only 'on' (> 0) or only 'off' events.
    ``keep_fraction`` < 1 thins the events (each kept by its position and ``seed``, the same
    choice ``Network.run_events`` makes for a sample with that seed).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    t = np.asarray(t, np.float64)
    if not (x.shape == y.shape == t.shape) or x.ndim != 1:
        raise EncodingError(f'x, y and t must be 1-D arrays of one length, got shapes '
                            f'{x.shape}, {y.shape}, {t.shape}')
    if polarity is not None and np.shape(polarity) != x.shape:
        raise EncodingError(f'polarity has shape {np.shape(polarity)}, expected {x.shape}')
    if polarities not in ('both', 'on', 'off'):
        raise EncodingError(f"polarities must be 'both', 'on' or 'off', got {polarities!r}")
    height, width = (int(s) for s in sensor_shape)
    if height < 1 or width < 1:
        raise EncodingError(f'sensor_shape must be positive, got {sensor_shape}')
    if timesteps < 1:
        raise EncodingError(f'timesteps must be >= 1, got {timesteps}')
    if not 0.0 < keep_fraction <= 1.0:
        raise EncodingError(f'keep_fraction must be in (0, 1], got {keep_fraction}')
    if not np.isfinite(t).all():
        raise EncodingError('event times contain NaN/Inf')
    keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    if polarity is not None and polarities != 'both':
        pol = np.asarray(polarity)
        keep &= (pol > 0) if polarities == 'on' else (pol <= 0)
    t0, t1 = ((float(t[keep].min()), float(t[keep].max())) if keep.any() else (0.0, 1.0)
              ) if window is None else map(float, window)
    if keep_fraction < 1.0:                     # after the window: thinning does not move it
        keep &= kept_events(int(seed), x.size, float(keep_fraction))
    x, y, t = x[keep], y[keep], t[keep]
    if x.size == 0:
        return SpikeTrain(np.zeros(timesteps + 1, np.int32), np.zeros(0, np.int32), timesteps)
    span = t1 - t0
    if span <= 0:
        step = np.zeros(t.shape, np.int64)
    else:
        step = np.floor((t - t0) / span * timesteps).astype(np.int64)
        if window is None:
            step = np.minimum(step, timesteps - 1)     # the last event belongs to the last bin
    index = _input_index(x, y, (height, width), input_shape)
    step_ptr, indices = bin_events_csr(index, step, input_shape[0] * input_shape[1], timesteps)
    return SpikeTrain(step_ptr, indices, int(timesteps))


def events_time_sorted(t: np.ndarray, offsets: np.ndarray) -> bool:
    """True if the event times ascend within every sample (offsets[k]:offsets[k + 1]); events
    outside offsets[0]:offsets[-1] belong to no sample and are not looked at."""
    offsets = np.asarray(offsets)
    if offsets.size < 2:
        return True
    t = np.asarray(t)[offsets[0]:offsets[-1]]
    if t.size < 2:
        return True
    descending = np.flatnonzero(t[1:] < t[:-1]) + 1         # positions where time goes back
    return bool(np.isin(descending, offsets - offsets[0]).all())    # only at sample starts


@dataclass(frozen=True)
class EventSamples:
    """Event-camera samples: sample k is ``x, y, t, polarity[offsets[k]:offsets[k + 1]]`` on a
    ``sensor_shape`` sensor, each spanning the time ``window`` split into the timesteps."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    polarity: np.ndarray
    offsets: np.ndarray                 # (n + 1,)
    sensor_shape: tuple[int, int]
    window: tuple[float, float]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sample(self, k: int) -> tuple[np.ndarray, ...]:
        a, b = self.offsets[k], self.offsets[k + 1]
        return self.x[a:b], self.y[a:b], self.t[a:b], self.polarity[a:b]

    # Derived once per object: a sweep presents the same samples many times.

    @cached_property
    def time_sorted(self) -> bool:
        """Times ascend within every sample (as cameras send them): the kernel can then visit
        only the events inside a shortened window."""
        return events_time_sorted(self.t, self.offsets)

    def input_index(self, input_shape: tuple[int, int]) -> np.ndarray:
        """The input neuron of every event for ``input_shape`` (-1 off the sensor)."""
        cache = self.__dict__.setdefault('_input_index', {})
        key = tuple(int(v) for v in input_shape)
        if key not in cache:
            cache[key] = event_input_index(self.x, self.y, self.sensor_shape, key)
        return cache[key]
