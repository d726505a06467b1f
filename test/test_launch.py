# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Launch files, the parameter file and topspark-bringup, checked without ROS launch.

ROS launch is not installable here, so the shipped files are checked by what can run: the
bringup parser (the same strict subset it runs), stdlib XML, ``ast`` for the Python launch file,
the arguments setup.py passes to setup() for the executables, and real nodes built with the
parameter file (a mistyped value, e.g. ``5`` for a double, stops a node from starting). With ROS
launch installed (a ROS CI) the files are also loaded by ``launch`` itself. Each rclpy test uses
its own Context and a domain id from the pid (see ``ros_helpers``); processes get another one.
"""

import ast
import dataclasses
import os
from pathlib import Path
import re
import shlex
import signal
import subprocess
import sys
import time
from xml.etree import ElementTree

import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
import yaml

from topspark_ros import bringup
from topspark_ros.bringup import BringupError, LaunchFileError, LaunchSpec, load_launch

from package_files import setup_arguments
from ros_helpers import domain_id, launched, process_env, ros_context

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_XML = ROOT / 'launch' / 'topspark.launch.xml'
LAUNCH_PY = ROOT / 'launch' / 'topspark.launch.py'
CONFIG = ROOT / 'config' / 'topspark.yaml'
NODE_NAMES = ('perception', 'governor', 'metrics')
DOMAIN_ID = domain_id(25)
PROCESS_DOMAIN_ID = domain_id(75)
WAIT_S = 60.0
# Declared by rclpy itself in every node, not by ours.
BUILTIN_PARAMETERS = {'use_sim_time', 'start_type_description_service'}


def source_share(package: str) -> Path:
    """find-pkg-share against this source tree, whatever is installed."""
    if package != 'topspark_ros':
        raise LookupError(f'package {package!r} not found')
    return ROOT


def console_scripts() -> dict[str, str]:
    """setup.py's console_scripts as {name: 'module:function'}: what it passes to setup()."""
    return dict((part.strip() for part in line.split('=', 1))
                for line in setup_arguments()['entry_points']['console_scripts'])


def literal(node: ast.AST | None, constants: dict[str, object] | None = None) -> object:
    """The value of a literal or of a module constant's name; None for anything computed."""
    if isinstance(node, ast.Name):
        return (constants or {}).get(node.id)
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def python_launch() -> tuple[dict[str, object], list[dict[str, object]], list[str]]:
    """From launch/topspark.launch.py: {arg: literal default}, the Node() keyword arguments
    (literals only, remappings as their source names) and the PathJoinSubstitution parts."""
    tree = ast.parse(LAUNCH_PY.read_text())
    constants = {target.id: literal(statement.value) for statement in tree.body
                 if isinstance(statement, ast.Assign) for target in statement.targets
                 if isinstance(target, ast.Name)}
    arguments: dict[str, object] = {}
    nodes: list[dict[str, object]] = []
    paths: list[object] = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        if call.func.id == 'DeclareLaunchArgument':
            arguments[literal(call.args[0])] = literal(keywords.get('default_value'))
        elif call.func.id == 'Node':
            node = {key: literal(value, constants) for key, value in keywords.items()}
            node['remappings'] = [literal(pair.elts[0])
                                  for pair in keywords.get('remappings', ast.List([])).elts]
            nodes.append(node)
        elif call.func.id == 'PathJoinSubstitution':
            paths += [literal(part) for part in call.args[0].elts]
    return arguments, nodes, paths


def write_launch(tmp_path: Path, body: str, name: str = 'test.launch.xml') -> Path:
    path = tmp_path / name
    path.write_text(f'<launch>\n{body}\n</launch>\n')
    return path


def only(spec: LaunchSpec, name: str) -> LaunchSpec:
    """The launch spec reduced to one node."""
    return dataclasses.replace(spec, nodes=tuple(n for n in spec.nodes if n.name == name))


@pytest.fixture
def context():
    with ros_context(DOMAIN_ID) as ctx:
        yield ctx


