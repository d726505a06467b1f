# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 nodes: thin adapters that convert messages, call the core and publish (one per file)."""
