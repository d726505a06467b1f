# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark step 3: the parameter-enhancement rule family searched for each timestep.

With r = T / T0 (< 1 for shortened presentations) a rule maps the T0 parameters to T:

    threshold gap     v_thresh - v_rest        x r^alpha     (alpha > 0: easier to fire)
    reset gap         v_thresh - v_reset       x r^rho       (rho > 0: reset closer to threshold)
    learning rates    nu_pre, nu_post          x r^-beta     (beta > 0: learn faster)
    theta increment   theta_plus               x r^-gamma    (gamma < 0: gentler homeostasis)
    membrane tau      tau_mem                  x r^-mu       (mu > 0: slower leak, so fewer
                                                             input spikes reach threshold)
    input intensity   input_rate_hz            x r^-delta    (delta > 0: more input spikes per
                                                             step, at most one per step)
    event window      event_window_scale       x r^omega     (omega > 0: event input binned
                                                             from a shorter window, at most 1)
    event thinning    event_keep_fraction      x r^kappa     (kappa > 0: fewer of the window's
                                                             events kept, at most all)
    input code        input_coding             'regular' if regular (frames: a deterministic
                                                             rate code with a random phase per
                                                             input instead of Poisson)
    lateral           inhibition               one step after an excitatory spike, directly,
    inhibition                                 if fast_inhibition (instead of two, through
                                               the inhibitory layer; same strength)

Frames are rate-coded, so a shorter T already means fewer input spikes and delta tunes how many.
Event input is different: a fixed time window split into fewer bins keeps (almost) every event
and packs more of them into each step, over-driving the network (measured: 353 excitatory spikes
per sample at T = 50 against 20 at T0). Two ways bring the drive per step back to that of T0:
omega = 1 keeps the bin width (the window shrinks with T, which also shortens the time a robot
waits for a sample, but the sample loses its later events), and kappa = 1 keeps the window and
thins its events to the fraction r (every part of the sample is still seen, sparser; measured on
the N100 validation split at T = 75: 72.5 % against 67.9 % for the short window). The event grid
searches (omega, kappa) where the frame grid searches delta (input_rate_hz does nothing there).

Frames have a third input option: the regular code. Poisson input carries its intensity with a
count noise of sqrt(rate x T), which matters most when T is short; the regular code delivers
rate x T spikes +/- 1. From scratch it learns badly (measured: 54.9 % at T = 50), but a network
pretrained at T0 keeps its accuracy with it at short T with no extra input spikes (N400
weight-dependent, validation split, T = 75: 87.4 % against 84.1 % for Poisson at the same
rate, and 87.6 % for the best Poisson rule, which needs 47 % more input spikes). Where a short
T needs more input than T0's rate gives, the regular code at the raised rate (delta = 0.25) is
as accurate as Poisson at that rate and cheaper to encode (no binomial draw per pixel; N100
weight-dependent, validation split, T = 75: 86.3 % against 84.8 % for the best Poisson rule).

A longer membrane time constant (mu) is the other way, besides a lower threshold (alpha), to
let a neuron reach threshold from the few input spikes of a short T: the leak loses less of each
input between spikes. Measured before it joined the family (N400 pair STDP online, validation
split, five seeds, T = 50, regular code with beta = -1): 87.6 % with T0's 100 ms, 88.1 % with
mu = 0.75 (430 ms), 88.1 % with mu = 1; with alpha = 0.25 added, 87.7 %. So the frame grid
searches mu = 0.75 as an alternative to alpha = 0.25, not combined with it.

Lateral inhibition is the one delay of the network that does not shrink with T: an excitatory
spike silences the others two steps later, 2/350 of a T0 sample and 2/50 of a T = 50 one, so at
short T several neurons cross threshold before it lands, each fires once or twice and all of
them learn the sample (N400 pair STDP, training at T = 50: 7.3 neurons per sample fire, 6.2 at
T0). Inhibition one step after the spike, directly from excitatory neuron to excitatory neuron
as a neuromorphic chip wires it, restores the competition (validation split, five seeds, the
T = 50 rule of the profile shipped before it: 88.5 % against 88.1 %, 4.3 against 10.0
excitatory spikes per training sample; T = 40: 88.1 % against 86.9 %), while at T0 it costs
accuracy (88.0 % against 89.2 %): a short-T enhancement. With T0's two-step delay, direct
inhibition computes exactly what the layer does
(``test_direct_inhibition_with_two_step_delay_equals_inhibitory_layer``), so the only change is
the delay. It is searched on the finalists of each T (``sweep.FINALISTS``), not crossed with
the whole grid.

All coefficients 0 is the identity (the T0 parameters at T). The sweep searches a grid of rules
on a validation split and stores, per T, the overrides of the best one in the profile; perception
applies those overrides whenever the governor changes T.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..snn import NetworkConfig


@dataclass(frozen=True)
class EnhancementRule:
    alpha: float = 0.0
    rho: float = 0.0
    beta: float = 0.0
    gamma: float = 0.0
    mu: float = 0.0
    delta: float = 0.0
    omega: float = 0.0
    kappa: float = 0.0
    regular: bool = False
    fast_inhibition: bool = False

    @property
    def is_identity(self) -> bool:
        return not any(asdict(self).values())

    def label(self) -> str:
        parts = [f'{k}={v:g}' for k, v in asdict(self).items()
                 if v and not isinstance(v, bool)]
        if self.regular:
            parts.append('regular code')
        if self.fast_inhibition:
            parts.append('fast inhibition')
        return ', '.join(parts) or 'T0 parameters'


