# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The core imports no ROS: importing all of it in a fresh interpreter loads no rclpy.

The core (``snn``, ``topspark``, ``sim``, ``energy``, ``datasets``, ``dvs``) must run where ROS is
not installed (training, sweeps, CI); only nodes, ``ros/`` and some tools use rclpy. A fresh
process is needed because the test session itself has rclpy loaded by other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

CORE = ('topspark_ros.snn', 'topspark_ros.topspark', 'topspark_ros.sim', 'topspark_ros.energy',
        'topspark_ros.datasets', 'topspark_ros.dvs', 'topspark_ros.executables',
        'topspark_ros.perception')
ROS_MODULES = ('rclpy', 'rcl_interfaces', 'rosidl_runtime_py', 'builtin_interfaces', 'std_msgs',
               'sensor_msgs', 'diagnostic_msgs', 'std_srvs', 'ament_index_python', 'rosbags')

# Imports every module of the core packages, then reports the modules loaded.
PROBE = '''
import importlib, json, pkgutil, sys
imported = []
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(module, '__path__', []), name + '.'):
        importlib.import_module(info.name)
        imported.append(info.name)
print(json.dumps({'imported': imported, 'loaded': sorted(sys.modules)}))
'''


def loaded_after_importing(*modules: str) -> dict[str, list[str]]:
    result = subprocess.run([sys.executable, '-c', PROBE, *modules], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def ros_loaded(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name.split('.')[0] in ROS_MODULES]


def test_importing_the_core_loads_no_ros():
    report = loaded_after_importing(*CORE)
    assert {'topspark_ros.snn.kernels', 'topspark_ros.topspark.sweep',
            'topspark_ros.sim.camera'} <= set(report['imported'])
    assert not ros_loaded(report['loaded']), ros_loaded(report['loaded'])


def test_the_probe_sees_rclpy_when_a_node_is_imported():
    """The check can fail: a node module does load rclpy."""
    report = loaded_after_importing('topspark_ros.nodes.camera_sim')
    assert 'rclpy' in ros_loaded(report['loaded'])
