# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The trade-off policy and the profile file on small synthetic profiles."""

import math

import pytest
import yaml

from topspark_ros.topspark import (battery_tolerance, choose, load_profile, Profile,
                                   ProfileEntry, ProfileError, Requirements)
from topspark_ros.topspark.inputs import (BatteryScale, check_latency, EMPTY_BELOW_ZERO, FRACTION,
                                          InputError, MAX_LATENCY_S)


def entry(T, acc, lat_us, energy_uj, **params):
    return ProfileEntry(T, acc, acc - 0.05, 2 * lat_us * 1e-6, lat_us * 1e-6,
                        2 * energy_uj * 1e-6, energy_uj * 1e-6, params=params)


@pytest.fixture
def profile():
    return Profile(350, 'loihi', (
        entry(350, 0.89, 110, 35.0), entry(100, 0.88, 40, 10.0, **{'learning.nu_post': 0.005}),
        entry(50, 0.86, 25, 5.0), entry(30, 0.80, 18, 3.0)))


def test_least_energy_within_tolerance(profile):
    choice = choose(profile, Requirements(accuracy_tolerance=0.02))
    assert choice.timesteps == 100 and choice.relaxed == ()
    assert choice.params == {'learning.nu_post': 0.005}
    assert 'least energy' in choice.reason and 'T=100' in choice.reason
    assert choose(profile, Requirements(accuracy_tolerance=0.03)).timesteps == 50
    assert choose(profile, Requirements(accuracy_tolerance=0.0)).timesteps == 350
    assert choose(profile, Requirements(accuracy_tolerance=1.0)).timesteps == 30


def test_latency_and_energy_budgets(profile):
    assert choose(profile, Requirements(0.02, latency_budget_s=50e-6)).timesteps == 100
    assert choose(profile, Requirements(0.10, energy_budget_j=6e-6)).timesteps == 30


def test_energy_budget_is_relaxed_first(profile):
    choice = choose(profile, Requirements(0.02, energy_budget_j=1e-6))
    assert choice.timesteps == 100 and choice.relaxed == ('energy',)
    assert 'relaxed the energy budget' in choice.reason


def test_accuracy_is_relaxed_before_latency(profile):
    choice = choose(profile, Requirements(0.01, latency_budget_s=30e-6))
    assert choice.timesteps == 50 and choice.relaxed == ('accuracy',)
    assert 'most accurate within the latency budget' in choice.reason


def test_latency_is_relaxed_last(profile):
    choice = choose(profile, Requirements(0.02, latency_budget_s=1e-6))
    assert choice.timesteps == 30 and choice.relaxed == ('latency',)


def test_single_entry_and_missing_baseline():
    only = Profile(350, 'loihi', (entry(100, 0.8, 40, 10.0),))
    choice = choose(only, Requirements(0.0))
    assert choice.timesteps == 100          # the baseline falls back to the best entry


@pytest.mark.parametrize('kwargs', [{'accuracy_tolerance': -0.1},
                                    {'accuracy_tolerance': math.nan},
                                    {'latency_budget_s': 0.0}, {'energy_budget_j': -1.0}])
def test_invalid_requirements(kwargs):
    with pytest.raises(ValueError):
        Requirements(**kwargs)


def test_battery_tolerance():
    assert battery_tolerance(1.0) == pytest.approx(0.01)
    assert battery_tolerance(0.2) == pytest.approx(0.10)
    assert battery_tolerance(0.05) == pytest.approx(0.10)
    assert battery_tolerance(0.6) == pytest.approx(0.01 + 0.5 * 0.09)
    assert battery_tolerance(None) == battery_tolerance(math.nan) == pytest.approx(0.01)


def test_profile_round_trip_and_lookup(tmp_path, profile):
    path = profile.save(tmp_path / 'p' / 'profile.yaml')
    loaded = load_profile(tmp_path / 'p')
    assert loaded.timesteps == [350, 100, 50, 30]
    assert loaded.entry(100).params == {'learning.nu_post': 0.005}
    assert loaded.params_for(90) == {'learning.nu_post': 0.005}     # nearest profiled T
    assert yaml.safe_load(path.read_text())['format_version'] == 1


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d.update(format='other'), 'not a topspark_ros profile'),
    (lambda d: d.update(format_version=7), 'format_version 7'),
    (lambda d: d['entries'][1].pop('latency_infer_s'), "missing 'latency_infer_s'"),
    (lambda d: d['entries'][2].update(accuracy=float('nan')), 'T=50'),
    (lambda d: d['entries'][0].update(accuracy=1.5), 'fractions'),
    (lambda d: d['entries'].append(dict(d['entries'][0])), 'duplicate timesteps'),
    (lambda d: d.update(entries=[]), 'at least one'),
])
def test_bad_profiles_name_the_problem(tmp_path, profile, mutate, message):
    data = profile.to_dict()
    mutate(data)
    path = tmp_path / 'profile.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_missing_profile(tmp_path):
    with pytest.raises(ProfileError, match='not found'):
        load_profile(tmp_path / 'nope.yaml')


