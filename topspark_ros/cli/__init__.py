# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Command-line tools: train, evaluate (and, with later modules, profile, select, demo)."""
