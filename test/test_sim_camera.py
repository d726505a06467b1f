# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The camera simulator's core without ROS: sources, rendering, caching, order and events."""

import cv2
import numpy as np
import pytest

from topspark_ros.dvs import digit_to_events, DvsConfig, Events
from topspark_ros.sim.camera import (CameraScene, convert, emulation_image, EVENT_MAX_SIDE,
                                     FrameCache, NoiseBank, place_events, RenderSettings,
                                     resize, shift)
from topspark_ros.sim.sources import ImageSource, load_source, SourceError, to_uint8


def array_source(images: np.ndarray, labels) -> ImageSource:
    images = np.asarray(images, np.uint8)
    return ImageSource('test', np.asarray(labels, np.int64), lambda i: images[i])


def digits_source(n: int = 5) -> ImageSource:
    """n distinct 10x10 grey images, image i filled with 20 * i, labels i."""
    return array_source(np.stack([np.full((10, 10), 20 * i) for i in range(n)]), range(n))


def test_source_loading_and_rendering_helpers(tmp_path):
    with pytest.raises(SourceError, match='no .png'):
        load_source(str(tmp_path))
    split = tmp_path / 'split.npz'
    np.savez(split, train_images=np.zeros((4, 6, 6), np.float32),
             train_labels=np.arange(4), test_images=np.ones((2, 6, 6), np.float32),
             test_labels=np.array([8, 9]))
    assert list(load_source(str(split)).labels) == [8, 9]
    assert (load_source(str(split)).load(1) == 255).all()              # float 0..1 scaled
    assert list(load_source(str(split), 'all').labels) == [0, 1, 2, 3, 8, 9]
    bad = tmp_path / 'bad.npz'
    np.savez(bad, pictures=np.zeros((2, 3, 3)))
    with pytest.raises(SourceError, match='images'):
        load_source(str(bad))
    assert to_uint8(np.array([[0, 65535]], np.uint16)).tolist() == [[0, 255]]
    assert to_uint8(np.array([[True, False]])).tolist() == [[255, 0]]

    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 200                                                  # red
    assert convert(rgb, 'bgr8')[0, 0].tolist() == [0, 0, 200]
    assert convert(rgb, 'rgb8')[0, 0].tolist() == [200, 0, 0]
    assert convert(rgb, 'mono8').shape == (2, 2)
    assert convert(np.full((2, 2), 7, np.uint8), 'rgb8').shape == (2, 2, 3)

    img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    moved = shift(img, 2, -1)
    assert np.array_equal(moved[:3, 2:], img[1:, :3])
    assert np.array_equal(moved[:, 0], moved[:, 2])                    # border replicated

    rng = np.random.default_rng(0)
    bank = NoiseBank((100, 120), 20.0, rng)
    noisy = np.stack([bank.add(np.full((100, 120), 128, np.uint8), rng) for _ in range(8)])
    assert abs(noisy.std() - 20.0) < 1.0 and abs(noisy.mean() - 128.0) < 1.0
    assert bank.add(np.full((100, 120), 255, np.uint8), rng).max() == 255  # saturates

    cache = FrameCache(250)
    for key in range(3):
        cache.put(key, np.zeros(100, np.uint8), None, 100)
    assert len(cache) == 2 and cache.get(0) is None and cache.get(2) is not None
    cache.get(1)
    cache.resize(100)                                                  # drops the oldest: 2
    assert len(cache) == 1 and cache.get(1) is not None and cache.bytes == 100

    events = Events(np.array([0, 27], np.uint16), np.array([0, 27], np.uint16),
                    np.array([0.01, 0.02]), np.array([1, -1], np.int8))
    placed = place_events(events, (28, 28), 28, 28, 0, 0, rng)
    assert placed.x.tolist() == [0, 27] and placed.y.tolist() == [0, 27]
    placed = place_events(events, (28, 28), 640, 480, 0, 0, rng)
    assert 0 <= placed.x[0] < 640 / 28 and 27 * 640 / 28 <= placed.x[1] < 640
    assert 0 <= placed.y[0] < 480 / 28 and 27 * 480 / 28 <= placed.y[1] < 480
    placed = place_events(events, (28, 28), 28, 28, 1, 0, rng)          # last one leaves
    assert placed.x.tolist() == [1] and placed.t.tolist() == [0.01]


def test_order_plays_each_pass_once_and_stops_without_loop():
    scene = CameraScene(digits_source(4), RenderSettings(), loop=False)
    assert [scene.next_index() for _ in range(5)] == [0, 1, 2, 3, None]
    assert scene.finished and scene.next_frame() is None
    scene.set_loop(True)                                # a new pass starts at once
    assert not scene.finished and scene.epoch == 1 and scene.next_index() == 0


