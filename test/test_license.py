# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The package's license, said once in every place a user or a packager looks for it."""

from pathlib import Path
import subprocess
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
SPDX = '# SPDX-License-Identifier: Apache-2.0'


def test_every_python_file_carries_the_license_header():
    files = subprocess.run(['git', 'ls-files', '*.py'], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    missing = [name for name in files
               if SPDX not in (ROOT / name).read_text().split('\n')[:4]]
    assert files and not missing, f'no license header in {missing}'


def test_license_file_package_xml_and_setup_agree():
    assert (ROOT / 'LICENSE').read_text().lstrip().startswith('Apache License')
    assert ElementTree.parse(ROOT / 'package.xml').getroot().findtext('license') == 'Apache-2.0'
    assert "license='Apache-2.0'" in (ROOT / 'setup.py').read_text()
