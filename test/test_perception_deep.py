# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception with the spiking deep network (real rclpy): chosen by the checkpoint, a frame in,
a prediction and the same activity contract out; with learning, labels adapt the readout (and
a readout that cannot learn is refused with its reason)."""

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Int32
from std_srvs.srv import Trigger

from topspark_ros.activity import ActivityReport
from topspark_ros.deep.checkpoint import load_deep_checkpoint, save_deep_checkpoint
from topspark_ros.deep.config import DeepConfig, LayerSpec, LifParams
from topspark_ros.deep.network import DeepNetwork
from topspark_ros.nodes.perception import PerceptionNode
from topspark_ros.perception import ModelStartError
from topspark_ros.ros.conversions import numpy_to_image
from topspark_ros.ros.diagnostics import values_of

from ros_helpers import domain_id, Graph, RecordingNode, WAIT_S

DOMAIN_ID = domain_id(61)


def deep_checkpoint(path, readout: str = 'current'):
    config = DeepConfig(layers=(LayerSpec('conv', 4, kernel=5, stride=2), LayerSpec('dense', 10)),
                        lif=LifParams(v_init=0.5), timesteps=20, readout=readout)
    return save_deep_checkpoint(path, DeepNetwork.initialised(config, 3))


@pytest.fixture
def deep_model(tmp_path):
    return deep_checkpoint(tmp_path / 'deep.npz')


def bar_image() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 11:17] = 255
    return image


def test_perception_runs_a_deep_checkpoint_and_refuses_learning_it_cannot_do(
        deep_model, tmp_path):
    with Graph(DOMAIN_ID) as graph:
        base = {'model_path': str(deep_model), 'profile_path': '', 'timesteps': 20}
        counts = deep_checkpoint(tmp_path / 'counts.npz', readout='counts')
        with pytest.raises(ModelStartError, match="readout 'counts'"):
            graph.spawn(PerceptionNode, **{**base, 'model_path': str(counts)}, learning=True)
        node = graph.spawn(PerceptionNode, **base)
        assert node.service.model.kind == 'deep_lif'
        probe = graph.add(RecordingNode(graph.namespace, context=graph.context))
        reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        probe.record(Int32, 'topspark/prediction', reliable, 'prediction')
        probe.record(DiagnosticArray, 'topspark/activity', reliable, 'activity')
        publisher = probe.create_publisher(Image, 'image', reliable)
        probe.send_until(publisher, lambda: numpy_to_image(bar_image(), 'mono8'),
                         lambda: probe.count('activity') > 0, 'a deep-network sample')
        report = ActivityReport.from_values(values_of(probe.messages('activity')[-1].status[0]))
        assert report.model == 'deep_lif' and report.inhibition == 'none'
        assert report.ops.timesteps == 20 and report.ops.weight_updates == 0
        assert probe.messages('prediction')[-1].data in range(10)


def test_a_deep_readout_learns_from_labels_saves_and_resets(deep_model, tmp_path):
    """learning:=true: each labelled sample moves the readout by the delta rule (its ops
    count the update), the save holds the adapted readout with the base configuration, and
    reset_model restores the readout as loaded."""
    saved = tmp_path / 'adapted.npz'
    with Graph(DOMAIN_ID) as graph:
        node = graph.spawn(PerceptionNode, model_path=str(deep_model), profile_path='',
                           timesteps=20, learning=True, save_path=str(saved))
        probe = graph.add(RecordingNode(graph.namespace, context=graph.context))
        reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        probe.record(DiagnosticArray, 'topspark/activity', reliable, 'activity')
        images = probe.create_publisher(Image, 'image', reliable)
        labels = probe.create_publisher(Int32, 'topspark/label', reliable)
        loaded = node.service.model.network.weights[-1].copy()
        for k in range(3):
            probe.send_until(images, lambda: numpy_to_image(bar_image(), 'mono8'),
                             lambda: probe.count('activity') > k, f'learning sample {k}')
            before = node.service.status().unsaved_labels
            probe.send_until(labels, lambda: Int32(data=7),
                             lambda: node.service.status().unsaved_labels > before,
                             f'label {k}')
        report = ActivityReport.from_values(values_of(probe.messages('activity')[-1].status[0]))
        assert report.ops.weight_updates == 4 * 12 * 12 * 10 + 10     # 4 x 12 x 12 inputs
        adapted = node.service.model.network.weights[-1]
        assert not np.array_equal(adapted, loaded)
        ok, message = node.save_model()
        assert ok and 'saved' in message, message
        network, metadata = load_deep_checkpoint(saved)
        np.testing.assert_array_equal(network.weights[-1], adapted)
        saved_record = metadata['history'][-1]          # (a resent message may add one)
        assert network.config.timesteps == 20 and saved_record['labels_applied'] >= 3
        assert list(saved_record['samples_learned_by_timesteps']) == ['20']
        client = probe.create_client(Trigger, f'{graph.namespace}/perception/reset_model')
        assert client.wait_for_service(timeout_sec=WAIT_S)
        assert client.call(Trigger.Request(), timeout_sec=WAIT_S).success
        np.testing.assert_array_equal(node.service.model.network.weights[-1], loaded)
