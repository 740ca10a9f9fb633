"""The four session-loop e-mails, parsed back as MIME: headers, both parts, escaping, goldens.

Golden files under ``tests/golden/`` hold the rendered text and HTML of each message. When a
template changes on purpose, regenerate them with ``RMCAL_UPDATE_GOLDEN=1 pytest
tests/test_mail.py`` and review the diff like any other code change (see ``tests/golden.py``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rmcal.config import load_config
from rmcal.digest import build_digest
from rmcal.feedback import FeedbackRow
from rmcal.health import assess
from rmcal.mail import UnsafeHeader, address, message_id, one_line
from rmcal.messages import MessageBuilder, form_link, session_key
from rmcal.model import Config, Pair, Person
from rmcal.provider import Occurrence, Response, Series
from rmcal.readings import PairReading
from rmcal.templating import TemplateEngine
from rmcal.validation import render_templates
from tests.golden import check_golden

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)

CONFIG = """\
programme:
  name: Test Programme
  purpose: Learn from each other
  organizer: {email: rm@mentoring.example.org, name: Reverse Mentoring Team}
  timezone: Europe/London
  leads:
    - {email: lead.one@example.org, name: Lead One, cohorts: [c1]}
provider: {kind: local, folder: ./local}
state: ./state.db
defaults:
  cadence: weekly
  sessions: 4
  duration: 45m
  feedback_form_url: "https://forms.example/f?pair={pair}&session={session}&c={cohort}"
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {email: ana@example.org, name: Ana Silva, timezone: Europe/London}
        mentee: {email: raj@example.org, name: Raj Patel, timezone: Asia/Kolkata}
        focus: "Prompting & reviewing AI drafts"
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("mailcfg")
    (folder / "rmcal.yaml").write_text(CONFIG)
    return load_config(folder / "rmcal.yaml", now=datetime(2027, 1, 1, tzinfo=UTC))


def make_reading(
    pair: Pair,
    now: datetime = NOW,
    *,
    cancel: set[int] = frozenset(),  # type: ignore[assignment]
    decline: set[int] = frozenset(),  # type: ignore[assignment]
    move: dict[int, timedelta] | None = None,
) -> PairReading:
    """Four weekly Wednesday 14:00 London sessions from 13 Jan 2027, with some events."""
    first = datetime(2027, 1, 13, 14, 0, tzinfo=LONDON)
    series = Series(
        key="rmtestseries0000000000000",
        provider_id="p",
        title="t",
        start=first,
        duration=timedelta(minutes=45),
        timezone="Europe/London",
        rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4",
        attendees=(pair.mentor.email, pair.mentee.email),
        tags={"key": "rmtestseries0000000000000", "cohort": pair.cohort_id, "pair": pair.id},
    )
    occurrences = []
    for number in range(1, 5):
        original = first + timedelta(weeks=number - 1)
        start = original + (move or {}).get(number, timedelta(0))
        occurrences.append(
            Occurrence(
                series.key,
                original.astimezone(UTC),
                start.astimezone(UTC),
                (start + timedelta(minutes=45)).astimezone(UTC),
                cancelled=number in cancel,
                responses={pair.mentee.email: Response.DECLINED} if number in decline else {},
            )
        )
    return PairReading(pair, series, assess(pair, series, occurrences, now))


