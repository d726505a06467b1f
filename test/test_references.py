# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The repository stands alone: every file, link or document it names is in it.

Checked in every text file of the repository (git's tracked and untracked-but-not-ignored files,
or a walk without hidden and build directories when git is unavailable), except this file:

- Markdown links and images ``[text](target)`` with a relative target: the target, relative to
  the linking file, exists inside the repository.
- Mentions of ``*.md`` files: a path (``docs/ros.md``, globs allowed) exists relative to the
  repository root or to the mentioning file; a bare name (``report.md``) is a file somewhere in
  the repository or one that Python code here writes (a string literal ``'report.md'``).
- Names of documents that only the team has (design notes outside the repository).
"""

from __future__ import annotations

from pathlib import Path
import re
import shutil
import subprocess

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {'build', 'install', 'log', 'runs', '__pycache__'}
BINARY_SUFFIXES = {'.png', '.jpg', '.jpeg', '.npz', '.npy', '.pyc', '.bag', '.db3', '.mcap'}
TEAM_ONLY = re.compile(r'\b(?:DESIGN|TOPSPARK|DEEP_SNN|STYLE)\.md\b|ROS2_NOTES|DEEP_SNN'
                       r'|\.\./shared\b|/work/shared\b')
LINK = re.compile(r'!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
MD_MENTION = re.compile(r'(?<![\w./*-])([\w./*-]*[\w*]\.md)\b')
EXTERNAL = re.compile(r'^(?:[a-z][a-z0-9+.-]*:|#)', re.IGNORECASE)


def repository_files() -> list[Path]:
    """The repository's files: from git when it knows them, else a filtered walk."""
    if shutil.which('git') and (ROOT / '.git').exists():
        result = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard',
                                 '-z'], cwd=ROOT, capture_output=True, text=True)
        if result.returncode == 0:
            return [ROOT / name for name in result.stdout.split('\0') if name]
    return [path for path in ROOT.rglob('*') if path.is_file()
            and not any(part.startswith('.') or part in SKIP_DIRS or part.endswith('.egg-info')
                        for part in path.relative_to(ROOT).parts)]


def text_files() -> dict[Path, str]:
    """{path: text} of the repository's text files, without this file."""
    texts = {}
    for path in repository_files():
        if path.suffix.lower() in BINARY_SUFFIXES or path == Path(__file__).resolve():
            continue
        try:
            texts[path] = path.read_text(encoding='utf-8')
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
    return texts


def inside(path: Path) -> bool:
    """True when ``path`` exists and lies in the repository."""
    resolved = path.resolve()
    return resolved.exists() and (resolved == ROOT or ROOT in resolved.parents)


def exists(pattern: str, base: Path) -> bool:
    """A path (or glob) relative to ``base`` that matches something in the repository."""
    if any(c in pattern for c in '*?['):
        return any(inside(p) for p in base.glob(pattern))
    return inside(base / pattern)


def line_of(text: str, offset: int) -> int:
    return text.count('\n', 0, offset) + 1


def missing_references(texts: dict[Path, str]) -> list[str]:
    """'file:line: reason' for every reference that does not resolve inside the repository."""
    names = {path.name for path in repository_files()}
    written = {m.group(1) for path, text in texts.items() if path.suffix == '.py'
               for m in re.finditer(r"""['"]([\w.-]+\.md)['"]""", text)}
    problems = []
    for path, text in texts.items():
        where = path.relative_to(ROOT)
        for match in TEAM_ONLY.finditer(text):
            problems.append(f'{where}:{line_of(text, match.start())}: {match.group(0)!r} is a '
                            'team-only document, not in the repository')
        if path.suffix == '.md':
            for match in LINK.finditer(text):
                target = match.group(1).split('#')[0]
                if target and not EXTERNAL.match(match.group(1)) \
                        and not exists(target, path.parent):
                    problems.append(f'{where}:{line_of(text, match.start())}: link to '
                                    f'{match.group(1)!r}, which is not in the repository')
        for match in MD_MENTION.finditer(text):
            mention = match.group(1)
            if '/' in mention:
                found = exists(mention.lstrip('/'), ROOT) or exists(mention, path.parent)
            else:
                found = mention in names or mention in written
            if not found:
                problems.append(f'{where}:{line_of(text, match.start())}: {mention!r} is not '
                                'in the repository')
    return problems


def test_every_referenced_file_is_in_the_repository():
    texts = text_files()
    assert ROOT / 'README.md' in texts and ROOT / 'docs' / 'ros.md' in texts
    problems = missing_references(texts)
    assert not problems, 'references to files the repository lacks:\n' + '\n'.join(problems)


def test_the_check_finds_missing_links_mentions_and_team_documents(tmp_path):
    """The checker itself: each kind of broken reference is reported, valid ones are not."""
    doc = ROOT / 'docs' / 'ros.md'
    texts = {doc: '\n'.join([
        'See [the model](model.md), [energy](./energy.md#units) and [web](https://ros.org).',
        'Broken: [gone](missing_file.md) and ![plot](images/none.png).',
        'Mentions: `docs/topspark.md`, `docs/results/topspark_n400_seeds*/seeds.md`,',
        '`report.md` (written by the profile tool), `docs/nowhere.md`, `ghost.md`.',
        'Team notes: ' + 'DESIGN' + '.md, ' + 'ROS2' + '_NOTES section 4, ../' + 'shared/x.',
        'Outside: [up](../../etc/hostname).',
    ])}
    problems = missing_references(texts)
    reported = ' '.join(problems)
    for bad in ('missing_file.md', 'images/none.png', 'docs/nowhere.md', "'ghost.md'",
                "'DESIGN.md'", 'ROS2_NOTES', '../shared', '../../etc/hostname'):
        assert bad in reported, (bad, problems)
    for good in ("'model.md'", 'energy.md', 'docs/topspark.md', 'seeds.md', "'report.md'"):
        assert not any(good in p and 'team-only' not in p for p in problems), (good, problems)
