# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Event-camera (DVS) emulator from frames: ESIM-style per-pixel log-intensity model.

No recorded event dataset is available here, so event input is emulated: a static MNIST digit is
moved along three small saccades (as N-MNIST was recorded by moving a DVS in front of digits) and
the resulting frames are turned into events. Results obtained with these events are results on
*emulated* events, not on a real sensor.

Per-pixel model (ESIM, Rebecq, Gehrig & Scaramuzza 2018), in log intensity L = log(I + eps):

- each pixel memorises a reference level L_ref, initialised from the first frame;
- between two frames L is interpolated linearly in time; whenever it reaches L_ref + C_on (or
  L_ref - C_off) an ON (OFF) event is emitted at the interpolated crossing time and L_ref moves
  by +C_on (-C_off), so a change of k thresholds gives k events;
- refractory period: after an event the pixel is blind for ``refractory_s``; at the end of that
  period its reference is reset to the current level (changes during the blind time are lost, as
  in a real pixel held in reset). With ``refractory_s = 0`` this is exactly ESIM;
- threshold mismatch: C_on and C_off of every pixel are drawn once from N(C, std) (seeded);
- shot noise: Poisson events of random polarity at ``noise_rate_hz`` per pixel, merged into the
  stream and thinned by the same refractory period (they do not reset the reference).

Intensity: uint8/uint16 frames are scaled by their dtype's maximum (255 -> 1.0); float frames are
read as linear intensity with 1.0 = white. ``log_eps`` is relative to that scale.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import cv2
from numba import njit
import numpy as np

from .snn.kernels import grow

_MIN_THRESHOLD = 0.01       # mismatched thresholds are clipped here: a zero threshold never stops


@dataclass(frozen=True)
class DvsConfig:
    """Sensor parameters; contrast thresholds are in log-intensity units (0.2 ~ 22 % change)."""

    contrast_threshold_pos: float = 0.2
    contrast_threshold_neg: float = 0.2
    threshold_mismatch_std: float = 0.0    # std of the per-pixel thresholds, log units
    refractory_s: float = 1e-4
    noise_rate_hz: float = 0.0             # shot-noise events per pixel per second
    log_eps: float = 0.1                   # keeps log(black) finite and tames dark-pixel noise
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            'contrast_threshold_pos': self.contrast_threshold_pos > 0,
            'contrast_threshold_neg': self.contrast_threshold_neg > 0,
            'threshold_mismatch_std': self.threshold_mismatch_std >= 0,
            'refractory_s': self.refractory_s >= 0,
            'noise_rate_hz': self.noise_rate_hz >= 0,
            'log_eps': self.log_eps > 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (ok and math.isfinite(value)):
                raise ValueError(f'DvsConfig.{name} = {value!r} is out of range')


@dataclass(frozen=True)
class Events:
    """An event stream sorted by time: pixel column x, row y, time t (s), polarity +1/-1."""

    x: np.ndarray           # uint16
    y: np.ndarray           # uint16
    t: np.ndarray           # float64 seconds
    polarity: np.ndarray    # int8, +1 ON (brighter), -1 OFF (darker)

    def __len__(self) -> int:
        return int(self.t.shape[0])


