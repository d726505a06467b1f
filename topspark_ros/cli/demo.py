# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""topspark-demo: the closed loop, watched: battery drains, the governor lowers T, energy falls.

    topspark-demo                       # 45 s with the governor, then 20 s at T0 without
    topspark-demo --model deep          # the same loop with the spiking deep network
    topspark-demo --duration 90 --baseline-duration 0 --out runs/demo

Runs launch/demo.launch.xml in this process (the same path as `topspark-bringup`), plus a
monitor node that pairs every prediction with the true label of its frame (by the frame's stamp)
and prints a live table. Writes timeline.png (battery, timesteps, running accuracy, energy per
sample), summary.json and summary.md to --out. Headless; ends by itself.

Before the graph starts, --out must be a writable folder and the perception node's model and
profile must belong together (the profile's made_for against the model's network and T0).
Interrupted (Ctrl-C or SIGTERM), it stops the graph and writes what it saw so far, marked
as partial, then exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any

from .. import bringup, shipped
from ..models import load_model
from ..topspark import load_profile
from .common import check_out_dir, CliError, run_cli, write_json

TABLE_PERIOD_S = 3.0
SHIPPED = {
    'stdp': {'model_path': shipped.MODEL, 'profile_path': shipped.PROFILE},
    'deep': {'model_path': shipped.DEEP_MODEL, 'profile_path': shipped.DEEP_PROFILE},
}
"""The shipped model and profile of each ``--model``, relative to the package share."""


@dataclasses.dataclass
class Sample:
    t_s: float
    timesteps: int
    prediction: int
    truth: int


def _monitor_class():
    """The monitor node class (imported lazily: rclpy is only needed when the demo runs)."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,
                           ReliabilityPolicy)
    from sensor_msgs.msg import BatteryState, Image
    from std_msgs.msg import Float64, Int32, UInt16

    class DemoMonitor(Node):
        """Collects what a person watching the robot would look at."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__('demo_monitor', **kwargs)
            reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
            self.start = time.monotonic()
            self.lock = threading.Lock()
            self._stamps: list[int] = []        # n-th frame's stamp ...
            self._truths: list[int] = []        # ... and n-th truth label, paired in order
            self.truth_by_stamp: dict[int, int] = {}
            self.samples: list[Sample] = []
            self.battery: list[tuple[float, float]] = []
            self.timesteps: list[tuple[float, int]] = []
            self.energy: list[tuple[float, float]] = []
            self.power: list[tuple[float, float]] = []
            self.create_subscription(Image, '/camera/image_raw', self._on_image, reliable)
            self.create_subscription(Int32, 'topspark/label_truth', self._on_truth, reliable)
            self.create_subscription(DiagnosticArray, 'topspark/activity', self._on_activity,
                                     reliable)
            self.create_subscription(BatteryState, '/battery_state', self._on_battery,
                                     qos_profile_sensor_data)
            latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self.create_subscription(UInt16, 'topspark/timesteps', self._on_timesteps, latched)
            self.create_subscription(Float64, 'topspark/energy/sample', self._on_energy,
                                     reliable)
            self.create_subscription(Float64, 'topspark/power', self._on_power, reliable)

        def now(self) -> float:
            return time.monotonic() - self.start

        def _pair(self) -> None:
            while self._stamps and self._truths:
                self.truth_by_stamp[self._stamps.pop(0)] = self._truths.pop(0)

        def _on_image(self, msg: Any) -> None:
            with self.lock:
                self._stamps.append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
                self._pair()

        def _on_truth(self, msg: Any) -> None:
            with self.lock:
                self._truths.append(int(msg.data))
                self._pair()

        def _on_activity(self, msg: Any) -> None:
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                if 'prediction' not in values:
                    continue
                with self.lock:
                    truth = self.truth_by_stamp.pop(stamp, None)
                    if truth is not None and truth >= 0:
                        self.samples.append(Sample(self.now(), int(values['timesteps']),
                                                   int(values['prediction']), truth))

        def _on_battery(self, msg: Any) -> None:
            if not math.isnan(msg.percentage):
                with self.lock:
                    self.battery.append((self.now(), float(msg.percentage)))

        def _on_timesteps(self, msg: Any) -> None:
            with self.lock:
                self.timesteps.append((self.now(), int(msg.data)))

        def _on_energy(self, msg: Any) -> None:
            with self.lock:
                self.energy.append((self.now(), float(msg.data)))

        def _on_power(self, msg: Any) -> None:
            with self.lock:
                self.power.append((self.now(), float(msg.data)))

    return DemoMonitor


def _last(series: list[tuple[float, Any]], default: Any = float('nan')) -> Any:
    return series[-1][1] if series else default


def run_phase(spec: bringup.LaunchSpec, duration_s: float, label: str,
              print_table: bool = True) -> dict[str, Any]:
    """Run the graph of ``spec`` plus the monitor for ``duration_s``; return what it saw."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    bringup.apply_environment(spec)
    context = Context()
    rclpy.init(args=['topspark-demo'], context=context,
               signal_handler_options=SignalHandlerOptions.NO)
    nodes: list[Any] = []
    monitor = executor = None
    interrupted = False
    try:
        try:
            nodes = bringup.create_nodes(spec, context)
            monitor = _monitor_class()(context=context)
            executor = SingleThreadedExecutor(context=context)
            for node in [*nodes, monitor]:
                executor.add_node(node)
            print(f'\n== {label}: {len(nodes)} nodes for {duration_s:g} s ==')
            print(f'{"time s":>6} {"battery":>8} {"T":>5} {"accuracy":>9} {"samples":>8} '
                  f'{"uJ/sample":>10} {"power W":>8}')
            deadline = time.monotonic() + duration_s
            next_row = time.monotonic() + TABLE_PERIOD_S
            while time.monotonic() < deadline and context.ok():
                executor.spin_once(timeout_sec=0.05)
                if print_table and time.monotonic() >= next_row:
                    next_row += TABLE_PERIOD_S
                    _print_row(monitor)
        except KeyboardInterrupt:           # Ctrl-C, or SIGTERM through _Sigterm
            interrupted = True
        if executor is not None:
            executor.shutdown(timeout_sec=2.0)
        if monitor is None:                 # interrupted before anything was watched
            return {'samples': [], 'battery': [], 'timesteps': [], 'energy': [], 'power': [],
                    'duration_s': 0.0, 'interrupted': interrupted}
        _print_row(monitor)
        with monitor.lock:
            return {'samples': list(monitor.samples), 'battery': list(monitor.battery),
                    'timesteps': list(monitor.timesteps), 'energy': list(monitor.energy),
                    'power': list(monitor.power), 'duration_s': monitor.now(),
                    'interrupted': interrupted}
    finally:
        bringup.close_nodes(nodes)
        rclpy.try_shutdown(context=context)


def _print_row(monitor: Any) -> None:
    with monitor.lock:
        samples = monitor.samples
        acc = (sum(s.prediction == s.truth for s in samples) / len(samples)) if samples else 0.0
        recent = [e for t, e in monitor.energy[-20:]]
        energy = sum(recent) / len(recent) if recent else float('nan')
        T = _last(monitor.timesteps, samples[-1].timesteps if samples else 0)
        print(f'{monitor.now():6.1f} {100 * _last(monitor.battery):7.1f}% {T:5d} '
              f'{100 * acc:8.1f}% {len(samples):8d} {1e6 * energy:10.2f} '
              f'{_last(monitor.power):8.4f}', flush=True)


def summarize(phase: dict[str, Any]) -> dict[str, Any]:
    samples = phase['samples']
    energy = [e for _, e in phase['energy']]
    return {
        'partial': bool(phase.get('interrupted')),
        'seconds': phase['duration_s'],
        'samples': len(samples),
        'accuracy': (sum(s.prediction == s.truth for s in samples) / len(samples)
                     if samples else None),
        'mean_energy_per_sample_j': sum(energy) / len(energy) if energy else None,
        'battery_start': phase['battery'][0][1] if phase['battery'] else None,
        'battery_end': phase['battery'][-1][1] if phase['battery'] else None,
        'timesteps_chosen': sorted({T for _, T in phase['timesteps']}, reverse=True),
        'timesteps_per_sample': sorted({s.timesteps for s in samples}, reverse=True),
    }


def baseline_label(baseline: dict[str, Any] | None) -> str:
    """'T0 = 350': the fixed T the run without the governor used."""
    steps = [x.timesteps for x in (baseline or {}).get('samples', [])]
    return f'T0 = {max(steps)}' if steps else 'T0'


def plot_timeline(governed: dict[str, Any], baseline: dict[str, Any] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(7.5, 8.5), sharex=True)
    for phase, style, name in ((governed, '-', 'governor on'),
                               (baseline, '--', baseline_label(baseline))):
        if not phase:
            continue
        b = phase['battery']
        axes[0].plot([t for t, _ in b], [100 * p for _, p in b], style, label=name)
        s = phase['samples']
        axes[1].step([x.t_s for x in s], [x.timesteps for x in s], style, where='post',
                     label=name)
        correct, points = 0, []
        for k, x in enumerate(s, 1):
            correct += x.prediction == x.truth
            points.append((x.t_s, 100 * correct / k))
        axes[2].plot([t for t, _ in points], [a for _, a in points], style, label=name)
        e = phase['energy']
        axes[3].plot([t for t, _ in e], [1e6 * v for _, v in e], style, lw=0.8, label=name)
    for ax, ylabel in zip(axes, ('battery (%)', 'timesteps T', 'running accuracy (%)',
                                 'energy per sample (uJ, Loihi)')):
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[3].set_xlabel('time (s)')
    fig.suptitle('topspark_ros closed loop: simulated camera and battery')
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='topspark-demo', description=__doc__.split('\n')[0])
    parser.add_argument('--launch', type=Path, help='launch file (default: demo.launch.xml)')
    parser.add_argument('--duration', type=float, default=45.0,
                        help='seconds with the governor (default 45)')
    parser.add_argument('--baseline-duration', type=float, default=20.0,
                        help='seconds of the comparison run at T0 without the governor '
                             '(default 20; 0 skips it)')
    parser.add_argument('--model', choices=sorted(SHIPPED), default='stdp',
                        help="the shipped model and profile to run: 'stdp' (Diehl & Cook N400, "
                             "default) or 'deep' (the spiking deep CNN); model_path:= and "
                             'profile_path:= override them')
    parser.add_argument('--out', type=Path, default=Path('runs/demo'))
    parser.add_argument('overrides', nargs='*', metavar='NAME:=VALUE',
                        help='launch arguments, e.g. model_path:=my.npz')
    return parser


def launch_arguments(model: str, overrides: dict[str, str], share: Path) -> dict[str, str]:
    """The launch arguments for ``--model``: its shipped model and profile, and its T0 (from
    the model file) as ``baseline_timesteps``; explicit ``name:=value`` arguments win."""
    arguments = {name: str(share / path) for name, path in SHIPPED[model].items()}
    arguments.update(overrides)
    if 'baseline_timesteps' not in overrides:
        loaded, _ = load_model(arguments['model_path'])
        arguments['baseline_timesteps'] = str(loaded.baseline_timesteps)
    return arguments


def check_model_and_profile(spec: bringup.LaunchSpec) -> None:
    """Refuse a perception model and profile that do not belong together (one line naming
    both), before any node starts."""
    for node in spec.nodes:
        if node.executable != 'perception_node':
            continue
        params = dict(node.params)
        model, profile = params.get('model_path'), params.get('profile_path')
        if model and profile:
            loaded, _ = load_model(model)
            loaded.check_profile(load_profile(profile))


class _Sigterm:
    """While active, SIGTERM interrupts like Ctrl-C, so a stopped demo still writes."""

    def __enter__(self) -> '_Sigterm':
        self._previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous)


def _main(argv: list[str] | None) -> None:
    args = build_parser().parse_args(argv)
    if args.duration <= 0 or args.baseline_duration < 0:
        raise CliError('--duration must be > 0 and --baseline-duration >= 0')
    check_out_dir('--out', args.out)
    share = bringup.find_package_share('topspark_ros')
    launch = args.launch or share / 'launch' / 'demo.launch.xml'
    try:
        overrides = bringup.parse_overrides(args.overrides)
        if args.launch is None:
            overrides = launch_arguments(args.model, overrides, share)
        spec = bringup.load_launch(launch, overrides)
    except (bringup.LaunchFileError, bringup.BringupError) as exc:
        raise CliError(str(exc)) from None
    check_model_and_profile(spec)
    with _Sigterm():
        governed = run_phase(spec, args.duration, 'governor on')
        baseline = None
        if args.baseline_duration and not governed['interrupted']:
            fixed = dataclasses.replace(spec, nodes=tuple(n for n in spec.nodes
                                                          if n.executable != 'governor_node'))
            baseline = run_phase(fixed, args.baseline_duration,
                                 f'governor off, T0 = {spec.arguments.get("baseline_timesteps")}')
    write_outputs(args.out, governed, baseline)
    if governed['interrupted'] or (baseline or {}).get('interrupted'):
        raise KeyboardInterrupt


def write_outputs(out: Path, governed: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    """timeline.png, summary.json and summary.md of what the phases saw (partial ones
    included, marked)."""
    summary = {'governed': summarize(governed),
               'baseline': summarize(baseline) if baseline else None}
    g, b = summary['governed'], summary['baseline']
    summary['partial'] = g['partial'] or bool(b and b['partial'])
    if b and g['mean_energy_per_sample_j'] and b['mean_energy_per_sample_j']:
        ratio = b['mean_energy_per_sample_j'] / g['mean_energy_per_sample_j']
        summary['energy_ratio_baseline_to_governed'] = ratio
    out.mkdir(parents=True, exist_ok=True)
    plot_timeline(governed, baseline, out / 'timeline.png')
    write_json(out / 'summary.json', summary)
    lines = ['# topspark-demo summary', '']
    if summary['partial']:
        lines += ['Partial: the demo was interrupted; these are the samples seen until then.',
                  '']
    lines += ['| run | samples | accuracy | mean energy per sample (uJ, Loihi) | battery | '
              'timesteps used |', '|---|---|---|---|---|---|']
    for name, s in (('governor on', g), (f'governor off ({baseline_label(baseline)})', b)):
        if not s or not s['samples']:
            continue
        battery = (f"{100 * s['battery_start']:.0f} -> {100 * s['battery_end']:.0f} %"
                   if s['battery_start'] is not None else 'n/a')
        lines.append(f"| {name} | {s['samples']} | {100 * s['accuracy']:.1f} % | "
                     f"{1e6 * (s['mean_energy_per_sample_j'] or float('nan')):.2f} | "
                     f"{battery} | {', '.join(map(str, s['timesteps_per_sample']))} |")
    if 'energy_ratio_baseline_to_governed' in summary:
        lines.append(f"\nEnergy per sample: {summary['energy_ratio_baseline_to_governed']:.2f}x "
                     'lower with the governor.')
    (out / 'summary.md').write_text('\n'.join(lines) + '\n')
    print('\n' + '\n'.join(lines))
    print(f'\nwrote {out / "timeline.png"}, {out / "summary.json"}, {out / "summary.md"}')


def main(argv: list[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == '__main__':
    raise SystemExit(main())
