# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception node with real rclpy: frames, events, commands, bad input, services, model files.

Every test gets its own Context and namespace, inputs are published repeatedly until the expected
answer arrives, and the executor is single-threaded (ros_helpers.py says why). The node's own
worker thread runs the network either way. Run with ROS_PYTHON_CHECK_FIELDS=1.
"""

import os
from pathlib import Path
import signal
from types import SimpleNamespace

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
import pytest
from rclpy.exceptions import InvalidParameterValueException
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Float32MultiArray, Float64, Int32, UInt16
from std_srvs.srv import SetBool, Trigger

from topspark_ros.nodes.perception import PerceptionNode
from topspark_ros.perception import ModelStartError
from topspark_ros.ros import diagnostics
from topspark_ros.ros.conversions import (events_to_pointcloud2, numpy_to_compressed,
                                          numpy_to_image)
from topspark_ros.ros.diagnostics import values_of
from topspark_ros.ros.qos import check_reliability_mode, offered_reliability
from topspark_ros.snn import (load_checkpoint, Network, NetworkConfig, Readout,
                              save_checkpoint)

from ros_helpers import (domain_id, finish, Graph, RecordingNode, ros_context, start_module,
                         wait_until, WAIT_S)

DOMAIN_ID = domain_id(0)
PROCESS_DOMAIN_ID = domain_id(50)                  # for the node started as a process
N_NEURONS = 30
FRESH = {'n_neurons': N_NEURONS, 'timesteps': 60, 'model_path': '', 'model_fallback': 'fresh',
         'profile_path': ''}
"""A small untrained network without a profile, instead of the shipped model and profile."""

ACTIVITY_KEYS = {'timesteps', 'mode', 'input_spikes', 'exc_spikes', 'inh_spikes',
                 'synaptic_events', 'neuron_updates', 'weight_updates', 'compute_seconds',
                 'n_neurons', 'n_inputs', 'inhibition'}


def digit() -> np.ndarray:
    """A bright '1'-like bar, enough input for a small untrained network to fire."""
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 11:17] = 255
    return img


def labelled_model(path: Path) -> Path:
    """A small checkpoint whose every neuron is labelled: any spike gives a prediction."""
    config = NetworkConfig(n_neurons=N_NEURONS)
    rng = np.random.default_rng(3)
    readout = Readout(N_NEURONS, config.n_classes, class_spikes=rng.random((10, N_NEURONS)),
                      class_samples=np.ones(10))
    return save_checkpoint(path, Network(config), readout, {'made_by': 'test'})


class Probe(RecordingNode):
    """Publishes inputs to the perception node and records everything it publishes."""

    def __init__(self, namespace: str, **kwargs) -> None:
        super().__init__(namespace, **kwargs)
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        for key, msg_type, topic in (
                ('prediction', Int32, 'topspark/prediction'),
                ('scores', Float32MultiArray, 'topspark/scores'),
                ('activity', DiagnosticArray, 'topspark/activity'),
                ('latency', Float64, 'topspark/latency'),
                ('/diagnostics', DiagnosticArray, '/diagnostics')):
            self.record(msg_type, topic, reliable, key)
        self.timesteps_pub = self.create_publisher(
            UInt16, 'topspark/timesteps',
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.label_pub = self.create_publisher(Int32, 'topspark/label', reliable)

    def last(self, key: str):
        return self.messages(key)[-1]

    def publisher(self, msg_type: type, topic: str, reliable: bool = True):
        policy = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        return self.create_publisher(msg_type, topic, QoSProfile(depth=5, reliability=policy))

    def answer(self, publisher, make_msg, what: str = 'a prediction'):
        """Publish until a new prediction and activity arrive; returns (prediction, values)."""
        n_pred, n_act = self.count('prediction'), self.count('activity')
        self.send_until(publisher, make_msg, lambda: (self.count('prediction') > n_pred
                                                      and self.count('activity') > n_act), what)
        wait_until(lambda: self.count('latency') >= self.count('prediction'), what='latency')
        activity = self.last('activity')
        assert activity.status[0].level == DiagnosticStatus.OK
        return self.last('prediction').data, values_of(activity.status[0])

    def call(self, srv_type: type, name: str, request):
        client = self.create_client(srv_type, name)
        assert client.wait_for_service(timeout_sec=WAIT_S), f'service {name} not found'
        response = client.call(request, timeout_sec=WAIT_S)
        assert response is not None, f'service {name} did not answer'
        return response


class PerceptionGraph(Graph):
    def perception(self, **params) -> PerceptionNode:
        return self.spawn(PerceptionNode, **{**FRESH, **params})

    def probe(self) -> Probe:
        return self.add(Probe(self.namespace, context=self.context))


@pytest.fixture
def graph():
    with PerceptionGraph(DOMAIN_ID) as g:
        yield g


def image_msg(array: np.ndarray = None, encoding: str = 'mono8') -> Image:
    return numpy_to_image(digit() if array is None else array, encoding)


def raw_image(encoding: str, height: int, width: int, step: int, payload: bytes) -> Image:
    msg = Image(height=height, width=width, encoding=encoding, step=step)
    msg.data.frombytes(payload)
    return msg


class EventSource:
    """Packets of digit events, each covering ``period`` seconds after the previous one."""

    def __init__(self, period: float, sensor: int = 28) -> None:
        self.period = period
        self.k = 0
        ys, xs = np.nonzero(digit() if sensor == 28 else np.ones((sensor, sensor)))
        self.x, self.y = xs.astype(np.uint16), ys.astype(np.uint16)
        self.rng = np.random.default_rng(7)

    def __call__(self) -> PointCloud2:
        t = np.sort(self.rng.uniform(0.0, self.period, self.x.size))
        msg = events_to_pointcloud2(self.x, self.y, t, np.ones(self.x.size, np.int8))
        stamp = 100.0 + self.k * self.period
        msg.header.stamp.sec = int(stamp)
        msg.header.stamp.nanosec = int(round((stamp % 1) * 1e9))
        self.k += 1
        return msg


# ------------------------------------------------------------------------------ frames


def test_mono8_digit_and_bgr8_frame_give_prediction_activity_and_latency(graph, tmp_path):
    node = graph.perception(model_path=str(labelled_model(tmp_path / 'm.npz')))
    probe = graph.probe()
    pub = probe.publisher(Image, 'image')

    prediction, values = probe.answer(pub, image_msg)
    assert ACTIVITY_KEYS <= values.keys()
    assert values['timesteps'] == '60' and values['mode'] == 'infer'
    assert values['n_neurons'] == str(N_NEURONS) and values['n_inputs'] == '784'
    assert values['inhibition'] == 'layer' and values['source'] == 'image'
    assert int(values['input_spikes']) > 0
    assert int(values['neuron_updates']) == 60 * 2 * N_NEURONS     # excitatory + inhibitory
    assert int(values['weight_updates']) == 0
    expected = range(10) if int(values['exc_spikes']) > 0 else [-1]
    assert prediction in expected and values['prediction'] == str(prediction)
    assert probe.last('latency').data > 0
    assert float(values['compute_seconds']) == probe.last('latency').data
    scores = probe.last('scores')
    assert len(scores.data) == 10 and scores.layout.dim[0].label == 'class'

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    frame[100:400, 280:360] = 255
    _, values = probe.answer(pub, lambda: image_msg(frame, 'bgr8'), 'a 640x480 bgr8 answer')
    assert int(values['input_spikes']) > 0
    assert node.counters()['processed'] >= 2


def test_compressed_jpeg(graph):
    graph.perception()
    probe = graph.probe()
    pub = probe.publisher(CompressedImage, 'image/compressed')
    prediction, values = probe.answer(pub, lambda: numpy_to_compressed(digit(), 'jpeg'))
    assert values['source'] == 'compressed' and int(values['input_spikes']) > 0
    assert prediction == -1                     # a fresh network has no labelled neurons


def test_events_pointcloud2_window_gives_a_sample(graph, tmp_path):
    node = graph.perception(model_path=str(labelled_model(tmp_path / 'm.npz')),
                            event_window_s=0.05)
    probe = graph.probe()
    pub = probe.publisher(PointCloud2, 'events')
    _, values = probe.answer(pub, EventSource(0.05), 'an event sample')
    assert values['source'] == 'events' and values['timesteps'] == '60'
    assert 0 < int(values['input_spikes']) <= digit().astype(bool).sum() * 60
    assert node.counters().get('rejected_empty_events', 0) == 0

    # A 34x34 source restarts at the same stamps (a jump back) and overflows the 28x28 sensor.
    probe.answer(pub, EventSource(0.05, sensor=34), 'a sample after the jump back')
    assert node.counters()['rejected_events_outside_sensor'] >= 1


def test_diagnostics_and_qos_helpers():
    status = diagnostics.status('perception', 'input', diagnostics.WARN, 'm', {'a': 1, 'b': True})
    assert status.name == 'perception: input' and values_of(status) == {'a': '1', 'b': 'true'}
    with pytest.raises(ValueError, match='bytes'):
        diagnostics.status('perception', 'input', 1, 'm')

    def endpoint(policy):
        return SimpleNamespace(qos_profile=QoSProfile(depth=1, reliability=policy))

    reliable, best_effort = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
    assert offered_reliability([]) is None
    assert offered_reliability([endpoint(reliable)] * 2) == reliable
    assert offered_reliability([endpoint(reliable), endpoint(best_effort)]) == best_effort
    assert check_reliability_mode('auto') is None and 'sometimes' in check_reliability_mode(
        'sometimes')


# ------------------------------------------------------------------------------ commands


def test_timestep_command_sets_the_parameter_and_activity(graph):
    node = graph.perception()
    probe = graph.probe()
    probe.send_until(probe.timesteps_pub, lambda: UInt16(data=120),
                     lambda: node.get_parameter('timesteps').value == 120, 'timesteps 120')
    _, values = probe.answer(probe.publisher(Image, 'image'), image_msg)
    assert values['timesteps'] == '120' and values['neuron_updates'] == str(120 * 2 * N_NEURONS)

    for bad in (0, 1001, 65535):
        before = node.counters().get('rejected_timesteps_out_of_range', 0)
        probe.send_until(
            probe.timesteps_pub, lambda: UInt16(data=bad),
            lambda: node.counters().get('rejected_timesteps_out_of_range', 0) > before,
            f'timesteps {bad} rejected')
        assert node.get_parameter('timesteps').value == 120


def test_parameters_validated_with_a_reason(graph, tmp_path):
    node = graph.perception()

    def rejected(name, value):
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful, f'{name}={value!r} was accepted'
        return result.reason

    assert 'out of range' in rejected('timesteps', 0)
    assert 'out of range' in rejected('timesteps', 1001)
    assert 'read-only' in rejected('model_path', str(tmp_path / 'other.npz'))
    assert 'read-only' in rejected('input_reliability', 'reliable')
    assert 'read-only' in rejected('n_neurons', 50)
    assert '.npz' in rejected('save_path', str(tmp_path / 'model.pt'))
    assert 'out of range' in rejected('event_window_s', 0.0)
    assert rejected('learning', 'yes')                           # wrong type
    assert node.get_parameter('timesteps').value == 60

    accepted = node.set_parameters([Parameter('timesteps', value=77),
                                    Parameter('learning', value=True),
                                    Parameter('save_period_s', value=30.0)])
    assert all(r.successful for r in accepted)
    assert node.settings.timesteps == 77 and node.settings.learning
    assert node._save_timer is not None
    descriptor = node.describe_parameter('timesteps')
    assert descriptor.integer_range[0].to_value == 1000 and descriptor.description


def test_invalid_start_value_is_refused(graph):
    with pytest.raises(InvalidParameterValueException, match='sometimes'):
        graph.perception(input_reliability='sometimes')


# ------------------------------------------------------------------------------ bad input


def _bad_float_image(value: float) -> Image:
    arr = np.full((28, 28), 0.5, np.float32)
    arr[3, 4] = value
    return numpy_to_image(arr, '32FC1')


def _corrupt_jpeg() -> CompressedImage:
    good = bytes(numpy_to_compressed(digit(), 'jpeg').data)
    msg = CompressedImage(format='jpeg')
    msg.data.frombytes(good[:20] + bytes(200))
    return msg


def _cloud(fields, width: int = 4, point_step: int = 16, data_len: int = None) -> PointCloud2:
    msg = PointCloud2(height=1, width=width, point_step=point_step, row_step=point_step * width,
                      fields=[PointField(name=n, offset=o, datatype=d, count=1)
                              for n, o, d in fields])
    msg.data.frombytes(bytes(point_step * width if data_len is None else data_len))
    return msg


def _truncated_serialized_image(length: int) -> bytes:
    """A frame's CDR bytes cut short: what a broken bridge or bag could publish raw."""
    from rclpy.serialization import serialize_message

    return serialize_message(image_msg())[:length]


