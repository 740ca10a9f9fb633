"""What ``rmcal tick`` prints: what it sent or could not send, and one summary line.

Why three levels: tick runs from cron every few minutes, and cron mails whatever it prints.
By default each message sent (or failed) gets one line and whatever was skipped is only
counted, so a late run that skips sixty stale agendas prints one line, not 120. ``--quiet``
prints nothing at all unless something failed (cron then mails only problems); the global
``--verbose`` lists every item with its ledger key and the reason it was skipped or ignored.

An uncertain send (it may or may not have gone out) is a problem at every level, and carries
the command that settles it by hand. The clash watch's line (what free/busy was read and how
many clashes it found) follows the messages, and a free/busy read that failed is a problem at
every level too; the notes of the run (the mailbox lookup's findings, earlier uncertain sends
still open) come last.
"""

from __future__ import annotations

import shlex
from datetime import UTC

from rmcal.outbox import resolve_command, resolve_hint
from rmcal.tables import plural
from rmcal.tick import Line, TickResult, headsup_key

INDENT = " " * 13  # under the kind column


def _full(status: str, line: Line, hint: str) -> str:
    """``--verbose``: the ledger key, then who and what, then why (each on its own line)."""
    who = ", ".join(line.recipients)
    text = f"  {status:<10} {line.kind:<9} {line.key}"
    if who:
        text += f"\n{INDENT}to {who}: {line.subject}"
    if line.detail:
        text += f"\n{INDENT}{line.detail}"
    if hint:
        text += f"\n{INDENT}{hint}"
    return text


def _short(status: str, line: Line, hint: str) -> str:
    """The default: one line for a message that went out, more for a problem.

    A problem's second line says why and names the ledger key, unless the hint under it (the
    command that settles it) already does.
    """
    who = ", ".join(line.recipients)
    what = f"to {who}: {line.subject}" if who else line.detail
    text = f"  {status:<10} {line.kind:<9} {what}"
    if who and line.detail and status in PROBLEMS:
        text += f"\n{INDENT}{line.detail}" + ("" if hint else f" ({line.key})")
    if hint:
        text += f"\n{INDENT}{hint}"
    return text


PROBLEMS = {"FAILED", "UNCERTAIN"}


def _hint(result: TickResult, status: str, line: Line, config_path: str) -> str:
    """How an uncertain send gets settled: by the next tick's mailbox lookup, or by hand."""
    if status != "UNCERTAIN":
        return ""
    if result.lookup:
        by_hand = resolve_command(config_path, line.key)
        return f"the next tick looks it up in the organizer's mailbox (by hand: {by_hand})"
    return resolve_hint(config_path, line.key)


