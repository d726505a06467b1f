# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of ``topspark-record`` and ``topspark-replay``: types, QoS and errors.

Both tools move serialized CDR bytes between rclpy and a rosbag2 (version 9, sqlite3 or mcap)
written and read by the pure-Python ``rosbags`` package, so no message is deserialized on the
way. rclpy still needs the generated message class of each topic (its type support), and the
bag needs each type's definition and hash: the recorder takes those from the rosbags
``ROS2_KILTED`` typestore, or from the ``<prefix>/share/<pkg>/msg/<Type>.msg`` file of a
package outside it. The hashes of the typestore and of the Kilted wheels agree (checked for
Image, PointCloud2, Float64, Int32 and DiagnosticArray).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
import sys
from typing import Iterable

from rclpy.duration import Duration
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, LivelinessPolicy, QoSProfile,
                       ReliabilityPolicy)
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from rosbags.typesys.store import Typestore

# The inputs perception processes one at a time: replay waits for an answer after each.
FRAME_TYPES = frozenset({'sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage',
                         'sensor_msgs/msg/PointCloud2'})

# Everything the topspark nodes publish (relative names, resolved in the tool's namespace).
TOPSPARK_OUTPUTS = (
    'topspark/prediction', 'topspark/scores', 'topspark/activity', 'topspark/latency',
    'topspark/timesteps', 'topspark/energy/sample', 'topspark/energy/total', 'topspark/power',
    'topspark/energy/savings',
)


def split_ros_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(tool arguments, ROS arguments): every ``--ros-args ... [--]`` block goes to ROS.

    Not rclpy's remove_ros_args, which also takes the deprecated bare ``old:=new`` remap
    syntax away, i.e. the values of ``--remap``.
    """
    own: list[str] = []
    ros: list[str] = []
    in_ros = False
    for arg in argv:
        if arg == '--ros-args':
            in_ros = True
            ros.append(arg)
        elif in_ros and arg == '--':
            in_ros = False
        elif in_ros:
            ros.append(arg)
        else:
            own.append(arg)
    return own, ros


class BagError(Exception):
    """A user-facing failure of the bag tools: printed as one line, exit code 2."""


class MessageTypeError(BagError):
    """A message type that rclpy or the typestore cannot provide."""


def _split_type(name: str) -> tuple[str, str, str]:
    parts = name.split('/')
    if len(parts) == 2:                      # 'pkg/Type', ROS 1 style
        parts = [parts[0], 'msg', parts[1]]
    if len(parts) != 3 or not all(parts) or parts[1] != 'msg':
        raise MessageTypeError(f'{name!r} is not a message type name like pkg/msg/Type')
    return parts[0], parts[1], parts[2]


def import_message_type(name: str) -> type:
    """The rclpy message class of 'pkg/msg/Type' (rosidl_runtime_py if present, else import)."""
    pkg, _, type_name = _split_type(name)
    try:
        from rosidl_runtime_py.utilities import get_message
    except ImportError:
        get_message = None
    try:
        if get_message is not None:
            return get_message(f'{pkg}/msg/{type_name}')
        module = importlib.import_module(f'{pkg}.msg')
        msg_type = getattr(module, type_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise MessageTypeError(f'cannot import {name} in this environment ({exc})') from None
    if not isinstance(msg_type, type) or not hasattr(msg_type, 'get_fields_and_field_types'):
        raise MessageTypeError(f'{name} is not a generated message class')
    return msg_type


def _share_dirs(pkg: str) -> list[Path]:
    """Where a package's share/<pkg> may be: the ament index, then this Python's prefix."""
    dirs = []
    try:
        from ament_index_python.packages import get_package_share_directory

        dirs.append(Path(get_package_share_directory(pkg)))
    except Exception:            # noqa: BLE001 - PackageNotFoundError, or no AMENT_PREFIX_PATH
        pass
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) + [sys.prefix]
    dirs += [Path(p) / 'share' / pkg for p in prefixes if p]
    return dirs


def _referenced_types(fields: Iterable) -> set[str]:
    """Type names a parsed rosbags field list refers to (also inside arrays and sequences)."""
    names = set()
    for _, (nodetype, desc) in fields:
        while nodetype.name in ('ARRAY', 'SEQUENCE'):
            (nodetype, desc), _ = desc
        if nodetype.name == 'NAME':
            names.add(desc)
    return names


def _register_from_share(store: Typestore, msgtype: str, seen: set[str]) -> None:
    pkg, _, type_name = _split_type(msgtype)
    for share in _share_dirs(pkg):
        path = share / 'msg' / f'{type_name}.msg'
        if path.is_file():
            break
    else:
        raise MessageTypeError(
            f'{msgtype} is not in the rosbags typestore and no {pkg}/msg/{type_name}.msg '
            'was found under share/ (AMENT_PREFIX_PATH or this Python\'s prefix)')
    types = get_types_from_msg(path.read_text(), msgtype)
    seen.add(msgtype)
    for _, (_, fields) in types.items():
        for ref in _referenced_types(fields):
            if ref not in store.types and ref not in seen:
                _register_from_share(store, ref, seen)
    store.register(types)


def make_typestore() -> Typestore:
    """A private (mutable) Kilted typestore."""
    return get_typestore(Stores.ROS2_KILTED)


def ensure_bag_type(store: Typestore, msgtype: str) -> str:
    """Make ``msgtype`` known to ``store`` (loading .msg files if needed); returns its RIHS01."""
    if msgtype not in store.types:
        _register_from_share(store, msgtype, set())
    try:
        return store.hash_rihs01(msgtype)
    except Exception as exc:     # noqa: BLE001 - rosbags raises several types here
        raise MessageTypeError(f'cannot build the definition of {msgtype}: {exc}') from None


# -------------------------------------------------------------------------------- QoS


def _bag_time(duration: Duration) -> QosTime:
    sec, nsec = divmod(int(duration.nanoseconds), 1_000_000_000)   # int64 max = rmw infinite
    return QosTime(sec, nsec)


def _enum(target, policy, default):
    return getattr(target, getattr(policy, 'name', ''), default)


def to_bag_qos(profile: QoSProfile) -> Qos:
    """rosbags' Qos for a discovered publisher profile (stored as offered_qos_profiles)."""
    return Qos(
        history=_enum(QosHistory, profile.history, QosHistory.UNKNOWN),
        depth=int(profile.depth),
        reliability=_enum(QosReliability, profile.reliability, QosReliability.UNKNOWN),
        durability=_enum(QosDurability, profile.durability, QosDurability.UNKNOWN),
        deadline=_bag_time(profile.deadline),
        lifespan=_bag_time(profile.lifespan),
        liveliness=_enum(QosLiveliness, profile.liveliness, QosLiveliness.UNKNOWN),
        liveliness_lease_duration=_bag_time(profile.liveliness_lease_duration),
        avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions),
    )


def subscriber_qos(publisher_profiles: list[QoSProfile], depth: int) -> QoSProfile:
    """rosbag2's rule: reliable if all publishers are, transient local if all offer it."""
    reliable = all(p.reliability == ReliabilityPolicy.RELIABLE for p in publisher_profiles)
    latched = all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in publisher_profiles)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
        liveliness=LivelinessPolicy.SYSTEM_DEFAULT)


def qos_name(profile: QoSProfile) -> str:
    return f'{profile.reliability.name.lower()}/{profile.durability.name.lower()}'
