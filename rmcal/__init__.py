"""rmcal: the calendar and e-mail side of reverse-mentoring programmes, as a library.

Everything ``rmcal`` does on the command line is a function call first::

    import rmcal

    config = rmcal.load_config("programme.yaml")
    now = rmcal.parse_now(None)
    with rmcal.session(config, mode=rmcal.Mode.LOCKED, clock=rmcal.clock_from(now)) as run:
        result = rmcal.run_schedule(config, run.provider, run.store, now=now, dry_run=True)
        readings = rmcal.read_programme(config, run.provider, now)

The names below are the public surface (``tests/test_public_api.py`` keeps ``__all__`` equal
to them); modules are free to move behind it.
"""

from rmcal.config import load_config
from rmcal.digest import Digest, build_digest, lead_digest
from rmcal.errors import (
    AuthError,
    ConfigError,
    NotFound,
    PartialFailure,
    PermissionDenied,
    ProviderError,
    QuotaError,
    RmcalError,
    SettingsError,
    StateError,
    StateLocked,
)
from rmcal.model import Config
from rmcal.outbox import Delivery, Outbox, Outgoing
from rmcal.provider import Provider, ProviderContext
from rmcal.readings import PairReading, read_programme
from rmcal.runtime import clock_from, open_provider, parse_now, session
from rmcal.schedule import ScheduleResult, run_schedule
from rmcal.store import MailStatus, Mode, Store
from rmcal.tick import TickResult, due, run_tick

__all__ = [
    "AuthError",
    "Config",
    "ConfigError",
    "Delivery",
    "Digest",
    "MailStatus",
    "Mode",
    "NotFound",
    "Outbox",
    "Outgoing",
    "PairReading",
    "PartialFailure",
    "PermissionDenied",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "QuotaError",
    "RmcalError",
    "ScheduleResult",
    "SettingsError",
    "StateError",
    "StateLocked",
    "Store",
    "TickResult",
    "build_digest",
    "clock_from",
    "due",
    "lead_digest",
    "load_config",
    "open_provider",
    "parse_now",
    "read_programme",
    "run_schedule",
    "run_tick",
    "session",
]
