"""The whole book from another data package: other seed, other truth.

A package is generated with another seed, the supporting-systems cause switched off
(beta_sys = 0) and Town D's reform without effect (reform_effect_D = 0). Every chapter notebook is
executed against it (in a scratch folder, through ZTOWN_DATAPACKAGE), and:
- every notebook runs without error;
- the glued numbers differ from the committed ones;
- the claims ledger follows the new truth: the zeroed cause (C2) and its path (X2) and the null
  reform (Town D's) are not supported, the other claims still are.
A fixed seed makes this deterministic; with a true effect of zero a claim is falsely supported with
probability 2.5% by construction, so the seed is part of the test's statement.

The notebooks are executed where the book build and nbval execute them, in the repository's
notebooks/ folder (the files themselves are not rewritten), with nothing set but the data package
and the results folder: so the test also shows that a run on other data leaves the source tree as it
was (`git status`), with its figure data and Monte Carlo study in the results folder instead.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from ztown.analysis import claims

from ztown.data import synth

ROOT = Path(__file__).resolve().parents[1]
OTHER_SEED = 7
TRUTH_CHANGES = {"beta_sys": "0", "reform_effect_D": "0"}

pytestmark = pytest.mark.slow


def _glued(nb) -> dict[str, str]:
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            text = o.get("data", {}).get("application/papermill.record/text/plain")
            if name and text is not None and not name.startswith("fig"):
                out[name] = text
    return out


def source_tree_state() -> dict[str, str]:
    """What `git status` shows, with a content hash of each file it lists (so a file already
    modified before, and rewritten since, also counts as a change)."""
    status = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    state = {}
    for entry in filter(None, status.split("\0")):
        path = ROOT / entry[3:]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        state[entry[3:]] = f"{entry[:2]} {digest}"
    return state


@pytest.fixture(scope="module")
def other_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("other")
    package = synth.write_package(root / "package", seed=OTHER_SEED, overrides=TRUTH_CHANGES).parent
    work = ROOT / "notebooks"
    before = source_tree_state()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("ZTOWN_FIGURE_DATA", "ZTOWN_MC_CACHE"):
            mp.delenv(name, raising=False)
        mp.setenv("ZTOWN_DATAPACKAGE", str(package))
        mp.setenv("ZTOWN_RESULTS", str(root / "results"))
        executed = {}
        for path in sorted(work.glob("0*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=1800, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
            executed[path.name] = nb
    return root, executed, before, source_tree_state()


def test_every_chapter_runs_on_other_data(other_book):
    _, executed, _, _ = other_book
    assert sorted(executed) == sorted(p.name for p in (ROOT / "notebooks").glob("0*.ipynb"))
    for name, nb in executed.items():
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, name


# chapters whose glued values describe a study design (the power study's grid, replications and seeds,
# fixed by its defaults), not estimates from the data: their names are still compared above
DESIGN_CHAPTERS = {"07_power.ipynb"}


def test_glued_numbers_follow_the_data(other_book):
    _, executed, _, _ = other_book
    changed = total = 0
    for name, nb in executed.items():
        committed = _glued(nbformat.read(ROOT / "notebooks" / name, as_version=4))
        fresh = _glued(nb)
        assert set(fresh) == set(committed), name
        if name in DESIGN_CHAPTERS:
            continue
        for key, value in committed.items():
            total += 1
            changed += fresh[key] != value
    assert changed / total > 0.6, f"only {changed} of {total} glued values changed with the data"


def test_claims_ledger_follows_the_new_truth(other_book):
    root, _, _, _ = other_book
    ledger = pd.read_csv(root / "results" / "claims.csv")
    not_supported = set(ledger.loc[ledger["verdict"] != claims.SUPPORTED, "claim_id"])
    d_claim = ledger.loc[ledger["claim"].str.contains("Town D"), "claim_id"].item()
    assert not_supported == {"C2", "X2", d_claim}, ledger[["claim_id", "estimate", "ci_low", "ci_high", "verdict"]]


def test_a_run_on_other_data_leaves_the_source_tree_as_it_was(other_book):
    root, executed, before, after = other_book
    assert after == before, {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys()
                             if before.get(k) != after.get(k)}
    # what it wrote went to the results folder: every figure's data, and the Monte Carlo study of
    # the other data's parameters (no committed study matches them)
    from ztown.publication.replicate import figure_data_files

    linked = {f for nb in executed.values() for f in figure_data_files(nb)}
    written = {p.name for p in (root / "results" / "figure_data").glob("*.csv")}
    assert linked and linked <= written, linked - written
    assert list((root / "results" / "montecarlo").glob("mc_*")), "the other data's study is cached in results"
    committed = ROOT / "notebooks" / "figure_data" / "problems-gaps.csv"
    assert (root / "results" / "figure_data" / "problems-gaps.csv").read_bytes() != committed.read_bytes()
