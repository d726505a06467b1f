# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The spiking deep network: LIF dynamics against the rate curve, layers against their rate
(ANN) counterparts, input codings, operation counts, checkpoints, and the model interface."""

import json

import numpy as np
import pytest

from topspark_ros.deep.checkpoint import (checkpoint_kind, load_deep_checkpoint,
                                          save_deep_checkpoint)
from topspark_ros.deep import kernels as K
from topspark_ros.deep.config import (DeepConfig, DeepConfigError, layer_shapes, LayerSpec,
                                      LifParams, replace_params)
from topspark_ros.deep.network import DeepNetwork, frame_input, Simulator
from topspark_ros.deep.rates import forward_rates, layer_forward, lif_rate
from topspark_ros.models import DeepModel, EventSample, load_model, ModelError
from topspark_ros.perception import ModelFiles, ModelService, ModelStartError
from topspark_ros.snn import CheckpointError, SpikeTrain
from topspark_ros.snn.encoding import image_to_rates
from topspark_ros.snn.ops import OP_SYNAPTIC_EVENTS
from topspark_ros.topspark import ProfileError

LONG_T = 4000


def one_layer(currents: list[float], lif: LifParams = LifParams()) -> DeepNetwork:
    """One input of value 1 driving len(currents) LIF neurons with those currents."""
    n = len(currents)
    config = DeepConfig(input_shape=(1, 1, 1), layers=(LayerSpec('dense', n),
                                                       LayerSpec('dense', 10)), lif=lif)
    return DeepNetwork(config, [np.array(currents, np.float32)[:, None], np.zeros((10, n))],
                       [np.zeros(n), np.zeros(10)])


@pytest.mark.parametrize('tau_ref_ms', [0.0, 2.0])
def test_spiking_rates_converge_to_the_lif_rate(tau_ref_ms):
    currents = [0.5, 1.05, 1.5, 3.0, 10.0, 18.0]       # below one spike per step
    lif = LifParams(tau_ref_ms=tau_ref_ms)
    simulator = Simulator(one_layer(currents, lif))
    _, ops = simulator.run_frame(np.ones((1, 1)), LONG_T)
    rates = simulator.hidden_counts()[:len(currents)] / (LONG_T / 1000.0)
    expected = lif_rate(np.array(currents), lif, 1.0)
    np.testing.assert_allclose(rates, expected, atol=1000.0 / LONG_T + 1e-9)
    assert rates[0] == 0 and ops.exc_spikes == rates.sum() * LONG_T / 1000.0
    assert ops.neuron_updates == (len(currents) + 10) * LONG_T and ops.timesteps == LONG_T


def test_discrete_integration_spikes_at_the_end_of_a_step():
    """lif.integration 'discrete': v_n = J (1 - beta^n) from the last reset, a spike at the
    first step end with v > 1, then v = 0 (no spike time, no refractory period): a constant
    current fires every n* steps exactly, where the exact kernel fires at its LIF rate."""
    currents = [0.5, 1.05, 1.5, 3.0, 10.0, 18.0]
    lif = LifParams(tau_ref_ms=0.0, integration='discrete')
    simulator = Simulator(one_layer(currents, lif))
    T = 1000
    simulator.run_frame(np.ones((1, 1)), T)
    counts = simulator.hidden_counts()[:len(currents)]
    beta = np.exp(-1.0 / lif.tau_rc_ms)
    for j, count in zip(currents, counts):
        n = np.arange(1, T + 1)
        above = np.nonzero(j * (1 - beta ** n) > 1.0)[0]
        assert count == (T // (above[0] + 1) if above.size else 0)
    np.testing.assert_allclose(counts / (T / 1000.0), lif_rate(np.array(currents), lif, 1.0),
                               atol=1000.0 / T + 1e-9)       # the rate curve training fits
    exact = Simulator(one_layer(currents, LifParams(tau_ref_ms=0.0)))
    exact.run_frame(np.ones((1, 1)), T)
    assert np.all(exact.hidden_counts()[:len(currents)] >= counts)
    assert exact.hidden_counts()[:len(currents)].sum() > counts.sum()


def test_discrete_integration_has_no_refractory_period_and_old_configs_are_exact():
    with pytest.raises(DeepConfigError, match='lif.tau_ref_ms must be 0'):
        DeepConfig(lif=LifParams(integration='discrete'))
    with pytest.raises(DeepConfigError, match='lif.integration must be one of'):
        DeepConfig(lif=LifParams(tau_ref_ms=0.0, integration='euler'))
    data = DeepConfig().to_dict()
    del data['lif']['integration']          # a checkpoint written before the field existed
    assert DeepConfig.from_dict(data).lif.integration == 'exact'
    assert replace_params(DeepConfig(), {'lif.integration': 'discrete', 'lif.tau_ref_ms': 0}
                          ).lif.integration == 'discrete'


def small_cnn(pool: str = 'avgpool', seed: int = 0, bias: float = 1.2,
              tau_s_ms: float = 10.0) -> DeepNetwork:
    config = DeepConfig(
        input_shape=(1, 12, 12),
        layers=(LayerSpec('conv', 4, kernel=3, stride=1, padding=1), LayerSpec(pool, kernel=2),
                LayerSpec('conv', 6, kernel=3, stride=2), LayerSpec('dense', 16),
                LayerSpec('dense', 10)),
        lif=LifParams(amplitude=0.01, tau_s_ms=tau_s_ms))
    network = DeepNetwork.initialised(config, seed)
    network.biases = [None if b is None else np.full(b.shape, bias, np.float32)
                      for b in network.biases]
    return network


def hwc(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 2, 0)).ravel().astype(np.float64)


@pytest.mark.parametrize('pool', ['avgpool', 'sumpool'])
def test_every_layers_fan_out_is_its_linear_map(pool):
    """What spikes deliver (the kernel's fan-out through pooling, conv and dense, in its
    channels-last layout) is exactly the rate network's linear part of each layer."""
    network = small_cnn(pool)
    config, packed = network.config, Simulator(network).packed
    rng = np.random.default_rng(0)
    shapes = [config.input_shape] + [tuple(s) for s in layer_shapes(config)]
    for layer in (0, 1, 3, 4):          # into conv, pool -> conv, conv -> dense, dense -> dense
        activation = rng.random(shapes[layer]) * (rng.random(shapes[layer]) < 0.5)
        expected, target = activation, layer
        while config.layers[target].kind.endswith('pool'):
            spec = config.layers[target]
            expected = layer_forward(spec.kind, expected, None, None, spec.kernel, 1, 0)
            target += 1
        spec = config.layers[target]
        expected = layer_forward(spec.kind, expected, network.weights[target],
                                 np.zeros_like(network.biases[target]), spec.kernel,
                                 spec.stride, spec.padding)
        out = np.zeros(packed.n_neurons)
        ops = np.zeros(7, np.int64)
        K.deliver_activation(packed.fanout, packed.weights, layer, hwc(activation), 1.0, out,
                             ops)
        offset = packed.table[target, K.N_OFF]
        np.testing.assert_allclose(out[offset:offset + expected.size], hwc(expected),
                                   rtol=1e-5, atol=1e-6)
        assert ops[OP_SYNAPTIC_EVENTS] > 0


