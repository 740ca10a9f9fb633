"""``tick`` applies attendees' iMIP replies before it reads the calendar (local provider).

The programme of ``tests.tickworld`` with ``replies: {maildir: ./mail}``: a mentee declines the
next session by e-mail, and the same tick that reads the reply sends no agenda for it. Replies
are built from the invitation rmcal really wrote (its UID), delivered into a real Maildir.
"""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from tests.golden import check_golden
from tests.local.reply_builder import imip_reply
from tests.tickworld import CONFIG, S1, World, counts, make_world, series_key

REPLIES_CONFIG = CONFIG.replace(
    "provider: {kind: local, folder: ./local}",
    "provider: {kind: local, folder: ./local, replies: {maildir: ./mail}}",
)
MOMENT = S1 + timedelta(hours=3)  # Wed 13 Jan 2027 17:00 UTC
TOM_SESSION = datetime(2027, 1, 14, 9, 0, tzinfo=UTC)  # Li & Tom's first session
ZONE = ZoneInfo("Europe/London")  # the programme's zone, in which the series is written


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path, REPLIES_CONFIG)


def deliver(world: World, *messages: bytes) -> None:
    box = mailbox.Maildir(world.folder / "mail", create=True)
    for data in messages:
        box.add(data)


def toms_decline(world: World) -> bytes:
    return imip_reply(
        uid=f"{series_key(world, 1)}@rmcal",
        attendee="tom@tick.example.org",
        partstat="DECLINED",
        stamp=datetime(2027, 1, 12, 8, 30, tzinfo=UTC),
        session=TOM_SESSION.astimezone(ZONE),
        sender="Tom Hart <tom@tick.example.org>",
    )


def test_a_session_declined_by_reply_gets_no_agenda_on_that_tick(world: World) -> None:
    stranger = imip_reply(  # Tom forwarded the invitation; his colleague's app answers it
        uid=f"{series_key(world, 1)}@rmcal",
        attendee="mallory@elsewhere.example",
        partstat="ACCEPTED",
        stamp=datetime(2027, 1, 12, 9, 0, tzinfo=UTC),
    )
    deliver(world, toms_decline(world), stranger)
    runner = CliRunner()
    args = world.args("tick", MOMENT)

    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "  to apply   reply     " in dry.output and "1 reply to apply" in dry.output
    assert "tom@tick.example.org declined" not in world.series_file(1).read_text()

    real = runner.invoke(main, args)
    assert real.exit_code == 0, real.output
    check_golden("tick-replies.txt", real.output)
    assert counts(world.mail_keys()) == {"feedback": 1, "digest": 1}  # no agenda for Tom

    again = runner.invoke(main, args)
    assert again.output.endswith(
        "next read after 2027-01-14 13:00 UTC\ntick at 2027-01-13T17:00:00+00:00: nothing due\n"
    )


def test_the_json_report_lists_each_reply(world: World) -> None:
    deliver(world, toms_decline(world))
    out = CliRunner().invoke(main, world.args("tick", MOMENT, "--json"))
    assert out.exit_code == 0, out.output
    replies = json.loads(out.output)["replies"]
    assert replies["source"] == f"maildir {world.folder / 'mail'}"
    assert replies["examined"] == 1
    (outcome,) = replies["outcomes"]
    assert outcome | {"message_id": "", "source": ""} == {
        "message_id": "",
        "attendee": "tom@tick.example.org",
        "response": "declined",
        "series": series_key(world, 1),
        "occurrence": "2027-01-14T09:00:00+00:00",
        "applied": True,
        "detail": "tom@tick.example.org declined the session of Thu 14 Jan 2027 09:00 "
        "(Europe/London) of 'Reverse mentoring: Li Wei & Tom Hart' (before: no answer)",
        "source": "",
    }


def test_an_unreadable_mailbox_stops_nothing_else_and_exits_3(world: World) -> None:
    out = CliRunner().invoke(main, world.args("tick", MOMENT))  # no ./mail folder at all
    assert out.exit_code == 3, out.output
    assert counts(world.mail_keys()) == {"agenda": 1, "feedback": 1, "digest": 1}
    assert "  FAILED     reply     local: read replies from maildir " in out.output
    assert "not a Maildir" in out.output
    assert "1 reply unread, 3 sent, 1 skipped" in out.output
    assert out.output.rstrip().endswith(
        "rmcal: replies could not be read (listed above); re-run tick to read them again"
    )