def emulate_events(frames: np.ndarray, times_s: np.ndarray, config: DvsConfig = DvsConfig()
                   ) -> Events:
    """Events a DVS would emit while watching ``frames`` (n, h, w) shown at ``times_s`` (n,).

    Events fall in (times_s[0], times_s[-1]]: the first frame only sets the references.
    """
    frames = np.asarray(frames)
    times_s = np.asarray(times_s, np.float64)
    if frames.ndim != 3:
        raise ValueError(f'frames must be a 3-D (n, height, width) array, got shape '
                         f'{frames.shape}')
    n, height, width = frames.shape
    if n == 0 or height == 0 or width == 0:
        raise ValueError(f'frames must not be empty, got shape {frames.shape}')
    if height > 65536 or width > 65536:
        raise ValueError(f'frames of {height} x {width} do not fit uint16 pixel addresses')
    if times_s.shape != (n,):
        raise ValueError(f'times_s must have shape ({n},) to match the frames, '
                         f'got {times_s.shape}')
    if not np.isfinite(times_s).all():
        raise ValueError('times_s contains NaN/Inf')
    if n > 1 and not (np.diff(times_s) > 0).all():
        bad = int(np.argmin(np.diff(times_s)))
        raise ValueError(f'times_s must be strictly increasing; times_s[{bad + 1}] = '
                         f'{times_s[bad + 1]} follows {times_s[bad]}')
    intensity = _linear_intensity(frames)
    log_frames = np.log(intensity.reshape(n, height * width) + config.log_eps)   # float64

    rng = np.random.default_rng(config.seed)
    thr_pos = _pixel_thresholds(config.contrast_threshold_pos, config, height * width, rng)
    thr_neg = _pixel_thresholds(config.contrast_threshold_neg, config, height * width, rng)
    pixel, t, polarity = _esim_kernel(log_frames, times_s, thr_pos, thr_neg,
                                      float(config.refractory_s))
    if config.noise_rate_hz > 0 and n > 1:
        pixel, t, polarity = _add_noise(pixel, t, polarity, times_s[0], times_s[-1],
                                        height * width, config, rng)
    order = np.argsort(t, kind='stable')
    pixel, t, polarity = pixel[order], t[order], polarity[order]
    return Events((pixel % width).astype(np.uint16), (pixel // width).astype(np.uint16), t,
                  polarity.astype(np.int8))


def saccade_frames(image: np.ndarray, n_frames: int, amplitude_px: float,
                   duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames of ``image`` moved along three straight saccades forming a triangle, like the
    camera motion that recorded N-MNIST, so that a static picture produces events.

    The triangle (down-right, left, up-right, ``amplitude_px`` high and wide) is centred on the
    image's own position; each saccade takes a third of ``duration_s`` at constant speed.
    Sub-pixel shifts use bilinear interpolation on float intensity (no 8-bit rounding); the
    border is replicated so no artificial edge enters the view. Returns float32 frames
    (n_frames, h, w) in the intensity scale of ``emulate_events`` and their times, from 0 to
    ``duration_s`` inclusive (the last frame is back at the start position).
    """
    img = np.asarray(image)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f'image must be a non-empty 2-D array, got shape {img.shape}')
    if n_frames < 2:
        raise ValueError(f'n_frames must be >= 2, got {n_frames}')
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f'duration_s must be positive, got {duration_s}')
    if not (amplitude_px >= 0 and math.isfinite(amplitude_px)):
        raise ValueError(f'amplitude_px must be >= 0, got {amplitude_px}')
    intensity = _linear_intensity(img).astype(np.float32)
    a = float(amplitude_px)
    corners = np.array([[0.0, 0.0], [a / 2, a], [-a / 2, a], [0.0, 0.0]])   # (dx, dy), y down
    corners -= corners[:3].mean(axis=0)
    times_s = np.linspace(0.0, duration_s, n_frames)
    phase = times_s / duration_s * 3.0                  # 0..3: which saccade, how far along
    leg = np.minimum(phase.astype(np.int64), 2)
    frac = (phase - leg)[:, None]
    shifts = corners[leg] + frac * (corners[leg + 1] - corners[leg])
    height, width = img.shape
    frames = np.empty((n_frames, height, width), np.float32)
    for k, (dx, dy) in enumerate(shifts):
        matrix = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
        frames[k] = cv2.warpAffine(intensity, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
    return frames, times_s


def digit_to_events(image: np.ndarray, config: DvsConfig = DvsConfig(), duration_s: float = 0.3,
                    n_frames: int = 61, amplitude_px: float = 2.0) -> Events:
    """Emulated N-MNIST-like recording of one digit: saccades plus the DVS model.

    With the defaults a 28 x 28 MNIST digit gives about 2,000 to 5,500 events (mean ~3,600).

    Events lie in [0, duration_s), the window ``bin_events`` splits into timesteps; one landing
    exactly on the final frame at ``duration_s`` belongs to the next window and is dropped.
    """
    frames, times_s = saccade_frames(image, n_frames, amplitude_px, duration_s)
    events = emulate_events(frames, times_s, config)
    keep = events.t < duration_s
    if keep.all():
        return events
    return Events(events.x[keep], events.y[keep], events.t[keep], events.polarity[keep])


def _linear_intensity(frames: np.ndarray) -> np.ndarray:
    """float64 linear intensity (1.0 = white); refuses values a logarithm cannot take."""
    dtype = frames.dtype
    if dtype == np.bool_:
        return frames.astype(np.float64)
    if dtype in (np.uint8, np.uint16):
        return frames.astype(np.float64) / float(np.iinfo(dtype).max)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f'unsupported frame dtype {dtype}; use uint8, uint16, bool or float '
                         f'(linear intensity, 1.0 = white)')
    out = frames.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f'frames contain {int((~np.isfinite(out)).sum())} NaN/Inf values')
    if (out < 0).any():
        raise ValueError(f'frames contain negative intensities (min {out.min()})')
    return out


def _pixel_thresholds(nominal: float, config: DvsConfig, n_pixels: int,
                      rng: np.random.Generator) -> np.ndarray:
    """One threshold per pixel: fixed-pattern mismatch is drawn once, as on a real chip."""
    if config.threshold_mismatch_std == 0:
        return np.full(n_pixels, nominal, np.float64)
    draws = rng.normal(nominal, config.threshold_mismatch_std, n_pixels)
    return np.maximum(draws, _MIN_THRESHOLD)


def _add_noise(pixel: np.ndarray, t: np.ndarray, polarity: np.ndarray, t0_s: float, t1_s: float,
               n_pixels: int, config: DvsConfig, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge Poisson shot noise into the stream, then enforce the refractory period again."""
    n_noise = int(rng.poisson(config.noise_rate_hz * (t1_s - t0_s) * n_pixels))
    noise_pixel = rng.integers(0, n_pixels, n_noise)
    noise_t = rng.uniform(t0_s, t1_s, n_noise)
    noise_pol = np.where(rng.random(n_noise) < 0.5, 1, -1).astype(np.int8)
    pixel = np.concatenate([pixel, noise_pixel])
    t = np.concatenate([t, noise_t])
    polarity = np.concatenate([polarity, noise_pol])
    order = np.argsort(t, kind='stable')
    pixel, t, polarity = pixel[order], t[order], polarity[order]
    keep = _refractory_keep(pixel, t, n_pixels, float(config.refractory_s))
    return pixel[keep], t[keep], polarity[keep]


@njit(cache=True)
def _refractory_keep(pixel, t, n_pixels, refractory_s):
    """Mask of time-sorted events that come at least ``refractory_s`` after the last kept event
    of their pixel."""
    last = np.full(n_pixels, -np.inf)
    keep = np.zeros(t.shape[0], np.bool_)
    for e in range(t.shape[0]):
        p = pixel[e]
        if t[e] - last[p] >= refractory_s:
            keep[e] = True
            last[p] = t[e]
    return keep


@njit(cache=True)
def _esim_kernel(log_frames, times_s, thr_pos, thr_neg, refractory_s):
    """Per-pixel threshold crossings of the piecewise-linear log intensity.

    log_frames (n, pixels) float64, times_s (n,), thr_pos/thr_neg (pixels,). Returns pixel
    index (int64), time (float64) and polarity (int8) arrays, pixel-major (not time-sorted).
    """
    n, n_pixels = log_frames.shape
    capacity = max(1024, 4 * n_pixels)
    out_pixel = np.empty(capacity, np.int64)
    out_t = np.empty(capacity, np.float64)
    out_pol = np.empty(capacity, np.int8)
    m = 0
    for p in range(n_pixels):
        c_pos = thr_pos[p]
        c_neg = thr_neg[p]
        ref = log_frames[0, p]
        t_ready = -np.inf           # end of the current refractory period
        reset_pending = False       # the reference must be reset when t_ready is reached
        for k in range(n - 1):
            t0 = times_s[k]
            t1 = times_s[k + 1]
            l0 = log_frames[k, p]
            l1 = log_frames[k + 1, p]
            slope = (l1 - l0) / (t1 - t0)
            ts = t0                 # start of the part of this interval still to scan
            if reset_pending:
                if t_ready >= t1:
                    continue        # blind for the whole interval
                ts = t_ready
                ref = l0 + slope * (ts - t0)
                reset_pending = False
            while True:
                if l1 >= ref + c_pos:
                    target = ref + c_pos
                    pol = 1
                elif l1 <= ref - c_neg:
                    target = ref - c_neg
                    pol = -1
                else:
                    break
                te = t0 + (target - l0) / slope
                te = min(max(te, ts), t1)       # guard against rounding at the ends
                if m == capacity:
                    capacity *= 2
                    out_pixel = grow(out_pixel, capacity)
                    out_t = grow(out_t, capacity)
                    out_pol = grow(out_pol, capacity)
                out_pixel[m] = p
                out_t[m] = te
                out_pol[m] = pol
                m += 1
                if refractory_s > 0.0:
                    t_ready = te + refractory_s
                    if t_ready >= t1:
                        reset_pending = True
                        break
                    ts = t_ready
                    ref = l0 + slope * (ts - t0)
                else:
                    ts = te
                    ref = target
    return out_pixel[:m].copy(), out_t[:m].copy(), out_pol[:m].copy()
