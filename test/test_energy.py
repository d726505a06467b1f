# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Energy model: hand-computed joules per preset, learning, dense vs event scaling, RAPL."""

import dataclasses
import os

import numpy as np
import pytest

from topspark_ros import energy as E
from topspark_ros.snn import Network, NetworkConfig, OpCounts

N_IN, N = 784, 400
# One N400 training sample at T=350 with the inhibitory layer, close to what the core reports:
# synaptic events = input spikes x N + exc spikes x 1 (exc->inh) + inh spikes x (N - 1).
OPS = OpCounts(input_spikes=2300, exc_spikes=35, inh_spikes=30,
               synaptic_events=2300 * 400 + 35 + 30 * 399,        # = 932,005
               neuron_updates=2 * 400 * 350,                      # = 280,000, both layers
               weight_updates=50_000, timesteps=350)

# Joules computed by hand from OPS (pJ figures from the cited sources; see docs/energy.md):
# (synaptic_j, neuron_j, learning_j)
EXPECTED = {
    # 932,005 x 23.6 pJ; 140,000 x 81 pJ (exc, active) + 140,000 x 52 pJ (inh, inactive);
    # 50,000 x 120 pJ
    'loihi': (21_995_318e-12, 18_620_000e-12, 6_000_000e-12),
    # 932,005 x 0.9 pJ; 280,000 x 4.6 pJ; 50,000 x (10 + 3.7 + 0.9 + 10) pJ
    'cmos45': (838_804.5e-12, 1_288_000e-12, 1_230_000e-12),
    # 932,005 x 450 pJ; 280,000 x 2.19 nJ; 50,000 x 450 pJ
    'spinnaker2': (419_402_250e-12, 613_200e-9, 22_500_000e-12),
    # 350 x (784 x 400 + 2 x 400 x 400) = 221,760,000 MACs x 4.6 pJ; 280,000 x 4.6 pJ;
    # (2 x 350 + 1) x 784 x 400 = 219,833,600 STDP MACs x 4.6 pJ
    'dense_gpu_like': (1_020_096_000e-12, 1_288_000e-12, 1_011_234_560e-12),
}


def _ops(**changes) -> OpCounts:
    return dataclasses.replace(OPS, **changes)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_hand_computed_joules(name):
    syn, neu, learn = EXPECTED[name]
    infer = E.energy_per_sample(OPS, name, learning=False, n_inputs=N_IN, n_neurons=N)
    train = E.energy_per_sample(OPS, name, learning=True, n_inputs=N_IN, n_neurons=N)
    assert infer.synaptic_j == pytest.approx(syn, rel=1e-12)
    assert infer.neuron_j == pytest.approx(neu, rel=1e-12)
    assert infer.learning_j == 0.0
    assert infer.static_j == 0.0
    assert infer.total_j == pytest.approx(syn + neu, rel=1e-12)
    assert train.learning_j == pytest.approx(learn, rel=1e-12)
    assert train.total_j == pytest.approx(syn + neu + learn, rel=1e-12)


def test_truenorth_is_all_in_and_cannot_learn():
    e = E.energy_per_sample(OPS, 'truenorth', learning=False, n_inputs=N_IN, n_neurons=N)
    assert e.synaptic_j == pytest.approx(24_232_130e-12, rel=1e-12)     # 932,005 x 26 pJ
    assert e.neuron_j == 0.0
    assert e.total_j == e.synaptic_j
    assert not E.PLATFORMS['truenorth'].supports_learning
    with pytest.raises(ValueError, match='no on-chip learning'):
        E.energy_per_sample(OPS, 'truenorth', learning=True, n_inputs=N_IN, n_neurons=N)


@pytest.mark.parametrize('name', ['loihi', 'cmos45', 'spinnaker2', 'dense_gpu_like'])
def test_learning_adds_only_weight_update_energy(name):
    infer = E.energy_per_sample(OPS, name, learning=False, n_inputs=N_IN, n_neurons=N)
    train = E.energy_per_sample(OPS, name, learning=True, n_inputs=N_IN, n_neurons=N)
    assert train.synaptic_j == infer.synaptic_j
    assert train.neuron_j == infer.neuron_j
    assert infer.learning_j == 0.0
    assert train.learning_j > 0.0
    assert train.total_j - infer.total_j == pytest.approx(train.learning_j, rel=1e-12)


@pytest.mark.parametrize('name', ['loihi', 'cmos45', 'spinnaker2'])
def test_event_learning_energy_follows_the_counted_weight_updates(name):
    kw = dict(learning=True, n_inputs=N_IN, n_neurons=N)
    none = E.energy_per_sample(_ops(weight_updates=0), name, **kw)
    double = E.energy_per_sample(_ops(weight_updates=100_000), name, **kw)
    single = E.energy_per_sample(OPS, name, **kw)
    assert none.learning_j == 0.0
    assert double.learning_j == pytest.approx(2 * single.learning_j, rel=1e-12)


