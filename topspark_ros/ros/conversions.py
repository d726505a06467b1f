# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Pure conversions between sensor_msgs messages and NumPy arrays, without cv_bridge.

cv_bridge is not on PyPI and its Python side calls ``ndarray.newbyteorder()``, which NumPy 2
removed, so the nodes use these functions instead. Every failure raises ``ConversionError``
naming the encoding or field and the offending value, with a reason code (``exc.reason``, one of
``REASONS``), so a node can log it, count it in its diagnostics and skip the message without
dying.

Message data fields are filled with an ``array.array('B')``: the generated setters accept that
as is, while bytes or lists are checked element by element under ``ROS_PYTHON_CHECK_FIELDS=1``
(about 50 ms for a 640x480 bgr8 frame here, against 0.04 ms).
"""

from __future__ import annotations

import array
from dataclasses import dataclass
import struct
import sys
from typing import NamedTuple

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

from ..perception.settings import DEFAULT_MAX_PIXELS


# Why a message was refused: ``ConversionError.reason``, the key a node counts it under in its
# diagnostics (``rejected_<reason>``). Set where the error is raised, so rewording a message
# never moves its count.
REASONS: dict[str, str] = {
    'unknown_encoding': 'Image encoding not in IMAGE_ENCODINGS',
    'zero_size': 'height or width 0',
    'bad_layout': 'row step or point layout that cannot hold the declared fields',
    'data_too_short': 'fewer data bytes than height x step (or row_step)',
    'non_finite': 'NaN or Inf where numbers are needed',
    'bad_serialization': 'serialized bytes of an unknown CDR encapsulation',
    'truncated_message': 'serialized message cut short',
    'empty_data': 'compressed image without data',
    'unsupported_format': 'compressedDepth, or a JPEG whose height comes later (DNL)',
    'corrupt_compressed': 'neither a readable JPEG nor PNG',
    'too_large': 'compressed image declaring more pixels than max_pixels',
    'missing_field': 'event cloud without x, y or t',
    'wrong_field_type': 'event field of another datatype or count',
    'duplicate_field': 'event field given twice',
    'bad_array': 'array of the wrong shape or dtype for a message (when building one)',
    'out_of_range': 'value outside its field type (when building a message)',
    'bad_argument': 'an argument outside its documented values',
    'encode_failed': 'OpenCV could not encode the array',
}

# Decompression bombs: a 335-byte JPEG can declare 20000 x 20000 pixels, which OpenCV would
# allocate (1.2 GB for colour) before finding the data missing. compressed_to_numpy reads the
# declared size from the header first and refuses more than this many pixels (a 4096 x 4096
# frame: at most 4 channels x 2 bytes x 16.8 M = 134 MB decoded; 4K UHD, 8.3 M pixels, fits).
MAX_COMPRESSED_PIXELS = DEFAULT_MAX_PIXELS     # one source: perception's parameter default


class ConversionError(ValueError):
    """A message cannot be converted; the text names the encoding or field and the bad value,
    ``reason`` (a key of REASONS) is what a node counts it under."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f'unknown ConversionError reason {reason!r}')
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# sensor_msgs/Image
# --------------------------------------------------------------------------------------------

class _Encoding(NamedTuple):
    dtype: np.dtype
    channels: int
    order: str | None     # 'grey', 'rgb', 'bgr', or None: generic type, channel meaning unknown


def _enc(dtype: type, channels: int, order: str | None) -> _Encoding:
    return _Encoding(np.dtype(dtype), channels, order)


# Names as in sensor_msgs/image_encodings.hpp. The generic OpenCV-style names (8UC3, ...) carry
# no colour order, so their channels are passed through unchanged.
IMAGE_ENCODINGS: dict[str, _Encoding] = {
    'mono8': _enc(np.uint8, 1, 'grey'),
    'mono16': _enc(np.uint16, 1, 'grey'),
    'rgb8': _enc(np.uint8, 3, 'rgb'),
    'bgr8': _enc(np.uint8, 3, 'bgr'),
    'rgba8': _enc(np.uint8, 4, 'rgb'),
    'bgra8': _enc(np.uint8, 4, 'bgr'),
    'rgb16': _enc(np.uint16, 3, 'rgb'),
    'bgr16': _enc(np.uint16, 3, 'bgr'),
    'rgba16': _enc(np.uint16, 4, 'rgb'),
    'bgra16': _enc(np.uint16, 4, 'bgr'),
    '8UC1': _enc(np.uint8, 1, 'grey'),
    '8UC3': _enc(np.uint8, 3, None),
    '8UC4': _enc(np.uint8, 4, None),
    '16UC1': _enc(np.uint16, 1, 'grey'),
    '16UC3': _enc(np.uint16, 3, None),
    '16SC1': _enc(np.int16, 1, 'grey'),
    '32SC1': _enc(np.int32, 1, 'grey'),
    '32FC1': _enc(np.float32, 1, 'grey'),
    '32FC3': _enc(np.float32, 3, None),
    '64FC1': _enc(np.float64, 1, 'grey'),
}


