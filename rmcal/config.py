"""The admin's YAML file (and the HR exports it names) turned into a frozen ``rmcal.model.Config``.

Why so strict: the config is the desired state of real people's calendars. A typo that a lax
loader ignored (``mentro:``, ``Europe/Londn``, ``every 2 week``) would surface weeks later as a
missing series or a 3 a.m. invite. So every value is checked here, once, and the first problem
is raised as one ``ConfigError`` that names the file, the line and the key path, with a hint
(usually a did-you-mean). Nothing is half-built: either a whole ``Config`` comes back or nothing.

Settings cascade ``defaults`` -> a cohort's ``settings`` -> a pair's ``settings``, key by key
(``window``, ``digest`` and ``thresholds`` key by key too); ``sessions`` and ``end_date`` are one
choice, so setting either at a level replaces both from the levels above.

The full key reference is ``docs/config.md``.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from rmcal.errors import ConfigError
from rmcal.model import (
    Cadence,
    Cohort,
    Config,
    FixedSlot,
    Lead,
    Organizer,
    Pair,
    Person,
    Programme,
    ProviderConfig,
    Settings,
    Source,
    Thresholds,
    Window,
)
from rmcal.recurrence import RecurrenceError, build_rrule, check_raw, expand, normalize
from rmcal.yamlsource import Node, load_yaml

__all__ = ["CSV_COLUMNS", "load_config"]

TOP_KEYS = ("programme", "provider", "state", "defaults", "cohorts")
PROGRAMME_KEYS = ("name", "purpose", "organizer", "timezone", "templates", "leads")
ORGANIZER_KEYS = ("email", "name")
LEAD_KEYS = ("email", "name", "timezone", "cohorts", "pairs", "scope")
SETTINGS_KEYS = (
    "cadence",
    "sessions",
    "end_date",
    "duration",
    "window",
    "video",
    "agenda_lead",
    "feedback_delay",
    "feedback_form_url",
    "digest",
    "thresholds",
)
WINDOW_KEYS = ("days", "hours")
DIGEST_KEYS = ("weekday", "time")
THRESHOLD_KEYS = ("at_risk_missed", "off_track_missed", "confirmed_share")
COHORT_KEYS = ("id", "start", "settings", "pairs_csv", "pairs")
PAIR_KEYS = ("mentor", "mentee", "focus", "slot", "lead", "settings")
PERSON_KEYS = ("email", "name", "timezone", "window")

# Columns of a ``pairs_csv`` HR export. Headers match case-insensitively, and spaces or hyphens
# count as underscores, so ``Mentor Email`` is ``mentor_email``.
CSV_COLUMNS = (
    "mentor_email",
    "mentor_name",
    "mentor_timezone",
    "mentee_email",
    "mentee_name",
    "mentee_timezone",
    "focus",
    "slot",
    "lead",
)
CSV_REQUIRED = ("mentor_email", "mentor_name", "mentee_email", "mentee_name")

# Provider setting names that would hold a secret in clear text; their ``_env`` / ``_file``
# variants name where the secret really lives.
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "private_key",
        "api_key",
        "token",
        "access_token",
        "refresh_token",
    }
)

MAX_SESSION = timedelta(hours=8)
MAX_AGENDA_LEAD = timedelta(days=14)
MAX_FEEDBACK_DELAY = timedelta(days=7)
MAX_SESSIONS = 200
URL_PLACEHOLDERS = ("pair", "session", "cohort")
COHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Abbreviations people write instead of a zone; most are ambiguous or ignore daylight saving.
ZONE_ABBREVIATIONS = {
    "ist": "Asia/Kolkata",
    "est": "America/New_York",
    "edt": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "bst": "Europe/London",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "jst": "Asia/Tokyo",
    "sgt": "Asia/Singapore",
    "aest": "Australia/Sydney",
}
CADENCE_HINT = (
    "use weekly, every N weeks, fortnightly, monthly, every N months "
    "or an RRULE such as RRULE:FREQ=WEEKLY;INTERVAL=3"
)
DURATION_HINT = "write e.g. 45m, 1h, 1h30m, 90 minutes or a number of minutes"
DAYS_HINT = "use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, or a list [Mon, Wed]"
FORCE_HINT = "use --force to schedule a cohort that already started"


def load_config(
    path: str | Path,
    *,
    now: datetime | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Read, validate and build the programme described by the YAML file at ``path``.

    ``now`` is the injected clock (a cohort may not start before today, in the programme's
    zone, unless ``force``); ``env`` expands ``~`` and ``${VAR}`` in paths (default: the process
    environment). Raises one ``ConfigError`` for the first problem found; errors name ``path``
    as given, so the message reads the way the admin typed the command.
    """
    file = str(path)
    absolute = Path(os.path.abspath(path))
    try:
        data = absolute.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file: {exc.strerror or exc}", file=file
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the file is not UTF-8 text (byte {exc.start})",
            file=file,
            hint="save it as UTF-8",
        ) from None
    root = load_yaml(text, file)
    if root is None:
        raise ConfigError("the file is empty", file=file, hint="start from config.example.yaml")
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    loader = _Loader(
        file=file,
        path=absolute,
        now=moment,
        force=force,
        env=os.environ if env is None else env,
    )
    return loader.load(root)


# -- settings as a cascade --------------------------------------------------------------------


@dataclass(frozen=True)
class _Set:
    """One setting as given at one level, with the node it came from (for later messages)."""

    value: Any
    node: Node


# Flat keys: ``window.days``, ``digest.time``, ``thresholds.at_risk_missed``, so that merging
# the levels key by key is a plain dict update.
_Partial = dict[str, _Set]


