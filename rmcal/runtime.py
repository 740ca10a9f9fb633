"""Wiring shared by every command: the clock, the provider, the state file, opened as one session.

Kept out of ``rmcal.cli`` so that a library caller (a notebook, another tool) can do what a
command does with plain function calls::

    with session(config, mode=Mode.LOCKED, clock=clock_from(now)) as run:
        result = run_tick(config, run.provider, run.store, now=now)

``session`` opens the state file the one way ``Store.open`` knows (locked, read-only or in
memory) and the configured provider on top of it, hands both to the caller and closes both,
whatever happens. Read-only sessions give the provider a view of the state file whose writes
stay in memory, so that ``rmcal status`` can run while a ``tick`` sends.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rmcal.errors import ConfigError, SettingsError
from rmcal.model import Cohort, Config
from rmcal.provider import (
    Attendee,
    Clock,
    KeyValue,
    MemoryKeyValue,
    Provider,
    ProviderContext,
    load_provider_factory,
    wall_clock,
)
from rmcal.store import Mode, Store, remove_state

log = logging.getLogger("rmcal")


def parse_now(text: str | None) -> datetime:
    """``--now``/``RMCAL_NOW``: an ISO 8601 moment (a date means its midnight UTC); else the clock.

    Injectable so tests, demos and backfills can walk a cohort's life in seconds.
    """
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{text!r} is not an ISO 8601 date or time",
            key="--now",
            hint="e.g. 2027-01-18T09:00 or 2027-01-18T09:00+01:00",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def clock_from(start: datetime) -> Clock:
    """A clock that reads ``start`` now and moves on with real time.

    What ``--now`` means for everything that stamps a time (ledger rows, ``Date`` headers,
    ``DTSTAMP``): the whole run happens at the pretended moment, in the order it really ran.
    """
    began = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - began)

    return now


def check_cohorts(
    config: Config, cohort_ids: Iterable[str], *, named_in: Path | None = None
) -> list[Cohort]:
    """The cohorts named on the command line (``--cohort``), or a ConfigError listing the
    config's cohorts (``named_in``: the config file as the user gave it, for the hint)."""
    found = []
    for cohort_id in cohort_ids:
        try:
            found.append(config.cohort(cohort_id))
        except KeyError:
            known = ", ".join(c.id for c in config.cohorts)
            where = f" in {named_in}" if named_in is not None else ""
            raise ConfigError(
                f"no cohort {cohort_id!r}", key="--cohort", hint=f"cohorts{where}: {known}"
            ) from None
    return found


def open_provider(
    config: Config,
    *,
    kv: KeyValue | None = None,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
    clock: Clock = wall_clock,
    full_read: bool = False,
) -> Provider:
    """Build the configured provider; its settings errors point at the config file's lines.

    ``full_read`` (``--full``) makes it read the calendar in full instead of only the changes
    since the last run.
    """
    try:
        factory = load_provider_factory(config.provider.kind)
    except ConfigError as exc:
        raise ConfigError(
            exc.message,
            file=str(config.path),
            line=config.lines.get("provider.kind") or config.lines.get("provider"),
            key="provider.kind",
            hint=exc.hint,
        ) from exc
    context = ProviderContext(
        config_dir=config.path.parent,
        state_dir=config.state_path.parent,
        organizer=Attendee(config.programme.organizer.email, config.programme.organizer.name),
        programme=config.programme.name,
        timezone=config.programme.timezone,
        log=logging.getLogger(f"rmcal.provider.{config.provider.kind}"),
        env=dict(os.environ if env is None else env),
        kv=kv if kv is not None else MemoryKeyValue(),
        echo=echo,
        clock=clock,
        full_read=full_read,
    )
    try:
        return factory(config.provider.settings, context)
    except SettingsError as exc:
        raise ConfigError(
            exc.message,
            file=str(config.path),
            line=_provider_line(config, exc.key),
            key=f"provider.{exc.key}",
            hint=exc.hint,
        ) from exc


def _provider_line(config: Config, key: str) -> int | None:
    lines = config.lines
    return lines.get(f"provider.{key}") or lines.get("provider")


class ReadThrough:
    """A KeyValue that reads the state file but keeps writes in memory (read-only sessions).

    A provider may remember things while reading (sync tokens); a read-only command must not
    write them to a file it has not locked, and dropping them costs only a fuller read later.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.memory = MemoryKeyValue()
        self.written: set[tuple[str, str]] = set()

    def get(self, namespace: str, key: str) -> str | None:
        if (namespace, key) in self.written:
            return self.memory.get(namespace, key)
        return self.store.get(namespace, key)

    def put(self, namespace: str, key: str, value: str | None) -> None:
        self.written.add((namespace, key))
        self.memory.put(namespace, key, value)


class Session:
    """An open state file and the provider on top of it; the provider opens on first use.

    (A run of rmcal, not a mentoring session: those are ``rmcal.attendance.Session``.)

    Commands that only need the state file (``feedback import``) never build a provider, so
    they work without the provider's credentials.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        kv: KeyValue,
        clock: Clock,
        echo: Callable[[str], None],
        full_read: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._kv = kv
        self._echo = echo
        self._full_read = full_read
        self._provider: Provider | None = None

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = open_provider(
                self.config,
                kv=self._kv,
                echo=self._echo,
                clock=self.clock,
                full_read=self._full_read,
            )
        return self._provider

    def close(self) -> None:
        provider, self._provider = self._provider, None
        try:
            if provider is not None:
                provider.close()
        finally:
            self.store.close()


@contextmanager
def session(
    config: Config,
    *,
    mode: Mode,
    wait: float = 0.0,
    clock: Clock = wall_clock,
    echo: Callable[[str], None] = print,
    discard_new_state: bool = False,
    full_read: bool = False,
) -> Iterator[Session]:
    """Open the state file (``mode``, waiting ``wait`` seconds for its lock) and the provider;
    close both on the way out.

    ``full_read``: the provider reads the calendar in full (``--full``), not only its changes.

    ``discard_new_state``: when the session created the state file and ends with a
    ``ConfigError``, the file goes again, so that bad input leaves nothing behind.
    """
    fresh = mode is Mode.LOCKED and not config.state_path.exists()
    store = Store.open(config.state_path, mode=mode, wait=wait, clock=clock)
    kv: KeyValue = ReadThrough(store) if mode is Mode.READ_ONLY else store
    opened = Session(config, store, kv, clock, echo, full_read)
    bad_input = False
    try:
        yield opened
    except ConfigError:
        bad_input = True
        raise
    finally:
        opened.close()
        if bad_input and fresh and discard_new_state:
            remove_state(config.state_path)
