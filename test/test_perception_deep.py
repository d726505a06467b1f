# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception with the spiking deep network (real rclpy): chosen by the checkpoint, a frame in,
a prediction and the same activity contract out; learning, labels and resets refused."""

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Int32
from std_srvs.srv import Trigger

from topspark_ros.activity import ActivityReport
from topspark_ros.deep.checkpoint import save_deep_checkpoint
from topspark_ros.deep.config import DeepConfig, LayerSpec, LifParams
from topspark_ros.deep.network import DeepNetwork
from topspark_ros.nodes.perception import PerceptionNode
from topspark_ros.perception import ModelStartError
from topspark_ros.ros.conversions import numpy_to_image
from topspark_ros.ros.diagnostics import values_of

from ros_helpers import domain_id, Graph, RecordingNode, WAIT_S

DOMAIN_ID = domain_id(61)


@pytest.fixture
def deep_model(tmp_path):
    config = DeepConfig(layers=(LayerSpec('conv', 4, kernel=5, stride=2), LayerSpec('dense', 10)),
                        lif=LifParams(v_init=0.5), timesteps=20)
    return save_deep_checkpoint(tmp_path / 'deep.npz', DeepNetwork.initialised(config, 3))


def test_perception_runs_a_deep_checkpoint_and_refuses_learning(deep_model):
    with Graph(DOMAIN_ID) as graph:
        base = {'model_path': str(deep_model), 'profile_path': '', 'timesteps': 20}
        with pytest.raises(ModelStartError, match='inference only'):
            graph.spawn(PerceptionNode, **base, learning=True)
        node = graph.spawn(PerceptionNode, **base)
        assert node.service.model.kind == 'deep_lif'
        probe = graph.add(RecordingNode(graph.namespace, context=graph.context))
        reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        probe.record(Int32, 'topspark/prediction', reliable, 'prediction')
        probe.record(DiagnosticArray, 'topspark/activity', reliable, 'activity')
        image = np.zeros((28, 28), np.uint8)
        image[4:24, 11:17] = 255
        publisher = probe.create_publisher(Image, 'image', reliable)
        probe.send_until(publisher, lambda: numpy_to_image(image, 'mono8'),
                         lambda: probe.count('activity') > 0, 'a deep-network sample')
        report = ActivityReport.from_values(values_of(probe.messages('activity')[-1].status[0]))
        assert report.model == 'deep_lif' and report.inhibition == 'none'
        assert report.ops.timesteps == 20 and report.ops.weight_updates == 0
        assert probe.messages('prediction')[-1].data in range(10)

        refused = node.set_parameters([Parameter('learning', value=True)])[0]
        assert not refused.successful and 'inference only' in refused.reason
        client = probe.create_client(Trigger, f'{graph.namespace}/perception/reset_model')
        assert client.wait_for_service(timeout_sec=WAIT_S)
        response = client.call(Trigger.Request(), timeout_sec=WAIT_S)
        assert not response.success and 'nothing to reset' in response.message
