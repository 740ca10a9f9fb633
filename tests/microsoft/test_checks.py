"""``rmcal auth check`` rows: the token, each permission rmcal needs, and the remedy for each
missing one in the words of the Entra admin center."""

from __future__ import annotations

import pytest
import responses
from click.testing import CliRunner
from rmcal_providers.microsoft import MicrosoftProvider

from rmcal.cli import main
from tests.fakes.tls import make_client_certificate
from tests.microsoft.helpers import (
    CLIENT_ID,
    ORGANIZER,
    TENANT,
    USER,
    context,
    fixture,
    mock_login,
    provider,
)


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
    # Sending cannot be tried without sending: not in the token is a warning with both ways
    # to grant it, never a failure (RBAC for Applications puts nothing in the token).
    mail = rows["send mail (Mail.Send)"]
    assert mail.ok and mail.warn
    assert "Test-ServicePrincipalAuthorization -Identity" in mail.remedy
    assert "add Microsoft Graph application permission Mail.Send" in mail.remedy


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
    assert [(r.name, r.ok, r.warn) for r in rows] == [
        ("token", True, False),
        ("organizer calendar (Calendars.ReadWrite)", True, False),
        ("free/busy (Calendars.Read)", True, False),
        ("write events (Calendars.ReadWrite)", True, False),
        ("send mail (Mail.Send)", True, False),
        ("sent items lookup", True, False),
    ]
    lookup = rows[-1]
    assert lookup.detail.startswith("off: uncertain sends wait for `rmcal outbox resolve`")
    assert "Entra grants it: Calendars.ReadWrite, Mail.Send" in rows[0].detail


# -- RBAC for Applications: the setup docs/microsoft.md recommends --------------------------------

CONFIG = """\
programme:
  name: Check
  purpose: Juniors teach seniors.
  organizer: {{email: {organizer}}}
  timezone: Europe/London
provider:
  kind: microsoft
  tenant_id: {tenant}
  client_id: {client}
  client_secret_env: GRAPH_SECRET
cohorts:
  - id: c1
    start: next Monday
    pairs:
      - mentor: {{email: ana@contoso.com, name: Ana}}
        mentee: {{email: ben@contoso.com, name: Ben}}
"""


def _probes(rsps, calendar_status: int = 200) -> None:
    body = (
        {"id": "cal", "name": "Calendar"}
        if calendar_status == 200
        else fixture("errors")["ErrorAccessDenied"]["body"]
    )
    rsps.add(responses.GET, f"{USER}/calendar", json=body, status=calendar_status)
    rsps.add(
        responses.POST,
        f"{USER}/calendar/getSchedule",
        json={"value": [{"scheduleId": ORGANIZER, "scheduleItems": []}]},
    )


def test_rbac_for_applications_passes_with_what_cannot_be_proven_said_plainly(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps, roles=())  # Exchange role assignments put no roles in the token
        _probes(rsps)
        rows = {row.name: row for row in provider(tmp_path).check()}
    assert all(row.ok for row in rows.values()), rows
    assert "no application roles, so Exchange (RBAC for Applications) decides" in (
        rows["token"].detail
    )
    assert not rows["organizer calendar (Calendars.ReadWrite)"].warn  # proven by the call
    for name, role in (
        ("write events (Calendars.ReadWrite)", "Application Calendars.ReadWrite"),
        ("send mail (Mail.Send)", "Application Mail.Send"),
    ):
        row = rows[name]
        assert row.warn and "granted by RBAC for Applications or missing" in row.detail
        assert row.remedy.startswith(
            f"with RBAC for Applications, run Test-ServicePrincipalAuthorization -Identity "
            f"{CLIENT_ID} -Resource {ORGANIZER} (Exchange Online PowerShell): the role '{role}' "
            "must show InScope True"
        )


def test_rbac_without_the_calendar_role_names_the_exchange_command_not_a_tenant_grant(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps, roles=())
        _probes(rsps, calendar_status=403)
        rows = {row.name: row for row in provider(tmp_path).check()}
    calendar = rows["organizer calendar (Calendars.ReadWrite)"]
    assert not calendar.ok
    assert "New-ManagementRoleAssignment -App" in calendar.remedy
    assert "Grant admin consent" not in calendar.remedy


def test_the_cli_passes_an_rbac_setup_and_lists_what_to_confirm(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPH_SECRET", "not-a-real-secret")
    config = tmp_path / "programme.yaml"
    config.write_text(
        CONFIG.format(organizer=ORGANIZER, tenant=TENANT, client=CLIENT_ID), encoding="utf-8"
    )
    with responses.RequestsMock() as rsps:
        mock_login(rsps, roles=())
        _probes(rsps)
        result = CliRunner().invoke(main, ["auth", "check", "-c", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[-1]
        == "All 6 checks passed for provider microsoft (2 to confirm, see 'check:' above)."
    )
    assert "warn send mail (Mail.Send): not in the token and not tried" in result.output
    assert "     check: with RBAC for Applications, run Test-ServicePrincipalAuthorization" in (
        result.output
    )


# -- the certificate's expiry ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "ok", "warn", "says"),
    [
        (400, True, False, "valid until"),
        (10, True, True, "in 9 day(s)"),
        (-0.002, False, False, "expired on"),
    ],
)
def test_certificate_expiry_is_reported_and_warned_under_30_days(tmp_path, days, ok, warn, says):
    pem, _ = make_client_certificate(tmp_path, valid_days=days)
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        _probes(rsps)
        p = MicrosoftProvider(
            {"tenant_id": TENANT, "client_id": CLIENT_ID, "certificate_file": str(pem)},
            context(tmp_path, env={}),
        )
        rows = {row.name: row for row in p.check()}
    row = rows["certificate"]
    assert (row.ok, row.warn) == (ok, warn)
    assert says in row.detail
    if warn or not ok:
        assert "upload it to the app registration" in row.remedy


def mock_green(rsps: responses.RequestsMock, roles: tuple[str, ...]) -> None:
    mock_login(rsps, roles=roles)
    _probes(rsps)


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
