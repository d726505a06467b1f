# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-bringup: run the nodes of a launch XML file in one process, without ROS launch.

ROS 2 ``launch`` is not installable from PyPI, so a pip-only machine (CI, the demo venv) cannot
run ``ros2 launch``. This runner reads the same launch file and builds the nodes with rclpy, so
the file that ships is the file that is tested. It also shows how the graph runs as one process
(rclpy has no component containers): all nodes share one executor, and messages between them
never leave the process.

Usage::

    topspark-bringup LAUNCH_XML [name:=value ...] [--duration S] [--list] [--ros-args ...]

Supported subset of the launch XML format. Any other element, attribute, text or substitution
is an error that names the file, the line and the element, so files cannot drift silently into
features this runner would ignore::

    <launch>                                        root; children: arg, node
      <arg name="N" [default="V"] [description="D"]/>
      <node pkg="topspark_ros" exec="E" [name="N"] [namespace="NS"]
            [output="screen|log|both|own_log"] [ros_args="ARGS"]>
        <param from="FILE.yaml"/>                   -> --params-file FILE.yaml
        <param name="K" value="V"/>                 -> see below
        <remap from="A" to="B"/>                    -> -r A:=B
        <env name="VAR" value="V"/>                 -> os.environ (see below)
      </node>
    </launch>

Substitutions, in every attribute: ``$(var NAME)`` (the ``NAME:=value`` given on the command
line, else the argument's default) and ``$(find-pkg-share PKG)`` (ament index, see
``find_package_share``). Substituted text is not substituted again. ``exec`` must be a key of
``EXECUTABLES``; each node is built with ``use_global_arguments=False`` and
``cli_args=['--ros-args', '--params-file', FILE, ..., '--params-file', INLINE, '-r', 'A:=B',
..., '-r', '__node:=NAME', '-r', '__ns:=/NS']``. As ros2 launch does, the ``<param name value>``
of a node are typed as YAML and written to a temporary file (INLINE) keyed by the node's full
name, placed after its ``<param from>`` files, so they override the files wherever they stand
in the node element. (``-p K:=V`` would not always: rclpy 9.1.2 merges a node's matching
sections in the order their keys first appear, later keys winning, and files every ``-p`` under
``/**``; a ``-p`` after a file with a ``/**/NAME`` section loses against that section.)

``ros_args`` are appended to the node's own arguments, except ``--enclave`` (``-e``): a DDS
security identity belongs to the process's rclpy context, so the nodes of one file must agree
on it (or give none) and it joins the context's arguments; ``--ros-args ...`` after the
topspark-bringup arguments go to that context too (e.g. ``--enclave /topspark/graph``,
``--log-level debug``), as for any ROS executable.

Differences from ``ros2 launch``: one process and one executor instead of one process per node
(``output`` is accepted and ignored: everything goes to this console); an undeclared
``name:=value`` argument is an error instead of being ignored. As with ``ros2 launch``, relative
``param from`` paths are taken from the current directory.

Running and shutdown are ``topspark_ros.ros.node_utils.run_nodes``, as for a single node: a
callback that raises is logged, counted in its node's diagnostics and survived (one bad message
does not stop the other nodes). On SIGINT or SIGTERM, or after ``--duration`` seconds, the
nodes stop being spun; each node that has a ``close()`` method gets it called (perception saves
its model there; ``close()`` returning False means a failed save), then every node is
destroyed. Exit status: 0 clean, 1 a node failed to start or to close (or the executor itself
failed), 2 a usage or launch file error.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import importlib
import os
from pathlib import Path
import re
import shlex
import sys
import tempfile
import threading
from typing import Any, Callable, Sequence
from xml.etree import ElementTree
from xml.parsers import expat

import yaml

from .executables import NODES
from .shipped import PACKAGE, package_share


# Executables that can run in this process: name (setup.py's console script, the launch file's
# `exec`) -> 'module:NodeClass', from topspark_ros.executables. Modules are imported only when a
# node runs.
EXECUTABLES = {name: f'{node.module}:{node.node_class}' for name, node in NODES.items()}

OUTPUTS = ('screen', 'log', 'both', 'own_log')
INLINE_PLACEHOLDER = '<inline-params.yaml>'    # --list: the temporary file of <param name value>

