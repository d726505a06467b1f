# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Message <-> NumPy conversions: exact round trips, layouts other producers send, bad input.

Run with ROS_PYTHON_CHECK_FIELDS=1 so the generated setters also check every field we fill.
No ROS graph is needed, only the message classes.
"""

import struct
import zlib

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

from topspark_ros.ros import conversions
from topspark_ros.ros.conversions import (
    compressed_to_numpy, ConversionError, declared_size, DeclaredSize, events_from_pointcloud2,
    events_to_pointcloud2, IMAGE_ENCODINGS, image_from_cdr, image_to_numpy,
    image_to_rgb_or_grey, MAX_COMPRESSED_PIXELS, numpy_to_compressed, numpy_to_image, REASONS,
    shrink_area)

RNG = np.random.default_rng(1234)


def random_image(encoding, height=5, width=7):
    enc = IMAGE_ENCODINGS[encoding]
    shape = (height, width) if enc.channels == 1 else (height, width, enc.channels)
    if enc.dtype.kind == 'f':
        return RNG.standard_normal(shape).astype(enc.dtype)
    info = np.iinfo(enc.dtype)
    return RNG.integers(info.min, info.max, shape, endpoint=True).astype(enc.dtype)


def raw_image(encoding, height, width, step, payload, is_bigendian=0):
    """Image filled by hand, as a driver with its own layout would send it."""
    msg = Image(height=height, width=width, encoding=encoding, step=step,
                is_bigendian=is_bigendian)
    msg.data.frombytes(bytes(payload))
    return msg


def header(frame='cam', sec=12, nanosec=345):
    h = Header(frame_id=frame)
    h.stamp.sec = sec
    h.stamp.nanosec = nanosec
    return h


# ----------------------------------------------------------------------------- Image


@pytest.mark.parametrize('encoding', sorted(IMAGE_ENCODINGS))
def test_image_round_trip_every_encoding(encoding):
    arr = random_image(encoding)
    msg = numpy_to_image(arr, encoding, header=header())
    enc = IMAGE_ENCODINGS[encoding]
    assert (msg.height, msg.width, msg.encoding) == (5, 7, encoding)
    assert msg.step == 7 * enc.channels * enc.dtype.itemsize
    assert len(msg.data) == msg.step * 5
    assert msg.is_bigendian == 0
    assert msg.header.frame_id == 'cam' and msg.header.stamp.nanosec == 345
    out = image_to_numpy(msg)
    assert out.dtype == enc.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)


def test_image_to_numpy_is_zero_copy_for_native_unpadded():
    arr = random_image('bgr8')
    msg = numpy_to_image(arr, 'bgr8')
    out = image_to_numpy(msg)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))


def test_single_channel_accepts_trailing_axis():
    arr = random_image('mono8')
    msg = numpy_to_image(arr[:, :, None], 'mono8')
    np.testing.assert_array_equal(image_to_numpy(msg), arr)


@pytest.mark.parametrize('encoding, width, step', [
    ('mono8', 7, 8), ('rgb8', 5, 20), ('mono16', 3, 10), ('32FC1', 3, 16), ('bgra8', 2, 9)])
def test_padded_rows_are_cropped(encoding, width, step):
    enc = IMAGE_ENCODINGS[encoding]
    height = 4
    arr = random_image(encoding, height, width)
    row_bytes = arr.reshape(height, -1).view(np.uint8).reshape(height, -1)
    pad = np.full((height, step - row_bytes.shape[1]), 0xAB, np.uint8)
    msg = raw_image(encoding, height, width, step, np.hstack([row_bytes, pad]).tobytes())
    out = image_to_numpy(msg)
    assert out.dtype == enc.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))     # still a view


def test_data_longer_than_needed_is_accepted():
    arr = random_image('mono8', 3, 4)
    msg = raw_image('mono8', 3, 4, 4, arr.tobytes() + b'\x00' * 5)
    np.testing.assert_array_equal(image_to_numpy(msg), arr)


@pytest.mark.parametrize('encoding, big_dtype', [('mono16', '>u2'), ('32FC1', '>f4'),
                                                 ('16UC1', '>u2')])
def test_big_endian_input(encoding, big_dtype):
    values = np.array([[1, 258, 4660], [65000, 0, 513]], np.float64)
    if encoding == '32FC1':
        values = values / 7.0 - 3.5
    payload = values.astype(big_dtype).tobytes()
    msg = raw_image(encoding, 2, 3, 3 * np.dtype(big_dtype).itemsize, payload, is_bigendian=1)
    out = image_to_numpy(msg)
    assert out.dtype.isnative
    assert out.dtype == IMAGE_ENCODINGS[encoding].dtype
    np.testing.assert_array_equal(out, values.astype(big_dtype).astype(out.dtype))
    # the same bytes read as little-endian would be different numbers: the flag is honoured
    msg.is_bigendian = 0
    assert not np.array_equal(image_to_numpy(msg), out)


def test_big_endian_padded_mono16():
    values = np.array([[0x0102, 0x0304], [0xA0B0, 0xFFFE]], '>u2')
    rows = [values[i].tobytes() + b'\xee\xee' for i in range(2)]
    msg = raw_image('mono16', 2, 2, 6, b''.join(rows), is_bigendian=1)
    np.testing.assert_array_equal(image_to_numpy(msg), [[0x0102, 0x0304], [0xA0B0, 0xFFFE]])


def test_numpy_to_image_keeps_big_endian_arrays():
    arr = np.array([[1.5, -2.25], [1e6, 0.0]], '>f4')
    msg = numpy_to_image(arr, '32FC1')
    assert msg.is_bigendian == 1
    assert bytes(msg.data[:4]) == np.array(1.5, '>f4').tobytes()
    out = image_to_numpy(msg)
    assert out.dtype == np.dtype('=f4')
    np.testing.assert_array_equal(out, arr)


def test_bgr8_is_returned_as_rgb():
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, 30      # B, G, R
    out = image_to_rgb_or_grey(numpy_to_image(bgr, 'bgr8'))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[0, 0], [30, 20, 10])
    assert out.flags.c_contiguous
    # image_to_numpy keeps the message's own order
    np.testing.assert_array_equal(image_to_numpy(numpy_to_image(bgr, 'bgr8'))[0, 0],
                                  [10, 20, 30])


@pytest.mark.parametrize('encoding, pixel, expected', [
    ('bgra8', [10, 20, 30, 255], [30, 20, 10]),
    ('rgba8', [10, 20, 30, 255], [10, 20, 30]),
    ('rgb8', [10, 20, 30], [10, 20, 30]),
    ('bgr16', [1000, 2000, 3000], [3000, 2000, 1000]),
    ('8UC3', [10, 20, 30], [10, 20, 30]),            # no colour order known: unchanged
])
def test_rgb_or_grey_channel_order(encoding, pixel, expected):
    enc = IMAGE_ENCODINGS[encoding]
    arr = np.tile(np.array(pixel, enc.dtype), (2, 2, 1))
    out = image_to_rgb_or_grey(numpy_to_image(arr, encoding))
    assert out.shape == (2, 2, len(expected)) and out.dtype == enc.dtype
    np.testing.assert_array_equal(out[1, 1], expected)


@pytest.mark.parametrize('encoding', ['bgr8', 'bgra8'])
def test_rgb_or_grey_padded_bgr(encoding):
    channels = IMAGE_ENCODINGS[encoding].channels
    arr = random_image(encoding, 3, 5)
    rows = [arr[i].tobytes() + b'\xcd' * 7 for i in range(3)]
    msg = raw_image(encoding, 3, 5, 5 * channels + 7, b''.join(rows))
    np.testing.assert_array_equal(image_to_rgb_or_grey(msg), arr[:, :, 2::-1])


@pytest.mark.parametrize('encoding', ['mono8', 'mono16', '8UC1', '16UC1', '32FC1'])
def test_rgb_or_grey_mono_is_2d(encoding):
    arr = random_image(encoding)
    out = image_to_rgb_or_grey(numpy_to_image(arr, encoding))
    assert out.ndim == 2
    np.testing.assert_array_equal(out, arr)


def test_rgb8_stays_zero_copy():
    msg = numpy_to_image(random_image('rgb8'), 'rgb8')
    assert np.shares_memory(image_to_rgb_or_grey(msg), np.frombuffer(msg.data, np.uint8))


# ------------------------------------------------------------------- Image: bad input


def test_unknown_encoding():
    msg = raw_image('yuv422', 2, 2, 4, bytes(8))
    with pytest.raises(ConversionError, match="unknown encoding 'yuv422'"):
        image_to_numpy(msg)
    with pytest.raises(ConversionError, match="unknown encoding 'nv12'"):
        numpy_to_image(np.zeros((2, 2), np.uint8), 'nv12')


def test_short_data_names_sizes():
    msg = raw_image('rgb8', 40, 20, 60, bytes(1000))
    with pytest.raises(ConversionError) as err:
        image_to_numpy(msg)
    assert str(err.value) == (
        'image: data has 1000 bytes, expected at least 2400 (height 40 x step 60)')


def test_conversion_error_is_value_error():
    assert issubclass(ConversionError, ValueError)


@pytest.mark.parametrize('height, width', [(0, 4), (4, 0), (0, 0)])
def test_zero_size(height, width):
    msg = raw_image('mono8', height, width, width, bytes(16))
    with pytest.raises(ConversionError, match=f'zero size .height {height}, width {width}'):
        image_to_numpy(msg)


def test_step_smaller_than_row():
    msg = raw_image('rgb8', 2, 4, 10, bytes(40))
    with pytest.raises(ConversionError, match='step 10 is smaller than width 4 x 3 bytes'):
        image_to_numpy(msg)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_float_image(bad):
    arr = np.ones((3, 4), np.float32)
    arr[1, 2] = bad
    msg = numpy_to_image(arr, '32FC1')
    with pytest.raises(ConversionError, match=r'image \(32FC1\): 1 of 12 values are NaN/Inf'):
        image_to_numpy(msg)
    with pytest.raises(ConversionError):
        image_to_rgb_or_grey(msg)
    out = image_to_numpy(msg, allow_nonfinite=True)          # depth images opt in
    assert out[1, 2] == bad or (np.isnan(bad) and np.isnan(out[1, 2]))


@pytest.mark.parametrize('arr, encoding, match', [
    (np.zeros((2, 2), np.float32), 'mono8', 'needs dtype uint8, got float32'),
    (np.zeros((2, 2, 3), np.uint16), 'rgb8', 'needs dtype uint8, got uint16'),
    (np.zeros((2, 2), np.uint8), 'rgb8', r'needs shape \(h, w, 3\), got \(2, 2\)'),
    (np.zeros((2, 2, 4), np.uint8), 'bgr8', r'needs shape \(h, w, 3\), got \(2, 2, 4\)'),
    (np.zeros((0, 2), np.uint8), 'mono8', 'zero size'),
])
def test_numpy_to_image_rejects_mismatch(arr, encoding, match):
    with pytest.raises(ConversionError, match=match):
        numpy_to_image(arr, encoding)


# ----------------------------------------------------------------------- CompressedImage


def test_png_round_trip_rgb_is_exact():
    arr = random_image('rgb8', 16, 12)
    msg = numpy_to_compressed(arr, 'png', header=header('c'))
    assert msg.format == 'png' and msg.header.frame_id == 'c'
    assert bytes(msg.data[:8]) == b'\x89PNG\r\n\x1a\n'
    out = compressed_to_numpy(msg)
    assert out.dtype == np.uint8 and out.shape == (16, 12, 3)
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_png_round_trip_grey(dtype):
    arr = random_image('mono8' if dtype == np.uint8 else 'mono16', 9, 11)
    out = compressed_to_numpy(numpy_to_compressed(arr, 'png'))
    assert out.ndim == 2 and out.dtype == dtype
    np.testing.assert_array_equal(out, arr)


def test_png_rgba_decodes_to_rgb():
    arr = random_image('rgba8', 6, 5)
    out = compressed_to_numpy(numpy_to_compressed(arr, 'png'))
    np.testing.assert_array_equal(out, arr[:, :, :3])


def test_png_written_by_opencv_as_bgr_decodes_to_rgb():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 200                                        # red, in OpenCV's BGR order
    msg = CompressedImage(format='png')
    msg.data.frombytes(cv2.imencode('.png', bgr)[1].tobytes())
    np.testing.assert_array_equal(compressed_to_numpy(msg)[0, 0], [200, 0, 0])


def test_jpeg_round_trip_keeps_colour_order():
    arr = np.zeros((32, 32, 3), np.uint8)
    arr[..., 0] = 220                                        # pure red in RGB
    arr[8:24, 8:24] = (20, 40, 200)                          # a blue square
    msg = numpy_to_compressed(arr, 'jpeg', header=header())
    assert msg.format == 'jpeg' and bytes(msg.data[:2]) == b'\xff\xd8'
    assert msg.header.stamp.sec == 12
    out = compressed_to_numpy(msg)
    assert out.shape == arr.shape and out.dtype == np.uint8
    # lossy (4:2:0 chroma blurs the square's edges), but the same pixels OpenCV decodes
    assert np.abs(out.astype(int) - arr).mean() < 12.0
    bgr = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out, bgr[:, :, ::-1])
    assert out[2, 2, 0] > 200 and out[2, 2, 2] < 30         # still red, not blue
    assert out[16, 16, 2] > 180 and out[16, 16, 0] < 40


def test_jpeg_grey_stays_2d():
    arr = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (16, 1))
    out = compressed_to_numpy(numpy_to_compressed(arr, 'jpg'))
    assert out.shape == (16, 16)
    assert np.abs(out.astype(int) - arr).max() <= 8


def test_corrupt_jpeg():
    good = numpy_to_compressed(random_image('rgb8', 32, 32), 'jpeg')
    damaged = bytearray(good.data)
    damaged[2:120] = bytes(118)                             # headers wiped
    for payload in (bytes(damaged), bytes(good.data[:len(good.data) // 2]),
                    b'this is not an image'):
        msg = CompressedImage(format='jpeg')
        msg.data.frombytes(payload)
        with pytest.raises(ConversionError, match=rf'cannot decode {len(payload)} bytes '
                                                  r"\(format 'jpeg'\)"):
            compressed_to_numpy(msg)


def test_empty_compressed_data():
    with pytest.raises(ConversionError, match=r"data is empty \(format 'png'\)"):
        compressed_to_numpy(CompressedImage(format='png'))


def test_compressed_depth_is_refused():
    msg = CompressedImage(format='16UC1; compressedDepth png')
    msg.data.frombytes(bytes(32))
    with pytest.raises(ConversionError, match='compressedDepth'):
        compressed_to_numpy(msg)


@pytest.mark.parametrize('arr, fmt, match', [
    (np.zeros((4, 4, 3), np.uint8), 'webp', "unsupported format 'webp'"),
    (np.zeros((4, 4), np.float32), 'png', 'png needs dtype uint8 or uint16, got float32'),
    (np.zeros((4, 4), np.uint16), 'jpeg', 'jpeg needs dtype uint8, got uint16'),
    (np.zeros((4, 4, 2), np.uint8), 'png', r'got \(4, 4, 2\)'),
    (np.zeros((0, 4), np.uint8), 'png', 'zero size'),
])
def test_numpy_to_compressed_rejects(arr, fmt, match):
    with pytest.raises(ConversionError, match=match):
        numpy_to_compressed(arr, fmt)


# ------------------------------------------------------------------ PointCloud2 events


def event_arrays(n=50):
    x = RNG.integers(0, 640, n).astype(np.uint16)
    y = RNG.integers(0, 480, n).astype(np.uint16)
    t = np.sort(RNG.integers(0, 20000, n)) * 1e-6           # whole microseconds
    pol = RNG.choice(np.array([-1, 1], np.int8), n)
    return x, y, t, pol


def field_layout(msg):
    return [(f.name, f.offset, f.datatype, f.count) for f in msg.fields]


@pytest.mark.parametrize('time_field', ['float64', 'uint32_us'])
@pytest.mark.parametrize('with_polarity', [True, False])
def test_events_round_trip(time_field, with_polarity):
    x, y, t, pol = event_arrays()
    msg = events_to_pointcloud2(x, y, t, pol if with_polarity else None, header=header('dvs'),
                                time_field=time_field)
    t_type, t_size = ((PointField.FLOAT64, 8) if time_field == 'float64'
                      else (PointField.UINT32, 4))
    expected = [('x', 0, PointField.UINT16, 1), ('y', 2, PointField.UINT16, 1),
                ('t', 4, t_type, 1)]
    if with_polarity:
        expected.append(('polarity', 4 + t_size, PointField.INT8, 1))
    assert field_layout(msg) == expected
    point_step = 4 + t_size + (1 if with_polarity else 0)
    assert (msg.height, msg.width, msg.point_step) == (1, 50, point_step)
    assert msg.row_step == 50 * point_step and len(msg.data) == msg.row_step
    assert msg.is_dense is True and msg.is_bigendian is False
    assert msg.header.frame_id == 'dvs'

    x2, y2, t2, pol2 = events_from_pointcloud2(msg)
    assert x2.dtype == np.uint16 and y2.dtype == np.uint16 and t2.dtype == np.float64
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    if time_field == 'float64':
        np.testing.assert_array_equal(t2, t)
    else:
        np.testing.assert_allclose(t2, t, rtol=0, atol=1e-12)
    if with_polarity:
        assert pol2.dtype == np.int8
        np.testing.assert_array_equal(pol2, pol)
    else:
        assert pol2 is None


def test_uint32_us_rounds_to_microseconds():
    msg = events_to_pointcloud2([1], [2], [0.0012344], [1], time_field='uint32_us')
    raw = np.frombuffer(msg.data, np.dtype([('x', '<u2'), ('y', '<u2'), ('t', '<u4'),
                                            ('p', 'i1')]))
    assert raw['t'][0] == 1234
    assert events_from_pointcloud2(msg)[2][0] == pytest.approx(0.001234, abs=1e-12)


def test_result_does_not_alias_message():
    x, y, t, pol = event_arrays(5)
    msg = events_to_pointcloud2(x, y, t, pol)
    x2 = events_from_pointcloud2(msg)[0]
    x2[:] = 0
    np.testing.assert_array_equal(events_from_pointcloud2(msg)[0], x)


def make_cloud(fields, points_dtype, records, height=1, row_pad=0, is_bigendian=False):
    """Hand-built PointCloud2, as another driver might lay it out."""
    records = np.asarray(records, points_dtype)
    width = records.size // height
    rows = records.reshape(height, width)
    row_bytes = [rows[i].tobytes() + b'\x5a' * row_pad for i in range(height)]
    msg = PointCloud2(height=height, width=width, is_bigendian=is_bigendian,
                      point_step=points_dtype.itemsize,
                      row_step=points_dtype.itemsize * width + row_pad)
    msg.fields = [PointField(name=n, offset=o, datatype=d, count=c) for n, o, d, c in fields]
    msg.data.frombytes(b''.join(row_bytes))
    return msg


def test_foreign_layout_padding_extra_fields_and_rows():
    # aligned layout with an extra field and padding, 2 rows with row padding, uint8 polarity
    dtype = np.dtype({'names': ['t', 'x', 'y', 'intensity', 'polarity'],
                      'formats': ['<u4', '<f4', '<f4', '<f4', 'u1'],
                      'offsets': [0, 4, 8, 12, 16], 'itemsize': 20})
    fields = [('t', 0, PointField.UINT32, 1), ('x', 4, PointField.FLOAT32, 1),
              ('y', 8, PointField.FLOAT32, 1), ('intensity', 12, PointField.FLOAT32, 1),
              ('polarity', 16, PointField.UINT8, 0)]             # count 0 from old producers
    records = [(10, 1.0, 2.0, 0.5, 1), (20, 3.0, 4.0, 0.5, 0),
               (30, 5.0, 6.0, 0.5, 1), (40, 7.0, 8.0, 0.5, 0)]
    msg = make_cloud(fields, dtype, records, height=2, row_pad=6)
    x, y, t, pol = events_from_pointcloud2(msg)
    np.testing.assert_array_equal(x, [1, 3, 5, 7])
    assert x.dtype == np.float32
    np.testing.assert_array_equal(y, [2, 4, 6, 8])
    np.testing.assert_allclose(t, [10e-6, 20e-6, 30e-6, 40e-6], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(pol, [1, 0, 1, 0])
    assert pol.dtype == np.uint8


@pytest.mark.parametrize('x_type, x_code', [('i2', PointField.INT16), ('u4', PointField.UINT32),
                                            ('i4', PointField.INT32)])
def test_big_endian_cloud_and_other_pixel_types(x_type, x_code):
    dtype = np.dtype([('x', '>' + x_type), ('y', '>u2'), ('t', '>f8')])
    size = dtype['x'].itemsize
    fields = [('x', 0, x_code, 1), ('y', size, PointField.UINT16, 1),
              ('t', size + 2, PointField.FLOAT64, 1)]
    msg = make_cloud(fields, dtype, [(300, 513, 0.25), (7, 1, -0.5)], is_bigendian=True)
    x, y, t, pol = events_from_pointcloud2(msg)
    assert x.dtype == np.dtype(x_type) and x.dtype.isnative
    np.testing.assert_array_equal(x, [300, 7])
    np.testing.assert_array_equal(y, [513, 1])
    np.testing.assert_array_equal(t, [0.25, -0.5])
    assert pol is None


def test_missing_field():
    x, y, t, pol = event_arrays(4)
    msg = events_to_pointcloud2(x, y, t, pol)
    msg.fields = [f for f in msg.fields if f.name != 't']
    with pytest.raises(ConversionError, match=r'missing field\(s\) t; cloud has '
                                              r"\['x', 'y', 'polarity'\]"):
        events_from_pointcloud2(msg)


@pytest.mark.parametrize('name, datatype, match', [
    ('t', PointField.FLOAT32, "field 't' has datatype float32 .7., expected float64 or uint32"),
    ('x', PointField.INT8, "field 'x' has datatype int8 .1., expected uint16 or int16"),
    ('polarity', PointField.FLOAT32, "field 'polarity' has datatype float32"),
    ('y', 42, "field 'y' has datatype unknown .42."),
])
def test_wrong_field_type(name, datatype, match):
    x, y, t, pol = event_arrays(4)
    msg = events_to_pointcloud2(x, y, t, pol)
    for field in msg.fields:
        if field.name == name:
            field.datatype = datatype
    with pytest.raises(ConversionError, match=match):
        events_from_pointcloud2(msg)


def test_field_count_and_duplicates_and_fit():
    x, y, t, pol = event_arrays(3)
    msg = events_to_pointcloud2(x, y, t, pol)
    msg.fields[0].count = 2
    with pytest.raises(ConversionError, match="field 'x' has count 2"):
        events_from_pointcloud2(msg)
    msg = events_to_pointcloud2(x, y, t, pol)
    msg.fields = list(msg.fields) + [PointField(name='x', offset=0, datatype=4, count=1)]
    with pytest.raises(ConversionError, match="field 'x' appears more than once"):
        events_from_pointcloud2(msg)
    msg = events_to_pointcloud2(x, y, t, None)
    msg.fields[2].offset = 6                                 # float64 at 6 needs 14 > 12
    with pytest.raises(ConversionError, match="'t' .float64 at offset 6. does not fit in "
                                              'point_step 12'):
        events_from_pointcloud2(msg)


def test_truncated_data():
    x, y, t, pol = event_arrays(10)
    msg = events_to_pointcloud2(x, y, t, pol)
    msg.data = msg.data[:-1]
    with pytest.raises(ConversionError, match='data has 129 bytes, expected at least 130 '
                                              r'\(height 1 x row_step 130\)'):
        events_from_pointcloud2(msg)


def test_row_step_too_small():
    msg = events_to_pointcloud2(*event_arrays(10))
    msg.row_step = 100
    with pytest.raises(ConversionError, match='row_step 100 is smaller than width 10 x '
                                              'point_step 13'):
        events_from_pointcloud2(msg)


def test_nan_time_in_cloud():
    dtype = np.dtype([('x', '<u2'), ('y', '<u2'), ('t', '<f8')])
    fields = [('x', 0, PointField.UINT16, 1), ('y', 2, PointField.UINT16, 1),
              ('t', 4, PointField.FLOAT64, 1)]
    msg = make_cloud(fields, dtype, [(1, 1, 0.0), (2, 2, np.nan), (3, 3, 0.1)])
    with pytest.raises(ConversionError, match="field 't': 1 of 3 values are NaN/Inf"):
        events_from_pointcloud2(msg)


def test_empty_cloud():
    msg = events_to_pointcloud2(np.zeros(0, np.uint16), [], [], [], header=header())
    assert msg.width == 0 and len(msg.data) == 0 and len(msg.fields) == 4
    x, y, t, pol = events_from_pointcloud2(msg)
    assert (x.size, y.size, t.size, pol.size) == (0, 0, 0, 0)
    assert x.dtype == np.uint16 and t.dtype == np.float64 and pol.dtype == np.int8
    x, y, t, pol = events_from_pointcloud2(PointCloud2())    # no fields at all
    assert (x.size, y.size, t.size) == (0, 0, 0) and pol is None


def test_empty_cloud_still_checks_declared_fields():
    msg = events_to_pointcloud2([], [], [], None)
    msg.fields = [f for f in msg.fields if f.name != 'y']
    with pytest.raises(ConversionError, match=r'missing field\(s\) y'):
        events_from_pointcloud2(msg)


@pytest.mark.parametrize('kwargs, match', [
    ({'x': [70000]}, r'x spans \[70000, 70000\], outside \[0, 65535\]'),
    ({'y': [-1]}, r'y spans \[-1, -1\]'),
    ({'x': [1.5]}, 'x must be whole numbers'),
    ({'t_seconds': [np.nan]}, 't has 1 NaN/Inf values'),
    ({'t_seconds': [-0.001], 'time_field': 'uint32_us'}, r't \(microseconds\) spans'),
    ({'t_seconds': [5000.0], 'time_field': 'uint32_us'}, r't \(microseconds\) spans'),
    ({'polarity': [200]}, r'polarity spans \[200, 200\], outside \[-128, 127\]'),
    ({'y': [1, 2]}, 'must be 1-D of one length'),
    ({'time_field': 'ns'}, "time_field must be 'float64' or 'uint32_us', got 'ns'"),
])
def test_events_to_pointcloud2_rejects(kwargs, match):
    args = {'x': [1], 'y': [2], 't_seconds': [0.5], 'polarity': [1]}
    args.update(kwargs)
    with pytest.raises(ConversionError, match=match):
        events_to_pointcloud2(**args)


def test_events_to_pointcloud2_accepts_bool_and_float_whole_numbers():
    msg = events_to_pointcloud2(np.array([3.0, 4.0]), [5, 6], [0.0, 0.5],
                                np.array([True, False]))
    x, y, t, pol = events_from_pointcloud2(msg)
    np.testing.assert_array_equal(x, [3, 4])
    np.testing.assert_array_equal(pol, [1, 0])


def test_shrink_area_is_a_box_average_close_to_one_inter_area_step(mnist):
    """Two box averages (an integer block mean, then INTER_AREA) stay within 3 grey levels of
    one INTER_AREA step on camera-sized MNIST frames, and within 6 on pixel noise."""
    for k in range(20):
        grey = cv2.resize(mnist.test_images[k].astype(np.uint8), (640, 480))
        frame = np.repeat(grey[:, :, None], 3, 2)
        one_step = cv2.resize(frame, (28, 28), interpolation=cv2.INTER_AREA).astype(int)
        small = shrink_area(frame, (28, 28))
        assert small.shape == (28, 28, 3) and small.dtype == np.uint8
        assert np.abs(small.astype(int) - one_step).max() <= 3
    noise = np.random.default_rng(1).integers(0, 256, (480, 640), dtype=np.uint16) * 257
    one_step = cv2.resize(noise, (28, 28), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(shrink_area(noise, (28, 28)).astype(int) - one_step).max() <= 6 * 257
    odd = np.zeros((481, 641), np.float32)             # no divisor: one INTER_AREA step
    assert shrink_area(odd, (28, 28)).shape == (28, 28)
    already, short, ints = np.zeros((28, 28)), np.zeros((10, 640)), np.zeros((480, 640), np.int32)
    for frame in (already, short, ints):
        assert shrink_area(frame, (28, 28)) is frame   # the encoder resizes these itself


def test_shrink_before_reordering_gives_the_same_rgb():
    bgr = np.random.default_rng(2).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    out = image_to_rgb_or_grey(numpy_to_image(bgr, 'bgr8'), shrink_to=(28, 28))
    np.testing.assert_array_equal(out, shrink_area(bgr, (28, 28))[:, :, ::-1])


@pytest.mark.parametrize('frame_id', ['', 'a', 'ab', 'abc', 'camera_optical_frame'])
@pytest.mark.parametrize('encoding', ['mono8', 'bgr8', '32FC1', 'mono16'])
def test_image_from_cdr_reads_what_rclpy_serializes(frame_id, encoding):
    """Every string length (CDR alignment), padded rows and big-endian data."""
    from rclpy.serialization import serialize_message

    arr = random_image(encoding, height=5, width=7)
    rows = arr.astype(arr.dtype.newbyteorder('>')).reshape(5, -1).view(np.uint8)
    payload = np.hstack([rows, np.full((5, 3), 0xAB, np.uint8)])      # 3 bytes of row padding
    msg = raw_image(encoding, 5, 7, payload.shape[1], payload.tobytes(), is_bigendian=1)
    msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec = frame_id, -3, 999
    parsed = image_from_cdr(serialize_message(msg))
    assert parsed.header == msg.header
    assert (parsed.height, parsed.width, parsed.encoding, parsed.is_bigendian, parsed.step) == (
        msg.height, msg.width, msg.encoding, 1, msg.step)
    np.testing.assert_array_equal(image_to_numpy(parsed), arr)


def test_image_from_cdr_rejects_truncated_and_foreign_bytes():
    from rclpy.serialization import serialize_message

    msg = raw_image('bgr8', 4, 4, 12, bytes(48))
    msg.header.frame_id = 'cam'
    raw = serialize_message(msg)
    for cut in range(len(raw)):
        with pytest.raises(ConversionError, match='truncated|serialized|encapsulation'):
            image_from_cdr(raw[:cut])
    with pytest.raises(ConversionError, match='encapsulation'):
        image_from_cdr(b'\x01\x02\x00\x00' + raw[4:])


# ------------------------------------------------------------------ reason codes


def _reason(convert, *args, **kwargs) -> str:
    with pytest.raises(ConversionError) as err:
        convert(*args, **kwargs)
    return err.value.reason


def _compressed(payload: bytes, fmt: str = 'jpeg') -> CompressedImage:
    msg = CompressedImage(format=fmt)
    msg.data.frombytes(payload)
    return msg


def _cloud(fields, width=4, point_step=16, row_step=None, data_len=None) -> PointCloud2:
    msg = PointCloud2(height=1, width=width, point_step=point_step,
                      row_step=point_step * width if row_step is None else row_step,
                      fields=[PointField(name=n, offset=o, datatype=d, count=c)
                              for n, o, d, c in fields])
    msg.data.frombytes(bytes(point_step * width if data_len is None else data_len))
    return msg


_U16, _F64 = PointField.UINT16, PointField.FLOAT64
_XYT = [('x', 0, _U16, 1), ('y', 2, _U16, 1), ('t', 4, _F64, 1)]


def _nan_events() -> PointCloud2:
    return events_to_pointcloud2(np.zeros(2), np.zeros(2), np.array([0.0, 1.0]), None)


@pytest.mark.parametrize('convert, reason', [
    (lambda: image_to_numpy(raw_image('yuv9', 2, 2, 2, bytes(4))), 'unknown_encoding'),
    (lambda: image_to_numpy(raw_image('mono8', 0, 2, 2, b'')), 'zero_size'),
    (lambda: image_to_numpy(raw_image('bgr8', 2, 4, 10, bytes(20))), 'bad_layout'),
    (lambda: image_to_numpy(raw_image('mono8', 2, 2, 2, bytes(3))), 'data_too_short'),
    (lambda: image_to_numpy(numpy_to_image(np.full((2, 2), np.nan, np.float32), '32FC1')),
     'non_finite'),
    (lambda: image_from_cdr(b'\x01\x02\x00\x00' + bytes(40)), 'bad_serialization'),
    (lambda: image_from_cdr(b'\x00\x01\x00\x00' + bytes(6)), 'truncated_message'),
    (lambda: compressed_to_numpy(_compressed(bytes(8), 'png; compressedDepth')),
     'unsupported_format'),
    (lambda: compressed_to_numpy(_compressed(b'')), 'empty_data'),
    (lambda: compressed_to_numpy(_compressed(b'not an image at all')), 'corrupt_compressed'),
    (lambda: events_from_pointcloud2(_cloud(_XYT[:2])), 'missing_field'),
    (lambda: events_from_pointcloud2(_cloud([('x', 0, _F64, 1)] + _XYT[1:])),
     'wrong_field_type'),
    (lambda: events_from_pointcloud2(_cloud(_XYT + [('x', 12, _U16, 1)])), 'duplicate_field'),
    (lambda: events_from_pointcloud2(_cloud(_XYT, point_step=8)), 'bad_layout'),
    (lambda: events_from_pointcloud2(_cloud(_XYT, row_step=10)), 'bad_layout'),
    (lambda: events_from_pointcloud2(_cloud(_XYT, data_len=10)), 'data_too_short'),
    (lambda: numpy_to_image(np.zeros((2, 2), np.float32), 'mono8'), 'bad_array'),
    (lambda: numpy_to_compressed(np.zeros((2, 2), np.uint8), 'webp'), 'unsupported_format'),
    (lambda: events_to_pointcloud2([70000], [0], [0.0], None), 'out_of_range'),
    (lambda: events_to_pointcloud2([0], [0], [np.nan], None), 'non_finite'),
    (lambda: events_to_pointcloud2([0], [0], [0.0], None, time_field='ns'), 'bad_argument'),
])
def test_every_refusal_carries_its_reason_code(convert, reason):
    assert _reason(convert) == reason
    assert reason in REASONS


def test_a_reason_must_be_a_known_code():
    with pytest.raises(ValueError, match="unknown ConversionError reason 'typo'"):
        ConversionError('typo', 'text')


# ------------------------------------------------------------------ decompression bombs


def _patch_jpeg_size(payload: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its (baseline) frame header declaring width x height."""
    at = payload.index(b'\xff\xc0') + 5                  # marker, length, precision
    return payload[:at] + struct.pack('>HH', height, width) + payload[at + 4:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack('>I', len(body)) + kind + body
            + struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF))


