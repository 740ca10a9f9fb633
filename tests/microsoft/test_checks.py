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
    assert [r.ok for r in rows] == [True, True, True, True, True]
    lookup = rows[-1]
    assert lookup.name == "sent items lookup"
    assert lookup.detail.startswith("off: uncertain sends wait for `rmcal outbox resolve`")


def mock_green(rsps: responses.RequestsMock, roles: tuple[str, ...]) -> None:
    mock_login(rsps, roles=roles)
    rsps.add(responses.GET, f"{USER}/calendar", json={"id": "cal", "name": "Calendar"})
    rsps.add(
        responses.POST,
        f"{USER}/calendar/getSchedule",
        json={"value": [{"scheduleId": ORGANIZER, "scheduleItems": []}]},
    )


def test_auth_check_probes_the_sent_items_lookup_when_it_is_on(tmp_path):
    roles = ("Calendars.ReadWrite", "Mail.Send", "Mail.ReadBasic.All")
    with responses.RequestsMock() as rsps:
        mock_green(rsps, roles)
        probe = rsps.add(responses.GET, f"{USER}/messages", json={"value": []})
        rows = provider(tmp_path, sent_items_lookup=True).check()
    lookup = rows[-1]
    assert (lookup.name, lookup.ok) == ("sent items lookup (Mail.ReadBasic.All)", True)
    assert probe.call_count == 1
    assert "%24top=1" in probe.calls[0].request.url


def test_auth_check_names_the_mail_read_permission_the_lookup_lacks(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_green(rsps, ("Calendars.ReadWrite", "Mail.Send"))
        rsps.add(
            responses.GET,
            f"{USER}/messages",
            status=403,
            json=fixture("errors")["ErrorAccessDenied"]["body"],
        )
        rows = provider(tmp_path, sent_items_lookup=True).check()
    lookup = rows[-1]
    assert not lookup.ok
    assert "Mail.ReadBasic.All" in lookup.remedy and "Grant admin consent" in lookup.remedy
