# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The SROS2 access-control policy of the graph: one enclave per node, least privilege.

``GRAPH`` lists, per node, the topics it publishes and subscribes and the services it serves
and calls, with the names the launch files give them (``launch/topspark.launch.xml`` remaps
``image`` to ``/camera/image_raw`` and ``battery_state`` to ``/battery_state``). From it,
``policy_xml`` writes ``config/sros2/policy.xml`` in the SROS2 policy format (what
``ros2 security create_permission`` and ``generate_artifacts`` read). test/test_sros2_policy.py
starts each node of this package and checks that what it creates in the graph is exactly what
its profile grants, so the policy cannot drift from the code; the file is regenerated with
``python -m topspark_ros.ros.sros2_policy --out config/sros2/policy.xml``.

Names follow SROS2's resolution (its ``permissions.xsl``): ``/x`` is absolute, ``~/x`` is
private to the node, anything else is relative to the profile's namespace. ``resolve`` does the
same, for the tests. No ROS import: the policy is data.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys
from xml.sax.saxutils import escape

ENCLAVE_ROOT = '/topspark'
"""Enclaves are ``/topspark/<node>``: ``--ros-args --enclave /topspark/perception``."""

PARAMETER_SERVICES = ('~/describe_parameters', '~/get_parameter_types', '~/get_parameters',
                      '~/get_type_description', '~/list_parameters', '~/set_parameters',
                      '~/set_parameters_atomically')
"""Services every rclpy/rclcpp node serves (Kilted adds get_type_description)."""
BUILTIN_PUBLISH = ('/parameter_events', '/rosout')
BUILTIN_SUBSCRIBE = ('/clock',)         # use_sim_time (the launch files' argument)


@dataclass(frozen=True)
class NodeInterfaces:
    """What one node creates in the graph, besides the ROS built-ins every node has."""

    node: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    reply: tuple[str, ...] = ()         # services it serves
    request: tuple[str, ...] = ()       # services it calls
    in_package: bool = True             # a node of this package (False: a third-party role)
    note: str = ''

    @property
    def enclave(self) -> str:
        return f'{ENCLAVE_ROOT}/{self.node}'

    def grants(self) -> dict[str, tuple[str, ...]]:
        """Every grant, built-ins included, by direction (publish, subscribe, reply, request)."""
        return {
            'publish': tuple(sorted(set(self.publish + BUILTIN_PUBLISH))),
            'subscribe': tuple(sorted(set(self.subscribe + BUILTIN_SUBSCRIBE))),
            'reply': tuple(sorted(set(self.reply + PARAMETER_SERVICES))),
            'request': tuple(sorted(set(self.request))),
        }


CAMERA_TOPICS = ('/camera/image_raw', '/camera/image_raw/compressed', 'events')

GRAPH: tuple[NodeInterfaces, ...] = (
    NodeInterfaces(
        'perception',
        publish=('topspark/prediction', 'topspark/scores', 'topspark/activity',
                 'topspark/latency', '/diagnostics'),
        subscribe=CAMERA_TOPICS + ('topspark/timesteps', 'topspark/label'),
        reply=('~/save_model', '~/reset_model', '~/set_learning')),
    NodeInterfaces(
        'governor',
        publish=('topspark/timesteps', '/diagnostics'),
        subscribe=('/battery_state', 'topspark/latency_budget', 'topspark/latency'),
        note='the only publisher of topspark/timesteps'),
    NodeInterfaces(
        'metrics',
        publish=('topspark/energy/sample', 'topspark/energy/total', 'topspark/energy/savings',
                 'topspark/power', '/diagnostics'),
        subscribe=('topspark/activity',)),
    NodeInterfaces(
        'camera_sim',
        publish=('/camera/image_raw', 'events', 'topspark/label_truth', 'topspark/label',
                 '/diagnostics'),
        note='events only with events:=true; topspark/label only with '
             'publish_teacher_labels:=true'),
    NodeInterfaces(
        'battery_sim',
        publish=('/battery_state', '/diagnostics'),
        subscribe=('topspark/power',)),
    NodeInterfaces(
        'camera_driver', publish=CAMERA_TOPICS + ('/camera/camera_info',), in_package=False,
        note='a real camera (or event camera) driver feeding perception'),
    NodeInterfaces(
        'battery_producer', publish=('/battery_state',), in_package=False,
        note='the robot battery driver (or the Gazebo bridge) feeding the governor'),
    NodeInterfaces(
        'planner', publish=('topspark/latency_budget',),
        subscribe=('topspark/prediction', 'topspark/scores'), in_package=False,
        note='reads predictions; may set the latency budget'),
)


