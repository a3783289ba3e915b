"""Timeline import of timelines as people write them: bullets and numbering, 12-hour times,
times inside sentence starts, file-wide zone and date declarations, prose, tables with the
headers and cells real postmortems have, per-row dates. Every fixture in
``tests/export/fixtures/timelines`` (written here, in the shapes public postmortems use) is read
exactly as ``expected.json`` says, every guess is a notice, and the preview, the dry run and
the confirmation show it all before anything is written.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.models import EntryKind, Milestone, Severity
from warroom.cli.export import import_main
from warroom.export.importer import build_events, parse_notes
from warroom.export.markdown import to_markdown
from warroom.export.notes.preview import render_preview
from warroom.store import paths
from warroom.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "timelines"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
NOW = datetime.fromisoformat(EXPECTED["now"])


def read(name: str, **kw):
    path = FIXTURES / name
    return parse_notes(path.read_text(), now=kw.pop("now", NOW), markdown=path.suffix == ".md", **kw)


def notices(result) -> str:
    return "\n".join(f"{n.line_no}: {n.message}" for n in result.notices)


# --- every fixture, read as checked by hand ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_each_fixture_reads_as_checked_by_hand(name):
    result = read(name)
    assert result.errors == []
    got = [[f"{e.at:%Y-%m-%dT%H:%MZ}", e.kind.value, e.text] for e in result.entries]
    assert got == EXPECTED["files"][name]["entries"]
    assert all(e.at.utcoffset() == timedelta(0) for e in result.entries)
    for line_no, _text, why in EXPECTED["files"][name]["not_imported"]:
        assert any(s.line_no == line_no and why in s.why for s in result.skipped), (line_no, why)


def test_entries_imported_over_entries_in_the_fixtures():
    expected = sum(len(f["entries"]) + len(f["not_imported"]) for f in EXPECTED["files"].values())
    imported = sum(len(read(name).entries) for name in EXPECTED["files"])
    untimed = sum(len(f["not_imported"]) for f in EXPECTED["files"].values())
    print(f"\nentries imported / entries in the fixtures: {imported}/{expected} (untimed, shown as not entries: {untimed})")
    assert imported == expected - untimed


# --- the rules, and the notices that show them -------------------------------------------------------


def test_twelve_hour_file_resolves_a_bare_time_and_says_how():
    result = read("bullets-12h-pst.md")
    text = notices(result)
    assert "14: '9:15' has no am/pm in notes written in 12-hour times: read as 9:15 am" in text
    # PST written for a March 12 date, when Pacific clocks read PDT: kept as written, said.
    assert "PST (UTC−08:00) on 2024-03-12, when America/Los_Angeles clocks read UTC−07:00" in text
    assert [s.why for s in result.skipped if s.line_no == 8] == ["declares the zone PST, UTC−08:00 for the lines below"]


def test_twelve_hour_times_across_midnight_and_zero_padded_hours():
    result = read("matchmaking-midnight.md")
    assert "11: '12:14am' is more than 12 hours before line 10: read as the next day, 2025-11-09" in notices(result)
    assert "'01:05'" not in notices(result)  # a leading zero is a 24-hour time: no guess needed


def test_the_first_ambiguous_time_takes_the_am_pm_of_the_next_one():
    result = parse_notes("All times UTC\n**Date:** 2024-01-10\n- 9:50 Checks red\n- 9:58 PM Paged\n", now=NOW)
    assert [e.at for e in result.entries] == [datetime(2024, 1, 10, 21, 50, tzinfo=timezone.utc), datetime(2024, 1, 10, 21, 58, tzinfo=timezone.utc)]
    assert "as the next time that says am/pm, on line 4" in notices(result)


def test_a_zone_declared_below_is_used_above_and_said():
    result = parse_notes("**Date:** 2024-01-10\n14:00 one\n15:00 two\n\n_All times in CET._\n", now=NOW)
    assert [e.at.hour for e in result.entries] == [13, 14]
    assert "the zone CET declared on line 5 is used for the lines above it too" in notices(result)


def test_tz_option_wins_over_the_notes_declaration_and_says_so():
    result = parse_notes("## Timeline (PST)\n2024-01-10 09:00 one\n", now=NOW, tz=ZoneInfo("Europe/Paris"))
    assert result.entries[0].at == datetime(2024, 1, 10, 8, 0, tzinfo=timezone.utc)
    assert "--tz Europe/Paris used instead of PST" in notices(result)


def test_no_zone_and_no_date_are_said_and_a_future_day_falls_back_to_yesterday():
    result = parse_notes("20:30 late alert\n21:00 paged\n", now=NOW)  # 18:00 UTC now: today's 20:30 is ahead
    assert [e.at.date() for e in result.entries] == [date(2026, 3, 29)] * 2
    text = notices(result)
    assert "0: no time zone in the notes: times read as UTC" in text
    assert "no date in the notes: the times are on 2026-03-29 (yesterday" in text
    result = parse_notes("10:00 early\n", now=NOW)
    assert result.entries[0].at.date() == date(2026, 3, 30) and "(today, UTC)" in notices(result)


def test_year_less_dates_take_the_last_year_seen_or_say_which_was_assumed():
    result = parse_notes("2019-06-01 10:00 UTC start\n| Time | Event |\n|---|---|\n| 09:00 UTC, 2nd Jun | next day |\n", now=NOW)
    assert result.entries[1].at == datetime(2019, 6, 2, 9, 0, tzinfo=timezone.utc)
    assert "no year given" not in notices(result)
    assert "no year given: 2025 assumed" in notices(read("table-per-row-date.md"))


def test_ambiguous_numeric_dates_and_zone_names_are_said():
    result = parse_notes("01/02/2024 10:00 IST payments slow\n", now=NOW)
    assert result.entries[0].at == datetime(2024, 1, 2, 4, 30, tzinfo=timezone.utc)
    text = notices(result)
    assert "01/02/2024 read as month/day" in text and "IST read as India Standard Time" in text


def test_times_that_run_backwards_are_kept_and_said():
    result = read("past-midnight.txt")
    assert "6: '00:03' is earlier than line 5 (00:07): kept as written" in notices(result)


def test_prose_headings_and_declarations_are_not_entries_and_not_errors():
    result = read("sentence-starts.md")
    assert result.errors == []
    assert [(s.line_no, s.why) for s in result.skipped] == [(1, "heading"), (3, "prose (no time)"), (15, "prose (no time)")]


def test_debris_is_not_text_markdown_stays_and_entities_are_decoded():
    debris = read("colons-debris.md").entries[0].text
    assert debris == "Queue depth for `webhooks-out` starts climbing."
    cet = read("table-cet.md").entries
    assert cet[0].text == "Identity provider starts rejecting SAML assertions from S&O tenants"
    assert cet[1].text.startswith("**OUTAGE BEGINS**: staff") and cet[1].markdown
    per_row = read("table-per-row-date.md").entries[0].text
    assert per_row == "Nightly billing export job starts, 40 minutes late"  # no "UTC, 21st Oct |"


def test_continuations_join_as_markdown_would():
    text = "- 14:32 Alert fired\n  on payments-api\n  - sub point\n- 14:40 next\nlazy continuation\n\n14:50 alone\nprose after a blank\n"
    result = parse_notes(text, now=NOW, default_date=date(2026, 3, 30))
    assert [e.text for e in result.entries] == ["Alert fired on payments-api\n- sub point", "next lazy continuation", "alone"]
    assert [(s.line_no, s.why) for s in result.skipped if "continues" in s.why] == [
        (2, "continues the entry of line 1"), (3, "continues the entry of line 1"), (5, "continues the entry of line 4"),
    ]  # fmt: skip
    assert (8, "prose (no time)") in [(s.line_no, s.why) for s in result.skipped]


def test_table_columns_people_use_and_rows_that_are_not_entries():
    text = "\n".join([
        "| Date | Time (UTC) | Local time | Type | Description | Impact |",
        "|---|---|---|---|---|---|",
        "| 2024-05-02 | 10:00 | 12:00 | Deploy | v42 rolled out | none |",
        "| | 10:05 - 10:20 | | decision | Paused the rollout | |",
        "| | ?? | | | Paged someone | |",
        "| 2024-05-03 | 09:00 | | status | SEV2 → SEV3 | |",
        "| | 09:30 | | | Extra \\| pipe | a | b |",
    ])  # fmt: skip
    result = parse_notes(text, now=NOW)
    assert [(e.at, e.kind, e.text) for e in result.entries] == [
        (datetime(2024, 5, 2, 10, 0, tzinfo=timezone.utc), EntryKind.NOTE, "v42 rolled out (Impact: none) (Type: Deploy)"),
        (datetime(2024, 5, 2, 10, 5, tzinfo=timezone.utc), EntryKind.DECISION, "(until 10:20) Paused the rollout"),
    ]
    whys = {s.line_no: s.why for s in result.skipped}
    assert whys[5] == "no time given (??), so it is not an entry"
    assert whys[6] == "an automatic 'status' row: warroom writes these itself"
    assert "column 'Local time' not used" in notices(result)
    assert [(e.line_no, e.reason) for e in result.errors] == [(7, "7 cells where the header has 6")]


def test_terminal_escapes_in_a_pasted_timeline_never_reach_an_entry():
    result = parse_notes("14:32 alert \x1b[31mred\x1b[0m \u202egnp.exe\n", now=NOW, default_date=date(2026, 3, 30))
    assert "\x1b" not in result.entries[0].text and "\u202e" not in result.entries[0].text


# --- Markdown kept through the export ---------------------------------------------------------------


def test_markdown_entries_export_as_markdown_and_plain_ones_as_typed(tmp_path):
    ws = Workspace(tmp_path / "data", "scribe", FixedClock(NOW))
    ws.load()
    declared = commands.declare(ws.factory, title="SSO outage", severity=Severity.SEV2, at=NOW - timedelta(days=1))
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    events, _ = build_events(ws.factory, incident, read("table-cet.md"))
    events.append(commands.log_entry(ws.factory, incident, "typed **not bold** a|b"))
    ws.record(events)
    markdown = to_markdown(ws.get(incident.id), NOW)
    assert "| **OUTAGE BEGINS**: staff cannot log in to any internal tool |" in markdown
    assert "`systemctl start chronyd`" in markdown and "S&O tenants" in markdown
    assert "typed \\*\\*not bold\\*\\* a\\|b" in markdown  # typed in warroom: renders as typed


# --- the preview and the command ------------------------------------------------------------------------


def test_preview_shows_every_entry_line_non_entries_notices_and_errors():
    result = parse_notes((FIXTURES / "bullets-12h-pst.md").read_text() + "\n* 14:61 - typo\n", now=NOW)
    preview = render_preview(
        entries=result.entries, skipped=result.skipped, notices=result.notices, errors=result.errors,
        markdown=result.markdown, heading="Import of bullets-12h-pst.md",
    )  # fmt: skip
    assert "   12  8:00 AM (PST, UTC−08:00)  → 2024-03-12 16:00 UTC → note       → Synthetic upload check" in preview
    assert "   21  3pm-ish (PST, UTC−08:00)  → 2024-03-12 23:00 UTC → note       → (approx.) Backlog" in preview
    assert "Not entries (8 lines):" in preview and "    5  prose (no time): For about four hours" in preview
    assert "Read this way (3; check them):" in preview
    assert "   12  times without a zone are read in PST, UTC−08:00, as line 8 declares" in preview
    assert "Cannot be read (1 line; nothing is imported until they are fixed" in preview
    assert "   27  cannot read the time '14:61'" in preview


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(paths.USER_ENV, "scribe")
    ws = Workspace(tmp_path / "data", "alice")
    ws.load()
    declared = commands.declare(ws.factory, title="Uploads failing", severity=Severity.SEV2)
    ws.record(declared)
    return tmp_path, declared[0].incident_id


def _journals(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths.incidents_dir(data_dir).glob("*.jsonl")}


def test_dry_run_shows_the_preview_and_writes_nothing(cli_env, capsys):
    tmp_path, incident_id = cli_env
    before = _journals(tmp_path / "data")
    code = import_main([str(FIXTURES / "bullets-12h-pst.md"), "--incident", incident_id[-8:], "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Import of bullets-12h-pst.md into {incident_id[-8:]} (Uploads failing)" in out
    assert "   14  9:15 (PST, UTC−08:00)     → 2024-03-12 17:15 UTC → note" in out
    assert _journals(tmp_path / "data") == before
    bad = tmp_path / "bad.md"
    bad.write_text("- 14:32 fine\n- 25:00 broken\n")
    assert import_main([str(bad), "--incident", incident_id, "--dry-run"]) == 1
    assert "Cannot be read (1 line" in capsys.readouterr().out
    assert _journals(tmp_path / "data") == before


def test_without_a_terminal_every_notice_goes_to_stderr_and_the_metrics_hint_too(cli_env, capsys):
    tmp_path, incident_id = cli_env
    assert import_main([str(FIXTURES / "bullets-12h-pst.md"), "--incident", incident_id]) == 0
    out, err = capsys.readouterr()
    assert out == f"imported 10 entries into {incident_id[-8:]}\n"
    assert "warroom: note: line 14: '9:15' has no am/pm" in err
    assert f"warroom milestone {incident_id[-8:]} declared" in err
    ws = Workspace(tmp_path / "data", "x")
    ws.load()
    imported = [e for e in ws.get(incident_id).timeline if e.kind is EntryKind.NOTE]
    assert len(imported) == 10 and all(e.markdown and e.actor == "scribe" for e in imported)


def _run_in_terminal(argv: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run ``warroom`` with its stdin and stdout on a pseudo-terminal, as a person would, and
    answer its question."""
    controller, terminal = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    full_env.update(env, PYTHONPATH=str(REPO), COLUMNS="200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", *argv], stdin=terminal, stdout=terminal, stderr=terminal, env=full_env, cwd=REPO
    )
    os.close(terminal)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"[y/N]" in output:
            os.write(controller, answer.encode() + b"\r")
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(30)
    os.close(controller)
    return code, output.decode(errors="replace")


