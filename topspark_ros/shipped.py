# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Files the package ships (model, profile, parameters), found where it is installed.

colcon and pip install them under ``<prefix>/share/topspark_ros``; an editable install
installs no data files, so the source tree's own ``config/`` serves then.
"""

from __future__ import annotations

import os
from pathlib import Path
import sys

PACKAGE = 'topspark_ros'
MODEL = 'config/model_n400.npz'
PROFILE = 'config/profile_n400'
DEEP_MODEL = 'config/model_deep_cnn.npz'
DEEP_PROFILE = 'config/profile_deep_cnn'


def share_candidates() -> list[Path]:
    """Where the package's share directory may be, most specific first."""
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    candidates = [Path(p) / 'share' / PACKAGE for p in prefixes + [sys.prefix]]
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / 'package.xml').is_file():
        candidates.append(source_root)
    return candidates


def shipped(relative: str) -> str:
    """Absolute path of a shipped file (``relative`` to the share directory), '' if absent."""
    for share in share_candidates():
        if (share / relative).exists():
            return str(share / relative)
    return ''
