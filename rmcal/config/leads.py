"""``programme.leads``: who gets the weekly digest, and which pairs each lead sees.

Why in two steps: leads are declared before the cohorts they point at, so each lead is first read
as a draft that keeps its ``cohorts:`` and ``pairs:`` nodes, and resolved into cohort ids and pair
ids once every cohort is loaded. A lead's scope is never widened by accident: a lead sees what it
names, the pairs that name it, or everything only with ``scope: all``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmcal.config.checks import PairDraft
from rmcal.config.text import (
    expect_list,
    expect_mapping,
    parse_email,
    parse_identifier,
    parse_line,
    parse_text,
    suggest,
)
from rmcal.config.values import (
    parse_timezone,
)
from rmcal.config.yamlsource import Node
from rmcal.model import Cohort, Lead, Pair

LEAD_KEYS = ("email", "name", "timezone", "cohorts", "pairs", "scope")


@dataclass
class LeadDraft:
    """A lead as declared, with the scope nodes still to be resolved against the cohorts."""

    email: str
    name: str
    timezone: str
    node: Node
    all_pairs: bool
    cohort_nodes: list[Node]
    pair_nodes: list[Node]


def read_leads(node: Node | None, *, zone: str) -> list[LeadDraft]:
    """The ``leads:`` list; a lead without a zone of its own takes the programme's ``zone``."""
    if node is None:
        return []
    leads: list[LeadDraft] = []
    first: dict[str, Node] = {}
    for item in expect_list(node).value:
        expect_mapping(item).check_keys(LEAD_KEYS)
        email_node = item.require("email")
        email = parse_email(email_node)
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
        cohort_nodes = expect_list(item.get("cohorts")).value if item.get("cohorts") else []
        pair_nodes = expect_list(item.get("pairs")).value if item.get("pairs") else []
        leads.append(
            LeadDraft(
                email=email,
                name=parse_line(item.require("name")),
                timezone=parse_timezone(zone_node) if zone_node else zone,
                node=item,
                all_pairs=all_pairs,
                cohort_nodes=cohort_nodes,
                pair_nodes=pair_nodes,
            )
        )
    return leads


def resolve_lead(lead: LeadDraft, *, cohorts: list[Cohort], drafts: list[PairDraft]) -> Lead:
    """Turn a lead's scope into cohort ids and pair ids, now that both are known."""
    cohort_ids = [c.id for c in cohorts]
    scoped_cohorts: set[str] = set()
    for node in lead.cohort_nodes:
        name = parse_identifier(node)
        if name not in cohort_ids:
            node.fail(f"no cohort {name!r}", suggest(name, cohort_ids, "cohorts"))
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


def _find_pairs(node: Node, pairs: list[Pair]) -> set[str]:
    """A lead's ``pairs:`` entry: a pair id, or ``mentor@x/mentee@y`` (in any cohort)."""
    text = parse_text(node).strip()
    if "/" in text:
        mentor, _, mentee = (part.strip().lower() for part in text.partition("/"))
        found = {p.id for p in pairs if p.mentor.email == mentor and p.mentee.email == mentee}
        if not found:
            names = [f"{p.mentor.email}/{p.mentee.email}" for p in pairs]
            node.fail(f"no pair {text!r}", suggest(text.lower(), names, None))
        return found
    ids = [p.id for p in pairs]
    if text not in ids:
        node.fail(
            f"no pair {text!r}",
            suggest(text, ids, None) or "write a pair id or mentor@example.com/mentee@example.com",
        )
    return {text}
