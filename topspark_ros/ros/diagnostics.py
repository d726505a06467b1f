# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""DiagnosticArray building without diagnostic_updater (which has no PyPI wheel).

Follows diagnostic_updater's conventions so aggregators and rqt treat the nodes like any other:
a status is named ``'<node name>: <what>'``, values are KeyValue strings, and the level is one
of the ``bytes`` constants of DiagnosticStatus. An int level is silently corrupted on the wire
(``2`` arrives as ``b'\xf0'``), so ``status`` refuses anything else.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR
STALE = DiagnosticStatus.STALE
LEVEL_NAMES = {OK: 'OK', WARN: 'WARN', ERROR: 'ERROR', STALE: 'STALE'}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def status(node_name: str, what: str, level: bytes, message: str,
           values: Mapping[str, Any] | None = None, hardware_id: str = '') -> DiagnosticStatus:
    """One status named ``'<node_name>: <what>'``; values become KeyValue strings in order."""
    if level not in LEVEL_NAMES:
        raise ValueError(f'diagnostic level must be one of DiagnosticStatus.OK/WARN/ERROR/STALE '
                         f'(bytes), got {level!r}')
    return DiagnosticStatus(
        level=level, name=f'{node_name}: {what}', message=message, hardware_id=hardware_id,
        values=[KeyValue(key=str(k), value=_text(v)) for k, v in (values or {}).items()])


def array(stamp: Time, statuses: Iterable[DiagnosticStatus]) -> DiagnosticArray:
    """A DiagnosticArray stamped ``stamp`` holding ``statuses``."""
    msg = DiagnosticArray(status=list(statuses))
    msg.header.stamp = stamp
    return msg


def values_of(diagnostic: DiagnosticStatus) -> dict[str, str]:
    """The KeyValues of a status as a dict (what readers such as the metrics node need)."""
    return {kv.key: kv.value for kv in diagnostic.values}
