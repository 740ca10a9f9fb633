"""The naive baseline: the obvious script, one request per step, with the same libraries.

For each pair in config order: read both people's free/busy over the series horizon (in the
windows the API accepts, one call each), pick the slot with rmcal's own slot finder, and create
the series with one call; then the next pair. MSAL + requests for Graph, google-auth +
google-api-python-client for Google, as rmcal uses. It waits out a throttled answer the way the
library or the API documents (Graph's Retry-After, googleapiclient's ``num_retries``) and
nothing more: no batching, no concurrency, no pacing.

    python -m bench.naive config.yaml
"""

from __future__ import annotations

import functools
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cohort import SCHEDULE_NOW
from rmcal.config import load_config
from rmcal.intervals import windows
from rmcal.invite import InviteText
from rmcal.model import Config, Pair
from rmcal.plan import build_spec
from rmcal.provider import BusyMap, SeriesSpec
from rmcal.schedule import busy_horizon
from rmcal.slots import Slot, find_slot


def _text(pair: Pair) -> InviteText:
    title = f"Reverse mentoring: {pair.mentor.name} & {pair.mentee.name}"
    return InviteText(title, f"<p>{title}</p>", title)


def _slot(config: Config, pair: Pair, busy: BusyMap, now: datetime) -> Slot | None:
    start = max(config.cohort(pair.cohort_id).start, now.date() + timedelta(days=1))
    found = find_slot(pair, start, busy, programme_zone=config.programme.timezone)
    return found if isinstance(found, Slot) else None


def run_graph(config: Config, now: datetime) -> int:
    import msal
    import requests
    from rmcal_providers.microsoft.events import event_body, utc_text

    settings = config.provider.settings
    ca = settings["ca_bundle"]
    msal_http = requests.Session()
    # per request, as rmcal does: a session-level verify loses to REQUESTS_CA_BUNDLE
    msal_http.request = functools.partial(msal_http.request, verify=ca, timeout=60)  # type: ignore[method-assign]
    app = msal.ConfidentialClientApplication(
        settings["client_id"],
        authority=f"{settings['authority_host']}/{settings['tenant_id']}",
        client_credential=os.environ[settings["client_secret_env"]],
        instance_discovery=False,
        http_client=msal_http,
    )
    token = app.acquire_token_for_client(scopes=[f"{settings['graph_url']}/.default"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    base = f"{settings['graph_url']}/v1.0/users/{config.programme.organizer.email}"

    def post(path: str, body: dict[str, Any]) -> Any:
        while True:
            reply = session.post(base + path, json=body, verify=ca, timeout=60)
            if reply.status_code == 429:
                time.sleep(float(reply.headers.get("Retry-After", "1")))
                continue
            reply.raise_for_status()
            return reply.json()

    start, end = busy_horizon(config, now, None)
    made = 0
    for pair in config.pairs:
        busy: dict[str, list[tuple[datetime, datetime]]] = {p.email: [] for p in pair.people}
        for w_start, w_end in windows(start, end, timedelta(days=61)):
            answer = post(
                "/calendar/getSchedule",
                {
                    "schedules": [p.email for p in pair.people],
                    "startTime": {"dateTime": utc_text(w_start), "timeZone": "UTC"},
                    "endTime": {"dateTime": utc_text(w_end), "timeZone": "UTC"},
                    "availabilityViewInterval": 60,
                },
            )
            for info in answer.get("value") or []:
                for item in info.get("scheduleItems") or []:
                    busy[info["scheduleId"].lower()].append(
                        (_graph_time(item["start"]), _graph_time(item["end"]))
                    )
        slot = _slot(config, pair, {k: tuple(v) for k, v in busy.items()}, now)
        if slot is None:
            continue
        spec: SeriesSpec = build_spec(config, pair, slot, _text(pair), video=False)
        post("/events", event_body(spec, organizer=config.programme.organizer.email, create=True))
        made += 1
    return made


def _graph_time(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


def run_google(config: Config, now: datetime) -> int:
    import json

    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    from rmcal_providers.google.events import event_body, parse_time, rfc3339
    from rmcal_providers.google.settings import default_scopes

    settings = config.provider.settings
    info = json.loads(Path(settings["service_account_file"]).read_text())
    info["token_uri"] = settings["token_uri"]
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=list(default_scopes(False)), subject=config.programme.organizer.email
    )
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(ca_certs=settings["ca_bundle"], timeout=60)
    )
    calendar = build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": settings["api_endpoint"]},
    )
    start, end = busy_horizon(config, now, None)
    made = 0
    for pair in config.pairs:
        busy: dict[str, list[tuple[datetime, datetime]]] = {p.email: [] for p in pair.people}
        for w_start, w_end in windows(start, end, timedelta(days=90)):
            body = {
                "timeMin": rfc3339(w_start),
                "timeMax": rfc3339(w_end),
                "items": [{"id": p.email} for p in pair.people],
            }
            answer = calendar.freebusy().query(body=body).execute(num_retries=10)
            for who, entry in (answer.get("calendars") or {}).items():
                for block in entry.get("busy") or []:
                    busy[who.lower()].append((parse_time(block["start"]), parse_time(block["end"])))
        slot = _slot(config, pair, {k: tuple(v) for k, v in busy.items()}, now)
        if slot is None:
            continue
        spec = build_spec(config, pair, slot, _text(pair), video=False)
        calendar.events().insert(
            calendarId="primary", body=event_body(spec), sendUpdates="all"
        ).execute(num_retries=10)
        made += 1
    return made


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    now = datetime.fromisoformat(SCHEDULE_NOW)
    config = load_config(Path(args[0]), now=now, force=True)
    kind = config.provider.kind
    made = run_graph(config, now) if kind == "microsoft" else run_google(config, now)
    print(f"naive: {made} of {len(config.pairs)} pairs created")


if __name__ == "__main__":
    main()