def test_long_presentations_approach_the_rate_network():
    """With constant input and a synapse the spiking readout's mean current approaches the
    LIF-rate network's scores."""
    network = small_cnn('sumpool')
    image = np.random.default_rng(1).random((12, 12))
    expected = forward_rates(network.config, network.weights, network.biases, image,
                             soft=False)
    scores, ops = Simulator(network).run_frame(image, LONG_T)
    assert ops.exc_spikes > 10000 and np.ptp(expected) > 1.0
    np.testing.assert_allclose(scores, expected, atol=0.03 * np.ptp(expected))


def reference_run(network: DeepNetwork, image: np.ndarray, timesteps: int,
                  config: DeepConfig, input_spikes: SpikeTrain | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The documented equations in plain NumPy (float64, (c, h, w) arrays, spike times and
    refractory ends by log1p/expm1, or lif.integration 'discrete', each spike's fan-out by
    ``layer_forward``): scores and every conv/dense neuron's spike count in the simulator's
    channels-last order."""
    lif, layers, gain = config.lif, config.layers, config.rate_gain
    dt, tau_rc, tau_ref = config.dt_ms / 1e3, lif.tau_rc_ms / 1e3, lif.tau_ref_ms / 1e3
    keep = np.exp(-config.dt_ms / lif.tau_s_ms) if lif.tau_s_ms > 0 else 0.0
    last, spiking_readout = len(layers) - 1, config.readout == 'counts'
    units = [k for k, spec in enumerate(layers) if spec.kind in ('conv', 'dense')]
    shapes = [tuple(s) for s in layer_shapes(config)]
    x = frame_input(image, config.input_shape).reshape(config.input_shape[1:] + (-1,))
    x = x.transpose(2, 0, 1)

    def linear(k, a):           # what activation ``a`` entering layer k adds to a unit layer
        while layers[k].kind.endswith('pool'):
            a = layer_forward(layers[k].kind, a, None, None, layers[k].kernel, 1, 0)
            k += 1
        spec = layers[k]
        return k, layer_forward(spec.kind, a, network.weights[k].astype(np.float64),
                                np.zeros(spec.size), spec.kernel, spec.stride, spec.padding)

    const = {k: np.broadcast_to(network.biases[k].astype(np.float64)[:, None, None]
                                * (1.0 if k == last and not spiking_readout else gain),
                                shapes[k]).copy() for k in units}
    if config.input_coding == 'current' and input_spikes is None:
        target, current = linear(0, x)
        const[target] += gain * current
    v = {k: np.full(shapes[k], lif.v_init) for k in units}
    ref = {k: np.zeros(shapes[k]) for k in units}
    syn = {k: np.zeros(shapes[k]) for k in units}
    counts = {k: np.zeros(shapes[k]) for k in units}
    scores = np.zeros(shapes[last])
    phase = np.full(x.shape, 0.5)
    input_value = gain / (config.input_rate_hz * dt)
    raster = None if input_spikes is None else input_spikes.to_dense(x.size)
    leak = -np.expm1(-dt / tau_rc)
    for step in range(timesteps):
        inputs = {k: np.zeros(shapes[k]) for k in units}
        fired = None
        if raster is not None:
            fired = raster[step].reshape(x.shape)
        elif config.input_coding == 'regular':
            phase += x * config.input_rate_hz * dt
            fired = phase >= 1.0
            phase[fired] -= 1.0
        if fired is not None and fired.any():
            target, current = linear(0, fired * input_value)
            inputs[target] += current
        for k in units:
            if k == last and not spiking_readout:
                scores += const[k] + inputs[k] / gain
                continue
            syn[k] = keep * syn[k] + (1.0 - keep) * inputs[k]
            j = (const[k] + syn[k]) / lif.v_thresh
            r, u = ref[k], v[k]
            if lif.integration == 'discrete':       # spike and reset at the step's end
                u += (j - u) * leak
                spike = u > 1.0
                u[spike] = 0.0
                counts[k][spike] += 1
                if k < last:
                    target, current = linear(k + 1, spike * (lif.amplitude / dt))
                    inputs[target] += current
                continue
            free = r == 0.0
            u[free] += (j[free] - u[free]) * leak
            ending = (r != 0.0) & (r < dt)
            u[ending] -= (j[ending] - u[ending]) * np.expm1((r[ending] - dt) / tau_rc)
            r[:] = np.where(r > dt, r - dt, 0.0)
            spike = u > 1.0
            t_spike = dt + tau_rc * np.log1p(-(u[spike] - 1.0) / (j[spike] - 1.0))
            r[spike] = tau_ref + t_spike - dt
            u[spike] = 0.0
            counts[k][spike] += 1
            if k < last:
                target, current = linear(k + 1, spike * (lif.amplitude / dt))
                inputs[target] += current
    scores = counts[last] if spiking_readout else scores / timesteps
    hwc_counts = [counts[k].transpose(1, 2, 0).ravel() for k in units]
    return scores.ravel(), np.concatenate(hwc_counts)


@pytest.mark.parametrize('pool, overrides', [
    ('avgpool', {'lif.tau_s_ms': 5.0}),
    ('sumpool', {'readout': 'counts', 'lif.tau_ref_ms': 0.0, 'lif.v_init': 0.3,
                 'rate_gain': 2.0}),
    ('avgpool', {'input_coding': 'regular', 'lif.tau_ref_ms': 3.5}),
    ('sumpool', {'lif.integration': 'discrete', 'lif.tau_ref_ms': 0.0, 'lif.tau_s_ms': 3.0}),
])
def test_the_simulator_computes_the_documented_equations(pool, overrides):
    """Spike by spike against ``reference_run``: the kernel's refractory bookkeeping
    (exp(left / tau_rc) on lists), its readout summed from spike counts and its float32
    fan-out give the same spikes and scores as the equations computed the plain way."""
    network = small_cnn(pool, seed=3, tau_s_ms=0.0)
    config = replace_params(network.config, overrides)
    simulator = Simulator(network)
    image = np.random.default_rng(4).random((12, 12))
    scores, ops = simulator.run_frame(image, 80, config)
    want_scores, want_counts = reference_run(network, image, 80, config)
    counts = simulator.hidden_counts()
    assert want_counts.sum() > 500 and ops.exc_spikes == counts.sum()
    assert np.abs(counts - want_counts).sum() <= 2          # float32 fan-out: ties may differ
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4 * np.ptp(want_scores))


def test_a_readout_fed_by_the_input_alone():
    """One dense layer: the readout sums the input spikes' currents (no hidden layer)."""
    config = DeepConfig(input_shape=(1, 4, 4), layers=(LayerSpec('dense', 10),))
    network = DeepNetwork.initialised(config, 5)
    network.biases = [np.linspace(-1, 1, 10).astype(np.float32)]
    spikes = SpikeTrain(np.array([0, 2, 2, 5], np.int32), np.array([1, 7, 4, 3, 9], np.int32),
                        3)
    scores, ops = Simulator(network).run_spikes(spikes)
    want, _ = reference_run(network, np.zeros((4, 4)), 3, config, spikes)
    assert ops.input_spikes == 5 and ops.synaptic_events == 50 and ops.exc_spikes == 0
    np.testing.assert_allclose(scores, want, rtol=1e-5)


def test_eight_bit_frames_take_the_look_up_path_with_the_same_numbers():
    frame = np.random.default_rng(6).integers(0, 256, (28, 28), np.uint8)
    np.testing.assert_array_equal(frame_input(frame, (1, 28, 28)),
                                  image_to_rates(frame, (28, 28), 1.0))
    np.testing.assert_array_equal(frame_input(frame[::2, ::2], (1, 28, 28)),   # resized
                                  image_to_rates(frame[::2, ::2], (28, 28), 1.0))


def test_conv_layer_forward_is_pytorch_cross_correlation():
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 5))
    w = rng.random((3, 2, 3, 3))
    out = layer_forward('conv', x, w, np.zeros(3), 3, 2, 1)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    assert out.shape == (3, 3, 3)
    assert out[1, 2, 0] == pytest.approx((padded[:, 4:7, 0:3] * w[1]).sum())


