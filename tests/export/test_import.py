"""Timeline import: notes and Markdown tables become backdated entries; unreadable
lines are reported with their numbers and nothing is imported until they are fixed or skipped.
Also ``warroom import`` / ``warroom export`` / ``warroom report`` as commands: in-process
through ``warroom.cli.export`` and as subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.models import EntryKind, Severity
from warroom.cli.export import export_main, import_main, report_main
from warroom.export.importer import NotesError, build_events, parse_notes, split_row, unescape_cell
from warroom.export.jsonio import export_json
from warroom.export.markdown import escape_cell, to_markdown
from warroom.store import paths
from warroom.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 3, 30)
NOW = datetime(2026, 3, 30, 18, 0, tzinfo=timezone.utc)
PAYMENTS = "f4dca4f2"


def utc(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=timezone.utc)


def parse(text: str, **kw):
    kw.setdefault("default_date", DAY)
    kw.setdefault("now", NOW)
    return parse_notes(text, **kw)


def entries(text: str, **kw) -> list[tuple]:
    result = parse(text, **kw)
    assert result.errors == []
    return [(e.at, e.kind, e.text, e.line_no) for e in result.entries]


# --- good inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, at, text",
    [
        ("14:32 - Alert fired", utc(14, 32), "Alert fired"),
        ("14:32 Alert fired", utc(14, 32), "Alert fired"),
        ("14:32: Alert fired", utc(14, 32), "Alert fired"),
        ("14:32 – Alert fired", utc(14, 32), "Alert fired"),
        ("9:05 | Alert fired", utc(9, 5), "Alert fired"),
        ("14:32:07 Alert fired", utc(14, 32, 7), "Alert fired"),
        ("14:32 UTC Alert fired", utc(14, 32), "Alert fired"),
        ("2026-03-30 14:32 UTC Alert fired", utc(14, 32), "Alert fired"),
        ("2026-03-30 14:32 Alert fired", utc(14, 32), "Alert fired"),
        ("2026-03-29 14:32:10 UTC - Alert fired", utc(14, 32, 10, date(2026, 3, 29)), "Alert fired"),
        ("2026-03-30T14:32:00Z Alert fired", utc(14, 32), "Alert fired"),
        ("2026-03-30T14:32:00.250Z Alert fired", utc(14, 32).replace(microsecond=250_000), "Alert fired"),
        ("2026-03-30T16:32:00+02:00 Alert fired", utc(14, 32), "Alert fired"),
        ("  14:32 -   Alert fired on payments-api  ", utc(14, 32), "Alert fired on payments-api"),
        ("14:32 500 errors at 14:31", utc(14, 32), "500 errors at 14:31"),
        ("14:32 Zookeeper lost quorum", utc(14, 32), "Zookeeper lost quorum"),
    ],
)
def test_each_line_format(line, at, text):
    assert entries(line) == [(at, EntryKind.NOTE, text, 1)]


@pytest.mark.parametrize(
    "line, kind, text",
    [
        ("14:40 /decision roll back", EntryKind.DECISION, "roll back"),
        ("/decision 14:40 roll back", EntryKind.DECISION, "roll back"),
        ("14:40 - /hyp bad deploy", EntryKind.HYPOTHESIS, "bad deploy"),
        ("/todo 2026-03-30 14:40 UTC contract test", EntryKind.TODO, "contract test"),
        ("2026-03-30T14:40:00Z /a rollout undo", EntryKind.ACTION, "rollout undo"),
        ("14:40 /note plain", EntryKind.NOTE, "plain"),
    ],
)
def test_kind_prefixes_like_the_scribe(line, kind, text):
    assert entries(line) == [(utc(14, 40), kind, text, 1)]


def test_blank_lines_and_headings_are_skipped_and_line_numbers_kept():
    text = "# Bridge notes\n\n## Monday\n14:32 - Alert fired\n\n   \n---\n14:35 Declared\n* * *\n"
    assert entries(text) == [
        (utc(14, 32), EntryKind.NOTE, "Alert fired", 4),
        (utc(14, 35), EntryKind.NOTE, "Declared", 8),
    ]


def test_a_date_carries_over_to_later_bare_times_and_midnight_rolls_over():
    text = "2026-03-28 23:50 UTC Alert fired\n23:58 paged\n00:04 acked\n00:01 out of order by minutes\n"
    assert [e[0] for e in entries(text)] == [
        utc(23, 50, day=date(2026, 3, 28)),
        utc(23, 58, day=date(2026, 3, 28)),
        utc(0, 4, day=date(2026, 3, 29)),
        utc(0, 1, day=date(2026, 3, 29)),
    ]


def test_times_without_offset_may_be_read_in_a_zone():
    from zoneinfo import ZoneInfo

    result = entries("14:32 local time\n2026-03-30 10:00 also local\n12:00 UTC explicit\n", tz=ZoneInfo("Europe/Paris"))
    assert [e[0] for e in result] == [utc(12, 32), utc(8, 0), utc(12, 0)]


def test_markdown_table_with_time_and_event_columns():
    text = "\n".join(
        [
            "Notes from the bridge",  # prose: not an entry, and not an error either
            "",
            "| TIME (UTC) | Local | Who | Kind | What happened |",
            "|:-----------|-------|-----|:----:|---------------|",
            "| 14:32 | 16:32 | dave | | Alert fired |",
            "| 14:40:05 | | bob | decision | Roll back a \\| b<br>then wait |",
            "| 2026-03-30 14:41 UTC | |  | hyp | Bad deploy |",
            "| 14:42 | | | | /todo contract test |",
            "",
            "14:50 - after the table",
        ]
    )
    result = parse(text)
    assert result.errors == []
    assert [(s.line_no, s.why) for s in result.skipped][0] == (1, "prose (no time)")
    assert [(e.at, e.kind, e.text, e.line_no) for e in result.entries] == [
        (utc(14, 32), EntryKind.NOTE, "dave: Alert fired", 5),
        (utc(14, 40, 5), EntryKind.DECISION, "bob: Roll back a | b\nthen wait", 6),
        (utc(14, 41), EntryKind.HYPOTHESIS, "Bad deploy", 7),
        (utc(14, 42), EntryKind.TODO, "contract test", 8),
        (utc(14, 50), EntryKind.NOTE, "after the table", 10),
    ]


def test_markdown_table_without_outer_pipes():
    text = "time | event\n--- | ---\n14:32 | Alert fired\n14:33 | Paged\n"
    assert entries(text) == [
        (utc(14, 32), EntryKind.NOTE, "Alert fired", 3),
        (utc(14, 33), EntryKind.NOTE, "Paged", 4),
    ]


def test_split_row_and_unescape_follow_gfm():
    # Plain cells undo every escape; Markdown cells only what the table needed (\\| and <br>).
    assert split_row("| a | b \\| c | d\\\\ |") == ["a", "b \\| c", "d\\\\"]
    assert unescape_cell("b \\| c<br>d\\\\ \\*x\\*") == "b | c\nd\\ *x*"


def test_warroom_markdown_export_reads_back(sample_dir, clock):
    """The timeline table of our own export is importable: every human entry comes back."""
    ws = Workspace(sample_dir, "alice", clock)
    ws.load()
    incident = ws.get(PAYMENTS)
    markdown = to_markdown(incident, clock.now())
    table = "## Timeline\n" + markdown.split("## Timeline\n", 1)[1].split("\n## ", 1)[0]
    result = parse(table, default_date=date(2026, 11, 18), now=clock.now())
    human = [e for e in incident.timeline if not e.kind.is_automatic and not e.redacted]
    back = [(e.at, e.kind, e.text) for e in result.entries]
    # Read back as Markdown: the escaped text renders as the original did (and exports again
    # as the same bytes: see test_markdown_entries_export_as_markdown).
    expected = [(e.at, e.kind, f"{escape_cell(e.actor)}: {escape_cell(e.text)}") for e in human]
    assert back == expected and result.errors == []
    # the automatic rows and the redacted one are listed as not entries, by line number
    automatic = [e for e in incident.timeline if e.kind.is_automatic or e.redacted]
    rows = [s for s in result.skipped if "automatic" in s.why or "redacted" in s.why]
    assert len(rows) == len(automatic)


# --- bad inputs ------------------------------------------------------------------------------------


BAD_NOTES = """# Bridge notes
14:32 - Alert fired
Alert without a time
14:61 - not a time
/bogus 14:40 unknown kind
14:45 -
25:00 too late in the day
2026-02-30 14:00 UTC no such date
14:50 /decision Roll back
"""


def test_bad_lines_are_reported_with_line_numbers():
    result = parse(BAD_NOTES)
    assert [e.line_no for e in result.errors] == [4, 5, 6, 7, 8]
    assert [(s.line_no, s.why) for s in result.skipped] == [(1, "heading"), (3, "prose (no time)")]
    reasons = {e.line_no: e.reason for e in result.errors}
    assert reasons[4].startswith("cannot read the time '14:61'")
    assert reasons[7].startswith("cannot read the time '25:00'")
    assert "unknown entry kind /bogus" in reasons[5]
    assert reasons[6] == "no entry text after the time"
    assert "2026-02-30 is not a valid date" in reasons[8]
    assert result.errors[0].line == "14:61 - not a time"
    assert [(e.line_no, e.text) for e in result.entries] == [(2, "Alert fired"), (9, "Roll back")]


def test_future_times_and_overlong_text_are_errors():
    result = parse("19:30 - after now\n14:00 " + "x" * 5000 + "\n", now=NOW)
    assert [e.line_no for e in result.errors] == [1, 2]
    assert "in the future" in result.errors[0].reason
    assert "4000" in result.errors[1].reason


def test_table_problems_are_errors_per_row():
    text = "| A | B |\n|---|---|\n| 1 | 2 |\n\n| Time | Event | Sev |\n|---|---|---|\n| 14:32 | ok | |\n| nope | x | |\n| 14:33 | a | b | extra |\n| 14:34 | status |\n"
    result = parse(text)
    assert [(s.line_no, s.why) for s in result.skipped] == [
        (1, "a table with no time or date column: not a timeline"),
        (3, "a row of a table with no time or date column"),
        (5, "table header: time from 'Time', text from 'Event'"),
    ]
    assert [(e.line_no, e.reason.split(":")[0]) for e in result.errors] == [
        (8, "cannot read the time 'nope'"),
        (9, "4 cells where the header has 3"),  # the text column is not last: cannot tell whose
    ]
    assert [e.text for e in result.entries] == ["ok", "status"]  # a short row is padded, as GFM does


def test_out_of_range_times_are_errors_not_crashes():
    result = parse("0001-01-01T00:30:00+01:00 too early\n14:00 fine\n")
    assert [(e.line_no, e.reason) for e in result.errors] == [(1, "the time is out of range")]
    assert [e.text for e in result.entries] == ["fine"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"0123456789:-TZ+ /|#*_<>\\UTCabdht.", "\n", "\r"]), max_size=60))
def test_parse_notes_never_raises(text):
    result = parse(text)
    numbers = [e.line_no for e in result.entries] + [e.line_no for e in result.errors]
    assert len(numbers) == len(set(numbers))  # one outcome per line at most
    assert all(1 <= n <= len(text.splitlines()) for n in numbers)
    for entry in result.entries:
        assert entry.text and entry.text == entry.text.strip()
        assert entry.at.utcoffset() == timedelta(0)


# --- building events: nothing while there are errors -------------------------------------------


@pytest.fixture
def incident_ws(tmp_path):
    clock = FixedClock(NOW)
    ws = Workspace(tmp_path / "data", "scribe", clock)
    ws.load()
    declared = commands.declare(ws.factory, title="Checkout failing", severity=Severity.SEV2, at=utc(14, 35))
    ws.record(declared)
    return ws, declared[0].incident_id


def test_nothing_is_built_while_lines_are_bad(incident_ws):
    ws, incident_id = incident_ws
    result = parse(BAD_NOTES)
    with pytest.raises(NotesError) as caught:
        build_events(ws.factory, ws.get(incident_id), result)
    assert [e.line_no for e in caught.value.errors] == [4, 5, 6, 7, 8]


def test_skip_bad_imports_the_good_lines_as_backdated_entries(incident_ws):
    ws, incident_id = incident_ws
    events, duplicates = build_events(ws.factory, ws.get(incident_id), parse(BAD_NOTES), skip_bad=True)
    assert duplicates == 0
    ws.record(events)
    incident = ws.get(incident_id)
    logged = [(e.at, e.kind, e.text, e.actor) for e in incident.timeline if not e.kind.is_automatic]
    assert logged == [
        (utc(14, 32), EntryKind.NOTE, "Alert fired", "scribe"),
        (utc(14, 50), EntryKind.DECISION, "Roll back", "scribe"),
    ]
    assert all(e.logged_at == NOW and e.backdated for e in incident.timeline if not e.kind.is_automatic)
    # importing the same notes again adds nothing
    again, duplicates = build_events(ws.factory, incident, parse(BAD_NOTES), skip_bad=True)
    assert (again, duplicates) == ([], 2)


# --- the commands, in process ----------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(paths.USER_ENV, "scribe")
    return tmp_path


def _declare(data_dir: Path) -> str:
    ws = Workspace(data_dir, "alice")
    ws.load()
    declared = commands.declare(ws.factory, title="Checkout failing", severity=Severity.SEV2, at=utc(14, 0, day=date(2024, 1, 15)))
    ws.record(declared)
    return declared[0].incident_id


def _journal_bytes(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths.incidents_dir(data_dir).glob("*.jsonl")}


def test_import_main_refuses_bad_notes_and_imports_nothing(cli_env, capsys):
    data_dir = cli_env / "data"
    incident_id = _declare(data_dir)
    notes = cli_env / "notes.txt"
    notes.write_text("14:32 - Alert fired\n14:3 typo\n14:40 ok\n14:99 another\nprose is fine\n")
    before = _journal_bytes(data_dir)
    code = import_main([str(notes), "--incident", incident_id[-8:], "--date", "2024-01-15"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "line 2: cannot read the time '14:3'" in err
    assert "line 4: cannot read the time '14:99'" in err
    assert "warroom: 2 line(s) cannot be read, so nothing was imported" in err
    assert _journal_bytes(data_dir) == before

    code = import_main([str(notes), "--incident", incident_id[-8:], "--date", "2024-01-15", "--skip-bad"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == f"imported 2 entries into {incident_id[-8:]}\n"
    assert "skipped line 2" in err
    ws = Workspace(data_dir, "x")
    ws.load()
    texts = [(e.at, e.text, e.actor) for e in ws.get(incident_id).timeline if e.kind is EntryKind.NOTE]
    assert texts == [(utc(14, 32, day=date(2024, 1, 15)), "Alert fired", "scribe"), (utc(14, 40, day=date(2024, 1, 15)), "ok", "scribe")]


def test_import_main_usage_and_refusals(cli_env, capsys):
    data_dir = cli_env / "data"
    incident_id = _declare(data_dir)
    notes = cli_env / "notes.txt"
    notes.write_text("14:32 - Alert fired\n")
    with pytest.raises(SystemExit) as exit_info:
        import_main([str(notes)])  # neither --incident nor --json
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        import_main([str(notes), "--incident", incident_id, "--date", "30/03/2026"])
    assert exit_info.value.code == 2
    capsys.readouterr()
    assert import_main([str(cli_env / "missing.txt"), "--incident", incident_id]) == 1
    assert "warroom: cannot read" in capsys.readouterr().err
    assert import_main([str(notes), "--incident", "ffffffff", "--date", "2024-01-15"]) == 1
    assert "warroom: no incident 'ffffffff'" in capsys.readouterr().err
    empty = cli_env / "empty.txt"
    empty.write_text("# only a heading\n")
    assert import_main([str(empty), "--incident", incident_id, "--date", "2024-01-15"]) == 1
    assert "no timeline entries found" in capsys.readouterr().err
    assert import_main([str(notes), "--incident", incident_id, "--tz", "Mars/Olympus"]) == 1
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_export_then_import_json_into_an_empty_data_dir(cli_env, sample_dir, capsys):
    out_file = cli_env / "payments.json"
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS, "--format", "json", "--output", str(out_file)]) == 0
    err = capsys.readouterr().err
    assert "still holds the original text of 1 redacted entry" in err
    empty = cli_env / "elsewhere"
    # The sample incidents were written before signatures: nobody can vouch for their
    # authors, so importing them takes an explicit choice.
    assert import_main(["--data-dir", str(empty), str(out_file), "--json"]) == 1
    assert "claims to be by" in capsys.readouterr().err
    assert not list((empty / "incidents").glob("*.jsonl")) if (empty / "incidents").exists() else True
    assert import_main(["--data-dir", str(empty), str(out_file), "--json", "--trust-unsigned"]) == 0
    out, err = capsys.readouterr()
    incident_id = out.strip()
    assert incident_id.endswith(PAYMENTS)
    exported_count = len(json.loads(out_file.read_text())['events'])
    assert f"imported {exported_count} new event(s); 0 were already here" in err
    assert export_main(["--data-dir", str(empty), PAYMENTS, "--format", "json"]) == 0
    assert capsys.readouterr().out == out_file.read_text()
    assert import_main(["--data-dir", str(empty), str(out_file), "--json"]) == 0  # idempotent
    assert f"imported 0 new event(s); {exported_count} were already here" in capsys.readouterr().err
    assert import_main(["--data-dir", str(empty), str(out_file), "--json", "--incident", "ffffffff"]) == 1
    assert "the export holds incident" in capsys.readouterr().err
    broken = cli_env / "broken.json"
    broken.write_text(out_file.read_text().replace('"version": 1', '"version": 9'))
    assert import_main(["--data-dir", str(empty), str(broken), "--json"]) == 1
    assert "version 9" in capsys.readouterr().err


def test_export_main_markdown_options(sample_dir, capsys, tmp_path):
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Postmortem: Checkout payments failing for all customers\n")
    assert "_[redacted]_" in out
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS, "--redacted", "omit", "--local-tz", "Asia/Tokyo"]) == 0
    out = capsys.readouterr().out
    assert "_[redacted]_" not in out and "| Time (Asia/Tokyo) |" in out
    target = tmp_path / "out" / "pm.md"
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS, "-o", str(target)]) == 0
    assert target.read_text().startswith("# Postmortem:")
    assert capsys.readouterr().err == f"warroom: wrote {target}\n"
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS, "--local-tz", "Nowhere/Special"]) == 1
    assert "unknown time zone" in capsys.readouterr().err
    assert export_main(["--data-dir", str(sample_dir), PAYMENTS, "--format", "json", "--local-tz", "UTC"]) == 1
    assert "Markdown export only" in capsys.readouterr().err
    assert export_main(["--data-dir", str(sample_dir), "nope"]) == 1
    with pytest.raises(SystemExit) as exit_info:
        export_main(["--data-dir", str(sample_dir), PAYMENTS, "--format", "pdf"])
    assert exit_info.value.code == 2


# --- the commands as real subprocesses ---------------------------------------------------------


def _run(env: dict[str, str], *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "warroom", *argv], env=full_env, cwd=REPO, capture_output=True, text=True,
        timeout=60, input=stdin,
    )


@pytest.fixture
def sub_env(tmp_path, sample_dir) -> dict[str, str]:
    return {
        paths.DATA_DIR_ENV: str(sample_dir),
        paths.CONFIG_DIR_ENV: str(tmp_path / "config"),
        paths.USER_ENV: "scribe",
    }


def test_subprocess_exit_codes(sub_env, sample_dir, tmp_path):
    ok = _run(sub_env, "export", PAYMENTS, "--format", "markdown")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("# Postmortem: Checkout payments failing")
    # global options before the command are passed through
    ok = _run({k: v for k, v in sub_env.items() if k != paths.DATA_DIR_ENV}, "--data-dir", str(sample_dir), "export", PAYMENTS, "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["format"] == "warroom-incident"
    missing = _run(sub_env, "export", "ffffffff")
    assert missing.returncode == 1 and missing.stderr.startswith("warroom: no incident")
    usage = _run(sub_env, "export", PAYMENTS, "--format", "pdf")
    assert usage.returncode == 2

    before = _journal_bytes(sample_dir)
    notes = tmp_path / "notes.txt"
    notes.write_text("14:40 - fine\n14:4O broken line\n")
    bad = _run(sub_env, "import", str(notes), "--incident", PAYMENTS, "--date", "2026-11-18")
    assert bad.returncode == 1
    assert "line 2: cannot read the time '14:4O'" in bad.stderr
    assert _journal_bytes(sample_dir) == before
    good = _run(sub_env, "import", str(notes), "--incident", PAYMENTS, "--date", "2026-11-18", "--skip-bad")
    assert good.returncode == 0, good.stderr
    assert good.stdout == f"imported 1 entry into {PAYMENTS}\n"
    assert _run(sub_env, "import", str(notes)).returncode == 2

    report = _run(sub_env, "report", "--json", "--until", "2026-11-17")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["total"] == 1
    assert _run(sub_env, "report", "--since", "yesterday").returncode == 2
    assert _run(sub_env, "report", "--since", "2026-11-18", "--until", "2026-11-17").returncode == 1


def test_subprocess_json_round_trip(sub_env, tmp_path):
    exported = _run(sub_env, "export", PAYMENTS, "--format", "json", "--output", str(tmp_path / "p.json"))
    assert exported.returncode == 0, exported.stderr
    other = dict(sub_env, **{paths.DATA_DIR_ENV: str(tmp_path / "empty")})
    imported = _run(other, "import", str(tmp_path / "p.json"), "--json", "--trust-unsigned")  # sample data: unsigned
    assert imported.returncode == 0, imported.stderr
    again = _run(other, "export", PAYMENTS, "--format", "json")
    assert again.stdout == (tmp_path / "p.json").read_text()
