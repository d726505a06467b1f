# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``colcon build`` of this package in a temporary workspace, when colcon is installed.

pip installs differ from what ROS tools rely on (pip ignores setup.cfg's ``install_scripts``, so
console scripts land in bin/ instead of lib/topspark_ros, where ``ros2 run`` and ``ros2 launch``
look; colcon reads setup.cfg). This builds the package the way a ROS workspace does and checks the
install tree: executables in lib/topspark_ros, launch and config files in share/topspark_ros, the
ament index marker, and that the installed bringup resolves ``$(find-pkg-share topspark_ros)``
through the ament index to the install tree. colcon is looked up in $COLCON, next to this Python,
in .venv-colcon/ (its own venv: colcon only runs setup.py, it needs no ROS), then on PATH (``pip
install colcon-common-extensions``); without it the tests are skipped.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from package_files import setup_arguments

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'topspark_ros'
# What setup.py reads or installs; the rest of the repository is not part of the package.
SOURCES = ('package.xml', 'setup.py', 'setup.cfg', 'resource', 'topspark_ros', 'launch',
           'config', 'worlds')
BUILD_TIMEOUT_S = 600


def find_colcon() -> str | None:
    candidates = (os.environ.get('COLCON'), str(Path(sys.executable).parent / 'colcon'),
                  str(ROOT / '.venv-colcon' / 'bin' / 'colcon'), shutil.which('colcon'))
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


COLCON = find_colcon()
pytestmark = pytest.mark.skipif(
    COLCON is None, reason='colcon not found ($COLCON, next to sys.executable, .venv-colcon, '
                           'PATH); pip install colcon-common-extensions to run this check')


def console_scripts() -> list[str]:
    """Names of the console_scripts setup.py passes to setup()."""
    return [line.split('=')[0].strip()
            for line in setup_arguments()['entry_points']['console_scripts']]


@pytest.fixture(scope='module')
def install(tmp_path_factory) -> Path:
    """Copy the package into a fresh workspace, colcon build it; the package's install prefix."""
    workspace = tmp_path_factory.mktemp('colcon_ws')
    source = workspace / 'src' / PACKAGE
    source.mkdir(parents=True)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    env = dict(os.environ, COLCON_HOME=str(workspace / 'colcon_home'))   # no user defaults
    result = subprocess.run(
        [COLCON, 'build', '--packages-select', PACKAGE, '--event-handlers', 'console_cohesion+'],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, f'colcon build failed:\n{result.stdout}\n{result.stderr}'
    return workspace / 'install' / PACKAGE


def test_executables_are_in_lib_package(install):
    """setup.cfg's install_scripts puts them where `ros2 run` and `ros2 launch` look."""
    lib = install / 'lib' / PACKAGE
    assert (lib / 'perception_node').is_file() and (lib / 'camera_sim_node').is_file()
    for name in console_scripts():
        assert os.access(lib / name, os.X_OK), f'{name} missing from {lib}'


def test_launch_config_and_index_are_in_share(install):
    share = install / 'share' / PACKAGE
    assert (share / 'launch' / 'topspark.launch.xml').is_file()
    assert (share / 'launch' / 'topspark.launch.py').is_file()
    assert (share / 'config' / 'topspark.yaml').is_file()
    assert (share / 'config' / 'fastdds_large_frames.xml').is_file()
    assert (share / 'launch' / 'gazebo.launch.py').is_file()
    assert (share / 'config' / 'gz_bridge.yaml').is_file()
    assert (share / 'worlds' / 'topspark_camera_battery.sdf').is_file()
    assert (share / 'package.xml').is_file()
    assert (install / 'share' / 'ament_index' / 'resource_index' / 'packages' / PACKAGE).is_file()


def test_installed_bringup_finds_its_share_through_the_ament_index(install, tmp_path):
    (site_packages,) = install.glob('lib/python*/site-packages')
    launch = install / 'share' / PACKAGE / 'launch' / 'topspark.launch.xml'
    env = dict(os.environ, PYTHONPATH=str(site_packages), AMENT_PREFIX_PATH=str(install))
    code = ('import sys, topspark_ros; print(topspark_ros.__file__); '
            'from topspark_ros import bringup; sys.exit(bringup.main(sys.argv[1:]))')
    result = subprocess.run([sys.executable, '-c', code, str(launch), '--list'], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    imported_from, *listing = result.stdout.splitlines()
    assert imported_from.startswith(str(site_packages)), imported_from
    config = install / 'share' / PACKAGE / 'config' / 'topspark.yaml'
    assert f'  params_file:={config}' in listing, result.stdout
