"""Reconciliation is decided by meaning: same sessions, same duration, same people, same text."""

from dataclasses import replace
from datetime import date, datetime, timedelta

from rmcal.invite import InviteText
from rmcal.model import Cadence, Pair, series_key
from rmcal.plan import (
    Cancel,
    Create,
    End,
    Keep,
    Orphan,
    Unschedulable,
    Update,
    generation_of,
    make_plan,
)
from rmcal.provider import Series
from rmcal.recurrence import with_until
from tests.builders import config, pair, person, window
from tests.zones import KOLKATA, LONDON, NEW_YORK, TOKYO, tz

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=tz(LONDON))


def render(p, slot):
    return InviteText(f"RM {p.mentor.name} & {p.mentee.name}", "<p>hi</p>", "hi")


def as_series(create: Create, rrule: str | None = None) -> Series:
    """What a provider would read back after creating ``create``."""
    spec = create.spec
    return Series(
        key=spec.key,
        provider_id="id-" + spec.key,
        title=spec.title,
        start=spec.start,
        duration=spec.duration,
        timezone=spec.timezone,
        rrule=rrule or spec.rrule,
        attendees=tuple(a.email for a in spec.attendees),
        tags=spec.tag_map,
        organizer=spec.organizer.email,
    )


def plan_for(cfg, existing=(), now=NOW):
    return make_plan(cfg, {"c1": list(existing)}, {}, now, render, video=False)


def test_new_pairs_are_created_with_deterministic_keys_and_tags():
    cfg = config(
        pair(person("asha", KOLKATA), person("dan", LONDON)),
        pair(person("lee", NEW_YORK), person("mo", LONDON)),
    )
    plan = plan_for(cfg)
    assert [type(i) for i in plan.items] == [Create, Create]
    again = plan_for(cfg)
    assert [i.spec for i in plan.items] == [i.spec for i in again.items]
    spec = plan.items[0].spec
    assert set(spec.tag_map) == {"key", "cohort", "pair", "fingerprint"}
    assert spec.tag_map["pair"] == plan.items[0].pair.id
    assert spec.start.date() >= cfg.cohorts[0].start


def test_unchanged_config_plans_nothing_even_when_the_rule_is_spelled_differently():
    cfg = config(pair(person("asha", KOLKATA), person("dan", LONDON)))
    create = plan_for(cfg).items[0]
    respelled = create.spec.rrule.replace("WKST=MO;", "").replace(
        "FREQ=WEEKLY;", "FREQ=WEEKLY;INTERVAL=1;"
    )
    plan = plan_for(cfg, [as_series(create, respelled)])
    assert [type(i) for i in plan.items] == [Keep]
    assert plan.changes == 0


def test_changed_duration_and_cadence_update_the_series_in_place():
    base = pair(person("asha", KOLKATA), person("dan", LONDON))
    create = plan_for(config(base)).items[0]
    longer = replace(base, settings=replace(base.settings, duration=timedelta(minutes=60)))
    plan = plan_for(config(longer), [as_series(create)])
    assert isinstance(plan.items[0], Update)
    assert plan.items[0].changes == ("duration",)
    assert plan.items[0].spec.start == create.spec.start  # keeps its slot

    fortnightly = replace(base, settings=replace(base.settings, cadence=Cadence("weekly", 2)))
    plan = plan_for(config(fortnightly), [as_series(create)])
    assert plan.items[0].changes == ("sessions",)
    assert "INTERVAL=2" in plan.items[0].spec.rrule


def test_changed_text_is_a_details_update():
    base = pair(person("asha", KOLKATA), person("dan", LONDON))
    create = plan_for(config(base)).items[0]
    renamed = replace(base, focus="AI tools")  # focus does not reach this test renderer ...
    series = as_series(create)
    stale = replace(series, tags={**series.tags, "fingerprint": "0000"})  # ... so fake old text
    plan = plan_for(config(renamed), [stale])
    assert plan.items[0].changes == ("details",)