def test_report_gives_the_event_window_of_the_choice(tmp_path):
    from topspark_ros.topspark.report import write_report

    events = Profile(350, 'loihi', (entry(350, 0.77, 300, 50.0),
                                    entry(75, 0.76, 200, 12.0, event_window_scale=0.2142857)))
    text = write_report(events, {}, tmp_path, Requirements(0.02), 'cmd').read_text()
    assert '**T=75' in text and 'Event window at T = 75: 0.214 of the T0 window (64 ms' in text
    frames = Profile(350, 'loihi', (entry(350, 0.77, 300, 50.0), entry(75, 0.76, 200, 12.0)))
    assert 'Event window' not in write_report(frames, {}, tmp_path, Requirements(0.02),
                                              'cmd').read_text()


def test_report_says_when_the_choice_drops_the_inhibitory_layer(tmp_path):
    from topspark_ros.snn import NetworkConfig
    from topspark_ros.topspark.report import write_report

    fast = {'inhibition.variant': 'direct', 'inhibition.direct_mv': 120.0,
            'inhibition.direct_delay_ms': 1.0}
    network = NetworkConfig().to_dict()                     # T0: the inhibitory layer
    prof = Profile(350, 'loihi', (entry(350, 0.77, 300, 50.0), entry(30, 0.76, 200, 12.0, **fast)),
                   network)
    text = write_report(prof, {}, tmp_path, Requirements(0.02), 'cmd').read_text()
    assert 'Lateral inhibition at T = 30: direct, 1 ms after' in text
    plain = Profile(350, 'loihi', (entry(350, 0.77, 300, 50.0), entry(30, 0.76, 200, 12.0)),
                    network)
    assert 'Lateral inhibition' not in write_report(plain, {}, tmp_path, Requirements(0.02),
                                                    'cmd').read_text()


# ------------------------------------------------------------------------------ governor inputs


def read_all(scale: BatteryScale, values) -> list:
    """Each value's level, or the reason it was refused."""
    out = []
    for value in values:
        try:
            out.append(scale.read(value).level)
        except InputError as exc:
            out.append(exc.reason)
    return out


def test_battery_scale_is_the_majority_of_recent_values_not_one_glitch():
    scale = BatteryScale()
    assert read_all(scale, [0.8] * 4 + [50.0, 0.8, 100.0, 0.8]) == [
        0.8] * 4 + ['battery_scale_mismatch', 0.8, 'battery_scale_mismatch', 0.8]
    assert scale.scale == FRACTION
    # A producer that keeps sending above 1 is a 0..100 one once it is the majority.
    levels = read_all(scale, [60.0] * 8)
    assert levels[:4] == ['battery_scale_mismatch'] * 4 and levels[4:] == [0.6] * 4
    assert scale.percent


def test_battery_scale_0_to_100_producer_reads_its_last_percent_as_percent():
    scale = BatteryScale()
    drain = [80.0, 20.0, 6.0, 4.0, 1.5, 1.0, 0.9, 0.5, 0.1, 0.0]
    assert read_all(scale, drain) == pytest.approx([v / 100 for v in drain])
    assert scale.percent
    # ... and recharging from empty keeps reading it so.
    assert read_all(scale, [0.5, 1.0, 30.0]) == pytest.approx([0.005, 0.01, 0.3])
    # A value <= 1 far from the last level is a glitch of this producer, not 0.8 %.
    assert read_all(scale, [0.8, 31.0]) == ['battery_scale_mismatch', pytest.approx(0.31)]


@pytest.mark.parametrize('percent', [True, False], ids=['0..100', '0..1'])
def test_battery_tiny_negative_is_empty_with_a_note(percent):
    scale = BatteryScale()
    scale.read(50.0 if percent else 0.5)
    reading = scale.read(-4.6e-5)
    assert reading.level == 0.0 and 'read as empty' in reading.note
    assert scale.percent == percent                                 # no vote either way
    assert scale.read(0.0).note == ''
    assert math.isnan(scale.read(math.nan).level or math.nan)
    for bad in (-EMPTY_BELOW_ZERO * 1.01, -5.0, 100.5, math.inf, -math.inf):
        with pytest.raises(InputError) as refused:
            scale.read(bad)
        assert refused.value.reason == 'battery_out_of_range'
    assert scale.read(-EMPTY_BELOW_ZERO).level == 0.0


def test_latency_plausibility():
    assert check_latency(1e-4) == 1e-4 and check_latency(MAX_LATENCY_S) == MAX_LATENCY_S
    for bad, reason in ((math.nan, 'latency_not_finite'), (math.inf, 'latency_not_finite'),
                        (0.0, 'latency_not_positive'), (-1e-3, 'latency_not_positive'),
                        (1e308, 'latency_implausible'),
                        (MAX_LATENCY_S * 1.0001, 'latency_implausible')):
        with pytest.raises(InputError) as refused:
            check_latency(bad)
        assert refused.value.reason == reason


def test_requirements_within_domain_never_raise():
    assert Requirements.within_domain(1.0000005, 0.0, 0.0) == Requirements(1.0)
    assert Requirements.within_domain(-1e-9, -1e-9, math.nan) == Requirements(0.0)
    assert Requirements.within_domain(math.nan, math.inf, 2e-6) == Requirements(0.0, None, 2e-6)
    assert Requirements.within_domain(0.05, 1e-4) == Requirements(0.05, 1e-4)
    with pytest.raises(ValueError):
        Requirements(1.0000005)                 # the plain constructor still refuses
