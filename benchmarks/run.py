"""All the speed figures in one run (`make bench`): set-up, data, book build, test suite.

Prints, from one run on this machine: the fresh set-up time (a clean clone, `make env`), the data
benchmarks (`data_bench.py`: load cold and warm, synth at 1x, 10x, 100x), the book benchmarks
(`book_bench.py`: clean build, each notebook, no-change rebuild, overhead ratio), the simulation
engine (`engine_bench.py`: replications per second with 1 and 2 jobs and a 2-worker Dask cluster), and the test
suite's wall time (`make test` in the same clean clone). Targets are checked and printed, not
asserted: these machines are noisy, and a benchmark is not a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True)
    return time.perf_counter() - start, proc


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    # the environment `make` gives its commands (see the Makefile): one BLAS thread, bytecode cached
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="ztown-bench-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)

        section("fresh set-up (clean clone, make env; uv's download cache as this machine has it)")
        seconds, proc = timed(["make", "env"], clone, env)
        print(f"make env: {seconds:.1f} s (exit {proc.returncode})")
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            return 1

        py = str(clone / ".venv" / "bin" / "python")
        section("data")
        _, proc = timed([py, "benchmarks/data_bench.py"], clone, env)
        print(proc.stdout.strip() or proc.stderr[-2000:])

        section("book")
        _, proc = timed([py, "benchmarks/book_bench.py"], clone, env)
        print(proc.stdout.strip() or proc.stderr[-2000:])

        section("simulation engine (replications per second: 1 and 2 local processes, a 2-worker Dask cluster)")
        _, proc = timed([py, "benchmarks/engine_bench.py"], clone, env)
        print(proc.stdout.strip() or proc.stderr[-2000:])

        section("test suite (make test in the clean clone, after the book benchmark's build)")
        seconds, proc = timed(["make", "test"], clone, env)
        last = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line]
        print(f"make test: {seconds:.1f} s (exit {proc.returncode}); {last[-1].strip('= ') if last else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