_U16, _F64 = PointField.UINT16, PointField.FLOAT64
BAD_INPUTS = [
    ('image', Image, lambda: _truncated_serialized_image(200), 'data_too_short'),
    ('image', Image, lambda: _truncated_serialized_image(30), 'truncated_message'),
    ('image', Image, lambda: raw_image('yuv9000', 28, 28, 28, bytes(784)), 'unknown_encoding'),
    ('image', Image, lambda: raw_image('mono8', 28, 28, 28, bytes(100)), 'data_too_short'),
    ('image', Image, lambda: raw_image('mono8', 0, 28, 28, b''), 'zero_size'),
    ('image', Image, lambda: _bad_float_image(np.nan), 'non_finite'),
    ('image', Image, lambda: _bad_float_image(np.inf), 'non_finite'),
    ('image/compressed', CompressedImage, _corrupt_jpeg, 'corrupt_compressed'),
    ('image/compressed', CompressedImage, lambda: CompressedImage(format='jpeg'), 'empty_data'),
    ('events', PointCloud2, lambda: _cloud([('x', 0, _U16), ('y', 2, _U16)]), 'missing_field'),
    ('events', PointCloud2, lambda: _cloud([('x', 0, _F64), ('y', 8, _U16), ('t', 10, _F64)],
                                           point_step=18), 'wrong_field_type'),
    ('events', PointCloud2, lambda: _cloud([('x', 0, _U16), ('y', 2, _U16), ('t', 4, _F64)],
                                           width=0), 'empty_events'),
    ('events', PointCloud2, lambda: _cloud([('x', 0, _U16), ('y', 2, _U16), ('t', 4, _F64)],
                                           data_len=10), 'data_too_short'),
]