def test_dense_energy_follows_timesteps_not_spikes():
    kw = dict(learning=False, n_inputs=N_IN, n_neurons=N)
    long_t = _ops(timesteps=700, neuron_updates=2 * N * 700)        # same spikes, double T
    more_spikes = _ops(input_spikes=4600, synaptic_events=2 * OPS.synaptic_events)

    base = E.energy_per_sample(OPS, 'dense_gpu_like', **kw)
    assert E.energy_per_sample(long_t, 'dense_gpu_like', **kw).total_j == pytest.approx(
        2 * base.total_j, rel=1e-12)
    assert E.energy_per_sample(more_spikes, 'dense_gpu_like', **kw).total_j == base.total_j

    ev = E.energy_per_sample(OPS, 'loihi', **kw)
    ev_long = E.energy_per_sample(long_t, 'loihi', **kw)
    ev_more = E.energy_per_sample(more_spikes, 'loihi', **kw)
    assert ev_long.synaptic_j == ev.synaptic_j              # events follow spikes only
    assert ev_more.synaptic_j == pytest.approx(2 * ev.synaptic_j, rel=1e-12)
    assert ev_long.total_j < 2 * ev.total_j                 # only neuron updates follow T


def test_dense_op_counts():
    assert E.dense_macs(784, 400, 350, inhibition_layer=True) == 350 * (784 * 400 + 2 * 400**2)
    assert E.dense_macs(784, 400, 350, inhibition_layer=False) == 350 * (784 * 400 + 400**2)
    assert E.dense_macs(784, 400, 700, True) == 2 * E.dense_macs(784, 400, 350, True)
    assert E.dense_weight_updates(784, 400, 350) == 701 * 784 * 400
    with pytest.raises(ValueError, match='timesteps'):
        E.dense_macs(784, 400, 0, True)
    # The platform model charges exactly these counts.
    e = E.energy_per_sample(OPS, 'dense_gpu_like', True, N_IN, N)
    mac_j = E.PLATFORMS['dense_gpu_like'].synaptic_event_j
    assert e.synaptic_j == pytest.approx(E.dense_macs(N_IN, N, 350, True) * mac_j, rel=1e-12)
    assert e.learning_j == pytest.approx(E.dense_weight_updates(N_IN, N, 350) * mac_j, rel=1e-12)


def test_inhibition_variant_is_inferred_or_given():
    direct = _ops(inh_spikes=0, synaptic_events=2300 * 400 + 35 * 399, neuron_updates=N * 350)
    e = E.energy_per_sample(direct, 'loihi', False, N_IN, N)
    assert e.neuron_j == pytest.approx(140_000 * 81e-12, rel=1e-12)   # no inactive layer
    d = E.energy_per_sample(direct, 'dense_gpu_like', False, N_IN, N)
    assert d.synaptic_j == pytest.approx(350 * (784 * 400 + 400**2) * 4.6e-12, rel=1e-12)
    with pytest.raises(ValueError, match='inhibition'):
        E.energy_per_sample(_ops(neuron_updates=123), 'loihi', False, N_IN, N)
    forced = E.energy_per_sample(_ops(neuron_updates=123), 'cmos45', False, N_IN, N,
                                 inhibition_layer=True)
    assert forced.neuron_j == pytest.approx(123 * 4.6e-12, rel=1e-12)


def test_unknown_platform_lists_known_names():
    with pytest.raises(ValueError, match='unknown energy platform') as err:
        E.energy_per_sample(OPS, 'loihi3', False, N_IN, N)
    for name in E.PLATFORMS:
        assert name in str(err.value)


@pytest.mark.parametrize('field', E.OP_FIELDS)
def test_negative_counts_are_rejected(field):
    with pytest.raises(ValueError, match='>= 0|>= 1'):
        E.energy_per_sample(_ops(**{field: -1}), 'cmos45', False, N_IN, N)


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match='lack'):
        E.energy_per_sample({'synaptic_events': 10}, 'cmos45', False, N_IN, N)
    with pytest.raises(ValueError, match='n_neurons'):
        E.energy_per_sample(OPS, 'cmos45', False, N_IN, 0)
    with pytest.raises(ValueError, match='shape'):
        E.energy_batch(np.zeros((2, 3)), 'cmos45', False, N_IN, N)
    with pytest.raises(ValueError, match='whole'):
        E.energy_per_sample({**OPS.as_dict(), 'weight_updates': 1.5}, 'cmos45', True, N_IN, N)


