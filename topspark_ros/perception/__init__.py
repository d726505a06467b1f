# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Perception without ROS: the model service (file rules, profile per T), event windows, the
callback-to-worker hand-off, the parameter table and settings, and the diagnostics' content.
``topspark_ros.nodes.perception`` wires them to topics."""

from .events import EventRejected, EventStream, EventWindow
from .inbox import Arrival, Batch, Inbox
from .service import FALLBACKS, ModelFiles, ModelService, ModelStartError, SaveResult
from .settings import (apply_changes, check_changes, check_timesteps_command,
                       DEFAULT_MAX_PIXELS, open_service, parameter_specs, ParameterSpec, Refusal,
                       Settings)
from .status import input_status, model_status, sample_activity, Status

__all__ = ['apply_changes', 'Arrival', 'Batch', 'check_changes', 'check_timesteps_command',
           'EventRejected', 'EventStream', 'EventWindow', 'FALLBACKS', 'Inbox', 'input_status',
           'model_status', 'ModelFiles', 'ModelService', 'ModelStartError', 'open_service',
           'parameter_specs', 'ParameterSpec', 'Refusal', 'sample_activity', 'SaveResult',
           'Settings', 'Status',
           'DEFAULT_MAX_PIXELS']