def _image_encoding(encoding: str) -> _Encoding:
    try:
        return IMAGE_ENCODINGS[encoding]
    except KeyError:
        raise ConversionError(
            'unknown_encoding', f'image: unknown encoding {encoding!r}; supported: '
            f'{", ".join(IMAGE_ENCODINGS)}') from None


def _byte_view(data: object) -> np.ndarray:
    """uint8 view of a message's data (array.array, bytes, ...), copying only a plain list."""
    try:
        return np.frombuffer(data, np.uint8)
    except TypeError:
        return np.asarray(data, np.uint8).reshape(-1)


def _byte_array(arr: np.ndarray) -> array.array:
    """array('B') with arr's bytes: generated setters take it without per-element checks.

    ``frombytes`` on a uint8 view copies once; ``array('B', arr.tobytes())`` copies twice and
    measured 20x slower here (0.57 ms against 0.03 ms for a 640x480 bgr8 frame).
    """
    out = array.array('B')
    out.frombytes(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    return out


def _check_finite(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind == 'f':
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ConversionError('non_finite', f'{what}: {bad} of {arr.size} values are NaN/Inf')


def image_to_numpy(msg: Image | SerializedImage, *,
                   allow_nonfinite: bool = False) -> np.ndarray:
    """(h, w) or (h, w, c) native-endian array of an Image, channels in the message's order.

    A view into ``msg.data`` (zero-copy, also with row padding) unless the data must be
    byte-swapped or its elements are unaligned (a padded row step that is not a multiple of
    the element size, e.g. 16UC1 with step 1281: then a compact copy); copy it before writing
    to it if the message is still used elsewhere. While the view lives, ``msg.data`` (an
    array.array) cannot be resized (BufferError).
    Float images with NaN/Inf are rejected because the SNN encoder cannot rate-code them;
    depth cameras mark missing returns with NaN (REP 118), so pass ``allow_nonfinite=True``
    for those.
    """
    enc = _image_encoding(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ConversionError(
            'zero_size',
            f'image: zero size (height {height}, width {width}, encoding {msg.encoding!r})')
    pixel_bytes = enc.dtype.itemsize * enc.channels
    if step < width * pixel_bytes:
        raise ConversionError(
            'bad_layout',
            f'image: step {step} is smaller than width {width} x {pixel_bytes} bytes per '
            f'pixel ({msg.encoding})')
    data = _byte_view(msg.data)
    if data.size < height * step:
        raise ConversionError(
            'data_too_short',
            f'image: data has {data.size} bytes, expected at least {height * step} '
            f'(height {height} x step {step})')
    dtype = enc.dtype.newbyteorder('>' if msg.is_bigendian else '<')
    img = np.ndarray((height, width, enc.channels), dtype, buffer=data,
                     strides=(step, pixel_bytes, enc.dtype.itemsize))
    if enc.channels == 1:
        img = img[:, :, 0]
    if not dtype.isnative:
        img = img.astype(dtype.newbyteorder('='))   # NumPy-2-safe byteswap (a copy)
    elif not img.flags.aligned:
        # a row step that is not a multiple of the element size (16UC1, step 1281) leaves
        # elements unaligned; NumPy reads them, OpenCV cannot: a compact copy
        img = np.ascontiguousarray(img)
    if not allow_nonfinite:
        _check_finite(img, f'image ({msg.encoding})')
    return img


@dataclass(frozen=True)
class SerializedImage:
    """The fields of a ``sensor_msgs/Image`` read from its CDR bytes; ``data`` is a zero-copy
    view. It has the attributes the image functions here read, so they take it for an Image."""

    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


# CDR encapsulation identifiers (XCDR1 and XCDR2 plain; big- and little-endian). Image has no
# 8-byte members, so both versions lay it out alike.
_CDR_ENDIAN = {b'\x00\x00': '>', b'\x00\x01': '<', b'\x00\x06': '>', b'\x00\x07': '<'}


def image_from_cdr(buffer: bytes) -> SerializedImage:
    """Parse a serialized ``sensor_msgs/Image`` (what a ``raw=True`` subscription delivers).

    Why: rclpy's own deserialisation copies the 921,600 data bytes of a 640x480 bgr8 frame
    into a new message (0.09 ms, ``benchmarks/bench_latency.py`` local costs); this reads the
    dozen header fields and views the data in place (0.01 ms).
    """
    view = memoryview(buffer)
    endian = _CDR_ENDIAN.get(bytes(view[:2]))
    if endian is None:
        raise ConversionError('bad_serialization',
                              f'image: unknown CDR encapsulation {bytes(view[:4]).hex()!r}')
    body = view[4:]
    pos = 0

    def take(fmt: str, align: int) -> tuple:
        nonlocal pos
        pos += -pos % align
        size = struct.calcsize(fmt)
        if pos + size > len(body):
            raise ConversionError('truncated_message',
                                  f'image: serialized message truncated at byte {pos + 4} '
                                  f'of {len(view)}')
        value = struct.unpack_from(endian + fmt, body, pos)
        pos += size
        return value

    def string() -> str:
        nonlocal pos
        (length,) = take('I', 4)
        raw = body[pos:pos + length]
        if len(raw) < length:
            raise ConversionError('truncated_message',
                                  f'image: serialized string truncated at byte {pos + 4}')
        pos += length
        return bytes(raw[:-1] if length else raw).decode('utf-8', errors='replace')

    sec, nanosec = take('iI', 4)
    frame_id = string()
    height, width = take('II', 4)
    encoding = string()
    (is_bigendian,) = take('B', 1)
    step, size = take('II', 4)
    data = body[pos:pos + size]
    if len(data) < size:
        raise ConversionError('data_too_short',
                              f'image: serialized data has {len(data)} of its {size} bytes')
    header = Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)
    return SerializedImage(header, height, width, encoding, is_bigendian, step, data)


def _to_rgb(img: np.ndarray, order: str | None) -> np.ndarray:
    """Colour as RGB without alpha, grey as 2-D; what the SNN encoder reads."""
    if img.ndim == 2 or order is None:
        return img
    # cvtColor: 0.06 ms for 640x480 against 1 ms for np.ascontiguousarray(img[:, :, ::-1])
    if order == 'bgr':
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB if img.shape[2] == 3 else cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_RGBA2RGB)
    return img


def image_to_rgb_or_grey(msg: Image | SerializedImage, *, allow_nonfinite: bool = False,
                         shrink_to: tuple[int, int] | None = None) -> np.ndarray:
    """Like ``image_to_numpy`` but colour is returned as RGB (alpha dropped), mono as 2-D.

    The SNN encoder reads colour as RGB, so bgr8 frames must be reordered before it sees them.
    Generic encodings (8UC3, 8UC4, 16UC3, 32FC3) say nothing about channel order and are
    returned unchanged. rgb8 and mono frames stay zero-copy; reordered ones are copies.
    ``shrink_to`` (height, width): frames larger than that are first shrunk with
    ``shrink_area``, so the channel reordering touches 28x28 pixels instead of 640x480.
    """
    img = image_to_numpy(msg, allow_nonfinite=allow_nonfinite)
    if shrink_to is not None:
        img = shrink_area(img, shrink_to)
    return _to_rgb(img, _image_encoding(msg.encoding).order)


def _largest_divisor(n: int, limit: int) -> int:
    return max(d for d in range(1, max(limit, 1) + 1) if n % d == 0)


def shrink_area(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Area-average a frame larger than ``shape`` = (height, width) down to it, in its dtype.

    A frame more than four times the target is first block-averaged by the largest integer
    factors that divide its size and leave at least four times the target (OpenCV's fast
    INTER_AREA path: 640x480 -> 128x120), then area-resized to ``shape``. Measured on 640x480
    bgr8 MNIST frames: 0.43 ms against 0.91 ms for one INTER_AREA step, at most 3 grey levels
    apart (both are box averages; they differ at sharp edges; test_conversions bounds it).
    With factors leaving only twice the target it took 0.30 ms but differed by up to 12
    levels. Smaller frames, frames of another dtype and frames already at ``shape`` are
    returned as they are (the SNN encoder resizes those itself).
    """
    height, width = shape
    h, w = image.shape[:2]
    if (h < height or w < width or (h, w) == (height, width)
            or image.dtype not in (np.uint8, np.uint16, np.float32)):
        return image
    fy = _largest_divisor(h, h // (4 * height))
    fx = _largest_divisor(w, w // (4 * width))
    if fx > 1 or fy > 1:
        image = cv2.resize(image, (w // fx, h // fy), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def numpy_to_image(array: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Image message holding ``array`` (h x w, or h x w x c matching ``encoding``).

    The array's dtype must match the encoding (no silent casts: a float frame sent as mono8
    would be garbage); its byte order is kept and declared in ``is_bigendian``.
    """
    enc = _image_encoding(encoding)
    arr = np.asarray(array)
    if enc.channels == 1 and arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    expected = '(h, w)' if enc.channels == 1 else f'(h, w, {enc.channels})'
    if arr.ndim != (2 if enc.channels == 1 else 3) or (
            enc.channels > 1 and arr.shape[2] != enc.channels):
        raise ConversionError(
            'bad_array', f'image: encoding {encoding!r} needs shape {expected}, got {arr.shape}')
    if arr.dtype.newbyteorder('=') != enc.dtype:
        raise ConversionError(
            'bad_array', f'image: encoding {encoding!r} needs dtype {enc.dtype}, got {arr.dtype}')
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ConversionError('zero_size', f'image: zero size {arr.shape} ({encoding})')
    arr = np.ascontiguousarray(arr)
    byteorder = arr.dtype.byteorder
    big = byteorder == '>' or (byteorder == '=' and sys.byteorder == 'big')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height = int(arr.shape[0])
    msg.width = int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(big)
    msg.step = int(arr.strides[0])
    msg.data = _byte_array(arr)
    return msg


# --------------------------------------------------------------------------------------------
# sensor_msgs/CompressedImage
# --------------------------------------------------------------------------------------------

def _decoded_to_rgb(img: np.ndarray) -> np.ndarray:
    """Turn OpenCV's decoded BGR, BGRA or grey(+alpha) into RGB or 2-D grey."""
    if img.ndim == 2:
        return img
    if img.shape[2] in (1, 2):     # grey, grey + alpha
        return np.ascontiguousarray(img[:, :, 0])
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB if img.shape[2] == 3 else cv2.COLOR_BGRA2RGB)


_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_JPEG_SOI = b'\xff\xd8'
# JPEG start-of-frame markers (they carry the image size): C0-CF except DHT C4, JPG C8, DAC CC
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_NO_LENGTH = frozenset(range(0xD0, 0xD8)) | {0x01}     # RSTn, TEM: markers without data


class DeclaredSize(NamedTuple):
    codec: str          # 'jpeg' or 'png'
    width: int
    height: int


def declared_size(data: bytes | np.ndarray) -> DeclaredSize:
    """The codec and pixel size a JPEG (its frame header) or PNG (its IHDR) declares.

    Read before decoding, so a small file that declares a huge image is refused before OpenCV
    allocates it. Raises ConversionError for anything else, or a header cut short.
    """
    head = bytes(data[:8])
    if head.startswith(_PNG_SIGNATURE):
        chunk = bytes(data[8:24])
        if len(chunk) < 16 or chunk[4:8] != b'IHDR':
            raise ConversionError('corrupt_compressed', 'png without an IHDR header')
        width, height = struct.unpack('>II', chunk[8:16])
        return DeclaredSize('png', width, height)
    if not head.startswith(_JPEG_SOI):
        raise ConversionError('corrupt_compressed', 'neither a JPEG nor a PNG signature')
    return _jpeg_size(memoryview(data))


def _jpeg_size(data: memoryview) -> DeclaredSize:
    """Walk the JPEG markers up to the first start-of-frame and read its size."""
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise ConversionError('corrupt_compressed',
                                  f'jpeg: no marker at byte {pos} before the frame header')
        while pos < end and data[pos] == 0xFF:                  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker in _JPEG_NO_LENGTH:
            continue
        if marker in (0xD9, 0xDA):                              # EOI, SOS
            raise ConversionError('corrupt_compressed', 'jpeg: no frame header before the scan')
        if pos + 2 > end:
            break
        length = data[pos] << 8 | data[pos + 1]
        if length < 2:
            raise ConversionError('corrupt_compressed',
                                  f'jpeg: segment length {length} at byte {pos}')
        if marker in _JPEG_SOF:
            if pos + 7 > end:
                break
            height = data[pos + 3] << 8 | data[pos + 4]
            width = data[pos + 5] << 8 | data[pos + 6]
            if height == 0:
                raise ConversionError('unsupported_format',
                                      'jpeg: height 0 in the frame header (given later by a '
                                      'DNL marker) is not supported')
            return DeclaredSize('jpeg', width, height)
        pos += length
    raise ConversionError('corrupt_compressed', 'jpeg: cut short before its frame header')


def compressed_to_numpy(msg: CompressedImage, *,
                        max_pixels: int = MAX_COMPRESSED_PIXELS) -> np.ndarray:
    """Decode a jpeg/png CompressedImage: colour as RGB (alpha dropped), grey as 2-D.

    The codec is detected from the data, so the ``format`` string is only used in errors;
    16-bit PNGs stay uint16. compressedDepth (a private header before the PNG) is refused. The
    size the header declares is checked before decoding: more than ``max_pixels`` (default
    MAX_COMPRESSED_PIXELS) is refused as 'too_large' (decompression bombs), and only JPEG and
    PNG data reach OpenCV.
    """
    fmt = msg.format
    if 'compresseddepth' in fmt.lower():
        raise ConversionError(
            'unsupported_format',
            f'compressed image: format {fmt!r} (compressedDepth) is not supported; '
            'subscribe to the raw depth image instead')
    data = _byte_view(msg.data)
    if data.size == 0:
        raise ConversionError('empty_data', f'compressed image: data is empty (format {fmt!r})')
    try:
        size = declared_size(data)
    except ConversionError as exc:
        raise ConversionError(exc.reason, f'compressed image: cannot decode {data.size} bytes '
                                          f'(format {fmt!r}): {exc}') from None
    if size.width * size.height > max_pixels:
        raise ConversionError(
            'too_large',
            f'compressed image: {size.codec} declares {size.width} x {size.height} pixels, '
            f'more than max_pixels {max_pixels} (format {fmt!r}); not decoded')
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        raise ConversionError(
            'corrupt_compressed',
            f'compressed image: cannot decode {data.size} bytes (format {fmt!r}); '
            'corrupt or not jpeg/png')
    return _decoded_to_rgb(img)


_COMPRESSED_FORMATS = {'jpeg': '.jpg', 'jpg': '.jpg', 'png': '.png'}


def numpy_to_compressed(array: np.ndarray, fmt: str = 'jpeg', header: Header | None = None,
                        *, jpeg_quality: int = 90) -> CompressedImage:
    """Encode an RGB(A) or grey array as a CompressedImage (inverse of compressed_to_numpy).

    jpeg takes uint8 and drops alpha (it has none); png takes uint8 or uint16 and keeps it.
    ``format`` is set to ``fmt`` alone, which image_transport's compressed subscriber reads as
    a bgr8/mono8 payload, the way OpenCV stores it.
    """
    ext = _COMPRESSED_FORMATS.get(fmt.lower())
    if ext is None:
        raise ConversionError('unsupported_format',
                              f"compressed image: unsupported format {fmt!r}; use 'jpeg' or 'png'")
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ConversionError(
            'bad_array',
            f'compressed image: expected (h, w) grey or (h, w, 3|4) RGB(A), got {arr.shape}')
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ConversionError('zero_size', f'compressed image: zero size {arr.shape} ({fmt})')
    allowed = (np.uint8,) if ext == '.jpg' else (np.uint8, np.uint16)
    if arr.dtype not in [np.dtype(t) for t in allowed]:
        raise ConversionError(
            'bad_array', f'compressed image: {fmt} needs dtype '
            f'{" or ".join(np.dtype(t).name for t in allowed)}, got {arr.dtype}')
    if arr.ndim == 3:
        if ext == '.jpg' or arr.shape[2] == 3:
            arr = arr[:, :, 2::-1]                          # RGB(A) -> BGR
        else:
            arr = arr[:, :, [2, 1, 0, 3]]                   # RGBA -> BGRA
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext == '.jpg' else []
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(arr), params)
    if not ok:
        raise ConversionError('encode_failed',
                              f'compressed image: OpenCV could not encode {arr.shape} as {fmt}')
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = 'jpeg' if ext == '.jpg' else 'png'
    msg.data = _byte_array(encoded)
    return msg


