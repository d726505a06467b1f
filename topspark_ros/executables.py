# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The package's executables: the one list behind setup.py's console scripts and bringup.

Two naming conventions: a ROS executable (a node, run by ``ros2 run`` and ``ros2 launch``) is
``<name>_node``; a command-line tool is ``topspark-<name>``. setup.py reads this file with
``runpy`` rather than importing the package (building must not need numba, rclpy, ...), so it
imports nothing but the standard library.
"""

from __future__ import annotations

from typing import NamedTuple


class NodeExecutable(NamedTuple):
    """A ROS executable: the module whose ``main()`` spins it and its rclpy Node class."""

    module: str         # the console script runs module:main
    node_class: str     # what topspark-bringup builds to run the node in its own process


NODE_SUFFIX = '_node'
TOOL_PREFIX = 'topspark-'

NODES: dict[str, NodeExecutable] = {
    'perception_node': NodeExecutable('topspark_ros.nodes.perception', 'PerceptionNode'),
    'governor_node': NodeExecutable('topspark_ros.nodes.governor', 'GovernorNode'),
    'metrics_node': NodeExecutable('topspark_ros.nodes.metrics', 'MetricsNode'),
    'camera_sim_node': NodeExecutable('topspark_ros.nodes.camera_sim', 'CameraSimNode'),
    'battery_sim_node': NodeExecutable('topspark_ros.nodes.battery_sim', 'BatterySimNode'),
}

# Command-line tools: name -> the module whose main() runs it.
TOOLS: dict[str, str] = {
    'topspark-train': 'topspark_ros.cli.train',
    'topspark-train-deep': 'topspark_ros.cli.train_deep',
    'topspark-evaluate': 'topspark_ros.cli.evaluate',
    'topspark-profile': 'topspark_ros.cli.profile',
    'topspark-select': 'topspark_ros.cli.select',
    'topspark-profile-deep': 'topspark_ros.cli.profile_deep',
    'topspark-export': 'topspark_ros.cli.export_nir',
    'topspark-import': 'topspark_ros.cli.import_nir',
    'topspark-map': 'topspark_ros.cli.map',
    'topspark-record': 'topspark_ros.cli.record',
    'topspark-replay': 'topspark_ros.cli.replay',
    'topspark-bringup': 'topspark_ros.bringup',
    'topspark-demo': 'topspark_ros.cli.demo',
}

CONSOLE_SCRIPTS: list[str] = (
    [f'{name} = {module}:main' for name, module in TOOLS.items()]
    + [f'{name} = {node.module}:main' for name, node in NODES.items()])
"""setup.py's ``entry_points['console_scripts']``: every executable runs its module's main()."""
