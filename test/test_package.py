# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What a ROS user meets: declared dependencies and executable names, checked without ROS.

``rosdep install`` reads package.xml: an import it does not declare leaves a package that cannot
start. So every top-level import of a third-party module in topspark_ros/ and launch/ must map
to a declared dependency, and the executables follow one naming convention from one list.
"""

from __future__ import annotations

import ast
from pathlib import Path
import sys
from xml.etree import ElementTree

import yaml

from topspark_ros import executables

from package_files import ROOT, setup_arguments

# Import name -> rosdep key, where they differ (a ROS package's key is its import name).
ROSDEP_KEYS = {
    'cv2': 'python3-opencv', 'yaml': 'python3-yaml', 'numpy': 'python3-numpy',
    'numba': 'python3-numba', 'sklearn': 'python3-sklearn', 'matplotlib': 'python3-matplotlib',
    'tqdm': 'python3-tqdm', 'mlxtend': 'python3-mlxtend-pip', 'rosbags': 'python3-rosbags-pip',
    'nir': 'python3-nir-pip',
}
# Imports a user can go without, with the reason; each must be imported only where it is used.
OPTIONAL = {
    'distributed': 'topspark-profile --dask only (requirements.txt installs it)',
    'jax': 'topspark-train-deep only: the deep extra (requirements-deep.txt)',
    'optax': 'topspark-train-deep only: the deep extra (requirements-deep.txt)',
}
# Modules that are themselves the optional part: they may import it at module level, since
# nothing else imports them so (test_deep_train.py checks that inference never loads jax).
OPTIONAL_MODULES = {'topspark_ros/deep/train.py', 'topspark_ros/deep/bptt.py',
                    'topspark_ros/deep/jax_layers.py'}


def imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in one Python file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names


def third_party_imports() -> dict[str, list[str]]:
    """{import name: files} over topspark_ros/ and launch/, without stdlib and the package."""
    found: dict[str, list[str]] = {}
    files = sorted((ROOT / 'topspark_ros').rglob('*.py')) + sorted((ROOT / 'launch').glob('*.py'))
    for path in files:
        for name in imports(path) - set(sys.stdlib_module_names) - {'topspark_ros'}:
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def exec_depends() -> set[str]:
    root = ElementTree.parse(ROOT / 'package.xml').getroot()
    return {e.text.strip() for tag in ('exec_depend', 'depend') for e in root.iter(tag)}


def test_every_third_party_import_is_a_declared_dependency():
    declared = exec_depends()
    found = third_party_imports()
    assert {'numba', 'rclpy', 'launch_ros', 'mlxtend'} <= found.keys()   # the scan sees them
    missing = [f'{name} (rosdep key {ROSDEP_KEYS.get(name, name)}; imported in '
               f'{", ".join(files[:3])})' for name, files in sorted(found.items())
               if name not in OPTIONAL and ROSDEP_KEYS.get(name, name) not in declared]
    assert not missing, 'package.xml lacks exec_depends for:\n' + '\n'.join(missing)
    if list((ROOT / 'launch').glob('*.launch.xml')):
        assert {'launch_xml', 'ros2launch'} <= declared


def test_optional_imports_are_optional():
    """Not imported at module level: the package imports and runs without them."""
    for name in OPTIONAL:
        for path in sorted((ROOT / 'topspark_ros').rglob('*.py')):
            if str(path.relative_to(ROOT)) in OPTIONAL_MODULES:
                continue
            tree = ast.parse(path.read_text())
            top_level = {n.module.split('.')[0] if isinstance(n, ast.ImportFrom) and n.module
                         else a.name.split('.')[0]
                         for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                         for a in n.names}
            assert name not in top_level, f'{path}: optional {name} imported at module level'


def test_pip_rosdep_keys_are_defined_here_or_in_rosdistro():
    """Our rosdep.yaml defines the -pip keys the ROS database lacks, each as a pip package."""
    rules = yaml.safe_load((ROOT / 'rosdep.yaml').read_text())
    declared = exec_depends()
    for key, platforms in rules.items():
        assert key in declared, f'rosdep.yaml defines {key}, which package.xml does not use'
        assert all(p['pip']['packages'] for p in platforms.values()), key
    in_rosdistro = {'python3-rosbags-pip'}          # rosdistro's rosdep/python.yaml has it
    for key in sorted(k for k in declared if k.endswith('-pip')):
        assert key in rules or key in in_rosdistro, f'{key}: no rosdep rule for this key'


def test_executables_follow_one_naming_convention_from_one_list():
    assert all(name.endswith(executables.NODE_SUFFIX) for name in executables.NODES)
    assert all(name.startswith(executables.TOOL_PREFIX) for name in executables.TOOLS)
    node_modules = {f'topspark_ros.nodes.{p.stem}' for p in (ROOT / 'topspark_ros' / 'nodes')
                    .glob('*.py') if p.stem != '__init__'}
    assert {n.module for n in executables.NODES.values()} == node_modules
    scripts = setup_arguments()['entry_points']['console_scripts']
    assert scripts == executables.CONSOLE_SCRIPTS
    assert 'camera_sim_node = topspark_ros.nodes.camera_sim:main' in scripts
