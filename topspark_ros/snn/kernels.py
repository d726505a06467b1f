"""Numba kernels: one sample of the Diehl & Cook network, event-driven, for inference and STDP.

The equations (dt = 1 step, all potentials in mV, see docs/model.md):

    excitatory LIF   v <- v_rest + (v - v_rest) * exp(-dt / tau_mem) + I(t)       (not refractory)
                     spike when v >= v_thresh + theta;  v <- v_reset;  refractory for t_ref
    input current    I(t) = sum_{i spiking at t} W[i, :]  -  lateral inhibition arriving at t
    inhibitory LIF   same form, driven one-to-one by excitatory spikes (exc_to_inh, 1 step delay),
                     inhibits every other excitatory neuron by inh_to_exc one step later
    traces           x(t) = exp(-(t - t_last_spike) / tau_trace)   (jumps to 1 on a spike)
    STDP pair        pre spike i:   W[i, j] -= nu_pre  * x_post[j]
                     post spike j:  W[i, j] += nu_post * x_pre[i]
    weight-dependent depression scaled by (W - w_min), potentiation by (w_max - W)
    adaptive         potentiation of neuron j scaled by n_j / max_k n_k (spikes so far this sample)
    theta            theta_j += theta_plus per spike while learning; decays with tau_theta

Why it is fast: the work follows spikes, not pixels x timesteps. Input spikes are generated as
one binomial count per input placed on random steps (one random number per spike), each input
spike adds one weight row, steps without any input are skipped with a closed-form decay,
traces are evaluated from the last spike time, STDP touches only synapses whose partner has
spiked in this sample, and renormalisation only visits columns that changed. Batches of frames
(``run_rates``) and of event samples (``run_events``) run in one call each.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Indices into the packed float64 parameter vector built by ``network.pack_params``.
P_V_REST = 0
P_V_RESET = 1
P_V_THRESH = 2
P_DECAY_MEM = 3            # exp(-dt / tau_mem)
P_REFRAC_STEPS = 4
P_THETA_PLUS = 5
P_THETA_DECAY_STEP = 6     # exp(-dt / tau_theta)
P_INH_DIRECT = 7           # 0: inhibitory layer, 1: direct lateral inhibition
P_EXC_TO_INH = 8
P_INH_TO_EXC = 9
P_INH_V_REST = 10
P_INH_V_RESET = 11
P_INH_V_THRESH = 12
P_INH_DECAY = 13
P_INH_REFRAC_STEPS = 14
P_DIRECT_MV = 15
P_DIRECT_DELAY_STEPS = 16
P_RULE = 17                # 0 pair, 1 weight-dependent, 2 adaptive potentiation
P_NU_PRE = 18
P_NU_POST = 19
P_DECAY_PRE = 20           # exp(-dt / tau_pre_trace)
P_DECAY_POST = 21
P_W_MIN = 22
P_W_MAX = 23
P_NORM_TOTAL = 24
P_INPUT_CODING = 25        # 0 Poisson (Bernoulli per step), 1 regular (phase-shifted rate code)
P_EVENT_KEEP = 26          # fraction of events kept (event thinning)
N_PARAMS = 27

RULE_PAIR = 0
RULE_WEIGHT_DEPENDENT = 1
RULE_ADAPTIVE = 2

# Columns of the per-sample operation counts.
OP_INPUT_SPIKES = 0
OP_EXC_SPIKES = 1
OP_INH_SPIKES = 2
OP_SYNAPTIC_EVENTS = 3
OP_NEURON_UPDATES = 4
OP_WEIGHT_UPDATES = 5
OP_TIMESTEPS = 6
N_OPS = 7
OP_NAMES = ('input_spikes', 'exc_spikes', 'inh_spikes', 'synaptic_events', 'neuron_updates',
            'weight_updates', 'timesteps')

# Bumped whenever a change alters what the kernels compute (not just how fast): the sweep's
# point cache is keyed by it. 2: event thinning by a golden-ratio sequence.
RESULTS_VERSION = 2

_NEVER = -(1 << 40)        # "last spike time" of a neuron that has not spiked in this sample


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0          # 2**-53
_BINOMIAL_WINDOW = 8                          # CDF values counted without branching
_RETURN_STEPS = 8                             # thinning: return steps tried before a scan


@njit(cache=True, inline='always')
def _splitmix64(state):
    """One step of splitmix64 (Steele et al. 2014): returns (new state, uniform in (0, 1])."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return state, (np.float64(z >> np.uint64(11)) + 1.0) * _TO_UNIT


@njit(cache=True, inline='always')
def thinning_phase(seed, position):
    """Thinning state of the event at ``position`` of a sample with ``seed``: a golden-ratio
    (Weyl) sequence with a per-sample random offset. Event k is kept when the unit value of
    its state is below the keep fraction, and the state of event k + 1 is that of k plus
    ``_GOLDEN``: one addition per event, and a low-discrepancy choice, so any run of events
    keeps very nearly the fraction asked for (as the regular code does for frames). It depends
    on the event's position alone, so a window and a whole packet keep the same events."""
    _, u = _splitmix64(np.uint64(seed))
    return (np.uint64(u * 9007199254740992.0) << np.uint64(11)) + np.uint64(position) * _GOLDEN


