"""Does the book reproduce under the BLAS settings a reviewer may have? Run by hand, never in CI.

The committed outputs were made with OpenBLAS's default kernel on an AVX-512 machine. This runs a
command (default `make test`; `--replicate` runs `make replicate`, about a minute each) three times:

1. OPENBLAS_CORETYPE=Haswell (the AVX2 kernel of an ordinary laptop; last digits differ),
2. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (the machine's default kernel),
3. the default kernel with OPENBLAS_NUM_THREADS=2 (the Makefile lets the caller's value through),

and prints, for each, the kernel numpy runs (threadpoolctl), the exit code and the time. The tests
and CI never set OPENBLAS_* themselves; this script is where the settings are varied on purpose.

Usage: .venv/bin/python benchmarks/blas_kernels.py [--replicate] [--only N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
SETTINGS = [
    ("Haswell (AVX2) kernel", {"OPENBLAS_CORETYPE": "Haswell"}, ()),
    ("default kernel", {}, ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")),
    ("default kernel, 2 threads", {"OPENBLAS_NUM_THREADS": "2"}, ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")),
]
PROBE = ("import numpy\n"
         "try:\n"
         "    from threadpoolctl import threadpool_info\n"
         "    print(', '.join(f\"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}\" "
         "for i in threadpool_info() if i['user_api'] == 'blas'))\n"
         "except ImportError:\n"
         "    print('kernel unknown (threadpoolctl not installed)')\n")


def environment(set_: dict[str, str], unset: tuple[str, ...]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.pop("OPENBLAS_NUM_THREADS", None)  # the Makefile's default (1) unless the setting gives one
    env.update(set_)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicate", action="store_true", help="run `make replicate` instead of `make test`")
    parser.add_argument("--only", type=int, choices=range(1, len(SETTINGS) + 1), help="run one setting")
    args = parser.parse_args()
    command = ["make", "replicate" if args.replicate else "test"]
    failures = 0
    for number, (label, set_, unset) in enumerate(SETTINGS, 1):
        if args.only and number != args.only:
            continue
        env = environment(set_, unset)
        kernel = subprocess.run([str(PYTHON), "-c", PROBE], env=env, text=True, capture_output=True).stdout.strip()
        shown = " ".join([f"{k}={v}" for k, v in set_.items()] + [f"-u {k}" for k in unset]) or "as is"
        print(f"== {number}. {label} ({shown}): BLAS {kernel}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True)
        seconds = time.perf_counter() - start
        tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-3:]
        print(f"   {' '.join(command)}: exit {proc.returncode} in {seconds:.0f} s", flush=True)
        for line in tail:
            print(f"   | {line}")
        failures += proc.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
