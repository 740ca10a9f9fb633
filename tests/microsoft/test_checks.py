"""``rmcal auth check`` rows: the token, each permission rmcal needs, and the remedy for each
missing one in the words of the Entra admin center."""

from __future__ import annotations

import responses

from tests.microsoft.helpers import ORGANIZER, USER, fixture, mock_login, provider


def test_auth_check_names_the_missing_permission(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps, roles=("Calendars.Read",))
        rsps.add(
            responses.GET,
            f"{USER}/calendar",
            status=403,
            json=fixture("errors")["ErrorAccessDenied"]["body"],
        )
        rsps.add(
            responses.POST,
            f"{USER}/calendar/getSchedule",
            json={"value": [{"scheduleId": ORGANIZER, "scheduleItems": []}]},
        )
        rows = {row.name: row for row in provider(tmp_path).check()}
    assert rows["token"].ok
    calendar = rows["organizer calendar (Calendars.ReadWrite)"]
    assert not calendar.ok
    assert "Calendars.ReadWrite" in calendar.remedy
    assert "Grant admin consent" in calendar.remedy
    assert rows["free/busy (Calendars.Read)"].ok
    mail = rows["send mail (Mail.Send)"]
    assert not mail.ok
    assert "Mail.Send" in mail.remedy


def test_auth_check_all_green(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, f"{USER}/calendar", json={"id": "cal", "name": "Calendar"})
        rsps.add(
            responses.POST,
            f"{USER}/calendar/getSchedule",
            json={"value": [{"scheduleId": ORGANIZER, "scheduleItems": []}]},
        )
        rows = provider(tmp_path).check()
    assert [r.ok for r in rows] == [True, True, True, True]
