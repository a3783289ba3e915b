"""Postmortem export: Markdown against reviewed golden files, escaping checked by a
real Markdown renderer, redaction and amendment handling, prompts for unwritten sections, the
CAN report template, and the lossless JSON round trip (sample data and generated incidents).

Golden files live in tests/export/golden/. After a deliberate change to the export, rewrite them with
``WARROOM_UPDATE_GOLDEN=1 pytest tests/export/test_export.py``, then read the diff before committing.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.comms.render import render
from warroom.comms.templates import PLACEHOLDERS, load_templates
from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.text import clean
from warroom.domain.events import Event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import (
    HUMAN_ENTRY_KINDS,
    KEY_ENTRY_KINDS,
    POSTMORTEM_CREDITS,
    POSTMORTEM_SECTIONS,
    ActionStatus,
    ActionType,
    CommsChannel,
    ComponentState,
    EntryKind,
    Milestone,
    Priority,
    Severity,
    Status,
)
from warroom.export.jsonio import FORMAT, VERSION, export_json, import_json
from warroom.export.markdown import escape_cell, escape_inline, escape_paragraph, to_markdown
from warroom.store.workspace import Workspace

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("WARROOM_UPDATE_GOLDEN") == "1"

SEARCH = "b791f1d8"  # SEV3, resolved
PAYMENTS = "f4dca4f2"  # SEV1, monitoring; one amended and one redacted entry
LOGIN = "b797528b"  # SEV2, investigating
SAMPLES = {SEARCH: "search-latency", PAYMENTS: "checkout-payments", LOGIN: "eu-login"}

T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def now(clock) -> datetime:
    """conftest's SAMPLE_NOW: just after the last sample entry."""
    return clock.now()


@pytest.fixture
def workspace(sample_dir, clock):
    ws = Workspace(sample_dir, "alice", clock)
    ws.load()
    return ws


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}: run with WARROOM_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"export differs from {path} (WARROOM_UPDATE_GOLDEN=1 rewrites it; review the diff)"


# --- a real renderer, to check what GitHub would show --------------------------------------------


def markdown_renderer():
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    try:
        from mdit_py_plugins.dollarmath import dollarmath_plugin
    except ImportError:
        return md
    return md.use(dollarmath_plugin)


class _Html(HTMLParser):
    """Tables as rows of cells (text, with <br> as newline) and every tag seen inside cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.tags_in_cells: list[str] = []
        self.blocks: list[tuple[str, str]] = []  # (tag, text) of top-level p/h*/li/blockquote
        self._block: list[str] | None = None
        self._block_tag = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif self.cell is not None:
            if tag == "br":
                self.cell.append("\n")
            else:
                self.tags_in_cells.append(tag)
        if tag in ("p", "h1", "h2", "h3", "h4", "li", "blockquote", "hr", "pre") and self.cell is None:
            self.blocks.append((tag, ""))
            if tag in ("p", "h1", "h2", "h3", "h4"):
                self._block, self._block_tag = [], tag
        elif self._block is not None and tag == "br":
            self._block.append("\n")
        elif self._block is not None:
            self.blocks.append((f"inline:{tag}", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell))
            self.cell = None
        if self._block is not None and tag == self._block_tag:
            self.blocks[-1] = (self._block_tag, "".join(self._block))
            self._block = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        elif self._block is not None:
            self._block.append(data)


def parse_html(markdown: str) -> _Html:
    parser = _Html()
    parser.feed(markdown_renderer().render(markdown))
    return parser


def timeline_table(parsed: _Html) -> list[list[str]]:
    return next(t for t in parsed.tables if t and t[0] and t[0][0].startswith("Time"))


# --- golden files --------------------------------------------------------------------------------


@pytest.mark.parametrize("short", list(SAMPLES))
def test_markdown_export_of_the_samples_matches_golden(short, workspace, now):
    text = to_markdown(workspace.get(short), now)
    check_golden(f"{SAMPLES[short]}.md", text)


def test_markdown_export_with_local_time_and_redactions_omitted_matches_golden(workspace, now):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        paris = ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:  # pragma: no cover - a machine without tz data
        pytest.skip("no time zone data on this machine")
    text = to_markdown(workspace.get(PAYMENTS), now, redacted="omit", local_tz=paris)
    check_golden("checkout-payments-paris-omit.md", text)
    assert "| Time (UTC) | Time (Europe/Paris) | Who | Kind | Event |" in text
    assert "| 14:31:00 | 15:31:00 CET | dave | note | Alert fired" in text


@pytest.mark.parametrize("short", list(SAMPLES))
def test_golden_exports_render_as_intended(short, workspace, now):
    """Every timeline row renders as one table row of 4 cells whose text is the entry's."""
    incident = workspace.get(short)
    parsed = parse_html(to_markdown(incident, now))
    rows = timeline_table(parsed)
    assert rows[0] == ["Time (UTC)", "Who", "Kind", "Event"]
    assert len(rows) - 1 == len(incident.timeline)
    for row, entry in zip(rows[1:], incident.timeline):
        assert row[:3] == [f"{entry.at:%H:%M:%S}", entry.actor, entry.kind.value]
        if entry.redacted:
            assert row[3] == "[redacted]"
        else:
            assert row[3] == entry.text + (" (amended)" if entry.amended else "")
    assert parsed.tags_in_cells.count("em") == sum(1 for e in incident.timeline if e.redacted or e.amended)
    assert set(parsed.tags_in_cells) <= {"em", "code"}


