"""The leads' digest as data: privacy (only a lead's own pairs), wins, attention, trends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rmcal.digest import build_digest, iso_week
from rmcal.feedback import FeedbackRow
from rmcal.health import assess
from rmcal.model import Lead, Pair, Person, Settings
from rmcal.provider import Occurrence, Series
from rmcal.readings import PairReading
from tests.builders import ANY_TIME, weekly_reading

LONDON = ZoneInfo("Europe/London")
FIRST = datetime(2027, 1, 13, 14, 0, tzinfo=LONDON)  # Wednesdays, weekly, 4 sessions


def pair(cohort: str, mentor: str, mentee: str, lead: str | None = None) -> Pair:
    return Pair(
        cohort,
        Person(f"{mentor.lower()}@example.org", mentor, "Europe/London"),
        Person(f"{mentee.lower()}@example.org", mentee, "America/New_York"),
        Settings(sessions=4, window=ANY_TIME),
        lead=lead,
    )


def reading(
    p: Pair,
    now: datetime,
    cancel: frozenset[int] | set[int] = frozenset(),
    decline: frozenset[int] | set[int] = frozenset(),
) -> PairReading:
    return weekly_reading(p, FIRST, now, cancel, decline)


AFTER_2 = FIRST + timedelta(weeks=1, hours=2)  # Wed 20 Jan, after session 2
ANA = pair("north", "Ana", "Bob")
CAL = pair("north", "Cal", "Dee")
EVE = pair("south", "Eve", "Fay")
GUS = pair("south", "Gus", "Hal", lead="scoped@example.org")
NORTH = Lead("north@example.org", "North Lead", "Europe/London", cohorts=frozenset({"north"}))
SCOPED = Lead("scoped@example.org", "Scoped Lead", "Asia/Kolkata")
EVERYONE = Lead("all@example.org", "All", "Europe/London", all_pairs=True)


@pytest.fixture
def readings() -> list[PairReading]:
    return [
        reading(ANA, AFTER_2),
        reading(CAL, AFTER_2, cancel={2}),
        reading(EVE, AFTER_2, cancel={1}, decline={2}),
        reading(GUS, AFTER_2),
    ]


@pytest.mark.parametrize(
    ("lead", "pairs"),
    [
        (NORTH, ["Ana & Bob", "Cal & Dee"]),  # by cohort
        (SCOPED, ["Gus & Hal"]),  # by the pair's own lead
        (EVERYONE, ["Ana & Bob", "Cal & Dee", "Eve & Fay", "Gus & Hal"]),  # scope: all
        (Lead("nobody@example.org", "Nobody", "UTC"), []),
    ],
)
def test_a_lead_sees_only_their_own_pairs(
    readings: list[PairReading], lead: Lead, pairs: list[str]
) -> None:
    feedback = [FeedbackRow(EVE.id, 1, "eve@example.org", 1, False, None, None, None, "f")]
    digest = build_digest(lead, readings, AFTER_2, feedback=feedback)
    shown = {row.label for row in digest.heatmap}
    assert [row.label for row in digest.heatmap] == pairs
    assert {a.label for a in digest.attention} <= shown
    assert {w.label for w in digest.wins} <= shown
    # Nothing about another lead's pairs leaks, not even through the rendered context.
    others = {"Ana", "Cal", "Eve", "Gus"} - {label.split(" ")[0] for label in pairs}
    context = repr(digest.context())
    assert not any(f"{name} &" in context for name in others)
    if "Eve & Fay" not in pairs:
        assert digest.ratings.empty  # Eve's 1/5 is not a North lead's number


def test_summary_attention_and_heatmap(readings: list[PairReading]) -> None:
    digest = build_digest(EVERYONE, readings, AFTER_2)
    assert digest.summary == "4 pairs: 2 on track, 1 at risk, 1 off track"
    assert [(a.label, a.state) for a in digest.attention] == [
        ("Eve & Fay", "off track"),
        ("Cal & Dee", "at risk"),
    ]
    assert digest.attention[0].why == (
        "missed 2 weeks in a row: Wed 13 Jan: cancelled; Wed 20 Jan: declined by mentee"
    )
    assert digest.attention[0].next_session == (FIRST + timedelta(weeks=2)).astimezone(UTC)
    assert [row.text_cells for row in digest.heatmap] == [
        "H H . .",
        "H M . .",
        "M M . .",
        "H H . .",
    ]
    assert digest.columns == 4
    assert digest.week == "2027-W03"


def test_wins_since_the_last_digest() -> None:
    now = FIRST + timedelta(weeks=3, hours=2)  # after the 4th and last session
    done = reading(ANA, now)
    late_start = reading(CAL, now, cancel={1, 2, 3})  # first held session is this week's
    digest = build_digest(EVERYONE, [done, late_start], now)
    # Ana's run of 4 is no milestone; its 3 was celebrated last week (test_streaks_...).
    assert [(w.label, w.text) for w in digest.wins] == [
        ("Ana & Bob", "all 4 weeks held"),
        ("Cal & Dee", "first session held"),
    ]
    halfway = build_digest(EVERYONE, [reading(ANA, AFTER_2)], AFTER_2)
    assert ("Ana & Bob", "halfway: 2 of 4 weeks held") in [(w.label, w.text) for w in halfway.wins]


def test_back_on_track_and_the_trend_come_from_last_weeks_snapshot() -> None:
    now = FIRST + timedelta(weeks=2, hours=2)
    recovered = reading(CAL, now, cancel={2})  # missed 2, held 3
    previous = {CAL.id: {"state": "at risk"}, ANA.id: {"state": "on track"}}
    digest = build_digest(EVERYONE, [reading(ANA, now), recovered], now, previous=previous)
    assert ("Cal & Dee", "back on track (was at risk a week ago)") in [
        (w.label, w.text) for w in digest.wins
    ]
    assert digest.trend == "vs last week: on track 2 (+1), at risk 0 (-1)"
    assert build_digest(EVERYONE, [recovered], now).trend == ""


def test_programme_figures_appear_only_when_the_lead_does_not_see_everyone(
    readings: list[PairReading],
) -> None:
    feedback = [
        FeedbackRow(ANA.id, 1, "ana@example.org", 5, True, None, None, None, "f"),
        FeedbackRow(EVE.id, 1, "eve@example.org", 3, False, None, None, None, "f"),
    ]
    north = build_digest(NORTH, readings, AFTER_2, feedback=feedback)
    assert (north.ratings.average, north.ratings.recommend_share) == (5.0, 1.0)
    assert north.programme_ratings is not None
    assert (north.programme_ratings.average, north.programme_ratings.recommend_share) == (4.0, 0.5)
    assert build_digest(EVERYONE, readings, AFTER_2, feedback=feedback).programme_ratings is None


def test_iso_week_is_read_in_the_leads_zone() -> None:
    sunday_night_utc = datetime(2027, 1, 17, 20, 0, tzinfo=UTC)  # Monday 01:30 in Kolkata
    assert iso_week(sunday_night_utc, "Europe/London") == "2027-W02"
    assert iso_week(sunday_night_utc, "Asia/Kolkata") == "2027-W03"


def test_plain_text_heatmap_rows_line_up_when_pairs_have_fewer_periods() -> None:
    unscheduled = PairReading(ANA, None, assess(ANA, None, [], AFTER_2))
    digest = build_digest(EVERYONE, [reading(CAL, AFTER_2), unscheduled], AFTER_2)
    assert [row.text_cells for row in digest.heatmap] == ["H H . .", "       "]


def test_each_win_is_celebrated_once_however_many_digests_go_out() -> None:
    # A six-week pair that holds every session, with a digest every Monday until the end.
    six = Pair(
        "north",
        Person("ana@example.org", "Ana", "Europe/London"),
        Person("bob@example.org", "Bob", "America/New_York"),
        Settings(sessions=6, window=ANY_TIME),
    )
    mondays = [datetime(2027, 1, 18, 8, 0, tzinfo=LONDON) + timedelta(weeks=i) for i in range(7)]
    wins = []
    for monday in mondays:
        reading = weekly_reading(six, FIRST, monday, sessions=6)
        wins += [w.text for w in build_digest(EVERYONE, [reading], monday).wins]
    assert wins == [
        "first session held",
        "halfway: 3 of 6 weeks held",
        "3 weeks in a row held",
        "5 weeks in a row held",
        "all 6 weeks held",
    ]


def test_a_run_that_comes_back_is_not_celebrated_again_below_its_best() -> None:
    p = replace(pair("north", "Ana", "Bob"), settings=Settings(sessions=8, window=ANY_TIME))
    now = FIRST + timedelta(weeks=7, hours=2)  # after session 8: runs of 3, then 4
    r = weekly_reading(p, FIRST, now, cancel={4}, sessions=8)
    assert [w.text for w in build_digest(EVERYONE, [r], now).wins] == []
    after_7 = FIRST + timedelta(weeks=6, hours=2)  # the second run reaches 3: not a best
    r7 = weekly_reading(p, FIRST, after_7, cancel={4}, sessions=8)
    assert "3 weeks in a row held" not in [
        w.text for w in build_digest(EVERYONE, [r7], after_7).wins
    ]


def test_a_declined_series_needs_attention_before_its_first_slot() -> None:
    before = FIRST - timedelta(days=2)
    declined = reading(ANA, before, decline={1, 2, 3, 4})
    digest = build_digest(EVERYONE, [declined, reading(CAL, before)], before)
    assert digest.summary == "2 pairs: 1 series declined, 1 not started"
    assert [(a.label, a.state, a.why) for a in digest.attention] == [
        (
            "Ana & Bob",
            "series declined",
            "the mentee declined every remaining session (4, from Wed 13 Jan)",
        )
    ]


def test_a_finished_programme_says_how_each_pair_finished() -> None:
    end = FIRST + timedelta(weeks=3, hours=2)
    readings = [
        reading(ANA, end),
        reading(CAL, end, decline={1, 2, 3, 4}),
        reading(EVE, end, cancel={2, 3}),
    ]
    digest = build_digest(EVERYONE, readings, end)
    assert digest.summary == "3 pairs: 2 completed (1 with missed periods), 1 never started"
    assert digest.attention == ()
    assert [(f.label, f.state, f.why) for f in digest.finished] == [
        ("Cal & Dee", "never started", "no session held in 4 weeks (declined by mentee: 4)"),
        ("Eve & Fay", "completed", "held 2 of 4 weeks"),
        ("Ana & Bob", "completed", "held 4 of 4 weeks"),
    ]


def test_sessions_held_with_a_caveat_this_week_are_listed() -> None:
    moved = Occurrence(
        "k", FIRST.astimezone(UTC), (FIRST + timedelta(hours=6)).astimezone(UTC),
        (FIRST + timedelta(hours=6, minutes=45)).astimezone(UTC),
    )  # fmt: skip
    strict = Pair(
        "north",
        Person("ana@example.org", "Ana", "Europe/London"),
        Person("bob@example.org", "Bob", "Europe/London"),
        Settings(sessions=1),
    )
    series = Series("k", "x", "t", FIRST, timedelta(minutes=45), "Europe/London",
                    "FREQ=WEEKLY;COUNT=1", ("ana@example.org", "bob@example.org"), {})  # fmt: skip
    now = FIRST + timedelta(days=1)
    r = PairReading(strict, series, assess(strict, series, [moved], now))
    digest = build_digest(EVERYONE, [r], now)
    assert [(c.label, c.text) for c in digest.caveats] == [
        ("Ana & Bob", "held at 20:00 London, outside both people's hours")
    ]
    assert digest.heatmap[0].cells[0].note == "held at 20:00 London, outside both people's hours"
    assert build_digest(EVERYONE, [r], now + timedelta(days=8)).caveats == ()


def test_a_large_programme_s_digest_shows_the_first_rows_and_counts_the_rest() -> None:
    """5,000 pairs made a 35 MB digest, over what Gmail accepts: past ``MAX_ROWS`` each list
    shows its first rows (the heatmap leads with the pairs needing attention) and says how many
    more ``rmcal status`` lists; the figures above the lists still count every pair."""
    from rmcal.digest import MAX_ROWS
    from rmcal.messages import MessageBuilder
    from tests.builders import config

    many = [pair("north", f"Mentor{n:03d}", f"Mentee{n:03d}") for n in range(MAX_ROWS + 50)]
    troubled = {many[-1].id, many[-2].id}  # the last two in the config's order
    readings = [reading(p, AFTER_2, cancel={1, 2} if p.id in troubled else set()) for p in many]
    digest = build_digest(EVERYONE, readings, AFTER_2)
    assert digest.summary.startswith(f"{MAX_ROWS + 50} pairs: ")
    assert len(digest.heatmap) == MAX_ROWS + 50  # the data keeps every pair...
    context = digest.context()
    assert len(context["heatmap"]) == MAX_ROWS  # ...a mail shows the first hundred
    assert context["more"]["heatmap"] == 50
    assert {row["pair_id"] for row in context["heatmap"][:2]} == troubled
    assert context["more"]["attention"] == 0
    assert context["heatmap_summary"].startswith(f"{MAX_ROWS + 50} pairs over")

    builder = MessageBuilder(config(*many[:1]))
    html = builder.digest_html(digest)
    assert "and 50 more pairs" in html and html.count('<tr>\n<th scope="row"') == MAX_ROWS
    text = builder.digest(digest, "digest:k", AFTER_2).get_body(("plain",)).get_content()
    assert "... and 50 more pairs: `rmcal status` lists every pair." in text

    small = build_digest(EVERYONE, readings[:3], AFTER_2).context()
    assert len(small["heatmap"]) == 3 and not any(small["more"].values())