def test_bad_inputs_are_counted_and_skipped(graph):
    node = graph.perception(event_window_s=0.05, log_throttle_s=60.0)
    probe = graph.probe()
    publishers = {topic: probe.publisher(msg_type, topic)
                  for topic, msg_type in {(b[0], b[1]) for b in BAD_INPUTS}}
    good = {'image': image_msg, 'image/compressed': lambda: numpy_to_compressed(digit()),
            'events': EventSource(0.05)}
    for topic, _, make_bad, reason in BAD_INPUTS:
        key = f'rejected_{reason}'
        before = node.counters().get(key, 0)
        probe.send_until(publishers[topic], make_bad,
                         lambda: node.counters().get(key, 0) > before, f'{reason} on {topic}')
        probe.answer(publishers[topic], good[topic], f'an answer on {topic} after {reason}')
    assert 'rejected_internal_error' not in node.counters()

    keys = {f'rejected_{reason}' for _, _, _, reason in BAD_INPUTS}

    def input_status():
        statuses = [s for s in probe.statuses('perception: input')
                    if keys <= values_of(s).keys()]
        return statuses[-1] if statuses else None

    wait_until(input_status, what='an input status on /diagnostics counting every reason')
    values = values_of(input_status())
    assert all(int(values[key]) >= 1 for key in keys)
    assert int(values['rejected']) >= len(keys)