@pytest.fixture
def built(context):
    """Build nodes from a LaunchSpec through bringup (the exact cli_args); closed after."""
    with launched(context) as build:
        yield build


# ------------------------------------------------------------------------------ the launch files


def test_xml_launch_is_well_formed_and_in_the_subset():
    root = ElementTree.parse(LAUNCH_XML).getroot()
    assert root.tag == 'launch'
    assert {e.tag for e in root.iter()} <= {'launch', 'arg', 'node', 'param', 'remap'}
    assert [n.get('name') for n in root.iter('node')] == list(NODE_NAMES)


def test_xml_launch_resolves_to_the_graph():
    spec = load_launch(LAUNCH_XML, find_share=source_share)
    model, profile = str(ROOT / 'config' / 'model_n400.npz'), str(ROOT / 'config' / 'profile_n400')
    assert spec.arguments == {'params_file': str(CONFIG), 'model_path': model,
                              'profile_path': profile, 'image_topic': '/camera/image_raw',
                              'battery_topic': '/battery_state', 'namespace': '',
                              'enclave': '/topspark', 'use_sim_time': 'false'}
    nodes = {n.name: n for n in spec.nodes}
    assert list(nodes) == list(NODE_NAMES)
    assert {n: nodes[n].executable for n in nodes} == {
        'perception': 'perception_node', 'governor': 'governor_node', 'metrics': 'metrics_node'}
    # After the file, so the arguments win over its values (`/**: use_sim_time`); the first
    # start predicts with the shipped model, and the governor reads the same profile.
    params = {'perception': (('use_sim_time', 'false'), ('model_path', model),
                             ('profile_path', profile)),
              'governor': (('use_sim_time', 'false'), ('profile_path', profile)),
              'metrics': (('use_sim_time', 'false'),)}
    for node in spec.nodes:
        assert node.param_files == (CONFIG,) and node.params == params[node.name]
        assert node.namespace == '' and node.fully_qualified_name == f'/{node.name}'
    assert nodes['perception'].remaps == (
        ('image', '/camera/image_raw'), ('image/compressed', '/camera/image_raw/compressed'))
    assert nodes['governor'].remaps == (('battery_state', '/battery_state'),)
    assert nodes['metrics'].remaps == ()


def test_python_launch_matches_xml():
    spec = load_launch(LAUNCH_XML, find_share=source_share)
    arguments, nodes, paths = python_launch()
    assert list(arguments) == list(spec.arguments)
    raw = {a.get('name'): a.get('default')
           for a in ElementTree.parse(LAUNCH_XML).getroot().iter('arg')}
    for name, default in arguments.items():
        if default is not None:                     # literal defaults must be the same text
            assert default == raw.get(name, default), name
    assert [(n['package'], n['executable'], n['name']) for n in nodes] == [
        (n.package, n.executable, n.name) for n in spec.nodes]
    assert [n['remappings'] for n in nodes] == [[s for s, _ in n.remaps] for n in spec.nodes]
    assert all(n['output'] == x.output for n, x in zip(nodes, spec.nodes))
    assert paths == [None, 'config', 'topspark.yaml', None, 'config', 'model_n400.npz',
                     None, 'config', 'profile_n400']      # the share (a variable), ...


def test_launch_executables_are_console_scripts():
    """`ros2 launch` runs exec from lib/topspark_ros, which setup.py's console_scripts fill."""
    scripts = console_scripts()
    _, nodes, _ = python_launch()
    executables = {n.executable for n in load_launch(LAUNCH_XML, find_share=source_share).nodes}
    executables |= {n['executable'] for n in nodes}
    missing = sorted(executables - set(scripts))
    assert not missing, f'not in setup.py console_scripts: {missing}'
    # ros2 run / ros2 launch and topspark-bringup must run the same module.
    for executable, target in bringup.EXECUTABLES.items():
        assert scripts[executable].split(':')[0] == target.split(':')[0], executable
    assert scripts.get('topspark-bringup') == 'topspark_ros.bringup:main'


