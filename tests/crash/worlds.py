"""The three worlds the crash harness kills rmcal in: a local folder, a fake Graph, a fake Google.

A world is a programme folder (config, state file, the local provider's files) plus, for the
cloud providers, a fake HTTPS server running in this process with a ``KillSwitch`` (and,
optionally, a seeded ``FaultPlan``). It can be saved and put back whole (``snapshot`` /
``restore``), so that every crash of a command starts from the same world as the uninterrupted
run it is compared with, and it describes what a person would see afterwards:

* ``series()``: the live series per pair, each reduced to what the attendees see (times, rule,
  attendees, text, sequence; not server-made ids);
* ``mail()``: every message that went out, by ``X-Rmcal-Key`` (agenda, feedback, digest
  e-mails; on the local provider also the invitations, which it writes itself);
* ``notices()``: what the calendar service mailed on rmcal's behalf (Google's
  ``sendUpdates=all`` inserts and patches, Graph's event changes), counted per event.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from typing import Any, Protocol

from tests.cohort20 import write_config
from tests.fakes.faults import FaultPlan
from tests.fakes.kill import Arrival, KillSwitch

DOMAIN = "contoso.com"
ORGANIZER = f"rm@{DOMAIN}"
SECRET_ENV = {"RMCAL_FAKE_SECRET": "fake-secret"}
# Cloud settings for short runs: a client timeout under the fake's one-second stall, a small
# first backoff step, and a budget that outlasts bad luck (as in tests/faultwalk.py).
FAST = {"timeout": 0.5, "max_retry_seconds": 60, "retry_base_seconds": 0.05}


class World(Protocol):
    name: str
    lookup: bool
    folder: Path
    config: Path
    env: dict[str, str]
    switch: KillSwitch | None
    faults: FaultPlan | None

    def snapshot(self, to: Path) -> Any: ...

    def restore(self, saved: Any) -> None: ...

    def series(self) -> dict[str, list[str]]: ...

    def mail(self) -> Counter[str]: ...

    def notices(self) -> Counter[str]: ...

    def send_key(self, arrival: Arrival) -> str | None: ...

    def use_faults(self, plan: FaultPlan | None) -> None: ...


def _key_of(raw: bytes) -> str | None:
    message = message_from_bytes(raw, policy=DEFAULT_POLICY)
    key = message.get("X-Rmcal-Key")
    return None if key is None else str(key).strip()


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


@dataclass
class _Files:
    """The programme folder, saved by copying it (the state file is closed between runs)."""

    folder: Path

    def save(self, to: Path) -> Path:
        if to.exists():
            shutil.rmtree(to)
        shutil.copytree(self.folder, to, symlinks=True)
        return to

    def put_back(self, saved: Path) -> None:
        for child in self.folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        shutil.copytree(saved, self.folder, symlinks=True, dirs_exist_ok=True)


def debris(folder: Path) -> list[str]:
    """Temporary files a write left behind in the programme folder (hidden ``*.tmp``)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*.tmp"))


def _clone(fake: Any) -> Any:
    """A deep copy of a fake's state with a lock of its own (locks cannot be copied)."""
    return copy.deepcopy(fake, memo={id(fake.lock): threading.RLock()})