# ------------------------------------------------------------------------------ QoS


@pytest.mark.parametrize('reliable', [False, True], ids=['best_effort', 'reliable'])
def test_auto_reliability_matches_the_publisher(graph, reliable):
    node = graph.perception()
    probe = graph.probe()
    pub = probe.publisher(Image, 'image', reliable=reliable)
    probe.answer(pub, image_msg)
    topic = f'{graph.namespace}/image'
    assert node.stream_reliability[topic] == ('reliable' if reliable else 'best_effort')
    assert node.stream_reliability[f'{graph.namespace}/events'] == 'waiting'


# ------------------------------------------------------------------------------ services


def test_services_save_learn_label_and_reset(graph, tmp_path):
    out = tmp_path / 'saved.npz'
    node = graph.perception(save_path=str(out))
    model = node.service.model
    probe = graph.probe()
    pub = probe.publisher(Image, 'image')
    initial = model.network.weights.copy()
    save = f'{graph.namespace}/perception/save_model'

    response = probe.call(Trigger, save, Trigger.Request())
    assert response.success and 'nothing written' in response.message and not out.exists()

    assert probe.call(SetBool, f'{graph.namespace}/perception/set_learning',
                      SetBool.Request(data=True)).success
    assert node.get_parameter('learning').value is True
    _, values = probe.answer(pub, image_msg)
    assert values['mode'] == 'learn' and int(values['weight_updates']) > 0
    assert not np.array_equal(model.network.weights, initial)

    probe.send_until(probe.label_pub, lambda: Int32(data=7),
                     lambda: node.counters().get('labels_applied', 0) > 0, 'the label applied')
    assert model.readout.class_samples[7] == 1

    response = probe.call(Trigger, save, Trigger.Request())
    assert response.success and str(out) in response.message
    network, readout, metadata = load_checkpoint(out)
    np.testing.assert_array_equal(network.weights, model.network.weights)
    assert readout.class_samples[7] == 1
    record = metadata['history'][-1]
    assert record['samples_learned'] >= 1 and list(record['samples_learned_by_timesteps']) == \
        ['60'] and record['labels_applied'] == 1

    assert probe.call(Trigger, f'{graph.namespace}/perception/reset_model',
                      Trigger.Request()).success
    model = node.service.model
    np.testing.assert_array_equal(model.network.weights, initial)
    assert not model.readout.labelled and model.readout.class_samples.sum() == 0

    assert probe.call(SetBool, f'{graph.namespace}/perception/set_learning',
                      SetBool.Request(data=False)).success
    _, values = probe.answer(pub, image_msg)
    assert values['mode'] == 'infer' and values['weight_updates'] == '0'


