# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-profile --quick end to end, cache and resume, the Dask path, select, --profile."""

import json

import numpy as np
import pytest
import yaml

from topspark_ros.cli import profile as profile_cli
from topspark_ros.cli import select, train
from topspark_ros.snn import NetworkConfig, replace_params
from topspark_ros.topspark import load_profile
from topspark_ros.topspark.enhancement import EnhancementRule, overrides, rule_grid


@pytest.fixture(scope='module')
def quick_profile(tmp_path_factory):
    out = tmp_path_factory.mktemp('profile')
    assert profile_cli.main(['--quick', '--out', str(out), '--quiet', '--workers', '2']) == 0
    return out


def test_quick_profile_writes_everything(quick_profile):
    prof = load_profile(quick_profile)
    assert prof.timesteps == [100, 50, 25] and prof.baseline_timesteps == 100
    base = prof.entry(100)
    assert base.accuracy == base.accuracy_baseline_params and base.params == {}
    for e in prof.entries:
        assert 0.0 <= e.accuracy <= 1.0 and e.latency_infer_s > 0 and e.energy_infer_j > 0
        assert e.energy_train_j > e.energy_infer_j                 # learning costs energy
    # fewer timesteps, fewer input spikes, less event-driven energy (same parameters)
    assert prof.entry(25).extra['input_spikes'] < prof.entry(100).extra['input_spikes']
    for name in ('report.md', 'details.json', 'accuracy_vs_timesteps.png',
                 'cost_vs_timesteps.png', 'pareto.png'):
        assert (quick_profile / name).stat().st_size > 100, name
    details = json.loads((quick_profile / 'details.json').read_text())
    assert len(details['sensitivity']) == 3 and len(details['search']) >= 4
    assert 'Chosen timestep' in (quick_profile / 'report.md').read_text()
    # what it was made for, recorded by the sweep and shown in the report
    from topspark_ros.topspark import MadeFor
    assert prof.made_for == MadeFor(30, (28, 28), 100, 'frames', 'scratch', 0, 1,
                                    str(quick_profile / 'quick_dataset.npz'))
    assert 'Made for: N=30, input 28x28, T0=100' in (quick_profile / 'report.md').read_text()
    settings = json.loads((quick_profile / 'sweep_settings.json').read_text())
    assert settings['network']['n_neurons'] == 30 and settings['pretrain_epochs'] == 0


def test_sweep_resumes_from_its_cache(quick_profile):
    points = sorted((quick_profile / 'points').glob('*.json'))
    stamps = {p: p.stat().st_mtime_ns for p in points}
    removed = points[0]
    removed.unlink()
    assert profile_cli.main(['--quick', '--out', str(quick_profile), '--quiet']) == 0
    assert removed.is_file()                                       # recomputed
    for p in points[1:]:
        assert p.stat().st_mtime_ns == stamps[p]                   # reused, not recomputed


def test_retime_measures_latency_again_and_keeps_the_rest(quick_profile, tmp_path, capsys):
    """--retime (a profile moved to the robot's computer): latency columns and CPU energy are
    measured again, everything that does not depend on the machine stays."""
    old = load_profile(quick_profile)
    assert profile_cli.main(['--retime', str(quick_profile), '--out', str(tmp_path),
                             '--samples', '50', '--quiet']) == 0
    new = load_profile(tmp_path)
    printed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert printed['timesteps'] == new.timesteps == old.timesteps
    assert printed['latency_infer_us'] == [round(1e6 * e.latency_infer_s, 1)
                                           for e in new.entries]
    assert [e.latency_infer_s for e in new.entries] != [e.latency_infer_s for e in old.entries]
    for a, b in zip(old.entries, new.entries):
        assert (a.accuracy, a.accuracy_baseline_params, a.energy_infer_j, a.energy_train_j,
                a.params) == (b.accuracy, b.accuracy_baseline_params, b.energy_infer_j,
                              b.energy_train_j, b.params)
        assert b.latency_infer_s > 0 and b.latency_train_s > 0
        assert b.extra['cpu_energy_infer_j'] == pytest.approx(15.0 * b.latency_infer_s)
    timed = new.metadata['latency_timed_on']
    assert timed['cpus'] >= 1 and timed['processor']
    assert new.metadata['command'].startswith('topspark-profile --quick')
    report = (tmp_path / 'report.md').read_text()
    assert 'Regenerate: `topspark-profile --quick' in report
    assert 'Latency re-timed: `topspark-profile --retime' in report
    assert (tmp_path / 'details.json').is_file() and (tmp_path / 'cost_vs_timesteps.png').is_file()