def _merge(base: _Partial, over: _Partial) -> _Partial:
    """``over`` on top of ``base``; ``sessions``/``end_date`` replace each other as a pair."""
    merged = dict(base)
    if "sessions" in over or "end_date" in over:
        merged.pop("sessions", None)
        merged.pop("end_date", None)
    merged.update(over)
    return merged


@dataclass
class _PairDraft:
    """A pair with the nodes later cross-checks point at."""

    pair: Pair
    node: Node
    index: int
    mentor_node: Node
    mentee_node: Node
    slot_node: Node | None
    lead_node: Node | None

    @property
    def anchor(self) -> Node:
        """Where pair-level problems point: the pair, or a CSV row's mentee cell."""
        return self.mentee_node.require("email") if self.node.columns is not None else self.node


@dataclass
class _LeadDraft:
    email: str
    name: str
    timezone: str
    node: Node
    all_pairs: bool
    cohort_nodes: list[Node]
    pair_nodes: list[Node]


class _Loader:
    """One load: holds the file, the clock and what earlier sections declared."""

    def __init__(
        self, *, file: str, path: Path, now: datetime, force: bool, env: Mapping[str, str]
    ) -> None:
        self.file = file
        self.path = path
        self.base = path.parent
        self.now = now
        self.force = force
        self.env = env

    # -- top level ----------------------------------------------------------------------------

    def load(self, root: Node) -> Config:
        if not root.is_map:
            root.line = root.line or 1
            root.fail(f"expected a mapping of sections, got {root.describe()}")
        root.line = None  # top-level "missing key" errors name no line
        root.check_keys(TOP_KEYS, moved={k: "settings go under defaults:" for k in SETTINGS_KEYS})
        programme_node = _mapping(root.require("programme"))
        programme_node.check_keys(PROGRAMME_KEYS)
        name = _text(programme_node.require("name"))
        purpose = _text(programme_node.require("purpose"))
        organizer = self._organizer(programme_node, name)
        zone = _timezone(programme_node.require("timezone"))
        templates_node = programme_node.get("templates")
        templates = self._folder(templates_node) if templates_node else None
        leads = self._leads(programme_node.get("leads"), zone)
        provider = self._provider(_mapping(root.require("provider")))
        state_node = root.get("state")
        state = self._path(state_node) if state_node else self.base / "rmcal-state.db"
        defaults_node = root.get("defaults")
        defaults = self._settings_block(_mapping(defaults_node)) if defaults_node else {}
        defaults_settings = _build_settings(defaults)
        cohorts_node = _list(root.require("cohorts"))
        if not cohorts_node.value:
            cohorts_node.fail("at least one cohort is needed")
        lead_emails = {lead.email: lead for lead in leads}
        cohorts: list[Cohort] = []
        drafts: list[_PairDraft] = []
        seen_ids: dict[str, int | None] = {}
        for node in cohorts_node.value:
            cohort, cohort_drafts = self._cohort(node, defaults, zone, lead_emails, seen_ids)
            cohorts.append(cohort)
            drafts.extend(cohort_drafts)
        programme = Programme(
            name=name,
            purpose=purpose,
            organizer=organizer,
            timezone=zone,
            leads=tuple(self._resolve_lead(lead, cohorts, drafts) for lead in leads),
        )
        return Config(
            path=self.path,
            programme=programme,
            provider=provider,
            state_path=state,
            defaults=defaults_settings,
            cohorts=tuple(cohorts),
            templates_dir=templates,
            lines=root.lines(),
        )

    def _organizer(self, programme: Node, programme_name: str) -> Organizer:
        """The mailbox that owns every invite; without a name it signs as the programme."""
        node = _mapping(programme.require("organizer"))
        node.check_keys(ORGANIZER_KEYS)
        email = _email(node.require("email"))
        name_node = node.get("name")
        return Organizer(email=email, name=_text(name_node) if name_node else programme_name)

    # -- provider -----------------------------------------------------------------------------

    def _provider(self, node: Node) -> ProviderConfig:
        kind = _text(node.require("kind", hint="e.g. kind: local"))
        _reject_secrets(node)
        settings: dict[str, Any] = {}
        for key, child in node.items():
            if key == "kind":
                continue
            if key == "folder" and not child.is_null:
                settings[key] = str(self._path(child))
            else:
                settings[key] = child.plain()
        return ProviderConfig(kind=kind, settings=settings)

    # -- leads --------------------------------------------------------------------------------

    def _leads(self, node: Node | None, zone: str) -> list[_LeadDraft]:
        if node is None:
            return []
        leads: list[_LeadDraft] = []
        first: dict[str, Node] = {}
        for item in _list(node).value:
            _mapping(item).check_keys(LEAD_KEYS)
            email_node = item.require("email")
            email = _email(email_node)
            if email in first:
                email_node.fail(f"{email!r} is already a lead (line {first[email].line})")
            first[email] = email_node
            zone_node = item.get("timezone")
            all_pairs = False
            scope = item.get("scope")
            if scope is not None:
                if scope.value != "all":
                    scope.fail(
                        f"{scope.text_of()!r} is not a scope",
                        hint="the only scope is 'all'; to limit a lead, list cohorts: or pairs:",
                    )
                all_pairs = True
            cohort_nodes = _list(item.get("cohorts")).value if item.get("cohorts") else []
            pair_nodes = _list(item.get("pairs")).value if item.get("pairs") else []
            leads.append(
                _LeadDraft(
                    email=email,
                    name=_text(item.require("name")),
                    timezone=_timezone(zone_node) if zone_node else zone,
                    node=item,
                    all_pairs=all_pairs,
                    cohort_nodes=cohort_nodes,
                    pair_nodes=pair_nodes,
                )
            )
        return leads

    def _resolve_lead(
        self, lead: _LeadDraft, cohorts: list[Cohort], drafts: list[_PairDraft]
    ) -> Lead:
        """Turn a lead's scope into cohort ids and pair ids, now that both are known."""
        cohort_ids = [c.id for c in cohorts]
        scoped_cohorts: set[str] = set()
        for node in lead.cohort_nodes:
            name = _identifier(node)
            if name not in cohort_ids:
                node.fail(f"no cohort {name!r}", _suggest(name, cohort_ids, "cohorts"))
            scoped_cohorts.add(name)
        scoped_pairs: set[str] = set()
        for node in lead.pair_nodes:
            scoped_pairs.update(_find_pairs(node, [d.pair for d in drafts]))
        named = any(d.pair.lead == lead.email for d in drafts)
        if not (lead.all_pairs or scoped_cohorts or scoped_pairs or named):
            lead.node.fail(
                f"lead {lead.email!r} sees no pairs",
                hint="give cohorts:, pairs: or scope: all, or name the lead in a pair's lead:",
            )
        return Lead(
            email=lead.email,
            name=lead.name,
            timezone=lead.timezone,
            cohorts=frozenset(scoped_cohorts),
            pairs=frozenset(scoped_pairs),
            all_pairs=lead.all_pairs,
        )

    # -- cohorts ------------------------------------------------------------------------------

    def _cohort(
        self,
        node: Node,
        defaults: _Partial,
        zone: str,
        leads: Mapping[str, _LeadDraft],
        seen_ids: dict[str, int | None],
    ) -> tuple[Cohort, list[_PairDraft]]:
        _mapping(node).check_keys(
            COHORT_KEYS, moved={k: "settings go under settings:" for k in SETTINGS_KEYS}
        )
        id_node = node.require("id")
        cohort_id = _identifier(id_node)
        if not COHORT_ID.fullmatch(cohort_id):
            id_node.fail(
                f"{cohort_id!r} is not a usable cohort id",
                hint="use letters, digits, '.', '_' and '-', e.g. 2027-spring",
            )
        if cohort_id in seen_ids:
            id_node.fail(
                f"duplicate cohort id {cohort_id!r} (first used on line {seen_ids[cohort_id]})"
            )
        seen_ids[cohort_id] = id_node.line
        start_node = node.require("start")
        start = _date(start_node)
        today = self.now.astimezone(ZoneInfo(zone)).date()
        if start < today and not self.force:
            start_node.fail(f"start date {start} is in the past (today is {today})", FORCE_HINT)
        settings_node = node.get("settings")
        own = self._settings_block(_mapping(settings_node)) if settings_node else {}
        partial = _merge(defaults, own)
        settings = _build_settings(partial, start=start)
        pairs_node = node.get("pairs")
        csv_node = node.get("pairs_csv")
        if pairs_node is None and csv_node is None:
            node.fail(
                "missing required key 'pairs'",
                hint="list the pairs under pairs: or name an HR export with pairs_csv:",
            )
        drafts: list[_PairDraft] = []
        items = _list(pairs_node).value if pairs_node else []
        for index, item in enumerate(items):
            drafts.append(self._pair(item, index, cohort_id, start, partial, zone, leads))
        if csv_node is not None:
            for row in self._csv_rows(csv_node):
                drafts.append(
                    self._pair(row, len(drafts), cohort_id, start, partial, zone, leads, csv_node)
                )
        _check_pairs(drafts)
        _check_overlaps(drafts, start)
        source = Source(self.file, node.line, node.path)
        cohort = Cohort(
            id=cohort_id,
            start=start,
            pairs=tuple(d.pair for d in drafts),
            settings=settings,
            source=source,
        )
        return cohort, drafts

    def _pair(
        self,
        node: Node,
        index: int,
        cohort_id: str,
        start: date,
        cohort_partial: _Partial,
        zone: str,
        leads: Mapping[str, _LeadDraft],
        csv_node: Node | None = None,
    ) -> _PairDraft:
        _mapping(node).check_keys(
            PAIR_KEYS,
            moved={
                **{k: "settings go under settings:" for k in SETTINGS_KEYS},
                "timezone": "a timezone belongs to the mentor: or the mentee:",
            },
        )
        settings_node = node.get("settings")
        own = self._settings_block(_mapping(settings_node)) if settings_node else {}
        partial = _merge(cohort_partial, own)
        settings = _build_settings(partial, start=start)
        mentor_node = _mapping(node.require("mentor"))
        mentee_node = _mapping(node.require("mentee"))
        mentor = self._person(mentor_node, partial, settings, zone)
        mentee = self._person(mentee_node, partial, settings, zone)
        if mentor.email == mentee.email:
            mentee_node.require("email").fail(
                f"{mentee.email!r} cannot be both mentor and mentee of a pair"
            )
        focus_node = node.get("focus")
        slot_node = node.get("slot")
        lead_node = node.get("lead")
        lead = None
        if lead_node is not None:
            lead = _email(lead_node)
            if lead not in leads:
                hint = _suggest(lead, list(leads), "leads") if leads else None
                lead_node.fail(
                    f"{lead!r} is not a lead", hint or "declare leads under programme.leads"
                )
        if csv_node is not None:
            source = Source(node.file, node.line, f"{csv_node.path}")
        else:
            source = Source(self.file, node.line, node.path)
        pair = Pair(
            cohort_id=cohort_id,
            mentor=mentor,
            mentee=mentee,
            settings=settings,
            focus=_text(focus_node) if focus_node else None,
            fixed_slot=_slot(slot_node) if slot_node else None,
            lead=lead,
            source=source,
        )
        return _PairDraft(pair, node, index, mentor_node, mentee_node, slot_node, lead_node)

    def _person(self, node: Node, partial: _Partial, settings: Settings, zone: str) -> Person:
        node.check_keys(
            PERSON_KEYS,
            moved={"days": "put days under window:", "hours": "put hours under window:"},
        )
        email = _email(node.require("email"))
        name = _text(node.require("name"))
        zone_node = node.get("timezone")
        window = None
        window_node = node.get("window")
        if window_node is not None:
            own = _window_block(_mapping(window_node))
            merged = {**partial, **own}
            window = _build_window(merged)
            _check_window_fits(merged, window, settings.duration)
        return Person(
            email=email,
            name=name,
            timezone=_timezone(zone_node) if zone_node else zone,
            window=window,
        )

    # -- CSV ----------------------------------------------------------------------------------

    def _csv_rows(self, node: Node) -> list[Node]:
        """Rows of an HR export as pair nodes: same validators, messages point at the CSV."""
        path = self._path(node)
        shown = _shown_path(self.file, _text(node))
        try:
            data = path.read_bytes()
        except OSError as exc:
            node.fail(f"cannot read {shown!r}: {exc.strerror or exc}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"the file is not UTF-8 text (byte {exc.start})",
                file=shown,
                hint="save it as UTF-8",
            ) from None
        lines = text.splitlines()
        header_line = next((i for i, line in enumerate(lines) if line.strip()), None)
        if header_line is None:
            raise ConfigError(
                "the file is empty",
                file=shown,
                hint="the first line names the columns: " + ", ".join(CSV_COLUMNS),
            )
        delimiter = max(",;\t", key=lines[header_line].count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows: list[Node] = []
        columns: list[str] | None = None
        previous = 0
        try:
            for record in reader:
                line = previous + 1
                previous = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if columns is None:
                    columns = _csv_header(record, shown, line)
                    continue
                if len(record) != len(columns):
                    raise ConfigError(
                        f"the row has {len(record)} fields but the header has {len(columns)}",
                        file=shown,
                        line=line,
                        hint="put values that contain the delimiter in double quotes",
                    )
                rows.append(_csv_pair_node(dict(zip(columns, record, strict=True)), shown, line))
        except csv.Error as exc:
            raise ConfigError(
                f"malformed CSV: {exc}", file=shown, line=reader.line_num or None
            ) from None
        return rows

    # -- settings -----------------------------------------------------------------------------

    def _settings_block(self, node: Node) -> _Partial:
        """Validate one level of settings (each value at its own line) into flat keys."""
        node.check_keys(SETTINGS_KEYS)
        out: _Partial = {}
        parsers: dict[str, Callable[[Node], Any]] = {
            "cadence": _cadence,
            "sessions": lambda n: _integer(n, 1, MAX_SESSIONS),
            "end_date": _date,
            "duration": lambda n: _duration(n, minimum=timedelta(minutes=1), maximum=MAX_SESSION),
            "video": _video,
            "agenda_lead": lambda n: _duration(
                n, minimum=timedelta(minutes=1), maximum=MAX_AGENDA_LEAD
            ),
            "feedback_delay": lambda n: _duration(
                n, minimum=timedelta(0), maximum=MAX_FEEDBACK_DELAY
            ),
            "feedback_form_url": _url_template,
        }
        for key, child in node.items():
            if child.is_null:
                continue
            if key in parsers:
                out[key] = _Set(parsers[key](child), child)
            elif key == "window":
                out.update(_window_block(_mapping(child)))
            elif key == "digest":
                _mapping(child).check_keys(DIGEST_KEYS)
                for sub, parse in (("weekday", _weekday), ("time", _clock)):
                    value = child.get(sub)
                    if value is not None:
                        out[f"digest.{sub}"] = _Set(parse(value), value)
            elif key == "thresholds":
                _mapping(child).check_keys(THRESHOLD_KEYS)
                for sub in THRESHOLD_KEYS:
                    value = child.get(sub)
                    if value is None:
                        continue
                    if sub == "confirmed_share":
                        out[f"thresholds.{sub}"] = _Set(_share(value), value)
                    else:
                        out[f"thresholds.{sub}"] = _Set(_integer(value, 1, 52), value)
        if "sessions" in out and "end_date" in out:
            out["end_date"].node.fail(
                "give either sessions or end_date, not both",
                hint=f"sessions is set on line {out['sessions'].node.line}",
            )
        return out

    # -- paths --------------------------------------------------------------------------------

    def _path(self, node: Node) -> Path:
        """A path from the config: ``~`` and ``${VAR}`` expanded; relative to its folder."""
        text = _text(node)

        def variable(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in self.env:
                node.fail(f"environment variable {name} is not set")
            return self.env[name]

        text = re.sub(r"\$\{(\w+)\}|\$(\w+)", variable, text)
        if text == "~" or text.startswith("~/"):
            home = self.env.get("HOME")
            if not home:
                node.fail("cannot expand '~': HOME is not set")
            text = home + text[1:]
        path = Path(text)
        if not path.is_absolute():
            path = self.base / path
        return Path(os.path.normpath(path))

    def _folder(self, node: Node) -> Path:
        path = self._path(node)
        if not path.is_dir():
            node.fail(f"{_text(node)!r} is not a folder", hint=f"looked for {path}")
        return path


# -- cross-checks within a cohort ---------------------------------------------------------------


def _check_pairs(drafts: list[_PairDraft]) -> None:
    """The same pair twice, or one person in two zones, inside one cohort."""
    seen: dict[tuple[str, str], _PairDraft] = {}
    zones: dict[str, tuple[str, _PairDraft]] = {}
    for draft in drafts:
        pair = draft.pair
        key = (pair.mentor.email, pair.mentee.email)
        if key in seen:
            draft.anchor.fail(
                f"{pair.mentor.email} and {pair.mentee.email} are already a pair in this cohort, "
                f"at {_where(seen[key])}",
                hint="remove one of the two",
            )
        seen[key] = draft
        for person, node in ((pair.mentor, draft.mentor_node), (pair.mentee, draft.mentee_node)):
            known = zones.get(person.email)
            if known is not None and known[0] != person.timezone:
                target = node.get("timezone") or node.require("email")
                target.fail(
                    f"{person.email} is in {person.timezone} here but in {known[0]} "
                    f"at {_where(known[1])}",
                    hint="give this person the same timezone everywhere in a cohort",
                )
            zones.setdefault(person.email, (person.timezone, draft))


def _check_overlaps(drafts: list[_PairDraft], start: date) -> None:
    """Two fixed slots that put one person in two sessions at once.

    Only fixed slots can be judged here (searched slots are kept apart by the slot finder).
    Every occurrence of both series is compared in UTC, so a clash that only appears in the
    weeks when two zones' daylight-saving rules disagree is caught too.
    """
    busy: dict[str, list[tuple[datetime, datetime, _PairDraft]]] = {}
    for draft in drafts:
        slot = draft.pair.fixed_slot
        if slot is None:
            continue
        for occurrence in _slot_occurrences(draft.pair, start):
            end = occurrence + draft.pair.settings.duration
            for person in draft.pair.people:
                busy.setdefault(person.email, []).append((occurrence, end, draft))
    for email, sessions in busy.items():
        sessions.sort(key=lambda s: (s[0], s[2].index))
        clash = _first_overlap(sessions)
        if clash is None:
            continue
        (a_start, a), (b_start, b) = clash
        later, earlier = (a, b) if a.index > b.index else (b, a)
        day = max(a_start, b_start).astimezone(_slot_zone(later.pair)).date()
        assert later.slot_node is not None and earlier.pair.fixed_slot is not None
        later.slot_node.fail(
            f"{email} would be in two sessions at once: this slot overlaps "
            f"{earlier.pair.fixed_slot.describe()} of {_where(earlier)} on {day}",
            hint="give one of the two pairs another slot, or drop slot: to let rmcal search",
        )


def _first_overlap(
    sessions: list[tuple[datetime, datetime, _PairDraft]],
) -> tuple[tuple[datetime, _PairDraft], tuple[datetime, _PairDraft]] | None:
    """Sweep sessions sorted by start; the first two of different pairs that overlap."""
    latest: tuple[datetime, datetime, _PairDraft] | None = None
    for start, end, draft in sessions:
        if latest is not None and start < latest[1] and draft is not latest[2]:
            return (latest[0], latest[2]), (start, draft)
        if latest is None or end > latest[1]:
            latest = (start, end, draft)
    return None


def _slot_zone(pair: Pair) -> ZoneInfo:
    slot = pair.fixed_slot
    return ZoneInfo(slot.timezone if slot and slot.timezone else pair.mentee.timezone)


def _slot_occurrences(pair: Pair, start: date) -> list[datetime]:
    """Every start of a fixed-slot series: from the first slot weekday on or after ``start``."""
    slot = pair.fixed_slot
    assert slot is not None
    first_day = start + timedelta(days=(slot.weekday - start.weekday()) % 7)
    first = datetime.combine(
        first_day, time(slot.minute // 60, slot.minute % 60), tzinfo=_slot_zone(pair)
    )
    rule = build_rrule(
        pair.settings.cadence,
        first,
        sessions=pair.settings.sessions,
        end_date=pair.settings.end_date,
    )
    return [moment.astimezone(UTC) for moment in expand(rule, first)]


def _where(draft: _PairDraft) -> str:
    source = draft.pair.source
    if source is None:
        return draft.node.path
    if draft.node.columns is not None:
        return f"{source.file}:{source.line}"
    return f"{source.key} (line {source.line})"


# -- lead scopes ----------------------------------------------------------------------------------


def _find_pairs(node: Node, pairs: list[Pair]) -> set[str]:
    """A lead's ``pairs:`` entry: a pair id, or ``mentor@x/mentee@y`` (in any cohort)."""
    text = _text(node).strip()
    if "/" in text:
        mentor, _, mentee = (part.strip().lower() for part in text.partition("/"))
        found = {p.id for p in pairs if p.mentor.email == mentor and p.mentee.email == mentee}
        if not found:
            names = [f"{p.mentor.email}/{p.mentee.email}" for p in pairs]
            node.fail(f"no pair {text!r}", _suggest(text.lower(), names, None))
        return found
    ids = [p.id for p in pairs]
    if text not in ids:
        node.fail(
            f"no pair {text!r}",
            _suggest(text, ids, None) or "write a pair id or mentor@example.com/mentee@example.com",
        )
    return {text}


# -- CSV helpers ----------------------------------------------------------------------------------


def _csv_header(record: list[str], file: str, line: int) -> list[str]:
    columns = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in record]
    for written, column in zip(record, columns, strict=True):
        if column not in CSV_COLUMNS:
            raise ConfigError(
                f"unknown column {written.strip()!r}",
                file=file,
                line=line,
                key=written.strip() or None,
                hint=_suggest(column, list(CSV_COLUMNS), "columns"),
            )
    for column in CSV_COLUMNS:
        if columns.count(column) > 1:
            raise ConfigError(f"column {column!r} appears twice", file=file, line=line, key=column)
    for column in CSV_REQUIRED:
        if column not in columns:
            raise ConfigError(
                f"missing required column {column!r}",
                file=file,
                line=line,
                hint="required: " + ", ".join(CSV_REQUIRED),
            )
    return columns


def _csv_pair_node(row: dict[str, str], file: str, line: int) -> Node:
    """One CSV row shaped like a YAML pair, each cell keyed by its column for messages."""

    def cell(column: str) -> Node | None:
        value = row.get(column, "").strip()
        return Node(file, line, column, value, raw=value) if value else None

    def person(role: str) -> Node:
        children = {
            key: node
            for key in ("email", "name", "timezone")
            if (node := cell(f"{role}_{key}")) is not None
        }
        columns = {key: f"{role}_{key}" for key in ("email", "name", "timezone")}
        return Node(file, line, f"{role}_email", children, columns=columns)

    children: dict[str, Node] = {"mentor": person("mentor"), "mentee": person("mentee")}
    for column in ("focus", "slot", "lead"):
        node = cell(column)
        if node is not None:
            children[column] = node
    return Node(
        file, line, "", children, columns={"mentor": "mentor_email", "mentee": "mentee_email"}
    )


def _shown_path(config_file: str, value: str) -> str:
    """How to name a file the config refers to: next to the config as the admin named it."""
    if os.path.isabs(value):
        return value
    return os.path.normpath(os.path.join(os.path.dirname(config_file), value))


# -- values -------------------------------------------------------------------------------------


def _mapping(node: Node) -> Node:
    if not node.is_map:
        node.fail(f"expected a mapping (key: value lines), got {node.describe()}")
    return node


def _list(node: Node) -> Node:
    if not node.is_list:
        node.fail(f"expected a list, got {node.describe()}", hint="write [a, b] or '- ' lines")
    return node


def _text(node: Node) -> str:
    if not isinstance(node.value, str):
        hint = "put it in quotes" if not (node.is_map or node.is_list) else None
        node.fail(f"expected text, got {node.describe()}", hint)
    text = node.value.strip()
    if not text:
        node.fail("must not be empty")
    return text


def _identifier(node: Node) -> str:
    """Ids may be written bare (``2027``, ``2027-01-11``); they are text all the same."""
    if isinstance(node.value, int | date) and not isinstance(node.value, bool):
        return node.text_of()
    return _text(node)


def _email(node: Node) -> str:
    text = _text(node)
    if not EMAIL.fullmatch(text):
        hint = None
        bare = re.search(r"<([^<>]+)>", text)
        if bare and EMAIL.fullmatch(bare.group(1).strip()):
            hint = f"give the bare address, {bare.group(1).strip().lower()!r}"
        node.fail(f"{text!r} is not an e-mail address", hint)
    return text.lower()


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _zones_by_lower() -> dict[str, str]:
    return {zone.lower(): zone for zone in _zones()}


def _timezone(node: Node) -> str:
    text = _text(node)
    if text in _zones():
        return text
    hint = None
    lower = text.lower()
    if lower in _zones_by_lower():
        hint = f"did you mean {_zones_by_lower()[lower]!r}? (names are case-sensitive)"
    elif lower in ZONE_ABBREVIATIONS:
        hint = (
            f"abbreviations are ambiguous and ignore daylight saving; "
            f"use a city zone such as {ZONE_ABBREVIATIONS[lower]!r}"
        )
    else:
        close = difflib.get_close_matches(lower, list(_zones_by_lower()), n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {_zones_by_lower()[close[0]]!r}?"
        else:
            hint = "use a name from the tz database, e.g. 'Europe/London'"
    node.fail(f"{text!r} is not an IANA time zone", hint)


def _date(node: Node) -> date:
    value = node.value
    if isinstance(value, datetime):
        node.fail(f"expected a date without a time, got {node.text_of()!r}", "write YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
        node.fail(f"{value!r} is not a date", "write YYYY-MM-DD, e.g. 2027-01-11")
    node.fail(f"expected a date, got {node.describe()}", "write YYYY-MM-DD, e.g. 2027-01-11")


def _integer(node: Node, low: int, high: int) -> int:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int):
        node.fail(f"expected a whole number, got {node.describe()}")
    if value < low:
        node.fail(f"must be at least {low}, got {value}")
    if value > high:
        node.fail(f"must be at most {high}, got {value}")
    return value


def _share(node: Node) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        node.fail(f"expected a number between 0 and 1, got {node.describe()}")
    if not 0 < value <= 1:
        node.fail(f"must be more than 0 and at most 1, got {node.text_of()}")
    return float(value)


_DURATION_UNITS = {
    "d": 1440,
    "day": 1440,
    "days": 1440,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
}
_DURATION = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[a-z]+)+\s*")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def _duration(node: Node, *, minimum: timedelta, maximum: timedelta) -> timedelta:
    """``45m``, ``1h30m``, ``90 minutes``, ``2 days``, or a bare number of minutes."""
    value = node.value
    written = node.text_of()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        node.fail(f"expected a duration, got {node.describe()}", DURATION_HINT)
    if isinstance(value, int | float):
        minutes = float(value)
    else:
        text = value.strip().lower()
        sign = -1.0 if text.startswith("-") else 1.0
        text = text.lstrip("-").strip()
        if re.fullmatch(r"\d+", text):
            minutes = float(text)
        elif _DURATION.fullmatch(text) and all(
            unit in _DURATION_UNITS for _, unit in _DURATION_PART.findall(text)
        ):
            minutes = sum(
                float(amount) * _DURATION_UNITS[unit]
                for amount, unit in _DURATION_PART.findall(text)
            )
        else:
            node.fail(f"{written!r} is not a duration", DURATION_HINT)
        minutes *= sign
    if not math.isfinite(minutes):
        node.fail(f"{written!r} is not a duration", DURATION_HINT)
    if minutes > maximum.total_seconds() / 60:
        node.fail(f"must be at most {_show_duration(maximum)}, got {written!r}")
    if minutes != int(minutes):
        node.fail(f"{written!r} is not a whole number of minutes")
    result = timedelta(minutes=int(minutes))
    if result < minimum:
        floor = "zero" if minimum <= timedelta(minutes=1) else _show_duration(minimum)
        verb = "must not be negative" if minimum == timedelta(0) else f"must be more than {floor}"
        node.fail(f"{verb}, got {written!r}")
    return result


def _show_duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440} days"
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


_EVERY = re.compile(r"every\s+(\d+|other)\s+(weeks?|months?)")


def _cadence(node: Node) -> Cadence:
    written = _text(node)
    text = " ".join(written.lower().split())
    if text.startswith(("rrule:", "freq=")):
        try:
            check_raw(written)
            rule = normalize(written)
        except RecurrenceError as exc:
            node.fail(f"{written!r} is not a usable RRULE: {exc}")
        interval = int(dict(p.split("=", 1) for p in rule.split(";")).get("INTERVAL", "1"))
        return Cadence("rrule", interval=interval, rrule=rule, text=written)
    simple: dict[str, tuple[Literal["weekly", "monthly"], int]] = {
        "weekly": ("weekly", 1),
        "every week": ("weekly", 1),
        "fortnightly": ("weekly", 2),
        "monthly": ("monthly", 1),
        "every month": ("monthly", 1),
    }
    if text in simple:
        kind, interval = simple[text]
        return Cadence(kind, interval=interval, text=written)
    match = _EVERY.fullmatch(text)
    if match:
        count = 2 if match.group(1) == "other" else int(match.group(1))
        kind = "weekly" if match.group(2).startswith("week") else "monthly"
        limit = 52 if kind == "weekly" else 12
        if not 1 <= count <= limit:
            unit = "weeks" if kind == "weekly" else "months"
            node.fail(
                f"{written!r} is not a cadence",
                f"the number of {unit} must be between 1 and {limit}",
            )
        return Cadence(kind, interval=count, text=written)
    hint = CADENCE_HINT
    if text in {"biweekly", "bi-weekly", "bimonthly", "bi-monthly"}:
        hint = f"{written!r} is ambiguous (twice a period or every other one); " + CADENCE_HINT
    node.fail(f"{written!r} is not a cadence", hint)


def _video(node: Node) -> Literal["auto", "none"]:
    if isinstance(node.value, bool):  # video: yes / off, read the way it is meant
        return "auto" if node.value else "none"
    if node.value == "auto":
        return "auto"
    if node.value == "none":
        return "none"
    node.fail(f"{node.text_of()!r} is not a video setting", "use auto or none")


def _url_template(node: Node) -> str:
    text = _text(node)
    if not re.match(r"https?://[^\s/]+", text):
        node.fail(f"{text!r} is not an http(s) URL")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        node.fail(f"{text!r} is not a valid template: {exc}", "write a literal brace as {{ or }}")
    for name in fields:
        if name not in URL_PLACEHOLDERS:
            hint = _suggest(name, list(URL_PLACEHOLDERS), None) or "use {pair}, {session}, {cohort}"
            node.fail(f"unknown placeholder {{{name}}}", hint)
    return text


def _day(token: str) -> int | None:
    token = token.strip().lower()
    if len(token) < 3:
        return None
    for index, name in enumerate(DAY_NAMES):
        if name.startswith(token):
            return index
    return None


def _weekday(node: Node) -> int:
    text = _text(node)
    day = _day(text)
    if day is None:
        node.fail(f"{text!r} is not a day of the week", "use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
    return day


def _days(node: Node) -> frozenset[int]:
    """``Mon-Fri``, ``Mon, Wed``, ``[Mon, Wed]``; a range may wrap (``Sun-Thu``)."""
    tokens: list[tuple[str, Node]]
    if node.is_list:
        tokens = [(_text(item), item) for item in node.value]
    else:
        tokens = [(part, node) for part in _text(node).split(",")]
    days: set[int] = set()
    for token, where in tokens:
        first, dash, last = token.replace("–", "-").partition("-")
        start = _day(first)
        end = _day(last) if dash else start
        if start is None or end is None:
            where.fail(f"{token.strip()!r} is not a day of the week", DAYS_HINT)
        day = start
        days.add(day)
        while day != end:
            day = (day + 1) % 7
            days.add(day)
    if not days:
        node.fail("no days given", DAYS_HINT)
    return frozenset(days)


_CLOCK = r"(\d{1,2}):(\d{2})"


def _minute_of_day(hours: str, minutes: str, *, end: bool = False) -> int | None:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        return None
    return h * 60 + m


def _clock_text(node: Node) -> str:
    # YAML 1.1 reads an unquoted 14:00 as the number 840; the text as written is what was meant.
    if isinstance(node.value, int) and not isinstance(node.value, bool) and node.raw:
        return node.raw
    return _text(node)


def _clock(node: Node) -> time:
    text = _clock_text(node)
    match = re.fullmatch(_CLOCK, text.strip())
    minute = _minute_of_day(*match.groups()) if match else None
    if minute is None:
        node.fail(f"{text!r} is not a time of day", "write HH:MM, e.g. 08:00")
    return time(minute // 60, minute % 60)


def _hours(node: Node) -> tuple[int, int]:
    text = _clock_text(node)
    match = re.fullmatch(rf"\s*{_CLOCK}\s*(?:-|–|to)\s*{_CLOCK}\s*", text)
    if match is None:
        node.fail(f"{text!r} is not a range of hours", 'write e.g. "09:00-17:00"')
    start = _minute_of_day(match.group(1), match.group(2))
    end = _minute_of_day(match.group(3), match.group(4), end=True)
    if start is None or end is None:
        node.fail(f"{text!r} is not a range of hours", 'write e.g. "09:00-17:00"')
    if end <= start:
        node.fail(
            f"{text!r} ends before it starts",
            "a window lies within one day; the end must be later than the start",
        )
    return start, end


def _window_block(node: Node) -> _Partial:
    node.check_keys(WINDOW_KEYS)
    out: _Partial = {}
    days = node.get("days")
    if days is not None:
        out["window.days"] = _Set(_days(days), days)
    hours = node.get("hours")
    if hours is not None:
        out["window.hours"] = _Set(_hours(hours), hours)
    return out


def _slot(node: Node) -> FixedSlot:
    """``Wed 14:00`` or ``Wednesday 14:00 Europe/London`` (without a zone: the mentee's)."""
    text = _text(node)
    match = re.fullmatch(rf"([A-Za-z]+)\s+{_CLOCK}(?:\s+(\S+))?", text)
    hint = "write a weekday and a time, e.g. 'Wed 14:00' or 'Wed 14:00 Europe/London'"
    if match is None:
        node.fail(f"{text!r} is not a slot", hint)
    day = _day(match.group(1))
    minute = _minute_of_day(match.group(2), match.group(3))
    if day is None or minute is None:
        node.fail(f"{text!r} is not a slot", hint)
    zone = None
    if match.group(4):
        zone_node = Node(node.file, node.line, node.path, match.group(4), raw=match.group(4))
        zone = _timezone(zone_node)
    return FixedSlot(weekday=day, minute=minute, timezone=zone)


# -- building settings ----------------------------------------------------------------------------


def _build_window(partial: _Partial) -> Window:
    fallback = Settings().window
    days = partial["window.days"].value if "window.days" in partial else fallback.days
    if "window.hours" in partial:
        start, end = partial["window.hours"].value
    else:
        start, end = fallback.start_minute, fallback.end_minute
    return Window(days=days, start_minute=start, end_minute=end)


def _check_window_fits(partial: _Partial, window: Window, duration: timedelta) -> None:
    """A window shorter than one session can never hold it; say so here, not at scheduling."""
    if timedelta(minutes=window.end_minute - window.start_minute) >= duration:
        return
    where = partial.get("window.hours") or partial.get("duration")
    if where is None:  # both from the built-in defaults, which fit
        return
    hours = window.describe().split(" ")[-1]
    where.node.fail(f"the window {hours} is shorter than one {_show_duration(duration)} session")


def _build_settings(partial: _Partial, *, start: date | None = None) -> Settings:
    """One level's effective settings; the model's defaults fill what no level set."""
    base = Settings()
    kwargs: dict[str, Any] = {}
    for key in ("cadence", "duration", "video", "agenda_lead", "feedback_delay"):
        if key in partial:
            kwargs[key] = partial[key].value
    if "feedback_form_url" in partial:
        kwargs["feedback_form_url"] = partial["feedback_form_url"].value
    if "end_date" in partial:
        end = partial["end_date"]
        if start is not None and end.value < start:
            end.node.fail(f"end date {end.value} is before the cohort starts ({start})")
        kwargs["end_date"] = end.value
        kwargs["sessions"] = None
    elif "sessions" in partial:
        kwargs["sessions"] = partial["sessions"].value
    window = _build_window(partial)
    _check_window_fits(partial, window, kwargs.get("duration", base.duration))
    kwargs["window"] = window
    if "digest.weekday" in partial:
        kwargs["digest_weekday"] = partial["digest.weekday"].value
    if "digest.time" in partial:
        kwargs["digest_time"] = partial["digest.time"].value
    thresholds = Thresholds(
        **{
            key: partial[f"thresholds.{key}"].value
            for key in THRESHOLD_KEYS
            if f"thresholds.{key}" in partial
        }
    )
    if thresholds.off_track_missed < thresholds.at_risk_missed:
        where = partial.get("thresholds.off_track_missed") or partial["thresholds.at_risk_missed"]
        where.node.fail(
            f"off_track_missed ({thresholds.off_track_missed}) must be at least "
            f"at_risk_missed ({thresholds.at_risk_missed})"
        )
    kwargs["thresholds"] = thresholds
    return Settings(**kwargs)


# -- secrets --------------------------------------------------------------------------------------


def _reject_secrets(node: Node) -> None:
    """Secrets belong in the environment or a file, never in a config that gets shared."""
    if node.is_list:
        for item in node.value:
            _reject_secrets(item)
        return
    if not node.is_map:
        return
    for key, child in node.items():
        if key.lower() in SECRET_KEYS:
            raise ConfigError(
                "secrets do not belong in the config file",
                file=node.file,
                line=node.key_lines.get(key, node.line),
                key=node.child_path(key),
                hint=f"name an environment variable with {key}_env, or a file with {key}_file",
            )
        _reject_secrets(child)


# -- suggestions ----------------------------------------------------------------------------------


def _suggest(word: str, choices: list[str], plural: str | None) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if plural and choices:
        return f"known {plural}: " + ", ".join(choices)
    if plural:
        return f"no {plural} are declared"
    return None