def test_label_out_of_range_or_without_sample_is_rejected(graph):
    node = graph.perception()
    probe = graph.probe()
    probe.send_until(probe.label_pub, lambda: Int32(data=3),
                     lambda: node.counters().get('rejected_label_without_sample', 0) > 0,
                     'label without sample rejected')
    probe.answer(probe.publisher(Image, 'image'), image_msg)
    probe.send_until(probe.label_pub, lambda: Int32(data=10),
                     lambda: node.counters().get('rejected_label_out_of_range', 0) > 0,
                     'label 10 rejected')
    assert not node.service.model.readout.labelled


# ------------------------------------------------------------------------------ model files


def test_defaults_run_the_shipped_model_and_profile_and_predict(graph):
    """A first start without parameters predicts: the shipped model with its profile."""
    node = graph.spawn(PerceptionNode)
    assert node.service.load_error == '' and node.service.profile is not None
    probe = graph.probe()
    prediction, values = probe.answer(probe.publisher(Image, 'image'), image_msg)
    assert prediction in range(10) and values['n_neurons'] == '400'
    assert not node.service.unsaved()


@pytest.mark.parametrize('problem', ['missing', 'corrupt'])
def test_bad_model_file_refuses_the_start_unless_fresh_is_asked_for(graph, tmp_path, problem):
    path = tmp_path / 'model.npz'
    if problem == 'corrupt':
        path.write_bytes(b'this is not a zip archive')
    with pytest.raises(ModelStartError, match=('not found' if problem == 'missing'
                                               else 'corrupt')):
        graph.perception(model_path=str(path), model_fallback='refuse')

    node = graph.perception(model_path=str(path), save_path=str(path), overwrite_model=True)
    assert node.service.source.startswith('fallback')
    probe = graph.probe()
    probe.answer(probe.publisher(Image, 'image'), image_msg)
    wait_until(lambda: any(s.level == DiagnosticStatus.ERROR
                           for s in probe.statuses('perception: model')),
               what='an ERROR model status')
    ok, message = node.save_model()                 # nothing learned: nothing written
    assert ok and 'nothing written' in message
    assert node.set_parameters([Parameter('learning', value=True)])[0].successful
    probe.answer(probe.publisher(Image, 'image'), image_msg)
    ok, message = node.save_model()                 # learned, but never over the broken file
    assert not ok and 'never written' in message
    assert not list(tmp_path.glob('*.recovered.npz'))
    if problem == 'corrupt':
        assert path.read_bytes() == b'this is not a zip archive'
    else:
        assert not path.exists()