@pytest.mark.parametrize("answer,imported", [("n", False), ("y", True)])
def test_in_a_terminal_the_preview_comes_first_and_nothing_is_written_without_yes(cli_env, answer, imported):
    tmp_path, incident_id = cli_env
    env = {paths.DATA_DIR_ENV: str(tmp_path / "data"), paths.CONFIG_DIR_ENV: str(tmp_path / "config"), paths.USER_ENV: "scribe"}
    before = _journals(tmp_path / "data")
    code, screen = _run_in_terminal(["import", str(FIXTURES / "numbered-utc.md"), "--incident", incident_id[-8:]], env, answer)
    assert "→ 2026-" in screen and "Entries (6)" in screen and f"Import 6 entries into {incident_id[-8:]}? [y/N]" in screen
    if imported:
        assert code == 0 and "imported 6 entries" in screen
        assert _journals(tmp_path / "data") != before
    else:
        assert code == 1 and "nothing imported" in screen
        assert _journals(tmp_path / "data") == before


def test_declare_at_and_milestones_give_sane_metrics(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({paths.DATA_DIR_ENV: str(tmp_path / "data"), paths.CONFIG_DIR_ENV: str(tmp_path / "c"), paths.USER_ENV: "ann"})

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "warroom", *argv], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)

    declared = run("declare", "--title", "Build farm", "--sev", "2", "--at", "2017-01-31T18:20Z")
    assert declared.returncode == 0, declared.stderr
    incident = declared.stdout.strip()
    assert run("import", str(FIXTURES / "sentence-starts.md"), "--incident", incident).returncode == 0
    assert run("milestone", incident, "mitigated", "2017-01-31T19:05Z").returncode == 0
    assert run("milestone", incident, "resolved", "2017-01-31T19:30Z").returncode == 0
    refused = run("milestone", incident, "acknowledged", "2017-01-31T20:00Z")
    assert refused.returncode == 1 and "acknowledged cannot follow declared" in refused.stderr
    shown = run("milestone", incident).stdout
    assert "time to declare      20m 00s" in shown and "time to resolve      1h 30m 00s" in shown
    assert run("declare", "--title", "x", "--sev", "2", "--at", "2999-01-01T00:00Z").returncode == 1
    ws = Workspace(tmp_path / "data", "x")
    ws.load()
    state = ws.get(incident)
    assert state.milestones[Milestone.DECLARED] == datetime(2017, 1, 31, 18, 20, tzinfo=timezone.utc)
    assert state.milestones[Milestone.DETECTED] == datetime(2017, 1, 31, 18, 0, tzinfo=timezone.utc)


