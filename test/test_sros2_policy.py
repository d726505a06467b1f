# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The SROS2 policy (config/sros2/policy.xml) against the schema, its generator and the graph.

Each node of the package is started in-process (real rclpy, its own domain) with the launch
files' remappings and ``use_sim_time`` on (the /clock subscription the policy grants); what it
creates, read back through the graph API by node name, must be exactly what its profile grants:
a topic, service or direction added to a node without its grant (or a grant left behind) fails.
Enforcement itself needs Fast DDS with its security plugins, which the PyPI wheels lack.
"""

from __future__ import annotations

import ast
from pathlib import Path
import xml.etree.ElementTree as ET

import pytest
from rclpy.parameter import Parameter

from ros_helpers import domain_id, Graph, ROOT, wait_until
from topspark_ros.nodes.battery_sim import BatterySimNode
from topspark_ros.nodes.camera_sim import CameraSimNode
from topspark_ros.nodes.governor import GovernorNode
from topspark_ros.nodes.metrics import MetricsNode
from topspark_ros.nodes.perception import PerceptionNode
from topspark_ros.ros import sros2_policy
from topspark_ros.ros.sros2_policy import by_node, GRAPH, resolve

xmlschema = pytest.importorskip('xmlschema')

DOMAIN_ID = domain_id(13)
POLICY = ROOT / 'config' / 'sros2' / 'policy.xml'
SCHEMA = Path(__file__).parent / 'sros2' / 'policy.xsd'
FRESH_PERCEPTION = {'n_neurons': 10, 'timesteps': 20, 'model_path': '',
                    'model_fallback': 'fresh', 'profile_path': '',
                    'input_reliability': 'reliable'}   # 'auto' subscribes once publishers exist

# node class, parameters, remappings (as in launch/topspark.launch.xml and demo.launch.xml)
NODES = {
    'perception': (PerceptionNode, FRESH_PERCEPTION,
                   {'image': '/camera/image_raw',
                    'image/compressed': '/camera/image_raw/compressed'}),
    'governor': (GovernorNode, {}, {'battery_state': '/battery_state'}),
    'metrics': (MetricsNode, {}, {}),
    'camera_sim': (CameraSimNode, {'events': True, 'publish_teacher_labels': True},
                   {'image': '/camera/image_raw'}),
    'battery_sim': (BatterySimNode, {}, {'battery_state': '/battery_state'}),
}


def granted_in_file(node: str, namespace: str) -> set[tuple[str, str]]:
    """(direction, resolved name) granted to ``node``'s profile in the policy file."""
    root = ET.parse(POLICY).getroot()
    profiles = [p for p in root.iter('profile') if p.get('node') == node]
    assert len(profiles) == 1, f'{node}: {len(profiles)} profiles'
    grants = set()
    for element in profiles[0]:
        for direction in ('publish', 'subscribe', 'reply', 'request'):
            if element.get(direction) == 'ALLOW':
                grants |= {(direction, resolve(name.text, namespace, node)) for name in element}
    return grants


def created_by(graph: Graph, node: str, namespace: str) -> set[tuple[str, str]]:
    """(direction, name) of what ``node`` created, from the graph API."""
    asker = graph.nodes[0]
    queries = {'publish': asker.get_publisher_names_and_types_by_node,
               'subscribe': asker.get_subscriber_names_and_types_by_node,
               'reply': asker.get_service_names_and_types_by_node,
               'request': asker.get_client_names_and_types_by_node}
    return {(direction, name) for direction, query in queries.items()
            for name, _ in query(node, namespace)}


def test_policy_file_is_the_generated_one():
    assert POLICY.read_text(encoding='utf-8') == sros2_policy.policy_xml(), (
        'config/sros2/policy.xml is out of date: python -m topspark_ros.ros.sros2_policy '
        '--out config/sros2/policy.xml')
    assert sros2_policy.main(['--check', str(POLICY)]) == 0


def test_policy_validates_against_the_sros2_schema(tmp_path):
    schema = xmlschema.XMLSchema(str(SCHEMA))
    schema.validate(str(POLICY))
    broken = tmp_path / 'broken.xml'       # the schema really checks: an unknown rule value
    broken.write_text(POLICY.read_text().replace('publish="ALLOW"', 'publish="MAYBE"', 1))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(str(broken))


def test_least_privilege_rules():
    publishers = {n.node for n in GRAPH if 'topspark/timesteps' in n.publish}
    assert publishers == {'governor'}
    callers = [n.node for n in GRAPH if n.request]
    assert callers == []                  # nobody may call perception's services by default
    assert len({n.enclave for n in GRAPH}) == len(GRAPH)
    for node in GRAPH:                     # no wildcards anywhere
        assert not any('*' in name for names in node.grants().values() for name in names)


