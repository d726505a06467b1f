# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""ROS adapters: message <-> NumPy conversions and helpers shared by the nodes."""
