"""The ``matching:`` section: the programme's rules for ``rmcal match`` (docs/match.md).

Why in the config rather than on the command line: the rules are the programme's policy (who
may never be paired, how much shared time a pair needs, what a good pair is), decided once by
the programme's owners and applied the same way to every cohort, so they live with the rest of
the programme, validated line by line like any other section.
"""

from __future__ import annotations

from datetime import timedelta

from rmcal.config.text import expect_mapping
from rmcal.config.values import parse_duration, parse_integer
from rmcal.config.yamlsource import Node
from rmcal.model import MatchRules, MatchWeights

MATCHING_KEYS = ("min_overlap", "management_chain", "shared_language", "weights")
WEIGHT_KEYS = ("topics", "department", "generation", "overlap")
MAX_OVERLAP = timedelta(hours=40)
MAX_WEIGHT = 100


def read_matching(node: Node | None) -> MatchRules:
    """The rules as written, the defaults (``MatchRules()``) for what is not."""
    if node is None:
        return MatchRules()
    expect_mapping(node).check_keys(MATCHING_KEYS)
    rules = MatchRules()
    overlap = node.get("min_overlap")
    chain = node.get("management_chain")
    language = node.get("shared_language")
    weights = node.get("weights")
    return MatchRules(
        min_overlap=(
            parse_duration(overlap, minimum=timedelta(0), maximum=MAX_OVERLAP)
            if overlap
            else rules.min_overlap
        ),
        management_chain=_chain(chain) if chain else rules.management_chain,
        shared_language=_flag(language) if language else rules.shared_language,
        weights=_weights(weights) if weights else rules.weights,
    )


def _chain(node: Node) -> int | None:
    """``all`` (as deep as the manager column goes) or a number of levels up and down."""
    if node.value == "all":
        return None
    if isinstance(node.value, str):
        node.fail(f"{node.value!r} is not a depth", "write all, or a number of levels such as 2")
    return parse_integer(node, 1, 50)


def _flag(node: Node) -> bool:
    if not isinstance(node.value, bool):
        node.fail(f"expected true or false, got {node.describe()}")
    return node.value


def _weights(node: Node) -> MatchWeights:
    expect_mapping(node).check_keys(WEIGHT_KEYS)
    given: dict[str, float] = {}
    for key in WEIGHT_KEYS:
        child = node.get(key)
        if child is None:
            continue
        value = child.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            child.fail(f"expected a number, got {child.describe()}", "e.g. topics: 3")
        if not 0 <= value <= MAX_WEIGHT:
            child.fail(f"must be between 0 and {MAX_WEIGHT}, got {child.text_of()}")
        given[key] = float(value)
    return MatchWeights(**given)
