"""``rmcal schedule`` as a library call: read the calendar, plan, and (unless dry) apply.

The calendar is read first (series by rmcal's tag, free/busy for everyone over the whole series
horizon in as few calls as the provider allows), the pure planner decides, and only then are
writes made, batched per kind. The state file is written after the calendar, as a cache of
provider ids; deleting it loses nothing because the next run finds every series by its tag.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rmcal.config import FORCE_HINT
from rmcal.errors import ConfigError
from rmcal.intervals import busy_requests
from rmcal.invite import EndingRenderer, InviteRenderer
from rmcal.model import Cohort, Config, Settings
from rmcal.plan import Cancel, Create, End, Keep, Plan, Unschedulable, Update, make_plan
from rmcal.provider import BusyMap, ItemFailure, Provider, Series, SeriesEnd
from rmcal.recurrence import RecurrenceError, series_times
from rmcal.slots import Clash
from rmcal.store import SeriesRow, Store
from rmcal.templating import TemplateEngine

# Slack around the estimated series horizon, so that free/busy covers every possible slot.
HORIZON_SLACK = timedelta(days=21)
# How far a local day can sit from the UTC day of the same date: from 14 hours before its
# midnight (UTC+14) to 12 hours after its end (UTC-12); and how far DST moves a session.
ZONE_AHEAD = timedelta(hours=14)
ZONE_BEHIND = timedelta(hours=12)
DST_SHIFT = timedelta(hours=2)
# A slot search looks at one week of first sessions from the day it starts on.
SEARCH_DAYS = 7
# ``--check-clashes`` is on by default while reading free/busy for the unchanged series costs
# at most this many extra round trips (200 pairs over 40 weeks on Graph: 100; on Google: 32;
# the local provider's files: none).
CLASH_CHECK_BUDGET = 100


@dataclass(frozen=True)
class ClashCheck:
    """Whether a re-run read free/busy for its unchanged series, and why (or why not)."""

    checked: bool
    series: int  # unchanged series whose sessions from now on were, or would be, checked
    people: int  # people whose free/busy that takes (beyond those read for the slot search)
    calls: int  # free/busy round trips it takes (0: the provider reads no network)
    asked: bool | None  # --check-clashes / --no-check-clashes; None: decided by the budget

    def describe(self) -> str:
        """One line for the admin: what was checked, or how to check it."""
        trips = f"{self.calls} free/busy round trip{'s' if self.calls != 1 else ''}"
        if self.checked:
            cost = f", {trips}" if self.calls else ""
            return (
                f"Clashes checked for {self.series} unchanged series from now on "
                f"(free/busy of {self.people} people{cost})."
            )
        if self.asked is False:
            return "Clashes of unchanged series not checked (--no-check-clashes)."
        return (
            f"Clashes of {self.series} unchanged series not checked: it would take {trips}, "
            f"more than {CLASH_CHECK_BUDGET}; pass --check-clashes to check them anyway."
        )


@dataclass
class ScheduleResult:
    plan: Plan
    dry_run: bool
    done: dict[str, str] = field(default_factory=dict)  # series key -> created/updated/ended
    failed: dict[str, str] = field(default_factory=dict)  # series key -> why
    busy_window: tuple[datetime, datetime] | None = None
    people: int = 0
    clash_check: ClashCheck | None = None  # None: no unchanged series to check
    # Sessions from now on of each unchanged series that clash with someone's free/busy.
    kept_clashes: dict[str, tuple[Clash, ...]] = field(default_factory=dict)

    @property
    def undone(self) -> list[str]:
        """What a re-run should finish: failed writes and unschedulable pairs."""
        out = [f"{key}: {why}" for key, why in sorted(self.failed.items())]
        out += [f"{u.pair.id}: {u.reason}" for u in self.plan.of(Unschedulable)]
        return out


def busy_horizon(
    config: Config, now: datetime, cohorts: Sequence[str] | None
) -> tuple[datetime, datetime]:
    """From the earliest cohort start to past the longest possible series end, in UTC."""
    zone = ZoneInfo(config.programme.timezone)
    starts, ends = [], []
    for cohort in config.cohorts:
        if cohorts is not None and cohort.id not in cohorts:
            continue
        begin = min(cohort.start, now.date())
        starts.append(datetime.combine(begin, time(0), zone) - timedelta(days=1))
        for pair in cohort.pairs:
            settings = pair.settings
            latest = max(cohort.start, now.date())
            if settings.end_date is not None:
                end = settings.end_date + timedelta(days=1)
            else:
                end = latest + settings.cadence.period * 1.25 * (settings.sessions or 1)
            ends.append(datetime.combine(end, time(0), zone) + HORIZON_SLACK)
    if not starts:
        return now, now
    return min(starts), max(ends)


def searched_window(config: Config, draft: Plan) -> tuple[datetime, datetime] | None:
    """The time the slot searches of ``draft``'s new and changed pairs can land in, in UTC.

    Free/busy is read over exactly this, not from today to the longest horizon: every search
    starts on a known day (``searched_from``) and picks a first session within a week of it, so
    the last session a pair can get is the series its rule gives from the latest first start.
    None when no item says where its search started (then ``busy_horizon`` is the bound).
    """
    starts: list[datetime] = []
    ends: list[datetime] = []
    latest: dict[tuple[Settings, date], datetime] = {}
    for item in draft.items:
        if not isinstance(item, Create | Update) or item.searched_from is None:
            continue
        day = item.searched_from
        starts.append(datetime.combine(day, time(0), UTC) - ZONE_AHEAD)
        key = (item.pair.settings, day)
        if key not in latest:
            latest[key] = _last_end(item.pair.settings, day)
        ends.append(latest[key])
    if not starts:
        return None
    return min(starts), max(ends)


def _last_end(settings: Settings, day: date) -> datetime:
    """The latest a series searched from ``day`` can end, in UTC: its rule expanded from the
    last possible first session (the week's last day, late in the furthest zone behind)."""
    first = datetime.combine(day + timedelta(days=SEARCH_DAYS), time(0), UTC) + ZONE_BEHIND
    if settings.end_date is not None:
        return datetime.combine(settings.end_date + timedelta(days=1), time(0), UTC) + ZONE_BEHIND
    if settings.sessions is None:
        return first + settings.cadence.period * 1.25 + HORIZON_SLACK
    try:
        starts = series_times(settings, first).starts
    except RecurrenceError:  # a raw rule with too few sessions: the search says so itself
        return first + settings.cadence.period * 1.25 + HORIZON_SLACK
    return (starts[-1] if starts else first) + settings.duration + DST_SHIFT


def anchor_relative_starts(config: Config, existing: Mapping[str, Sequence[Series]]) -> Config:
    """The config with each ``start: next Monday`` cohort starting where its calendar says.

    A relative start is read against today, so a week later it names a later Monday; left as
    it is, every re-run would plan to move each series. The calendar is the truth: once it holds
    a cohort's series, the earliest first session (in the programme's zone) is the cohort's
    start when that is earlier than today's reading.
    """
    zone = ZoneInfo(config.programme.timezone)
    anchored = []
    for cohort in config.cohorts:
        found = existing.get(cohort.id) or ()
        if cohort.relative_start and found:
            first = min(s.start.astimezone(zone).date() for s in found)
            if first < cohort.start:
                cohort = replace(cohort, start=first)
        anchored.append(cohort)
    return replace(config, cohorts=tuple(anchored))


def run_schedule(
    config: Config,
    provider: Provider,
    store: Store | None,
    *,
    now: datetime,
    dry_run: bool = False,
    cohorts: Sequence[str] | None = None,
    engine: TemplateEngine | None = None,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    force: bool = False,
    recreate: bool = False,
    end_orphans: bool = False,
    allow_duplicate_pair: bool = False,
    check_clashes: bool | None = None,
) -> ScheduleResult:
    """Reconcile the calendar with the config; ``on_plan`` sees the plan before any write.

    ``check_clashes`` reads free/busy for the unchanged series too, from now to their end, and
    reports their sessions that now clash (None: when that costs at most
    ``CLASH_CHECK_BUDGET`` round trips, counted from the provider's free/busy limits).

    A cohort whose start date has passed is refused unless ``force`` or the calendar already
    holds its series: a running cohort can be re-scheduled (pairs added, removed, changed)
    without ``--force``, but a new one cannot silently start in the past.

    The calendar is read once for every series rmcal made (``find_all_series``), so that the
    plan also sees series whose cohort left the config (``end_orphans`` ends them after their
    next session) and pairs that already meet under another cohort id (refused unless
    ``allow_duplicate_pair``).
    """
    selected = [c for c in config.cohorts if cohorts is None or c.id in cohorts]
    every = provider.find_all_series()
    existing = {c.id: [s for s in every if s.cohort_id == c.id] for c in selected}
    config = anchor_relative_starts(config, existing)
    selected = [config.cohort(c.id) for c in selected]
    if not force:
        _refuse_late_start(config, selected, existing, now)
    engine = engine or TemplateEngine(config.templates_dir)
    renderer = InviteRenderer(config, engine, provider.capabilities.video)
    ending = EndingRenderer(config, engine)

    # The draft plan and the real one render the same (pair, slot) invitations: once is enough.
    render = functools.lru_cache(maxsize=None)(renderer.render)

    def plan_with(busy: BusyMap) -> Plan:
        return make_plan(
            config,
            existing,
            busy,
            now,
            render,
            video=provider.capabilities.video,
            cohorts=cohorts,
            recreate=recreate,
            others=every,
            end_orphans=end_orphans,
            allow_duplicate_pair=allow_duplicate_pair,
            render_end=ending.render,
        )

    # Free/busy is the expensive read. A first, pure pass without it shows which pairs need a
    # slot search (new, changed or unplaceable pairs); series that stay put never need it, so
    # an unchanged re-run costs only the series lookup.
    draft = plan_with({})
    emails = sorted(
        {
            p.email
            for item in draft.items
            if isinstance(item, Create | Update | Unschedulable)
            for p in item.pair.people
        }
    )
    horizon = busy_horizon(config, now, cohorts)
    window = searched_window(config, draft) or horizon
    zones = {p.email: p.timezone for pair in config.pairs for p in pair.people}
    kept = [i for i in draft.of(Keep) if i.slot is not None]
    check = clash_check(kept, set(emails), provider, now, horizon[1], check_clashes)
    checking = check is not None and check.checked
    if checking:
        # The unchanged series' sessions from now on are checked too, some of them against
        # people read for a slot search: read those over both spans.
        window = (min(window[0], now), max(window[1], horizon[1]))
    busy: BusyMap = {}
    if emails:
        busy.update(provider.busy(emails, *window, zones=zones))
    if checking:
        others = sorted({p.email for k in kept for p in k.pair.people} - set(emails))
        if others:
            busy.update(provider.busy(others, now, horizon[1], zones=zones))
    plan = plan_with(busy) if busy else draft
    result = ScheduleResult(
        plan, dry_run, busy_window=window, people=len(emails), clash_check=check
    )
    if checking:
        result.kept_clashes = {
            k.series.key: tuple(c for c in k.slot.clashes if c.start >= now)
            for k in plan.of(Keep)
            if k.slot is not None
        }
    if on_plan is not None:
        on_plan(plan)
    if dry_run:
        return result
    _apply(plan, provider, store, result, progress)
    return result


def clash_check(
    kept: Sequence[Keep],
    read: set[str],
    provider: Provider,
    now: datetime,
    end: datetime,
    asked: bool | None,
) -> ClashCheck | None:
    """Whether to read free/busy for the unchanged series, and what it costs (None: none)."""
    if not kept:
        return None
    people = sorted({p.email for k in kept for p in k.pair.people} - read)
    caps = provider.capabilities
    calls = 0
    if people and caps.busy_people_per_call is not None:
        calls = len(
            busy_requests(
                people,
                now,
                end,
                people_per_call=caps.busy_people_per_call,
                window=caps.busy_window,
            )
        )
    checked = asked if asked is not None else calls <= CLASH_CHECK_BUDGET
    return ClashCheck(
        checked=checked, series=len(kept), people=len(people), calls=calls, asked=asked
    )


def apply_plan(
    plan: Plan,
    provider: Provider,
    store: Store | None,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ScheduleResult:
    """Carry out a plan made outside ``run_schedule`` (``rmcal forget --end-series``), with the
    same batched writes; ``store`` None leaves the series cache alone."""
    result = ScheduleResult(plan, dry_run)
    if not dry_run:
        _apply(plan, provider, store, result, progress)
    return result


def _refuse_late_start(
    config: Config,
    cohorts: Sequence[Cohort],
    existing: Mapping[str, Sequence[Series]],
    now: datetime,
) -> None:
    today = now.astimezone(ZoneInfo(config.programme.timezone)).date()
    for cohort in cohorts:
        if cohort.start < today and not existing.get(cohort.id):
            index = config.cohorts.index(cohort)
            key = f"cohorts[{index}].start"
            raise ConfigError(
                f"start date {cohort.start} is in the past (today is {today}) and the calendar "
                "holds no series of this cohort yet",
                file=str(config.path),
                line=config.lines.get(key),
                key=key,
                hint=FORCE_HINT,
            )


def _apply(
    plan: Plan,
    provider: Provider,
    store: Store | None,
    result: ScheduleResult,
    progress: Callable[[int], None] | None,
) -> None:
    creates: list[Create] = plan.of(Create)
    updates: list[Update] = plan.of(Update)
    ends = [_ending(end) for end in plan.of(End)] + [_ending(c) for c in plan.of(Cancel)]
    outcomes: list[tuple[str, dict[str, Series | ItemFailure]]] = []
    if creates:
        outcomes.append(("created", provider.create_series([c.spec for c in creates], progress)))
    if updates:
        outcomes.append(
            ("updated", provider.update_series([(u.series, u.spec) for u in updates], progress))
        )
    if ends:
        outcomes.append(("ended", provider.end_series(ends, progress)))
    cancelling = {c.series.key for c in plan.of(Cancel)}
    for verb, outcome in outcomes:
        for key, value in outcome.items():
            if isinstance(value, ItemFailure):
                result.failed[key] = value.message
            else:
                done = "cancelled" if verb == "ended" and key in cancelling else verb
                result.done[key] = done
                _remember(store, provider.name, value, "ended" if verb == "ended" else "active")
    for keep in plan.of(Keep):
        _remember(store, provider.name, keep.series, "active")


def _ending(item: End | Cancel) -> SeriesEnd:
    """What the provider is told: where the series stops (None: cancelled) and its new text."""
    last = item.last if isinstance(item, End) else None
    text = item.text
    return SeriesEnd(
        item.series,
        last,
        description_html=text.html if text else "",
        description_text=text.text if text else "",
    )


def _remember(store: Store | None, provider: str, series: Series, status: str) -> None:
    if store is None:
        return
    store.put_series(
        SeriesRow(
            key=series.key,
            cohort_id=series.cohort_id,
            pair_id=series.pair_id,
            provider=provider,
            provider_id=series.provider_id,
            fingerprint=series.tags.get("fingerprint"),
            status=status,
        )
    )
