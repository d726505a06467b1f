# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-demo as a user runs it (shortened): the loop closes and the outputs are written."""

import json
from pathlib import Path

from topspark_ros import bringup, executables
from topspark_ros.cli import demo

from ros_helpers import domain_id

ROOT = Path(__file__).resolve().parent.parent


def test_demo_launch_file_names_only_known_executables():
    spec = bringup.load_launch(ROOT / 'launch' / 'demo.launch.xml')
    for node in spec.nodes:
        assert node.executable in executables.NODES and node.executable in bringup.EXECUTABLES
        assert all(Path(f).is_file() for f in node.param_files)
    assert Path(spec.arguments['model_path']).is_file()
    assert (Path(spec.arguments['profile_path']) / 'profile.yaml').is_file()


def test_short_demo_closes_the_loop(tmp_path, capsys, monkeypatch):
    # Not the default domain 0: another run's governor there would command this run's baseline.
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain_id(37)))
    assert demo.main(['--duration', '8', '--baseline-duration', '4', '--out',
                      str(tmp_path)]) == 0
    summary = json.loads((tmp_path / 'summary.json').read_text())
    governed, baseline = summary['governed'], summary['baseline']
    assert governed['samples'] > 20 and baseline['samples'] > 10
    assert 0.5 < governed['accuracy'] <= 1.0 and 0.5 < baseline['accuracy'] <= 1.0
    assert baseline['timesteps_per_sample'] == [350]
    assert max(governed['timesteps_per_sample']) < 350          # the governor acted
    assert governed['battery_end'] < governed['battery_start']  # the battery drained
    assert summary['energy_ratio_baseline_to_governed'] > 1.5
    assert (tmp_path / 'timeline.png').stat().st_size > 10_000
    out = capsys.readouterr().out
    assert 'governor on' in out and 'lower with the governor' in out


def test_short_demo_with_the_spiking_deep_network(tmp_path, monkeypatch):
    """--model deep: the shipped deep CNN and its profile, started and compared at its T0."""
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain_id(38)))
    assert demo.main(['--model', 'deep', '--duration', '8', '--baseline-duration', '4',
                      '--out', str(tmp_path)]) == 0
    summary = json.loads((tmp_path / 'summary.json').read_text())
    governed, baseline = summary['governed'], summary['baseline']
    assert governed['samples'] > 10 and baseline['samples'] > 5
    assert 0.8 < governed['accuracy'] <= 1.0 and 0.8 < baseline['accuracy'] <= 1.0
    assert baseline['timesteps_per_sample'] == [200]
    assert min(governed['timesteps_per_sample']) < 200          # the governor acted
    assert summary['energy_ratio_baseline_to_governed'] > 1.5


def test_env_elements_reach_the_process_environment(tmp_path, monkeypatch):
    spec = bringup.load_launch(ROOT / 'launch' / 'demo.launch.xml')
    camera = next(n for n in spec.nodes if n.executable == 'camera_sim_node')
    profile = dict(camera.env)['FASTDDS_DEFAULT_PROFILES_FILE']
    assert Path(profile).is_file() and profile.endswith('fastdds_large_frames.xml')
    monkeypatch.delenv('FASTDDS_DEFAULT_PROFILES_FILE', raising=False)
    assert bringup.apply_environment(spec) == {'FASTDDS_DEFAULT_PROFILES_FILE': profile}
    import os
    assert os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] == profile
    clash = tmp_path / 'clash.launch.xml'
    clash.write_text('<launch>' + ''.join(
        f'<node pkg="topspark_ros" exec="metrics_node" name="m{k}">'
        f'<env name="X_TEST" value="{k}"/></node>' for k in range(2)) + '</launch>')
    import pytest
    with pytest.raises(bringup.BringupError, match='share one environment'):
        bringup.apply_environment(bringup.load_launch(clash))


def test_demo_refuses_a_profile_made_for_another_model(tmp_path, capsys):
    from topspark_ros.snn import NetworkConfig
    from topspark_ros.topspark import MadeFor, Profile, ProfileEntry

    Profile(100, 'loihi', (ProfileEntry(100, 0.8, 0.8, 1e-4, 1e-4, 1e-5, 1e-5),),
            NetworkConfig(n_neurons=30, timesteps=100).to_dict(), {},
            MadeFor(30, (28, 28), 100, 'frames', 'scratch')).save(tmp_path / 'profile.yaml')
    assert demo.main(['--out', str(tmp_path / 'run'), f'profile_path:={tmp_path}']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'made for N=30' in err and 'the model has N=400' in err
    assert not (tmp_path / 'run' / 'summary.json').exists()


def test_interrupted_demo_writes_what_it_saw(tmp_path, monkeypatch):
    """Ctrl-C (a real SIGINT) once predictions have been seen: what was seen is written."""
    import os
    import signal

    print_row = demo._print_row

    def interrupt_once_samples_arrive(monitor):
        print_row(monitor)
        if monitor.samples and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    sent = []
    monkeypatch.setattr(demo, '_print_row', interrupt_once_samples_arrive)
    assert demo.main(['--duration', '120', '--out', str(tmp_path)]) == 130
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['partial'] and summary['governed']['partial']
    assert summary['governed']['samples'] > 0 and summary['governed']['seconds'] < 110
    assert summary['baseline'] is None                          # not started after Ctrl-C
    assert (tmp_path / 'timeline.png').stat().st_size > 10_000
    assert 'interrupted' in (tmp_path / 'summary.md').read_text()


def test_sigterm_interrupts_the_demo_like_ctrl_c():
    import os
    import signal
    import time

    import pytest

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with demo._Sigterm():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)                 # the handler runs here
    assert signal.getsignal(signal.SIGTERM) == before
