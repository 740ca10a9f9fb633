"""Replies read from a Maildir: applied to the series files once, the folder never changed.

The messages are the client fixtures (Outlook, Gmail, Apple) plus a stranger, a forged sender,
a counter-proposal, a reply to another meeting and an ordinary mail, delivered into a real
Maildir with the standard library's writer.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from rmcal_providers.local import LocalProvider

from rmcal.errors import ProviderError
from rmcal.provider import KeyValue, MemoryKeyValue, ReplyReader, Response
from tests.local.helpers import (
    NOW,
    context,
    created,
    london,
    spec,
)
from tests.local.reply_builder import (
    CLIENTS,
    OTHERS,
    REPLIES,
    imip_reply,
    reply_provider,
    responses,
)


def maildir_provider(tmp_path: Path, kv: KeyValue) -> LocalProvider:
    return reply_provider(tmp_path, kv, {"maildir": str(tmp_path / "mail")})


def deliver(folder: Path, *names: str) -> None:
    box = mailbox.Maildir(folder, create=True)
    for name in names:
        box.add((REPLIES / name).read_bytes())


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def kv() -> MemoryKeyValue:
    return MemoryKeyValue()


def test_each_clients_reply_is_applied_and_strangers_are_reported(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    assert isinstance(p, ReplyReader)
    key = created(p, spec(start=london(2025, 3, 19, 14, 0))).key
    deliver(tmp_path / "mail", *CLIENTS, *OTHERS)
    before = snapshot(tmp_path / "mail")

    report = p.read_replies(NOW)

    assert report is not None and report.examined == 9
    assert report.source == f"maildir {tmp_path / 'mail'}"
    applied = [o for o in report.outcomes if o.applied]
    assert [(o.attendee, o.response, o.occurrence) for o in applied] == [
        ("bob@example.com", Response.ACCEPTED, None),
        ("ann@example.com", Response.ACCEPTED, None),
        ("bob@example.com", Response.DECLINED, london(2025, 4, 2, 14, 0)),
        ("ann@example.com", Response.TENTATIVE, london(2025, 4, 9, 14, 0)),
    ]
    assert all(o.series_key == key for o in applied)
    ignored = sorted(o.detail.split(";")[0] for o in report.outcomes if not o.applied)
    assert ignored == [
        "bob@example.com answered an event that is not one of rmcal's series (UID "
        "040000008200E00074C5B7101A82E00800000000D0C5F4A1B7A2DB01000000000000000010000000"
        "C4B1F2E3D4C5B6A7988F7E6D5C4B3A29)",
        "bob@example.com proposes another time (METHOD:COUNTER)",
        "mallory@elsewhere.example is not invited to this series (ann@example.com, "
        "bob@example.com)",
        "the answer for bob@example.com was sent by mallory@elsewhere.example",
    ]
    bob, ann = responses(p, key, "bob@example.com"), responses(p, key, "ann@example.com")
    assert bob.pop("04-02") is Response.DECLINED and set(bob.values()) == {Response.ACCEPTED}
    assert ann.pop("04-09") is Response.TENTATIVE and set(ann.values()) == {Response.ACCEPTED}
    assert snapshot(tmp_path / "mail") == before  # read, never moved, flagged or deleted


def test_a_reply_read_twice_changes_nothing_and_is_reported_once(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    key = created(p, spec(start=london(2025, 3, 19, 14, 0))).key
    deliver(tmp_path / "mail", *CLIENTS)
    first = p.read_replies(NOW)
    assert first is not None and len(first.outcomes) == 4
    calendar = (p.folder / "calendars" / f"{key}.ics").read_bytes()

    again = p.read_replies(NOW)
    assert again is not None and (again.examined, again.outcomes) == (0, ())

    # A state file lost: every message is read again, and the file already holds each answer.
    forgetful = maildir_provider(tmp_path, MemoryKeyValue())
    fresh = forgetful.read_replies(NOW)
    assert fresh is not None and fresh.examined == 4 and fresh.outcomes == ()
    assert (p.folder / "calendars" / f"{key}.ics").read_bytes() == calendar

    # A message delivered a second time (another copy, another file) is not news, not even
    # one that changed nothing and was reported as ignored.
    deliver(tmp_path / "mail", "gmail_forwarded_invite_stranger_accepts.eml")
    stranger = p.read_replies(NOW)
    assert stranger is not None and [o.applied for o in stranger.outcomes] == [False]
    deliver(tmp_path / "mail", "outlook_decline_one_session.eml")
    deliver(tmp_path / "mail", "gmail_forwarded_invite_stranger_accepts.eml")
    copies = p.read_replies(NOW)
    assert copies is not None and (copies.examined, copies.outcomes) == (2, ())


def test_a_dry_run_reports_what_it_would_apply_and_changes_nothing(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    key = created(p, spec(start=london(2025, 3, 19, 14, 0))).key
    deliver(tmp_path / "mail", "outlook_decline_one_session.eml")
    calendars = snapshot(p.folder / "calendars")

    dry = p.read_replies(NOW, apply=False)
    assert dry is not None and [o.applied for o in dry.outcomes] == [True]
    assert snapshot(p.folder / "calendars") == calendars
    assert responses(p, key, "bob@example.com")["04-02"] is Response.NONE

    real = p.read_replies(NOW)
    assert real is not None and [o.applied for o in real.outcomes] == [True]
    assert responses(p, key, "bob@example.com")["04-02"] is Response.DECLINED


def test_answers_in_one_read_are_applied_in_turn_to_one_file(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    for day in (2, 9, 16):
        stamp = NOW.replace(day=day)
        box.add(
            imip_reply(
                uid=series.provider_id,
                attendee="ann@example.com",
                partstat="DECLINED",
                stamp=stamp,
                session=london(2025, 4, day, 14, 0),
            )
        )
    report = p.read_replies(NOW)
    assert report is not None and [o.applied for o in report.outcomes] == [True] * 3
    ann = responses(p, series.key, "ann@example.com")
    assert [day for day, answer in ann.items() if answer is Response.DECLINED] == [
        "04-02",
        "04-09",
        "04-16",
    ]


class EditsOnSecondLookup(MemoryKeyValue):
    """The state file's memory, while a person saves the series file mid-read."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.lookups = 0

    def get(self, namespace: str, key: str) -> str | None:
        if key.startswith("message:"):
            self.lookups += 1
            if self.lookups == 2:
                self.path.write_bytes(self.path.read_bytes().replace(b"SUMMARY:", b"SUMMARY:x"))
        return super().get(namespace, key)


