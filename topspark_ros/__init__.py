# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark_ros: energy-aware SNN perception for ROS 2 robots (TopSpark, Putra & Shafique 2023)."""

__version__ = '0.1.0'