# --- redactions and amendments -------------------------------------------------------------------


def _logged_text(workspace, incident_id: str, entry_id: str) -> str:
    return next(e.payload["text"] for e in workspace.events(incident_id) if e.id == entry_id)


def test_redacted_entries_are_marked_or_omitted_and_never_leak(workspace, now):
    incident = workspace.get(PAYMENTS)
    [entry] = [e for e in incident.timeline if e.redacted]
    original = _logged_text(workspace, incident.id, entry.id)
    reason = entry.revisions[-1].text
    assert original and reason

    marked = to_markdown(incident, now, redacted="mark")
    omitted = to_markdown(incident, now, redacted="omit")
    row = f"| {entry.at:%H:%M:%S} | {entry.actor} | note | _[redacted]_ |"
    assert row in marked.splitlines()
    assert f"| {entry.at:%H:%M:%S} | {entry.actor} |" not in omitted
    for text in (marked, omitted):
        assert original not in text
        assert reason not in text
    assert len(marked.splitlines()) == len(omitted.splitlines()) + 1
    with pytest.raises(ValueError, match="redacted must be one of"):
        to_markdown(incident, now, redacted="hide")


def test_amended_entries_export_their_final_text(workspace, now):
    incident = workspace.get(PAYMENTS)
    [entry] = [e for e in incident.timeline if e.amended and not e.redacted]
    original = _logged_text(workspace, incident.id, entry.id)
    assert original != entry.text
    text = to_markdown(incident, now)
    assert f"| {escape_cell(entry.text)} _(amended)_ |" in text
    assert original not in text.replace(entry.text, "")


# --- escaping ---------------------------------------------------------------------------------------


class Harness:
    """One person working an incident with a frozen clock and repeatable ids."""

    def __init__(self, actor: str = "alice") -> None:
        self.clock = FixedClock(T0)
        rng = random.Random(42)
        self.factory = EventFactory(actor, self.clock, HybridClock(self.clock, "a1b2c3d4"), new_id=lambda now: uuid7(now, rng.randbytes(10)))
        self.events: list[Event] = []

    @property
    def state(self):
        return fold_incident(self.events[0].incident_id, self.events)

    def add(self, made):
        self.events.extend(made if isinstance(made, list) else [made])
        return self.state

    def declare(self, **kw):
        kw.setdefault("title", "Checkout failing")
        kw.setdefault("severity", Severity.SEV2)
        return self.add(commands.declare(self.factory, **kw))

    def log(self, text: str, kind: EntryKind = EntryKind.NOTE, *, minutes: float = 1, at=None):
        self.clock.advance(minutes=minutes)
        return self.add(commands.log_entry(self.factory, self.state, text, kind, at))


TRICKY = [
    "error rate | 38% | climbing",
    "first line\nsecond line\r\nthird",
    "path C:\\temp\\ and a trailing backslash \\",
    "escaped pipe already \\| here",
    "*not bold* and **not strong** and _not em_ and __not strong__",
    "snake_case_name stays readable, __init__ does not format",
    "`not code` and <b>not html</b> and <https://not.an.autolink>",
    "[not a link](http://example.com) and ![no image](x.png)",
    "~~not struck~~ ~nor this~ and $x^2$ is not math",
    "&copy; &#169; &amp; are not entities, AT&T is fine",
    "| leading and trailing pipes |",
    "\\",
]


