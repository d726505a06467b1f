# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated sensors without ROS: what the simulator nodes publish, computed and tested here."""
