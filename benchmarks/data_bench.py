"""Benchmark the data layer: `ztown.load()` cold and warm, and `ztown synth` at growing sizes.

Every measurement runs in a fresh Python process, so each pays its own imports as a reader's first
`ztown.load()` in a notebook would. The child reports how long its imports and its work took; the
parent measures the whole process's wall time and, through `os.wait4`, that one process's peak
resident memory. For each measurement the table gives the median over the repeats:

* load, cold: an empty validation cache, so frictionless is imported and validates the package;
* load, warm: the cache already holds the result for these bytes (a disk hit in a new process;
  `load again` is the in-memory hit of a second call in the same process);
* synth xN: `ztown synth --out DIR --set size_multiplier=N`, with the time ratio to the previous
  size, so one can see that cost grows no faster than the size.

Run: .venv/bin/python benchmarks/data_bench.py [--repeats 3] [--sizes 1 10 100] [--package PATH]
Scratch packages and caches go to a temporary folder under /tmp, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

LOAD_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import ztown.data.loader  # pandas and numpy; frictionless only if validation is needed
t1 = time.perf_counter()
data = ztown.data.loader.load(sys.argv[1])
t2 = time.perf_counter()
ztown.data.loader.load(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "again": t3 - t2,
                  "frictionless_imported": "frictionless" in sys.modules,
                  "rows": sum(len(f) for f in data.frames.values())}))
"""

# the `ztown` command itself (same parser and function), timed in two phases; argv[1] names the module
# the command imports when it runs, imported up front so that "work" is the command's own work
CLI_CHILD = """
import importlib, json, sys, time
t0 = time.perf_counter()
importlib.import_module(sys.argv[1])
from ztown.cli import build_parser
args = build_parser().parse_args(sys.argv[2:])
t1 = time.perf_counter()
code = args.func(args)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "exit": code}))
"""


def run_child(code: str, argv: list[str], env: dict[str, str]) -> dict:
    """Run one child; return its own timings plus wall seconds and peak RSS (MiB) of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(argv)}\n{err[-3000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    report.update(wall=wall, peak_mib=usage.ru_maxrss / 1024)  # Linux reports ru_maxrss in KiB
    return report


def summarize(name: str, runs: list[dict]) -> dict:
    return {"name": name, "repeats": len(runs),
            "wall": statistics.median(r["wall"] for r in runs),
            "imports": statistics.median(r["imports"] for r in runs),
            "work": statistics.median(r["work"] for r in runs),
            "again": statistics.median(r["again"] for r in runs) if "again" in runs[0] else None,
            "peak_mib": max(r["peak_mib"] for r in runs),
            "note": runs[0].get("note", "")}


def bench_load(package: Path, scratch: Path, repeats: int, env: dict[str, str]) -> list[dict]:
    cold = []
    for i in range(repeats):
        run = run_child(LOAD_CHILD, [str(package)], {**env, "ZTOWN_CACHE_DIR": str(scratch / f"cold-cache-{i}")})
        run["note"] = f"frictionless imported: {run['frictionless_imported']}; {run['rows']} rows"
        cold.append(run)
    warm_env = {**env, "ZTOWN_CACHE_DIR": str(scratch / "warm-cache")}
    run_child(LOAD_CHILD, [str(package)], warm_env)  # fills the cache; not timed
    warm = []
    for _ in range(repeats):
        run = run_child(LOAD_CHILD, [str(package)], warm_env)
        run["note"] = f"frictionless imported: {run['frictionless_imported']}; {run['rows']} rows"
        warm.append(run)
    return [summarize("load, cold (no cache)", cold), summarize("load, warm (cache hit)", warm)]


def bench_synth(sizes: list[int], scratch: Path, repeats: int, env: dict[str, str]) -> list[dict]:
    rows = []
    for size in sizes:
        runs = []
        for i in range(repeats):
            out = scratch / f"synth-x{size}-{i}"
            argv = ["ztown.data.synth", "synth", "--out", str(out), "--set", f"size_multiplier={size}"]
            runs.append(run_child(CLI_CHILD, argv, env))
            csv_files = list((out / "data").iterdir())
            mib = sum(p.stat().st_size for p in csv_files) / 2**20
            n_rows = sum(p.read_bytes().count(b"\n") - 1 for p in csv_files)
            runs[-1]["note"] = f"{mib:.1f} MiB of CSV, {n_rows} rows"
            for p in sorted(out.rglob("*"), reverse=True):  # keep /tmp small between repeats
                p.unlink() if p.is_file() else p.rmdir()
        rows.append({**summarize(f"synth x{size}", runs), "size": size})
    return rows


def print_table(rows: list[dict]) -> None:
    header = (f"{'measurement':<24} {'n':>2} {'process s':>10} {'imports s':>10} {'work s':>8} "
              f"{'again s':>8} {'peak MiB':>9} {'work ratio':>11}  note")
    print(header)
    print("-" * len(header))
    previous = None
    for row in rows:
        ratio = ""
        if "size" in row:
            if previous is not None:
                ratio = f"{row['work'] / previous['work']:.1f}x/{row['size'] // previous['size']}x"
            previous = row
        again = f"{row['again']:.3f}" if row["again"] is not None else ""
        print(f"{row['name']:<24} {row['repeats']:>2} {row['wall']:>10.2f} {row['imports']:>10.2f} "
              f"{row['work']:>8.3f} {again:>8} {row['peak_mib']:>9.0f} {ratio:>11}  {row['note']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="size multipliers for synth")
    parser.add_argument("--package", type=Path, default=REPO / "datapackage", help="package to load")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "ZTOWN_DATAPACKAGE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    print(f"python {platform.python_version()}, frictionless {metadata.version('frictionless')}, "
          f"pandas {metadata.version('pandas')}, {os.cpu_count()} cores, "
          f"load average at start {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="ztown-bench-", dir="/tmp") as tmp:
        scratch = Path(tmp)
        run_child(LOAD_CHILD, [str(args.package)], {**env, "ZTOWN_CACHE_DIR": str(scratch / "warmup")})
        rows = bench_load(args.package.resolve(), scratch, args.repeats, env)
        rows += bench_synth(args.sizes, scratch, args.repeats, env)
    print_table(rows)
    print("process s: whole fresh process; imports s: its imports; work s: the load or the synth run itself; "
          "again s: a second load in the same process (in-memory cache); work ratio: synth work time "
          "relative to the previous size / size step.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