# --------------------------------------------------------------------------------------------
# sensor_msgs/PointCloud2 event packets
# --------------------------------------------------------------------------------------------

_FIELD_DTYPES = {
    PointField.INT8: 'i1', PointField.UINT8: 'u1',
    PointField.INT16: 'i2', PointField.UINT16: 'u2',
    PointField.INT32: 'i4', PointField.UINT32: 'u4',
    PointField.FLOAT32: 'f4', PointField.FLOAT64: 'f8',
}
_FIELD_NAMES = {code: np.dtype(c).name for code, c in _FIELD_DTYPES.items()}
_PIXEL_TYPES = (PointField.UINT16, PointField.INT16, PointField.UINT32, PointField.INT32,
                PointField.FLOAT32)
_ACCEPTED_TYPES = {
    'x': _PIXEL_TYPES,
    'y': _PIXEL_TYPES,
    't': (PointField.FLOAT64, PointField.UINT32),
    'polarity': (PointField.INT8, PointField.UINT8),
}


def _datatype_name(code: int) -> str:
    return f'{_FIELD_NAMES.get(code, "unknown")} ({code})'


def _event_fields(msg: PointCloud2) -> dict[str, PointField]:
    """Find the x, y, t (and polarity) fields and check them against the topic contract."""
    found: dict[str, PointField] = {}
    for field in msg.fields:
        if field.name not in _ACCEPTED_TYPES:
            continue                                        # extra fields are ignored
        if field.name in found:
            raise ConversionError('duplicate_field',
                                  f'events: field {field.name!r} appears more than once')
        accepted = _ACCEPTED_TYPES[field.name]
        if field.datatype not in accepted:
            raise ConversionError(
                'wrong_field_type',
                f'events: field {field.name!r} has datatype {_datatype_name(field.datatype)}, '
                f'expected {" or ".join(_FIELD_NAMES[c] for c in accepted)}')
        if field.count > 1:                                 # 0 is seen from some producers
            raise ConversionError(
                'wrong_field_type',
                f'events: field {field.name!r} has count {field.count}, expected 1')
        found[field.name] = field
    missing = [name for name in ('x', 'y', 't') if name not in found]
    if missing:
        raise ConversionError(
            'missing_field', f'events: missing field(s) {", ".join(missing)}; cloud has '
            f'{[f.name for f in msg.fields]}')
    return found


