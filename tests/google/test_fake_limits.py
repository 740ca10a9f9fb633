"""The fake Google server enforces the per-user Calendar quota the way Google answers it.

The benchmark's "0 throttled responses" only means something if the fake would have refused
more: one call past the quota, alone or inside a batch, comes back 403 ``rateLimitExceeded``.
"""

from __future__ import annotations

import json

from tests.fakes.google_server import FakeGoogle

USER = "rm@example.com"
SCOPE = "https://www.googleapis.com/auth/calendar"


def _freebusy(fake: FakeGoogle, token: str) -> tuple[int, dict]:
    body = {
        "timeMin": "2027-01-01T00:00:00Z",
        "timeMax": "2027-01-02T00:00:00Z",
        "items": [{"id": USER}],
    }
    status, _, data = fake.handle(
        "POST",
        "/calendar/v3/freeBusy",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )
    return status, json.loads(data)


def test_one_call_past_the_per_user_quota_is_refused_with_rate_limit_exceeded():
    fake = FakeGoogle(users=[USER], per_user_per_minute=5)
    token = fake._issue(USER, {SCOPE})["access_token"]
    statuses = [_freebusy(fake, token)[0] for _ in range(5)]
    assert statuses == [200] * 5
    status, body = _freebusy(fake, token)
    assert status == 403
    assert body["error"]["errors"][0] == {
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }
    assert fake.rate_refused == 1
    assert fake.calls["calendar.freebusy.query"] == 6


def test_without_a_quota_the_fake_refuses_nothing():
    fake = FakeGoogle(users=[USER])
    token = fake._issue(USER, {SCOPE})["access_token"]
    assert {_freebusy(fake, token)[0] for _ in range(20)} == {200}