@njit(cache=True, inline='always')
def _unit(state):
    return np.float64(state >> np.uint64(11)) * _TO_UNIT


@njit(cache=True)
def kept_events(seed, n, keep):
    """Which of a sample's events 0..n-1 survive thinning to ``keep`` (``encoding.bin_events``;
    ``run_events`` decides the same on the fly)."""
    out = np.empty(n, np.bool_)
    state = thinning_phase(seed, 0)
    for k in range(n):
        out[k] = _unit(state) < keep
        state += _GOLDEN
    return out


@njit(cache=True, nogil=True)
def spike_buffers(n_in, timesteps):
    """Room for the spikes of any sample of ``n_in`` inputs over ``timesteps`` steps (at most
    one per input and step): (input, step) pairs as drawn, the CSR they are sorted into
    (``csr_into``: step_ptr with one spare entry, indices) and the Poisson coder's step marks.
    A batch makes them once, instead of buffers per sample sized by a scan of the frame
    (``docs/topspark.md``, Latency: what that saved)."""
    cap = n_in * timesteps
    return (np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(timesteps + 2, np.int32),
            np.empty(cap, np.int32), np.empty(timesteps, np.int32))


@njit(cache=True, nogil=True)
def poisson_spike_train(prob, timesteps, seed):
    """Bernoulli(prob[i]) spikes per input and step, as CSR (step_ptr[T + 1], indices)."""
    return _spike_train(prob, timesteps, seed, False)


@njit(cache=True, nogil=True)
def regular_spike_train(prob, timesteps, seed):
    """``regular_spikes_into`` as CSR (step_ptr[T + 1], indices)."""
    return _spike_train(prob, timesteps, seed, True)


@njit(cache=True, nogil=True)
def _spike_train(prob, timesteps, seed, regular):
    """One sample's spikes (``encode_into``) in buffers of their own, as CSR copies."""
    buffers = spike_buffers(prob.shape[0], timesteps)
    step_ptr, indices = csr_into(buffers, encode_into(prob, timesteps, seed, regular, buffers),
                                 timesteps)
    return step_ptr.copy(), indices.copy()


@njit(cache=True, nogil=True)
def encode_into(prob, timesteps, seed, regular, buffers):
    """The regular or the Poisson code of one sample into ``buffers``; returns how many
    spikes."""
    if regular:
        return regular_spikes_into(prob, timesteps, seed, buffers)
    return poisson_spikes_into(prob, timesteps, seed, buffers)


@njit(cache=True, nogil=True)
def poisson_spikes_into(prob, timesteps, seed, buffers):
    """Draw Bernoulli(prob[i]) spikes per input and step into ``buffers`` (``spike_buffers``)
    as (input, step) pairs, inputs ascending; returns how many.

    A Bernoulli process over T steps is a Binomial(T, p) spike count placed on a uniformly random
    subset of the steps, so each input costs one binomial draw (by inversion) and each spike one
    random number (splitmix64, seeded per sample), instead of one per input per step.
    """
    pix, step, _, _, stamp = buffers
    state = np.uint64(seed)
    T = timesteps
    for t in range(T):
        stamp[t] = 0                            # stamp[t] == i + 1: step t taken for input i
    n = 0
    for i in range(prob.shape[0]):
        p = prob[i]
        if not p > 0.0:
            continue
        state, k = _binomial(state, T, p)
        if k == 0:
            continue
        mark = i + 1
        if 2 * k <= T:                          # draw the k spike steps
            placed = 0
            while placed < k:
                state, u = _splitmix64(state)
                t = min(int(u * T), T - 1)
                if stamp[t] != mark:
                    stamp[t] = mark
                    pix[n] = i
                    step[n] = t
                    n += 1
                    placed += 1
        else:                                   # draw the T - k silent steps instead
            placed = 0
            while placed < T - k:
                state, u = _splitmix64(state)
                t = min(int(u * T), T - 1)
                if stamp[t] != mark:
                    stamp[t] = mark
                    placed += 1
            for t in range(T):
                if stamp[t] != mark:
                    pix[n] = i
                    step[n] = t
                    n += 1
    return n


@njit(cache=True, nogil=True)
def regular_spikes_into(prob, timesteps, seed, buffers):
    """Deterministic rate code with a random phase per input: input i spikes whenever
    ``prob[i] * t + phase_i`` crosses an integer, so its count over T steps is ``prob[i] * T``
    +/- 1 instead of Poisson's +/- sqrt(prob[i] * T). Fewer timesteps then carry the same
    evidence with far less noise (a TopSpark enhancement candidate for short T). Writes
    (input, step) pairs into ``buffers`` (``spike_buffers``), inputs ascending; returns how
    many."""
    pix, step, _, _, _ = buffers
    state = np.uint64(seed)
    T = timesteps
    n = 0
    for i in range(prob.shape[0]):
        p = min(prob[i], 1.0)
        if not p > 0.0:
            continue
        state, phase = _splitmix64(state)       # in (0, 1]
        k = 1
        while True:                             # k-th crossing: p * (t + 1) + phase >= k
            x = np.ceil((k - phase) / p - 1.0)
            if x >= T:                          # compared before int(): a tiny p overflows it
                break
            t = int(x)
            if t >= 0:
                pix[n] = i
                step[n] = t
                n += 1
            k += 1
    return n