# Allowed attributes (required, optional) per element; children per element.
_ATTRIBUTES = {
    'launch': ((), ()),
    'arg': (('name',), ('default', 'description')),
    'node': (('pkg', 'exec'), ('name', 'namespace', 'output', 'ros_args')),
    'remap': (('from', 'to'), ()),
    'env': (('name', 'value'), ()),
}
_CHILDREN = {'launch': ('arg', 'node'), 'node': ('param', 'remap', 'env')}
_SUBSTITUTION = re.compile(r'\$\(\s*([^\s()]+)\s*([^()]*?)\s*\)')
_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
_ENV_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')


class LaunchFileError(Exception):
    """A launch file outside the supported subset, or a value that does not resolve."""


class BringupError(Exception):
    """A node that cannot be loaded or started."""


@dataclass(frozen=True)
class NodeSpec:
    """One resolved ``<node>``: what to build and with which ROS arguments."""

    package: str
    executable: str
    name: str | None
    namespace: str                                  # '' or absolute, e.g. '/robot1'
    output: str
    param_files: tuple[Path, ...]                   # <param from>, in file order
    params: tuple[tuple[str, str], ...]             # <param name value>, win over the files
    remaps: tuple[tuple[str, str], ...]
    line: int
    env: tuple[tuple[str, str], ...] = ()           # <env>, applied to the whole process
    ros_args: tuple[str, ...] = ()                  # ros_args="...", without --enclave
    enclave: str = ''                               # its --enclave (the process's identity)

    @property
    def fully_qualified_name(self) -> str:
        """'/ns/name', or the namespace plus '<default name>' when the file gives no name."""
        return f'{self.namespace}/{self.name or "<default name>"}'

    @property
    def target(self) -> str:
        """The 'module:Class' this node's executable maps to."""
        return EXECUTABLES[self.executable]

    def inline_parameters(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The ``<param name value>`` as a parameter file, the way ros2 launch writes it.

        launch_ros puts them in a temporary file keyed by the node's full name, after the
        ``<param from>`` files, so they win over the files (see the module docstring).
        """
        key = self.fully_qualified_name if self.name else '/**'
        return {key: {'ros__parameters': {name: typed_value(value)
                                          for name, value in self.params}}}

    def cli_args(self, inline_file: str | os.PathLike[str] | None = None) -> list[str]:
        """The node's own ROS arguments (passed with ``use_global_arguments=False``).

        ``inline_file``: where ``inline_parameters()`` was written (a placeholder if None).
        """
        args = ['--ros-args']
        for path in self.param_files:
            args += ['--params-file', str(path)]
        if self.params:
            args += ['--params-file', str(inline_file or INLINE_PLACEHOLDER)]
        for source, target in self.remaps:
            args += ['-r', f'{source}:={target}']
        if self.name:
            args += ['-r', f'__node:={self.name}']
        if self.namespace:
            args += ['-r', f'__ns:={self.namespace}']
        return args + list(self.ros_args)


@dataclass(frozen=True)
class LaunchSpec:
    """A parsed launch file: the final argument values and the nodes, in file order."""

    path: Path
    arguments: dict[str, str]
    nodes: tuple[NodeSpec, ...]


def typed_value(text: str) -> Any:
    """A ``<param value>`` typed as ros2 launch does without ``type=``: YAML, else the text.

    Accepted are what a ROS parameter can hold: bool, int, float, str, or a list of one of them.
    """
    if not text:
        return ''
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    scalars = {bool, int, float, str}
    kinds = {type(item) for item in value} if isinstance(value, list) else set()
    if type(value) in scalars or (len(kinds) == 1 and kinds <= scalars):
        return value
    return text


# ------------------------------------------------------------------------------ package share


def find_package_share(package: str) -> Path:
    """Share directory of ``package`` (``shipped.package_share``: the ament index, else this
    source tree); LookupError naming where it looked."""
    share = package_share(package)
    if share is None:
        raise LookupError(f'package {package!r} not found in the ament index (AMENT_PREFIX_PATH='
                          f'{os.environ.get("AMENT_PREFIX_PATH", "<unset>")!r}, then '
                          f'{sys.prefix!r})')
    return share


# ------------------------------------------------------------------------------ parsing


def _read_xml(path: Path) -> tuple[ElementTree.Element, dict[ElementTree.Element, int]]:
    """Parse with expat into ElementTree elements, keeping each element's line number."""
    builder = ElementTree.TreeBuilder()
    lines: dict[ElementTree.Element, int] = {}
    parser = expat.ParserCreate()

    def start(tag: str, attributes: dict[str, str]) -> None:
        lines[builder.start(tag, attributes)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        with open(path, 'rb') as stream:
            parser.ParseFile(stream)
    except OSError as exc:
        raise LaunchFileError(f'{path}: cannot read: {exc.strerror or exc}') from exc
    except expat.ExpatError as exc:
        raise LaunchFileError(f'{path}:{exc.lineno}: not well-formed XML: '
                              f'{expat.ErrorString(exc.code)}') from exc
    return builder.close(), lines


class _Parser:
    """Checks one file against the subset and resolves it; every error names file and line."""

    def __init__(self, path: Path, overrides: dict[str, str],
                 find_share: Callable[[str], Path]) -> None:
        self.path = path
        self.overrides = overrides
        self.find_share = find_share
        self.arguments: dict[str, str] = {}

    def error(self, element: ElementTree.Element, message: str) -> LaunchFileError:
        return LaunchFileError(f'{self.path}:{self.lines.get(element, "?")}: '
                               f'<{element.tag}>: {message}')

    def parse(self) -> LaunchSpec:
        root, self.lines = _read_xml(self.path)
        if root.tag != 'launch':
            raise self.error(root, 'the root element must be <launch>')
        self.attributes(root, *_ATTRIBUTES['launch'])
        self.check(root)
        nodes: list[NodeSpec] = []
        for child in root:
            if child.tag == 'arg':
                self.declare(child)
            else:
                nodes.append(self.node(child))
        unknown = sorted(set(self.overrides) - set(self.arguments))
        if unknown:
            raise LaunchFileError(
                f'{self.path}: unknown launch argument(s) {", ".join(unknown)}; declared: '
                f'{", ".join(self.arguments) or "none"}')
        seen: dict[str, int] = {}
        for node in nodes:
            if node.name and node.fully_qualified_name in seen:
                raise LaunchFileError(
                    f'{self.path}:{node.line}: <node>: {node.fully_qualified_name} is already '
                    f'defined on line {seen[node.fully_qualified_name]}')
            seen[node.fully_qualified_name] = node.line
        return LaunchSpec(self.path, dict(self.arguments), tuple(nodes))

    def check(self, element: ElementTree.Element) -> None:
        """Refuse unknown children, unknown or missing attributes, and text, recursively."""
        if (element.text or '').strip():
            raise self.error(element, f'unexpected text {element.text.strip()!r}')
        allowed = _CHILDREN.get(element.tag, ())
        for child in element:
            if child.tag not in allowed:
                inside = ', '.join(f'<{tag}>' for tag in allowed) or 'nothing'
                raise self.error(child, f'element not supported by topspark-bringup (inside '
                                        f'<{element.tag}> it reads {inside}; see the subset '
                                        'in topspark_ros/bringup.py)')
            if (child.tail or '').strip():
                raise self.error(child, f'unexpected text {child.tail.strip()!r} after it')
            if child.tag == 'param':
                kind = 'from' if 'from' in child.attrib else 'name'
                self.attributes(child, ('from',) if kind == 'from' else ('name', 'value'), ())
            else:
                self.attributes(child, *_ATTRIBUTES[child.tag])
            self.check(child)

    def attributes(self, element: ElementTree.Element, required: Sequence[str],
                   optional: Sequence[str]) -> None:
        for attribute in element.attrib:
            if attribute not in required and attribute not in optional:
                allowed = ', '.join(list(required) + list(optional)) or 'none'
                raise self.error(element, f'attribute {attribute!r} not supported by '
                                          f'topspark-bringup (allowed here: {allowed})')
        for attribute in required:
            if attribute not in element.attrib:
                raise self.error(element, f'missing attribute {attribute!r}')

    def substitute(self, element: ElementTree.Element, attribute: str) -> str:
        """Resolve $(var) and $(find-pkg-share) in one attribute; refuse anything else."""
        text = element.attrib[attribute]

        def replace(match: re.Match[str]) -> str:
            kind, value = match.group(1), match.group(2)
            if kind == 'var':
                if value not in self.arguments:
                    raise self.error(element, f'{attribute}={text!r}: $(var {value}) is not a '
                                              'launch argument declared above')
                return self.arguments[value]
            if kind == 'find-pkg-share':
                try:
                    return str(self.find_share(value))
                except LookupError as exc:
                    raise self.error(element, f'{attribute}={text!r}: {exc}') from None
            raise self.error(element, f'{attribute}={text!r}: substitution $({kind} ...) not '
                                      'supported by topspark-bringup (only $(var NAME) and '
                                      '$(find-pkg-share PKG))')

        matches = list(_SUBSTITUTION.finditer(text))
        if '$(' in _SUBSTITUTION.sub('', text):
            raise self.error(element, f'{attribute}={text!r}: malformed or nested substitution')
        pieces = []
        position = 0
        for match in matches:
            pieces += [text[position:match.start()], replace(match)]
            position = match.end()
        return ''.join(pieces) + text[position:]

    def declare(self, element: ElementTree.Element) -> None:
        name = self.substitute(element, 'name')
        if not _NAME.match(name):
            raise self.error(element, f'argument name {name!r} is not a valid name')
        if name in self.arguments:
            raise self.error(element, f'argument {name!r} is declared twice')
        if name in self.overrides:
            self.arguments[name] = self.overrides[name]     # literal, as in ros2 launch
        elif 'default' in element.attrib:
            self.arguments[name] = self.substitute(element, 'default')
        else:
            raise self.error(element, f'argument {name!r} has no default; give {name}:=VALUE')

    def node(self, element: ElementTree.Element) -> NodeSpec:
        value = {key: self.substitute(element, key) for key in element.attrib}
        if value['pkg'] != PACKAGE:
            raise self.error(element, f'pkg={value["pkg"]!r}: only {PACKAGE} nodes can run in '
                                      'this process')
        if value['exec'] not in EXECUTABLES:
            raise self.error(element, f'exec={value["exec"]!r} is not an in-process executable '
                                      f'(known: {", ".join(sorted(EXECUTABLES))})')
        name = value.get('name') or None
        if name is not None and not _NAME.match(name):
            raise self.error(element, f'name={name!r} is not a valid node name')
        namespace = value.get('namespace', '').strip('/')
        if namespace and not all(_NAME.match(part) for part in namespace.split('/')):
            raise self.error(element, f'namespace={value["namespace"]!r} is not a valid '
                                      'namespace')
        output = value.get('output', 'screen')
        if output not in OUTPUTS:
            raise self.error(element, f'output={output!r} must be one of {", ".join(OUTPUTS)}')
        param_files: list[Path] = []
        params: dict[str, str] = {}
        remaps = []
        env: dict[str, str] = {}
        for child in element:
            if child.tag == 'env':
                key = self.substitute(child, 'name')
                if not _ENV_NAME.match(key):
                    raise self.error(child, f'name={key!r} is not an environment variable name')
                env[key] = self.substitute(child, 'value')
            elif child.tag == 'remap':
                source, target = self.substitute(child, 'from'), self.substitute(child, 'to')
                if not source or not target:
                    raise self.error(child, 'from and to must not be empty')
                remaps.append((source, target))
            elif 'from' in child.attrib:
                path = Path(self.substitute(child, 'from')).absolute()
                if not path.is_file():
                    raise self.error(child, f'parameter file {str(path)!r} does not exist')
                param_files.append(path)
            else:
                key = self.substitute(child, 'name')
                if not key:
                    raise self.error(child, 'name must not be empty')
                params[key] = self.substitute(child, 'value')      # the last one wins
        try:
            ros_args, enclave = split_enclave(shlex.split(self.substitute(element, 'ros_args'))
                                              if 'ros_args' in element.attrib else [])
        except (LaunchFileError, ValueError) as exc:
            raise self.error(element, f'ros_args: {exc}') from None
        if ros_args and ros_args[0] == '--ros-args':
            ros_args = ros_args[1:]
        return NodeSpec(PACKAGE, value['exec'], name, f'/{namespace}' if namespace else '',
                        output, tuple(param_files), tuple(params.items()), tuple(remaps),
                        self.lines[element], tuple(env.items()), tuple(ros_args), enclave)


def split_enclave(args: Sequence[str]) -> tuple[list[str], str]:
    """ROS arguments without ``--enclave X`` / ``-e X``, and X ('' if absent). An enclave is
    a property of the process's rclpy context, not of a node."""
    rest, enclave = [], ''
    items = iter(args)
    for item in items:
        if item in ('--enclave', '-e'):
            enclave = next(items, '')
            if not enclave:
                raise LaunchFileError(f'{item} needs a value (an enclave path, e.g. '
                                      '/topspark/perception)')
        else:
            rest.append(item)
    return rest, enclave


def process_enclave(spec: LaunchSpec, command_line: str = '',
                    security: bool | None = None) -> str:
    """The one enclave this process runs as. One rclpy context is one DDS identity, so with
    security enabled (``ROS_SECURITY_ENABLE=true``; ``security`` overrides) nodes that ask for
    different enclaves need separate processes (LaunchFileError), and an enclave on the command
    line must be the nodes' one. Without security an enclave only names a keystore folder
    nobody reads: the command line's, else the nodes' common one, else none."""
    if security is None:
        security = os.environ.get('ROS_SECURITY_ENABLE', '').lower() == 'true'
    wanted = {node.enclave for node in spec.nodes if node.enclave}
    if not security:
        return command_line or (wanted.pop() if len(wanted) == 1 else '')
    if command_line:
        wanted.add(command_line)
    if len(wanted) > 1:
        raise LaunchFileError(
            f'{spec.path}: one topspark-bringup process is one security identity, but its '
            f'nodes ask for the enclaves {", ".join(sorted(wanted))}: run them in separate '
            'processes (one launch file or topspark-bringup per enclave)')
    return wanted.pop() if wanted else ''


def load_launch(path: str | os.PathLike[str], overrides: dict[str, str] | None = None,
                find_share: Callable[[str], Path] | None = None) -> LaunchSpec:
    """Parse and resolve a launch file; ``overrides`` are the command line's ``name:=value``.

    ``find_share`` resolves ``$(find-pkg-share PKG)``; default ``find_package_share``.
    """
    return _Parser(Path(path).absolute(), dict(overrides or {}),
                   find_share or find_package_share).parse()


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``['name:=value', ...]`` -> dict; the last value of a repeated name wins."""
    overrides = {}
    for item in items:
        name, separator, value = item.partition(':=')
        if not separator or not _NAME.match(name):
            raise LaunchFileError(f'launch argument {item!r} must look like name:=value')
        overrides[name] = value
    return overrides


def describe(spec: LaunchSpec) -> str:
    """The resolved launch file as text (``--list``): arguments, then each node."""
    lines = [f'launch file: {spec.path}', 'arguments:']
    lines += [f'  {name}:={value}' for name, value in spec.arguments.items()]
    lines.append('nodes:')
    for node in spec.nodes:
        lines.append(f'  {node.fully_qualified_name}: {node.package} {node.executable} '
                     f'-> {node.target} (output={node.output})')
        lines += [f'    params file: {path}' for path in node.param_files]
        lines += [f'    param: {name}:={value}' for name, value in node.params]
        lines += [f'    remap: {source}:={target}' for source, target in node.remaps]
        lines += [f'    env: {key}={value}' for key, value in node.env]
        lines.append(f'    cli_args: {shlex.join(node.cli_args())}')
    return '\n'.join(lines)


# ------------------------------------------------------------------------------ running


def load_node_class(executable: str) -> type:
    """Import the node class registered for ``executable``; errors name the executable."""
    target = EXECUTABLES.get(executable)
    if target is None:
        raise BringupError(f'executable {executable!r} is not registered in '
                           f'topspark_ros.bringup.EXECUTABLES')
    module_name, _, class_name = target.partition(':')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + '.').startswith(exc.name + '.'):
            raise BringupError(f'executable {executable!r}: module {module_name} (registered as '
                               f'{target}) does not exist') from exc
        raise BringupError(f'executable {executable!r}: importing {module_name} failed: '
                           f'{exc}') from exc
    except ImportError as exc:
        raise BringupError(f'executable {executable!r}: importing {module_name} failed: '
                           f'{exc}') from exc
    node_class = getattr(module, class_name, None)
    if not isinstance(node_class, type):
        raise BringupError(f'executable {executable!r}: {module_name} has no class '
                           f'{class_name} (registered as {target})')
    return node_class


def apply_environment(spec: LaunchSpec) -> dict[str, str]:
    """Set the nodes' ``<env>`` variables in this process, before rclpy initialises.

    All nodes share one process here, so an ``<env>`` applies to every node (with ros2 launch
    it applies to its node's process only); two nodes asking for different values of one
    variable is an error. The typical use is Fast DDS's FASTDDS_DEFAULT_PROFILES_FILE, which is
    read when the middleware starts.
    """
    wanted: dict[str, tuple[str, NodeSpec]] = {}
    for node in spec.nodes:
        for key, value in node.env:
            if key in wanted and wanted[key][0] != value:
                raise BringupError(f'{spec.path}:{node.line}: <env name="{key}"> differs from '
                                   f'the one of {wanted[key][1].fully_qualified_name}; nodes '
                                   'share one environment in this process')
            wanted[key] = (value, node)
    for key, (value, _) in wanted.items():
        os.environ[key] = value
    return {key: value for key, (value, _) in wanted.items()}


def create_nodes(spec: LaunchSpec, context: Any,
                 stop: threading.Event | None = None) -> list[Any]:
    """Build every node of ``spec`` in ``context``; on a failure destroy the ones built."""
    classes = [(node, load_node_class(node.executable)) for node in spec.nodes]
    nodes: list[Any] = []
    for node, node_class in classes:
        if stop is not None and stop.is_set():
            break
        try:
            with tempfile.TemporaryDirectory(prefix='topspark_bringup_') as directory:
                inline = Path(directory) / 'inline-params.yaml'     # read by rcl at init
                inline.write_text(yaml.safe_dump(node.inline_parameters()))
                nodes.append(node_class(cli_args=node.cli_args(inline),
                                        use_global_arguments=False, context=context))
        except Exception as exc:    # any constructor failure, e.g. a mistyped parameter
            close_nodes(nodes)
            raise BringupError(f'{spec.path}:{node.line}: node {node.fully_qualified_name} '
                               f'({node.executable}) failed to start: '
                               f'{type(exc).__name__}: {" ".join(str(exc).split())}') from exc
    return nodes


def close_nodes(nodes: Sequence[Any]) -> bool:
    """``topspark_ros.ros.node_utils.close_nodes`` (imported when used: ``--list`` and the
    parser need no rclpy); failures are reported as this program's."""
    from .ros.node_utils import close_nodes as close

    return close(nodes, _say)


def run(spec: LaunchSpec, duration: float | None = None,
        ros_args: Sequence[str] = ()) -> int:
    """Run the nodes of ``spec`` with ``run_nodes`` (one SingleThreadedExecutor) until a signal
    or ``duration`` seconds; 0 clean, 1 if a node failed to start or to close. ``ros_args``
    (after ``--ros-args`` on the command line) go to rclpy's context, with the nodes' common
    enclave."""
    from .ros.node_utils import run_nodes

    try:
        global_args, enclave = split_enclave(ros_args)
        enclave = process_enclave(spec, enclave)
    except LaunchFileError as exc:
        _say(f'error: {exc}')
        return 2
    context_args = ['topspark-bringup', '--ros-args', *global_args]
    if enclave:
        context_args += ['--enclave', enclave]

    try:
        apply_environment(spec)
    except BringupError as exc:
        _say(str(exc))
        return 1

    def make_nodes(context: Any, stop: threading.Event) -> list[Any] | None:
        try:
            return create_nodes(spec, context, stop)
        except BringupError as exc:
            _say(str(exc))
            return None

    from rclpy.context import Context

    return run_nodes(make_nodes, args=context_args, context=Context(), duration_s=duration,
                     say=_say)


def _say(message: str) -> None:
    print(f'topspark-bringup: {message}', file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``topspark-bringup``."""
    parser = argparse.ArgumentParser(
        prog='topspark-bringup',
        description='Run the nodes of a launch XML file (a strict subset of the format) in one '
                    'process with rclpy; see topspark_ros/bringup.py for the subset.')
    parser.add_argument('launch_file', help='launch XML file, e.g. launch/topspark.launch.xml')
    parser.add_argument('arguments', nargs='*', metavar='name:=value',
                        help='launch argument values, as for ros2 launch')
    parser.add_argument('--duration', type=float, metavar='S',
                        help='stop after S seconds of spinning (demos, tests)')
    parser.add_argument('--list', action='store_true',
                        help='print the resolved nodes, parameters and remaps, then exit')
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if '--ros-args' in argv:                        # as for any ROS executable: rclpy's own
        at = argv.index('--ros-args')
        argv, ros_args = argv[:at], argv[at + 1:]
        if '--' in ros_args:
            ros_args = ros_args[:ros_args.index('--')]
    options = parser.parse_intermixed_args(argv)
    if options.duration is not None and not options.duration > 0:
        parser.error(f'--duration must be positive, not {options.duration}')
    try:
        spec = load_launch(options.launch_file, parse_overrides(options.arguments))
    except LaunchFileError as exc:
        _say(f'error: {exc}')
        return 2
    if options.list:
        print(describe(spec))
        return 0
    return run(spec, options.duration, ros_args)


if __name__ == '__main__':
    sys.exit(main())