def test_resolution_follows_sros2():
    assert resolve('/diagnostics', '/robot1', 'perception') == '/diagnostics'
    assert resolve('topspark/label', '/robot1', 'perception') == '/robot1/topspark/label'
    assert resolve('topspark/label', '/', 'perception') == '/topspark/label'
    assert resolve('~/set_learning', '/robot1', 'perception') == '/robot1/perception/set_learning'


def test_generator_refuses_a_relative_namespace(capsys):
    assert sros2_policy.main(['--namespace', 'robot1']) == 2
    assert '--namespace' in capsys.readouterr().err


@pytest.mark.parametrize('name', sorted(NODES))
def test_each_node_creates_exactly_what_its_profile_grants(name):
    node_class, params, remaps = NODES[name]
    cli_args = ['--ros-args'] + [a for src, dst in remaps.items() for a in ('-r', f'{src}:={dst}')]
    with Graph(DOMAIN_ID) as graph:
        node = graph.add(node_class(
            context=graph.context, namespace=graph.namespace, cli_args=cli_args,
            parameter_overrides=[Parameter('use_sim_time', value=True)]
            + [Parameter(k, value=v) for k, v in params.items()]))
        granted = granted_in_file(name, graph.namespace)
        assert granted == {(d, resolve(n, graph.namespace, name))
                           for d, names in by_node(name).grants().items() for n in names}
        # the node's own graph cache sees its endpoints once they are registered
        wait_until(lambda: created_by(graph, name, graph.namespace) == granted, timeout=10.0,
                   what=f'{name} to create exactly its grants',
                   state=lambda: {'not granted': created_by(graph, name, graph.namespace)
                                  - granted,
                                  'granted, not created': granted
                                  - created_by(graph, name, graph.namespace)})
        assert node.get_fully_qualified_name() == f'{graph.namespace}/{name}'


def test_python_launch_puts_each_node_in_its_policy_enclave():
    """launch/topspark.launch.py: ``--enclave <enclave>/<node name>`` in each node's ROS
    arguments, and the default enclave root gives the policy's enclaves."""
    tree = ast.parse((ROOT / 'launch' / 'topspark.launch.py').read_text())
    calls = [c for c in ast.walk(tree) if isinstance(c, ast.Call)
             and isinstance(c.func, ast.Name)]
    default = next(ast.literal_eval(k.value) for c in calls
                   if c.func.id == 'DeclareLaunchArgument'
                   and ast.literal_eval(c.args[0]) == 'enclave'
                   for k in c.keywords if k.arg == 'default_value')
    enclaves = {}
    for call in calls:
        if call.func.id != 'Node':
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        flag, value = keywords['ros_arguments'].elts
        root, suffix = value.elts
        assert ast.literal_eval(flag) == '--enclave' and root.id == 'enclave'
        enclaves[ast.literal_eval(keywords['name'])] = default + ast.literal_eval(suffix)
    assert enclaves == {name: by_node(name).enclave for name in ('perception', 'governor',
                                                                 'metrics')}


SECURITY_FILES = ('identity_ca.cert.pem', 'cert.pem', 'key.pem', 'permissions_ca.cert.pem',
                  'governance.p7s', 'permissions.p7s')


@pytest.mark.filterwarnings('ignore:Failed to fini rosout publisher')   # the failed node
def test_enclave_reaches_rcl_and_enforce_refuses_without_security(monkeypatch, tmp_path):
    """``--enclave`` picks the enclave's folder of the keystore: a missing one stops rclpy.init
    naming it; a present one (placeholder files here) gets as far as the middleware, which on
    these wheels has no security plugins (on a ROS install it would refuse the placeholders).
    Enforce never starts a node without security."""
    import rclpy
    from rclpy.context import Context
    from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
    RCLError = _rclpy.RCLError

    enclave = tmp_path / 'enclaves' / 'topspark' / 'perception'
    enclave.mkdir(parents=True)
    for name in SECURITY_FILES:
        (enclave / name).write_text('placeholder\n')
    monkeypatch.setenv('ROS_SECURITY_KEYSTORE', str(tmp_path))
    monkeypatch.setenv('ROS_SECURITY_ENABLE', 'true')
    monkeypatch.setenv('ROS_SECURITY_STRATEGY', 'Enforce')

    context = Context()
    with pytest.raises(RCLError, match='topspark/governor'):
        rclpy.init(context=context, domain_id=DOMAIN_ID,
                   args=['--ros-args', '--enclave', '/topspark/governor'])
    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID,
               args=['--ros-args', '--enclave', by_node('perception').enclave])
    try:
        with pytest.raises(RCLError) as refused:
            PerceptionNode(context=context)
        print(f'perception in {by_node("perception").enclave}: {refused.value}')
    finally:
        rclpy.try_shutdown(context=context)