def overrides(base: NetworkConfig, timesteps: int, rule: EnhancementRule,
              baseline_timesteps: int | None = None) -> dict[str, Any]:
    """Dotted-key overrides that apply ``rule`` at ``timesteps``, for ``replace_params``."""
    T0 = baseline_timesteps or base.timesteps
    r = timesteps / T0
    if rule.is_identity or r == 1.0:
        return {}
    ex, ln = base.excitatory, base.learning
    out: dict[str, Any] = {}
    if rule.alpha:
        gap = (ex.v_thresh_mv - ex.v_rest_mv) * r ** rule.alpha
        out['excitatory.v_thresh_mv'] = ex.v_rest_mv + gap
    thresh = out.get('excitatory.v_thresh_mv', ex.v_thresh_mv)
    if rule.rho or rule.alpha:
        reset_gap = (ex.v_thresh_mv - ex.v_reset_mv) * r ** rule.rho
        out['excitatory.v_reset_mv'] = max(thresh - reset_gap, ex.v_rest_mv - 50.0)
    if rule.beta:
        out['learning.nu_pre'] = ln.nu_pre * r ** -rule.beta
        out['learning.nu_post'] = ln.nu_post * r ** -rule.beta
    if rule.gamma:
        out['excitatory.theta_plus_mv'] = ex.theta_plus_mv * r ** -rule.gamma
    if rule.mu:
        out['excitatory.tau_mem_ms'] = ex.tau_mem_ms * r ** -rule.mu
    if rule.delta:
        max_rate = 1000.0 / base.dt_ms
        out['input_rate_hz'] = min(base.input_rate_hz * r ** -rule.delta, max_rate)
    if rule.omega:
        out['event_window_scale'] = min(base.event_window_scale * r ** rule.omega, 1.0)
    if rule.kappa:
        out['event_keep_fraction'] = min(base.event_keep_fraction * r ** rule.kappa, 1.0)
    out = {k: round(float(v), 9) for k, v in out.items()}
    if rule.regular:
        out['input_coding'] = 'regular'
    if rule.fast_inhibition:
        out.update(direct_inhibition(base, 1))
    return out


def direct_inhibition(base: NetworkConfig, delay_steps: int) -> dict[str, Any]:
    """Overrides for lateral inhibition straight from each excitatory spike to the other
    excitatory neurons ``delay_steps`` later, as strong as ``base``'s (through its inhibitory
    layer the delay is two steps)."""
    inh = base.inhibition
    strength = inh.inh_to_exc_mv if inh.variant == 'layer' else inh.direct_mv
    return {'inhibition.variant': 'direct', 'inhibition.direct_mv': float(strength),
            'inhibition.direct_delay_ms': round(max(1, delay_steps) * base.dt_ms, 9)}


def inhibition_delay_steps(base: NetworkConfig) -> int:
    """Steps from an excitatory spike to the inhibition of the others."""
    inh = base.inhibition
    return 2 if inh.variant == 'layer' else max(1, round(inh.direct_delay_ms / base.dt_ms))


WORKLOADS = ('frames', 'events')
# The input axis of the frame grids, as (delta, regular): T0's rate and code, a higher rate, the
# regular code at T0's rate and at the higher rate.
FRAME_INPUTS = ((0.0, False), (0.25, False), (0.0, True), (0.25, True))
# The input axis of the event grids, as (omega, kappa): all events, a shorter window, thinned
# events, and half of each (full grid only).
EVENT_INPUTS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.75))
EVENT_INPUTS_FULL = EVENT_INPUTS + ((0.5, 0.0), (0.5, 0.5))


def rule_grid(quick: bool = False, small: bool = False,
              workload: str = 'frames') -> list[EnhancementRule]:
    """The rules the sweep tries at each shortened T (the identity first). Frames: 144, the
    threshold (alpha), learning-rate, theta and input axes crossed (96) and the longer
    membrane time constant (mu) in place of the lower threshold (48); 16 if small (the
    coefficients that won most often in the full N400 search); 3 if quick. Events: the input
    axis is the window and thinning (omega, kappa) instead of the rate and code, two
    learning-rate exponents instead of four, no mu: 72, 16 if small, 3 if quick."""
    if workload not in WORKLOADS:
        raise ValueError(f'workload must be one of {WORKLOADS}, got {workload!r}')
    events = workload == 'events'
    if quick:
        third = EnhancementRule(kappa=1.0) if events else EnhancementRule(alpha=0.25)
        return [EnhancementRule(), EnhancementRule(beta=-1.0), third]
    if small:
        inputs = EVENT_INPUTS if events else FRAME_INPUTS
        return [_rule(a, b, 0.0, i, events)
                for b, a, i in itertools.product((0.0, -1.0), (0.0, 0.25), inputs)]
    inputs = EVENT_INPUTS_FULL if events else FRAME_INPUTS
    betas = (0.0, -1.0) if events else (0.0, 0.5, -0.5, -1.0)
    gammas = (0.0, -0.5, 0.5)
    grid = [_rule(a, b, g, i, events)
            for b, a, g, i in itertools.product(betas, (0.0, 0.25), gammas, inputs)]
    if not events:
        grid += [replace(_rule(0.0, b, g, i, False), mu=0.75)
                 for b, g, i in itertools.product(betas, gammas, inputs)]
    return grid


def _rule(alpha: float, beta: float, gamma: float, inputs: Any,
          events: bool) -> EnhancementRule:
    if events:
        omega, kappa = inputs
        return EnhancementRule(alpha=alpha, beta=beta, gamma=gamma, omega=omega, kappa=kappa)
    delta, regular = inputs
    return EnhancementRule(alpha=alpha, beta=beta, gamma=gamma, delta=delta, regular=regular)
