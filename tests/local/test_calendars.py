"""The calendars folder: a file that cannot be read is a ProviderError naming that file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmcal.errors import ProviderError
from tests.local.helpers import (
    install_fixture,
    provider,
)


def test_a_malformed_file_is_named_in_the_error(tmp_path: Path) -> None:
    p = provider(tmp_path)
    path = install_fixture(p, "series_missing_dtstart")
    with pytest.raises(ProviderError) as caught:
        p.find_series("fixtures")
    assert str(path) in str(caught.value)
    assert "DTSTART" in str(caught.value)
    assert caught.value.remedy
    (check,) = [c for c in p.check() if c.name == "calendars"]
    assert not check.ok and str(path) in check.detail


def test_a_broken_property_is_named_with_its_file(tmp_path: Path) -> None:
    p = provider(tmp_path)
    path = install_fixture(p, "series_broken_dtend")
    with pytest.raises(ProviderError) as caught:
        p.find_series("fixtures")
    message = caught.value.one_line()
    assert message.startswith(f"local: read {path}: ") and "DTEND" in message


def test_a_broken_exdate_is_named_not_skipped(tmp_path: Path) -> None:
    """A cancellation the parser cannot read must not quietly become a session that is held."""
    p = provider(tmp_path)
    path = install_fixture(p, "series_broken_exdate")
    with pytest.raises(ProviderError) as caught:
        p.find_series("fixtures")
    message = caught.value.one_line()
    assert message.startswith(f"local: read {path}: ") and "EXDATE" in message