def test_parameter_files_exist_under_config():
    raw = {a.get('name'): a.get('default')
           for a in ElementTree.parse(LAUNCH_XML).getroot().iter('arg')}
    assert raw['params_file'] == '$(find-pkg-share topspark_ros)/config/topspark.yaml'
    for node in load_launch(LAUNCH_XML, find_share=source_share).nodes:
        for path in node.param_files:
            assert path.parent == ROOT / 'config' and path.is_file()
    _, _, paths = python_launch()
    for k in range(0, len(paths), 3):           # the share, then the path below it
        assert ROOT.joinpath(*paths[k + 1:k + 3]).exists(), paths[k + 1:k + 3]
    assert (ROOT / 'config' / 'fastdds_large_frames.xml').is_file()
    for name in ('model_path', 'profile_path'):
        assert raw[name].startswith('$(find-pkg-share topspark_ros)/config/')
        assert (ROOT / raw[name].split(')/', 1)[1]).exists()


def test_launch_frontend_parses_both_files_when_ros_launch_is_installed():
    pytest.importorskip('launch_xml')
    frontend = pytest.importorskip('launch.frontend')
    sources = pytest.importorskip('launch.launch_description_sources')
    launch_ros_actions = pytest.importorskip('launch_ros.actions')
    root, parser = frontend.Parser.load(str(LAUNCH_XML))
    description = parser.parse_description(root)
    assert sum(isinstance(e, launch_ros_actions.Node) for e in description.entities) == 3
    description = sources.PythonLaunchDescriptionSource(
        str(LAUNCH_PY)).try_get_launch_description_without_context()
    assert sum(isinstance(e, launch_ros_actions.Node) for e in description.entities) == 3


# ------------------------------------------------------------------------------ parameter file


def test_yaml_sections_are_namespace_proof_and_match_the_nodes():
    data = yaml.safe_load(CONFIG.read_text())
    assert data['/**']['ros__parameters'] == {'use_sim_time': False}
    sections = [key for key in data if key != '/**']
    # `/**/name`, not `name`: a plain `perception:` is ignored once namespace:=robot1 is used.
    assert all(key.startswith('/**/') for key in sections), sections
    assert all(data[key]['ros__parameters'] for key in data), 'an empty section'
    launched = {n.name for n in load_launch(LAUNCH_XML, find_share=source_share).nodes}
    assert {key[len('/**/'):] for key in sections} == launched


@pytest.mark.parametrize('name', NODE_NAMES)
def test_node_declares_every_yaml_parameter_with_its_type(built, name):
    """Start the node with config/topspark.yaml; every key is declared, typed and applied, and
    every parameter the node declares is documented in the file."""
    data = yaml.safe_load(CONFIG.read_text())
    section = f'/**/{name}'
    assert section in data, f'config/topspark.yaml has no {section} section'
    expected = {**data['/**']['ros__parameters'], **data[section]['ros__parameters']}
    spec = only(load_launch(LAUNCH_XML, find_share=source_share), name)
    from_launch = dict(spec.nodes[0].params)      # launch arguments, after the file
    expected.update((key, yaml.safe_load(value)) for key, value in from_launch.items())
    (node,) = built(spec)
    declared = node.get_parameters_by_prefix('')
    undeclared = sorted(set(expected) - set(declared))
    assert not undeclared, f'{section} keys that {type(node).__name__} does not declare: ' \
                           f'{undeclared}'
    for key, value in expected.items():
        actual = declared[key].value
        assert type(actual) is type(value) and actual == value, (key, actual, value)
    missing = sorted(set(declared) - set(expected) - BUILTIN_PARAMETERS - set(from_launch))
    assert not missing, f'parameters of {name} not in config/topspark.yaml: {missing}'


