"""Write environment.yml (conda and Binder) from requirements.lock, so the two pin the same versions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.M)
    lines = ["# Generated from requirements.lock by `make environment.yml`; tests/test_environment.py checks "
             "they agree.", "name: ztown", "channels:", "  - conda-forge", "dependencies:", "  - python=3.11",
             "  - pip", "  - pip:"]
    lines += [f"      - {name}=={version}" for name, version in pins]
    lines += ["      - -e ."]
    (ROOT / "environment.yml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