def render_tick(
    result: TickResult,
    *,
    config_path: str = "rmcal.yaml",
    verbose: bool = False,
    quiet: bool = False,
) -> str:
    """The operator's report (see the module docstring for the three levels).

    ``config_path`` goes into the commands printed for uncertain sends, so they can be pasted.
    """
    unread = []
    if result.replies_failed is not None:
        unread = [Line("replies", "reply", detail=result.replies_failed)]
    replies = [
        ("to apply" if result.dry_run else "applied", result.reply_lines(applied=True)),
        ("ignored", result.reply_lines(applied=False)),
        ("FAILED", unread),
    ]
    messages = [
        ("would send" if result.dry_run else "sent", result.would_send or result.sent),
        ("re-sent", result.resent),
        ("confirmed", result.confirmed),
        ("skipped", result.skipped),
        ("FAILED", result.failed),
        ("UNCERTAIN", result.uncertain),
    ]
    quiet_ones = {"skipped", "ignored"}  # counted by default, listed with --verbose
    lines: list[str] = []
    hidden = 0
    for status, items in replies + messages:
        for item in items:
            hint = _hint(result, status, item, config_path)
            if verbose:
                lines.append(_full(status, item, hint))
            elif quiet and status not in PROBLEMS:
                continue
            elif status in quiet_ones:
                hidden += 1
            else:
                lines.append(_short(status, item, hint))
    if quiet:
        lines.extend(_watch_lines(result)[:1] if result.watch_failed is not None else [])
    else:
        lines.extend(_watch_lines(result))
    if quiet and not lines:
        return ""
    lines.extend(f"note: {note}" for note in result.notes)
    if result.still_uncertain:
        earlier = plural(len(result.still_uncertain), "earlier send")
        lines.append(
            f"note: {earlier} still uncertain; rmcal outbox list -c {shlex.quote(config_path)} "
            "shows them and how to settle each"
        )
    counts = [
        plural(len(items), "reply", "replies") + " " + ("unread" if status == "FAILED" else status)
        for status, items in replies
        if items
    ]
    counts += [f"{len(items)} {status.lower()}" for status, items in messages if items]
    when = result.now.isoformat(timespec="seconds")  # a cron log needs no microseconds
    head = f"tick at {when}{' (dry run)' if result.dry_run else ''}: "
    summary = head + (", ".join(counts) if counts else "nothing due")
    if hidden and not quiet:
        summary += " (rmcal --verbose tick lists what was skipped or ignored)"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _watch_lines(result: TickResult) -> list[str]:
    """What the clash watch read and found, in one or two lines (none when it read nothing)."""
    if result.watch_failed is not None:
        return [f"  FAILED     clash watch: {result.watch_failed}"]
    watch = result.watch
    if result.watch_next is not None:  # read on an earlier run today: once a day
        after = result.watch_next.astimezone(UTC)
        return [f"  clash watch: read once a day; next read after {after:%Y-%m-%d %H:%M} UTC"]
    if watch.window is None:
        return []
    clashes = len(watch.clashes)
    found = plural(clashes, "clash", "clashes") if clashes else "no clash"
    this_run = {line.key for line in result.would_send + result.sent + result.failed}
    this_run |= {line.key for line in result.uncertain + result.skipped}
    earlier = sum(headsup_key(c) not in this_run for c in watch.clashes)
    if earlier:
        found += f" ({earlier} told on an earlier run)" if earlier < clashes else ", told earlier"
    sessions, pairs = plural(watch.sessions, "session"), plural(watch.pairs, "pair")
    lines = [
        f"  clash watch: {sessions} of {pairs} (free/busy of {watch.people} people until "
        f"{watch.window[1]:%Y-%m-%d}): {found}"
    ]
    if watch.unknown:
        lines.append(f"{INDENT}free/busy unknown (not checked): {', '.join(watch.unknown)}")
    return lines


def undone_message(result: TickResult) -> str:
    """The closing line of a run that left messages or replies undone (exit 3)."""
    problems = []
    if result.failed:
        problems.append(f"{plural(len(result.failed), 'message')} failed")
    if result.uncertain:
        count = len(result.uncertain)
        problems.append(f"{plural(count, 'message')} may or may not have been sent")
    if result.replies_failed is not None:
        problems.append("replies could not be read")
    if result.watch_failed is not None:
        problems.append("free/busy for the clash watch could not be read")
    then = []
    unread = result.replies_failed is not None or result.watch_failed is not None
    if result.failed:
        then.append(
            f"re-run tick to retry the failed {'one' if len(result.failed) == 1 else 'ones'}"
        )
    elif unread:
        if result.watch_failed is None:
            what = "the replies" if result.uncertain else "them"
        elif result.replies_failed is None:
            what = "free/busy"
        else:
            what = "the replies and free/busy"
        then.append(f"re-run tick to read {what} again")
    if result.uncertain:
        one = len(result.uncertain) == 1
        if then:
            them = "the uncertain one" if one else "the uncertain ones"
        else:
            them = "it" if one else "them"
        if result.lookup:
            then.append(f"the next tick looks {them} up in the organizer's mailbox")
        else:
            settle = "settle it" if one else "settle each"
            then.append(f"tick will not send {them} again; {settle} with the command shown")
    return " and ".join(problems) + " (listed above); " + "; ".join(then)