def test_node_section_applies_under_a_namespace(built, tmp_path):
    data = yaml.safe_load(CONFIG.read_text())
    data['/**/perception']['ros__parameters'].update(timesteps=75, n_neurons=20)
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump(data))
    spec = load_launch(LAUNCH_XML, {'params_file': str(params), 'namespace': 'robot1',
                                    'image_topic': 'front/image'}, find_share=source_share)
    (node,) = built(only(spec, 'perception'))
    assert node.get_fully_qualified_name() == '/robot1/perception'
    assert node.get_parameter('timesteps').value == 75
    assert set(node.stream_reliability) == {'/robot1/front/image',
                                            '/robot1/front/image/compressed', '/robot1/events'}


def test_inline_params_win_over_files_as_in_ros2_launch(built, tmp_path):
    """launch_ros writes <param name value> to a file keyed by the node's full name, after the
    <param from> files; with -p they would lose against a /**/perception section."""
    params = tmp_path / 'params.yaml'
    params.write_text('/**/perception:\n  ros__parameters:\n    timesteps: 40\n'
                      '    n_neurons: 20\n    log_throttle_s: 2.0\n    save_path: x.npz\n')
    path = write_launch(tmp_path, f'''
  <node pkg="topspark_ros" exec="perception_node" name="perception" namespace="robot1">
    <param name="log_throttle_s" value="9.5"/>
    <param from="{params}"/>
    <param name="timesteps" value="30"/>
    <param name="save_path" value=""/>
    <param name="learning" value="true"/>
  </node>''')
    (spec_node,) = load_launch(path).nodes
    assert spec_node.inline_parameters() == {'/robot1/perception': {'ros__parameters': {
        'log_throttle_s': 9.5, 'timesteps': 30, 'save_path': '', 'learning': True}}}
    assert spec_node.cli_args()[:5] == ['--ros-args', '--params-file', str(params),
                                        '--params-file', bringup.INLINE_PLACEHOLDER]
    (node,) = built(load_launch(path))
    assert node.get_parameter('timesteps').value == 30
    assert node.get_parameter('log_throttle_s').value == 9.5
    assert node.get_parameter('save_path').value == ''
    assert node.get_parameter('learning').value is True
    assert node.get_parameter('n_neurons').value == 20


def test_param_values_are_typed_like_ros2_launch():
    assert [bringup.typed_value(v) for v in ('1', '1.0', 'true', 'False', 'abc', '', "'7'",
                                             '[1, 2]', '[1, a]', '{a: 1}', '~', ': x')] == [
        1, 1.0, True, False, 'abc', '', '7', [1, 2], '[1, a]', '{a: 1}', '~', ': x']


def test_a_mistyped_parameter_names_the_node(context, tmp_path):
    params = tmp_path / 'params.yaml'
    params.write_text('/**/perception:\n  ros__parameters:\n    log_throttle_s: 5\n')
    spec = load_launch(LAUNCH_XML, {'params_file': str(params)}, find_share=source_share)
    with pytest.raises(BringupError, match=r'node /perception \(perception_node\) failed to '
                                           r'start: InvalidParameterTypeException'):
        bringup.create_nodes(only(spec, 'perception'), context)


# ------------------------------------------------------------------------------ the parser


