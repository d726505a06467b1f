# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What perception reports, without ROS: the level, message and values of its 'input' and
'model' statuses in /diagnostics and of each sample's 'activity' status (topspark/activity).
The node converts a ``Status`` into a DiagnosticStatus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..activity import ActivityReport
from ..models import ModelOutput, ModelSummary
from .service import ServiceStatus
from .settings import Settings

OK, WARN, ERROR = 'ok', 'warn', 'error'


@dataclass(frozen=True)
class Status:
    """One status: ``level`` is OK, WARN or ERROR; values in the order they are shown."""

    level: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)


def _sum(counts: Mapping[str, int], prefix: str) -> int:
    return sum(v for k, v in counts.items() if k.startswith(prefix))


def input_status(totals: Mapping[str, int], new: Mapping[str, int], dropped_window_events: int,
                 reliability: Mapping[str, str], last_compute_s: float) -> Status:
    """The 'input' status from the counters' ``totals`` and their growth since the last report
    (``new``): ERROR after a callback raised, WARN for rejected inputs or dropped samples in
    the period, else OK. ``reliability`` by input topic; ``dropped_window_events``: events the
    bounded event window could not hold."""
    if new.get('callback_exceptions'):
        level, message = ERROR, 'a callback raised (logged with its trace)'
    elif _sum(new, 'rejected_'):
        level, message = WARN, f'{_sum(new, "rejected_")} input(s) rejected in the last period'
    elif _sum(new, 'dropped_'):
        level, message = WARN, f'{_sum(new, "dropped_")} sample(s) dropped: model too slow'
    else:
        level, message = OK, f'{totals.get("processed", 0)} samples processed'
    values: dict[str, Any] = {
        'processed': totals.get('processed', 0),
        'dropped_frames': totals.get('dropped_frames', 0),
        'dropped_event_windows': totals.get('dropped_event_windows', 0),
        'dropped_event_packets': totals.get('dropped_event_packets', 0),
        'dropped_window_events': dropped_window_events,
        'rejected': _sum(totals, 'rejected_'),
        'callback_exceptions': totals.get('callback_exceptions', 0),
    }
    values.update(sorted((k, v) for k, v in totals.items() if k.startswith('rejected_')))
    values.update({f'reliability {topic}': r for topic, r in reliability.items()})
    values['last_compute_seconds'] = last_compute_s
    return Status(level, message, values)


def model_status(status: ServiceStatus, settings: Settings, counts: Mapping[str, int]) -> Status:
    """The 'model' status: ERROR when the model file did not load or the last save failed,
    WARN while the model cannot predict yet, else OK naming the model's source."""
    summary = status.summary
    if status.load_error:
        level, message = ERROR, f'model_path not loaded: {status.load_error}'
    elif status.save_error:
        level, message = ERROR, f'last save failed: {status.save_error}'
    elif not summary.ready:
        level, message = WARN, summary.note
    else:
        level, message = OK, status.source
    return Status(level, message, {
        'model_kind': summary.kind, 'model_source': status.source,
        'save_target': status.save_target, 'last_save': status.last_save,
        'saves': counts.get('saves', 0), 'unsaved_samples': status.unsaved_samples,
        'unsaved_labels': status.unsaved_labels, 'learning': settings.learning,
        'timesteps': settings.timesteps, 'n_neurons': summary.n_neurons,
        'ready': summary.ready, 'state': summary.note,
        'labels_applied': counts.get('labels_applied', 0),
        'samples_seen': summary.samples_seen, 'profile': status.profile,
        'enhancement': ', '.join(f'{k}={v}' for k, v in status.overrides.items()) or 'none',
    })


def sample_activity(output: ModelOutput, summary: ModelSummary, dt_ms: float, source: str,
                    learn: bool, compute_s: float, snn_s: float, wait_s: float) -> Status:
    """The 'activity' status of one sample: its ``ActivityReport`` (the activity contract) as
    values. ``snn_s`` (the model's share) is capped at ``compute_s``, the whole sample."""
    report = ActivityReport(
        ops=output.ops, mode='learn' if learn else 'infer', n_inputs=summary.n_inputs,
        n_neurons=summary.n_neurons, dt_ms=dt_ms, compute_seconds=compute_s, source=source,
        snn_seconds=min(snn_s, compute_s), wait_seconds=wait_s, inhibition=summary.inhibition,
        prediction=output.prediction, model=summary.kind)
    return Status(OK, f'{source} sample: prediction {output.prediction}', report.to_values())