@pytest.mark.parametrize('field', E.OP_FIELDS)
@pytest.mark.parametrize('count', [2 ** 63, 10 ** 400, 1e19, 1e300])
def test_counts_beyond_int64_are_a_value_error_not_an_overflow(field, count):
    """9223372036854775808 synaptic events in one activity message raised OverflowError
    here, which no node caught: the whole topspark-bringup process exited."""
    with pytest.raises(ValueError, match='must not exceed 9223372036854775807'):
        E.energy_per_sample(_ops(**{field: count}), 'loihi', False, N_IN, N, True)
    with pytest.raises(ValueError, match='must not exceed'):
        E.energy_per_sample({**OPS.as_dict(), field: count}, 'loihi', False, N_IN, N, True)


def test_huge_sizes_and_mean_counts_are_a_value_error_not_an_overflow():
    with pytest.raises(ValueError, match='n_neurons must be a positive integer up to'):
        E.energy_per_sample(OPS, 'loihi', False, N_IN, 2 ** 64)
    with pytest.raises(ValueError, match='n_inputs'):
        E.dense_macs(10 ** 400, N, 10, True)
    row = np.array([[float(v) for v in OPS.as_dict().values()]])
    row[0, 0] = 1e19
    with pytest.raises(ValueError, match='must not exceed'):
        E.energy_batch(row, 'loihi', False, N_IN, N, True)
    with pytest.raises(ValueError, match='finite and >= 0'):
        E.mean_energy({**OPS.as_dict(), 'synaptic_events': 10 ** 400}, 'loihi', False,
                      N_IN, N, True)
    # the largest count still works, in float joules
    top = E.energy_per_sample(_ops(synaptic_events=2 ** 63 - 1), 'loihi', False, N_IN, N, True)
    assert top.synaptic_j == pytest.approx((2 ** 63 - 1) * 23.6e-12)


def test_dict_and_array_inputs_match_opcounts():
    ref = E.energy_per_sample(OPS, 'loihi', True, N_IN, N)
    as_dict = E.energy_per_sample({**OPS.as_dict(), 'compute_s': 0.1}, 'loihi', True, N_IN, N)
    as_array = E.energy_per_sample(np.array(list(OPS.as_dict().values())), 'loihi', True,
                                   N_IN, N)
    assert as_dict == ref
    assert as_array == ref


def test_batch_matches_per_sample_on_real_core_counts():
    net = Network(NetworkConfig(n_neurons=10, seed=3))
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    _, ops = net.run_batch(images, timesteps=30, learn=True)
    batch = E.energy_batch(ops, 'loihi', True, 784, 10)
    assert batch.total_j.shape == (3,)
    for k, row in enumerate(ops):
        one = E.energy_per_sample(OpCounts.from_array(row), 'loihi', True, 784, 10)
        assert batch.total_j[k] == pytest.approx(one.total_j, rel=1e-12)
        assert one.synaptic_j == pytest.approx(row[3] * 23.6e-12, rel=1e-12)
        assert one.learning_j == pytest.approx(row[5] * 120e-12, rel=1e-12)


def test_mean_counts_and_the_same_spikes_without_the_inhibitory_layer(mnist):
    """A profile keeps mean counts: their energy is the batch's mean. Without the layer (direct
    inhibition, the layer's two-step delay) the spikes are the same and so are the counts
    ``without_inhibitory_layer`` derives from the layer's."""
    from topspark_ros.snn import InhibitionParams

    runs = {}
    for variant in ('layer', 'direct'):
        cfg = NetworkConfig(n_neurons=20, seed=4, inhibition=InhibitionParams(
            variant=variant, direct_mv=120.0, direct_delay_ms=2.0))
        _, runs[variant] = Network(cfg).run_batch(mnist.train_images[:20], 60, learn=True)
    mean = dict(zip(E.OP_FIELDS, runs['layer'].mean(0)))
    assert mean['inh_spikes'] > 0
    for name in ('loihi', 'cmos45', 'dense_gpu_like'):
        for learning in (False, True):
            batch = E.energy_batch(runs['layer'], name, learning, 784, 20).total_j.mean()
            assert E.mean_energy(mean, name, learning, 784, 20, True) == pytest.approx(batch)
    direct = dict(zip(E.OP_FIELDS, runs['direct'].mean(0)))
    assert E.without_inhibitory_layer(mean, 20) == pytest.approx(direct)
    loihi = [E.mean_energy(m, 'loihi', True, 784, 20, layer)
             for m, layer in ((mean, True), (direct, False))]
    assert loihi[1] < loihi[0]                       # the layer's idle updates are gone
    static = E.Platform(name='test', description='', synaptic_event_j=1e-12,
                        neuron_update_j=0.0, weight_update_j=0.0, source='made up',
                        static_power_w=2.0)
    with pytest.raises(ValueError, match='static power'):
        E.mean_energy(mean, static, False, 784, 20, True)