def test_removed_pair_ends_after_its_next_session_once():
    kept = pair(person("asha", KOLKATA), person("dan", LONDON))
    gone = pair(person("lee", NEW_YORK), person("mo", LONDON))
    first = plan_for(config(kept, gone))
    series = {i.pair.id: as_series(i) for i in first.items}
    later = datetime(2027, 1, 20, 12, 0, tzinfo=tz(LONDON))
    plan = plan_for(config(kept), series.values(), now=later)
    ends = plan.of(End)
    assert len(ends) == 1 and ends[0].series.pair_id == gone.id
    assert ends[0].last >= later
    assert ends[0].last - later < timedelta(days=7)
    ended = replace(ends[0].series, rrule=with_until(ends[0].series.rrule, ends[0].last))
    replan = plan_for(config(kept), [series[kept.id], ended], now=later)
    assert replan.of(End) == []


def test_a_pair_removed_before_its_first_session_is_cancelled_not_kept_with_one():
    kept = pair(person("asha", KOLKATA), person("dan", LONDON))
    gone = pair(person("lee", NEW_YORK), person("mo", LONDON))
    series = [as_series(i) for i in plan_for(config(kept, gone)).items]
    worded = []

    def render_end(one, last):
        worded.append((one.key, last))
        return InviteText(one.title, "<p>cancelled</p>", "cancelled")

    plan = make_plan(
        config(kept), {"c1": series}, {}, NOW, render, video=False, render_end=render_end
    )
    (cancel,) = plan.of(Cancel)
    assert cancel.series.pair_id == gone.id and plan.of(End) == []
    assert cancel.text == InviteText(cancel.series.title, "<p>cancelled</p>", "cancelled")
    assert worded == [(cancel.series.key, None)]
    assert plan.changes == 1 and plan.counts()["cancel"] == 1
    # Once cancelled, nothing is left to do.
    done = [s if s.key != cancel.series.key else replace(s, cancelled=True) for s in series]
    assert plan_for(config(kept), done).changes == 0


def test_an_ending_is_worded_for_where_the_series_now_stops():
    kept = pair(person("asha", KOLKATA), person("dan", LONDON))
    gone = pair(person("lee", NEW_YORK), person("mo", LONDON))
    series = [as_series(i) for i in plan_for(config(kept, gone)).items]
    later = datetime(2027, 1, 20, 12, 0, tzinfo=tz(LONDON))
    plan = make_plan(
        config(kept),
        {"c1": series},
        {},
        later,
        render,
        video=False,
        render_end=lambda one, last: InviteText(one.title, f"<p>{last:%d %b}</p>", f"{last:%d %b}"),
    )
    (end,) = plan.of(End)
    assert end.text is not None and end.text.text == f"{end.last:%d %b}"


def test_a_series_deleted_in_the_calendar_is_left_alone_unless_recreated():
    base = pair(person("asha", KOLKATA), person("dan", LONDON))
    create = plan_for(config(base)).items[0]
    deleted = replace(as_series(create), cancelled=True)
    plan = plan_for(config(base), [deleted])
    assert isinstance(plan.items[0], Keep)
    assert plan.items[0].note.startswith("deleted in the calendar; left alone")
    assert plan.of(End) == []

    again = make_plan(config(base), {"c1": [deleted]}, {}, NOW, render, video=False, recreate=True)
    (recreated,) = again.items
    assert isinstance(recreated, Create)
    assert recreated.spec.key == series_key("c1", base.id, 2) != create.spec.key
    assert generation_of(as_series(recreated), "c1", base.id) == 2

    # The next run finds generation 2 live and keeps it; generation 1 stays deleted.
    settled = plan_for(config(base), [deleted, as_series(recreated)])
    assert [type(i) for i in settled.items] == [Keep]
    assert settled.items[0].series.key == recreated.spec.key


def test_unschedulable_pair_does_not_stop_the_others():
    never = pair(
        person("ann", LONDON, window("10:00", "16:00")),
        person("ken", TOKYO, window("10:00", "16:00")),
    )
    fine = pair(person("asha", KOLKATA), person("dan", LONDON))
    plan = plan_for(config(never, fine))
    assert sorted(type(i).__name__ for i in plan.items) == ["Create", "Unschedulable"]
    assert "never overlap" in plan.of(Unschedulable)[0].reason