def _empty_events(fields: dict[str, PointField] | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    def empty(name: str, default: str) -> np.ndarray:
        code = fields[name].datatype if fields else None
        return np.zeros(0, _FIELD_DTYPES[code] if code is not None else default)

    pol = empty('polarity', 'i1') if fields and 'polarity' in fields else None
    return empty('x', 'u2'), empty('y', 'u2'), np.zeros(0, np.float64), pol


def events_from_pointcloud2(msg: PointCloud2
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(x, y, t_seconds, polarity) 1-D arrays of an event packet, row-major over the cloud.

    x and y keep their field's type (native-endian), t is float64 seconds relative to the
    header stamp (uint32 microseconds are converted), polarity is None when the cloud has no
    polarity field. The arrays are copies, independent of ``msg.data``. An empty cloud gives
    empty arrays (also without any fields); what to do with it is the caller's decision.
    """
    height, width = int(msg.height), int(msg.width)
    n_points = height * width
    if n_points == 0 and not msg.fields:
        return _empty_events(None)
    fields = _event_fields(msg)
    if n_points == 0:
        return _empty_events(fields)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    for field in fields.values():
        size = np.dtype(_FIELD_DTYPES[field.datatype]).itemsize
        if field.offset + size > point_step:
            raise ConversionError(
                'bad_layout',
                f'events: field {field.name!r} ({_FIELD_NAMES[field.datatype]} at offset '
                f'{field.offset}) does not fit in point_step {point_step}')
    if row_step < width * point_step:
        raise ConversionError(
            'bad_layout',
            f'events: row_step {row_step} is smaller than width {width} x point_step '
            f'{point_step}')
    data = _byte_view(msg.data)
    if data.size < height * row_step:
        raise ConversionError(
            'data_too_short',
            f'events: data has {data.size} bytes, expected at least {height * row_step} '
            f'(height {height} x row_step {row_step})')
    order = '>' if msg.is_bigendian else '<'
    names = list(fields)
    point_dtype = np.dtype({
        'names': names,
        'formats': [order + _FIELD_DTYPES[fields[n].datatype] for n in names],
        'offsets': [int(fields[n].offset) for n in names],
        'itemsize': point_step,
    })
    points = np.ndarray((height, width), point_dtype, buffer=data,
                        strides=(row_step, point_step))

    def column(name: str) -> np.ndarray:
        src = points[name]
        return np.array(src, dtype=src.dtype.newbyteorder('='), order='C').reshape(-1)

    x, y = column('x'), column('y')
    _check_finite(x, "events: field 'x'")
    _check_finite(y, "events: field 'y'")
    t = column('t')
    if fields['t'].datatype == PointField.UINT32:
        t = t.astype(np.float64) * 1e-6
    else:
        _check_finite(t, "events: field 't'")
    pol = column('polarity') if 'polarity' in fields else None
    return x, y, t, pol


def _check_range(name: str, values: np.ndarray, low: int, high: int) -> None:
    """Values must be whole numbers in [low, high], so the cast to the field type is exact."""
    if values.size == 0:
        return
    if values.dtype.kind == 'f':
        if not np.isfinite(values).all() or not np.array_equal(values, np.round(values)):
            raise ConversionError('out_of_range',
                                  f'events: {name} must be whole numbers, got non-integers')
    elif values.dtype.kind not in 'biu':
        raise ConversionError('bad_array', f'events: {name} has unsupported dtype {values.dtype}')
    lo, hi = values.min(), values.max()
    if lo < low or hi > high:
        raise ConversionError(
            'out_of_range',
            f'events: {name} spans [{lo}, {hi}], outside [{low}, {high}] of its field type')


def events_to_pointcloud2(x: np.ndarray, y: np.ndarray, t_seconds: np.ndarray,
                          polarity: np.ndarray | None, header: Header | None = None,
                          time_field: str = 'float64') -> PointCloud2:
    """Event packet as the topic contract's PointCloud2 (packed, little-endian, height 1).

    Fields: x uint16 @0, y uint16 @2, t float64 seconds or uint32 microseconds
    (``time_field='uint32_us'``) @4, then polarity int8 when given. Values that would change in
    the cast (out of range, fractional pixels, NaN times) are refused rather than wrapped.
    """
    if time_field not in ('float64', 'uint32_us'):
        raise ConversionError(
            'bad_argument',
            f"events: time_field must be 'float64' or 'uint32_us', got {time_field!r}")
    xs, ys = np.asarray(x), np.asarray(y)
    ts = np.asarray(t_seconds, np.float64)
    pol = None if polarity is None else np.asarray(polarity)
    shapes = [a.shape for a in (xs, ys, ts) + (() if pol is None else (pol,))]
    if xs.ndim != 1 or any(s != xs.shape for s in shapes):
        raise ConversionError(
            'bad_array',
            f'events: x, y, t (and polarity) must be 1-D of one length, got shapes {shapes}')
    _check_range('x', xs, 0, 65535)
    _check_range('y', ys, 0, 65535)
    if not np.isfinite(ts).all():
        raise ConversionError(
            'non_finite',
            f'events: t has {int(np.count_nonzero(~np.isfinite(ts)))} NaN/Inf values')
    if time_field == 'uint32_us':
        ts = np.rint(ts * 1e6)
        _check_range('t (microseconds)', ts, 0, 2 ** 32 - 1)
    if pol is not None:
        _check_range('polarity', pol, -128, 127)

    layout = [('x', PointField.UINT16), ('y', PointField.UINT16),
              ('t', PointField.FLOAT64 if time_field == 'float64' else PointField.UINT32)]
    if pol is not None:
        layout.append(('polarity', PointField.INT8))
    fields, offset = [], 0
    for name, code in layout:
        fields.append(PointField(name=name, offset=offset, datatype=code, count=1))
        offset += np.dtype(_FIELD_DTYPES[code]).itemsize
    point_dtype = np.dtype([(name, '<' + _FIELD_DTYPES[code]) for name, code in layout])
    packed = np.empty(xs.size, point_dtype)
    packed['x'], packed['y'], packed['t'] = xs, ys, ts
    if pol is not None:
        packed['polarity'] = pol

    msg = PointCloud2()
    if header is not None:
        msg.header = header
    msg.height = 1
    msg.width = int(xs.size)
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = int(point_dtype.itemsize)
    msg.row_step = int(point_dtype.itemsize * xs.size)
    msg.data = _byte_array(packed)
    msg.is_dense = True
    return msg
