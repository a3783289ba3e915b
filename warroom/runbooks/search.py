"""Fuzzy search over runbooks: titles, services, incident types, tags and ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from warroom.runbooks.model import Runbook


def search_runbooks(runbooks: Iterable[Runbook], query: str) -> list[Runbook]:
    """Runbooks matching `query`, best match first; all of them, by title, for an empty query.

    Each whitespace-separated query term must match the title, service,
    incident type or a tag, as a substring (scored higher, more so at a word
    start or as a whole word) or as a subsequence (scored by how tightly the
    letters cluster, so `dbcpu` finds "database high CPU"). Ties keep title order.
    """
    by_title = sorted(runbooks, key=lambda runbook: (runbook.title.casefold(), runbook.id))
    terms = query.casefold().split()
    if not terms:
        return by_title
    scored: list[tuple[float, Runbook]] = []
    for runbook in by_title:
        score = _match_score(terms, _search_fields(runbook))
        if score is not None:
            scored.append((score, runbook))
    scored.sort(key=lambda pair: -pair[0])
    return [runbook for _, runbook in scored]


def _search_fields(runbook: Runbook) -> list[str]:
    # A folder in the id ("kafka/consumer-lag") is what a collection groups runbooks by.
    folders = runbook.id.rsplit("/", 1)[0].replace("/", " ") if "/" in runbook.id else ""
    fields = (runbook.title, runbook.service or "", runbook.incident_type or "", *runbook.tags, folders)
    return [text.casefold() for text in fields if text]


def _match_score(terms: Sequence[str], fields: Sequence[str]) -> float | None:
    """Sum of each term's best score over the fields; None if any term matches nothing."""
    total = 0.0
    for term in terms:
        scores = [score for text in fields if (score := _term_score(term, text)) is not None]
        if not scores:
            return None
        total += max(scores)
    return total


def _term_score(term: str, text: str) -> float | None:
    """Score one term against one field; substring hits always outrank subsequence hits."""
    position = text.find(term)
    if position >= 0:
        end = position + len(term)
        starts_word = position == 0 or not text[position - 1].isalnum()
        ends_word = end == len(text) or not text[end].isalnum()
        return 100.0 + (50.0 if starts_word else 0.0) + (25.0 if starts_word and ends_word else 0.0)
    first = index = -1
    for char in term:
        index = text.find(char, index + 1)
        if index < 0:
            return None
        if first < 0:
            first = index
    # At most 50 (all letters adjacent), so below any substring hit.
    return 50.0 * len(term) / (index - first + 1)
