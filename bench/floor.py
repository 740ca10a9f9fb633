"""The floor: the least wall time and round trips the documented limits allow for a scenario.

A model of the work each scenario must do, not of what rmcal happened to send:

* Graph (Outlook): at most 4 requests in flight per mailbox, every request against the
  organizer's mailbox (getSchedule and each request inside a ``$batch`` included), one latency
  each; getSchedule reads 20 people over less than 62 days; ``$batch`` carries 20 requests, run
  one after another along a ``dependsOn`` chain (so 20 count as one in flight). Signing in is two
  round trips (MSAL reads the authority's metadata, then asks for the token).
* Google Calendar: the per-user quota (600 calls a minute by default, every call of a batch
  counted), freeBusy reads 50 calendars over at most 90 days, batches of 50 calls (Google's
  guidance for Calendar); Gmail's own per-user quota, 15,000 units a minute at 100 units a send,
  bounds sending to 150 messages a minute (batches of 100). A quota per minute is not a
  pace: the first minute's calls may go at once, each further quota's worth a minute later
  (issue 14 put Google's floor at the quota's steady rate, ~112 s for 1,000 pairs; a client
  may beat that, so it is no floor). Signing in is one round trip.
* A read of series lists one page per 1,000 series on Graph (Outlook's documented page limit
  for messages; Graph documents none for events) and per 2,500 on Google (``maxResults``'
  maximum); a first full read of occurrences pages them by 1,000 on Graph (26 per pair) and
  reads series and exceptions in pages of 2,500 on Google; a read of what changed since the
  last run (a delta link, a sync token) is one round trip when nothing did.

The floor is what a client that wasted nothing would take; a ratio near 1 means the limits,
not rmcal, set the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

GRAPH_MAILBOX_CONCURRENCY = 4
GRAPH_SCHEDULE_PEOPLE = 20
GRAPH_SCHEDULE_DAYS = 61
GRAPH_BATCH = 20
GRAPH_PAGE = 1000
GRAPH_SIGN_IN = 2
SESSIONS_PER_PAIR = 26  # the benchmark cohort's
GOOGLE_PER_MINUTE = 600
GOOGLE_FREEBUSY_PEOPLE = 50
GOOGLE_FREEBUSY_DAYS = 90
GOOGLE_BATCH = 50
GOOGLE_PAGE = 2500
GOOGLE_SENDS_PER_MINUTE = 150  # 15,000 Gmail quota units a minute / 100 units a send
GOOGLE_SIGN_IN = 1
GMAIL_BATCH = 100  # Gmail's batch limit


@dataclass(frozen=True)
class Floor:
    wall: float  # seconds
    round_trips: int


def floor(
    provider: str, scenario: str, *, pairs: int, span_days: int, sent: int, latency: float
) -> Floor | None:
    """The floor of ``scenario`` for ``pairs`` pairs whose series cover ``span_days`` days and
    whose tick sent ``sent`` messages; None for the local provider (no API)."""
    if provider == "microsoft":
        return _graph(scenario, pairs, span_days, sent, latency)
    if provider == "google":
        return _google(scenario, pairs, span_days, sent, latency)
    return None


def _graph(scenario: str, pairs: int, span_days: int, sent: int, latency: float) -> Floor:
    per_round = GRAPH_MAILBOX_CONCURRENCY
    if scenario == "schedule-new":
        schedules = ceil(2 * pairs / GRAPH_SCHEDULE_PEOPLE) * ceil(span_days / GRAPH_SCHEDULE_DAYS)
        rounds = GRAPH_SIGN_IN + 1 + ceil(schedules / per_round) + ceil(pairs / per_round)
        trips = GRAPH_SIGN_IN + 1 + ceil(schedules / GRAPH_BATCH) + ceil(pairs / GRAPH_BATCH)
    elif scenario == "re-run-unchanged":
        rounds = trips = GRAPH_SIGN_IN + ceil(pairs / GRAPH_PAGE)
    elif scenario == "tick-first-read":
        occurrences = pairs * SESSIONS_PER_PAIR
        rounds = trips = GRAPH_SIGN_IN + ceil(pairs / GRAPH_PAGE) + ceil(occurrences / GRAPH_PAGE)
    elif scenario in ("status", "tick-nothing-due"):
        rounds = trips = GRAPH_SIGN_IN + 1
    else:  # tick-everything-due: one read, then each message sent
        rounds = GRAPH_SIGN_IN + 1 + ceil(sent / per_round)
        trips = GRAPH_SIGN_IN + 1 + ceil(sent / GRAPH_BATCH)
    return Floor(rounds * latency, trips)


def _google(scenario: str, pairs: int, span_days: int, sent: int, latency: float) -> Floor:
    if scenario == "schedule-new":
        freebusy = ceil(2 * pairs / GOOGLE_FREEBUSY_PEOPLE) * ceil(span_days / GOOGLE_FREEBUSY_DAYS)
        calls = 1 + freebusy + pairs
        trips = GOOGLE_SIGN_IN + 1 + ceil(freebusy / GOOGLE_BATCH) + ceil(pairs / GOOGLE_BATCH)
        wall = (GOOGLE_SIGN_IN + 3) * latency + _minutes(calls, GOOGLE_PER_MINUTE) * 60
        return Floor(wall, trips)
    if scenario in ("re-run-unchanged", "tick-first-read"):
        trips = GOOGLE_SIGN_IN + ceil(max(pairs, 1) / GOOGLE_PAGE)
        if scenario == "tick-first-read":
            trips += ceil(max(pairs, 1) / GOOGLE_PAGE)  # the sync read beside the listing
        return Floor(trips * latency, trips)
    if scenario in ("status", "tick-nothing-due"):
        trips = GOOGLE_SIGN_IN + 1
        return Floor(trips * latency, trips)
    # Sends: the first minute's 150 may go at once (a quota per minute, not a pace); each
    # further 150 waits for the next minute.
    trips = GOOGLE_SIGN_IN + 1 + ceil(sent / GMAIL_BATCH)
    minutes = _minutes(sent, GOOGLE_SENDS_PER_MINUTE)
    wall = (GOOGLE_SIGN_IN + 2) * latency + minutes * 60
    return Floor(wall, trips)


def _minutes(calls: int, per_minute: int) -> int:
    """Whole minutes a quota of ``per_minute`` in any 60 s makes ``calls`` wait: the first
    ``per_minute`` go at once, each further ``per_minute`` a minute after the one before."""
    return max(ceil(calls / per_minute) - 1, 0)