def test_table_cells_escape_pipes_newlines_and_formatting():
    h = Harness()
    h.declare()
    for text in TRICKY:
        h.log(text)
    incident = h.state
    markdown = to_markdown(incident, h.clock.now())
    timeline = markdown.split("| Time (UTC) |", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(timeline) == 2 + len(incident.timeline)  # header, delimiter, one line per entry
    assert "| error rate \\| 38% \\| climbing |" in markdown
    assert "| first line<br>second line<br>third |" in markdown

    parsed = parse_html(markdown)
    rows = timeline_table(parsed)
    assert all(len(row) == 4 for row in rows)
    events = {row[3] for row in rows[1:]}
    for text in TRICKY:
        assert text.replace("\r\n", "\n").strip() in events, text
    assert parsed.tags_in_cells == [], "inline formatting leaked into a cell"


def test_escape_inline_leaves_ordinary_text_alone():
    plain = "Rollback complete: all pods on v2.14.2 (error rate 38% → 21%); payment_error_rate > 5%"
    assert escape_inline(plain) == plain
    assert escape_inline("x | y") == "x \\| y"
    assert escape_inline("a\nb") == "a<br>b"
    assert escape_inline("_em_") == "\\_em\\_"
    assert escape_inline("a_b_c") == "a_b_c"


@pytest.mark.parametrize(
    "text",
    ["# not a heading", "> not a quote", "- not a list", "+ nor this", "1. not numbered", "3) nor this", "---", "<div>x</div>"],
)
def test_paragraphs_do_not_turn_into_blocks(text):
    parsed = parse_html(escape_paragraph(text) + "\n")
    assert parsed.blocks == [("p", text)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 _*`|\\[]()<>!~$&#;:-+=.\n")), min_size=1, max_size=24))
def test_any_text_renders_verbatim_in_a_cell(text):
    expected = text.strip()
    if not expected:
        return
    parsed = parse_html(f"| h |\n| --- |\n| {escape_cell(text)} |\n")
    [table] = parsed.tables
    assert table[1] == [expected]
    assert parsed.tags_in_cells == []


# --- sections, action items, metrics ----------------------------------------------------------------


def test_unwritten_sections_are_present_with_their_prompts():
    h = Harness()
    h.declare()
    text = to_markdown(h.state, h.clock.now())
    for heading, key in [
        ("Summary", "summary"),
        ("Trigger", "trigger"),
        ("Detection", "detection"),
        ("Response", "response"),
        ("Recovery", "recovery"),
        ("Root cause", "root_cause"),
        ("Contributing factors", "contributing_factors"),
        ("What went well", "went_well"),
        ("What went poorly", "went_poorly"),
        ("Where we got lucky", "got_lucky"),
        ("Lessons learned", "lessons_learned"),
    ]:
        assert f"## {heading}\n\n_{POSTMORTEM_SECTIONS[key]}_\n" in text
    for heading in ("Impact", "Timeline", "Action items", "Metrics", "Milestones", "Roles"):
        assert f"\n## {heading}\n" in text
    assert "_No action items yet." in text
    assert f"**Authors:** _{POSTMORTEM_CREDITS['authors']}_" in text
    assert f"**Reviewers:** _{POSTMORTEM_CREDITS['reviewers']}_" in text
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings.index("Trigger") < headings.index("Timeline") < headings.index("Where we got lucky") < headings.index("Action items")


def test_written_sections_replace_the_prompts_and_keep_their_markdown():
    h = Harness()
    h.declare(summary="Plain summary from the incident")
    text = to_markdown(h.state, h.clock.now())
    assert "## Summary\n\nPlain summary from the incident\n" in text  # falls back to the incident's
    h.add(commands.set_postmortem_section(h.factory, h.state, "summary", "A bad deploy broke **all** card payments."))
    h.add(commands.set_postmortem_section(h.factory, h.state, "root_cause", "- token normalisation\n- no contract test"))
    text = to_markdown(h.state, h.clock.now())
    assert "## Summary\n\nA bad deploy broke **all** card payments.\n" in text
    assert "## Root cause\n\n- token normalisation\n- no contract test\n" in text
    assert POSTMORTEM_SECTIONS["root_cause"] not in text
    assert POSTMORTEM_SECTIONS["went_well"] in text


def test_action_items_table_and_unpromoted_todos():
    h = Harness()
    h.declare()
    h.log("Contract test for | stored cards", EntryKind.TODO)
    h.log("Review retry backoff", EntryKind.TODO)
    todo = next(e for e in h.state.timeline if e.kind is EntryKind.TODO)
    h.add(commands.promote_todo(h.factory, h.state, todo.id))
    h.add(
        commands.add_action_item(
            h.factory, h.state, "Alert on stored-card errors", owner="bob", due=date(2026, 4, 15),
            priority=Priority.HIGH, type=ActionType.DETECTIVE,
        )
    )
    item = list(h.state.action_items)[-1]
    h.add(commands.update_action_item(h.factory, h.state, item, status=ActionStatus.IN_PROGRESS))
    text = to_markdown(h.state, h.clock.now())
    assert "| Action | Owner | Due | Priority | Status | Type | Ticket |" in text
    assert "| Contract test for \\| stored cards | _unassigned_ | — | medium | todo | corrective | — |" in text
    assert "| Alert on stored-card errors | bob | 2026-04-15 | high | in progress | detective | — |" in text
    todos = text.split("Todos from the timeline that are not action items yet:\n\n", 1)[1].split("\n\n", 1)[0]
    assert todos == "- Review retry backoff (alice, 2026-03-30 14:02 UTC)"


def test_metrics_and_milestones_with_a_frozen_clock():
    h = Harness()
    h.clock.advance(minutes=10)  # 14:10
    h.declare(severity=Severity.SEV1)  # declared 14:10
    h.log("Alert fired", at=T0 + timedelta(minutes=2))  # detected 14:02 (logged 14:11)
    h.add(commands.set_milestone(h.factory, h.state, Milestone.ACKNOWLEDGED, T0 + timedelta(minutes=5)))
    h.clock.advance(minutes=19)  # 14:30
    h.add(commands.update(h.factory, h.state, status=Status.MONITORING))
    h.clock.advance(minutes=30)  # 15:00
    h.add(commands.update(h.factory, h.state, status=Status.RESOLVED))
    h.clock.advance(hours=5)
    text = to_markdown(h.state, h.clock.now())
    metrics = text.split("## Metrics\n\n", 1)[1].split("\n\n", 1)[0]
    assert metrics.splitlines() == [
        "| Metric | Value |",
        "| --- | --- |",
        "| Time to acknowledge | 3m 00s |",
        "| Time to declare | 8m 00s |",
        "| Time to mitigate | 28m 00s |",
        "| Duration (time to resolve) | 58m 00s |",
    ]
    milestones = text.split("## Milestones\n\n", 1)[1].split("\n\n", 1)[0]
    assert milestones.splitlines()[2:] == [
        "| detected | 2026-03-30 14:02:00 | automatic |",
        "| acknowledged | 2026-03-30 14:05:00 | set by hand |",
        "| declared | 2026-03-30 14:10:00 | automatic |",
        "| mitigated | 2026-03-30 14:30:00 | automatic |",
        "| resolved | 2026-03-30 15:00:00 | automatic |",
    ]
    assert "- **Duration:** 58m 00s (detection to resolution)\n" in text
    assert "Duration is measured from detection" in text
    assert "- **Date:** 2026-03-30\n" in text


def test_timeline_spanning_days_shows_dates():
    h = Harness()
    h.declare()
    h.clock.advance(hours=12)
    h.log("next day")
    text = to_markdown(h.state, h.clock.now())
    assert "| 2026-03-31 02:01:00 | alice | note | next day |" in text


def test_markdown_is_pure_and_has_no_textual_import():
    import sys

    assert "textual" not in {m.split(".")[0] for m in sys.modules if m.startswith("warroom.export")}
    import warroom.export.markdown as module

    assert "open(" not in Path(module.__file__).read_text()


# --- a postmortem written in full -------------------------------------------------------------------

WRITTEN = {
    "summary": "A config push removed the card-token cache, so **every** card payment was declined for 50 minutes.",
    "trigger": "The 14:08 push of `tokens.yaml` set the cache size to 0.",
    "detection": "The payment error-rate alert fired at 14:12, four minutes after the push.",
    "response": "- IC declared SEV2 at 14:15 and raised it to SEV1 at 14:20\n- Tech lead compared the pushes of the last hour",
    "recovery": "Reverting the push at 14:40 emptied the error queue; checkout success was back to normal by 14:55.",
    "root_cause": "Config pushes skip the canary stage that code deploys go through.",
    "contributing_factors": "The cache size had no lower bound.",
    "went_well": "The alert fired within five minutes.",
    "went_poorly": "Nobody could see which pushes had gone out.",
    "got_lucky": "It happened at 14:00 on a Tuesday, not during the evening peak.",
    "lessons_learned": "Treat config like code.",
    "authors": "alice, bob",
    "reviewers": "carol",
}


def written_postmortem() -> Harness:
    """A SEV2 raised to SEV1, mitigated, resolved, reopened and resolved again, with every
    section, authors, reviewers and action items with and without tickets."""
    h = Harness()
    h.clock.advance(minutes=15)  # 14:15
    h.declare(severity=Severity.SEV2, title="Card payments declined: cache emptied by a config push")
    h.log("Payment error-rate alert fired", at=T0 + timedelta(minutes=12))
    h.clock.advance(minutes=5)  # 14:21 (logging the alert took a minute)
    h.add(commands.update(h.factory, h.state, severity=Severity.SEV1))
    h.log("Rolled back the 14:08 config push", EntryKind.ACTION, minutes=20)  # 14:41
    h.add(commands.update(h.factory, h.state, status=Status.MONITORING))
    h.log("Add a canary stage for config pushes", EntryKind.TODO, minutes=4)
    h.clock.advance(minutes=10)
    h.add(commands.update(h.factory, h.state, status=Status.RESOLVED))
    h.clock.advance(minutes=5)
    h.add(commands.update(h.factory, h.state, status=Status.INVESTIGATING))
    h.log("Declines again in one region", minutes=1)
    h.clock.advance(minutes=9)
    h.add(commands.update(h.factory, h.state, status=Status.RESOLVED))
    for key, text in WRITTEN.items():
        h.add(commands.set_postmortem_section(h.factory, h.state, key, text))
    h.add(commands.add_action_item(h.factory, h.state, "Canary stage for config pushes", owner="bob", ticket="PAY-1432"))
    h.add(commands.add_action_item(h.factory, h.state, "Lower bound for the cache size", ticket="https://tracker.example/issues/88"))
    h.add(commands.add_action_item(h.factory, h.state, "Dashboard of recent pushes"))
    h.clock.advance(hours=2)
    return h


def test_written_postmortem_matches_golden_with_the_key_timeline():
    h = written_postmortem()
    text = to_markdown(h.state, h.clock.now(), timeline="key")
    check_golden("written-postmortem-key.md", text)
    for key in POSTMORTEM_SECTIONS:
        assert WRITTEN[key] in text
    assert "- **Authors:** alice, bob\n- **Reviewers:** carol\n" in text
    parsed = parse_html(text)
    items = next(t for t in parsed.tables if t[0][0] == "Action")
    assert items[0][-1] == "Ticket"
    assert [row[-1] for row in items[1:]] == ["PAY-1432", "https://tracker.example/issues/88", "—"]
    assert "<https://tracker.example/issues/88>" in text  # a link stays a link


def test_key_timeline_leaves_out_the_bookkeeping_and_says_so():
    h = written_postmortem()
    incident = h.state
    full = timeline_table(parse_html(to_markdown(incident, h.clock.now(), timeline="all")))
    key = timeline_table(parse_html(to_markdown(incident, h.clock.now(), timeline="key")))
    assert len(full) - 1 == len(incident.timeline)
    assert [row[2] for row in key[1:]] == [e.kind.value for e in incident.timeline if e.kind in KEY_ENTRY_KINDS]
    assert {row[2] for row in full[1:]} - {row[2] for row in key[1:]} == {"action item"}
    left_out = sum(1 for e in incident.timeline if e.kind not in KEY_ENTRY_KINDS)
    assert f"; {left_out} other automatic entries are left out (checklist ticks, comms, action items and the like)." in to_markdown(incident, h.clock.now(), timeline="key")
    with pytest.raises(ValueError, match="timeline must be one of"):
        to_markdown(incident, h.clock.now(), timeline="some")


def _gantt(text: str) -> list[str]:
    return text.split("```mermaid\n", 1)[1].split("\n```\n", 1)[0].splitlines()


def test_mermaid_chart_shows_sev_and_status_phases_and_milestones():
    h = written_postmortem()
    chart = _gantt(to_markdown(h.state, h.clock.now()))
    assert chart[:6] == [
        "gantt",
        "    title Card payments declined cache emptied by a config push (UTC)",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %H:%M",
        "    todayMarker off",
        "    section Severity",
    ]
    assert chart[6:] == [
        "    SEV2 High :2026-03-30 14:15:00, 2026-03-30 14:21:00",
        "    SEV1 Critical :crit, 2026-03-30 14:21:00, 2026-03-30 15:10:00",
        "    section Status",
        "    investigating :2026-03-30 14:15:00, 2026-03-30 14:41:00",
        "    monitoring :2026-03-30 14:41:00, 2026-03-30 14:55:00",
        "    resolved :done, 2026-03-30 14:55:00, 2026-03-30 15:00:00",
        "    investigating :2026-03-30 15:00:00, 2026-03-30 15:10:00",
        "    section Milestones",
        "    detected :milestone, 2026-03-30 14:12:00, 0m",
        "    declared :milestone, 2026-03-30 14:15:00, 0m",
        "    mitigated :milestone, 2026-03-30 14:41:00, 0m",
        "    resolved :milestone, 2026-03-30 15:10:00, 0m",
    ]


def test_mermaid_chart_cannot_be_broken_by_a_title():
    h = Harness()
    h.declare(title="x ```\n%%{init: {'theme':'dark'}}%%\nsection Evil: done; click a call b() #1")
    text = to_markdown(h.state, h.clock.now())
    chart = _gantt(text)
    assert chart[1] == "    title x init 'theme' 'dark' section Evil done click a call b() 1 (UTC)"
    assert text.count("```") == 2
    assert all(":" not in line.split(":", 1)[0] for line in chart)


# --- the CAN report template ---------------------------------------------------------------------


def test_can_report_template_renders_conditions_actions_needs(workspace, now):
    templates, errors = load_templates()
    assert errors == []
    assert {"conditions", "needs"} <= set(PLACEHOLDERS)
    incident = workspace.get(PAYMENTS)
    text = render(templates["can-report"], incident, now)
    assert "{" not in text and "}" not in text
    conditions = text.split("CONDITIONS: where things stand\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert conditions[0] == "- Status: monitoring (SEV1, 41m 30s since detection)"
    assert conditions[1] == "- Impact: Card payments fail at checkout; customers see 'payment declined'"
    assert "- Hypothesis (14:40): payments-api v2.14.3 (deployed 14:15) introduced the regression" in conditions
    assert "- 15:10 1,214 failed payments to reconcile with finance; none were captured twice" in conditions
    actions = text.split("ACTIONS: what we are doing\n", 1)[1].split("\n\n", 1)[0]
    assert "- 15:11 Support macro updated" in actions
    needs = text.split("NEEDS: what we need, and from whom\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert needs == [
        "- Find out why canary analysis passed v2.14.3 (canary traffic had no stored cards?) (todo, dave)",
        "- Contract test for stored cards without expiry in CardTokenizer (todo, bob)",
        "- Retry storm amplified the outage: review checkout-web retry and backoff (todo, frank)",
    ]


def test_can_report_needs_lists_open_action_items_not_done_ones(workspace, clock):
    incident = workspace.get(PAYMENTS)
    todo = next(e for e in incident.timeline if e.kind is EntryKind.TODO)
    workspace.record([commands.promote_todo(workspace.factory, incident, todo.id)])
    incident = workspace.get(PAYMENTS)
    workspace.record([commands.add_action_item(workspace.factory, incident, "Page finance", owner="erin", due=date(2026, 11, 19))])
    workspace.record([commands.add_action_item(workspace.factory, incident, "Already done")])
    incident = workspace.get(PAYMENTS)
    done = list(incident.action_items)[-1]
    workspace.record([commands.update_action_item(workspace.factory, incident, done, status=ActionStatus.DONE)])
    templates, _ = load_templates()
    text = render(templates["can-report"], workspace.get(PAYMENTS), clock.now())
    needs = text.split("NEEDS: what we need, and from whom\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert needs == [
        "- Contract test for stored cards without expiry in CardTokenizer (todo, bob)",
        "- Retry storm amplified the outage: review checkout-web retry and backoff (todo, frank)",
        f"- {todo.text[:200]} (no owner yet)",
        "- Page finance (owner: erin, due 2026-11-19)",
    ]


# --- JSON: lossless round trip -------------------------------------------------------------------


def _roundtrip(incident_id: str, events: list[Event], root: Path) -> None:
    """export → import into an empty data dir → export: identical bytes and folded state."""
    exported = export_json(incident_id, events)
    imported = import_json(exported)
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    target = Workspace(root, "importer", clock)
    target.load()
    assert target.incidents() == []
    fresh = target.ingest(imported)
    assert sum(len(b) for b in fresh.values()) == len({e.id for e in events})
    assert export_json(incident_id, target.events(incident_id)) == exported
    reloaded = Workspace(root, "someone-else", clock)  # from the journal on disk
    reloaded.load()
    assert export_json(incident_id, reloaded.events(incident_id)) == exported
    expected = fold_incident(incident_id, events).model_dump()
    assert fold_incident(incident_id, imported).model_dump() == expected
    assert target.get(incident_id).model_dump() == expected
    assert reloaded.get(incident_id).model_dump() == expected


@pytest.mark.parametrize("short", list(SAMPLES))
def test_json_round_trip_of_the_samples(short, workspace, tmp_path):
    incident = workspace.get(short)
    events = workspace.events(incident.id)
    _roundtrip(incident.id, events, tmp_path / "empty")
    document = json.loads(export_json(incident.id, list(reversed(events))))
    assert list(document) == ["format", "version", "incident_id", "events"]
    assert (document["format"], document["version"], document["incident_id"]) == (FORMAT, VERSION, incident.id)
    keys = [(e["hlc"], e["actor"], e["id"]) for e in document["events"]]
    assert keys == sorted(keys)
    assert all(list(e) == sorted(e) for e in document["events"])


def test_json_export_is_stable_text(workspace):
    incident = workspace.get(SEARCH)
    text = export_json(incident.id, workspace.events(incident.id))
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "format": "warroom-incident",\n  "version": 1,\n  "incident_id": ')
    assert export_json(incident.id, reversed(workspace.events(incident.id)) ) == text


PEOPLE = ["alice", "bob", "carol"]
ROLES = ["ic", "tech", "comms", "scribe", "Customer Liaison"]
HUMAN_KINDS = sorted(HUMAN_ENTRY_KINDS, key=lambda k: k.value)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@st.composite
def incident_histories(draw) -> list[Event]:
    """A random but valid history made through the commands, by several people."""
    clock = FixedClock(T0)
    seed = draw(st.integers(0, 2**32))
    factories = []
    for index, person in enumerate(PEOPLE):
        rng = random.Random(seed + index)
        factories.append(
            EventFactory(person, clock, HybridClock(clock, f"{index:08x}"), new_id=lambda now, rng=rng: uuid7(now, rng.randbytes(10)))
        )
    events = commands.declare(
        # A title made only of control characters has nothing left once cleaned: refused.
        factories[0], title=draw(ANY_TEXT.filter(lambda t: clean(t, multiline=False).strip())), severity=draw(st.sampled_from(list(Severity))),
        summary=draw(st.sampled_from(["", "db pool exhausted"])), incident_type=draw(st.sampled_from([None, "payments"])),
    )
    incident_id = events[0].incident_id
    for _ in range(draw(st.integers(4, 30))):
        clock.advance(milliseconds=draw(st.integers(0, 90_000)))
        factory = draw(st.sampled_from(factories))
        state = fold_incident(incident_id, events)
        action = draw(
            st.sampled_from(
                ["log", "log", "backdate", "backdate", "amend", "amend", "redact", "role", "update", "item",
                 "item_update", "promote", "milestone", "postmortem", "component", "comms", "runbook"]
            )
        )
        try:
            if action in ("log", "backdate"):
                at = clock.now() - timedelta(seconds=draw(st.integers(0, 7200))) if action == "backdate" else None
                made = [commands.log_entry(factory, state, draw(ANY_TEXT), draw(st.sampled_from(HUMAN_KINDS)), at)]
            elif action in ("amend", "redact"):
                editable = [e for e in state.timeline if not e.kind.is_automatic and not e.redacted]
                if not editable:
                    continue
                entry = draw(st.sampled_from(editable))
                if action == "amend":
                    made = [commands.amend_entry(factory, state, entry.id, draw(ANY_TEXT))]
                else:
                    made = [commands.redact_entry(factory, state, entry.id, draw(ANY_TEXT))]
            elif action == "role":
                made = [commands.assign_role(factory, state, draw(st.sampled_from(ROLES)), draw(st.sampled_from(PEOPLE + [None])))]
            elif action == "update":
                made = [
                    commands.update(
                        factory, state,
                        severity=draw(st.sampled_from([None, *Severity])),
                        status=draw(st.sampled_from([None, *Status])),
                        impact=draw(st.sampled_from([None, "EU only", "all users"])),
                    )
                ]
            elif action == "item":
                made = [
                    commands.add_action_item(
                        factory, state, draw(ANY_TEXT.filter(str.strip)),
                        owner=draw(st.sampled_from([None, *PEOPLE])),
                        due=draw(st.sampled_from([None, date(2026, 4, 1), date(2026, 5, 2)])),
                        priority=draw(st.sampled_from(list(Priority))),
                        type=draw(st.sampled_from(list(ActionType))),
                    )
                ]
            elif action == "item_update":
                if not state.action_items:
                    continue
                made = [
                    commands.update_action_item(
                        factory, state, draw(st.sampled_from(list(state.action_items))),
                        status=draw(st.sampled_from(list(ActionStatus))),
                        owner=draw(st.sampled_from([None, *PEOPLE])),
                    )
                ]
            elif action == "promote":
                todos = [e for e in state.timeline if e.kind is EntryKind.TODO]
                if not todos:
                    continue
                made = [commands.promote_todo(factory, state, draw(st.sampled_from(todos)).id)]
            elif action == "milestone":
                at = clock.now() - timedelta(seconds=draw(st.integers(0, 3600)))
                made = [commands.set_milestone(factory, state, draw(st.sampled_from(list(Milestone))), at)]
            elif action == "postmortem":
                made = [commands.set_postmortem_section(factory, state, draw(st.sampled_from(list(POSTMORTEM_SECTIONS))), draw(ANY_TEXT))]
            elif action == "component":
                made = [commands.set_component(factory, state, draw(st.sampled_from(["API", "Checkout"])), draw(st.sampled_from(list(ComponentState))))]
            elif action == "comms":
                made = [commands.mark_sent(factory, state, "status-update", draw(st.sampled_from(list(CommsChannel))), draw(ANY_TEXT.filter(str.strip)))]
            else:
                made = [
                    commands.attach_runbook(
                        factory, state, runbook_id="db", title="Database", source="db.md",
                        steps=[{"id": "a/one", "text": "Check the pool"}, {"id": "a/two", "text": "Fail over", "code": ["failover --now"]}],
                    )
                ]
                made.append(commands.tick_step(factory, fold_incident(incident_id, events + made), "db", "a/one"))
        except DomainError:
            continue
        events.extend(made)
    return events


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=incident_histories(), order=st.randoms(use_true_random=False))
def test_json_round_trip_of_generated_incidents(events, order):
    shuffled = list(events)
    order.shuffle(shuffled)
    incident_id = events[0].incident_id
    with tempfile.TemporaryDirectory() as root:
        _roundtrip(incident_id, shuffled, Path(root) / "data")
    # and the Markdown export never fails on what the commands can make
    to_markdown(fold_incident(incident_id, events), T0 + timedelta(days=1))


# --- JSON: refusing bad documents ----------------------------------------------------------------


@pytest.fixture
def document(workspace) -> dict:
    incident = workspace.get(LOGIN)
    return json.loads(export_json(incident.id, workspace.events(incident.id)))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(format="something-else"), "not a warroom incident export"),
        (lambda d: d.update(version=2), "version 2;.*upgrade warroom"),
        (lambda d: d.update(version=0), "unsupported export version 0"),
        (lambda d: d.update(version="1"), "no valid \"version\""),
        (lambda d: d.update(extra=1), "unknown field\\(s\\) in the export: extra"),
        (lambda d: d.update(incident_id="nope"), "incident_id"),
        (lambda d: d.update(events={}), "\"events\" is missing or not a list"),
        (lambda d: d.update(events=[]), "holds no events"),
        (lambda d: d["events"].__setitem__(3, "x"), "event 3: expected a JSON object"),
        (lambda d: d["events"][2].update(kind="entry.exploded"), "event 2: .*unknown event kind"),
        (lambda d: d["events"][4]["payload"].update(text=""), "event 4: .*payload|event 4: .*text"),
        (lambda d: d["events"][1].update(incident_id="01a1e8c5-93e8-76c5-a522-4a58b791f1d8"), "event 1 belongs to incident 01a1e8c5"),
        (lambda d: d["events"].append(dict(d["events"][2], actor="mallory")), "reuses the id"),
        (lambda d: d.update(events=d["events"][1:]), "no incident.declared event"),
        (lambda d: d["events"][5].update(at="0001-01-01T00:00:00+01:00"), "event 5: .*out of range"),
    ],
)
def test_import_json_refuses_with_a_clear_message(document, mutate, message):
    mutate(document)
    with pytest.raises(ValueError, match=message):
        import_json(json.dumps(document))


def test_import_json_refuses_non_json():
    with pytest.raises(ValueError, match=r"not valid JSON \(line 1, column 2"):
        import_json("{nope")
    with pytest.raises(ValueError, match="not a warroom incident export"):
        import_json("[1, 2]")


def test_import_json_accepts_an_exact_duplicate(document):
    document["events"].append(document["events"][3])
    events = import_json(json.dumps(document))
    assert len(events) == len(document["events"]) - 1
