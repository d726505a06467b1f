# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What the package declares, read the way the build reads it (no ROS needed)."""

from __future__ import annotations

import os
from pathlib import Path
import runpy
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]


def setup_arguments() -> dict[str, Any]:
    """The keyword arguments setup.py passes to setuptools.setup(), run from the package root."""
    captured: dict[str, Any] = {}
    cwd = os.getcwd()
    os.chdir(ROOT)                      # setup.py globs data files relative to its directory
    try:
        with mock.patch('setuptools.setup', lambda **kwargs: captured.update(kwargs)):
            runpy.run_path(str(ROOT / 'setup.py'), run_name='__main__')
    finally:
        os.chdir(cwd)
    return captured
