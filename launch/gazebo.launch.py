# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Optional Gazebo bringup: gz sim, the ros_gz bridge and the topspark_ros graph on sim time.

    ros2 launch topspark_ros gazebo.launch.py [world:=/abs/path/world.sdf] [gz_options:='-r -s']
        [bridge_config:=/abs/path/bridge.yaml] [params_file:=...] [namespace:=robot1]

It starts three things:

1. ros_gz_sim's ``gz_sim.launch.py`` with ``gz_args:="<gz_options> <world>"`` (``-r``: run at
   once; while paused, gz sim still publishes ``/clock`` but sim time stands still, and the
   battery publishes no state and does not drain) and ``on_exit_shutdown:=true``, so closing
   Gazebo ends the launch;
2. ``ros_gz_bridge parameter_bridge`` with ``config_file:=<bridge_config>``; the default,
   config/gz_bridge.yaml, bridges the camera image and camera_info, the battery state and
   /clock from Gazebo to the topics topspark.launch.xml uses by default;
3. launch/topspark.launch.xml with ``use_sim_time:=true``, ``params_file`` and ``namespace``.

The default world, worlds/topspark_camera_battery.sdf, has a camera and a draining linear
battery whose topics match config/gz_bridge.yaml; with your own world, adapt the Gazebo topic
names in a copy of that file (its comments say how) and pass it as ``bridge_config``.

ros_gz_sim and ros_gz_bridge are only needed when this file runs, not to install or use the
rest of topspark_ros (package.xml does not depend on them): they are looked up when the launch
executes, so listing this file's arguments (``--show-args``) works without them. Install them
with ``sudo apt install ros-$ROS_DISTRO-ros-gz``, which brings the Gazebo they were built for.
``gz_args`` is run through a shell by gz_sim.launch.py, so a world path must not contain spaces.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare
from launch_xml.launch_description_sources import XMLLaunchDescriptionSource

PACKAGE = 'topspark_ros'
WORLD = 'topspark_camera_battery.sdf'


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments; include Gazebo and the topspark graph; start the bridge."""
    share = FindPackageShare(PACKAGE)
    world = LaunchConfiguration('world')
    gz_options = LaunchConfiguration('gz_options')
    bridge_config = LaunchConfiguration('bridge_config')
    params_file = LaunchConfiguration('params_file')
    namespace = LaunchConfiguration('namespace')
    return LaunchDescription([
        DeclareLaunchArgument(
            'world', default_value=PathJoinSubstitution([share, 'worlds', WORLD]),
            description='SDF world for gz sim (absolute path, no spaces)'),
        DeclareLaunchArgument(
            'gz_options', default_value='-r',
            description="gz sim options before the world: -r runs at once; add -s for the "
                        "server only (no GUI), -v 4 for verbose output"),
        DeclareLaunchArgument(
            'bridge_config',
            default_value=PathJoinSubstitution([share, 'config', 'gz_bridge.yaml']),
            description='ros_gz_bridge YAML: Gazebo topics -> the topics topspark uses'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([share, 'config', 'topspark.yaml']),
            description='Parameter file for the topspark nodes (use_sim_time is set to true)'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of the topspark nodes (the bridged topics stay absolute)'),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution(
                [FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])),
            launch_arguments={'gz_args': [gz_options, ' ', world],
                              'on_exit_shutdown': 'true'}.items()),
        Node(
            package='ros_gz_bridge', executable='parameter_bridge', name='topspark_gz_bridge',
            output='screen', parameters=[{'config_file': bridge_config}]),
        IncludeLaunchDescription(
            XMLLaunchDescriptionSource(
                PathJoinSubstitution([share, 'launch', 'topspark.launch.xml'])),
            launch_arguments={'use_sim_time': 'true', 'params_file': params_file,
                              'namespace': namespace}.items()),
    ])
