# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Frame and event encoding: rates, dtypes, resizing, bad input, event binning."""

import subprocess
import sys

import numpy as np
import pytest

from topspark_ros.snn import (EncodingError, bin_events, image_to_rates, poisson_encode,
                              to_intensity)


def test_poisson_rates_match_configured_intensity_on_average():
    rates = np.linspace(0.0, 63.75, 784)
    T, dt = 2000, 1.0
    counts = np.zeros(784)
    for seed in range(5):
        train = poisson_encode(rates, T, dt, seed)
        counts += np.bincount(train.indices, minlength=784)
    measured = counts / (5 * T * dt / 1000.0)
    # Each input: mean of 5 x 2000 Bernoulli steps; compare in aggregate and per input.
    assert measured.sum() == pytest.approx(rates.sum(), rel=0.01)
    expected_sd = np.sqrt(rates * dt / 1000.0 / (5 * T)) * 1000.0 / dt + 1e-9
    assert np.all(np.abs(measured - rates) < 5 * expected_sd + 1e-6)
    assert counts[0] == 0


def test_poisson_spikes_are_binary_per_step_and_reproducible():
    rates = np.full(10, 900.0)                      # p = 0.9 per step: mostly dense draws
    a = poisson_encode(rates, 50, 1.0, seed=7)
    b = poisson_encode(rates, 50, 1.0, seed=7)
    np.testing.assert_array_equal(a.indices, b.indices)
    dense = a.to_dense(10)
    assert dense.sum() == a.n_spikes                # no input twice in one step
    assert 0.8 < dense.mean() < 0.97
    assert poisson_encode(rates, 50, 1.0, seed=8).n_spikes != a.n_spikes or not np.array_equal(
        poisson_encode(rates, 50, 1.0, seed=8).indices, a.indices)


def _binomial_by_plain_inversion(state, T, p):
    """The binomial draw as a plain loop over its CDF (the kernel counts a window of it
    without branching; the two must agree draw for draw)."""
    from topspark_ros.snn.kernels.rng import splitmix64
    q = 1.0 - p
    pk = q ** T
    if pk < 1e-280:                                 # pmf(0) underflows: Bernoulli steps
        k = 0
        for _ in range(T):
            state, u = splitmix64(np.uint64(state))
            k += u <= p
        return state, k
    state, u = splitmix64(state)
    cdf, ratio, k = pk, p / q, 0
    while u > cdf and k < T:
        pk *= ratio * (T - k) / (k + 1)
        k += 1
        cdf += pk
    return state, k


@pytest.mark.parametrize('T', [1, 3, 8, 9, 50, 350])
def test_binomial_counts_equal_the_plain_inversion_inside_and_beyond_the_window(T):
    from topspark_ros.snn.kernels.rng import binomial
    beyond = 0
    for p in (1e-4, 0.03, 0.064, 0.2, 0.5, 0.9):
        state = np.uint64(12345)
        for _ in range(200):
            ref_state, ref_k = _binomial_by_plain_inversion(state, T, p)
            state, k = binomial(state, T, p)
            assert (k, int(state)) == (ref_k, int(ref_state))
            state = np.uint64(state)
            beyond += k > 8
    assert beyond > 0 or T <= 8                     # the loop after the window ran too


def test_certain_and_zero_rates():
    train = poisson_encode(np.array([1000.0, 0.0]), 20, 1.0, seed=0)
    assert train.to_dense(2)[:, 0].all() and not train.to_dense(2)[:, 1].any()


@pytest.mark.parametrize('image, expected', [
    (np.full((28, 28), 255, np.uint8), 1.0),
    (np.full((28, 28), 65535, np.uint16), 1.0),
    (np.full((28, 28), 0.5, np.float32), 0.5),
    (np.ones((28, 28), bool), 1.0),
    (np.full((28, 28, 3), 255, np.uint8), 1.0),
    (np.full((28, 28, 4), 255, np.uint8), 1.0),
])
def test_image_dtypes_scale_to_unit_intensity(image, expected):
    assert to_intensity(image).mean() == pytest.approx(expected, rel=1e-5)


def test_any_size_is_resized_to_the_input_shape():
    img = np.zeros((480, 640), np.uint8)
    img[:, 320:] = 255
    rates = image_to_rates(img, (28, 28), 63.75).reshape(28, 28)
    assert rates.shape == (28, 28)
    assert rates[:, :14].max() == 0 and rates[:, 14:].min() == pytest.approx(63.75)


@pytest.mark.parametrize('bad, message', [
    (np.array([[np.nan, 0.5]], np.float32), 'NaN'),
    (np.zeros((0, 5), np.uint8), 'empty'),
    (np.zeros((4, 4, 2), np.uint8), 'H x W'),
    (np.zeros((4, 4), np.int64), 'unsupported'),
    (np.zeros((2, 3, 4, 5), np.uint8), 'H x W'),
])
def test_bad_images_raise_clear_errors(bad, message):
    with pytest.raises(EncodingError, match=message):
        image_to_rates(bad, (28, 28), 63.75)


