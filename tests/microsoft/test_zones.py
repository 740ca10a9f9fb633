"""IANA <-> Windows zone names through the CLDR table, and back to the zone rmcal wrote."""

from __future__ import annotations

import pytest
from rmcal_providers.microsoft.zones import UnknownZone, iana_zone, windows_zone


def test_zones_go_to_graph_as_windows_names_and_come_back_as_written():
    assert windows_zone("Europe/Berlin") == "W. Europe Standard Time"
    assert windows_zone("America/New_York") == "Eastern Standard Time"
    assert windows_zone("Asia/Kolkata") == "India Standard Time"
    assert windows_zone("UTC") == "UTC"
    # Several IANA zones share one Windows zone: the one rmcal wrote wins on the way back.
    assert iana_zone("W. Europe Standard Time", preferred="Europe/Amsterdam") == "Europe/Amsterdam"
    assert iana_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_zone("W. Europe Standard Time", preferred="America/Chicago") == "Europe/Berlin"
    assert iana_zone("Europe/Paris") == "Europe/Paris"  # an IANA name echoed back
    with pytest.raises(UnknownZone):
        windows_zone("Mars/Olympus_Mons")


def test_aliases_of_a_zone_get_its_windows_name():
    assert windows_zone("Asia/Calcutta") == windows_zone("Asia/Kolkata")
    assert windows_zone("US/Eastern") == "Eastern Standard Time"


def test_a_name_that_is_no_zone_at_all_is_refused_on_the_way_back():
    with pytest.raises(UnknownZone, match="not a Windows or IANA time zone"):
        iana_zone("Nowhere Standard Time")
