"""What a postmortem is made of: the sections people write (in document order, with the
prompt shown while one is empty), the one-line credits, and how each is titled."""

from __future__ import annotations

POSTMORTEM_SECTIONS: dict[str, str] = {
    "summary": "What happened, in two or three sentences a newcomer understands.",
    "trigger": "What set it off: the change, event or load that started it.",
    "detection": "How we found out: which alert or person, and how long after it started.",
    "response": "Who joined, what we tried, in what order, and what we decided.",
    "recovery": "What brought the service back, and how we knew it had recovered.",
    "root_cause": "Why it happened: the underlying cause, not the trigger alone.",
    "contributing_factors": "What made it worse or slower to fix.",
    "went_well": "What went well (keep doing it).",
    "went_poorly": "What went poorly (without blame: systems and process, not people).",
    "got_lucky": "What could have made it much worse, and did not (luck is not a plan).",
    "lessons_learned": "What we learned.",
}
"""The postmortem sections people write, in document order, with the prompt shown while a
section is empty."""

POSTMORTEM_CREDITS: dict[str, str] = {
    "authors": "Who wrote this postmortem (names, separated by commas).",
    "reviewers": "Who reviewed it before it was shared (names, separated by commas).",
}
"""One-line postmortem fields, written and stored like the sections."""

POSTMORTEM_KEYS: tuple[str, ...] = (*POSTMORTEM_SECTIONS, *POSTMORTEM_CREDITS)
"""Every key a ``postmortem.section_set`` event may set."""

POSTMORTEM_HEADINGS: dict[str, str] = {
    "summary": "Summary",
    "trigger": "Trigger",
    "detection": "Detection",
    "response": "Response",
    "recovery": "Recovery",
    "root_cause": "Root cause",
    "contributing_factors": "Contributing factors",
    "went_well": "What went well",
    "went_poorly": "What went poorly",
    "got_lucky": "Where we got lucky",
    "lessons_learned": "Lessons learned",
    "authors": "Authors",
    "reviewers": "Reviewers",
}
"""How each section and credit is titled, on screen and in the export."""