def test_event_binning_maps_window_and_pixels():
    # A 56 x 56 sensor onto 28 x 28 inputs; a 10 ms window onto 5 timesteps.
    x = np.array([0, 1, 55, 10, 10])
    y = np.array([0, 0, 55, 20, 20])
    t = np.array([0.0, 0.001, 0.004, 0.0099, 0.0095])
    p = np.array([1, 0, 1, 1, -1])
    train = bin_events(x, y, t, p, (56, 56), (28, 28), 5, window=(0.0, 0.01))
    dense = train.to_dense(784)
    assert dense[0, 0]                               # (0,0) and (1,0) merge: one spike at step 0
    assert dense[0].sum() == 1
    assert dense[2, 27 * 28 + 27]                    # t = 4 ms -> step 2 of 5
    assert dense[4, 10 * 28 + 5]                     # two events in one pixel and bin -> 1 spike
    assert train.n_spikes == 3
    on = bin_events(x, y, t, p, (56, 56), (28, 28), 5, window=(0.0, 0.01), polarities='on')
    assert on.n_spikes == 3 and not on.to_dense(784)[0, 0] is False
    off = bin_events(x, y, t, p, (56, 56), (28, 28), 5, window=(0.0, 0.01), polarities='off')
    assert off.n_spikes == 2


def test_event_window_defaults_to_packet_span_and_drops_outside():
    t = np.array([5.0, 6.0, 7.0])
    train = bin_events(np.array([1, 2, 3]), np.zeros(3), t, None, (28, 28), (28, 28), 2)
    assert train.step_ptr.tolist() == [0, 1, 3]     # the last event belongs to the last bin
    outside = bin_events(np.array([1, 2, 99]), np.zeros(3), t, None, (28, 28), (28, 28), 2,
                         window=(5.0, 6.5))
    assert outside.n_spikes == 2


def test_empty_and_bad_event_packets():
    empty = bin_events(np.array([]), np.array([]), np.array([]), None, (10, 10), (28, 28), 4)
    assert empty.n_spikes == 0 and empty.step_ptr.shape == (5,)
    with pytest.raises(EncodingError, match='NaN'):
        bin_events(np.array([1]), np.array([1]), np.array([np.nan]), None, (10, 10), (28, 28), 4)
    with pytest.raises(EncodingError, match='one length'):
        bin_events(np.array([1, 2]), np.array([1]), np.array([0.0]), None, (10, 10), (28, 28), 4)


def test_regular_coding_counts_are_rate_times_steps():
    from topspark_ros.snn.kernels import regular_spike_train

    prob = np.array([0.06375, 0.5, 1.0, 0.0, 0.013])
    for seed in range(5):
        step_ptr, indices = regular_spike_train(prob, 350, seed)
        counts = np.bincount(indices, minlength=5)
        assert np.all(np.abs(counts - prob * 350) <= 1.0), counts
        dense = np.zeros((350, 5), int)
        for t in range(350):
            dense[t, indices[step_ptr[t]:step_ptr[t + 1]]] += 1
        assert dense.max() <= 1                       # at most one spike per input and step
    a = regular_spike_train(prob, 50, 9)[1]
    b = regular_spike_train(prob, 50, 9)[1]
    np.testing.assert_array_equal(a, b)


def test_regular_coding_of_a_vanishing_rate_ends_without_spikes():
    """A tiny positive probability (a float frame with denormal pixels) puts the first spike
    beyond any step; its step once overflowed int64 to a negative value and the encoder looped
    forever, so the call runs in a child process with a deadline."""
    code = ('import numpy as np\n'
            'from topspark_ros.snn.kernels import regular_spike_train\n'
            'prob = np.array([1e-25, 5e-324, 0.5])\n'
            'step_ptr, indices = regular_spike_train(prob, 50, 3)\n'
            'assert set(indices.tolist()) == {2}, indices\n')
    subprocess.run([sys.executable, '-c', code], check=True, timeout=120)


def test_event_csr_matches_a_plain_reference():
    """Random (index, step) pairs, unsorted, with repeats and out-of-range entries: per step,
    the valid inputs in order of first appearance."""
    from topspark_ros.snn.kernels import bin_events_csr

    rng = np.random.default_rng(5)
    for _ in range(20):
        n, T, n_in = int(rng.integers(0, 400)), int(rng.integers(1, 30)), 16
        index = rng.integers(-2, n_in + 2, n)
        step = rng.integers(-3, T + 3, n)
        step_ptr, indices = bin_events_csr(index, step, n_in, T)
        expected = []
        for t in range(T):
            row = []
            for i, s in zip(index, step):
                if s == t and 0 <= i < n_in and i not in row:
                    row.append(int(i))
            expected.append(row)
        assert [list(indices[step_ptr[t]:step_ptr[t + 1]]) for t in range(T)] == expected
        assert step_ptr[0] == 0 and step_ptr[-1] == indices.size
