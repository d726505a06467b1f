# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Subscription QoS for camera and event streams: match what the publishers offer.

Measured with Fast DDS between two processes (docs/ros.md, QoS): a RELIABLE subscriber
gets nothing from a BEST_EFFORT publisher, and large frames (640x480 bgr8) from a RELIABLE
publisher never reach a BEST_EFFORT subscriber. No fixed profile works for every camera, so the
subscription follows the publishers currently offering the topic, with rosbag2's rule (all
reliable -> reliable, otherwise best effort). A parameter can pin the choice instead.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from rclpy.topic_endpoint_info import TopicEndpointInfo

RELIABILITY_MODES = ('auto', 'reliable', 'best_effort')
STREAM_DEPTH = 2        # the node keeps only the newest frame anyway; a deep queue only adds lag

# The package's named profiles, as rclpy exports qos_profile_sensor_data: one definition each.
RESULTS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
"""Results, energy figures and /diagnostics: every message counts, a short queue suffices."""
COMMAND = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""``topspark/timesteps``: the latest command, kept for subscribers that join later."""
ACTIVITY = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
"""``topspark/activity`` readers: a burst of samples must not be lost while metrics is busy."""

_FIXED = {'reliable': ReliabilityPolicy.RELIABLE, 'best_effort': ReliabilityPolicy.BEST_EFFORT}


def check_reliability_mode(mode: str) -> str | None:
    """None when ``mode`` is valid, else the reason (for a parameter callback)."""
    if mode in RELIABILITY_MODES:
        return None
    return f'reliability {mode!r} is not one of {", ".join(RELIABILITY_MODES)}'


def offered_reliability(publishers: Sequence[TopicEndpointInfo]) -> ReliabilityPolicy | None:
    """rosbag2's choice for a subscriber: reliable if every publisher is, else best effort.

    None while there is no publisher: nothing to match yet.
    """
    if not publishers:
        return None
    if all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers):
        return ReliabilityPolicy.RELIABLE
    return ReliabilityPolicy.BEST_EFFORT


def stream_qos(reliability: ReliabilityPolicy, depth: int = STREAM_DEPTH) -> QoSProfile:
    """KEEP_LAST, small depth, volatile (a volatile reader matches any publisher durability)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)


def policy_name(reliability: ReliabilityPolicy | None) -> str:
    """'reliable', 'best_effort' or 'waiting' (no subscription yet), for logs and diagnostics."""
    return 'waiting' if reliability is None else reliability.name.lower()


def _type_name(msg_type: type) -> str:
    """'sensor_msgs/msg/Image' for the generated class sensor_msgs.msg.Image."""
    return f'{msg_type.__module__.split(".")[0]}/msg/{msg_type.__name__}'


class MatchedSubscription:
    """A stream subscription whose reliability is fixed, or ('auto') follows the publishers.

    In 'auto' mode nothing is subscribed until ``update()`` (call it from a timer) sees a
    publisher; later calls re-create the subscription when the publishers' offer changes, e.g.
    a best-effort camera joining reliable ones.
    """

    def __init__(self, node: Node, msg_type: type, topic: str, callback: Callable[[Any], None],
                 mode: str = 'auto', callback_group: CallbackGroup | None = None,
                 raw: bool = False) -> None:
        reason = check_reliability_mode(mode)
        if reason:
            raise ValueError(reason)
        self._node = node
        self._msg_type = msg_type
        self._type_name = _type_name(msg_type)
        self._callback = callback
        self._group = callback_group
        self._raw = raw                     # deliver serialized bytes (see rclpy raw=True)
        self.mode = mode
        self.topic = node.resolve_topic_name(topic)
        self.reliability: ReliabilityPolicy | None = None
        self.subscription: Subscription | None = None
        if mode in _FIXED:
            self._subscribe(_FIXED[mode])
            node.get_logger().info(
                f'{self.topic}: subscribed {policy_name(self.reliability)} (fixed by parameter)')

    def update(self) -> bool:
        """'auto' mode: (re)subscribe if the publishers' reliability changed; True if it did."""
        if self.mode != 'auto':
            return False
        publishers = [p for p in self._node.get_publishers_info_by_topic(self.topic)
                      if p.topic_type == self._type_name]
        wanted = offered_reliability(publishers)
        if wanted is None or wanted == self.reliability:
            return False
        previous = self.reliability
        if self.subscription is not None:
            self._node.destroy_subscription(self.subscription)
        self._subscribe(wanted)
        n_reliable = sum(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                         for p in publishers)
        change = '' if previous is None else f' (was {policy_name(previous)})'
        self._node.get_logger().info(
            f'{self.topic}: subscribed {policy_name(wanted)}{change} to match '
            f'{len(publishers)} publisher(s), {n_reliable} reliable')
        return True

    def _subscribe(self, reliability: ReliabilityPolicy) -> None:
        self.subscription = self._node.create_subscription(
            self._msg_type, self.topic, self._callback, stream_qos(reliability),
            callback_group=self._group, raw=self._raw)
        self.reliability = reliability
