# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Who commands perception and the governor: the graph watch, command_publishers, the
timestep rate limit and the record of service calls.

The decision logic (``CommandWatch``, ``RateLimiter``, request headers) is tested without a
graph; the nodes are tested with real rclpy in their own domain, with an outside node (another
name and namespace, as another process would be) publishing commands and calling services.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64, UInt16
from std_srvs.srv import SetBool, Trigger

from ros_helpers import domain_id, Graph, RecordingNode, wait_until, WAIT_S
from topspark_ros.nodes.governor import GovernorNode
from topspark_ros.nodes.perception import PerceptionNode
from topspark_ros.ros import graph_watch
from topspark_ros.ros.command_guard import RateLimiter, record_calls, request_header
from topspark_ros.ros.diagnostics import values_of
from topspark_ros.ros.graph_watch import CommandWatch, Endpoint

DOMAIN_ID = domain_id(29)
FRESH = {'n_neurons': 10, 'timesteps': 20, 'model_path': '', 'model_fallback': 'fresh',
         'profile_path': ''}
COMMAND_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


# ------------------------------------------------------------------ without ROS

def test_empty_allow_list_accepts_anyone_and_reports_who():
    watch = CommandWatch()
    report = watch.update({'/r/topspark/timesteps': [Endpoint('/x/intruder', b'1')]}, {})
    assert report.unexpected == {} and watch.message_verdict(b'1') is None
    assert watch.message_verdict(None) is None and watch.call_verdict('/r/p/set_learning') is None
    assert report.values()['publishers /r/topspark/timesteps'] == '/x/intruder'
    assert report.values()['command_publishers'] == 'any'
    assert 'any node' in report.message()


def test_allow_list_names_the_unexpected_and_attributes_each_message():
    watch = CommandWatch(['/r/governor'])
    report = watch.update(
        {'/r/topspark/timesteps': [Endpoint('/r/governor', b'g'), Endpoint('/x/intruder', b'i'),
                                   Endpoint('/x/intruder', b'j')]},
        {'/r/perception/set_learning': [Endpoint('/r/governor', b'c')],
         '/r/perception/reset_model': [Endpoint('/y/tool', b'd')]})
    assert report.unexpected == {'/r/topspark/timesteps': ('/x/intruder',),
                                 '/r/perception/reset_model': ('/y/tool',)}
    assert report.unexpected_nodes == ('/x/intruder', '/y/tool')
    assert '/x/intruder on /r/topspark/timesteps' in report.message()
    assert watch.message_verdict(b'g') is None
    assert watch.message_verdict(b'i') == graph_watch.UNEXPECTED_PUBLISHER
    assert watch.message_verdict(b'unseen') == graph_watch.UNKNOWN_PUBLISHER
    assert watch.message_verdict(None) == graph_watch.UNKNOWN_PUBLISHER
    assert watch.call_verdict('/r/perception/set_learning') is None
    assert watch.call_verdict('/r/perception/reset_model') == graph_watch.UNEXPECTED_CLIENT
    watch.set_allowed(['/r/governor', '/x/intruder', '/y/tool'])
    assert watch.report.unexpected == {} and watch.message_verdict(b'i') is None
    watch.set_allowed([])
    assert watch.message_verdict(b'unseen') is None


def test_allow_list_must_hold_fully_qualified_names():
    assert graph_watch.check_allow_list(['/governor', '/robot1/governor']) is None
    assert graph_watch.check_allow_list(None) is None
    for bad in ('governor', '/robot1/', '//governor', '/a b'):
        assert 'fully qualified' in graph_watch.check_allow_list(['/governor', bad])


def test_publisher_gid_from_message_info():
    info = {'publisher_gid': {'implementation_identifier': 'rmw_fastrtps_cpp',
                              'data': b'\x01\x02'}}
    assert graph_watch.publisher_gid(info) == b'\x01\x02'
    assert graph_watch.publisher_gid({}) is None and graph_watch.publisher_gid(None) is None
    assert graph_watch.fully_qualified('governor', '/') == '/governor'
    assert graph_watch.fully_qualified('governor', '/r') == '/r/governor'


def test_rate_limiter_keeps_at_most_n_per_second():
    limiter = RateLimiter(20)
    allowed = [limiter.allow(0.01 * i) for i in range(25)]     # 25 within 0.25 s
    assert allowed.count(True) == 20 and allowed[20:] == [False] * 5
    assert limiter.allow(0.5) is False
    assert limiter.allow(1.0) is True                          # the first one expired
    assert limiter.allow(0.2) is True                          # the clock went back: reset
    limiter.max_per_s = 0
    assert all(limiter.allow(2.0) for _ in range(1000))        # 0: no limit
    limiter.max_per_s = 1
    assert limiter.allow(3.0) and not limiter.allow(3.1)
    with pytest.raises(ValueError):
        limiter.max_per_s = -1


