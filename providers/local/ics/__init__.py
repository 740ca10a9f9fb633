"""RFC 5545 for the local provider: the pure codec between calendar bytes and rmcal's types.

Why a package of its own: the local provider's files are edited by people and other tools
(declines, cancellations, moved sessions), so reading them must accept everything RFC 5545 allows
for those edits (overrides with RECURRENCE-ID, EXDATE, RDATE, STATUS, Windows or custom TZIDs,
floating and all-day times) while writing stays narrow and canonical. Everything here is pure:
bytes in, objects out; the provider (``rmcal_providers.local.provider``) does the file I/O.

- ``values``: property values narrowed to dates, rules, addresses, text; one ``IcsError``
- ``recurring``: one UID (master + overrides) and the occurrences it makes
- ``series``: a series file read back as the contract's ``Series`` and ``Occurrence``
- ``write``: a spec written as a master VEVENT, updates that keep what people did
- ``vtimezone``: VTIMEZONE blocks generated from the IANA rules
- ``busy``: a person's exported calendar read as busy time
"""

from .busy import busy_intervals, transparent
from .recurring import Instance, Recurring, parse_calendar
from .series import SeriesFile, read_series, uid_for
from .values import IcsError, email_of, param_of, prop_values, text_of, zone_name
from .write import (
    assemble,
    custom_timezones,
    fill_master,
    itip,
    new_master,
    prune,
    request,
    signature,
    timing,
)

__all__ = [
    "IcsError",
    "Instance",
    "Recurring",
    "SeriesFile",
    "assemble",
    "busy_intervals",
    "custom_timezones",
    "email_of",
    "fill_master",
    "itip",
    "new_master",
    "param_of",
    "parse_calendar",
    "prop_values",
    "prune",
    "read_series",
    "request",
    "signature",
    "text_of",
    "timing",
    "transparent",
    "uid_for",
    "zone_name",
]
