# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Files the package ships (model, profile, parameters, launch files), found where it is
installed: colcon and pip put them under ``<prefix>/share/topspark_ros``, an editable install
leaves them in the source tree (``package_share``)."""

from __future__ import annotations

import os
from pathlib import Path
import sys

PACKAGE = 'topspark_ros'
MODEL = 'config/model_n400.npz'
PROFILE = 'config/profile_n400'
DEEP_MODEL = 'config/model_deep_cnn.npz'
DEEP_PROFILE = 'config/profile_deep_cnn'


def package_share(package: str = PACKAGE) -> Path | None:
    """Share directory of ``package``: the ament index, else this source tree for
    topspark_ros; None if neither has it.

    The index is searched as ament_index_python does (``<prefix>/share/ament_index/
    resource_index/packages/<package>`` under each AMENT_PREFIX_PATH entry), then under
    ``sys.prefix``: pip-installed ROS wheels put share/ there but do not set AMENT_PREFIX_PATH.
    The environment is left as it is. An editable install (``pip install -e .``) installs no
    data files; the source tree's own launch/ and config/ then serve, which also keeps edits
    to them effective without a reinstall.
    """
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    for prefix in prefixes + [sys.prefix]:
        share = Path(prefix) / 'share'
        if (share / 'ament_index' / 'resource_index' / 'packages' / package).is_file():
            return share / package
    source_root = Path(__file__).resolve().parent.parent
    if package == PACKAGE and (source_root / 'package.xml').is_file():
        return source_root
    return None


def shipped(relative: str) -> str:
    """Absolute path of a shipped file (``relative`` to the share directory), '' if absent."""
    share = package_share()
    return str(share / relative) if share is not None and (share / relative).exists() else ''