def _png_declaring(width: int, height: int, rows: int = 1) -> bytes:
    """A PNG with a valid IHDR of width x height (8-bit grey) and ``rows`` rows of black."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes((width + 1) * rows), 9)
    return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr) + _png_chunk(b'IDAT', rows)
            + _png_chunk(b'IEND', b''))


def _small_jpeg(colour: bool) -> bytes:
    arr = random_image('rgb8' if colour else 'mono8', 8, 8)
    return bytes(numpy_to_compressed(arr, 'jpeg', jpeg_quality=50).data)


BOMBS = {
    'jpeg grey 20000x20000': lambda: _patch_jpeg_size(_small_jpeg(False), 20000, 20000),
    'jpeg colour 20000x20000': lambda: _patch_jpeg_size(_small_jpeg(True), 20000, 20000),
    'jpeg grey 5000x4000': lambda: _patch_jpeg_size(_small_jpeg(False), 5000, 4000),
    'png 20000x20000': lambda: _png_declaring(20000, 20000),
    'png 5000x4000, all rows': lambda: _png_declaring(5000, 4000, rows=4000),
}


@pytest.mark.parametrize('make', BOMBS.values(), ids=BOMBS.keys())
def test_a_decompression_bomb_is_refused_before_opencv_sees_it(make, monkeypatch):
    """A few hundred bytes declaring 400 M pixels took perception from 330 MiB to 1 GB+."""
    payload = make()
    assert len(payload) < 25_000
    decoded = []
    monkeypatch.setattr(conversions.cv2, 'imdecode',
                        lambda *args: decoded.append(args) or np.zeros((1, 1), np.uint8))
    with pytest.raises(ConversionError, match=r'declares \d+ x \d+ pixels, more than '
                                              rf'max_pixels {MAX_COMPRESSED_PIXELS}') as err:
        compressed_to_numpy(_compressed(payload))
    assert err.value.reason == 'too_large' and decoded == []


def test_the_pixel_limit_is_an_argument():
    msg = numpy_to_compressed(random_image('rgb8', 64, 32), 'png')
    assert compressed_to_numpy(msg, max_pixels=64 * 32).shape == (64, 32, 3)
    assert _reason(compressed_to_numpy, msg, max_pixels=64 * 32 - 1) == 'too_large'


@pytest.mark.parametrize('arr, fmt, params', [
    (random_image('rgb8', 33, 65), 'jpeg', []),
    (random_image('mono8', 17, 9), 'jpeg', []),
    (random_image('rgb8', 40, 30), '.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),     # SOF2
    (random_image('rgba8', 5, 300), 'png', []),
    (random_image('mono16', 70, 3), 'png', []),
])
def test_declared_size_reads_real_headers(arr, fmt, params):
    if params:
        payload = cv2.imencode(fmt, arr, params)[1].tobytes()
    else:
        payload = bytes(numpy_to_compressed(arr, fmt).data)
    codec = 'png' if fmt == 'png' else 'jpeg'
    assert declared_size(payload) == DeclaredSize(codec, arr.shape[1], arr.shape[0])
    assert declared_size(np.frombuffer(payload, np.uint8)) == declared_size(payload)


def test_declared_size_walks_past_other_segments_and_refuses_broken_headers():
    jpeg = _small_jpeg(True)
    exif = b'\xff\xe1' + struct.pack('>H', 2 + 300) + b'\xff\xc0' * 150   # fake SOF inside
    assert declared_size(jpeg[:2] + exif + jpeg[2:]) == DeclaredSize('jpeg', 8, 8)
    sof = jpeg.index(b'\xff\xc0')
    for cut in (1, 3, 4, sof, sof + 6):
        with pytest.raises(ConversionError) as err:
            declared_size(jpeg[:cut])
        assert err.value.reason == 'corrupt_compressed', cut
    dnl = _patch_jpeg_size(jpeg, 8, 0)
    assert _reason(declared_size, dnl) == 'unsupported_format'
    assert _reason(declared_size, jpeg[:2] + b'\x00' + jpeg[2:]) == 'corrupt_compressed'
    assert _reason(declared_size, _png_declaring(4, 4)[:20]) == 'corrupt_compressed'
    bmp = cv2.imencode('.bmp', np.zeros((4, 4), np.uint8))[1].tobytes()
    assert _reason(compressed_to_numpy, _compressed(bmp)) == 'corrupt_compressed'


# ------------------------------------------------------------------ unaligned row steps


@pytest.mark.parametrize('via_cdr', [False, True], ids=['message', 'serialized'])
def test_a_row_step_that_is_not_a_multiple_of_the_element_size_is_handled(via_cdr):
    """16UC1, 640 wide, step 1281: the elements of every other row are unaligned, which
    OpenCV refused (it failed inside shrink_area as internal_error)."""
    from rclpy.serialization import serialize_message

    arr = random_image('16UC1', 48, 640)
    rows = arr.view(np.uint8).reshape(48, 1280)
    payload = np.hstack([rows, np.full((48, 1), 0xCD, np.uint8)])     # 1 byte of padding
    msg = raw_image('16UC1', 48, 640, 1281, payload.tobytes())
    if via_cdr:
        msg = image_from_cdr(serialize_message(msg))
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.aligned
    small = image_to_rgb_or_grey(msg, shrink_to=(28, 28))
    np.testing.assert_array_equal(small, shrink_area(arr, (28, 28)))
