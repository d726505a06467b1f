from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'topspark_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'benchmarks', 'benchmarks.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        (os.path.join('share', package_name, 'launch'),
         glob(os.path.join('launch', '*launch.[pxy][yma]*'))),
        (os.path.join('share', package_name, 'config'),
         glob(os.path.join('config', '*.yaml')) + glob(os.path.join('config', '*.xml'))
         + glob(os.path.join('config', '*.npz'))),
        (os.path.join('share', package_name, 'worlds'), glob(os.path.join('worlds', '*.sdf'))),
        (os.path.join('share', package_name, 'config', 'chips'),
         glob(os.path.join('config', 'chips', '*.yaml'))),
    ] + [
        # shipped TopSpark profiles: profile.yaml with its report and plots
        (os.path.join('share', package_name, profile_dir),
         [f for f in glob(os.path.join(profile_dir, '*')) if f.endswith(('.yaml', '.md', '.png'))])
        for profile_dir in sorted(glob(os.path.join('config', 'profile_*')))
    ],
    # ROS convention: run-time dependencies are declared in package.xml (rosdep); the pip
    # environment of the README commands installs them from requirements.txt.
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=True,
    maintainer='topspark_ros maintainers',
    maintainer_email='maintainers@topspark-ros.dev',
    description='Energy-aware SNN perception for ROS 2 (TopSpark adaptive timesteps).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'topspark-train = topspark_ros.cli.train:main',
            'topspark-evaluate = topspark_ros.cli.evaluate:main',
            'topspark-profile = topspark_ros.cli.profile:main',
            'topspark-select = topspark_ros.cli.select:main',
            'topspark-profile-deep = topspark_ros.cli.profile_deep:main',
            'topspark-record = topspark_ros.cli.record:main',
            'topspark-export = topspark_ros.cli.export_nir:main',
            'topspark-import = topspark_ros.cli.import_nir:main',
            'topspark-map = topspark_ros.cli.map:main',
            'topspark-replay = topspark_ros.cli.replay:main',
            'perception_node = topspark_ros.nodes.perception:main',
            'metrics_node = topspark_ros.nodes.metrics:main',
            'governor_node = topspark_ros.nodes.governor:main',
            'topspark-bringup = topspark_ros.bringup:main',
            'topspark-demo = topspark_ros.cli.demo:main',
            'camera_sim = topspark_ros.nodes.camera_sim:main',
            'battery_sim = topspark_ros.nodes.battery_sim:main',
        ],
    },
)