def test_codings_synapse_and_gain_change_the_run_deterministically():
    network = small_cnn(tau_s_ms=0.0)
    simulator = Simulator(network)
    image = np.random.default_rng(2).random((12, 12))
    runs = {}
    for name, overrides in {'current': {}, 'poisson': {'input_coding': 'poisson'},
                            'regular': {'input_coding': 'regular'},
                            'synapse': {'lif.tau_s_ms': 5.0}, 'gain': {'rate_gain': 4.0},
                            'v_init': {'lif.v_init': 0.5}}.items():
        config = replace_params(network.config, overrides)
        first = simulator.run_frame(image, 20, config, seed=3)
        again = simulator.run_frame(image, 20, config, seed=3)
        np.testing.assert_array_equal(first[0], again[0])
        assert first[1] == again[1]
        runs[name] = first
    assert runs['current'][1].input_spikes == 0 and runs['poisson'][1].input_spikes > 0
    assert runs['regular'][1].input_spikes == pytest.approx(image.sum() * 20 * 0.2, abs=144)
    assert runs['gain'][1].exc_spikes > runs['current'][1].exc_spikes
    assert runs['v_init'][1].exc_spikes > runs['current'][1].exc_spikes
    assert runs['synapse'][1] != runs['current'][1]


def test_event_spikes_and_bad_indices():
    simulator = Simulator(small_cnn())
    spikes = SpikeTrain(np.array([0, 2, 3], np.int32), np.array([5, 17, 100], np.int32), 2)
    scores, ops = simulator.run_spikes(spikes)
    assert ops.input_spikes == 3 and ops.timesteps == 2 and scores.shape == (10,)
    with pytest.raises(ValueError, match='outside'):
        simulator.run_spikes(SpikeTrain(np.array([0, 1], np.int32),
                                        np.array([144], np.int32), 1))


