"""What an incident remembers besides its timeline: verdicts on hypotheses and the commands
people ran from runbook steps (with their output).

Plain data, folded from events by ``warroom.domain.fold``; nothing here reads a clock or a
file. Kept apart from ``models`` so the records can grow without the incident model's module
growing with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Verdict(StrEnum):
    """Where a hypothesis stands. Every hypothesis starts open."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    RULED_OUT = "ruled out"

    @classmethod
    def parse(cls, text: str) -> "Verdict":
        """``confirmed``, ``confirm``, ``ruled-out``, ``ruled out``, ``rule out``, ``open``,
        ``reopen``."""
        cleaned = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
        aliases = {
            "confirm": cls.CONFIRMED,
            "confirmed": cls.CONFIRMED,
            "rule out": cls.RULED_OUT,
            "ruled out": cls.RULED_OUT,
            "ruleout": cls.RULED_OUT,
            "open": cls.OPEN,
            "reopen": cls.OPEN,
            "reopened": cls.OPEN,
        }
        if cleaned in aliases:
            return aliases[cleaned]
        raise ValueError(f"unknown verdict {text!r}: use confirmed, ruled-out or open")


@dataclass(slots=True)
class HypothesisVerdict:
    """The latest verdict on one /hypothesis entry (last writer wins, by HLC)."""

    entry_id: str
    """The hypothesis entry it judges."""
    verdict: Verdict
    actor: str
    """Who judged it."""
    at: datetime
    """When it was judged (UTC)."""
    event_id: str
    reason: str = ""
    """Why, in a few words (optional): "cert valid until 2027"."""


class RunOutcome(StrEnum):
    """How a command run from a runbook step ended."""

    EXITED = "exited"
    """It finished by itself; the exit code says whether it succeeded."""
    TIMED_OUT = "timed out"
    CANCELLED = "cancelled"
    FAILED_TO_START = "failed to start"


@dataclass(slots=True)
class CommandRun:
    """A runbook step's command that someone confirmed and ran, and what it printed."""

    id: str
    """The event id; also the id of its timeline entry."""
    runbook_id: str
    step_id: str
    command: str
    """Exactly the text that was shown and run."""
    source: str
    """The runbook file the step came from, as attached."""
    attached_by: str
    """Who attached the runbook (so everyone can see whose instructions were run)."""
    actor: str
    """Who ran it."""
    started_at: datetime
    outcome: RunOutcome
    exit_code: int | None
    duration_ms: int
    output: str
    """The attachment: the whole output, or its head and tail when it was over the cap."""
    output_bytes: int
    """Size of the whole output as printed."""
    output_lines: int
    output_sha256: str
    """Of the whole output, so a local copy can be checked against the record."""
    truncated: bool
    """True when ``output`` holds only the head and tail of a larger output."""
    full_output_at: str = ""
    """Where the whole output is kept when truncated (``host:path``, on the machine that ran it)."""

    @classmethod
    def from_payload(cls, event_id: str, actor: str, at: datetime, p: dict) -> "CommandRun":
        """From a ``command.ran`` event (its envelope's id, actor and time, and payload)."""
        return cls(
            id=event_id,
            runbook_id=p["runbook_id"],
            step_id=p["step_id"],
            command=p["command"],
            source=p.get("source", ""),
            attached_by=p.get("attached_by", ""),
            actor=actor,
            started_at=at,
            outcome=RunOutcome(p["outcome"]),
            exit_code=p.get("exit_code"),
            duration_ms=p["duration_ms"],
            output=p.get("output", ""),
            output_bytes=p["output_bytes"],
            output_lines=p["output_lines"],
            output_sha256=p["output_sha256"],
            truncated=p.get("truncated", False),
            full_output_at=p.get("full_output_at", ""),
        )

    @property
    def succeeded(self) -> bool:
        return self.outcome is RunOutcome.EXITED and self.exit_code == 0

    def describe_result(self) -> str:
        """``exit 0 in 1.2s``, ``timed out after 5m 00s``…"""
        seconds = self.duration_ms / 1000
        took = f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
        if self.outcome is RunOutcome.EXITED:
            return f"exit {self.exit_code} in {took}"
        if self.outcome is RunOutcome.FAILED_TO_START:
            return "failed to start"
        return f"{self.outcome.value} after {took}"

    def describe_size(self) -> str:
        """``312 lines, 18.2 KB``."""
        lines = f"{self.output_lines} line{'s' if self.output_lines != 1 else ''}"
        return f"{lines}, {format_bytes(self.output_bytes)}"

    def timeline_text(self) -> str:
        """The timeline entry: the command and how it ended, then the output's last lines
        (the whole output is the attachment)."""
        first = self.command.splitlines()[0] if self.command else ""
        if len(first) > 80 or "\n" in self.command.strip():
            first = first[:79] + "…"
        head = f"Ran `{first}` → {self.describe_result()} · output {self.describe_size()} attached"
        tail = last_lines(self.output, TIMELINE_OUTPUT_LINES, TIMELINE_LINE_WIDTH)
        return "\n".join([head, *tail])


TIMELINE_OUTPUT_LINES = 3
"""How many of the output's last lines the timeline entry quotes."""
TIMELINE_LINE_WIDTH = 120


def last_lines(text: str, count: int, width: int) -> list[str]:
    """The last ``count`` non-blank lines, each cut to ``width`` characters."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines[-count:]]


def format_bytes(size: int) -> str:
    """``532`` → ``532 B``; ``18650`` → ``18.2 KB``; ``10485760`` → ``10.0 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