def parse(msg: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(msg.as_bytes(), policy=DEFAULT_POLICY)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def common_headers(msg: EmailMessage, key: str) -> None:
    assert msg["From"] == "Reverse Mentoring Team <rm@mentoring.example.org>"
    assert msg["X-Rmcal-Key"] == key
    assert msg["Message-ID"] == message_id(key, "mentoring.example.org")
    assert msg["Date"].datetime == NOW
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"


def assert_inline_first(html: str) -> None:
    """Every look is inline (Outlook and Gmail read nothing else); the one <style> block only
    adds dark mode for clients that honour prefers-color-scheme, and no file is linked."""
    assert "<link" not in html
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(styles) == 1 and styles[0].strip().startswith("@media (prefers-color-scheme: dark)")
    for tag in re.findall(r"<[a-z]+ [^>]*class=[^>]*>", html):
        assert "style=" in tag, tag


def assert_shell(html: str) -> None:
    """The table-based shell: fluid up to 640 px, a fixed 640 px table for Outlook desktop only
    (conditional comments), and no layout that depends on a div's max-width."""
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<!--[if mso]><table role="presentation" width="640" align="center"' in html
    assert 'width="100%"' in html and "max-width:640px" in html
    assert not re.search(r"<div[^>]*max-width", html)
    assert_inline_first(html)


# -- agenda ------------------------------------------------------------------------------------


def test_agenda_goes_to_the_mentee_with_the_mentor_in_copy_and_times_in_both_zones(
    config: Config,
) -> None:
    pair = config.pairs[0]
    reading = make_reading(pair)
    session = reading.health.sessions[2]  # session 3, Wed 27 Jan 14:00 London
    key = session_key("agenda", reading.series.key, session)  # type: ignore[union-attr]
    assert key == "agenda:rmtestseries0000000000000:2027-01-27T14:00:00Z"
    msg = parse(MessageBuilder(config).agenda(reading, session, key, NOW))
    common_headers(msg, key)
    assert msg["To"] == "Raj Patel <raj@example.org>"
    assert msg["Cc"] == "Ana Silva <ana@example.org>"
    # "Reply to Ana Silva before the session": Reply goes to her, not to the programme mailbox.
    assert msg["Reply-To"] == "Ana Silva <ana@example.org>"
    assert msg["Subject"] == (
        "Session 3 of 4 with Ana Silva: set the agenda (Wed 27 Jan, 19:30 IST)"
    )
    text, html = parts(msg)
    assert "For you, Raj Patel: Wed 27 Jan 2027, 19:30 IST" in text
    assert "For Ana Silva: Wed 27 Jan 2027, 14:00 GMT" in text
    assert "Your focus: Prompting & reviewing AI drafts" in text
    assert "Prompting &amp; reviewing AI drafts" in html
    assert "Open with the summary of session 2 (Wed 20 Jan)" in text
    assert_shell(html)
    check_golden("agenda.txt", text)
    check_golden("agenda.html", html)


def test_agenda_follows_a_moved_session_and_recaps_the_last_held_one(config: Config) -> None:
    pair = config.pairs[0]
    reading = make_reading(pair, cancel={2}, move={3: timedelta(days=2)})
    session = reading.health.sessions[2]
    msg = parse(MessageBuilder(config).agenda(reading, session, "agenda:k:x", NOW))
    text, _ = parts(msg)
    assert "For Ana Silva: Fri 29 Jan 2027, 14:00 GMT" in text
    assert "(moved from its usual slot, Wed 27 Jan 2027, 19:30 IST)" in text
    assert "Session 2 did not take place (cancelled). Pick up where session 1 (Wed 13 Jan)" in text


def test_first_agenda_opens_with_introductions(config: Config) -> None:
    reading = make_reading(config.pairs[0], NOW - timedelta(days=14))
    msg = MessageBuilder(config).agenda(reading, reading.health.sessions[0], "agenda:k:1", NOW)
    assert "This is your first session" in parts(parse(msg))[0]


def test_agenda_says_when_the_clocks_put_a_session_off_its_usual_hour(config: Config) -> None:
    """A London series at 14:00 is 09:00 for a New York mentor, except in the two weeks when
    New York has changed its clocks and London not yet: then it is 10:00, and the agenda says
    why, for that person only."""
    pair = replace(
        config.pairs[0],
        mentee=replace(config.pairs[0].mentee, timezone="Europe/London"),
        mentor=replace(config.pairs[0].mentor, timezone="America/New_York"),
    )
    first = datetime(2027, 3, 3, 14, 0, tzinfo=LONDON)  # Wednesdays: 3, 10, 17, 24 Mar
    series = Series(
        key="rmdst", provider_id="p", title="t", start=first, duration=timedelta(minutes=45),
        timezone="Europe/London", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=6",
        attendees=(pair.mentor.email, pair.mentee.email), tags={"key": "rmdst"},
    )  # fmt: skip
    occurrences = [
        Occurrence(
            "rmdst",
            (first + timedelta(weeks=n)).astimezone(UTC),
            (first + timedelta(weeks=n)).astimezone(UTC),
            (first + timedelta(weeks=n, minutes=45)).astimezone(UTC),
        )
        for n in range(6)
    ]
    moment = datetime(2027, 3, 16, 9, 0, tzinfo=UTC)
    reading = PairReading(pair, series, assess(pair, series, occurrences, moment))
    builder = MessageBuilder(config)
    shifted = reading.health.sessions[2]  # Wed 17 Mar: 10:00 EDT in New York
    text, html = parts(parse(builder.agenda(reading, shifted, "agenda:k:3", moment)))
    assert "- For Ana Silva: Wed 17 Mar 2027, 10:00 EDT\n" in text
    assert (
        "  (1 hour later than the usual 09:00 EST: the clocks change on different dates in the "
        "two time zones)" in text
    )
    assert text.count("the clocks change") == 1  # the mentee's London time is as usual
    assert "1 hour later than the usual 09:00 EST" in html
    usual = reading.health.sessions[0]
    assert "the clocks change" not in parts(parse(builder.agenda(reading, usual, "a:1", moment)))[0]


# -- feedback, nudge -----------------------------------------------------------------------


def test_feedback_goes_to_both_with_the_form_link_filled_in(config: Config) -> None:
    pair = config.pairs[0]
    reading = make_reading(pair)
    session = reading.health.sessions[1]
    key = session_key("feedback", reading.series.key, session)  # type: ignore[union-attr]
    msg = parse(MessageBuilder(config).feedback(reading, session, key, NOW))
    common_headers(msg, key)
    assert msg["To"] == "Ana Silva <ana@example.org>, Raj Patel <raj@example.org>"
    assert msg["Cc"] is None
    text, html = parts(msg)
    link = f"https://forms.example/f?pair={pair.id}&session=2&c=c1"
    assert link in text
    assert f'href="{link.replace("&", "&amp;")}"' in html
    for question in ("What is working?", "What is awkward?", "One thing you learned.", "1 (poor)"):
        assert question in text and question in html
    assert_shell(html)
    assert msg["Reply-To"] is None  # answers by reply go to the programme team, as it says
    check_golden("feedback.txt", text)
    check_golden("feedback.html", html)


def test_form_link_quotes_what_it_fills_in() -> None:
    assert form_link("https://f.example/?p={pair}&s={session}&c={cohort}", "c 1/x", "a&b", 3) == (
        "https://f.example/?p=a%26b&s=3&c=c%201%2Fx"
    )
    assert form_link(None, "c", "p", 1) is None


def test_nudge_lists_the_misses_and_the_next_session(config: Config) -> None:
    pair = config.pairs[0]
    reading = make_reading(pair, NOW + timedelta(days=2), cancel={2}, decline={3})
    key = "nudge:" + pair.id + ":off-track:2027-01-18"
    msg = parse(MessageBuilder(config).nudge(reading, key, NOW))
    assert msg["To"] == "Ana Silva <ana@example.org>, Raj Patel <raj@example.org>"
    text, html = parts(msg)
    assert "No session took place in your last 2 weeks, from the week of Mon 18 Jan:" in text
    assert "- session 2, planned Wed 20 Jan: cancelled\n" in text
    assert "- session 3, planned Wed 27 Jan: declined by mentee\n" in text
    assert "For Raj Patel: Wed 03 Feb 2027, 19:30 IST" in text
    assert "move it rather than drop it" in text
    assert_shell(html)
    check_golden("nudge.txt", text)
    check_golden("nudge.html", html)


def test_nudge_names_a_moved_session_and_its_new_date(config: Config) -> None:
    pair = config.pairs[0]
    now = datetime(2027, 2, 1, 9, 0, tzinfo=LONDON)  # week 3 is over; its session moved on
    reading = make_reading(pair, now, move={3: timedelta(days=6)})
    text, html = parts(parse(MessageBuilder(config).nudge(reading, "nudge:moved", now)))
    assert "No session took place in the week of Mon 25 Jan:\n" in text
    assert "- session 3, planned Wed 27 Jan: moved to Tue 02 Feb\n" in text
    assert "Session 3, planned Wed 27 Jan: moved to Tue 02 Feb</li>" in html
    assert "no session in this" not in text


# -- digest --------------------------------------------------------------------------------


def test_digest_message_has_heatmap_wins_and_ratings(config: Config) -> None:
    pair = config.pairs[0]
    lead = config.programme.leads[0]
    reading = make_reading(pair, NOW + timedelta(days=2), cancel={2})
    feedback = [
        FeedbackRow(pair.id, 1, "ana@example.org", 5, True, None, None, None, "f.csv"),
        FeedbackRow(pair.id, 1, "raj@example.org", 4, False, None, None, None, "f.csv"),
        FeedbackRow(pair.id, 3, "raj@example.org", 4, True, None, None, None, "f.csv"),
    ]
    digest = build_digest(lead, [reading], NOW + timedelta(days=2), feedback=feedback)
    key = "digest:lead.one@example.org:2027-W04"
    msg = parse(MessageBuilder(config).digest(digest, key, NOW))
    common_headers(msg, key)
    assert msg["To"] == "Lead One <lead.one@example.org>"
    assert msg["Subject"] == "Test Programme: cadence health 2027-W04 - 1 pair: 1 on track"
    text, html = parts(msg)
    assert "Ana Silva & Raj Patel  H M H .  on track" in text
    assert 'bgcolor="#2f9e44"' in html and 'bgcolor="#e03131"' in html
    assert "4.3<span" in html  # (5 + 4 + 4) / 3
    assert "100% of 2 participants would recommend" in text  # latest answer per person
    assert_shell(html)
    # The heatmap is a data table: caption, column and row headers, and the same in words.
    heatmap = html.split("<h2", 2)[1]
    assert "1 pair over up to 4 weeks: 2 held, 1 missed, 1 still to come." in heatmap
    assert "<caption" in heatmap and '<th scope="col"' in heatmap and '<th scope="row"' in heatmap
    table = heatmap[heatmap.index("<table") : heatmap.index("</table>")]
    assert "role=" not in table.split(">", 1)[0]
    assert 'aria-label="missed, week from 18 Jan (Wed 20 Jan: cancelled)"' in table
    assert "one column per week: ✓ held" in heatmap  # the unit, in the caption and the legend
    assert ">one column per week</td>" in heatmap
    assert "1 pair over up to 4 weeks" in text
    check_golden("digest.txt", text)
    check_golden("digest.html", html)


def test_a_digest_before_the_cohort_starts_says_what_is_coming(config: Config) -> None:
    pair = config.pairs[0]
    lead = config.programme.leads[0]
    before = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)  # two days before the first session
    reading = make_reading(pair, before)
    digest = build_digest(lead, [reading], before)
    text, html = parts(parse(MessageBuilder(config).digest(digest, "digest:k", before)))
    assert "Nobody: every pair keeps its rhythm" not in text + html
    assert "COMING UP: FIRST SESSIONS\n- Ana Silva & Raj Patel: Wed 13 Jan, 14:00 GMT" in text
    assert "Nothing to watch yet: no session has taken place." in text
    assert "Coming up: first sessions" in html and "Wed 13 Jan, 14:00 GMT" in html