def test_request_header_and_call_record():
    header = SimpleNamespace(request_id=SimpleNamespace(sequence_number=7),
                             source_timestamp=1_000_000_000, received_timestamp=1_002_000_000)
    parsed = request_header(header)
    assert (parsed.sequence_number, parsed.source_timestamp_ns) == (7, 1_000_000_000)
    assert parsed.describe() == 'request #7 sent at 1.000 s (2.0 ms before)'
    assert request_header(SimpleNamespace(sequence_number=3)).describe() == 'request #3'

    sent, recorded, errors = [], [], []

    class Service:
        service_name = '/p/set_learning'

        def send_response(self, response, header):
            sent.append((response, header))

    service = Service()
    record_calls(service, lambda response, h: recorded.append((response, h.sequence_number)),
                 SimpleNamespace(error=errors.append))
    service.send_response('ok', header)
    assert recorded == [('ok', 7)] and sent == [('ok', header)]
    failing = Service()
    record_calls(failing, lambda response, h: 1 / 0, SimpleNamespace(error=errors.append))
    failing.send_response('answer', header)                   # still answered, error logged
    assert sent[-1] == ('answer', header) and 'ZeroDivisionError' in errors[0]


# ------------------------------------------------------------------ with rclpy

class Probe(RecordingNode):
    def __init__(self, namespace: str, **kwargs) -> None:
        super().__init__(namespace, **kwargs)
        self.record(DiagnosticArray, '/diagnostics', RELIABLE)

    def commands_status(self, node: str) -> list[DiagnosticStatus]:
        return self.statuses(f'{node}: commands')


@pytest.fixture
def graph():
    with Graph(DOMAIN_ID) as g:
        yield g


def outsider(graph: Graph, name: str = 'intruder') -> Node:
    """A node outside the graph's namespace, as another process on the domain would be."""
    return graph.add(Node(name, namespace=f'{graph.namespace}_outside', context=graph.context))


def call(node: Node, srv_type: type, name: str, request):
    client = node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=WAIT_S), name
    response = client.call(request, timeout_sec=WAIT_S)
    assert response is not None, f'{name} did not answer'
    return response


def set_timesteps_request(value: int) -> SetParameters.Request:
    return SetParameters.Request(parameters=[ParameterMsg(name='timesteps', value=ParameterValue(
        type=ParameterType.PARAMETER_INTEGER, integer_value=value))])


def test_outside_timestep_command_is_reported_and_refused(graph):
    ns = graph.namespace
    perception = graph.spawn(PerceptionNode, **FRESH, command_publishers=[f'{ns}/governor'])
    probe = graph.add(Probe(ns, context=graph.context))
    wait_until(lambda: probe.commands_status('perception'), what='commands diagnostics')
    assert probe.commands_status('perception')[-1].level == DiagnosticStatus.OK

    intruder = outsider(graph)
    started = time.monotonic()
    pub = intruder.create_publisher(UInt16, f'{ns}/topspark/timesteps', COMMAND_QOS)
    pub.publish(UInt16(data=7))
    wait_until(lambda: [s for s in probe.commands_status('perception')
                        if s.level == DiagnosticStatus.WARN],
               what='a WARN naming the intruder')
    delay = time.monotonic() - started
    warned = [s for s in probe.commands_status('perception') if s.level == DiagnosticStatus.WARN]
    intruder_name = f'{ns}_outside/intruder'
    assert intruder_name in warned[0].message
    assert values_of(warned[0])['unexpected'] == intruder_name
    print(f'outside publisher reported in /diagnostics after {delay:.2f} s')
    wait_until(lambda: perception.counters().get('rejected_unexpected_publisher', 0) >= 1,
               what='the command counted as refused')
    assert perception.get_parameter('timesteps').value == 20

    # the allowed publisher still commands while the intruder is there
    governor = graph.add(Node('governor', namespace=ns, context=graph.context))
    gov_pub = governor.create_publisher(UInt16, 'topspark/timesteps', COMMAND_QOS)
    probe.send_until(gov_pub, lambda: UInt16(data=30),
                     lambda: perception.get_parameter('timesteps').value == 30,
                     'the governor\'s command')
    assert perception.counters().get('rejected_unexpected_publisher', 0) >= 1

    # an unexpected parameter client: `ros2 param set` is refused while it is there
    service = f'{ns}/perception/set_parameters'
    client = intruder.create_client(SetParameters, service)
    wait_until(lambda: intruder_name in perception._gate.watch.clients(service),
               what='the intruder seen as a client of set_parameters')
    assert client.wait_for_service(timeout_sec=WAIT_S)
    response = client.call(set_timesteps_request(7), timeout_sec=WAIT_S)
    assert not response.results[0].successful
    assert 'command_publishers' in response.results[0].reason
    assert perception.get_parameter('timesteps').value == 30
    assert perception.counters()['rejected_unexpected_client'] >= 1