def test_configuration_is_validated_with_the_key_named():
    with pytest.raises(DeepConfigError, match='last layer'):
        DeepConfig(layers=(LayerSpec('dense', 5),))
    with pytest.raises(DeepConfigError, match='v_init'):
        DeepConfig(lif=LifParams(v_init=1.5))
    with pytest.raises(DeepConfigError, match='leaves no output'):
        DeepConfig(input_shape=(1, 4, 4), layers=(LayerSpec('conv', 2, kernel=7),
                                                  LayerSpec('dense', 10)))
    with pytest.raises(DeepConfigError, match='no parameter'):
        replace_params(DeepConfig(), {'lif.tau_xx': 1.0})


def test_checkpoint_round_trip_and_dispatch(tmp_path):
    network = small_cnn()
    path = save_deep_checkpoint(tmp_path / 'deep.npz', network, {'dataset': 'test'})
    loaded, metadata = load_deep_checkpoint(path)
    assert loaded.config == network.config and metadata == {'dataset': 'test'}
    for a, b in zip(loaded.weights, network.weights):
        assert (a is None and b is None) or np.array_equal(a, b)
    assert checkpoint_kind(path) == 'deep_lif'
    model, _ = load_model(path)
    assert isinstance(model, DeepModel)
    (tmp_path / 'bad.npz').write_bytes(b'nope')
    with pytest.raises(CheckpointError, match='corrupt'):
        load_model(tmp_path / 'bad.npz')


