"""Helpers for the Z town study: data generator, loader and validator, scales, models, figures.

All Z town and comparison-town data are synthetic (see `ztown.data.synth`); only the
`national_context` resource holds real published figures.

The package has four layers, each importing only from the ones before it (ARCHITECTURE.md):
`ztown.data` (schema, generator, validation, loading, export) → `ztown.analysis` (scales,
models, inference, scenarios, Monte Carlo) → `ztown.publication` (figures, glue, codebook, book,
replication) → `ztown.cli` (one module per `ztown` subcommand).

The notebooks' API is short and stable: `ztown.load`, and the modules listed in `NOTEBOOK_MODULES`,
reachable as `from ztown import models` whatever layer they live in.
"""

__version__ = "1.0.0"

from importlib import import_module

from ztown.data.errors import DataPackageError, Problem  # noqa: E402

# the modules the chapters use, by the short name they use them under
NOTEBOOK_MODULES = {
    "constructs": "ztown.data.constructs",
    "synth": "ztown.data.synth",
    "scales": "ztown.analysis.scales",
    "models": "ztown.analysis.models",
    "claims": "ztown.analysis.claims",
    "status": "ztown.analysis.status",
    "panel": "ztown.analysis.panel",
    "cs_did": "ztown.analysis.cs_did",
    "scenarios": "ztown.analysis.scenarios",
    "ranks": "ztown.analysis.ranks",
    "measurement": "ztown.analysis.measurement",
    "achievements": "ztown.analysis.achievements",
    "towninference": "ztown.analysis.towninference",
    "interval_checks": "ztown.analysis.interval_checks",
    "montecarlo": "ztown.analysis.montecarlo",
    "power": "ztown.analysis.power",
    "figures": "ztown.publication.figures",
    "publish": "ztown.publication.publish",
    "tables": "ztown.publication.tables",
}

__all__ = ["__version__", "load", "StudyData", "DataPackageError", "Problem", *NOTEBOOK_MODULES]


def __getattr__(name):
    # Imported on first use: the loader pulls in frictionless and the analysis statsmodels, both slow.
    if name in ("load", "StudyData"):
        return getattr(import_module("ztown.data.loader"), name)
    if name in NOTEBOOK_MODULES:
        return import_module(NOTEBOOK_MODULES[name])
    raise AttributeError(f"module 'ztown' has no attribute {name!r}")