def test_a_person_in_two_pairs_never_gets_overlapping_series():
    shared = person("dan", LONDON)
    plan = plan_for(
        config(pair(person("asha", KOLKATA), shared), pair(person("lee", LONDON), shared))
    )
    a, b = (set(i.slot.intervals()) for i in plan.items)
    assert not any(x[0] < y[1] and y[0] < x[1] for x in a for y in b)


# -- series of other cohorts: orphans and the same two people twice ----------------------------


def _other_cohort_series(asha_dan: Pair, cohort: str = "old") -> Series:
    """Asha and Dan's series as an earlier cohort id scheduled it (started before NOW)."""
    earlier = config(replace(asha_dan, cohort_id=cohort), cohort=cohort, start=date(2026, 12, 7))
    made = make_plan(earlier, {}, {}, NOW - timedelta(weeks=5), render, video=False)
    return as_series(made.items[0])


def test_a_series_whose_cohort_left_the_config_is_an_orphan_unless_ended():
    asha_dan = pair(person("asha", KOLKATA), person("dan", LONDON))
    old = _other_cohort_series(asha_dan)
    left = make_plan(config(), {}, {}, NOW, render, video=False, others=[old])
    (orphan,) = left.items
    assert isinstance(orphan, Orphan) and orphan.series == old
    assert orphan.reason.startswith("cohort 'old' is no longer in the config; left running")
    assert orphan.next_start >= NOW and left.changes == 0
    ended = make_plan(config(), {}, {}, NOW, render, video=False, others=[old], end_orphans=True)
    (end,) = ended.items
    assert isinstance(end, End) and end.last == orphan.next_start


def test_two_people_who_meet_under_another_cohort_get_no_second_series():
    asha_dan = pair(person("asha", KOLKATA), person("dan", LONDON))
    old = _other_cohort_series(asha_dan)
    cfg = config(asha_dan)
    (refused, orphan) = make_plan(cfg, {}, {}, NOW, render, video=False, others=[old]).items
    assert isinstance(refused, Unschedulable) and isinstance(orphan, Orphan)
    assert refused.reason.startswith("already meets in cohort 'old' until ")
    allowed = make_plan(
        cfg, {}, {}, NOW, render, video=False, others=[old], allow_duplicate_pair=True
    )
    assert isinstance(allowed.items[0], Create)
    # Mid-week, with the old series' next session after the new cohort's start: the new
    # series begins after that last session, never beside it.
    wednesday = NOW + timedelta(days=2)
    cfg = config(asha_dan, start=wednesday.date() + timedelta(days=1))
    follow = make_plan(cfg, {}, {}, wednesday, render, video=False, others=[old], end_orphans=True)
    create, last = follow.items  # six weekly sessions from 7 Dec: only 11 Jan is left
    assert isinstance(create, Create) and isinstance(last, Orphan)
    assert last.reason.endswith("ends with its next session")
    assert last.next_start.date() >= cfg.cohorts[0].start
    assert create.slot.first.date() > last.next_start.date()
    assert create.note == (
        f"starts after the last session ({last.next_start:%Y-%m-%d}) of their series in "
        "cohort 'old'"
    )


def test_a_cancelled_or_finished_series_elsewhere_is_no_obstacle():
    asha_dan = pair(person("asha", KOLKATA), person("dan", LONDON))
    old = _other_cohort_series(asha_dan)
    for gone in (replace(old, cancelled=True), old):
        later = NOW + timedelta(days=400) if gone is old else NOW
        plan = make_plan(config(asha_dan), {}, {}, later, render, video=False, others=[gone])
        assert [type(i) for i in plan.items] == [Create]


def test_a_rerun_looks_at_each_pair_s_own_series_only(monkeypatch):
    """O(pairs): each pair's generations are checked against its own series, never all."""
    import rmcal.plan as plan_module

    people = [pair(person(f"mentor{n}", LONDON), person(f"mentee{n}", NEW_YORK)) for n in range(40)]
    cfg = config(*people)
    existing = [as_series(item) for item in plan_for(cfg).items]
    hashed = []
    real = plan_module.series_key

    def counting(*args, **kwargs):
        hashed.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_module, "series_key", counting)
    plan = plan_for(cfg, existing)
    assert plan.counts()["unchanged"] == 40
    # one key for the pair's own generation, one for each spec built: not 40 x 40 x generations
    assert len(hashed) <= 3 * len(people)