def test_shuffle_reshuffles_every_pass_and_is_reproducible():
    def indices(seed: int) -> list[int]:
        scene = CameraScene(digits_source(20), RenderSettings(), seed=seed, shuffle=True)
        return [scene.next_index() for _ in range(40)]

    first = indices(3)
    assert sorted(first[:20]) == sorted(first[20:]) == list(range(20))
    assert first[:20] != first[20:] and first[:20] != list(range(20))
    assert indices(3) == first and indices(4) != first


def test_frames_are_resized_converted_moved_and_noisy():
    scene = CameraScene(digits_source(3), RenderSettings(64, 48, 'bgr8'))
    frame = scene.next_frame()
    assert (frame.index, frame.label, frame.events) == (0, 0, None)
    assert frame.image.shape == (48, 64, 3) and (scene.render(2).image == 40).all()
    scene.noise_std = 8.0
    noisy = np.stack([scene.render(2).image for _ in range(10)]).astype(np.float64)
    assert abs(noisy.std() - 8.0) < 0.5 and abs(noisy.mean() - 40.0) < 0.5
    source = np.zeros((10, 10), np.uint8)
    source[4:6, 4:6] = 255
    moving = CameraScene(array_source(source[None], [1]), RenderSettings(10, 10), motion_px=3)
    centres = {tuple(np.argwhere(moving.render(0).image == 255).min(axis=0))
               for _ in range(30)}
    assert len(centres) > 5 and all(abs(r - 4) <= 3 and abs(c - 4) <= 3 for r, c in centres)


def test_clean_frames_are_cached_until_the_settings_change():
    scene = CameraScene(digits_source(3), RenderSettings(32, 32), cache_bytes=2 * 32 * 32)
    for index in (0, 1, 0, 2):
        scene.render(index)
    assert (scene.cache.hits, scene.cache.misses, len(scene.cache)) == (1, 3, 2)
    scene.configure(encoding='rgb8')
    assert len(scene.cache) == 0 and scene.render(0).image.shape == (32, 32, 3)
    with pytest.raises(ValueError, match='yuv422'):
        scene.configure(encoding='yuv422')
    assert scene.settings.encoding == 'rgb8'


def test_unreadable_image_raises_and_the_order_moves_on(tmp_path):
    (tmp_path / '1_broken.png').write_bytes(b'not a png')
    cv2.imwrite(str(tmp_path / '2_ok.png'), np.full((6, 6), 9, np.uint8))
    scene = CameraScene(load_source(str(tmp_path)), RenderSettings(6, 6))
    with pytest.raises(SourceError, match='cannot read'):
        scene.next_frame()
    frame = scene.next_frame()
    assert (frame.index, frame.label) == (1, 2) and (frame.image == 9).all()


def test_events_are_the_emulated_recording_of_the_source_digit():
    digit = load_source('digits', 'test').load(0)           # 8x8 grey, 0..255
    scene = CameraScene(array_source(digit[None], [0]),
                        RenderSettings(8, 8, events=True, event_duration_s=0.05), seed=5)
    frame = scene.render(0)
    expected = digit_to_events(digit, DvsConfig(seed=5), 0.05)
    assert isinstance(frame.events, Events) and len(frame.events) == len(expected) > 10
    assert np.array_equal(frame.events.x, expected.x) and np.array_equal(frame.events.t,
                                                                         expected.t)
    big = CameraScene(array_source(digit[None], [0]),
                      RenderSettings(640, 480, events=True, event_duration_s=0.05), seed=5)
    placed = big.render(0).events
    assert len(placed) == len(expected) and placed.x.max() < 640 and placed.y.max() < 480
    assert placed.t.max() < 0.05


def test_emulation_image_is_grey_and_bounded():
    rgb = np.zeros((300, 200, 3), np.uint8)
    assert emulation_image(rgb).shape == (EVENT_MAX_SIDE, round(200 * EVENT_MAX_SIDE / 300))
    assert emulation_image(np.zeros((28, 28), np.uint8)).shape == (28, 28)
    digit = np.zeros((28, 28), np.uint8)
    digit[8:20, 12:16] = 255
    assert np.abs(resize(resize(digit, 640, 480).astype(np.uint8), 28, 28).astype(int)
                  - digit).mean() < 1.0


def test_render_settings_are_checked():
    assert RenderSettings().check() is None
    assert 'not one of' in RenderSettings(encoding='bgra8').check()
    assert 'at least' in RenderSettings(width=0).check()
    with pytest.raises(ValueError, match='event_duration_s'):
        CameraScene(digits_source(), RenderSettings(event_duration_s=0.0))