def test_retime_and_out_errors_are_messages(tmp_path, capsys):
    assert profile_cli.main(['--retime', str(tmp_path / 'missing')]) == 2
    assert 'profile file not found' in capsys.readouterr().err
    assert profile_cli.main(['--quick']) == 2
    assert '--out is required' in capsys.readouterr().err


def test_dask_cluster_gives_the_same_profile(quick_profile, tmp_path):
    distributed = pytest.importorskip('distributed')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rc = profile_cli.main(['--quick', '--out', str(tmp_path), '--quiet', '--dask',
                               cluster.scheduler_address])
    assert rc == 0
    ours, theirs = load_profile(quick_profile), load_profile(tmp_path)
    assert [e.accuracy for e in ours.entries] == [e.accuracy for e in theirs.entries]
    assert [e.params for e in ours.entries] == [e.params for e in theirs.entries]


def test_select_prints_the_choice(quick_profile, capsys):
    assert select.main(['--profile', str(quick_profile), '--accuracy-tolerance', '1.0',
                        '--json']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out['timesteps'] == 25 and 'least energy' in out['reason']
    assert select.main(['--profile', str(quick_profile / 'nope')]) == 2
    assert 'profile file not found' in capsys.readouterr().err


def test_train_applies_the_profile_parameters(tmp_path, quick_profile, mnist):
    import numpy as np

    data = tmp_path / 'd.npz'
    np.savez(data, images=mnist.train_images[:100], labels=mnist.train_labels[:100])
    prof = yaml.safe_load((quick_profile / 'profile.yaml').read_text())
    for e in prof['entries']:
        if e['timesteps'] == 50:
            e['params'] = {'learning.nu_post': 0.02, 'excitatory.v_thresh_mv': -53.0}
    (tmp_path / 'profile.yaml').write_text(yaml.safe_dump(prof))
    model = tmp_path / 'm.npz'
    assert train.main(['--dataset', str(data), '--timesteps', '50', '--epochs', '1',
                       '--profile', str(tmp_path), '--out', str(model), '--quiet']) == 0
    cfg = json.loads(model.with_suffix('.json').read_text())['config']
    assert cfg['learning']['nu_post'] == 0.02 and cfg['excitatory']['v_thresh_mv'] == -53.0
    assert cfg['n_neurons'] == 30 and cfg['timesteps'] == 50     # the profile's network


def test_enhancement_rule_family():
    base = NetworkConfig()
    assert overrides(base, 350, EnhancementRule(alpha=1.0, beta=1.0)) == {}
    o = overrides(base, 175, EnhancementRule(alpha=1.0, beta=1.0, gamma=-1.0, delta=1.0))
    assert o['excitatory.v_thresh_mv'] == pytest.approx(-65.0 + 13.0 * 0.5)
    assert o['learning.nu_post'] == pytest.approx(0.02) and o['learning.nu_pre'] == \
        pytest.approx(2e-4)
    assert o['excitatory.theta_plus_mv'] == pytest.approx(0.025)
    assert o['input_rate_hz'] == pytest.approx(127.5)
    capped = overrides(base, 10, EnhancementRule(delta=3.0))
    assert capped['input_rate_hz'] == 1000.0                      # one spike per step at most
    slower = overrides(base, 175, EnhancementRule(mu=0.75))
    assert slower == {'excitatory.tau_mem_ms': pytest.approx(100.0 * 2 ** 0.75)}
    assert EnhancementRule(mu=0.75, beta=-1.0).label() == 'beta=-1, mu=0.75'
    window = overrides(base, 70, EnhancementRule(omega=1.0))
    assert window == {'event_window_scale': pytest.approx(0.2)}   # bins as wide as at T0
    assert overrides(base, 70, EnhancementRule(omega=-1.0))['event_window_scale'] == 1.0
    thinned = overrides(base, 70, EnhancementRule(kappa=0.5))
    assert thinned == {'event_keep_fraction': pytest.approx(0.2 ** 0.5)}
    assert overrides(base, 70, EnhancementRule(kappa=-1.0))['event_keep_fraction'] == 1.0
    regular = EnhancementRule(regular=True)
    assert overrides(base, 70, regular) == {'input_coding': 'regular'}
    assert regular.label() == 'regular code' and not regular.is_identity
    assert EnhancementRule(beta=-1.0, regular=True).label() == 'beta=-1, regular code'
    replace_params(base, overrides(base, 70, regular))            # a valid configuration


def test_fast_inhibition_rule_and_the_inhibition_delay_probe():
    from topspark_ros.topspark.sweep import SENSITIVITY

    base = NetworkConfig()                                  # an inhibitory layer: 2 steps
    fast = EnhancementRule(beta=-1.0, fast_inhibition=True)
    o = overrides(base, 50, fast)
    assert o['inhibition.variant'] == 'direct' and o['inhibition.direct_delay_ms'] == 1.0
    assert o['inhibition.direct_mv'] == base.inhibition.inh_to_exc_mv    # as strong
    assert fast.label() == 'beta=-1, fast inhibition' and o['learning.nu_post'] < 0.01
    assert overrides(base, 350, fast) == {}                 # T0 keeps its own network
    probe = SENSITIVITY['inhibition_delay']
    assert probe(base, 0.5)['inhibition.direct_delay_ms'] == 1.0
    assert probe(base, 2.0)['inhibition.direct_delay_ms'] == 4.0
    direct = replace_params(base, probe(base, 1.0))         # T0's delay, without the layer
    assert direct.inhibition.variant == 'direct' and direct.inhibition.direct_delay_ms == 2.0
    assert probe(direct, 0.5)['inhibition.direct_delay_ms'] == 1.0
    assert overrides(replace_params(base, o), 50, EnhancementRule(fast_inhibition=True)) == {
        'inhibition.variant': 'direct', 'inhibition.direct_mv': 120.0,
        'inhibition.direct_delay_ms': 1.0}


@pytest.mark.parametrize('workload, sizes', [('frames', (144, 16, 3)), ('events', (72, 16, 3))])
def test_rule_grids(workload, sizes):
    grids = [rule_grid(), rule_grid(small=True), rule_grid(quick=True)]
    if workload == 'events':
        grids = [rule_grid(workload='events'), rule_grid(small=True, workload='events'),
                 rule_grid(quick=True, workload='events')]
    for grid, size in zip(grids, sizes):
        assert len(grid) == len(set(grid)) == size and grid[0].is_identity
        used = {k for rule in grid for k, v in vars(rule).items() if v}
        # events search the window and thinning, never the rate (which does nothing there)
        assert not used & ({'delta', 'regular'} if workload == 'events' else {'omega', 'kappa'})
        assert used >= ({'omega', 'kappa'} if workload == 'events' else {'delta', 'regular'}) \
            or size == 3
        # a longer membrane time constant is searched instead of a lower threshold, not with it
        assert not any(rule.mu and rule.alpha for rule in grid)
        assert any(rule.mu for rule in grid) == (workload == 'frames' and size > 16)
    with pytest.raises(ValueError, match='workload'):
        rule_grid(workload='lidar')


def test_online_mode_starts_from_a_pretrained_network(tmp_path):
    assert profile_cli.main(['--quick', '--pretrain-epochs', '1', '--out', str(tmp_path),
                             '--quiet']) == 0
    assert (tmp_path / 'pretrained_test.npz').is_file()
    assert (tmp_path / 'pretrained_validation.npz').is_file()
    prof = load_profile(tmp_path)
    assert prof.metadata['pretrain_epochs_at_t0'] == 1 and prof.timesteps == [100, 50, 25]


def test_event_workload_profile(tmp_path):
    assert profile_cli.main(['--quick', '--workload', 'events', '--out', str(tmp_path),
                             '--quiet']) == 0
    prof = load_profile(tmp_path)
    assert prof.metadata['workload'] == 'events' and prof.timesteps == [100, 50, 25]
    assert (tmp_path / 'events_test_train.npz').is_file()
    for e in prof.entries:
        assert e.extra['input_spikes'] > 0 and e.energy_infer_j > 0


def _benchmark(name):
    """A script of benchmarks/ loaded as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / 'benchmarks' / f'{name}.py'
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_reproduction_table_and_plot(quick_profile, tmp_path, capsys):
    """benchmarks/topspark_reproduction.py: a row per profile, their mean, and the PNG."""
    reproduction = _benchmark('topspark_reproduction')
    png = tmp_path / 'grid.png'
    assert reproduction.main([str(quick_profile), str(quick_profile), '--plot', str(png)]) == 0
    out = capsys.readouterr().out
    assert out.count(f'| {quick_profile} |') == 2 and '| mean |' in out
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_reproduction_against_t0_without_the_layer(quick_profile, tmp_path, capsys):
    """A chosen T with fast inhibition gets a second energy table, against T0 counted without
    the inhibitory layer: lower ratios than against T0 with it, marked with *."""
    import shutil

    reproduction = _benchmark('topspark_reproduction')
    out = tmp_path / 'p'
    out.mkdir()
    for name in ('profile.yaml', 'details.json'):
        shutil.copy(quick_profile / name, out / name)
    data = yaml.safe_load((out / 'profile.yaml').read_text())
    for e in data['entries']:                       # every shortened T: fast inhibition
        if e['timesteps'] != data['baseline_timesteps']:
            e['params'].update(overrides(NetworkConfig.from_dict(data['network']), 1,
                                         EnhancementRule(fast_inhibition=True), 2))
    (out / 'profile.yaml').write_text(yaml.safe_dump(data))
    row = reproduction.ratios(str(out), 1.0)        # any accuracy: the least energy
    assert row['T'] != row['T0']
    same = row['same_structure']
    for name in ('loihi', 'cmos45', 'dense_gpu_like'):
        for kind in ('infer', 'train'):
            assert 0 < same[f'{name}_{kind}_x'] < row[f'{name}_{kind}_x']
    assert reproduction.main([str(out), '--tolerance', '1.0']) == 0
    assert f"| {out} | {row['T']}* |" in capsys.readouterr().out


def test_latency_breakdown_times_every_part_per_timestep(quick_profile, capsys):
    """benchmarks/latency_breakdown.py: a row per T asked for, a positive time per column;
    a T the profile lacks is refused with the ones it has."""
    breakdown = _benchmark('latency_breakdown')
    argv = [str(quick_profile), '--timesteps', '100', '25', '--samples', '20', '--rounds', '1']
    assert breakdown.main(argv) == 0
    rows = [line.split('|')[1:-1] for line in capsys.readouterr().out.splitlines()
            if line.startswith('| 100 |') or line.startswith('| 25 |')]
    assert [int(r[0]) for r in rows] == [100, 25]
    assert all(len(r) == 6 and all(float(x) > 0 for x in r[1:]) for r in rows)
    with pytest.raises(SystemExit):
        breakdown.main([str(quick_profile), '--timesteps', '33'])
    assert 'no entry for T = [33]' in capsys.readouterr().err


def test_seed_check_reruns_the_headline_points(quick_profile, tmp_path):
    """benchmarks/topspark_seeds.py: T0, the chosen T enhanced and with T0 parameters, per
    seed, through the sweep's own run_point (cached)."""
    seeds = _benchmark('topspark_seeds')
    argv = [str(quick_profile), '--seeds', '1', '2', '--timesteps', '25', '--out', str(tmp_path)]
    assert seeds.main(argv) == 0
    result = json.loads((tmp_path / 'seeds.json').read_text())
    assert result['T'] == 25 and [r['seed'] for r in result['seeds']] == [1, 2]
    assert result['enhanced_parameters'] == load_profile(quick_profile).params_for(25)
    for row in result['seeds']:
        assert all(0.0 <= row[k] <= 1.0 for k in ('T0', 'T enhanced', 'T with T0 parameters'))
    n_points = len(list((tmp_path / 'points').iterdir()))
    distinct = 3 if result['enhanced_parameters'] else 2      # identity: same point as T0 params
    assert n_points == 2 * distinct and seeds.main(argv) == 0  # a rerun reads the cache
    assert len(list((tmp_path / 'points').iterdir())) == n_points
    assert 'mean +/- sd' in (tmp_path / 'seeds.md').read_text()


def test_test_seeds_average_the_profile_accuracies(tmp_path):
    """--test-seeds repeats the test points for more seeds; the profile's accuracies are the
    means, per-seed values are kept, and the first seed's points come from the cache."""
    out = tmp_path / 'p'
    assert profile_cli.main(['--quick', '--out', str(out), '--quiet']) == 0
    single = load_profile(out)
    before = len(list((out / 'points').iterdir()))
    assert profile_cli.main(['--quick', '--out', str(out), '--quiet',
                             '--test-seeds', '1', '0', '1']) == 0
    prof = load_profile(out)
    assert prof.metadata['test_seeds'] == [0, 1]
    added = len(list((out / 'points').iterdir())) - before
    assert 0 < added <= 2 * len(prof.entries)     # seed 1 only: T0 params and enhanced per T
    for e, e0 in zip(prof.entries, single.entries):
        per_seed = e.extra['accuracy_by_seed']
        assert len(per_seed) == 2 and per_seed[0] == e0.accuracy
        assert e.accuracy == pytest.approx(sum(per_seed) / 2)
        assert e.accuracy_baseline_params == pytest.approx(
            sum(e.extra['accuracy_baseline_params_by_seed']) / 2)
    assert 'means over seeds [0, 1]' in (out / 'report.md').read_text()


def test_search_seeds_choose_on_mean_validation_accuracy(tmp_path):
    """--search-seeds reruns each T's finalists on more seeds' validation splits; the choice is
    made on the means, and the first seed's runs are the search's own (from the cache)."""
    out = tmp_path / 'p'
    assert profile_cli.main(['--quick', '--out', str(out), '--quiet']) == 0
    one_seed = load_profile(out)
    before = len(list((out / 'points').iterdir()))
    assert profile_cli.main(['--quick', '--out', str(out), '--quiet',
                             '--search-seeds', '2', '0']) == 0
    prof = load_profile(out)
    details = json.loads((out / 'details.json').read_text())
    assert prof.metadata['search_seeds'] == [0, 2]
    first_seed = {(r['timesteps'], r['rule']): r['validation_accuracy']
                  for r in details['search']}
    finalists = details['finalists']
    short = [e.timesteps for e in prof.entries if e.timesteps != prof.baseline_timesteps]
    # --quick: 3 rules, all finalists, each also with fast inhibition
    assert len(finalists) == 2 * 3 * len(short)
    assert sum('fast inhibition' in f['rule'] for f in finalists) == 3 * len(short)
    changed = [T for T in short if prof.entry(T).params != one_seed.entry(T).params]
    added = len(list((out / 'points').iterdir())) - before
    assert added == len(finalists) + len(changed)       # seed 2's runs, new choices' tests
    for f in finalists:
        by_seed = f['validation_accuracy_by_seed']
        assert by_seed[0] == first_seed[(f['timesteps'], f['rule'])]
        assert f['validation_accuracy'] == pytest.approx(sum(by_seed) / 2)
    for T in short:
        entry = prof.entry(T)
        means = {f['rule']: f['validation_accuracy'] for f in finalists if f['timesteps'] == T}
        assert entry.extra['validation_accuracy'] == means[entry.extra['rule']]
        assert means[entry.extra['rule']] >= max(means.values()) - 0.005 - 1e-12


def test_cache_key_follows_the_code_and_the_data(monkeypatch, tmp_path):
    """A point cached by code that computed something else, or from another dataset file of
    the same name, must not be reused: the key derives from both, no version to bump."""
    from topspark_ros.topspark import sweep

    spec = sweep.SweepSpec(NetworkConfig(n_neurons=10).to_dict())
    point = sweep.Point('test', 50, (('event_keep_fraction', 0.5),))
    before = point.key(spec)
    assert sweep.Point('test', 50, (('event_keep_fraction', 0.5),), 'other tag').key(spec) \
        == before                                               # the tag is not part of it
    import numba
    sweep.numerics_fingerprint.cache_clear()
    monkeypatch.setattr(numba, '__version__', numba.__version__ + '.other')
    try:
        assert point.key(spec) != before                        # other numerics, other key
    finally:
        sweep.numerics_fingerprint.cache_clear()
    source = sweep.inspect.getsource
    monkeypatch.setattr(sweep.inspect, 'getsource',
                        lambda f: source(f) + ('#' if f is sweep.run_point else ''))
    try:
        assert point.key(spec) != before                        # an edited point function
    finally:
        monkeypatch.undo()
        sweep.numerics_fingerprint.cache_clear()
    assert point.key(spec) == before
    data = tmp_path / 'd.npz'
    np.savez(data, images=np.zeros((20, 4, 4), np.uint8), labels=np.arange(20) % 2)
    on_file = sweep.SweepSpec(NetworkConfig(n_neurons=10).to_dict(), dataset=str(data))
    first = point.key(on_file)
    np.savez(tmp_path / 'other.npz', images=np.ones((20, 4, 4), np.uint8),
             labels=np.arange(20) % 2)
    (tmp_path / 'other.npz').replace(data)
    assert point.key(on_file) != first                          # same name, other content


def test_the_enhancement_kept_is_the_cheapest_within_the_margin_of_the_best():
    from topspark_ros.topspark.sweep import pick_enhancement

    def found(label, accuracy, joules):
        return (EnhancementRule(alpha=label), {}, {'accuracy': accuracy,
                                                   'energy': {'loihi': {'infer_j': joules}}})
    searched = [found(1, 0.870, 9e-6), found(2, 0.876, 11e-6), found(3, 0.872, 7e-6),
                found(4, 0.860, 5e-6), found(5, 0.876, 10e-6)]
    assert pick_enhancement(searched, 'loihi', 0.0)[0].alpha == 5      # ties: the cheaper
    assert pick_enhancement(searched, 'loihi', 0.005)[0].alpha == 3    # 0.4 pp below, cheapest
    assert pick_enhancement(searched, 'loihi', 0.02)[0].alpha == 4
    assert pick_enhancement(searched[:1], 'loihi', 0.005)[0].alpha == 1