# --- fuzz: lines built the way people write them, read back to the same instant ------------------------

_ZONES = {"UTC": 0, "PST": -480, "EST": -300, "CET": 60, "JST": 540, "+05:30": 330, "-07:00": -420}


@st.composite
def written_entries(draw):
    """A timeline line as people write it, and the UTC instant it stands for."""
    day = draw(st.dates(min_value=date(2005, 1, 1), max_value=date(2025, 12, 31)))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    zone = draw(st.sampled_from(sorted(_ZONES)))
    twelve = draw(st.booleans())
    if twelve:
        suffix = draw(st.sampled_from(["am", " am", "AM", " AM", "a.m."]))
        if hour >= 12:
            suffix = suffix.replace("a", "p").replace("A", "P")
        clock = f"{(hour % 12) or 12}:{minute:02d}{suffix}"
    else:
        clock = f"{hour:02d}:{minute:02d}"
    date_text = draw(st.sampled_from([f"{day:%Y-%m-%d}", f"{day:%Y/%m/%d}", f"{day:%B} {day.day}, {day.year}", f"{day.day} {day:%b} {day.year}"]))
    bullet = draw(st.sampled_from(["", "- ", "* ", "1. ", "+ "]))
    lead = draw(st.sampled_from(["", "At ", "Update "]))
    separator = draw(st.sampled_from([" - ", ": ", " ::::: ", " | ", " – ", ", "]))
    text = draw(st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), min_size=1, max_size=30).filter(lambda t: t.strip() and t.strip()[0].isalpha()))
    stamp = f"{lead}{date_text} {clock} {zone}"
    if draw(st.booleans()) and not lead:
        stamp = f"**{stamp}**"
    local = datetime(day.year, day.month, day.day, hour, minute)
    at = (local - timedelta(minutes=_ZONES[zone])).replace(tzinfo=timezone.utc)
    return f"{bullet}{stamp}{separator}{text}", at, lead


