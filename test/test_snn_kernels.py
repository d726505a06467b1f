# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Neuron dynamics, inhibition and operation counts of the kernel, against closed forms."""

import ast
import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest

from conftest import spike_train, tiny_config
from topspark_ros.snn import (ExcitatoryParams, InhibitionParams, LearningParams, Network,
                              NetworkConfig, OpCounts)


def _network(weights, config):
    return Network(config, weights=np.array(weights, np.float32).reshape(config.n_inputs, -1))


@pytest.mark.parametrize('tau_mem_ms', [20.0, 100.0])
def test_lif_decay_matches_closed_form(tau_mem_ms):
    # Two spikes of weight w, k steps apart: v = v_rest + w * exp(-k / tau) + w after the second,
    # so the neuron fires exactly when w * (1 + exp(-k / tau)) >= v_thresh - v_rest.
    ex = ExcitatoryParams(tau_mem_ms=tau_mem_ms, theta_plus_mv=0.0)
    cfg = tiny_config(n_inputs=1, excitatory=ex)
    gap = ex.v_thresh_mv - ex.v_rest_mv
    w = 0.6 * gap
    k_max = math.floor(-tau_mem_ms * math.log(gap / w - 1.0))   # last gap that still fires
    assert k_max >= 2
    for k, fires in ((k_max, True), (k_max + 1, False)):
        net = _network([w], cfg)
        # Weights in mV here: scale the unit weight so w is the potential jump.
        result = net.run(spike_train({0: [0, k]}, k + 2))
        assert result.counts[0] == int(fires), (k, k_max)


def test_refractory_period_blocks_input():
    ex = ExcitatoryParams(refractory_ms=5.0, theta_plus_mv=0.0)
    cfg = tiny_config(n_inputs=1, excitatory=ex)
    net = _network([100.0], cfg)                       # every input spike alone fires the neuron
    T = 40
    result = net.run(spike_train({0: list(range(T))}, T))
    assert result.counts[0] == math.ceil(T / 6)        # a spike, then 5 blocked steps


def test_threshold_adapts_while_learning_and_freezes_at_inference():
    ex = ExcitatoryParams(theta_plus_mv=0.5, tau_theta_ms=1e7)
    frozen = LearningParams(nu_pre=0.0, nu_post=0.0, w_max=1000.0, norm_total=0.0)
    cfg = tiny_config(n_inputs=1, excitatory=ex, learning=frozen)
    net = _network([100.0], cfg)
    train = spike_train({0: list(range(0, 30, 6))}, 30)
    counts = net.run(train, learn=True).counts[0]
    assert counts == 5
    expected = 5 * 0.5 * math.exp(-30 / 1e7)
    assert net.theta[0] == pytest.approx(expected, rel=1e-5)
    before = net.theta.copy()
    net.run(train, learn=False)
    np.testing.assert_array_equal(net.theta, before)


def test_adaptive_threshold_raises_the_firing_bar():
    ex = ExcitatoryParams(theta_plus_mv=20.0)
    frozen = LearningParams(nu_pre=0.0, nu_post=0.0, w_max=1000.0, norm_total=0.0)
    cfg = tiny_config(n_inputs=1, excitatory=ex, learning=frozen)
    net = _network([14.0], cfg)                         # 14 mV > 13 mV gap, fires once
    train = spike_train({0: [0]}, 3)
    assert net.run(train, learn=True).counts[0] == 1
    assert net.run(train, learn=True).counts[0] == 0   # threshold now 20 mV higher


def test_inhibitory_layer_inhibits_others_two_steps_later():
    # Neuron 0 fires at step 0; its inhibitory partner fires at 1; from step 2 on neuron 1 is
    # pushed 50 mV down, so input that alone would fire it no longer does.
    inh = InhibitionParams(variant='layer', inh_to_exc_mv=50.0)
    cfg = tiny_config(n_inputs=2, n_neurons=2, inhibition=inh)
    weights = [[20.0, 0.0], [0.0, 20.0]]
    for t1, fires in ((0, True), (1, True), (2, False), (3, False)):
        net = _network(weights, cfg)
        res = net.run(spike_train({0: [0], 1: [t1]}, 6))
        assert res.counts.tolist() == [1, int(fires)], t1
        assert res.ops.inh_spikes == 1 + int(fires)


