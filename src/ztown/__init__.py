"""Helpers for the Z town study: data generator, loader and validator, scales, models, figures.

All Z town and comparison-town data are synthetic (see `ztown.synth`); only the
`national_context` resource holds real published figures.
"""

__version__ = "1.0.0"

from .errors import DataPackageError, Problem  # noqa: E402

__all__ = ["__version__", "load", "StudyData", "DataPackageError", "Problem"]


def __getattr__(name):
    # The loader pulls in frictionless, which is slow to import; load it on first use only.
    if name in ("load", "StudyData"):
        from . import loader as _loader
        return getattr(_loader, name)
    raise AttributeError(f"module 'ztown' has no attribute {name!r}")