@dataclass
class LocalWorld:
    """The local provider: the calendars and the outbox are files; the kills are file writes."""

    folder: Path
    pairs: int
    name: str = "local"
    lookup: bool = False
    switch: KillSwitch | None = None
    faults: FaultPlan | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = write_config(
            self.folder, {"kind": "local", "folder": "local"}, domain=DOMAIN, pairs=self.pairs
        )
        self._files = _Files(self.folder)

    def snapshot(self, to: Path) -> Any:
        return self._files.save(to)

    def restore(self, saved: Any) -> None:
        self._files.put_back(saved)

    def series(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in sorted((self.folder / "local" / "calendars").glob("*.ics")):
            text = path.read_bytes().decode()
            pair = next(
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("X-RMCAL-PAIR")
            )
            found.setdefault(pair, []).append(text)
        return found

    def mail(self) -> Counter[str]:
        outbox = self.folder / "local" / "outbox"
        keys = (_key_of(p.read_bytes()) for p in sorted(outbox.glob("*.eml")))
        return Counter(key for key in keys if key)

    def notices(self) -> Counter[str]:
        return Counter()  # the local provider's invitations are in its outbox: mail()

    def send_key(self, arrival: Arrival) -> str | None:
        return None

    def use_faults(self, plan: FaultPlan | None) -> None:
        if plan is not None:
            raise ValueError("the local provider has no server to fail")

    def close(self) -> None:
        pass


class GraphWorld:
    """Microsoft 365 through the fake Graph; kills at API requests and at file writes."""

    name = "microsoft"

    def __init__(self, folder: Path, pairs: int, *, lookup: bool, faults: FaultPlan | None):
        from tests.fakes.graph_server import DEFAULT_ROLES, FakeGraph, GraphServer

        self.folder, self.lookup, self.faults = folder, lookup, faults
        roles = (*DEFAULT_ROLES, "Mail.ReadBasic.All") if lookup else DEFAULT_ROLES
        self.server = GraphServer(
            FakeGraph(roles=roles), directory=folder.parent / "tls-graph", faults=faults
        )
        self.switch = KillSwitch()
        self.server.httpd.kill = self.switch
        self.server.start()
        settings = {"kind": "microsoft", **self.server.settings(), **FAST}
        settings["sent_items_lookup"] = lookup
        self.config = write_config(folder, settings, domain=DOMAIN, pairs=pairs)
        self.env = dict(SECRET_ENV)
        self._files = _Files(folder)

    @property
    def graph(self) -> Any:
        return self.server.httpd.graph

    def snapshot(self, to: Path) -> Any:
        return self._files.save(to), _clone(self.graph)

    def restore(self, saved: Any) -> None:
        files, graph = saved
        self._files.put_back(files)
        self.server.graph = self.server.httpd.graph = _clone(graph)

    def _masters(self) -> Iterator[dict[str, Any]]:
        for event in self.graph.events.values():
            if event.get("type") == "seriesMaster":
                yield event

    def series(self) -> dict[str, list[str]]:
        from rmcal_providers.microsoft.events import property_id

        pair_property = property_id("pair")
        found: dict[str, list[str]] = {}
        for event in self._masters():
            tags = {p["id"]: p["value"] for p in event.get("singleValueExtendedProperties") or []}
            seen = {k: v for k, v in event.items() if k not in ("id", "iCalUId", "onlineMeeting")}
            found.setdefault(tags.get(pair_property, "?"), []).append(_canonical(seen))
        return found

    def mail(self) -> Counter[str]:
        from email.message import EmailMessage

        return Counter(
            str(m["X-Rmcal-Key"]).strip() for m in self.graph.sent if isinstance(m, EmailMessage)
        )

    def notices(self) -> Counter[str]:
        """Event changes Graph mails to attendees: every create and every PATCH carried out."""
        changes: Counter[str] = Counter()
        for method, url in self.graph.requests:
            if method == "PATCH" and "/events/" in url:
                changes[url.split("/events/", 1)[1].split("?", 1)[0]] += 1
        changes["created"] = sum(1 for _ in self._masters())
        return changes

    def use_faults(self, plan: FaultPlan | None) -> None:
        self.faults = self.server.faults = self.server.httpd.faults = plan

    def send_key(self, arrival: Arrival) -> str | None:
        if arrival.method != "POST" or not arrival.path.split("?")[0].endswith("/sendMail"):
            return None
        try:
            return _key_of(base64.b64decode(arrival.body))
        except ValueError:
            return None

    def close(self) -> None:
        self.server.stop()


class GoogleWorld:
    """Google Workspace through the fake Google; kills at API requests and at file writes."""

    name = "google"
    SA_EMAIL = "rmcal@contoso-rmcal.iam.gserviceaccount.com"

    def __init__(self, folder: Path, pairs: int, *, lookup: bool, faults: FaultPlan | None):
        from rmcal_providers.google.settings import default_scopes

        from tests.fakes.google_server import FakeGoogle, start, write_service_account

        self.folder, self.lookup, self.faults = folder, lookup, faults
        fake = FakeGoogle(users=[ORGANIZER, f"lead@{DOMAIN}"])
        for number in range(pairs):
            fake.add_user(f"mentor{number}@{DOMAIN}")
            fake.add_user(f"mentee{number}@{DOMAIN}")
        public = write_service_account(folder / "sa.json", self.SA_EMAIL)
        fake.add_service_account(self.SA_EMAIL, public, default_scopes(False, lookup))
        self.running = start(fake, folder.parent / "tls-google", faults=faults)
        self.switch = KillSwitch()
        self.running.server.kill = self.switch
        settings: dict[str, Any] = {
            "kind": "google",
            "service_account_file": "sa.json",
            **self.running.settings(),
            **FAST,
            "sent_items_lookup": lookup,
        }
        self.config = write_config(folder, settings, domain=DOMAIN, pairs=pairs)
        self.env: dict[str, str] = {}
        self._files = _Files(folder)

    @property
    def fake(self) -> Any:
        return self.running.server.fake

    def snapshot(self, to: Path) -> Any:
        return self._files.save(to), _clone(self.fake)

    def restore(self, saved: Any) -> None:
        files, fake = saved
        self._files.put_back(files)
        self.running.fake = self.running.server.fake = _clone(fake)

    def _live(self) -> Iterator[dict[str, Any]]:
        for event in self.fake.calendar(ORGANIZER).values():
            if event.get("status") != "cancelled" and not event.get("recurringEventId"):
                yield event

    def series(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for event in self._live():
            pair = event.get("extendedProperties", {}).get("private", {}).get("rmcal.pair", "?")
            seen = {k: v for k, v in event.items() if k not in ("etag", "updated", "created")}
            found.setdefault(pair, []).append(_canonical(seen))
        return found

    def mail(self) -> Counter[str]:
        return Counter(str(m["message"]["X-Rmcal-Key"]).strip() for m in self.fake.sent)

    def notices(self) -> Counter[str]:
        """Google mails the pair on every insert and patch made with ``sendUpdates=all``."""
        return Counter(f"{method} {event_id}" for method, event_id, _ in self.fake.notifications)

    def use_faults(self, plan: FaultPlan | None) -> None:
        self.faults = self.running.server.faults = plan

    def send_key(self, arrival: Arrival) -> str | None:
        if arrival.method != "POST" or "/messages/send" not in arrival.path:
            return None
        try:
            raw = json.loads(arrival.body)["raw"]
            return _key_of(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, KeyError, TypeError):
            return None

    def close(self) -> None:
        self.running.stop()


@contextmanager
def world(
    name: str, folder: Path, *, pairs: int, lookup: bool = False, faults: FaultPlan | None = None
) -> Iterator[Any]:
    """A fresh world of ``pairs`` pairs in ``folder`` (made here), closed on the way out."""
    home = folder / "programme"
    home.mkdir(parents=True)
    made: Any
    if name == "local":
        made = LocalWorld(home, pairs)
    elif name == "microsoft":
        made = GraphWorld(home, pairs, lookup=lookup, faults=faults)
    elif name == "google":
        made = GoogleWorld(home, pairs, lookup=lookup, faults=faults)
    else:
        raise ValueError(f"unknown world {name!r}")
    try:
        yield made
    finally:
        made.close()
