# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Style: ament_flake8, as the tests ``ros2 pkg create`` generates run it in ``colcon test``.

ament_flake8 brings its own configuration (line length 99, the pydocstyle codes it leaves to
ament_pep257 ignored) and checks every Python file under the package root, skipping directories
that start with '.' or '_' (the virtual environments) and those holding an AMENT_IGNORE file.
The repository's .flake8 has the same limits for a plain ``flake8`` run.
"""

from pathlib import Path

from ament_flake8.main import main_with_errors
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    monkeypatch.chdir(ROOT)                 # ament_flake8 finds its excludes from the cwd
    rc, errors = main_with_errors(argv=[])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