# -- safety ---------------------------------------------------------------------------------


def test_names_and_free_text_are_escaped_in_html(config: Config) -> None:
    pair = config.pairs[0]
    evil = replace(
        pair,
        mentor=replace(pair.mentor, name="<script>alert('x')</script>"),
        focus='<img src=x onerror="steal()">',
    )
    reading = make_reading(evil)
    msg = parse(MessageBuilder(config).agenda(reading, reading.health.sessions[2], "agenda:k", NOW))
    text, html = parts(msg)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;steal()&#34;&gt;" in html
    assert "<script>alert('x')</script>" in text  # plain text is not markup


@pytest.mark.parametrize(
    "name",
    [
        "Eve\r\nBcc: victim@example.com",
        "Eve\nBcc: victim@example.com",
        "Eve\rBcc: victim@example.com",
        "Eve\u2028Bcc: victim@example.com",
        "Eve\x00\x1b[31m",
    ],
)
def test_a_name_with_a_line_break_never_injects_a_header(config: Config, name: str) -> None:
    pair = config.pairs[0]
    evil = replace(pair, mentor=replace(pair.mentor, name=name))
    reading = make_reading(evil)
    built = MessageBuilder(config).feedback(reading, reading.health.sessions[0], "feedback:k", NOW)
    raw = built.as_bytes()
    msg = parse(built)
    assert msg["Bcc"] is None
    assert b"\nBcc:" not in raw and b"\r\nBcc:" not in raw
    assert "victim@example.com" not in [a.addr_spec for a in msg["To"].addresses]
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.org", "raj@example.org"]
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])


