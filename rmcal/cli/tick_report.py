"""What ``rmcal tick`` prints: what it sent or could not send, and one summary line.

Why three levels: tick runs from cron every few minutes, and cron mails whatever it prints.
By default each message sent (or failed) gets one line and whatever was skipped is only
counted, so a late run that skips sixty stale agendas prints one line, not 120. ``--quiet``
prints nothing at all unless something failed (cron then mails only problems); the global
``--verbose`` lists every item with its ledger key and the reason it was skipped or ignored.
"""

from __future__ import annotations

from rmcal.tables import plural
from rmcal.tick import Line, TickResult

INDENT = " " * 13  # under the kind column


def _full(status: str, line: Line) -> str:
    """``--verbose``: the ledger key, then who and what, then why (each on its own line)."""
    who = ", ".join(line.recipients)
    text = f"  {status:<10} {line.kind:<9} {line.key}"
    if who:
        text += f"\n{INDENT}to {who}: {line.subject}"
    if line.detail:
        text += f"\n{INDENT}{line.detail}"
    return text


def _short(status: str, line: Line) -> str:
    """The default: one line for a message that went out, a second one for a problem."""
    who = ", ".join(line.recipients)
    what = f"to {who}: {line.subject}" if who else line.detail
    text = f"  {status:<10} {line.kind:<9} {what}"
    if who and line.detail and status in {"FAILED", "UNCERTAIN"}:
        text += f"\n{INDENT}{line.detail} ({line.key})"
    return text


def render_tick(result: TickResult, *, verbose: bool = False, quiet: bool = False) -> str:
    """The operator's report (see the module docstring for the three levels)."""
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
        ("skipped", result.skipped),
        ("FAILED", result.failed),
        ("UNCERTAIN", result.uncertain),
    ]
    problems = {"FAILED", "UNCERTAIN"}
    quiet_ones = {"skipped", "ignored"}  # counted by default, listed with --verbose
    lines: list[str] = []
    hidden = 0
    for status, items in replies + messages:
        for item in items:
            if verbose:
                lines.append(_full(status, item))
            elif quiet and status not in problems:
                continue
            elif status in quiet_ones:
                hidden += 1
            else:
                lines.append(_short(status, item))
    if quiet and not lines:
        return ""
    counts = [
        plural(len(items), "reply", "replies") + " " + ("unread" if status == "FAILED" else status)
        for status, items in replies
        if items
    ]
    counts += [f"{len(items)} {status.lower()}" for status, items in messages if items]
    head = f"tick at {result.now.isoformat()}{' (dry run)' if result.dry_run else ''}: "
    summary = head + (", ".join(counts) if counts else "nothing due")
    if hidden and not quiet:
        summary += " (rmcal --verbose tick lists what was skipped or ignored)"
    lines.append(summary)
    return "\n".join(lines) + "\n"


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
    if result.failed:
        then = "re-run tick to retry the failed ones"
    elif result.uncertain:
        then = "check the organizer's sent items; tick will not send them again"
    else:
        then = "re-run tick to read them again"
    return " and ".join(problems) + f" (listed above); {then}"
