"""The text values of the config: names, free text, identifiers, e-mail addresses and form URLs.

Why apart from the rest of the value grammar (``values``): these are the values that reach mail
headers, invitations, links and terminals verbatim, so each is bounded in length and refused
with control characters, and an e-mail address is checked the way a mail system will read it.
The shape checks (a mapping, a list) and the did-you-mean helper live here too, as every other
parser builds on them.
"""

from __future__ import annotations

import difflib
import re
import string
import unicodedata
from datetime import date

from email_validator import EmailNotValidError, validate_email

from rmcal.config.files import describe_char
from rmcal.config.yamlsource import Node

URL_PLACEHOLDERS = ("pair", "session", "cohort")
# Lengths that keep every header rmcal writes well inside RFC 5322's 998-character line (a
# subject holds two names and the programme's name) and every table readable.
MAX_NAME = 200  # a person's, a lead's, the organizer's or the programme's name
MAX_LINE = 500  # a pair's focus
MAX_TEXT = 5000  # the programme's purpose (free text, line breaks allowed)
MAX_URL = 2000  # a form URL, before its placeholders are filled in
# Invisible characters that reorder or hide text on screen (the "Trojan Source" controls).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# -- shapes and text ------------------------------------------------------------------------------


def expect_mapping(node: Node) -> Node:
    if not node.is_map:
        node.fail(f"expected a mapping (key: value lines), got {node.describe()}")
    return node


def expect_list(node: Node) -> Node:
    if not node.is_list:
        node.fail(f"expected a list, got {node.describe()}", hint="write [a, b] or '- ' lines")
    return node


def parse_text(node: Node, *, limit: int | None = None) -> str:
    """Text as written, trimmed; at most ``limit`` characters when given."""
    if not isinstance(node.value, str):
        hint = "put it in quotes" if not (node.is_map or node.is_list) else None
        node.fail(f"expected text, got {node.describe()}", hint)
    text = node.value.strip()
    if not text:
        node.fail("must not be empty")
    if limit is not None and len(text) > limit:
        node.fail(f"is {len(text):,} characters long, more than {limit:,}", "shorten it")
    return text


def parse_line(node: Node, *, limit: int = MAX_NAME) -> str:
    """One line of text that may reach a mail header or a terminal table: a name, a focus.

    A control character (a line break, ESC, NUL...) would split or corrupt a header (and drop
    the person from an invitation's attendees), and a direction override would make a table
    lie about what it shows; neither belongs in a name, so both are refused here.
    """
    text = parse_text(node, limit=limit)
    for char in text:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs", "Zl", "Zp"} or char in _BIDI_CONTROLS:
            node.fail(
                f"{text[:40]!r} contains the control character {describe_char(char)}",
                hint="write it on one line, without control characters",
            )
    return text


def parse_identifier(node: Node) -> str:
    """Ids may be written bare (``2027``, ``2027-01-11``); they are text all the same."""
    if isinstance(node.value, int | date) and not isinstance(node.value, bool):
        return node.text_of()
    return parse_text(node)


def email_problem(text: str) -> str | None:
    """Why ``text`` is not an address rmcal can send to (None when it is).

    RFC 5321's dot-atom form, checked by ``email-validator`` (no DNS look-up): no quoted local
    parts, IP literals or non-ASCII local parts (mail systems disagree on them), at most 64
    characters before the ``@`` and 254 in all, and no special-use domain (``.local``,
    ``.test``, ``.invalid``, ``localhost``) that no mail system delivers to.
    """
    try:
        validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            strict=True,
        )
    except EmailNotValidError as exc:
        return str(exc)
    return None


def normal_email(text: str) -> str:
    """A valid address as rmcal stores it: ASCII (an IDN domain as punycode), lower-cased."""
    result = validate_email(text, check_deliverability=False, allow_smtputf8=False, strict=True)
    return str(result.ascii_email or result.normalized).lower()


def parse_email(node: Node) -> str:
    """A bare address, lower-cased: it is a person's identity everywhere downstream."""
    text = parse_text(node)
    problem = email_problem(text)
    if problem is not None:
        hint = None
        bare = re.search(r"<([^<>]+)>", text)
        if bare and email_problem(bare.group(1).strip()) is None:
            hint = f"give the bare address, {bare.group(1).strip().lower()!r}"
        elif "@" in text:  # an address without one needs no explanation
            hint = problem[:1].lower() + problem[1:].rstrip(".")
        node.fail(f"{text!r} is not an e-mail address", hint)
    return normal_email(text)


def parse_url_template(node: Node) -> str:
    """An http(s) URL whose ``{placeholders}`` are ones rmcal fills in for each e-mail.

    Only the bare ``{pair}``, ``{session}`` and ``{cohort}``: a conversion or format spec
    (``{pair!r}``, ``{session:>9}``) would fail or mangle the link when a mail is built.
    """
    text = parse_text(node, limit=MAX_URL)
    if not re.match(r"https?://[^\s/]+", text):
        node.fail(f"{text!r} is not an http(s) URL")
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        node.fail(f"{text!r} contains a space or control character", "write a space as %20")
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError as exc:
        node.fail(f"{text!r} is not a valid template: {exc}", "write a literal brace as {{ or }}")
    for name, spec, conversion in fields:
        if name not in URL_PLACEHOLDERS:
            hint = suggest(name, list(URL_PLACEHOLDERS), None) or "use {pair}, {session}, {cohort}"
            node.fail(f"unknown placeholder {{{name}}}", hint)
        if spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "")
            written += (f":{spec}" if spec else "") + "}"
            node.fail(f"placeholder {written} has a format", f"write just {{{name}}}")
    return text


# -- suggestions ----------------------------------------------------------------------------------


def suggest(word: str, choices: list[str], plural: str | None) -> str | None:
    """A did-you-mean for ``word``, else the known ``plural`` (when named), else nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if plural and choices:
        return f"known {plural}: " + ", ".join(choices)
    if plural:
        return f"no {plural} are declared"
    return None
