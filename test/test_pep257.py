# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Docstrings: ament_pep257, as the tests ``ros2 pkg create`` generates run it in ``colcon test``.

ament's convention (pydocstyle without D100-D107, D203, D212, D404) plus these ignores, for the
house docstring style (short docstrings that say why, lines of at most 99 characters):

- D213 (summary on the second line): the summary starts on the first line, as in PEP 257's own
  examples; D212 and D213 are opposites and ament already ignores D212.
- D401 (imperative mood): a docstring says what a function returns or is ("The next source
  index, None once ..."), which reads better for functions that compute a value.
- D403 (capitalised first word): a docstring may start with an identifier (``v``, ``n``,
  ``rosbags'``) whose spelling must stay.
- D205, D209, D400, D415 (a one-line summary sentence, closing quotes on their own line): a
  summary is one sentence that may wrap at 99 columns, and a two-line docstring closes on its
  last line.
"""

from pathlib import Path

from ament_pep257.main import main
import pytest

ROOT = Path(__file__).resolve().parents[1]
HOUSE_STYLE_IGNORES = ['D205', 'D209', 'D213', 'D400', 'D401', 'D403', 'D415']


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch):
    monkeypatch.chdir(ROOT)
    rc = main(argv=['.', '--add-ignore', *HOUSE_STYLE_IGNORES])
    assert rc == 0, 'Found code style errors / warnings'
