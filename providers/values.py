"""Reading typed values out of a ``provider:`` section: a flag, a bounded number.

Written once for every provider, so that "must be true or false" and "must be between 1 and
600" read the same whatever the provider, and each failure is a ``SettingsError`` naming the
key (the config loader turns it into ``file:line: provider.<key>: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rmcal.errors import SettingsError


def flag(settings: Mapping[str, Any], key: str, default: bool) -> bool:
    """``settings[key]`` as a YAML boolean (``true``/``false``), else ``default``."""
    value = settings.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(key, "must be true or false")
    return value


def number(
    settings: Mapping[str, Any],
    key: str,
    default: float,
    *,
    low: float,
    high: float,
    integer: bool = False,
) -> float:
    """``settings[key]`` as a number in [low, high] (a whole one with ``integer``)."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(key, "must be a number")
    if integer and not float(value).is_integer():
        raise SettingsError(key, "must be a whole number")
    if not low <= value <= high:  # also refuses NaN
        raise SettingsError(key, f"must be between {low:g} and {high:g}")
    return value
