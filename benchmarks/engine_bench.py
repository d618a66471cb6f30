"""Benchmark the simulation engine: replications per second in one process, two processes, two Dask workers.

The workload is the truth-recovery study's replication (`ztown.analysis.montecarlo.replicate`: a
fresh data set and every estimator of the book), or with --workload power a replication of the power
study at the generator's design. Each backend runs the same replications `--repeats` times after one
warm-up run (which starts loky's workers or the cluster's and lets them import ztown); the table
gives the median rate, the range, and the ratio to one process. The Dask cluster is a
`distributed.LocalCluster` with two single-threaded worker processes (HTTP server on a free port), started once,
outside the timings. The machine may be shared: the load average is printed with the figures.

Run: .venv/bin/python benchmarks/engine_bench.py [--replications 8] [--repeats 3] [--workload montecarlo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def workload(name: str):
    """(function of a replication index, what it is)."""
    from ztown.analysis import montecarlo, power
    from ztown.data.loader import load

    params = montecarlo.parameters_of(load(REPO / "datapackage"))
    if name == "montecarlo":
        return partial(montecarlo.replicate, params), "truth-recovery replication (every estimator)"
    grid = power.Grid(villages=(12,), respondents=(40,), effects=(1.0,))
    return partial(power.replicate, params, grid, 10_000), "power replication (claims ledger, 12 villages x 40)"


def timed_rate(fn, first: int, n: int, **how) -> float:
    from ztown.analysis import engine

    start = time.perf_counter()
    engine.map_indices(fn, range(first, first + n), progress=False, **how)
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=8, help="replications per timed run (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per backend (default 3)")
    parser.add_argument("--workload", choices=("montecarlo", "power"), default="montecarlo")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    fn, what = workload(args.workload)
    n = args.replications
    print(f"engine: {what}; {n} replications per run, {args.repeats} runs per backend after a warm-up; "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    rates: dict[str, list[float]] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        backends = {"1 job (this process)": {"jobs": 1}, "2 jobs (loky)": {"jobs": 2},
                    "2 Dask workers (LocalCluster)": {"scheduler": cluster.scheduler_address}}
        for label, how in backends.items():
            timed_rate(fn, 0, 2, **how)  # warm-up: workers started, ztown imported, caches filled
            rates[label] = [timed_rate(fn, 100 + k * n, n, **how) for k in range(args.repeats)]
    base = statistics.median(rates["1 job (this process)"])
    print(f"{'backend':<32} {'reps/s (median)':>16} {'range':>15} {'ratio to 1 job':>15}")
    for label, values in rates.items():
        med = statistics.median(values)
        print(f"{label:<32} {med:>16.2f} {min(values):>7.2f}-{max(values):<7.2f} {med / base:>15.2f}")
    for label, values in rates.items():
        print(f"  {label}: a 500-replication study would take {500 / statistics.median(values) / 60:.1f} min")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
