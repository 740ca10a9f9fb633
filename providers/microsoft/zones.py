"""IANA <-> Windows time-zone names, for Microsoft Graph.

Why: Graph documents IANA names as accepted, yet rejects some of them in practice
(``TimeZoneNotSupportedException`` / ``ErrorPropertyValidationFailure``, see
shared/api/graph.md section 12). Windows names always work, so every ``timeZone`` and
``recurrenceTimeZone`` rmcal sends is a Windows name, converted with the Unicode CLDR
``windowsZones`` table. The table lives in ``data/windowsZones.json``; its ``_source`` key says
where it was generated from (CLDR ``common/supplemental/windowsZones.xml`` via the PyPI package
tzlocal, which ships that table as Python).

Reading back, several IANA zones share one Windows zone (Europe/Amsterdam and Europe/Berlin are
both "W. Europe Standard Time"), so the caller may pass the IANA zone it wrote earlier as a
``preferred`` answer: it wins whenever it maps to the same Windows zone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATA_FILE = Path(__file__).with_name("data") / "windowsZones.json"


class UnknownZone(ValueError):
    """A zone name that neither the CLDR table nor the tz database knows."""


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data["iana_to_windows"], data["windows_to_iana"]


def windows_zone(iana: str) -> str:
    """The Windows zone Graph should get for an IANA zone (``Europe/Berlin`` -> W. Europe ...)."""
    to_windows, _ = _tables()
    if iana in to_windows:
        return to_windows[iana]
    # An alias spelled differently from the table (e.g. a link added to tzdata after the
    # table was generated): resolve it through zoneinfo's key, then try again.
    try:
        key = ZoneInfo(iana).key
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"{iana!r} is not an IANA time zone") from exc
    if key in to_windows:
        return to_windows[key]
    raise UnknownZone(
        f"{iana!r} has no Windows time-zone equivalent in the CLDR table, so Outlook cannot "
        "hold it; use a neighbouring zone with the same offset and DST rules"
    )


def iana_zone(windows: str, preferred: str | None = None) -> str:
    """The IANA zone for a Windows zone name Graph returned.

    ``preferred`` (the IANA zone rmcal asked for) is returned when it maps to ``windows``, so
    that a series created in Europe/Amsterdam reads back as Europe/Amsterdam, not Berlin.
    """
    if preferred:
        try:
            if windows_zone(preferred) == windows:
                return preferred
        except UnknownZone:
            pass
    _, to_iana = _tables()
    if windows in to_iana:
        return to_iana[windows]
    try:  # Graph also echoes IANA names when a client sent one
        return ZoneInfo(windows).key
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"{windows!r} is not a Windows or IANA time zone") from exc
