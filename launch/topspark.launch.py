# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The topspark_ros graph as a Python launch description; same graph as topspark.launch.xml.

The XML file is canonical (topspark-bringup runs it without ROS launch, and the tests check it);
this one is for users who prefer Python launch files or want to include the graph from one.
Large camera frames from another process: see config/fastdds_large_frames.xml.

Secured (SROS2): each node runs in the enclave ``<enclave>/<node name>`` (``--enclave`` in its
ROS arguments), the enclaves of config/sros2/policy.xml with the default ``/topspark``; they
only matter when ROS_SECURITY_ENABLE=true (docs/ros.md, "Running secured"). The XML file takes
the same through ``ros_args`` on ``ros2 launch`` (its comment shows how).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'topspark_ros'


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments and the perception, governor and metrics nodes."""
    params_file = LaunchConfiguration('params_file')
    image_topic = LaunchConfiguration('image_topic')
    battery_topic = LaunchConfiguration('battery_topic')
    namespace = LaunchConfiguration('namespace')
    # After params_file, so it wins over the file's `/**: use_sim_time` (gazebo.launch.py).
    sim_time = {'use_sim_time': LaunchConfiguration('use_sim_time')}
    profile = {'profile_path': LaunchConfiguration('profile_path')}
    model = {'model_path': LaunchConfiguration('model_path')}
    enclave = LaunchConfiguration('enclave')
    share = FindPackageShare(PACKAGE)
    return LaunchDescription([
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([share, 'config', 'topspark.yaml']),
            description='Parameter file for all nodes (/** and /**/node-name sections)'),
        DeclareLaunchArgument(
            'model_path',
            default_value=PathJoinSubstitution([share, 'config', 'model_n400.npz']),
            description='Perception model checkpoint (.npz); default: the shipped N400 model'),
        DeclareLaunchArgument(
            'profile_path', default_value=PathJoinSubstitution([share, 'config', 'profile_n400']),
            description="TopSpark profile made for that model (perception and governor); '' "
                        'none'),
        DeclareLaunchArgument(
            'image_topic', default_value='/camera/image_raw',
            description='Camera topic; image_topic/compressed is used for compressed frames'),
        DeclareLaunchArgument(
            'battery_topic', default_value='/battery_state',
            description='sensor_msgs/BatteryState topic'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of the three nodes and their topspark/* topics'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false',
            description='Use the /clock topic (Gazebo, ros2 bag play --clock); overrides '
                        'params_file'),
        DeclareLaunchArgument(
            'enclave', default_value='/topspark',
            description='SROS2 enclave root: each node runs in <enclave>/<node name> (used '
                        'when ROS_SECURITY_ENABLE=true; see config/sros2/policy.xml)'),
        Node(
            package=PACKAGE, executable='perception_node', name='perception',
            namespace=namespace, output='screen',
            ros_arguments=['--enclave', [enclave, '/perception']],
            parameters=[params_file, sim_time, model, profile],
            remappings=[('image', image_topic),
                        ('image/compressed', [image_topic, '/compressed'])]),
        Node(
            package=PACKAGE, executable='governor_node', name='governor',
            namespace=namespace, output='screen',
            ros_arguments=['--enclave', [enclave, '/governor']],
            parameters=[params_file, sim_time, profile],
            remappings=[('battery_state', battery_topic)]),
        Node(
            package=PACKAGE, executable='metrics_node', name='metrics',
            namespace=namespace, output='screen',
            ros_arguments=['--enclave', [enclave, '/metrics']],
            parameters=[params_file, sim_time]),
    ])
