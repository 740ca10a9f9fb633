"""The ``local`` provider: calendars as ``.ics`` files in a folder, mail as ``.eml`` (and SMTP).

The entry point ``rmcal_providers.local:LocalProvider`` names the class re-exported here; see
``provider`` for why the provider exists and the sibling modules for each of its jobs.
"""

from .provider import LocalProvider

__all__ = ["LocalProvider"]
