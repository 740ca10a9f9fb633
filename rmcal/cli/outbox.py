"""``rmcal outbox list`` and ``rmcal outbox resolve``: the mail ledger, and settling by hand.

A send whose outcome is unknown (the connection dropped after the request went out, a timeout,
a server error that does not say "not done") is recorded *uncertain* and never sent again on
its own. These commands are how a person settles one after checking the organizer's sent
items: ``--sent`` records that it went out, ``--resend`` sends the very same message (same
Message-ID) once more. Both refuse a key that is not uncertain. The library is imported inside
each command, so that ``rmcal --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmcal.cli.options import (
    Options,
    config_option,
    json_option,
    load_running,
    now_option,
    pass_options,
    wait_option,
)
from rmcal.errors import PartialFailure
from rmcal.tables import plural

if TYPE_CHECKING:
    from rmcal.outbox import Delivery

# The values of rmcal.store.MailStatus, written out so that a help screen need not load the
# state file's module (tests/test_cli_startup.py checks that the two agree).
MAIL_STATUSES = ("sending", "sent", "failed", "skipped", "uncertain")


@click.group()
def outbox() -> None:
    """The mail ledger: list what was sent, and settle uncertain sends by hand."""


@outbox.command("list")
@config_option
@click.option(
    "--status",
    "wanted",
    type=click.Choice([*MAIL_STATUSES, "all"]),
    default="uncertain",
    show_default=True,
    help="Which ledger rows to list.",
)
@json_option
@pass_options
def list_(options: Options, config_path: Path, wanted: str, as_json: bool) -> None:
    """List ledger rows (by default the uncertain sends, with the command to resolve each).

    Reads the state file only: safe to run while a tick sends.
    """
    from rmcal.runtime import session
    from rmcal.status import mail_record, uncertain_text
    from rmcal.store import MailStatus, Mode

    config = load_running(config_path)
    with session(config, mode=Mode.READ_ONLY) as run:
        rows = run.store.mail_rows(None if wanted == "all" else MailStatus(wanted))
    if as_json:
        click.echo(json.dumps([mail_record(row, str(config_path)) for row in rows], indent=2))
        return
    if wanted == str(MailStatus.UNCERTAIN):
        text = uncertain_text(rows, str(config_path)).lstrip("\n") or "No uncertain sends.\n"
        click.echo(text, nl=False)
        return
    for row in rows:
        click.echo(f"{row.status:<10} {row.kind:<9} {row.key}")
        click.echo(f"{'':21}to {row.recipients or '?'}: {row.subject} ({row.updated_at})")
        if row.error:
            click.echo(f"{'':21}{row.error}")
    click.echo(f"{plural(len(rows), 'row')}.")


@outbox.command("resolve")
@config_option
@now_option
@click.argument("key")
@click.option(
    "--sent",
    "sent",
    flag_value=True,
    default=None,
    help="It is in the organizer's sent items: record it as sent.",
)
@click.option(
    "--resend", "sent", flag_value=False, help="It is not there: send the same message once more."
)
@click.option("--dry-run", is_flag=True, help="Say what would happen; change and send nothing.")
@wait_option
@json_option
@pass_options
def resolve(
    options: Options,
    config_path: Path,
    now: datetime,
    key: str,
    sent: bool | None,
    dry_run: bool,
    wait: float,
    as_json: bool,
) -> None:
    """Settle one uncertain send: record it as sent, or send it once more.

    KEY is the ledger key shown by `rmcal tick`, `rmcal status` and `rmcal outbox list`.
    With --resend and the provider's sent-items lookup switched on, a message found in the
    organizer's mailbox is recorded as sent instead of going out twice.
    """
    if sent is None:
        raise click.UsageError("choose --sent (it went out) or --resend (send it again)")
    from rmcal.outbox import Outbox, mark_sent_by_hand
    from rmcal.runtime import clock_from, session
    from rmcal.store import MailStatus, Mode

    config = load_running(config_path, now)
    mode = Mode.READ_ONLY if dry_run else Mode.LOCKED
    with session(config, mode=mode, wait=wait, clock=clock_from(now)) as run:
        if sent:  # needs no provider, so no credentials
            delivery = mark_sent_by_hand(run.store, key, dry_run=dry_run)
        else:
            delivery = Outbox(run.provider, run.store).resend_by_hand(key, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(_as_dict(delivery, dry_run), indent=2))
    else:
        click.echo(_describe(delivery, dry_run))
    if dry_run:
        return
    if delivery.status is MailStatus.UNCERTAIN:
        raise PartialFailure(
            f"{key} is uncertain again: {delivery.detail}; check the sent items once more",
            [key],
        )
    if delivery.status is MailStatus.FAILED and delivery.resent:
        raise PartialFailure(
            f"sending {key} again failed: {delivery.detail}; the next tick sends it again "
            "while it is still due",
            [key],
        )


def _describe(delivery: Delivery, dry_run: bool) -> str:
    from rmcal.store import MailStatus

    would = "would be " if dry_run else ""
    match delivery.status:
        case MailStatus.SENT if delivery.found:
            return f"{delivery.key}: {would}recorded as sent ({delivery.detail})"
        case MailStatus.SENT if delivery.resent:
            return f"{delivery.key}: sent again to {', '.join(delivery.recipients)}"
        case MailStatus.SENT:
            return f"{delivery.key}: {would}recorded as sent"
        case MailStatus.SENDING:
            return f"{delivery.key}: would be sent again to {', '.join(delivery.recipients)}"
        case MailStatus.FAILED if not delivery.resent:
            return f"{delivery.key}: {would}{delivery.detail}"
        case _:
            return f"{delivery.key}: {delivery.status}: {delivery.detail}"


def _as_dict(delivery: Delivery, dry_run: bool) -> dict[str, object]:
    return {
        "key": delivery.key,
        "dry_run": dry_run,
        "status": str(delivery.status),
        "resent": delivery.resent,
        "found": delivery.found,
        "to": list(delivery.recipients),
        "subject": delivery.subject,
        "detail": delivery.detail,
    }


COMMANDS = (outbox,)