def test_saving_over_the_loaded_model_needs_overwrite_model(graph, tmp_path):
    path = labelled_model(tmp_path / 'model.npz')
    with pytest.raises(ModelStartError, match='overwrite_model'):
        graph.perception(model_path=str(path), save_path=str(path))
    node = graph.perception(model_path=str(path))
    result = node.set_parameters([Parameter('save_path', value=str(path))])[0]
    assert not result.successful and 'overwrite_model' in result.reason


def test_learning_without_save_path_says_it_is_not_kept(graph):
    node = graph.perception(learning=True)
    probe = graph.probe()
    probe.answer(probe.publisher(Image, 'image'), image_msg)
    ok, message = node.save_model()
    assert not ok and 'save_path' in message


# ------------------------------------------------------------------------------ process


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_process_saves_and_exits_0_on_signal(tmp_path, sig):
    model = labelled_model(tmp_path / 'model.npz')
    out = tmp_path / 'out.npz'
    namespace = f'/p{os.getpid()}_{sig.name}'
    proc = start_module(
        'topspark_ros.nodes.perception', '--ros-args',
        '-r', f'__ns:={namespace}', '-p', f'model_path:={model}', '-p', f'save_path:={out}',
        '-p', "profile_path:=''", '-p', 'learning:=true', '-p', 'timesteps:=60',
        domain=PROCESS_DOMAIN_ID)
    try:
        with Graph(PROCESS_DOMAIN_ID) as g:
            probe = g.add(Probe(namespace, context=g.context))
            _, values = probe.answer(probe.publisher(Image, 'image'), image_msg,
                                     'an answer from the node process')
            assert values['mode'] == 'learn'
    finally:
        output = finish(proc, sig)
    assert proc.returncode == 0, output
    assert f'saved to {out}' in output, output
    saved, _, metadata = load_checkpoint(out)
    original, _, original_metadata = load_checkpoint(model)
    assert saved.samples_seen > original.samples_seen
    assert not np.array_equal(saved.weights, original.weights)
    assert metadata['made_by'] == original_metadata['made_by'] == 'test'


