"""Style: flake8 with ament_flake8's line length over the package, tests and benchmarks."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.linter
def test_flake8():
    pytest.importorskip('flake8')
    paths = ['topspark_ros', 'test', 'benchmarks', 'launch', 'setup.py']
    result = subprocess.run([sys.executable, '-m', 'flake8', *paths], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, f'flake8 found problems:\n{result.stdout}{result.stderr}'