def test_a_file_saved_by_someone_during_the_read_is_not_overwritten(tmp_path: Path) -> None:
    first = maildir_provider(tmp_path, MemoryKeyValue())
    key = created(first, spec(start=london(2025, 3, 19, 14, 0))).key
    path = first.folder / "calendars" / f"{key}.ics"
    kv = EditsOnSecondLookup(path)
    p = maildir_provider(tmp_path, kv)
    deliver(tmp_path / "mail", "gmail_accept_series.eml", "outlook_accept_series.eml")
    with pytest.raises(ProviderError) as caught:
        p.read_replies(NOW)
    assert "changed while the replies were applied" in str(caught.value)
    assert caught.value.retryable
    assert b"SUMMARY:xReverse" in path.read_bytes()  # the person's edit stands
    assert kv.get("local.replies", "message:<plain-thanks-1@example.com>") is None
    report = p.read_replies(NOW)  # nothing was remembered: the next run applies both
    assert report is not None and [o.applied for o in report.outcomes] == [True, True]


def test_a_folder_that_is_not_a_maildir_is_a_provider_error(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    (tmp_path / "mail").mkdir()
    p = maildir_provider(tmp_path, kv)
    with pytest.raises(ProviderError) as caught:
        p.read_replies(NOW)
    assert str(caught.value) == (
        f"local: read replies from maildir {tmp_path / 'mail'}: not a Maildir (no cur/ and new/ "
        "folders in it); set replies.maildir to the folder that holds cur/, new/ and tmp/"
    )
    (check,) = [c for c in p.check() if c.name == "replies"]
    assert not check.ok and "not a Maildir" in check.detail


def test_auth_check_and_the_capability_note_name_the_mailbox(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    deliver(tmp_path / "mail", "plain_mail.eml")
    p = maildir_provider(tmp_path, kv)
    (check,) = [c for c in p.check() if c.name == "replies"]
    assert check.ok and check.detail == f"maildir {tmp_path / 'mail'}: 1 message(s)"
    assert f"replies: tick applies attendees' answers from maildir {tmp_path / 'mail'}" in (
        p.capabilities.notes
    )
    plain = LocalProvider({"folder": str(tmp_path / "rm")}, context(tmp_path))
    assert plain.read_replies(NOW) is None
    assert any(
        n.startswith("replies: not read (no replies: section)") for n in plain.capabilities.notes
    )


def test_the_stamp_of_a_reply_without_dtstamp_is_its_date(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    stamped = imip_reply(
        uid=series.provider_id,
        attendee="bob@example.com",
        partstat="ACCEPTED",
        stamp=NOW.replace(day=4),
    )
    dated = imip_reply(  # sent a day later by a client that writes no DTSTAMP
        uid=series.provider_id,
        attendee="bob@example.com",
        partstat="DECLINED",
        stamp=NOW.replace(day=5),
    ).replace(b"DTSTAMP:20250305T090000Z\r\n", b"")
    assert b"DTSTAMP" not in dated
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(dated)
    box.add(stamped)
    report = p.read_replies(NOW)
    assert report is not None and len(report.outcomes) == 2
    assert set(responses(p, series.key, "bob@example.com").values()) == {Response.DECLINED}


def test_a_reply_whose_session_time_cannot_be_placed_is_reported_not_fatal(
    tmp_path: Path, kv: MemoryKeyValue
) -> None:
    p = maildir_provider(tmp_path, kv)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    # Outlook's "Customized Time Zone" without the VTIMEZONE block that would define it.
    broken = imip_reply(
        uid=series.provider_id,
        attendee="bob@example.com",
        partstat="DECLINED",
        stamp=NOW,
        session=london(2025, 4, 2, 14, 0),
    ).replace(b"RECURRENCE-ID;TZID=Europe/London", b"RECURRENCE-ID;TZID=Customized Time Zone")
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(broken)
    box.add((REPLIES / "gmail_accept_series.eml").read_bytes())
    report = p.read_replies(NOW)
    assert report is not None
    assert [o.applied for o in report.outcomes] == [False, True]
    assert report.outcomes[0].detail.startswith("the answer from bob@example.com cannot be read")
    assert "Customized Time Zone" in report.outcomes[0].detail