NODE = '<node pkg="topspark_ros" exec="perception_node" name="perception"{}>{}</node>'
REFUSED = {
    'include': ('  <include file="other.launch.xml"/>', 2, r'<include>: element not supported'),
    'group': (f'  <group>\n    {NODE.format("", "")}\n  </group>', 2,
              r'<group>: element not supported'),
    'push_ros_namespace': ('  <push_ros_namespace namespace="x"/>', 2,
                           r'<push_ros_namespace>: element not supported'),
    'let': ('  <let name="a" value="1"/>', 2, r'<let>: element not supported'),
    'env without value': ('\n' + NODE.format('', '<env name="A"/>'), 3,
                          r"<env>: missing attribute 'value'"),
    'unset_env in node': ('\n' + NODE.format('', '<unset_env name="A"/>'), 3,
                          r'<unset_env>: element not supported'),
    'node attribute': (NODE.format(' respawn="true"', ''), 2,
                       r"<node>: attribute 'respawn' not supported"),
    'arg attribute': ('  <arg name="a" default="1" choices="1"/>', 2,
                      r"<arg>: attribute 'choices' not supported"),
    'param type': (NODE.format('', '\n<param name="a" value="1" type="str"/>'), 3,
                   r"<param>: attribute 'type' not supported"),
    'param from and name': (NODE.format('', '<param from="x.yaml" name="a"/>'), 2,
                            r"<param>: attribute 'name' not supported"),
    'remap without to': (NODE.format('', '<remap from="a"/>'), 2,
                         r"<remap>: missing attribute 'to'"),
    'other substitution': (NODE.format(' namespace="$(env HOME)"', ''), 2,
                           r'substitution \$\(env \.\.\.\) not supported'),
    'nested substitution': ('  <arg name="a" default="$(var $(var b))"/>', 2,
                            r'malformed or nested substitution'),
    'undeclared var': (NODE.format(' namespace="$(var ns)"', ''), 2,
                       r'\$\(var ns\) is not a launch argument'),
    'unknown exec': ('<node pkg="topspark_ros" exec="camera_node"/>', 2,
                     r"<node>: exec='camera_node' is not an in-process executable"),
    'other package': ('<node pkg="usb_cam" exec="usb_cam_node_exe"/>', 2,
                      r"pkg='usb_cam': only topspark_ros nodes"),
    'unknown package share': ('<arg name="a" default="$(find-pkg-share nope_pkg)"/>', 2,
                              r"<arg>: .*package 'nope_pkg' not found"),
    'text': ('  hello', 1, r'<launch>: unexpected text'),
    'bad output': (NODE.format(' output="xterm"', ''), 2, r'output=.xterm. must be one of'),
    'bad namespace': (NODE.format(' namespace="a b"', ''), 2, r'not a valid namespace'),
    'missing param file': (NODE.format('', '<param from="/nonexistent/p.yaml"/>'), 2,
                           r'parameter file .*/nonexistent/p.yaml.* does not exist'),
    'duplicate node': (f'{NODE.format("", "")}\n{NODE.format("", "")}', 3,
                       r'/perception is already defined on line 2'),
    'arg without value': ('<arg name="a"/>', 2, r"argument 'a' has no default"),
    'malformed xml': ('\n\n  <node pkg="topspark_ros"', 5, r'not well-formed XML'),
}


@pytest.mark.parametrize('case', REFUSED)
def test_parser_refuses_what_it_does_not_run(tmp_path, case):
    body, line, message = REFUSED[case]
    path = write_launch(tmp_path, body)
    with pytest.raises(LaunchFileError) as error:
        load_launch(path, find_share=source_share)
    text = str(error.value)
    assert text.startswith(f'{path}:{line}: '), text
    assert re.search(message, text), text


def test_root_must_be_launch(tmp_path):
    path = tmp_path / 'x.launch.xml'
    path.write_text('<launch-file/>')
    with pytest.raises(LaunchFileError, match=r'x.launch.xml:1: <launch-file>: the root'):
        load_launch(path)


def test_command_line_arguments(tmp_path):
    spec = load_launch(LAUNCH_XML, {'namespace': '/robot1', 'battery_topic': 'bat',
                                    'image_topic': '$(var namespace)'}, find_share=source_share)
    assert spec.arguments['namespace'] == '/robot1'
    assert all(n.namespace == '/robot1' for n in spec.nodes)
    assert [n.remaps for n in spec.nodes][1] == (('battery_state', 'bat'),)
    assert spec.nodes[0].remaps[0] == ('image', '$(var namespace)')     # values are literal
    with pytest.raises(LaunchFileError, match=r'unknown launch argument\(s\) nmespace; '
                                              r'declared: params_file, model_path, profile_path'):
        load_launch(LAUNCH_XML, {'nmespace': 'x'}, find_share=source_share)
    assert bringup.parse_overrides(['a:=1', 'b:=x:=y', 'a:=2', 'c:=']) == {
        'a': '2', 'b': 'x:=y', 'c': ''}
    with pytest.raises(LaunchFileError, match=r"'a=1' must look like name:=value"):
        bringup.parse_overrides(['a=1'])


