"""Simulation speed: N applications of each process through the shipped scenario, timed.

    .venv/bin/python bench/simulation.py [--applications 10000] [--workers N] [--service-kpis]

Runs what `bpmn-service simulate` runs (config/simulation.toml, the committed models, live
engine instances, both processes, chunks over a pool of worker processes) and prints, as
markdown: the wall time of the simulation proper, engine instances per second, and per process
and category the medians next to the domain brief's §10.5 calibration. With --service-kpis it
also times writing the history to the throwaway SQLite database and the service's analytics
queries over it. The target is 10,000 applications of each process in at most 120 s
on the 2-core development machine. The CPU seconds of all processes (this one and the workers)
are printed too: unlike the wall time they do not depend on what else runs on the machine.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bpmn_service.config import Settings  # noqa: E402
from bpmn_service.simulation import Environment, figures, load  # noqa: E402
from bpmn_service.simulation.history import service_kpis  # noqa: E402
from bpmn_service.simulation.runner import load_models, simulate  # noqa: E402

TARGET_SECONDS = 120.0


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000, help="per process")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scenario", default=str(ROOT / "config" / "simulation.toml"))
    parser.add_argument("--service-kpis", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    scenario = load(Path(args.scenario))
    scenario.applications = args.applications
    env = Environment.from_settings(Settings())
    started = time.perf_counter()
    cpu_before = _cpu_seconds()
    models = load_models(scenario, env)
    loaded = time.perf_counter() - started
    sim = simulate(
        scenario,
        env,
        workers=args.workers,
        keep_history=args.service_kpis,
        progress=sys.stderr,
        models=models,
    )
    cpu = _cpu_seconds() - cpu_before
    kpi_seconds = None
    kpis = None
    if args.service_kpis:
        t = time.perf_counter()
        kpis = service_kpis(sim, env)
        kpi_seconds = time.perf_counter() - t
    built = figures.build(sim, kpis)
    runs = sum(len(o.results) for o in sim.outcomes.values())
    print(f"## Simulation benchmark ({platform.python_version()}, {os.cpu_count()} CPUs)\n")
    print("| measure | value |\n|---|---|")
    print(f"| applications per process | {args.applications} |")
    print(f"| worker processes | {sim.workers} |")
    print(f"| models compiled and checked | {loaded:.1f} s |")
    print(f"| simulation (both processes) | {sim.elapsed_seconds:.1f} s |")
    print(f"| simulated applications per second | {runs / sim.elapsed_seconds:.0f} |")
    print(
        f"| CPU seconds (all processes) | {cpu:.0f} s, {1000 * cpu / runs:.0f} ms per application |"
    )
    print(f"| load average at the end (1 min) | {os.getloadavg()[0]:.1f} |")
    if kpi_seconds is not None:
        print(f"| history + service analytics | {kpi_seconds:.1f} s |")
    verdict = "met" if sim.elapsed_seconds <= TARGET_SECONDS else "NOT met"
    print(f"| target ≤ {TARGET_SECONDS:.0f} s | {verdict} |")
    print(
        "\n| process | category | n | total WD P50 (§10.5) | P90 (§10.5) | utility WD P50 (§10.5) |"
    )
    print("|---|---|---|---|---|---|")
    for row in built["calibration"]:
        n = built["summary"][row["process"]][row["category"]]["completed"]
        print(
            f"| {row['process']} | {row['category']} | {n} "
            f"| {row['total_p50']:.1f} ({row['target_total_p50']}) "
            f"| {row['total_p90']:.1f} ({row['target_total_p90']}) "
            f"| {row['utility_p50']:.1f} ({row['target_utility_p50']}) |"
        )
    if built["errors"]:
        print(f"\n{len(built['errors'])} applications did not finish, e.g. {built['errors'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
