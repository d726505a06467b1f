# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The core's import graph: no cycles, including imports made lazily inside functions (a lazy
import hides a cycle rather than removing it), and the kernels depend on nothing above them."""

import ast
from pathlib import Path

import topspark_ros

PACKAGE = Path(topspark_ros.__file__).parent
CORE = ('snn', 'topspark', 'energy', 'dvs', 'datasets')


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def import_graph() -> dict[str, set[str]]:
    """Each core module's imports of other topspark_ros modules, wherever in the file."""
    files = {_module_name(p): p for p in PACKAGE.rglob('*.py')}
    graph = {}
    for name, path in files.items():
        if name.split('.')[1:2] and name.split('.')[1] not in CORE:
            continue
        package = name if path.name == '__init__.py' else name.rpartition('.')[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    up = package.split('.')[:len(package.split('.')) - node.level + 1]
                    base = '.'.join(up + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f'{base}.{alias.name}'
                    targets.add(full if full in files else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that is on one (depth-first search)."""
    found, done = [], set()

    def visit(node, path):
        if node in path:
            found.append(path[path.index(node):] + [node])
            return
        if node in done or node not in graph:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, path + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_the_cycle_finder_finds_a_lazy_import_cycle():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c', 'a']]
    assert cycles({'a': {'b'}, 'b': set()}) == []


def test_the_core_has_no_import_cycles():
    graph = import_graph()
    assert 'topspark_ros.snn.network' in graph and 'topspark_ros.dvs' in graph
    assert cycles(graph) == []


def test_the_kernels_import_only_the_configuration_and_the_op_names():
    graph = import_graph()
    kernels = 'topspark_ros.snn.kernels'
    outside = {t for name, targets in graph.items() if name.startswith(kernels)
               for t in targets if not t.startswith(kernels)}
    assert outside == {'topspark_ros.snn.config', 'topspark_ros.snn.ops'}
