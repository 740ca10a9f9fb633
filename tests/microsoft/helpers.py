"""Plain helpers for the Microsoft provider tests: constants, fixture files, mocked sign-in.

Fixtures in tests/microsoft/fixtures/ are Graph responses shaped as on the Microsoft Learn page
named in their ``_source`` key; ``fixture()`` strips that key and fills ``{placeholders}``.
pytest fixtures live in ``conftest.py``; these are functions a test calls with its own arguments.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import responses
from rmcal_providers.microsoft import MicrosoftProvider

from rmcal.provider import Attendee, ProviderContext, Series, SeriesSpec

FIXTURES = Path(__file__).parent / "fixtures"
TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
LOGIN = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com/v1.0"
ORGANIZER = "org@contoso.com"
USER = f"{GRAPH}/users/{ORGANIZER}"
BATCH = f"{GRAPH}/$batch"
NYC = ZoneInfo("America/New_York")
ALL_ROLES = ("Calendars.ReadWrite", "Mail.Send")
SECRET = "not-a-real-secret"


def fixture(name: str, **fill: str) -> Any:
    """A fixture file without its ``_source`` key, placeholders filled."""
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    data = json.loads(text)
    if isinstance(data, dict):
        data.pop("_source", None)
    return data


def fake_jwt(roles: tuple[str, ...] = ALL_ROLES, scp: str | None = None) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims: dict[str, Any] = {"aud": "https://graph.microsoft.com", "tid": TENANT}
    if roles:
        claims["roles"] = list(roles)
    if scp is not None:
        claims["scp"] = scp
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.signature"


def mock_login(
    rsps: responses.RequestsMock,
    *,
    host: str = LOGIN,
    tenant: str = TENANT,
    roles: tuple[str, ...] = ALL_ROLES,
    token_body: dict[str, Any] | None = None,
    status: int = 200,
) -> responses.BaseResponse:
    """Register the OpenID discovery and token endpoints MSAL calls; returns the token mock."""
    mock_discovery(rsps, host=host, tenant=tenant)
    body = token_body or fixture("token_response", token=fake_jwt(roles))
    return rsps.add(responses.POST, f"{host}/{tenant}/oauth2/v2.0/token", json=body, status=status)


def mock_discovery(
    rsps: responses.RequestsMock, *, host: str = LOGIN, tenant: str = TENANT
) -> None:
    """The tenant's OpenID configuration, which MSAL reads before any token request."""
    openid = json.loads(
        json.dumps(fixture("openid_configuration")).replace(
            "https://login.microsoftonline.com/{tenant}", f"{host}/{tenant}"
        )
    )
    rsps.add(responses.GET, f"{host}/{tenant}/v2.0/.well-known/openid-configuration", json=openid)


def mock_aliases(rsps: responses.RequestsMock, host: str = LOGIN) -> None:
    """MSAL's lazy instance-discovery lookup (it runs on cache lookups and after errors)."""
    rsps.add(responses.GET, f"{host}/common/discovery/instance", json=fixture("instance_discovery"))


def context(tmp_path: Path, env: dict[str, str] | None = None) -> ProviderContext:
    return ProviderContext(
        config_dir=tmp_path,
        state_dir=tmp_path / "state",
        organizer=Attendee(ORGANIZER, "Programme Office"),
        programme="Reverse mentoring",
        timezone="Europe/London",
        env={"GRAPH_SECRET": SECRET} if env is None else env,
    )


def settings(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "auth": "secret",
        "client_secret_env": "GRAPH_SECRET",
        # These tests mock each series' instances; the calendarView/delta path runs against
        # the fake server (test_sync.py).
        "delta_sync": False,
    }
    base.update(extra)
    return base


class Waits:
    """An injected sleep that records waits instead of sleeping, and a matching clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def rng(self) -> float:
        """No jitter: waits are exactly the server's Retry-After or the backoff's floor."""
        return 0.0


def provider(tmp_path: Path, waits: Waits | None = None, **extra: Any) -> MicrosoftProvider:
    waits = waits or Waits()
    return MicrosoftProvider(
        settings(**extra), context(tmp_path), sleep=waits.sleep, clock=waits.clock, rng=waits.rng
    )


def spec(
    n: int = 0,
    *,
    rrule: str = "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=MO;COUNT=6",
    zone: str = "Europe/Amsterdam",
    start: datetime | None = None,
    video: bool = True,
) -> SeriesSpec:
    tz = ZoneInfo(zone)
    return SeriesSpec(
        key=f"key-{n}",
        cohort_id="2026-spring",
        pair_id=f"pair-{n}",
        title=f"Reverse mentoring #{n}",
        description_html=f"<p>Session plan {n}</p>",
        description_text=f"Session plan {n}",
        organizer=Attendee(ORGANIZER, "Programme Office"),
        attendees=(
            Attendee(f"mentor{n}@contoso.com", f"Mentor {n}"),
            Attendee(f"mentee{n}@contoso.com", f"Mentee {n}"),
        ),
        start=start or datetime(2026, 1, 7, 14, 0, tzinfo=tz),
        duration=timedelta(minutes=45),
        timezone=zone,
        rrule=rrule,
        video=video,
        tags=(("key", f"key-{n}"), ("cohort", "2026-spring"), ("pair", f"pair-{n}")),
    )


def query(call: responses.Call) -> dict[str, str]:
    """The query parameters of a recorded request, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def cy_series() -> Series:
    """A series as read back from Outlook: fortnightly Mondays in New York, ten sessions."""
    return Series(
        key="k-cy-di",
        provider_id="AAMkAGUzYRgWAAA=",
        title="Cy & Di",
        start=datetime(2026, 1, 5, 10, 0, tzinfo=NYC),
        duration=timedelta(hours=1),
        timezone="America/New_York",
        rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=MO;COUNT=10",
        attendees=("cy@contoso.com", "di@contoso.com"),
        tags={"key": "k-cy-di", "cohort": "2026-spring"},
    )