@pytest.mark.parametrize(
    "email", ["eve@example.com\r\nBcc: x@y.z", "eve@example.com>, x@y.z", "a b@example.com", "x"]
)
def test_an_address_with_control_characters_is_refused(email: str) -> None:
    with pytest.raises(UnsafeHeader):
        address("Eve", email)


def test_one_line_flattens_every_kind_of_line_break() -> None:
    assert one_line(" a\r\nb\tc\x85d\u2029e ") == "a b c d e"


def test_message_id_is_stable_per_key_and_uses_the_organizer_domain() -> None:
    assert message_id("agenda:k:1", "x.example") == message_id("agenda:k:1", "x.example")
    assert message_id("agenda:k:1", "x.example") != message_id("agenda:k:2", "x.example")
    assert message_id("agenda:k:1", "x.example").endswith("@x.example>")


# -- templates: overrides and validation ---------------------------------------------------


def test_a_programme_can_override_a_template(config: Config, tmp_path: Path) -> None:
    (tmp_path / "agenda.subject.j2").write_text("Custom: session {{ session.number }}\n")
    (tmp_path / "agenda.txt.j2").write_text("Hello {{ mentee.first_name }}\n")
    builder = MessageBuilder(config, TemplateEngine(tmp_path))
    reading = make_reading(config.pairs[0])
    msg = parse(builder.agenda(reading, reading.health.sessions[1], "agenda:k", NOW))
    assert msg["Subject"] == "Custom: session 2"
    text, html = parts(msg)
    assert text == "Hello Raj\n"
    assert "Set the agenda" in html  # the HTML part is still the built-in one


