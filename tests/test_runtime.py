"""``runtime``: the clock ``--now`` sets; one session opens and closes store and provider."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rmcal.config import load_config
from rmcal.errors import ConfigError, StateLocked
from rmcal.model import Config
from rmcal.runtime import (
    ReadThrough,
    check_cohorts,
    clock_from,
    open_provider,
    parse_now,
    session,
)
from rmcal.store import Mode, Store
from tests.tickworld import CONFIG, SCHEDULED_AT


@pytest.fixture
def config(tmp_path: Path) -> Config:
    (tmp_path / "rmcal.yaml").write_text(CONFIG)
    return load_config(tmp_path / "rmcal.yaml", now=SCHEDULED_AT)


class Recorder:
    """Stands in for the provider: remembers that it was closed."""

    name = "recorder"

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Recorder, dict[str, Any]]]:
    """Every provider a session opens, with the keywords it was opened with."""
    made: list[tuple[Recorder, dict[str, Any]]] = []

    def fake_open(config: Config, **kw: Any) -> Recorder:
        made.append((Recorder(), kw))
        return made[-1][0]

    monkeypatch.setattr("rmcal.runtime.open_provider", fake_open)
    return made


# -- the clock -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2027-01-18", datetime(2027, 1, 18, tzinfo=UTC)),
        ("2027-01-18T09:00Z", datetime(2027, 1, 18, 9, tzinfo=UTC)),
        ("2027-01-18T09:00+01:00", datetime(2027, 1, 18, 8, tzinfo=UTC)),
    ],
)
def test_now_is_an_aware_iso_moment(text: str, moment: datetime) -> None:
    assert parse_now(text) == moment and parse_now(text).tzinfo is not None


def test_a_bad_now_is_a_config_error_naming_the_option() -> None:
    with pytest.raises(ConfigError, match="--now: 'soon' is not an ISO 8601 date or time"):
        parse_now("soon")


def test_the_clock_starts_at_now_and_moves_with_real_time() -> None:
    clock = clock_from(SCHEDULED_AT)
    first = clock()
    time.sleep(0.01)
    second = clock()
    assert SCHEDULED_AT <= first < second < SCHEDULED_AT + timedelta(seconds=5)


def test_the_provider_gets_the_sessions_clock(config: Config) -> None:
    clock = clock_from(SCHEDULED_AT)
    provider = open_provider(config, clock=clock)
    try:
        assert provider.context.clock is clock  # type: ignore[attr-defined]  # local provider
    finally:
        provider.close()


def test_full_reaches_the_provider_through_the_session(config: Config) -> None:
    """``tick --full`` / ``status --full``: the provider is told to read the calendar in full."""
    with session(config, mode=Mode.LOCKED, full_read=True) as run:
        assert run.provider.context.full_read  # type: ignore[attr-defined]  # local provider
    with session(config, mode=Mode.LOCKED) as run:
        assert not run.provider.context.full_read  # type: ignore[attr-defined]


# -- one session ---------------------------------------------------------------------------


def test_a_session_opens_the_provider_on_first_use_and_closes_both(
    config: Config, opened: list[tuple[Recorder, dict[str, Any]]]
) -> None:
    clock = clock_from(SCHEDULED_AT)
    with session(config, mode=Mode.LOCKED, clock=clock) as run:
        assert opened == []
        assert run.provider is run.provider
        ((provider, kw),) = opened
        assert kw["kv"] is run.store and kw["clock"] is clock
        with pytest.raises(StateLocked):
            Store.open(config.state_path)
    assert provider.closed
    Store.open(config.state_path).close()  # the lock went with the session


def test_a_session_that_never_needs_the_provider_never_opens_it(
    config: Config, opened: list[tuple[Recorder, dict[str, Any]]]
) -> None:
    with session(config, mode=Mode.LOCKED) as run:
        run.store.put("ns", "k", "v")
    assert opened == []


def test_a_read_only_session_creates_nothing_and_keeps_provider_writes_in_memory(
    config: Config, opened: list[tuple[Recorder, dict[str, Any]]]
) -> None:
    with session(config, mode=Mode.READ_ONLY) as run:
        assert run.provider is opened[0][0]
        kv = opened[0][1]["kv"]
        assert isinstance(kv, ReadThrough)
        kv.put("sync", "token", "t1")
        assert kv.get("sync", "token") == "t1"
    assert not config.state_path.exists()


def test_read_through_reads_the_file_until_it_writes(config: Config) -> None:
    with Store.open(config.state_path) as store:
        store.put("sync", "token", "from-file")
    with Store.open(config.state_path, mode=Mode.READ_ONLY) as store:
        view = ReadThrough(store)
        assert view.get("sync", "token") == "from-file"
        view.put("sync", "token", None)
        assert view.get("sync", "token") is None
        assert store.get("sync", "token") == "from-file"


def test_a_memory_session_leaves_no_file(config: Config) -> None:
    with session(config, mode=Mode.MEMORY) as run:
        run.store.put("ns", "k", "v")
    assert not config.state_path.exists()


@pytest.mark.parametrize("existed", [False, True])
def test_bad_input_removes_a_state_file_the_session_created(config: Config, existed: bool) -> None:
    if existed:
        Store.open(config.state_path).close()
    with pytest.raises(ConfigError), session(config, mode=Mode.LOCKED, discard_new_state=True):
        raise ConfigError("bad input")
    assert config.state_path.exists() is existed


def test_other_errors_keep_the_state_file(config: Config) -> None:
    with pytest.raises(RuntimeError), session(config, mode=Mode.LOCKED, discard_new_state=True):
        raise RuntimeError("a bug, not bad input")
    assert config.state_path.exists()


def test_cohorts_are_checked_once_with_the_known_ones_named(config: Config) -> None:
    assert [c.id for c in check_cohorts(config, ["c1"])] == ["c1"]
    with pytest.raises(ConfigError, match="--cohort: no cohort 'c9'; cohorts: c1"):
        check_cohorts(config, ["c9"])
    with pytest.raises(ConfigError, match=r"cohorts in rmcal\.yaml: c1"):
        check_cohorts(config, ["c9"], named_in=Path("rmcal.yaml"))
