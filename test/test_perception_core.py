# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception without ROS: the model service's file rules, the profile per T, event windows,
the callback-to-worker inbox and the STDP model behind the model interface."""

import multiprocessing
import os
from pathlib import Path
import signal
import threading

import numpy as np
import pytest

from topspark_ros.models import EventSample, ModelError, StdpModel, load_model
from topspark_ros.perception import (Arrival, EventRejected, EventStream, EventWindow, Inbox,
                                     ModelFiles, ModelService, ModelStartError)
from topspark_ros.perception.events import MAX_WINDOW_EVENTS
from topspark_ros.snn import (load_checkpoint, Network, NetworkConfig, Readout,
                              save_checkpoint)
from topspark_ros.snn.checkpoint import remove_stale_temporaries
from topspark_ros.topspark import Profile, ProfileEntry
from topspark_ros.topspark.profile import MadeFor

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO / 'config' / 'model_n400.npz'
SHIPPED_PROFILE = REPO / 'config' / 'profile_n400'
N = 20


def bar() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 11:17] = 255
    return image


def small_model(path: Path, **metadata) -> Path:
    config = NetworkConfig(n_neurons=N)
    readout = Readout(N, 10, class_spikes=np.random.default_rng(1).random((10, N)),
                      class_samples=np.ones(10))
    return save_checkpoint(path, Network(config), readout, {'dataset': 'test', **metadata})


def entry(T: int, **params) -> ProfileEntry:
    return ProfileEntry(T, 0.9, 0.9, 1e-4, 1e-4, 1e-5, 1e-5, params=params)


def small_profile(path: Path, n_neurons: int = N) -> Path:
    enhanced = {'input_coding': 'regular', 'learning.nu_post': 0.001,
                'inhibition.variant': 'direct', 'inhibition.direct_mv': 120.0,
                'inhibition.direct_delay_ms': 1.0}
    made_for = MadeFor(n_neurons, (28, 28), 350, 'frames', 'online', pretrain_epochs=1)
    return Profile(350, 'loihi', (entry(350), entry(30, **enhanced)),
                   made_for=made_for).save(path)


# ------------------------------------------------------------------------------ model file


def test_the_shipped_model_at_a_short_t_is_not_written_when_nothing_was_learned(tmp_path):
    out = tmp_path / 'out.npz'
    service = ModelService.open(ModelFiles(str(SHIPPED_MODEL), str(out)), str(SHIPPED_PROFILE))
    service.set_timesteps(30)
    output = service.run_frame(bar(), learn=False)
    assert output.prediction in range(10) and output.ops.timesteps == 30
    result = service.save('test')
    assert result.success and not result.written and 'nothing written' in result.message
    assert not out.exists()


def test_a_checkpoint_keeps_the_base_configuration_and_the_provenance(tmp_path):
    model_path = small_model(tmp_path / 'model.npz', epochs=3)
    out = tmp_path / 'learned.npz'
    service = ModelService.open(ModelFiles(str(model_path), str(out)),
                                str(small_profile(tmp_path / 'p.yaml')))
    base = load_checkpoint(model_path)[0].config
    service.set_timesteps(30)
    assert service.model.network.config.inhibition.variant == 'direct'     # enhanced at T=30
    for _ in range(3):
        service.run_frame(bar(), learn=True)
    service.observe_label(4)
    assert service.save('test').written

    network, readout, metadata = load_checkpoint(out)
    assert network.config == base                   # not the T=30 parameters
    assert metadata['dataset'] == 'test' and metadata['epochs'] == 3
    (record,) = metadata['history']
    assert record['samples_learned'] == 3 and record['samples_learned_by_timesteps'] == {'30': 3}
    assert record['labels_applied'] == 1 and record['started_from'] == f'loaded {model_path}'
    assert readout.class_samples[4] == 2
    assert not service.save('test').written         # nothing new since

    service.set_timesteps(350)
    service.run_frame(bar(), learn=True)
    assert service.save('test').written
    history = load_checkpoint(out)[2]['history']
    assert [h['samples_learned_by_timesteps'] for h in history] == [{'30': 3}, {'350': 1}]


def test_save_path_over_the_loaded_model_needs_overwrite_model(tmp_path):
    model_path = str(small_model(tmp_path / 'model.npz'))
    with pytest.raises(ModelStartError, match='overwrite_model'):
        ModelService.open(ModelFiles(model_path, model_path))
    service = ModelService.open(ModelFiles(model_path, model_path, overwrite_model=True))
    service.run_frame(bar(), learn=True)
    assert service.save('test').written


@pytest.mark.parametrize('problem', ['missing', 'corrupt', 'empty'])
def test_a_model_that_does_not_load_refuses_or_runs_fresh_and_is_never_written(tmp_path,
                                                                               problem):
    path = tmp_path / 'model.npz'
    if problem == 'corrupt':
        path.write_bytes(b'PK\x03\x04 not really')
    model_path = '' if problem == 'empty' else str(path)
    with pytest.raises(ModelStartError, match="model_fallback to 'fresh'"):
        ModelService.open(ModelFiles(model_path))
    service = ModelService.open(ModelFiles(model_path, model_path or '', True, 'fresh', N))
    assert service.model.network.config.n_neurons == N
    assert bool(service.load_error) == (problem != 'empty')
    assert service.save('test').message.endswith('nothing written')     # untrained: no file
    service.run_frame(bar(), learn=True)
    result = service.save('test')
    if problem == 'empty':
        assert not result.success and 'save_path is empty' in result.message
    else:
        assert not result.success and 'never written' in result.message
    assert list(tmp_path.iterdir()) == ([path] if problem == 'corrupt' else [])


def test_a_failed_save_keeps_what_was_learned_for_the_next_attempt(tmp_path):
    blocked = tmp_path / 'file'
    blocked.write_text('a file where a directory should be')
    service = ModelService.open(ModelFiles(str(small_model(tmp_path / 'm.npz')),
                                           str(blocked / 'out.npz')))
    service.run_frame(bar(), learn=True)
    result = service.save('test')
    assert not result.success and 'save failed' in result.message
    assert service.status().save_error and service.unsaved()
    service.files = ModelFiles(service.files.model_path, str(tmp_path / 'out.npz'))
    assert service.save('test').written
    assert load_checkpoint(tmp_path / 'out.npz')[2]['history'][0]['samples_learned'] == 1


def test_a_profile_made_for_another_model_is_refused_with_both_sides_named(tmp_path):
    profile = small_profile(tmp_path / 'p.yaml', n_neurons=30)
    with pytest.raises(ModelStartError, match='made for N=30.*the model has N=20'):
        ModelService.open(ModelFiles(str(small_model(tmp_path / 'm.npz'))), str(profile))
    with pytest.raises(ModelStartError, match='made for N=30.*the model has N=400'):
        ModelService.open(ModelFiles(str(SHIPPED_MODEL)), str(profile))


def test_only_the_profiles_timesteps_are_accepted(tmp_path):
    service = ModelService.open(ModelFiles(str(small_model(tmp_path / 'm.npz'))),
                                str(small_profile(tmp_path / 'p.yaml')))
    assert service.check_timesteps(30) is None
    assert 'profiled: 350, 30' in service.check_timesteps(5)
    with pytest.raises(ModelError, match='T=5'):
        service.set_timesteps(5)
    assert service.timesteps == 350
    free = ModelService.open(ModelFiles(str(small_model(tmp_path / 'm2.npz'))))
    assert free.check_timesteps(5) is None and free.set_timesteps(5) == {}


def test_learning_is_refused_for_a_model_that_cannot_learn(tmp_path):
    class InferenceOnly(StdpModel):
        can_learn = False

    model, metadata = load_model(small_model(tmp_path / 'm.npz'))
    service = ModelService(InferenceOnly(model.network, model.readout), metadata,
                           ModelFiles(''), 'test')
    assert 'cannot learn' in service.check_learning(True)
    assert service.check_learning(False) is None


def test_reset_marks_the_provenance(tmp_path):
    service = ModelService.open(ModelFiles(str(small_model(tmp_path / 'm.npz')),
                                           str(tmp_path / 'out.npz')))
    service.reset()
    assert not service.model.readout.labelled
    assert service.save('test').written
    metadata = load_checkpoint(tmp_path / 'out.npz')[2]
    assert metadata['origin'].startswith('reset from') and metadata['history'][0]['reset']
    assert metadata['before_reset']['dataset'] == 'test'


def _write_forever(path: str) -> None:
    import topspark_ros.snn.checkpoint as checkpoint

    network = Network(NetworkConfig(n_neurons=N))
    original = checkpoint.os.replace

    def hang(*args):                    # killed between writing the temporary and replacing
        os.kill(os.getpid(), signal.SIGKILL)
        original(*args)

    checkpoint.os.replace = hang
    save_checkpoint(path, network)


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / 'model.npz'
    process = multiprocessing.get_context('spawn').Process(target=_write_forever,
                                                           args=(str(target),))
    process.start()
    process.join(60)
    left = list(tmp_path.glob('.model.npz.*.tmp'))
    assert process.exitcode == -signal.SIGKILL and len(left) == 1 and not target.exists()
    mine = tmp_path / f'.model.npz.{os.getpid()}.abc.tmp'     # a live writer's: kept
    mine.write_bytes(b'')
    save_checkpoint(target, Network(NetworkConfig(n_neurons=N)))
    assert not left[0].exists() and mine.exists()
    assert remove_stale_temporaries(target) == []


# ------------------------------------------------------------------------------ events


def test_event_window_splits_skips_gaps_and_restarts_after_a_jump_back():
    window = EventWindow(1.0)
    one = np.ones(3, np.uint16)
    assert window.add(one, one, np.array([0.2, 0.5, 0.9])) == []
    done = window.add(one, one, np.array([0.95, 1.1, 1.3]))
    assert len(done) == 1
    x, _, t, span = done[0]
    assert span == (0.2, 1.2) and list(t) == [0.2, 0.5, 0.9, 0.95, 1.1] and x.size == 5
    done = window.add(one, one, np.array([5.0, 5.1, 5.2]))      # the gap closes [1.3, 2.3)
    assert [d.span for d in done] == [(1.3, 2.3)] and window.start == 5.0
    assert window.add(one, one, np.array([0.0, 0.1, 0.2])) == []  # bag restarted
    assert window.start == 0.0


def _add_in_thread(window: EventWindow, t: list[float]) -> BaseException | None:
    """Run window.add in a thread with a deadline: it hung forever before the fix."""
    outcome: list = []

    def run() -> None:
        try:
            window.add(np.zeros(len(t)), np.zeros(len(t)), np.array(t))
            outcome.append(None)
        except BaseException as exc:        # noqa: B902 - reported to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5.0)
    assert outcome, 'EventWindow.add did not return'
    return outcome[0]


def test_event_times_too_large_for_the_window_are_refused_not_looped_over():
    assert isinstance(_add_in_thread(EventWindow(0.3), [1e16]), ValueError)
    assert isinstance(_add_in_thread(EventWindow(0.3), [1.0, 1e16]), ValueError)
    stream = EventStream(0.3, (28, 28))
    one = np.ones(1, np.uint16)
    with pytest.raises(EventRejected) as info:
        stream.add(one, one, np.array([1.8e18]), 100.0)         # nanoseconds since the epoch
    assert info.value.reason == 'implausible_event_time'
    for t, reason in (([np.nan], 'non_finite'), ([], 'empty_events')):
        with pytest.raises(EventRejected) as info:
            stream.add(one[:len(t)], one[:len(t)], np.array(t), 100.0)
        assert info.value.reason == reason
    assert stream.add(one, one, np.array([0.1]), 100.0) == []   # the stream is still usable


def test_a_window_holds_a_bounded_number_of_events():
    window = EventWindow(1.0)
    n = MAX_WINDOW_EVENTS + 10
    zeros = np.zeros(n, np.uint16)
    window.add(zeros, zeros, np.full(n, 0.5))
    assert window.overflow == 10
    assert window.add(zeros[:5], zeros[:5], np.full(5, 0.6)) == [] and window.overflow == 15
    (done,) = window.add(zeros[:1], zeros[:1], np.array([2.0]))
    assert done.t.size == MAX_WINDOW_EVENTS


def test_event_stream_puts_packets_on_one_time_line():
    stream = EventStream(0.1, (28, 28))
    xy = np.array([3, 30], np.uint16)
    assert stream.add(xy, xy, np.array([0.0, 0.05]), 1000.0) == []
    (sample,) = stream.add(xy, xy, np.array([0.0, 0.01]), 1000.2)
    assert isinstance(sample, EventSample) and sample.window == pytest.approx((0.0, 0.1))
    assert stream.outside_sensor(sample) == 1


# ------------------------------------------------------------------------------ inbox


def test_inbox_keeps_the_newest_frame_and_bounds_the_packets():
    inbox = Inbox(max_packets=2)
    assert not inbox.put_frame(Arrival('image', 1))
    assert inbox.put_frame(Arrival('image', 2))                  # replaced an unprocessed one
    assert not inbox.put_packet(Arrival('events', 'a'))
    assert not inbox.put_packet(Arrival('events', 'b'))
    assert inbox.put_packet(Arrival('events', 'c'))              # the oldest dropped
    batch = inbox.take()
    assert batch.frame.message == 2 and [p.message for p in batch.packets] == ['b', 'c']
    taken = []
    worker = threading.Thread(target=lambda: taken.append(inbox.take()))
    worker.start()
    inbox.stop()
    worker.join(5.0)
    assert taken == [None]


def test_model_summary_describes_the_stdp_network(tmp_path):
    model, _ = load_model(small_model(tmp_path / 'm.npz'))
    summary = model.summary()
    assert (summary.kind, summary.n_neurons, summary.n_inputs, summary.ready) == \
        ('stdp', N, 784, True)
    with pytest.raises(ModelError, match='no new sample'):
        model.observe_label(3)