def test_list_prints_the_resolved_graph(capsys, monkeypatch):
    monkeypatch.setattr(bringup, 'find_package_share', source_share)
    assert bringup.main([str(LAUNCH_XML), '--list', 'namespace:=robot1',
                         'image_topic:=camera/image']) == 0
    out = capsys.readouterr().out.splitlines()
    model, profile = ROOT / 'config' / 'model_n400.npz', ROOT / 'config' / 'profile_n400'
    assert out[:11] == [f'launch file: {LAUNCH_XML}', 'arguments:',
                        f'  params_file:={CONFIG}', f'  model_path:={model}',
                        f'  profile_path:={profile}', '  image_topic:=camera/image',
                        '  battery_topic:=/battery_state', '  namespace:=robot1',
                        '  use_sim_time:=false', '  enclave:=/topspark', 'nodes:']
    assert out[11] == ('  /robot1/perception: topspark_ros perception_node -> '
                       'topspark_ros.nodes.perception:PerceptionNode (output=screen)')
    assert out[12:18] == [f'    params file: {CONFIG}', '    param: use_sim_time:=false',
                          f'    param: model_path:={model}', f'    param: profile_path:={profile}',
                          '    remap: image:=camera/image',
                          '    remap: image/compressed:=camera/image/compressed']
    assert shlex.split(out[18].split(': ', 1)[1]) == [
        '--ros-args', '--params-file', str(CONFIG), '--params-file', bringup.INLINE_PLACEHOLDER,
        '-r', 'image:=camera/image',
        '-r', 'image/compressed:=camera/image/compressed', '-r', '__node:=perception',
        '-r', '__ns:=/robot1']
    assert [line for line in out if not line.startswith('    ')][-2:] == [
        '  /robot1/governor: topspark_ros governor_node -> '
        'topspark_ros.nodes.governor:GovernorNode (output=screen)',
        '  /robot1/metrics: topspark_ros metrics_node -> '
        'topspark_ros.nodes.metrics:MetricsNode (output=screen)']


