# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Deployment on neuromorphic hardware, without ROS: NIR graphs both ways (``nir_export``,
``nir_import``) and the placement of a model's neurons on a core-based chip (``chips``,
``traffic``, ``mapping``). docs/hardware.md describes the mapping of each part."""