def test_static_power_needs_a_duration():
    plat = E.Platform(name='test', description='', synaptic_event_j=1e-12, neuron_update_j=0.0,
                      weight_update_j=0.0, source='made up for this test', static_power_w=2.0)
    e = E.energy_per_sample(OPS, plat, False, N_IN, N, duration_s=0.5)
    assert e.static_j == 1.0
    assert e.total_j == pytest.approx(1.0 + OPS.synaptic_events * 1e-12, rel=1e-12)
    with pytest.raises(ValueError, match='duration_s'):
        E.energy_per_sample(OPS, plat, False, N_IN, N)


def test_platform_validation_and_sources():
    with pytest.raises(ValueError, match='mode'):
        E.Platform('x', '', 1.0, 1.0, 1.0, 'src', mode='sparse')
    with pytest.raises(ValueError, match='synaptic_event_j'):
        E.Platform('x', '', -1.0, 1.0, 1.0, 'src')
    with pytest.raises(ValueError, match='source'):
        E.Platform('x', '', 1.0, 1.0, 1.0, ' ')
    for name, plat in E.PLATFORMS.items():
        assert plat.name == name
        for coefficient in ('synaptic_event_j', 'neuron_update_j', 'weight_update_j'):
            assert coefficient in plat.source, (name, coefficient)
    assert 'pre-silicon' in E.PLATFORMS['loihi'].source
    assert E.PLATFORMS['dense_gpu_like'].mode == 'dense'


def test_cpu_energy_is_seconds_times_watts():
    assert E.cpu_energy(2.5, 10.0) == 25.0
    with pytest.raises(ValueError, match='power_w'):
        E.cpu_energy(1.0, -5.0)
    with pytest.raises(ValueError, match='seconds_s'):
        E.cpu_energy(float('nan'), 5.0)


def _zone(root, name, label, energy_uj, max_uj=5_000_000):
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    for fname, text in (('name', label), ('energy_uj', energy_uj),
                        ('max_energy_range_uj', max_uj)):
        with open(os.path.join(path, fname), 'w') as f:
            f.write(f'{text}\n')


def test_rapl_fake_powercap_with_wrap_around(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'intel-rapl'))              # control type dir, no counter
    _zone(root, 'intel-rapl:0', 'package-0', 4_000_000)
    _zone(root, 'intel-rapl:0:0', 'core', 3_000_000)            # subzone: must not be added
    _zone(root, 'intel-rapl:1', 'package-1', 1_000_000)
    _zone(root, 'intel-rapl-mmio:0', 'package-0', 9_999)        # mmio duplicate: ignored

    snap = E.read_rapl(root)
    assert snap.available and snap.reason == 'ok'
    assert [z.name for z in snap.zones] == ['package-0', 'package-1']
    assert E.read_rapl_energy_j(root) == pytest.approx(5.0)

    ticks = iter([10.0, 12.0])
    with E.RaplMeter(root, clock=lambda: next(ticks)) as meter:
        _zone(root, 'intel-rapl:0', 'package-0', 500_000)       # wrapped at 5,000,000 uJ
        _zone(root, 'intel-rapl:1', 'package-1', 3_000_000)
    assert meter.available
    # package-0: 500,000 + 5,000,000 - 4,000,000 = 1.5 J; package-1: 2.0 J
    assert meter.energy_j == pytest.approx(3.5)
    assert meter.elapsed_s == 2.0
    assert meter.power_w == pytest.approx(1.75)


def test_rapl_unavailable_degrades_with_a_reason(tmp_path):
    missing = str(tmp_path / 'absent')
    assert E.read_rapl_energy_j(missing) is None
    with E.RaplMeter(missing) as meter:
        pass
    assert not meter.available
    assert 'does not exist' in meter.reason
    assert meter.energy_j is None and meter.power_w is None
    assert meter.elapsed_s >= 0.0

    empty = tmp_path / 'empty'
    empty.mkdir()
    assert 'no intel-rapl' in E.read_rapl(str(empty)).reason

    _zone(str(tmp_path), 'intel-rapl:0', 'package-0', 'garbage')
    snap = E.read_rapl(str(tmp_path))
    assert not snap.available and 'cannot read' in snap.reason
    assert snap.energy_j is None

    # A counter that becomes unreadable during the block: unavailable, no exception.
    good = tmp_path / 'good'
    _zone(str(good), 'intel-rapl:0', 'package-0', 1_000)
    with E.RaplMeter(str(good)) as meter:
        _zone(str(good), 'intel-rapl:0', 'package-0', 'n/a')
    assert not meter.available and meter.energy_j is None
    with pytest.raises(ValueError, match='unavailable'):
        E.rapl_delta_j(E.read_rapl(missing), E.read_rapl(missing))


def test_rapl_on_this_machine_never_raises():
    snap = E.read_rapl()
    assert snap.available or snap.reason