@settings(max_examples=300, deadline=None)
@given(written_entries())
def test_fuzz_a_written_time_reads_back_as_the_same_instant(case):
    line, at, lead = case
    result = parse_notes(line + "\n", now=NOW)
    assert result.errors == [], (line, result.errors)
    assert [e.at for e in result.entries] == [at], (line, result.entries, result.notices)
    entry = result.entries[0]
    assert entry.text == entry.text.strip() and entry.text
    assert not entry.text.startswith(("-", "|", ":", "–")) or lead


_FRAGMENTS = st.sampled_from([
    "14:32", "8:00AM", "8:00 am", "6pm", "11pm-ish", "12:14am", "25:00", "14:61", "9:15", "noon",
    "At ", "Update ", "~", "2017/01/31", "Jan 31", "21st Oct", "2015-10-21", "01/02/2024", " UTC", " PST",
    " PT", " (CET)", " -07:00", "Z", "- ", "* ", "1. ", "**", "`", "[", "]", "(", ")", " | ", "|", "---",
    " ::::: ", " - ", ": ", ", ", "&amp;", "&lt;b&gt;", "<br>", "\\|", "/decision ", "/bogus ", "All times in UTC.",
    "## Timeline (PST)", "(all times are in UTC):", "_(all times UTC)_", "| Time (UTC) | Event |", "|---|---|",
    "--:--", "text", "We noticed", "    ", "\t", "\u202e", "\x1b[31m",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_FRAGMENTS, max_size=6).map("".join), max_size=12).map("\n".join))
def test_fuzz_real_world_fragments_never_crash_and_account_for_lines(text):
    result = parse_notes(text, now=NOW)
    lines = text.splitlines()
    taken = [e.line_no for e in result.entries] + [e.line_no for e in result.errors]
    assert len(taken) == len(set(taken))  # one outcome per line at most
    skipped = {s.line_no for s in result.skipped}
    assert not skipped & set(taken)
    assert all(1 <= n <= len(lines) for n in taken + sorted(skipped))
    for entry in result.entries:
        assert entry.text and entry.text == entry.text.strip()
        assert entry.at.utcoffset() == timedelta(0) and entry.at <= NOW + timedelta(minutes=1)
        assert "\x1b" not in entry.text and "\u202e" not in entry.text
