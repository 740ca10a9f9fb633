"""``rmcal match``: a cohort's pairs chosen deliberately, explainably, from a people file.

The pipeline lives in ``rmcal.match.run`` (people in, pairs and reasons out; docs/match.md).
This module stays importable without the optional solver (``pip install 'rmcal[match]'``):
``require_solver`` says, in one line, what to install when it is missing.
"""

from __future__ import annotations

import importlib.util

from rmcal.errors import RmcalError

INSTALL = "pip install 'rmcal[match]'"


def require_solver() -> None:
    """Raise one clear error when numpy or scipy (the optional ``match`` extra) is missing."""
    missing = [name for name in ("numpy", "scipy") if _absent(name)]
    if missing:
        raise RmcalError(f"rmcal match needs {' and '.join(missing)}: {INSTALL}")


def _absent(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or half-installed
        return True
