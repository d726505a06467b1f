# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
r"""The spiking deep network in snnTorch beside ours: same weights, same T, one sample at a time.

    bash benchmarks/peers/setup_nir_peers.sh          # snnTorch 1.0.0 on CPU torch 2.13.0
    PYTHONPATH=. .venv-nir-peers/bin/python benchmarks/peers/snntorch_deep_peer.py \\
        config/model_deep_cnn.npz --timesteps 10 200

Both simulators run in this process on the same held-out digits, single-threaded (torch with
one thread, under ``torch.no_grad``): microseconds per sample and accuracy, and the ratio. The
snnTorch network is the converted one as snnTorch runs it: ``Conv2d``/``Linear`` with our
weights, ``snn.Leaky`` neurons (beta = exp(-dt / tau_rc), threshold v_th, reset to zero,
driven by (1 - beta) J so that the membrane follows the same equation as ours), spikes
scaled by amplitude / dt into the next layer, the readout layer's input averaged over T;
snnTorch has no refractory period and no exact spike timing, so with the ``exact`` stepping
its accuracy can differ (with ``discrete``, the shipped CNN's, it is the same network).
Both sides run the profile's constants for that T when --profile is given (rate gain,
threshold, initial membrane voltage).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
import statistics
import time

import numpy as np
import snntorch as snn
import torch

from topspark_ros.datasets import mnist_5k
from topspark_ros.deep.checkpoint import load_deep_checkpoint
from topspark_ros.deep.config import replace_params
from topspark_ros.deep.network import Simulator
from topspark_ros.topspark import load_profile


class SnnTorchNetwork(torch.nn.Module):
    """Our converted network's layers as torch modules with snnTorch Leaky neurons."""

    def __init__(self, network, config) -> None:
        super().__init__()
        lif = config.lif
        self.beta = math.exp(-config.dt_ms / lif.tau_rc_ms)
        self.spike_value = lif.amplitude / (config.dt_ms / 1000.0)
        self.gain = config.rate_gain
        self.v_start = lif.v_init * lif.v_thresh      # a profile's initial membrane voltage
        self.layers = torch.nn.ModuleList()
        self.neurons = torch.nn.ModuleList()
        self.kinds = []
        for spec, weight, bias in zip(config.layers, network.weights, network.biases):
            if spec.kind == 'conv':
                layer = torch.nn.Conv2d(weight.shape[1], weight.shape[0], spec.kernel,
                                        spec.stride, spec.padding)
            elif spec.kind == 'dense':
                layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
            else:                               # a sum pool is an average pool times k^2
                layer = torch.nn.AvgPool2d(spec.kernel, divisor_override=(
                    None if spec.kind == 'avgpool' else 1))
            if weight is not None:
                layer.weight.data = torch.from_numpy(weight.astype(np.float32))
                layer.bias.data = torch.from_numpy(bias.astype(np.float32))
            self.layers.append(layer)
            self.kinds.append(spec.kind)
            self.neurons.append(snn.Leaky(beta=self.beta, threshold=lif.v_thresh,
                                          reset_mechanism='zero'))

    @torch.no_grad()
    def forward(self, image: torch.Tensor, timesteps: int) -> torch.Tensor:
        last = len(self.layers) - 1
        first = self.gain * self.layers[0](image)               # constant input current
        members = [n.init_leaky() + self.v_start for n in self.neurons]
        scores = 0.0
        for _ in range(timesteps):
            x = None
            for k, (layer, neuron, kind) in enumerate(zip(self.layers, self.neurons,
                                                          self.kinds)):
                if k == 0:
                    current = first
                elif kind in ('avgpool', 'sumpool'):
                    x = layer(x)
                    continue
                else:
                    if kind == 'dense':
                        x = x.flatten(1)
                    current = layer(x)
                    if k != last and self.gain != 1.0:      # hidden currents: W x + gain b
                        shape = (1, -1, 1, 1) if kind == 'conv' else (1, -1)
                        current = current + (self.gain - 1.0) * layer.bias.view(shape)
                if k == last:
                    scores = scores + current / self.gain
                    break
                spikes, members[k] = neuron((1.0 - self.beta) * current, members[k])
                x = spikes * self.spike_value
        return scores / timesteps


def timed(run, images, rounds: int) -> tuple[float, list[int]]:
    run(images[0])
    times, predictions = [], []
    for r in range(rounds):
        started = time.perf_counter()
        out = [run(image) for image in images]
        times.append((time.perf_counter() - started) / len(images))
        predictions = out
    return statistics.median(times), predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', type=Path)
    parser.add_argument('--timesteps', type=int, nargs='+', default=[10, 200])
    parser.add_argument('--profile', type=Path)
    parser.add_argument('--samples', type=int, default=300)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    network, _ = load_deep_checkpoint(args.model)
    profile = load_profile(args.profile) if args.profile else None
    data = mnist_5k()
    images, labels = data.test_images[:args.samples], data.test_labels[:args.samples]
    ours = Simulator(network)
    print(f'{args.model}: {len(images)} held-out digits, one thread, torch '
          f'{torch.__version__}, snntorch {snn.__version__}')
    print(f'{"T":>5} {"ours us":>9} {"snnTorch us":>12} {"speed-up":>9} {"ours acc":>9} '
          f'{"snnTorch acc":>13}')
    for T in args.timesteps:
        overrides = dict(profile.entry(T).params) if profile and T in profile.timesteps else {}
        config = replace_params(network.config, overrides)
        peer = SnnTorchNetwork(network, config).eval()
        tensors = [torch.from_numpy(img.astype(np.float32) / 255.0)[None, None]
                   for img in images]
        ours_s, ours_pred = timed(
            lambda img: int(np.argmax(ours.run_frame(img, T, config)[0])), list(images),
            args.rounds)
        peer_s, peer_pred = timed(lambda t: int(peer(t, T).argmax()), tensors, args.rounds)
        ours_acc = float(np.mean(np.array(ours_pred) == labels))
        peer_acc = float(np.mean(np.array(peer_pred) == labels))
        print(f'{T:>5} {ours_s * 1e6:>9.1f} {peer_s * 1e6:>12.1f} {peer_s / ours_s:>8.1f}x '
              f'{ours_acc:>9.4f} {peer_acc:>13.4f}')


if __name__ == '__main__':
    main()
