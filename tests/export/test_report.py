"""Metrics with a frozen clock and ``warroom report`` over several incidents with known times:
counts by SEV and status, MTTA and MTTR by SEV, the date range, text and JSON."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.metrics import incident_metrics
from warroom.domain.models import Milestone, Severity, Status
from warroom.cli.export import report_main
from warroom.export.report import bar, build_report, day_bounds, format_report, report_dict
from warroom.store.workspace import Workspace

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=timezone.utc)


def at(day: int, hour: int, minute: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def incidents(tmp_path):
    """Five incidents, each step made at its own (frozen) time:

    A SEV1 detected 03-02 10:00, acknowledged 10:02, declared 10:05, mitigated 10:20, resolved 11:00
    B SEV1 detected 03-10 08:00, acknowledged 08:04, declared 08:06, resolved 08:30
    C SEV2 declared 03-15 12:00, still investigating
    D SEV2 detected 03-20 08:50, acknowledged 08:55, declared 09:00, monitoring since 09:30
    E SEV3 declared 04-01 00:30, resolved 01:00
    """
    clock = FixedClock(at(1, 0, 0))
    ws = Workspace(tmp_path / "data", "alice", clock)
    ws.load()
    ids = {}

    def declare(name, when, severity, detected=None, acknowledged=None):
        clock.set(when)
        events = commands.declare(ws.factory, title=f"Incident {name}", severity=severity)
        ws.record(events)
        incident_id = events[0].incident_id
        ids[name] = incident_id
        if detected:
            ws.record([commands.log_entry(ws.factory, ws.get(incident_id), "Alert fired", at=detected)])
        if acknowledged:
            ws.record([commands.set_milestone(ws.factory, ws.get(incident_id), Milestone.ACKNOWLEDGED, acknowledged)])

    def status(name, when, value):
        clock.set(when)
        ws.record([commands.update(ws.factory, ws.get(ids[name]), status=value)])

    declare("A", at(2, 10, 5), Severity.SEV1, detected=at(2, 10, 0), acknowledged=at(2, 10, 2))
    status("A", at(2, 10, 20), Status.MONITORING)
    status("A", at(2, 11, 0), Status.RESOLVED)
    declare("B", at(10, 8, 6), Severity.SEV1, detected=at(10, 8, 0), acknowledged=at(10, 8, 4))
    status("B", at(10, 8, 30), Status.RESOLVED)
    declare("C", at(15, 12, 0), Severity.SEV2)
    declare("D", at(20, 9, 0), Severity.SEV2, detected=at(20, 8, 50), acknowledged=at(20, 8, 55))
    status("D", at(20, 9, 30), Status.MONITORING)
    declare("E", at(1, 0, 30, month=4), Severity.SEV3)
    status("E", at(1, 1, 0, month=4), Status.RESOLVED)
    clock.set(NOW)
    return ws, {name: ws.get(incident_id) for name, incident_id in ids.items()}


def test_incident_metrics_with_a_frozen_clock(incidents):
    _, by_name = incidents
    a = incident_metrics(by_name["A"], NOW)
    assert (a.time_to_acknowledge, a.time_to_declare, a.time_to_mitigate, a.time_to_resolve) == (120, 300, 1200, 3600)
    assert a.duration == a.time_to_resolve == 60 * 60  # detected 10:00 to resolved 11:00 (one definition)
    c = incident_metrics(by_name["C"], NOW)
    assert (c.time_to_acknowledge, c.time_to_declare, c.time_to_mitigate, c.time_to_resolve) == (None, 0, None, None)
    assert c.duration == (NOW - at(15, 12, 0)).total_seconds()  # still running: up to now
    d = incident_metrics(by_name["D"], NOW)
    assert (d.time_to_acknowledge, d.time_to_declare, d.time_to_mitigate, d.time_to_resolve) == (300, 600, 2400, None)
    assert d.duration == (NOW - at(20, 8, 50)).total_seconds()  # active: from detection (before declaring) to now


def test_report_counts_mtta_and_mttr_by_severity(incidents):
    _, by_name = incidents
    rep = build_report(list(by_name.values()), NOW)
    assert rep.total == 5
    assert {s.value: n for s, n in rep.by_status.items()} == {"investigating": 1, "identified": 0, "monitoring": 1, "resolved": 3}
    figures = {s.value: (f.count, f.active, f.mtta, f.mttr) for s, f in rep.by_severity.items()}
    assert figures == {
        "SEV1": (2, 0, 180.0, 2700.0),  # MTTA mean(2m, 4m); MTTR mean(60m, 30m)
        "SEV2": (2, 2, 300.0, None),
        "SEV3": (1, 0, None, 1800.0),
        "SEV4": (0, 0, None, None),
    }


def test_report_text_and_chart(incidents):
    _, by_name = incidents
    text = format_report(build_report(list(by_name.values()), NOW))
    assert text == (
        "Incidents declared at any time: 5\n"
        "\n"
        "Severity   Count  Active  MTTA        MTTR\n"
        "──────────────────────────────────────────\n"
        "SEV1           2       0  3m 00s      45m 00s\n"
        "SEV2           2       2  5m 00s      —\n"
        "SEV3           1       0  —           30m 00s\n"
        "SEV4           0       0  —           —\n"
        "\n"
        "Status          Count\n"
        "─────────────────────\n"
        "investigating       1\n"
        "identified          0\n"
        "monitoring          1\n"
        "resolved            3\n"
        "\n"
        "Incidents per severity\n"
        "SEV1 ██████████████████████████████ 2\n"
        "SEV2 ██████████████████████████████ 2\n"
        "SEV3 ███████████████ 1\n"
        "SEV4 0\n"
        "\n"
        "MTTA: mean time from detection to acknowledgement, over incidents with an acknowledged milestone.\n"
        "MTTR: mean time from detection to resolution, over resolved incidents.\n"
    )
    ascii_text = format_report(build_report(list(by_name.values()), NOW), ascii=True)
    assert "SEV3 ############### 1\n" in ascii_text
    assert all(ord(ch) < 128 or ch == "—" for ch in ascii_text)


def test_report_date_range_includes_both_days(incidents):
    _, by_name = incidents
    everything = list(by_name.values())
    rep = build_report(everything, NOW, since=date(2026, 3, 10), until=date(2026, 3, 15))
    assert rep.total == 2  # B (03-10 08:06) and C (03-15 12:00): both end days count
    sev1 = rep.by_severity[Severity.SEV1]
    assert (sev1.count, sev1.mtta, sev1.mttr) == (1, 240.0, 1800.0)
    assert build_report(everything, NOW, since=date(2026, 3, 10), until=date(2026, 3, 14)).total == 1
    assert build_report(everything, NOW, since=date(2026, 3, 21)).total == 1  # E only
    assert build_report(everything, NOW, until=date(2026, 3, 2)).total == 1  # A only
    assert format_report(rep).startswith("Incidents declared 2026-03-10 to 2026-03-15 (UTC): 2\n")
    assert report_dict(rep)["since"] == "2026-03-10" and report_dict(rep)["until"] == "2026-03-15"
    with pytest.raises(ValueError, match="after"):
        day_bounds(date(2026, 3, 2), date(2026, 3, 1))


def test_report_json(incidents):
    _, by_name = incidents
    data = report_dict(build_report(list(by_name.values()), NOW, since=date(2026, 3, 1)))
    assert data == {
        "since": "2026-03-01",
        "until": None,
        "total": 5,
        "by_status": {"investigating": 1, "identified": 0, "monitoring": 1, "resolved": 3},
        "by_severity": {
            "SEV1": {"count": 2, "active": 0, "mtta_seconds": 180.0, "mttr_seconds": 2700.0},
            "SEV2": {"count": 2, "active": 2, "mtta_seconds": 300.0, "mttr_seconds": None},
            "SEV3": {"count": 1, "active": 0, "mtta_seconds": None, "mttr_seconds": 1800.0},
            "SEV4": {"count": 0, "active": 0, "mtta_seconds": None, "mttr_seconds": None},
        },
    }
    json.dumps(data)


def test_bar_is_proportional_and_never_hides_an_incident():
    assert bar(0, 10) == ""
    assert bar(1, 1000, width=30) == "█"
    assert bar(5, 10, width=30) == "█" * 15
    assert bar(10, 10, width=30, ascii=True) == "#" * 30


def test_report_main_over_a_data_dir(incidents, capsys, monkeypatch, tmp_path):
    ws, _ = incidents
    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(tmp_path / "config"))
    assert report_main(["--data-dir", str(ws.data_dir), "--json", "--since", "2026-03-10", "--until", "2026-03-31"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 3
    assert data["by_severity"]["SEV1"] == {"count": 1, "active": 0, "mtta_seconds": 240.0, "mttr_seconds": 1800.0}
    assert data["by_severity"]["SEV2"] == {"count": 2, "active": 2, "mtta_seconds": 300.0, "mttr_seconds": None}
    assert report_main(["--data-dir", str(ws.data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Incidents declared at any time: 5\n")
    assert "SEV1           2       0  3m 00s      45m 00s" in out
    assert report_main(["--data-dir", str(ws.data_dir), "--since", "2026-03-20", "--until", "2026-03-10"]) == 1
    assert capsys.readouterr().err == "warroom: --since 2026-03-20 is after --until 2026-03-10\n"
    with pytest.raises(SystemExit) as exit_info:
        report_main(["--since", "March"])
    assert exit_info.value.code == 2


def test_report_over_no_incidents(tmp_path, capsys):
    assert report_main(["--data-dir", str(tmp_path / "nothing"), "--ascii"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Incidents declared at any time: 0\n")
    assert "SEV1 0\n" in out