def test_the_deep_model_behind_the_interface(tmp_path):
    path = save_deep_checkpoint(tmp_path / 'deep.npz', small_cnn())
    service = ModelService.open(ModelFiles(str(path), str(tmp_path / 'out.npz')))
    assert service.check_learning(True) is None         # its readout learns (test_deep_online)
    output = service.run_frame(np.random.default_rng(0).integers(0, 255, (40, 30), np.uint8),
                               learn=False)
    assert output.prediction in range(10) and output.scores.shape == (10,)
    assert output.ops.neuron_updates > 0 and output.ops.weight_updates == 0
    xy = np.arange(20, dtype=np.uint16)
    sample = EventSample(xy % 12, xy // 2, np.linspace(0, 0.0099, 20), (0.0, 0.01), (12, 12))
    assert service.run_events(sample, learn=False).ops.input_spikes == 20
    with pytest.raises(ModelError, match='no learning sample'):
        service.observe_label(3)
    summary = service.status().summary
    assert summary.kind == 'deep_lif' and summary.inhibition == 'none' and summary.ready
    assert service.save('test').message.endswith('nothing written')


def test_a_profile_for_another_model_family_is_refused(tmp_path):
    from topspark_ros.topspark import Profile, ProfileEntry
    from topspark_ros.topspark.profile import MadeFor

    path = save_deep_checkpoint(tmp_path / 'deep.npz', small_cnn())
    made_for = MadeFor(400, (28, 28), 350, 'frames', 'online', pretrain_epochs=1)
    Profile(350, 'loihi', (ProfileEntry(350, .9, .9, 1, 1, 1, 1),), made_for=made_for).save(
        tmp_path / 'p.yaml')
    with pytest.raises(ModelStartError, match='made for N=400.*the model is a deep_lif'):
        ModelService.open(ModelFiles(str(path)), str(tmp_path / 'p.yaml'))
    deep = DeepModel(small_cnn()).made_for()
    Profile(200, 'loihi', (ProfileEntry(200, .9, .9, 1, 1, 1, 1),), made_for=deep).save(
        tmp_path / 'deep.yaml')
    ModelService.open(ModelFiles(str(path)), str(tmp_path / 'deep.yaml'))     # its own: fine
    other = small_cnn()
    other = DeepNetwork(replace_params(other.config, {'timesteps': 100}), other.weights,
                        other.biases)
    other_path = save_deep_checkpoint(tmp_path / 'other.npz', other)
    with pytest.raises(ModelStartError, match='T0=200.*T0=100'):
        ModelService.open(ModelFiles(str(other_path)), str(tmp_path / 'deep.yaml'))


def test_topspark_evaluate_runs_a_deep_checkpoint(tmp_path):
    from topspark_ros.cli import evaluate
    from topspark_ros.deep.config import DeepConfig, LayerSpec

    config = DeepConfig(input_shape=(1, 8, 8), layers=(LayerSpec('dense', 16),
                                                       LayerSpec('dense', 10)), timesteps=20)
    path = save_deep_checkpoint(tmp_path / 'd.npz', DeepNetwork.initialised(config, 1))
    out = tmp_path / 'r.json'
    assert evaluate.main(['--model', str(path), '--dataset', 'digits', '--out', str(out),
                          '--quiet']) == 0
    result = json.loads(out.read_text())
    assert result['model_kind'] == 'deep_lif' and result['timesteps'] == 20
    n = result['samples']
    assert n > 300 and sum(map(sum, result['confusion'])) == n
    assert (tmp_path / 'r.png').is_file()
    assert evaluate.main(['--model', str(path), '--dataset', 'digits', '--relabel', '--out',
                          str(tmp_path / 'x.json')]) == 2


def test_topspark_profile_deep_writes_a_profile_the_governor_reads(tmp_path, capsys):
    from topspark_ros.cli import profile_deep
    from topspark_ros.deep.config import DeepConfig, LayerSpec
    from topspark_ros.topspark import load_profile

    config = DeepConfig(input_shape=(1, 8, 8), layers=(LayerSpec('dense', 32),
                                                       LayerSpec('dense', 10)), timesteps=40)
    path = save_deep_checkpoint(tmp_path / 'd.npz', DeepNetwork.initialised(config, 2))
    out = tmp_path / 'profile'
    assert profile_deep.main([str(path), '--out', str(out), '--dataset', 'digits',
                              '--timesteps', '10', '3', '--sensitivity-timesteps', '3',
                              '--validation', '20', '--test', '30', '--quiet']) == 0
    profile = load_profile(out)
    assert profile.timesteps == [40, 10, 3] and profile.baseline.params == {}
    trained = load_deep_checkpoint(path)[0]
    DeepModel(trained).check_profile(profile)
    converted = trained.with_integration('discrete')
    with pytest.raises(ProfileError, match="measured with 'exact' LIF stepping"):
        DeepModel(converted).check_profile(profile)
    assert (out / 'details.json').is_file() and (out / 'accuracy_vs_timesteps.png').is_file()
    for argv, message in (([str(path), '--out', str(out), '--timesteps', '0'], '--timesteps'),
                          (['config/model_n400.npz', '--out', str(out)], 'not a spiking deep'),
                          ([str(path), '--out', str(path)], '--out')):
        assert profile_deep.main(argv) == 2
        assert message in capsys.readouterr().err
