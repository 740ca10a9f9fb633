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

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:  # for type checkers and readers; at run time each name loads on first use
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

# Where each public name lives. Loaded on first use (PEP 562), so that ``rmcal --help`` and
# ``import rmcal.errors`` do not pay for YAML, Jinja, SQLite and the planner.
_HOMES = {
    "load_config": "rmcal.config",
    "Digest": "rmcal.digest",
    "build_digest": "rmcal.digest",
    "lead_digest": "rmcal.digest",
    "AuthError": "rmcal.errors",
    "ConfigError": "rmcal.errors",
    "NotFound": "rmcal.errors",
    "PartialFailure": "rmcal.errors",
    "PermissionDenied": "rmcal.errors",
    "ProviderError": "rmcal.errors",
    "QuotaError": "rmcal.errors",
    "RmcalError": "rmcal.errors",
    "SettingsError": "rmcal.errors",
    "StateError": "rmcal.errors",
    "StateLocked": "rmcal.errors",
    "Config": "rmcal.model",
    "Delivery": "rmcal.outbox",
    "Outbox": "rmcal.outbox",
    "Outgoing": "rmcal.outbox",
    "Provider": "rmcal.provider",
    "ProviderContext": "rmcal.provider",
    "PairReading": "rmcal.readings",
    "read_programme": "rmcal.readings",
    "clock_from": "rmcal.runtime",
    "open_provider": "rmcal.runtime",
    "parse_now": "rmcal.runtime",
    "session": "rmcal.runtime",
    "ScheduleResult": "rmcal.schedule",
    "run_schedule": "rmcal.schedule",
    "MailStatus": "rmcal.store",
    "Mode": "rmcal.store",
    "Store": "rmcal.store",
    "TickResult": "rmcal.tick",
    "due": "rmcal.tick",
    "run_tick": "rmcal.tick",
}


def __getattr__(name: str) -> _Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rmcal' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