def test_without_allow_list_anyone_commands_and_is_named(graph):
    ns = graph.namespace
    perception = graph.spawn(PerceptionNode, **FRESH)
    probe = graph.add(Probe(ns, context=graph.context))
    intruder = outsider(graph)
    pub = intruder.create_publisher(UInt16, f'{ns}/topspark/timesteps', COMMAND_QOS)
    probe.send_until(pub, lambda: UInt16(data=40),
                     lambda: perception.get_parameter('timesteps').value == 40,
                     'the outside command (accepted, as before)')
    key = f'publishers {ns}/topspark/timesteps'
    wait_until(lambda: any(values_of(s).get(key) == f'{ns}_outside/intruder'
                           for s in probe.commands_status('perception')),
               what='the publisher named in diagnostics')
    assert all(s.level == DiagnosticStatus.OK for s in probe.commands_status('perception'))
    assert not any(k.startswith('rejected_unexpected') for k in perception.counters())


def test_set_learning_refused_while_an_unexpected_client_is_present(graph):
    ns = graph.namespace
    perception = graph.spawn(PerceptionNode, **FRESH,
                             command_publishers=[f'{ns}/operator'])
    operator = graph.add(Node('operator', namespace=ns, context=graph.context))
    assert call(operator, SetBool, f'{ns}/perception/set_learning',
                SetBool.Request(data=True)).success
    wait_until(lambda: perception.counters().get('set_learning_calls') == 1,
               what='the call counted')
    intruder = outsider(graph, 'tool')
    client = intruder.create_client(Trigger, f'{ns}/perception/reset_model')
    wait_until(lambda: perception._gate.watch.call_verdict(f'{ns}/perception/reset_model'),
               what='the unexpected client seen')
    assert client.wait_for_service(timeout_sec=WAIT_S)
    response = client.call(Trigger.Request(), timeout_sec=WAIT_S)
    assert not response.success and f'{ns}_outside/tool' in response.message
    assert perception.counters()['rejected_unexpected_client'] >= 1
    wait_until(lambda: perception.counters().get('reset_model_calls') == 1,
               what='the refused call recorded too')
    # set_learning has no unexpected client: the operator still may call it
    assert call(operator, SetBool, f'{ns}/perception/set_learning',
                SetBool.Request(data=False)).success
    intruder.destroy_client(client)
    wait_until(lambda: not perception._gate.watch.call_verdict(f'{ns}/perception/reset_model'),
               what='the client gone')
    assert call(operator, Trigger, f'{ns}/perception/reset_model', Trigger.Request()).success


def test_timestep_commands_are_rate_limited(graph):
    ns = graph.namespace
    perception = graph.spawn(PerceptionNode, **FRESH, max_timestep_commands_per_s=2)
    probe = graph.add(Probe(ns, context=graph.context))
    pub = probe.create_publisher(UInt16, 'topspark/timesteps', COMMAND_QOS)
    wait_until(lambda: pub.get_subscription_count() >= 1, what='perception subscribed')
    values = [41, 42, 43, 44, 45, 46]
    for value in values:
        pub.publish(UInt16(data=value))
        time.sleep(0.02)
    wait_until(lambda: perception.counters().get('rejected_timesteps_rate_limited', 0) >= 1,
               what='commands beyond 2 per second dropped')
    time.sleep(0.3)
    dropped = perception.counters()['rejected_timesteps_rate_limited']
    assert dropped <= len(values) - 2
    assert perception.get_parameter('timesteps').value in (41, 42)
    time.sleep(1.0)                     # a new second: commands pass again
    probe.send_until(pub, lambda: UInt16(data=60),
                     lambda: perception.get_parameter('timesteps').value == 60,
                     'a command after the window')


def test_governor_refuses_budgets_from_unexpected_publishers(graph):
    ns = graph.namespace
    governor = graph.spawn(GovernorNode, command_publishers=[f'{ns}/planner'])
    probe = graph.add(Probe(ns, context=graph.context))
    intruder = outsider(graph)
    pub = intruder.create_publisher(Float64, f'{ns}/topspark/latency_budget', RELIABLE)
    RecordingNode.send_until(
        probe, pub, lambda: Float64(data=0.001),
        lambda: governor.counters().get('rejected_unexpected_publisher', 0) >= 1,
        'the outside budget refused')
    assert governor.get_parameter('latency_budget_s').value == 0.0
    wait_until(lambda: any(s.level == DiagnosticStatus.WARN
                           and f'{ns}_outside/intruder' in s.message
                           for s in probe.commands_status('governor')),
               what="a WARN in the governor's diagnostics")
    planner = graph.add(Node('planner', namespace=ns, context=graph.context))
    planner_pub = planner.create_publisher(Float64, 'topspark/latency_budget', RELIABLE)
    RecordingNode.send_until(
        probe, planner_pub, lambda: Float64(data=0.02),
        lambda: governor.get_parameter('latency_budget_s').value == 0.02, "the planner's budget")
