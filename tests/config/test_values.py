"""``rmcal.config.values``: the grammar of one value, good (typed result) and bad (one line)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rmcal.errors import ConfigError
from rmcal.model import Cadence, FixedSlot, Window
from tests.config.helpers import (
    MON_FRI,
    TEMPLATE,
    assert_one_line,
    defaults_with,
    error_cases,
    load,
)


@error_cases("values")
def test_bad_value_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


# -- the value syntaxes, one config per value ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45m", 45), ("1h", 60), ("1h30m", 90), ("90 minutes", 90), ("45", 45), ("1.5h", 90)],
)
def test_durations(tmp_path: Path, text: str, minutes: int) -> None:
    config = defaults_with(tmp_path, "duration", text)
    assert config.defaults.duration == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "cadence"),
    [
        ("weekly", Cadence("weekly", 1, text="weekly")),
        ("every 2 weeks", Cadence("weekly", 2, text="every 2 weeks")),
        ("Every 3 Weeks", Cadence("weekly", 3, text="Every 3 Weeks")),
        ("fortnightly", Cadence("weekly", 2, text="fortnightly")),
        ("monthly", Cadence("monthly", 1, text="monthly")),
        ("every 2 months", Cadence("monthly", 2, text="every 2 months")),
        (
            "RRULE:FREQ=WEEKLY;INTERVAL=3",
            Cadence("rrule", 3, "FREQ=WEEKLY;INTERVAL=3", text="RRULE:FREQ=WEEKLY;INTERVAL=3"),
        ),
    ],
)
def test_cadences(tmp_path: Path, text: str, cadence: Cadence) -> None:
    assert defaults_with(tmp_path, "cadence", text).defaults.cadence == cadence


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Mon-Fri", MON_FRI),
        ("[Mon, Wed]", frozenset({0, 2})),
        ("Sun-Thu", frozenset({6, 0, 1, 2, 3})),
        ('"Monday, Thursday-Friday"', frozenset({0, 3, 4})),
    ],
)
def test_window_days(tmp_path: Path, text: str, days: frozenset[int]) -> None:
    config = defaults_with(tmp_path, "window", f'{{days: {text}, hours: "08:30-24:00"}}')
    assert config.defaults.window == Window(days, 8 * 60 + 30, 24 * 60)


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("Wed 14:00", FixedSlot(2, 14 * 60)),
        ("Wednesday 14:00", FixedSlot(2, 14 * 60)),
        ("Wed 9:30 Asia/Kolkata", FixedSlot(2, 9 * 60 + 30, "Asia/Kolkata")),
    ],
)
def test_fixed_slots(tmp_path: Path, text: str, slot: FixedSlot) -> None:
    config = defaults_with(tmp_path, "video", "auto", pair_extra=f"slot: {text}")
    assert config.pairs[0].fixed_slot == slot


def test_a_long_value_is_quoted_short_in_its_message(tmp_path: Path) -> None:
    """A 10,000-character address makes a readable error line, not a 10,000-character one."""
    path = tmp_path / "config.yaml"
    path.write_text(
        TEMPLATE.format(key="video", value="auto", pair_extra="").replace(
            "ana@northwind.example", "a" * 10_000 + "@northwind.example"
        )
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        f"{path}:14: cohorts[0].pairs[0].mentor.email: '{'a' * 60}...' (10,018 characters) "
        "is not an e-mail address; the email address is too long before the @-sign "
        "(9936 characters too many)"
    )


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Ana.Lee@Northwind.Example", "ana.lee@northwind.example"),
        ("ana@münchen.example", "ana@xn--mnchen-3ya.example"),
        ("o'brien+rm@northwind.example", "o'brien+rm@northwind.example"),
    ],
    ids=["case", "idn-domain", "atext"],
)
def test_addresses_are_stored_lower_case_and_ascii(tmp_path: Path, written: str, stored: str):
    path = tmp_path / "config.yaml"
    path.write_text(
        TEMPLATE.format(key="video", value="auto", pair_extra="").replace(
            "ana@northwind.example", f'"{written}"'
        )
    )
    assert load(path).pairs[0].mentor.email == stored