def test_process_with_a_missing_model_exits_1_with_one_line(tmp_path):
    proc = start_module('topspark_ros.nodes.perception', '--ros-args', '-p',
                        f'model_path:={tmp_path / "missing.npz"}', domain=PROCESS_DOMAIN_ID)
    output = finish(proc)
    assert proc.returncode == 1, output
    assert 'cannot start' in output and 'missing.npz' in output and 'Traceback' not in output


def test_profile_parameters_follow_the_timestep(tmp_path):
    """With profile_path, each timestep change applies that T's parameters; only profiled T
    are accepted, and a profile made for another network refuses the start."""
    from topspark_ros.topspark import Profile, ProfileEntry
    from topspark_ros.topspark.profile import MadeFor

    def entry(T, **params):
        return ProfileEntry(T, 0.9, 0.9, 1e-4, 1e-4, 1e-5, 1e-5, params=params)

    enhanced = {'learning.nu_post': 0.001, 'excitatory.v_thresh_mv': -54.0,
                'inhibition.variant': 'direct', 'inhibition.direct_mv': 120.0,
                'inhibition.direct_delay_ms': 1.0}                 # fast inhibition
    entries = (entry(350), entry(50, **enhanced),
               entry(40, event_window_scale=0.25, event_keep_fraction=0.5))
    made_for = MadeFor(20, (28, 28), 350, 'frames', 'online', pretrain_epochs=1)
    Profile(350, 'loihi', entries, made_for=made_for).save(tmp_path / 'profile.yaml')
    base = [Parameter(name, value=value) for name, value in FRESH.items()
            if name not in ('n_neurons', 'timesteps', 'profile_path')]
    with ros_context(DOMAIN_ID) as context:
        node = PerceptionNode(context=context, parameter_overrides=base + [
            Parameter('n_neurons', value=20), Parameter('profile_path', value=str(tmp_path))])
        try:
            config = lambda: node.service.model.network.config      # noqa: E731
            window = lambda: node.service.events.window.length       # noqa: E731
            assert config().learning.nu_post == 0.01                      # T=350: none
            assert node.set_parameters([Parameter('timesteps', value=50)])[0].successful
            assert config().learning.nu_post == 0.001
            assert config().excitatory.v_thresh_mv == -54.0
            assert config().inhibition.variant == 'direct'
            assert config().inhibition.direct_delay_ms == 1.0
            assert window() == pytest.approx(0.3)                         # no window override
            assert node.set_parameters([Parameter('timesteps', value=40)])[0].successful
            assert window() == pytest.approx(0.3 * 0.25)                  # the event window
            assert config().event_keep_fraction == 0.5                    # and thinning
            assert node.set_parameters([Parameter('event_window_s', value=0.2)])[0].successful
            assert window() == pytest.approx(0.2 * 0.25)
            refused = node.set_parameters([Parameter('timesteps', value=300)])[0]
            assert not refused.successful and 'profiled: 350, 50, 40' in refused.reason
            assert node.set_parameters([Parameter('timesteps', value=350)])[0].successful
            assert config().excitatory.v_thresh_mv == -52.0
            assert config().inhibition.variant == 'layer'                # back to T0's
            assert window() == pytest.approx(0.2)
            assert config().event_keep_fraction == 1.0
        finally:
            node.close()
            node.destroy_node()
        for problem, overrides in (
                ('not found', [Parameter('profile_path', value=str(tmp_path / 'x.yaml'))]),
                ('made for N=20.*the model has N=30',
                 [Parameter('n_neurons', value=30), Parameter('profile_path',
                                                              value=str(tmp_path))]),
                ('T=60 is not in the profile',
                 [Parameter('n_neurons', value=20), Parameter('timesteps', value=60),
                  Parameter('profile_path', value=str(tmp_path))])):
            with pytest.raises(ModelStartError, match=problem):
                PerceptionNode(context=context, parameter_overrides=base + overrides)