def test_validate_renders_every_session_loop_template(config: Config) -> None:
    rendered = render_templates(config, _NoProvider(), TemplateEngine(None))
    assert {"agenda", "feedback", "nudge", "digest", "invite", "invite_end"} <= set(rendered)
    assert "_layout" not in rendered  # a shell the mails extend, not a message


def test_validate_renders_both_branches_of_the_ending_text(config: Config, tmp_path: Path) -> None:
    from rmcal.errors import ConfigError

    (tmp_path / "invite_end.txt.j2").write_text(
        "{% if cancelled %}{{ nope }}{% else %}{{ sessions }}{% endif %}\n"
    )
    with pytest.raises(ConfigError, match=r"invite_end\.txt\.j2"):
        render_templates(config, _NoProvider(), TemplateEngine(tmp_path))


def test_validate_names_a_broken_override(config: Config, tmp_path: Path) -> None:
    from rmcal.errors import ConfigError

    (tmp_path / "nudge.txt.j2").write_text("{{ next_session.nope }}\n")
    with pytest.raises(ConfigError, match=r"nudge\.txt\.j2"):
        render_templates(config, _NoProvider(), TemplateEngine(tmp_path))


class _NoProvider:
    """Validation renders the invite with the provider's video capability only."""

    class capabilities:
        video = False


def test_person_zone_is_used_not_the_series_zone(config: Config) -> None:
    pair = config.pairs[0]
    tokyo = replace(pair, mentor=Person(pair.mentor.email, "Ana Silva", "Asia/Tokyo"))
    reading = make_reading(tokyo)
    msg = MessageBuilder(config).agenda(reading, reading.health.sessions[0], "agenda:k", NOW)
    assert "For Ana Silva: Wed 13 Jan 2027, 23:00 JST" in parts(parse(msg))[0]


def test_a_final_digest_says_how_each_pair_finished(config: Config) -> None:
    pair = config.pairs[0]
    end = datetime(2027, 2, 4, 9, 0, tzinfo=UTC)  # after the fourth and last session
    reading = make_reading(pair, end, decline={1, 2, 3, 4})
    digest = build_digest(config.programme.leads[0], [reading], end)
    msg = parse(MessageBuilder(config).digest(digest, "digest:final", end))
    text, html = parts(msg)
    assert msg["Subject"].endswith("1 pair: 1 never started")
    assert (
        "HOW EACH PAIR FINISHED\n- Ana Silva & Raj Patel (never started): no session held in "
        "4 weeks (declined by mentee: 4)\n"
    ) in text
    assert "No pair still running needs attention." in text
    assert "every pair keeps its rhythm" not in text + html
    assert "How each pair finished" in html
