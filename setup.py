# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
from glob import glob
import os
from pathlib import Path
import runpy

from setuptools import find_packages, setup

package_name = 'topspark_ros'
# The executable names live in one file, read without importing the package (or its imports).
EXECUTABLES = runpy.run_path(str(Path(__file__).resolve().parent / package_name
                                 / 'executables.py'))

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
        (os.path.join('share', package_name, 'config', 'sros2'),
         glob(os.path.join('config', 'sros2', '*.xml'))),
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
    extras_require={'test': ['pytest'],
                    # topspark-train-deep: CPU JAX + optax (requirements-deep.txt)
                    'deep': ['jax==0.10.2', 'jaxlib==0.10.2', 'optax==0.2.8']},
    zip_safe=True,
    maintainer='topspark_ros maintainers',
    maintainer_email='maintainers@topspark-ros.dev',
    description='Energy-aware SNN perception for ROS 2 (TopSpark adaptive timesteps).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': EXECUTABLES['CONSOLE_SCRIPTS'],
    },
)