def test_list_needs_no_rclpy_and_errors_exit_2(tmp_path):
    """--list and the parser are stdlib only (plus ament_index_python when present)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ('import sys; from topspark_ros import bringup; '
            f'rc = bringup.main([{str(LAUNCH_XML)!r}, "--list"]); '
            'assert "rclpy" not in sys.modules; sys.exit(rc)')
    result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                            text=True, timeout=WAIT_S)
    assert result.returncode == 0, result.stderr
    assert '/perception: topspark_ros perception_node' in result.stdout
    bad = write_launch(tmp_path, '<include file="x"/>')
    result = subprocess.run([sys.executable, '-m', 'topspark_ros.bringup', str(bad), '--list'],
                            env=env, capture_output=True, text=True, timeout=WAIT_S)
    assert result.returncode == 2
    assert f'error: {bad}:2: <include>: element not supported' in result.stderr


def test_missing_node_module_names_the_executable(monkeypatch):
    monkeypatch.setitem(bringup.EXECUTABLES, 'ghost_node', 'topspark_ros.nodes.ghost:GhostNode')
    with pytest.raises(BringupError, match=r"executable 'ghost_node': module "
                                           r'topspark_ros.nodes.ghost .* does not exist'):
        bringup.load_node_class('ghost_node')
    monkeypatch.setitem(bringup.EXECUTABLES, 'ghost_node', 'topspark_ros.bringup:GhostNode')
    with pytest.raises(BringupError, match=r'topspark_ros.bringup has no class GhostNode'):
        bringup.load_node_class('ghost_node')
    for executable in bringup.EXECUTABLES.keys() - {'ghost_node'}:
        assert issubclass(bringup.load_node_class(executable), Node)


def test_find_package_share(tmp_path, monkeypatch):
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))         # indexes nothing
    assert bringup.find_package_share('topspark_ros') == ROOT       # source tree fallback
    with pytest.raises(LookupError, match="package 'nope_pkg' not found"):
        bringup.find_package_share('nope_pkg')
    # An indexed prefix: found there, whether named by AMENT_PREFIX_PATH or sys.prefix.
    (tmp_path / 'share' / 'topspark_ros').mkdir(parents=True)
    index = tmp_path / 'share' / 'ament_index' / 'resource_index' / 'packages'
    index.mkdir(parents=True)
    (index / 'topspark_ros').touch()
    assert bringup.find_package_share('topspark_ros') == tmp_path / 'share' / 'topspark_ros'
    # pip-installed data files under sys.prefix, AMENT_PREFIX_PATH unset: found there, and
    # the environment is left alone (it used to be set to sys.prefix as a side effect).
    monkeypatch.delenv('AMENT_PREFIX_PATH')
    monkeypatch.setattr(sys, 'prefix', str(tmp_path))
    assert bringup.find_package_share('topspark_ros') == tmp_path / 'share' / 'topspark_ros'
    assert 'AMENT_PREFIX_PATH' not in os.environ


# ------------------------------------------------------------------------------ bringup runs


def small_graph(tmp_path: Path, namespace: str) -> tuple[Path, Path]:
    """A launch file with only perception (20 neurons) and its params; returns (launch, model)."""
    model = tmp_path / 'model.npz'
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump({
        '/**': {'ros__parameters': {'use_sim_time': False}},
        '/**/perception': {'ros__parameters': {
            'n_neurons': 20, 'timesteps': 20, 'save_path': str(model),
            'save_on_shutdown': True, 'input_reliability': 'reliable'}}}))
    launch = write_launch(tmp_path, f'''
  <arg name="params_file" default="{params}"/>
  <arg name="namespace" default="{namespace}"/>
  <node pkg="topspark_ros" exec="perception_node" name="perception"
        namespace="$(var namespace)" output="screen">
    <param from="$(var params_file)"/>
    <param name="timesteps" value="30"/>
    <remap from="image" to="camera/image_raw"/>
  </node>''')
    return launch, model


def bringup_process(launch: Path, log: Path, *args: str) -> subprocess.Popen:
    with open(log, 'w') as stream:
        return subprocess.Popen([sys.executable, '-m', 'topspark_ros.bringup', str(launch),
                                 *args], env=process_env(PROCESS_DOMAIN_ID), stdout=stream,
                                stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, log: Path) -> str:
    try:
        proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return log.read_text()


def test_bringup_runs_for_a_duration_and_exits_0(tmp_path):
    launch, model = small_graph(tmp_path, f'/bringup{os.getpid()}')
    log = tmp_path / 'bringup.log'
    output = finish(bringup_process(launch, log, '--duration', '2'), log)
    assert f'running 1 node(s): /bringup{os.getpid()}/perception for 2 s' in output, output
    assert 'stopping: duration elapsed' in output, output
    # nothing was learned, so nothing is written (the model file stays the user's)
    assert 'nothing written' in output and not model.exists(), output


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_bringup_runs_the_graph_and_stops_on_signal(tmp_path, sig):
    """The node runs in the process with its name, namespace, remap and parameters applied."""
    namespace = f'/bringup{os.getpid()}_{sig.name}'
    launch, model = small_graph(tmp_path, namespace)
    log = tmp_path / 'bringup.log'
    proc = bringup_process(launch, log)
    ctx = Context()
    rclpy.init(context=ctx, domain_id=PROCESS_DOMAIN_ID)
    probe = Node('probe', context=ctx)
    try:
        topics: dict = {}
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end and proc.poll() is None:
            if ('perception', namespace) in probe.get_node_names_and_namespaces():
                topics = dict(probe.get_subscriber_names_and_types_by_node('perception',
                                                                           namespace))
                if {f'{namespace}/camera/image_raw', f'{namespace}/image/compressed'} <= set(
                        topics):
                    break
            time.sleep(0.1)
        assert f'{namespace}/camera/image_raw' in topics, (topics, log.read_text())
        assert f'{namespace}/image/compressed' in topics
    finally:
        probe.destroy_node()
        rclpy.try_shutdown(context=ctx)
        proc.send_signal(sig)
        output = finish(proc, log)
    assert proc.returncode == 0, output
    assert 'stopping: signal' in output and 'nothing written' in output, output
    assert not model.exists()


# ------------------------------------------------------------------------------ security


def _secure_env(keystore: Path) -> dict[str, str]:
    env = process_env(PROCESS_DOMAIN_ID)
    env.update(ROS_SECURITY_ENABLE='true', ROS_SECURITY_STRATEGY='Enforce',
               ROS_SECURITY_KEYSTORE=str(keystore))
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=WAIT_S * 4)


def test_bringup_passes_ros_args_and_the_enclave_to_rclpy_with_one_line_errors(tmp_path):
    """--ros-args reach rclpy's context: an enclave missing from the keystore is rcl's own
    error, and with the enclave there the PyPI Fast DDS (built without security) refuses the
    participant; both as one line and exit 1, no traceback."""
    launch, _ = small_graph(tmp_path, f'/secure{os.getpid()}')
    command = [sys.executable, '-m', 'topspark_ros.bringup', str(launch), '--duration', '1',
               '--ros-args', '--enclave', '/topspark/perception']
    missing = _run(command, _secure_env(tmp_path / 'keystore'))
    assert missing.returncode == 1, missing.stderr
    assert "cannot start ROS:" in missing.stderr and 'topspark/perception' in missing.stderr
    assert 'Traceback' not in missing.stderr
    (tmp_path / 'keystore' / 'enclaves' / 'topspark' / 'perception').mkdir(parents=True)
    present = _run(command, _secure_env(tmp_path / 'keystore'))
    assert present.returncode == 1 and 'Traceback' not in present.stderr, present.stderr
    assert any('failed to start' in line and 'security libraries' in line
               for line in present.stderr.splitlines()), present.stderr
    assert 'RuntimeWarning' not in present.stderr


def test_node_ros_args_and_one_enclave_per_process(tmp_path):
    path = write_launch(tmp_path, '''
  <node pkg="topspark_ros" exec="metrics_node" name="metrics"
        ros_args="--ros-args --enclave /topspark/metrics --log-level warn"/>
  <node pkg="topspark_ros" exec="governor_node" name="governor"
        ros_args="-e /topspark/metrics"/>''')
    spec = load_launch(path)
    assert [n.enclave for n in spec.nodes] == ['/topspark/metrics'] * 2
    assert spec.nodes[0].cli_args()[-2:] == ['--log-level', 'warn']
    assert bringup.process_enclave(spec, security=True) == '/topspark/metrics'
    with pytest.raises(LaunchFileError, match='one security identity.*/other'):
        bringup.process_enclave(spec, '/other', security=True)
    assert bringup.process_enclave(spec, '/other', security=False) == '/other'
    shipped = load_launch(LAUNCH_XML, find_share=source_share)      # an enclave per node
    assert [n.enclave for n in shipped.nodes] == ['/topspark/perception', '/topspark/governor',
                                                  '/topspark/metrics']
    assert bringup.process_enclave(shipped, security=False) == ''
    with pytest.raises(LaunchFileError, match='one security identity'):
        bringup.process_enclave(shipped, security=True)
    bad = write_launch(tmp_path, '''
  <node pkg="topspark_ros" exec="metrics_node" name="metrics" ros_args="--enclave"/>''',
                       name='bad.launch.xml')
    with pytest.raises(LaunchFileError, match='ros_args: --enclave needs a value'):
        load_launch(bad)


def test_node_executable_with_an_enclave_fails_with_one_line(tmp_path):
    (tmp_path / 'keystore' / 'enclaves' / 'topspark' / 'metrics').mkdir(parents=True)
    result = _run([sys.executable, '-m', 'topspark_ros.nodes.metrics', '--ros-args',
                   '--enclave', '/topspark/metrics'], _secure_env(tmp_path / 'keystore'))
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
    assert any('cannot start' in line and 'security libraries' in line
               for line in result.stderr.splitlines()), result.stderr