@njit(cache=True)
def _binomial(state, T, p):
    """Draw from Binomial(T, p) by inverting its CDF; returns (new rng state, count)."""
    if p >= 1.0:
        return state, T
    q = 1.0 - p
    pk = q ** T
    if pk < 1e-280:                             # pmf(0) underflows: count Bernoulli steps
        k = 0
        for _ in range(T):
            state, u = _splitmix64(state)
            k += u <= p
        return state, k
    state, u = _splitmix64(state)
    cdf = pk
    ratio = p / q
    # The count is the number of CDF values below u. Counting over a fixed window of the first
    # _BINOMIAL_WINDOW values has no data-dependent branch (at short T a pixel's count is
    # almost always inside it; the loop's unpredictable exit cost more than the arithmetic),
    # and the CDF is built by the same operations in the same order, so the count is exactly
    # the loop's. Counts beyond the window continue in the loop.
    window = min(T, _BINOMIAL_WINDOW)
    k = 0
    for j in range(window):
        k += u > cdf
        pk *= ratio * (T - j) / (j + 1)
        cdf += pk
    if k == window:
        while u > cdf and k < T:
            pk *= ratio * (T - k) / (k + 1)
            k += 1
            cdf += pk
    return state, k


@njit(cache=True)
def grow(a, cap):
    """A copy of ``a`` with room for ``cap`` elements (amortised appends inside kernels)."""
    b = np.empty(cap, a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def csr_into(buffers, n, timesteps):
    """Counting sort of the first ``n`` (input, step) pairs of ``buffers`` by step, inputs in
    their order per step; returns views (step_ptr[T + 1], indices[n]) of the buffers.

    Counts go one entry ahead (step_ptr[t + 2]) so that after the prefix sum step_ptr[t + 1] is
    where step t starts; placing a spike advances it, leaving step_ptr[t + 1] where step t + 1
    starts: the CSR, with no separate fill pointers."""
    pix, step, step_ptr, indices, _ = buffers
    T = timesteps
    for t in range(T + 2):
        step_ptr[t] = 0
    for k in range(n):
        step_ptr[step[k] + 2] += 1
    for t in range(1, T + 1):
        step_ptr[t + 1] += step_ptr[t]
    for k in range(n):
        t = step[k] + 1
        indices[step_ptr[t]] = pix[k]
        step_ptr[t] += 1
    return step_ptr[:T + 1], indices[:n]


@njit(cache=True)
def bin_events_csr(index, step, n_inputs, timesteps):
    """CSR input spikes from event (input index, step) pairs; events outside [0, timesteps) or
    [0, n_inputs) are dropped and repeats of an input within a step merge (first one kept).

    A stable counting sort by step, O(events + timesteps): most of a sample's events can lie
    outside a shortened window, and a comparison sort of all of them cost more than the
    simulation (measured on emulated N-MNIST-like samples).
    """
    n = index.shape[0]
    start = np.zeros(timesteps + 1, np.int64)
    for k in range(n):
        t = step[k]
        i = index[k]
        if t >= 0 and t < timesteps and i >= 0 and i < n_inputs:
            start[t + 1] += 1
    for t in range(timesteps):
        start[t + 1] += start[t]
    order = np.empty(start[timesteps], np.int64)
    fill = start[:-1].copy()
    for k in range(n):
        t = step[k]
        i = index[k]
        if t >= 0 and t < timesteps and i >= 0 and i < n_inputs:
            order[fill[t]] = k
            fill[t] += 1
    seen = np.full(n_inputs, -1, np.int64)
    step_ptr = np.zeros(timesteps + 1, np.int32)
    indices = np.empty(order.shape[0], np.int32)
    m = 0
    for t in range(timesteps):
        for q in range(start[t], start[t + 1]):
            i = index[order[q]]
            if seen[i] != t:
                seen[i] = t
                indices[m] = i
                m += 1
        step_ptr[t + 1] = m
    return step_ptr, indices[:m]


@njit(cache=True)
def _powers(base, n):
    out = np.empty(n + 1, np.float32)
    x = 1.0
    for k in range(n + 1):
        out[k] = x
        x *= base
    return out


@njit(cache=True, nogil=True)
def simulate(w, theta, step_ptr, indices, timesteps, params, learn, counts, ops):
    """Run one sample for ``timesteps`` steps; write spike counts per neuron and operation counts.

    ``w`` (inputs x neurons, float32) and ``theta`` (float32) are updated in place when ``learn``.
    State (potentials, traces, refractoriness) starts fresh; thresholds persist across samples.
    A batch makes its ``scratch`` once and calls ``simulate_in`` per sample.
    """
    simulate_in(w, theta, step_ptr, indices, timesteps, params, learn, counts, ops,
                scratch(w.shape[0], w.shape[1], timesteps, params))


@njit(cache=True, nogil=True)
def scratch(n_in, n_exc, timesteps, params):
    """The working arrays of ``simulate_in`` for one network size, T and ``params``: decay
    tables, then per-neuron and per-input state at rest. Made once per batch instead of per
    sample (N100 frames, inference: 11.5 -> 11.3 us per sample at T = 50, 48.7 -> 47.2 at
    T = 350). Every sample leaves the state arrays at rest again."""
    T = timesteps
    direct = params[P_INH_DIRECT] > 0.5
    inh_delay = int(params[P_DIRECT_DELAY_STEPS]) if direct else 2
    return (_powers(params[P_DECAY_MEM], T), _powers(params[P_DECAY_PRE], T),
            _powers(params[P_DECAY_POST], T), _powers(params[P_INH_DECAY], T + 1),
            np.empty(n_exc, np.float32),            # v
            np.empty(n_exc, np.float32),            # thresh
            np.zeros(n_exc, np.int64),              # refrac_end
            np.full(n_exc, _NEVER, np.int64),       # last_post
            np.full(n_in, _NEVER, np.int64),        # last_pre
            np.empty(n_in, np.int32),               # active_pre
            np.empty(n_exc, np.int32),              # active_post
            np.full(n_exc, params[P_INH_V_REST]),   # inh_v
            np.zeros(n_exc, np.int64),              # inh_t
            np.zeros(n_exc, np.int64),              # inh_refrac_end
            np.zeros(T + inh_delay + 1, np.float32),  # inh_total
            np.empty(n_exc, np.int32),              # refrac_ids
            np.empty(n_exc, np.float32),            # refrac_v
            np.empty(n_exc, np.int32),              # spiked
            np.empty(64, np.int64),                 # self_step
            np.empty(64, np.int32),                 # self_id
            np.empty(n_in, np.float32),             # pre_trace
            np.empty(n_exc, np.float32))            # depression


@njit(cache=True, nogil=True)
def simulate_in(w, theta, step_ptr, indices, timesteps, params, learn, counts, ops, work):
    """``simulate`` with the working arrays ``work`` of ``scratch(n_in, n_exc, timesteps,
    params)``, which it leaves at rest for the next sample."""
    n_in, n_exc = w.shape
    T = timesteps
    v_rest = np.float32(params[P_V_REST])
    v_reset = np.float32(params[P_V_RESET])
    v_thresh = np.float32(params[P_V_THRESH])
    refrac = int(params[P_REFRAC_STEPS])
    theta_plus = np.float32(params[P_THETA_PLUS])
    direct = params[P_INH_DIRECT] > 0.5
    rule = int(params[P_RULE])
    nu_pre = np.float32(params[P_NU_PRE])
    nu_post = np.float32(params[P_NU_POST])
    w_min = np.float32(params[P_W_MIN])
    w_max = np.float32(params[P_W_MAX])
    inh_rest = params[P_INH_V_REST]
    inh_reset = params[P_INH_V_RESET]
    inh_thresh = params[P_INH_V_THRESH]
    inh_refrac = int(params[P_INH_REFRAC_STEPS])
    if direct:
        inh_amount = np.float32(params[P_DIRECT_MV])
        inh_delay = int(params[P_DIRECT_DELAY_STEPS])
    else:
        inh_amount = np.float32(params[P_INH_TO_EXC])
        inh_delay = 2           # exc -> inh (1 step), inh -> exc (1 step)

    (decay_mem, decay_pre, decay_post, inh_decay, v, thresh, refrac_end, last_post, last_pre,
     active_pre, active_post, inh_v, inh_t, inh_refrac_end, inh_total, refrac_ids, refrac_v,
     spiked, self_step, self_id, pre_trace, depression) = work
    for j in range(n_exc):
        v[j] = v_rest
        thresh[j] = v_thresh + theta[j]
        counts[j] = 0
    # refrac_end is read only for neurons that spiked in this sample (they set it first).
    n_active_pre = 0                            # inputs that spiked in this sample
    n_active_post = 0                           # excitatory neurons that spiked in this sample
    max_count = 0
    # Inhibitory layer (inh_v, inh_t, inh_refrac_end), updated only when driven; inhibition in
    # flight: total per arrival step (inh_total), plus (step, neuron) pairs to exclude self.
    cap = self_step.shape[0]
    n_self = 0
    self_next = 0
    exc_spikes = 0
    inh_spikes = 0
    weight_updates = 0
    valid_at = -1                               # v holds its value after step valid_at

    for t in range(T):
        a = step_ptr[t]
        b = step_ptr[t + 1]
        if a == b and inh_total[t] == 0.0:
            continue                            # nothing drives the layer: decay lazily
        f = np.float32(decay_mem[t - valid_at])
        valid_at = t
        # Neurons in their refractory period receive no input: remember their decayed value.
        n_ref = 0
        for k in range(n_active_post):
            j = active_post[k]
            if refrac_end[j] > t:
                refrac_ids[n_ref] = j
                refrac_v[n_ref] = v_rest + (v[j] - v_rest) * f
                n_ref += 1
        amount = inh_total[t]
        integrate(v, w, indices, a, b, f, v_rest * (np.float32(1.0) - f) - amount)
        if learn:
            for e in range(a, b):
                i = indices[e]
                if last_pre[i] == _NEVER:
                    active_pre[n_active_pre] = i
                    n_active_pre += 1
                last_pre[i] = t
        if amount != 0.0:
            while self_next < n_self and self_step[self_next] == t:
                v[self_id[self_next]] += inh_amount
                self_next += 1
        for k in range(n_ref):
            v[refrac_ids[k]] = refrac_v[k]

        n_spiked = 0
        for j in range(n_exc):
            n_spiked += v[j] >= thresh[j]       # vectorised count; spikes are rare
        if n_spiked > 0:
            n_spiked = 0
            for j in range(n_exc):
                if v[j] >= thresh[j]:
                    spiked[n_spiked] = j
                    n_spiked += 1
        if learn and n_spiked > 0:
            # The traces of this step's potentiation: read once, used by every neuron that
            # spiked in the step.
            for k2 in range(n_active_pre):
                pre_trace[k2] = decay_pre[t - last_pre[active_pre[k2]]]
        for k in range(n_spiked):
            j = spiked[k]
            v[j] = v_reset
            refrac_end[j] = t + 1 + refrac
            if last_post[j] == _NEVER:
                active_post[n_active_post] = j
                n_active_post += 1
            last_post[j] = t
            counts[j] += 1
            exc_spikes += 1
            if counts[j] > max_count:
                max_count = counts[j]
            # Lateral inhibition: through the inhibitory neuron j, or directly.
            arrive = -1
            if direct:
                arrive = t + inh_delay
            else:
                ti = t + 1
                vi = inh_rest + (inh_v[j] - inh_rest) * inh_decay[ti - inh_t[j]]
                if ti >= inh_refrac_end[j]:
                    vi += params[P_EXC_TO_INH]
                    if vi >= inh_thresh and ti < T:
                        vi = inh_reset
                        inh_refrac_end[j] = ti + 1 + inh_refrac
                        inh_spikes += 1
                        arrive = t + 2
                inh_v[j] = vi
                inh_t[j] = ti
            if arrive >= 0 and arrive < T and inh_amount != 0.0:
                inh_total[arrive] += inh_amount
                if n_self == cap:
                    cap *= 2
                    self_step = grow(self_step, cap)
                    self_id = grow(self_id, cap)
                self_step[n_self] = arrive
                self_id[n_self] = j
                n_self += 1
            if learn:
                theta[j] += theta_plus
                thresh[j] = v_thresh + theta[j]
                # Potentiation: every input that has spiked in this sample, by its trace.
                eta = nu_post
                if rule == RULE_ADAPTIVE:
                    eta = nu_post * np.float32(counts[j]) / np.float32(max_count)
                for k2 in range(n_active_pre):
                    i = active_pre[k2]
                    dw = eta * pre_trace[k2]
                    if rule == RULE_WEIGHT_DEPENDENT:
                        dw *= w_max - w[i, j]
                    w[i, j] = min(w[i, j] + dw, w_max)
                weight_updates += n_active_pre
        if learn and n_active_post > 0 and nu_pre != 0.0 and b > a:
            # Depression: each input spiking now, against every neuron that has spiked so far,
            # by that neuron's trace (the same for every input of the step: computed once).
            for k in range(n_active_post):
                depression[k] = nu_pre * decay_post[t - last_post[active_post[k]]]
            for e in range(a, b):
                i = indices[e]
                for k in range(n_active_post):
                    j = active_post[k]
                    dw = depression[k]
                    if rule == RULE_WEIGHT_DEPENDENT:
                        dw *= w[i, j] - w_min
                    w[i, j] = max(w[i, j] - dw, w_min)
                weight_updates += n_active_post

    if learn:
        theta_decay = np.float32(params[P_THETA_DECAY_STEP] ** T)
        for j in range(n_exc):
            theta[j] *= theta_decay
        norm_total = params[P_NORM_TOTAL]
        if norm_total > 0.0:
            weight_updates += normalize_columns(w, active_post, n_active_post, norm_total)

    # Back to rest for the next sample: only what this one touched.
    for k in range(n_active_pre):
        last_pre[active_pre[k]] = _NEVER
    for k in range(n_active_post):
        j = active_post[k]
        last_post[j] = _NEVER
        inh_v[j] = inh_rest
        inh_t[j] = 0
        inh_refrac_end[j] = 0
    for k in range(inh_total.shape[0]):
        inh_total[k] = 0.0

    n_syn = (step_ptr[T] - step_ptr[0]) * n_exc
    n_upd = n_exc * T
    if direct:
        n_syn += exc_spikes * (n_exc - 1)
    else:
        n_syn += exc_spikes + inh_spikes * (n_exc - 1)
        n_upd += n_exc * T
    ops[OP_INPUT_SPIKES] = step_ptr[T] - step_ptr[0]
    ops[OP_EXC_SPIKES] = exc_spikes
    ops[OP_INH_SPIKES] = inh_spikes
    ops[OP_SYNAPTIC_EVENTS] = n_syn
    ops[OP_NEURON_UPDATES] = n_upd
    ops[OP_WEIGHT_UPDATES] = weight_updates
    ops[OP_TIMESTEPS] = T


@njit(cache=True)
def integrate(v, w, indices, a, b, f, c):
    """v <- v * f + c + the sum of rows w[indices[a:b]]: decay, constant input and the weight rows
    of this step's input spikes, up to four rows per pass over v (fewer loads and stores).

    Rows are read as w[i, j], not through row views: each view of w is reference-counted, and
    those counts cost more than the additions (same sums; benchmarks/bench_engine.py, inference
    at T = 350: N100 82 -> 50 us per sample, N400 116 -> 90)."""
    n = v.shape[0]
    m = min(b - a, 4)
    if m == 0:
        for j in range(n):
            v[j] = v[j] * f + c
    elif m == 1:
        i0 = indices[a]
        for j in range(n):
            v[j] = v[j] * f + c + w[i0, j]
    elif m == 2:
        i0, i1 = indices[a], indices[a + 1]
        for j in range(n):
            v[j] = v[j] * f + c + (w[i0, j] + w[i1, j])
    elif m == 3:
        i0, i1, i2 = indices[a], indices[a + 1], indices[a + 2]
        for j in range(n):
            v[j] = v[j] * f + c + (w[i0, j] + w[i1, j] + w[i2, j])
    else:
        i0, i1, i2, i3 = indices[a], indices[a + 1], indices[a + 2], indices[a + 3]
        for j in range(n):
            v[j] = v[j] * f + c + ((w[i0, j] + w[i1, j]) + (w[i2, j] + w[i3, j]))
    k = a + m
    while k < b:
        m = min(b - k, 4)
        if m == 1:
            i0 = indices[k]
            for j in range(n):
                v[j] += w[i0, j]
        elif m == 2:
            i0, i1 = indices[k], indices[k + 1]
            for j in range(n):
                v[j] += w[i0, j] + w[i1, j]
        elif m == 3:
            i0, i1, i2 = indices[k], indices[k + 1], indices[k + 2]
            for j in range(n):
                v[j] += w[i0, j] + w[i1, j] + w[i2, j]
        else:
            i0, i1, i2, i3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
            for j in range(n):
                v[j] += (w[i0, j] + w[i1, j]) + (w[i2, j] + w[i3, j])
        k += m


@njit(cache=True)
def normalize_columns(w, cols, n_cols, total):
    """``normalize_column`` for columns cols[:n_cols], four at a time: the columns are strided
    in memory and each sum is a chain of dependent additions, so four independent chains per
    pass over the rows run about a third faster. Each column's sum keeps its order (rows
    ascending), so the result is exactly that of one column at a time. Returns the writes."""
    n_in = w.shape[0]
    k = 0
    while k + 4 <= n_cols:
        j0, j1, j2, j3 = cols[k], cols[k + 1], cols[k + 2], cols[k + 3]
        s0 = s1 = s2 = s3 = 0.0
        for i in range(n_in):
            s0 += w[i, j0]
            s1 += w[i, j1]
            s2 += w[i, j2]
            s3 += w[i, j3]
        c0, c1, c2, c3 = (_norm_scale(total, s0), _norm_scale(total, s1),
                          _norm_scale(total, s2), _norm_scale(total, s3))
        for i in range(n_in):
            w[i, j0] *= c0
            w[i, j1] *= c1
            w[i, j2] *= c2
            w[i, j3] *= c3
        k += 4
    while k < n_cols:
        normalize_column(w, cols[k], total)
        k += 1
    return n_in * n_cols


@njit(cache=True, inline='always')
def _norm_scale(total, s):
    """The factor a column with sum s is scaled by (1: an all-zero column stays as it is)."""
    return np.float32(total / s) if s > 0.0 else np.float32(1.0)


@njit(cache=True)
def normalize_column(w, j, total):
    """Scale column j of w to sum ``total`` (Diehl & Cook's per-neuron weight normalisation)."""
    n_in = w.shape[0]
    s = 0.0
    for i in range(n_in):
        s += w[i, j]
    if s > 0.0:
        scale = np.float32(total / s)
        for i in range(n_in):
            w[i, j] *= scale
    return n_in


@njit(cache=True, nogil=True)
def run_rates(w, theta, prob, timesteps, params, learn, seeds, counts, ops):
    """Encode (Poisson or regular) and simulate a batch of samples (rows of ``prob``: spike
    probability per step, i.e. rate x dt)."""
    regular = params[P_INPUT_CODING] > 0.5
    work = scratch(w.shape[0], w.shape[1], timesteps, params)
    buffers = spike_buffers(prob.shape[1], timesteps)
    for s in range(prob.shape[0]):
        n = encode_into(prob[s], timesteps, seeds[s], regular, buffers)
        step_ptr, indices = csr_into(buffers, n, timesteps)
        simulate_in(w, theta, step_ptr, indices, timesteps, params, learn, counts[s], ops[s],
                    work)


@njit(cache=True, nogil=True)
def _event_step(t, t0, span, timesteps):
    return np.int64(np.floor((t - t0) / span * timesteps))


@njit(cache=True, nogil=True, inline='always')
def _bad_event(x, i, n_in):
    """An event no window may bin: a non-finite time (x - x is NaN for NaN and +-inf) or an
    input index >= n_in. Without a branch, so loops over it vectorise."""
    return (x - x != 0.0) | (i >= n_in)


@njit(cache=True, nogil=True)
def _count_bad_events(t, index, n_in):
    """How many events are bad (``_bad_event``): counted without a branch, which vectorises
    (a loop that stops at the first bad event does not)."""
    n_bad = 0
    for k in range(t.shape[0]):
        n_bad += np.int64(_bad_event(t[k], index[k], n_in))
    return n_bad


@njit(cache=True, nogil=True)
def sorted_event_windows(t, offsets, t0, span, timesteps, first, end):
    """The events each sample's window can bin (``first[s]:end[s]``) when t ascends within
    every sample (as cameras send them) and span > 0: found by binary search, so a shortened
    window reads and bins fewer events; the events it skips could not land in a bin anyway."""
    for s in range(offsets.shape[0] - 1):
        a = offsets[s] + np.searchsorted(t[offsets[s]:offsets[s + 1]], t0)
        lo, hi = a, offsets[s + 1]              # first event whose step is >= timesteps
        while lo < hi:
            mid = (lo + hi) // 2
            if _event_step(t[mid], t0, span, timesteps) >= timesteps:
                hi = mid
            else:
                lo = mid + 1
        first[s] = a
        end[s] = lo


@njit(cache=True, nogil=True)
def first_bad_event(index, t, offsets, n_in):
    """-1, or the position of the first bad event (``_bad_event``) of samples
    offsets[0]:offsets[-1]."""
    if offsets.shape[0] < 2:
        return -1
    a = offsets[0]
    e = offsets[offsets.shape[0] - 1]
    if _count_bad_events(t[a:e], index[a:e], n_in) > 0:
        for k in range(a, e):
            if _bad_event(t[k], index[k], n_in):
                return k
    return -1


@njit(cache=True, nogil=True)
def _keep_bound(keep):
    """Thinning keeps the events whose state is below this bound: exactly ``_unit(state) <
    keep`` (state >> 11 is below keep * 2**53 exactly when it is below its ceiling)."""
    return np.uint64(np.ceil(keep * 9007199254740992.0)) << np.uint64(11)


@njit(cache=True, nogil=True)
def _return_steps(bound, limit):
    """The steps d (ascending, below ``limit``) after which a kept event can be followed by
    another: those whose state increment d * _GOLDEN lies within ``bound`` of zero around the
    circle; every other d moves a kept state out of [0, bound). The first of them that lands
    is the next kept event (for a rotation, one of the first three: Slater's three-gap
    theorem), so thinning reads only the events it keeps."""
    steps = np.empty(_RETURN_STEPS, np.int64)
    deltas = np.empty(_RETURN_STEPS, np.uint64)
    n = 0
    d = 1
    delta = _GOLDEN
    while n < _RETURN_STEPS and d < limit:
        if delta < bound or np.uint64(0) - delta < bound:
            steps[n] = d
            deltas[n] = delta
            n += 1
        d += 1
        delta += _GOLDEN
    return steps[:n], deltas[:n]


@njit(cache=True, nogil=True)
def sorted_events_csr(index, t, a, e, t0, span, n_in, timesteps, keep, phase):
    """``bin_events_csr`` for events a:e in time order (``sorted_events_into``): returns
    (step_ptr, indices, position of the first bad event read or -1); after a bad event,
    step_ptr and indices hold nothing meaningful."""
    step_ptr = np.empty(timesteps + 1, np.int32)
    indices = np.empty(e - a, np.int32)
    m, bad = sorted_events_into(index, t, a, e, t0, span, n_in, timesteps, keep, phase,
                                step_ptr, indices)
    return step_ptr, indices[:m], bad


@njit(cache=True, nogil=True)
def sorted_events_into(index, t, a, e, t0, span, n_in, timesteps, keep, phase, step_ptr,
                       indices):
    """``bin_events_csr`` for events a:e in time order, whose steps therefore ascend: one pass,
    no sort (the same CSR: repeats of an input within a step merge, the first one kept),
    written into ``step_ptr`` (timesteps + 1) and ``indices`` (room for e - a).
    With ``keep`` < 1 the events are thinned on the way (``thinning_phase``: event a's), and
    only the kept ones are read: from one kept event to the next by ``_return_steps``.
    Every event read is checked on the way: returns (spikes written, -1), or (0, the position
    of the first bad event read, ``_bad_event``)."""
    seen = np.full(n_in, -1, np.int64)
    step_ptr[0] = 0
    m = 0
    current = 0
    k = a
    state = np.uint64(phase)
    bound = np.uint64(0)
    thin = keep < 1.0
    if thin:
        bound = _keep_bound(keep)
        steps, deltas = _return_steps(bound, e - a)
        while k < e and state >= bound:         # the window's first kept event
            k += 1
            state += _GOLDEN
    else:
        steps = np.empty(0, np.int64)
        deltas = np.empty(0, np.uint64)
    while k < e:
        i = index[k]
        x = t[k]
        if _bad_event(x, i, n_in):
            return 0, k
        step = _event_step(x, t0, span, timesteps)
        if i >= 0 and step >= 0 and step < timesteps:
            while current < step:
                current += 1
                step_ptr[current] = m
            if seen[i] != step:
                seen[i] = step
                indices[m] = i
                m += 1
        if not thin:
            k += 1
            continue
        # The next kept event: the first return step that lands below the bound, or past
        # every return step tried, a scan (exact either way).
        c = 0
        while c < steps.shape[0] and state + deltas[c] >= bound:
            c += 1
        if c < steps.shape[0]:
            k += steps[c]
            state += deltas[c]
            continue
        skip = steps[c - 1] + 1 if c > 0 else 1
        k += skip
        state += np.uint64(skip) * _GOLDEN
        while k < e and state >= bound:
            k += 1
            state += _GOLDEN
    while current < timesteps:
        current += 1
        step_ptr[current] = m
    return m, -1


@njit(cache=True, nogil=True)
def run_events(w, theta, index, t, offsets, t0, span, timesteps, params, learn, time_sorted,
               seeds, counts, ops):
    """Bin and simulate a batch of event samples: sample s holds events offsets[s] to
    offsets[s + 1], each an input ``index`` (-1: none) at time ``t``; its window [t0, t0 + span)
    is split into ``timesteps`` equal bins, as ``encoding.bin_events`` does one sample.

    Every event the batch reads is checked before any sample runs: returns -1, or the position
    of a bad event (non-finite time, input index >= n_in), in which case nothing was simulated
    or learned. With a keep fraction below 1 (``P_EVENT_KEEP``) the read events are thinned
    (``thinning_phase``, with the sample's seed from ``seeds``).
    """
    if time_sorted and span > 0:
        return _run_sorted_events(w, theta, index, t, offsets, t0, span, timesteps, params,
                                  learn, seeds, counts, ops)
    n_in = w.shape[0]
    keep = params[P_EVENT_KEEP]
    bad = first_bad_event(index, t, offsets, n_in)
    if bad >= 0:
        return bad
    work = scratch(n_in, w.shape[1], timesteps, params)
    for s in range(offsets.shape[0] - 1):
        a = offsets[s]
        read = index[a:offsets[s + 1]]
        if keep < 1.0:                          # thinning: dropped events leave the sensor
            kept = kept_events(seeds[s], read.shape[0], keep)
            read = np.where(kept, read, -1)
        step = np.zeros(read.shape[0], np.int64)
        if span > 0:
            for k in range(step.shape[0]):
                step[k] = _event_step(t[a + k], t0, span, timesteps)
        step_ptr, indices = bin_events_csr(read, step, n_in, timesteps)
        simulate_in(w, theta, step_ptr, indices, timesteps, params, learn, counts[s], ops[s],
                    work)
    return -1


@njit(cache=True, nogil=True)
def _run_sorted_events(w, theta, index, t, offsets, t0, span, timesteps, params, learn, seeds,
                       counts, ops):
    """``run_events`` for events in time order: every sample's window (``sorted_event_windows``)
    is binned first, which checks exactly the events binning reads (with thinning, the kept
    ones: one pass over the window instead of a check pass and a binning pass; N100 on
    emulated digits at T = 50, 29 -> 25.5 us per inference sample), then they are simulated."""
    n_in = w.shape[0]
    keep = params[P_EVENT_KEEP]
    n = offsets.shape[0] - 1
    first = np.empty(n, np.int64)
    end = np.empty(n, np.int64)
    sorted_event_windows(t, offsets, t0, span, timesteps, first, end)
    start = np.zeros(n + 1, np.int64)           # sample s's spikes: indices[start[s]:]
    for s in range(n):
        start[s + 1] = start[s] + end[s] - first[s]
    step_ptr = np.empty((n, timesteps + 1), np.int32)
    indices = np.empty(start[n], np.int32)
    spikes = np.empty(n, np.int64)
    for s in range(n):
        a = first[s]
        phase = thinning_phase(seeds[s], a - offsets[s]) if keep < 1.0 else np.uint64(0)
        spikes[s], bad = sorted_events_into(index, t, a, end[s], t0, span, n_in, timesteps,
                                            keep, phase, step_ptr[s],
                                            indices[start[s]:start[s + 1]])
        if bad >= 0:
            return bad
    work = scratch(n_in, w.shape[1], timesteps, params)
    for s in range(n):
        simulate_in(w, theta, step_ptr[s], indices[start[s]:start[s] + spikes[s]], timesteps,
                    params, learn, counts[s], ops[s], work)
    return -1


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel on a tiny input, so timings that
    follow measure the simulation, not the JIT."""
    from .config import NetworkConfig
    from .network import pack_params

    params = pack_params(NetworkConfig(n_neurons=2, input_shape=(2, 2)))
    w = np.full((4, 2), 0.5, np.float32)
    theta = np.zeros(2, np.float32)
    prob = np.full((1, 4), 0.5)
    counts = np.zeros((1, 2), np.int32)
    ops = np.zeros((1, N_OPS), np.int64)
    for learn in (False, True):
        run_rates(w, theta, prob, 4, params, learn, np.zeros(1, np.int64), counts, ops)
    bin_events_csr(np.zeros(1, np.int64), np.zeros(1, np.int64), 4, 4)
    for learn in (False, True):
        for time_sorted in (False, True):
            run_events(w, theta, np.zeros(1, np.int64), np.zeros(1), np.array([0, 1]), 0.0,
                       1.0, 4, params, learn, time_sorted, np.zeros(1, np.int64), counts, ops)
    kept_events(0, 1, 0.5)
