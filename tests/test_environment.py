"""The pinned environment: the lock pins everything exactly, and environment.yml agrees with it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    return {_norm(n): v for n, v in PIN.findall((ROOT / "requirements.lock").read_text())}


def test_every_locked_requirement_is_pinned_exactly_with_hashes():
    text = (ROOT / "requirements.lock").read_text()
    entries = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert entries and all("==" in e for e in entries), [e for e in entries if "==" not in e]
    assert text.count("--hash=sha256:") >= len(entries)


def test_environment_yml_agrees_with_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = {_norm(n): v for n, v in (p.split("==") for p in pip if "==" in p)}
    assert pins == lock_pins()


def test_jupyter_book_stays_below_2():
    major = int(lock_pins()["jupyter-book"].split(".")[0])
    assert major < 2


def test_direct_requirements_are_in_the_lock():
    wanted = [_norm(re.split(r"[<>=!~\[]", line)[0]) for line in (ROOT / "requirements.in").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert set(wanted) <= set(lock_pins())