def by_node(name: str) -> NodeInterfaces:
    """The interfaces of node ``name`` in ``GRAPH``."""
    return next(n for n in GRAPH if n.node == name)


def resolve(name: str, namespace: str, node: str) -> str:
    """A policy name as SROS2 resolves it for a profile (ns=``namespace``, node=``node``)."""
    prefix = namespace if namespace.endswith('/') else namespace + '/'
    if name.startswith('/'):
        return name
    if name.startswith('~'):
        return prefix + node + name[1:]
    return prefix + name


def _elements(kind: str, attribute: str, names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    tag = kind[:-1]
    lines = [f'          <{kind} {attribute}="ALLOW">']
    lines += [f'            <{tag}>{escape(n)}</{tag}>' for n in names]
    lines.append(f'          </{kind}>')
    return lines


def policy_xml(graph: tuple[NodeInterfaces, ...] = GRAPH, namespace: str = '/') -> str:
    """The SROS2 policy document (policy.xsd, version 0.2.0) for ``graph`` in ``namespace``."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<!-- Generated from topspark_ros/ros/sros2_policy.py (docs/ros.md, "Running '
             'secured"):',
             '     edit that, not this file. One enclave per node; names as '
             'launch/topspark.launch.xml',
             '     remaps them. XML comments cannot hold a double hyphen, hence no command '
             'line here. -->',
             '<policy version="0.2.0">', '  <enclaves>']
    for node in graph:
        grants = node.grants()
        lines += [f'    <enclave path="{node.enclave}">', '      <profiles>']
        if node.note:
            lines.append(f'        <!-- {escape(node.note)} -->')
        lines.append(f'        <profile ns="{escape(namespace)}" node="{node.node}">')
        lines += _elements('topics', 'publish', grants['publish'])
        lines += _elements('topics', 'subscribe', grants['subscribe'])
        lines += _elements('services', 'reply', grants['reply'])
        lines += _elements('services', 'request', grants['request'])
        lines += ['        </profile>', '      </profiles>', '    </enclave>']
    lines += ['  </enclaves>', '</policy>', '']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write (``--out``) or check (``--check``) the policy file; print it otherwise."""
    parser = argparse.ArgumentParser(
        prog='python -m topspark_ros.ros.sros2_policy',
        description='Generate the SROS2 policy of the topspark_ros graph.')
    parser.add_argument('--out', type=Path, help='write the policy to this file')
    parser.add_argument('--check', type=Path,
                        help='exit 1 if this file differs from the generated policy')
    parser.add_argument('--namespace', default='/',
                        help='namespace of the nodes (the launch argument namespace)')
    args = parser.parse_args(argv)
    if not args.namespace.startswith('/'):
        print(f'--namespace: {args.namespace!r} must start with /', file=sys.stderr)
        return 2
    text = policy_xml(namespace=args.namespace)
    if args.check:
        try:
            current = args.check.read_text(encoding='utf-8')
        except OSError as exc:
            print(f'--check: cannot read {args.check}: {exc.strerror}', file=sys.stderr)
            return 2
        if current != text:
            print(f'{args.check} is out of date: regenerate it with --out', file=sys.stderr)
            return 1
        return 0
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding='utf-8')
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
