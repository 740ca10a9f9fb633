"""``rmcal.config.leads``: who gets a digest, and which pairs each lead sees."""

from __future__ import annotations

from pathlib import Path

from rmcal.model import pair_id
from tests.config.helpers import assert_one_line, error_cases, load


@error_cases("leads")
def test_bad_lead_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


def test_leads_and_their_scopes(in_fixtures: Path) -> None:
    config = load("merge.yaml")
    lee, max_, zoe = config.programme.leads
    ana_bob = pair_id("c1", "ana@northwind.example", "bob@northwind.example")
    assert (lee.email, lee.timezone, lee.cohorts) == ("lee@northwind.example", "Asia/Tokyo", {"c1"})
    assert max_.pairs == {ana_bob} and max_.timezone == "Europe/London"
    assert zoe.all_pairs
    assert config.pairs[0].lead == "lee@northwind.example"
    assert config.programme.organizer.name == "RM Office"
