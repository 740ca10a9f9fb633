"""The YAML walk: the admin's file, section by section, built into a frozen ``Config``.

Why so strict: the config is the desired state of real people's calendars. A typo that a lax
loader ignored (``mentro:``, ``Europe/Londn``, ``every 2 week``) would surface weeks later as a
missing series or a 3 a.m. invite. So every key is checked against the tables below, every value
by ``values``, and the first problem is raised as one ``ConfigError`` that names the file, the
line and the key path, with a hint (usually a did-you-mean). Nothing is half-built: either a
whole ``Config`` comes back or nothing.

This module knows the file's structure (which keys live where, what is required, which paths
resolve against the config's folder); the settings cascade, the HR export, the leads' scopes and
the cross-pair checks each live next door. The full key reference is ``docs/config.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.config.checks import PairDraft, check_cohort
from rmcal.config.files import CONFIG_LIMIT, check_path, decode_text, read_source
from rmcal.config.hrcsv import pair_rows
from rmcal.config.leads import LEAD_KEYS, LeadDraft, read_leads, resolve_lead
from rmcal.config.matching import MATCHING_KEYS, WEIGHT_KEYS, read_matching
from rmcal.config.settings import (
    DIGEST_KEYS,
    SETTINGS_KEYS,
    THRESHOLD_KEYS,
    WINDOW_KEYS,
    Partial,
    build_settings,
    build_window,
    check_window_fits,
    merge,
    settings_block,
    window_block,
)
from rmcal.config.text import (
    MAX_LINE,
    MAX_TEXT,
    expect_list,
    expect_mapping,
    parse_email,
    parse_identifier,
    parse_line,
    parse_text,
    suggest,
)
from rmcal.config.values import (
    COHORT_ID,
    parse_slot,
    parse_start,
    parse_timezone,
)
from rmcal.config.yamlsource import Node, load_yaml
from rmcal.errors import ConfigError
from rmcal.model import (
    Cohort,
    Config,
    Organizer,
    Pair,
    Person,
    Programme,
    ProviderConfig,
    Settings,
    Source,
)
from rmcal.recurrence import HORIZON_TEXT, MAX_HORIZON

TOP_KEYS = ("programme", "provider", "state", "defaults", "cohorts", "matching")
PROGRAMME_KEYS = ("name", "purpose", "organizer", "timezone", "templates", "leads")
ORGANIZER_KEYS = ("email", "name")
COHORT_KEYS = ("id", "start", "settings", "pairs_csv", "pairs")
PAIR_KEYS = ("mentor", "mentee", "focus", "slot", "lead", "settings")
PERSON_KEYS = ("email", "name", "timezone", "window")

# Every key table the loader checks mappings against, by the path of the mapping it applies to
# (``[]`` marks a list item). Settings tables apply in a cohort's and a pair's ``settings:`` too,
# and the person table to ``mentee`` as well: each is listed once, where the docs describe it.
KEY_TABLES: Mapping[str, tuple[str, ...]] = {
    "": TOP_KEYS,
    "programme": PROGRAMME_KEYS,
    "programme.organizer": ORGANIZER_KEYS,
    "programme.leads[]": LEAD_KEYS,
    "defaults": SETTINGS_KEYS,
    "defaults.window": WINDOW_KEYS,
    "defaults.digest": DIGEST_KEYS,
    "defaults.thresholds": THRESHOLD_KEYS,
    "cohorts[]": COHORT_KEYS,
    "cohorts[].pairs[]": PAIR_KEYS,
    "cohorts[].pairs[].mentor": PERSON_KEYS,
    "matching": MATCHING_KEYS,
    "matching.weights": WEIGHT_KEYS,
}

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
FORCE_HINT = "use --force to schedule a cohort that already started"
# The years a cohort may start in: an earlier or later one is a typo, and five years of
# sessions and look-aheads must still fit in Python's calendar (which ends in 9999).
EARLIEST_START_YEAR, LATEST_START_YEAR = 2000, 2999


def load_config(
    path: str | Path,
    *,
    now: datetime | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
    unread_pairs_csv: str | None = None,
) -> Config:
    """Read, validate and build the programme described by the YAML file at ``path``.

    ``now`` is the injected clock (a cohort may not start before today, in the programme's
    zone, unless ``force``); ``env`` expands ``~`` and ``${VAR}`` in paths (default: the process
    environment). ``unread_pairs_csv`` names the cohort whose ``pairs_csv`` is not read (it may
    not exist yet): the one ``rmcal match`` is about to write. Raises one ``ConfigError`` for
    the first problem found; errors name ``path`` as given, so the message reads the way the
    admin typed the command.
    """
    file = str(path)
    check_path(file, file=file)
    absolute = Path(os.path.abspath(path))
    data = read_source(absolute, shown=file, limit=CONFIG_LIMIT, what="the config file")
    root = load_yaml(decode_text(data, shown=file), file)
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
        unread_pairs_csv=unread_pairs_csv,
    )
    return loader.load(root)


@dataclass(frozen=True)
class _CohortContext:
    """What every pair of a cohort inherits: its id, start, settings so far and default zone."""

    id: str
    start: date
    partial: Partial
    zone: str


class _Loader:
    """One load: holds the file, the clock and what earlier sections declared."""

    def __init__(
        self,
        *,
        file: str,
        path: Path,
        now: datetime,
        force: bool,
        env: Mapping[str, str],
        unread_pairs_csv: str | None,
    ) -> None:
        self.unread_pairs_csv = unread_pairs_csv
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
        programme_node = expect_mapping(root.require("programme"))
        programme_node.check_keys(PROGRAMME_KEYS)
        name = parse_line(programme_node.require("name"))
        purpose = parse_text(programme_node.require("purpose"), limit=MAX_TEXT)
        organizer = self._organizer(programme_node, name)
        zone = parse_timezone(programme_node.require("timezone"))
        templates_node = programme_node.get("templates")
        templates = self._folder(templates_node) if templates_node else None
        leads = read_leads(programme_node.get("leads"), zone=zone)
        provider = self._provider(expect_mapping(root.require("provider")))
        state_node = root.get("state")
        state = self._path(state_node) if state_node else self.base / "rmcal-state.db"
        defaults_node = root.get("defaults")
        defaults = settings_block(expect_mapping(defaults_node)) if defaults_node else {}
        defaults_settings = build_settings(defaults)
        cohorts_node = expect_list(root.require("cohorts"))
        if not cohorts_node.value:
            cohorts_node.fail("at least one cohort is needed")
        lead_emails = {lead.email: lead for lead in leads}
        cohorts: list[Cohort] = []
        drafts: list[PairDraft] = []
        seen_ids: dict[str, int | None] = {}
        for node in cohorts_node.value:
            cohort, cohort_drafts = self._cohort(
                node, defaults=defaults, zone=zone, leads=lead_emails, seen_ids=seen_ids
            )
            cohorts.append(cohort)
            drafts.extend(cohort_drafts)
        programme = Programme(
            name=name,
            purpose=purpose,
            organizer=organizer,
            timezone=zone,
            leads=tuple(resolve_lead(lead, cohorts=cohorts, drafts=drafts) for lead in leads),
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
            matching=read_matching(root.get("matching")),
        )

    def _organizer(self, programme: Node, programme_name: str) -> Organizer:
        """The mailbox that owns every invite; without a name it signs as the programme."""
        node = expect_mapping(programme.require("organizer"))
        node.check_keys(ORGANIZER_KEYS)
        email = parse_email(node.require("email"))
        name_node = node.get("name")
        return Organizer(email=email, name=parse_line(name_node) if name_node else programme_name)

    # -- provider -----------------------------------------------------------------------------

    def _provider(self, node: Node) -> ProviderConfig:
        kind = parse_text(node.require("kind", hint="e.g. kind: local"))
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

    # -- cohorts ------------------------------------------------------------------------------

    def _cohort(
        self,
        node: Node,
        *,
        defaults: Partial,
        zone: str,
        leads: Mapping[str, LeadDraft],
        seen_ids: dict[str, int | None],
    ) -> tuple[Cohort, list[PairDraft]]:
        expect_mapping(node).check_keys(
            COHORT_KEYS, moved={k: "settings go under settings:" for k in SETTINGS_KEYS}
        )
        id_node = node.require("id")
        cohort_id = parse_identifier(id_node)
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
        today = self.now.astimezone(ZoneInfo(zone)).date()
        start, relative_start = parse_start(start_node, today)
        if start < today and not self.force:
            start_node.fail(f"start date {start} is in the past (today is {today})", FORCE_HINT)
        latest = today + min(MAX_HORIZON, date.max - today)
        if start > latest:
            start_node.fail(
                f"start date {start} is more than {HORIZON_TEXT} away (today is {today})",
                hint="check the year",
            )
        if not EARLIEST_START_YEAR <= start.year <= LATEST_START_YEAR:
            start_node.fail(
                f"start date {start} is not between the years {EARLIEST_START_YEAR} and "
                f"{LATEST_START_YEAR}",
                "check the year",
            )
        settings_node = node.get("settings")
        own = settings_block(expect_mapping(settings_node)) if settings_node else {}
        partial = merge(defaults, own)
        settings = build_settings(partial, start=start)
        pairs_node = node.get("pairs")
        csv_node = node.get("pairs_csv")
        if pairs_node is None and csv_node is None:
            node.fail(
                "missing required key 'pairs'",
                hint="list the pairs under pairs: or name an HR export with pairs_csv:",
            )
        cohort = _CohortContext(id=cohort_id, start=start, partial=partial, zone=zone)
        drafts: list[PairDraft] = []
        items = expect_list(pairs_node).value if pairs_node else []
        for index, item in enumerate(items):
            drafts.append(self._pair(item, index=index, cohort=cohort, leads=leads))
        csv_path = self._path(csv_node) if csv_node is not None else None
        if csv_path is not None and csv_node is not None and cohort_id != self.unread_pairs_csv:
            rows = pair_rows(csv_node, path=csv_path, config_file=self.file)
            for row in rows:
                drafts.append(
                    self._pair(row, index=len(drafts), cohort=cohort, leads=leads, csv=csv_node)
                )
        check_cohort(drafts, start)
        source = Source(self.file, node.line, node.path)
        built = Cohort(
            id=cohort_id,
            start=start,
            relative_start=relative_start,
            pairs=tuple(d.pair for d in drafts),
            settings=settings,
            source=source,
            pairs_csv=csv_path,
        )
        return built, drafts

    def _pair(
        self,
        node: Node,
        *,
        index: int,
        cohort: _CohortContext,
        leads: Mapping[str, LeadDraft],
        csv: Node | None = None,
    ) -> PairDraft:
        expect_mapping(node).check_keys(
            PAIR_KEYS,
            moved={
                **{k: "settings go under settings:" for k in SETTINGS_KEYS},
                "timezone": "a timezone belongs to the mentor: or the mentee:",
            },
        )
        settings_node = node.get("settings")
        own = settings_block(expect_mapping(settings_node)) if settings_node else {}
        partial = merge(cohort.partial, own)
        settings = build_settings(partial, start=cohort.start)
        mentor_node = expect_mapping(node.require("mentor"))
        mentee_node = expect_mapping(node.require("mentee"))
        mentor = self._person(mentor_node, partial=partial, settings=settings, zone=cohort.zone)
        mentee = self._person(mentee_node, partial=partial, settings=settings, zone=cohort.zone)
        if mentor.email == mentee.email:
            mentee_node.require("email").fail(
                f"{mentee.email!r} cannot be both mentor and mentee of a pair"
            )
        focus_node = node.get("focus")
        slot_node = node.get("slot")
        lead_node = node.get("lead")
        lead = None
        if lead_node is not None:
            lead = parse_email(lead_node)
            if lead not in leads:
                hint = suggest(lead, list(leads), "leads") if leads else None
                lead_node.fail(
                    f"{lead!r} is not a lead", hint or "declare leads under programme.leads"
                )
        if csv is not None:
            source = Source(node.file, node.line, csv.path)
        else:
            source = Source(self.file, node.line, node.path)
        pair = Pair(
            cohort_id=cohort.id,
            mentor=mentor,
            mentee=mentee,
            settings=settings,
            focus=parse_line(focus_node, limit=MAX_LINE) if focus_node else None,
            fixed_slot=parse_slot(slot_node) if slot_node else None,
            lead=lead,
            source=source,
        )
        return PairDraft(
            pair=pair,
            node=node,
            index=index,
            mentor_node=mentor_node,
            mentee_node=mentee_node,
            slot_node=slot_node,
            lead_node=lead_node,
        )

    def _person(self, node: Node, *, partial: Partial, settings: Settings, zone: str) -> Person:
        node.check_keys(
            PERSON_KEYS,
            moved={"days": "put days under window:", "hours": "put hours under window:"},
        )
        email = parse_email(node.require("email"))
        name = parse_line(node.require("name"))
        zone_node = node.get("timezone")
        window = None
        window_node = node.get("window")
        if window_node is not None:
            own = window_block(expect_mapping(window_node))
            merged = {**partial, **own}
            window = build_window(merged)
            check_window_fits(merged, window, settings.duration)
        return Person(
            email=email,
            name=name,
            timezone=parse_timezone(zone_node) if zone_node else zone,
            window=window,
        )

    # -- paths --------------------------------------------------------------------------------

    def _path(self, node: Node) -> Path:
        """A path from the config: ``~`` and ``${VAR}`` expanded; relative to its folder."""
        text = parse_text(node)

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
        path = Path(os.path.normpath(path))
        check_path(str(path), file=node.file, line=node.line, key=node.path)
        return path

    def _folder(self, node: Node) -> Path:
        path = self._path(node)
        if not path.is_dir():
            node.fail(f"{parse_text(node)!r} is not a folder", hint=f"looked for {path}")
        return path


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