def test_direct_inhibition_with_two_step_delay_equals_inhibitory_layer(mnist):
    images = mnist.train_images[:60]
    results = []
    for variant in ('layer', 'direct'):
        cfg = NetworkConfig(n_neurons=50, seed=3,
                            inhibition=InhibitionParams(variant=variant, inh_to_exc_mv=120.0,
                                                        direct_mv=120.0, direct_delay_ms=2.0))
        net = Network(cfg)
        counts, _ = net.run_batch(images, 100, learn=True)
        results.append((counts, net.weights.copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize('inhibition', [
    InhibitionParams(),                     # an excitatory spike fires its inhibitory neuron
    InhibitionParams(exc_to_inh_mv=19.0),   # or leaves it 1 mV short: what it held counts
    InhibitionParams(variant='direct')], ids=['layer', 'layer-just-below-threshold', 'direct'])
def test_a_batch_sharing_its_working_arrays_equals_one_sample_at_a_time(mnist, inhibition):
    """run_batch reuses simulate's working arrays across samples (each sample must leave them
    at rest); one sample per call makes them fresh."""
    images = mnist.train_images[:40]
    cfg = NetworkConfig(n_neurons=30, seed=5, inhibition=inhibition,
                        learning=LearningParams(rule='weight_dependent'))
    results = []
    for batch in (True, False):
        net = Network(cfg)
        counts = []
        for learn in (True, False):
            if batch:
                counts.append(net.run_batch(images, 60, learn=learn)[0])
            else:
                counts.append(np.stack([net.run_image(image, 60, learn=learn).counts
                                        for image in images]))
        results.append((*counts, net.weights.copy(), net.theta.copy()))
    assert results[0][0].sum() > 0
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_operation_counts():
    inh = InhibitionParams(variant='direct', direct_mv=1.0, direct_delay_ms=2.0)
    cfg = tiny_config(n_inputs=2, n_neurons=3, inhibition=inh)
    net = _network([[20.0, 0.0, 0.0], [0.0, 0.0, 0.0]], cfg)
    res = net.run(spike_train({0: [0, 10], 1: [1, 2, 3]}, 12))
    ops = res.ops
    assert ops.input_spikes == 5
    assert ops.exc_spikes == 2
    assert ops.synaptic_events == 5 * 3 + 2 * (3 - 1)
    assert ops.neuron_updates == 3 * 12
    assert ops.weight_updates == 0
    assert ops.timesteps == 12


def test_operation_names_have_one_source():
    """OpCounts' fields, the energy model's columns and the kernels' column indices all follow
    ``snn.ops.OP_NAMES``."""
    from dataclasses import fields

    from topspark_ros import energy
    from topspark_ros.snn import ops

    assert tuple(f.name for f in fields(OpCounts)) == ops.OP_NAMES
    assert energy.OP_FIELDS is ops.OP_NAMES
    assert [getattr(ops, 'OP_' + name.upper()) for name in ops.OP_NAMES] == list(range(ops.N_OPS))


def test_same_seed_same_result(mnist):
    images = mnist.train_images[:30]
    runs = []
    for _ in range(2):
        net = Network(NetworkConfig(n_neurons=40, seed=11))
        counts, ops = net.run_batch(images, 50, learn=True)
        runs.append((counts, ops, net.weights.copy(), net.theta.copy()))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    other = Network(NetworkConfig(n_neurons=40, seed=12))
    counts, _ = other.run_batch(images, 50, learn=True)
    assert not np.array_equal(counts, runs[0][0])


def test_timesteps_can_change_between_samples(mnist):
    net = Network(NetworkConfig(n_neurons=30))
    for T in (350, 20, 1, 75):
        res = net.run_image(mnist.test_images[0], timesteps=T)
        assert res.ops.timesteps == T
        assert res.ops.neuron_updates == 2 * 30 * T       # excitatory and inhibitory layers


@pytest.mark.parametrize('seed', range(5))
def test_time_sorted_event_binning_equals_the_counting_sort(seed):
    """The one-pass binning of time-ordered events gives the counting sort's CSR exactly:
    repeats within a step merged (first kept), inputs off the sensor (-1) and events outside
    the window dropped, empty steps in between."""
    from topspark_ros.snn import kernels as K

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    t = np.sort(rng.uniform(-0.05, 0.35, n))
    index = rng.integers(-1, 30, n)
    t0, span, T = 0.0, 0.3, int(rng.integers(1, 60))
    step = np.floor((t - t0) / span * T).astype(np.int64)
    want_ptr, want_idx = K.bin_events_csr(index, step, 30, T)
    a = int(np.searchsorted(t, t0))
    e = int(np.searchsorted(step, T))
    got_ptr, got_idx, bad = K.sorted_events_csr(index, t, a, e, t0, span, 30, T, 1.0,
                                                np.uint64(0))
    assert bad == -1
    np.testing.assert_array_equal(got_ptr, want_ptr)
    np.testing.assert_array_equal(got_idx, want_idx)


@pytest.mark.parametrize('keep', [0.003, 0.1, 0.214285714, 0.5, 0.618, 0.9, 0.999])
def test_thinned_binning_jumping_between_kept_events_equals_the_event_by_event_rule(keep):
    """The binning that jumps from one kept event to the next keeps exactly the events whose
    own thinning state is below the keep fraction (``kept_events``), for windows that start
    anywhere in the sample."""
    from topspark_ros.snn import kernels as K

    rng = np.random.default_rng(int(keep * 1000))
    for trial in range(40):
        n = int(rng.integers(0, 3000))
        t = np.sort(rng.uniform(-0.05, 0.35, n))
        index = rng.integers(-1, 30, n)
        t0, span, T = 0.0, 0.3, int(rng.integers(1, 80))
        seed = int(rng.integers(0, 2**62))
        kept = K.kept_events(seed, n, keep)
        step = np.floor((t - t0) / span * T).astype(np.int64)
        want_ptr, want_idx = K.bin_events_csr(np.where(kept, index, -1), step, 30, T)
        a = int(np.searchsorted(t, t0))
        e = int(np.searchsorted(step, T))
        got_ptr, got_idx, bad = K.sorted_events_csr(index, t, a, e, t0, span, 30, T, keep,
                                                    np.uint64(K.thinning_phase(seed, a)))
        assert bad == -1
        np.testing.assert_array_equal(got_ptr, want_ptr)
        np.testing.assert_array_equal(got_idx, want_idx)


@pytest.mark.parametrize('n_cols', [0, 1, 4, 7, 9])
def test_columns_normalised_four_at_a_time_equal_one_at_a_time(n_cols):
    from topspark_ros.snn import kernels as K

    rng = np.random.default_rng(n_cols)
    w = rng.random((50, 12)).astype(np.float32)
    w[:, 3] = 0.0                                   # an all-zero column stays as it is
    cols = rng.permutation(12)[:n_cols].astype(np.int32)
    before = w.copy()
    one = w.copy()
    for j in cols:
        K.normalize_column(one, j, 7.8)
    padded = np.append(cols, [5, 6]).astype(np.int32)       # only the first n_cols count
    assert K.normalize_columns(w, padded, n_cols, 7.8) == 50 * n_cols
    np.testing.assert_array_equal(w, one)
    untouched = np.setdiff1d(np.arange(12), cols)
    np.testing.assert_array_equal(w[:, untouched], before[:, untouched])
    if n_cols:
        assert not np.array_equal(w, before)


def _row_views(source, name):
    """Subscripts ``name[...]`` in the code of ``source`` (not its docstrings or comments) with
    one index, which on a 2-D array are row views."""
    return [ast.unparse(node) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == name and not isinstance(node.slice, ast.Tuple)]


def test_kernels_read_weights_by_index_not_through_row_views():
    """Numba reference-counts every array view with atomic operations; in the kernels' inner
    loops those counts cost more than the arithmetic (integration ran 2-3x slower through
    ``w[i]`` row views), so the weight matrix is read as ``w[i, j]`` only. A timing test would
    be noise on a shared machine; this checks the kernels' code for row views of w instead."""
    from topspark_ros.snn import kernels

    assert _row_views('a = w[idx[k]] + w[i, j] + ww[3]  # w[i]', 'w') == ['w[idx[k]]']
    modules = [importlib.import_module(f'{kernels.__name__}.{m.name}')
               for m in pkgutil.iter_modules(kernels.__path__)]
    assert 'dynamics' in {m.__name__.rsplit('.', 1)[1] for m in modules}
    for module in modules:
        assert _row_views(inspect.getsource(module), 'w') == [], module.__name__


def _at_offset(a, offset):
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = -buf.ctypes.data % 64 + offset
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def test_weights_stay_on_a_cache_line_through_copies_and_checkpoints(mnist, tmp_path):
    # Row loads split across 32-byte boundaries made a run 10-20 % slower by chance.
    import copy
    import pickle

    from topspark_ros.snn import load_checkpoint, save_checkpoint

    def aligned(net):
        return net.weights.ctypes.data % 64 == 0 and net.weights.flags.c_contiguous

    cfg = NetworkConfig(n_neurons=40, seed=3)
    reference = Network(cfg)
    misplaced = _at_offset(reference.weights, 16)
    assert misplaced.ctypes.data % 64 == 16
    net = Network(cfg, weights=misplaced)
    assert aligned(reference) and aligned(net)
    np.testing.assert_array_equal(net.weights, reference.weights)
    net.weights = _at_offset(reference.weights, 48)
    assert aligned(net)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net)),
                  load_checkpoint(save_checkpoint(tmp_path / 'm.npz', net, None))[0]):
        assert aligned(other)
        np.testing.assert_array_equal(other.weights, reference.weights)
    net.run_batch(mnist.train_images[:5], 30, learn=True)       # learning writes in place
    reference.run_batch(mnist.train_images[:5], 30, learn=True)
    assert aligned(net)
    np.testing.assert_array_equal(net.weights, reference.weights)
