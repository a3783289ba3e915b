"""The scriptable CLI: mostly in-process through ``warroom.cli.main``, a few real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom import cli
from warroom.store import paths

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch, tmp_path) -> dict[str, str]:
    values = {
        paths.DATA_DIR_ENV: str(tmp_path / "data"),
        paths.CONFIG_DIR_ENV: str(tmp_path / "config"),
        paths.USER_ENV: "alice",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("WARROOM_SERVER", "WARROOM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return values


def subprocess_run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "warroom", *argv],
        env=full_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )


def journal_files(data_dir: str | Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths.incidents_dir(Path(data_dir)).glob("*.jsonl")}


def hhmm_ago(minutes: int) -> tuple[str, datetime]:
    when = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    return when.strftime("%H:%M"), when.replace(second=0, microsecond=0)


def declare(run, title: str = "Checkout payments failing", sev: str = "2") -> str:
    code, out, err = run("declare", "--title", title, "--sev", sev)
    assert code == 0, err
    return out.strip()


def show_json(run, ref: str) -> dict:
    code, out, err = run("show", ref, "--json")
    assert code == 0, err
    return json.loads(out)


# --- in process -----------------------------------------------------------------------------


def test_declare_log_set_assign_amend_redact_show(run, env):
    incident_id = declare(run)
    short = incident_id[-8:]

    code, out, err = run("log", short, "Error", "rate", "38%")
    assert code == 0, err
    first_entry = out.strip()
    assert len(first_entry) == 8

    at_text, at_time = hhmm_ago(10)
    code, out, err = run("log", short, "Roll back payments-api", "--at", at_text, "--kind", "decision")
    assert code == 0, err
    decision = out.strip()

    assert run("set", short, "--sev", "sev1", "--status", "ident")[0] == 0
    assert run("assign", short, "tech", "bob")[0] == 0
    assert run("assign", short, "ic", "grace", "--as", "alice")[0] == 0
    assert run("amend", short, first_entry, "Error rate 38% and climbing", "--as", "dave")[0] == 0
    code, out, err = run("log", short, "customer jane@example.com charged twice")
    secret = out.strip()
    assert run("redact", short, secret, "--reason", "customer email")[0] == 0

    state = show_json(run, incident_id)
    assert state["id"] == incident_id
    assert state["severity"] == "SEV1" and state["status"] == "identified"
    assert state["roles"] == {"Incident Commander": "grace", "Tech Lead": "bob"}
    assert state["declared_by"] == "alice"
    timeline = state["timeline"]
    times = [entry["at"] for entry in timeline]
    assert times == sorted(times, key=datetime.fromisoformat)  # oldest first
    by_tail = {entry["id"][-8:]: entry for entry in timeline}

    backdated = by_tail[decision]
    assert backdated["kind"] == "decision"
    assert datetime.fromisoformat(backdated["at"]) == at_time
    assert timeline[0]["id"] == backdated["id"]  # before the declaration: sorted by its time
    assert by_tail[first_entry]["text"] == "Error rate 38% and climbing"
    amended = by_tail[first_entry]
    history = amended.get("revisions") or amended.get("history")  # field name: see models.py
    assert [r["actor"] for r in history] == ["alice", "dave"]
    assert [r["text"] for r in history] == ["Error rate 38%", "Error rate 38% and climbing"]
    assert by_tail[secret]["redacted"] and by_tail[secret]["text"] == ""
    automatic = [entry["text"] for entry in timeline if entry["kind"] in ("severity", "status", "update", "role")]
    assert any("SEV2" in t and "SEV1" in t for t in automatic)
    assert any("alice" in t and "grace" in t for t in automatic)

    code, out, err = run("show", short)
    assert code == 0, err
    assert out.startswith("SEV1 Checkout payments failing")
    assert f"id:       {incident_id}" in out
    body = out.split("\n\n", 1)[1].strip().splitlines()
    assert len(body) == len(timeline)
    assert [line.split()[2] for line in body] == [entry["id"][-8:] for entry in timeline]
    assert decision in body[0] and "decision" in body[0]
    assert "Error rate 38% and climbing (amended)" in out
    assert "[redacted: customer email]" in out
    assert "jane@example.com" not in "\n".join(line for line in body if secret in line)


def test_list_json_and_text(run):
    assert run("list") == (0, "no incidents (declare one with: warroom declare --title TEXT --sev N)\n", "")
    low = declare(run, "Search slow", "4")
    high = declare(run, "Payments down", "SEV-1")
    done = declare(run, "Old thing", "1")
    assert run("set", done[-8:], "--status", "resolved")[0] == 0

    code, out, err = run("list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [high, low, done]
    assert rows[0]["short_id"] == high[-8:]
    assert rows[0]["severity"] == "SEV1" and rows[0]["commander"] == "alice"
    assert rows[2]["status"] == "resolved"

    code, out, _ = run("list")
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == [high[-8:], low[-8:], done[-8:]]
    assert "Payments down" in lines[0] and "(IC: alice)" in lines[0]


def test_refusals_exit_1_and_write_nothing(run, env):
    incident_id = declare(run)
    short = incident_id[-8:]
    assert run("set", short, "--status", "resolved")[0] == 0
    before = journal_files(env[paths.DATA_DIR_ENV])

    code, out, err = run("set", short, "--status", "monitoring")  # resolved → monitoring
    assert code == 1 and out == ""
    assert "cannot go from resolved to monitoring" in err

    code, _, err = run("log", short, "x", "--at", "yesterday-ish")
    assert code == 1 and "cannot read the time" in err

    code, _, err = run("log", short, "x", "--kind", "severity")
    assert code == 1 and "unknown kind" in err

    code, _, err = run("set", short, "--status", "resolved")
    assert code == 1 and "nothing to change" in err

    code, _, err = run("set", short)
    assert code == 1 and "nothing to set" in err

    code, _, err = run("set", short, "--sev", "7")
    assert code == 1 and "unknown severity" in err

    code, _, err = run("assign", short, "ic", "   ")
    assert code == 1 and "commander" in err

    code, _, err = run("amend", short, "ffffffff", "new text")
    assert code == 1 and "no entry" in err

    code, _, err = run("log", "0123abcd", "hello")
    assert code == 1 and "0123abcd" in err

    assert journal_files(env[paths.DATA_DIR_ENV]) == before
    assert "Traceback" not in err


def test_as_and_data_dir_options(run, env, tmp_path):
    other = tmp_path / "elsewhere"
    code, out, err = run("--data-dir", str(other), "--as", "bob", "declare", "--title", "Other dir", "--sev", "3")
    assert code == 0, err
    incident_id = out.strip()
    assert list(journal_files(other)) == [f"{incident_id}.jsonl"]
    assert journal_files(env[paths.DATA_DIR_ENV]) == {}
    state = json.loads(run("show", incident_id, "--json", "--data-dir", str(other))[1])
    assert state["declared_by"] == "bob" and state["roles"]["Incident Commander"] == "bob"
    code, _, err = run("show", incident_id)  # the env data dir does not have it
    assert code == 1 and incident_id in err


def test_config_data_dir_and_user_are_used(run, env, tmp_path, monkeypatch):
    from warroom.store.config import Config, save_config

    configured = tmp_path / "configured"
    save_config(Config(user="carol", data_dir=configured))
    monkeypatch.delenv(paths.DATA_DIR_ENV)
    monkeypatch.delenv(paths.USER_ENV)
    incident_id = declare(run)
    assert list(journal_files(configured)) == [f"{incident_id}.jsonl"]
    assert show_json(run, incident_id)["declared_by"] == "carol"


def test_broken_config_is_refused_with_its_path(run, env):
    config_file = Path(env[paths.CONFIG_DIR_ENV]) / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text("user = \n")
    code, out, err = run("list")
    assert code == 1 and out == ""
    assert str(config_file) in err


def test_corrupt_journal_is_reported_and_the_incident_still_works(run, env):
    incident_id = declare(run)
    path = paths.incidents_dir(Path(env[paths.DATA_DIR_ENV])) / f"{incident_id}.jsonl"
    path.write_bytes(b"garbage\n" + path.read_bytes())
    code, out, err = run("list")
    assert code == 0
    assert incident_id[-8:] in out
    assert "error" in err and str(path) in err and "line 1" in err and "warroom repair" in err
    code, _, err = run("log", incident_id[-8:], "more")
    assert code == 0
    assert path.read_bytes().startswith(b"garbage\n")


# --- real subprocesses ----------------------------------------------------------------------


def test_subprocess_declare_and_exit_codes(env, tmp_path):
    result = subprocess_run(env, "declare", "--title", "Login errors for EU users", "--sev", "2")
    assert result.returncode == 0, result.stderr
    incident_id = result.stdout.strip()
    assert len(incident_id) == 36 and incident_id.count("-") == 4

    # --data-dir after the subcommand
    elsewhere = str(tmp_path / "other")
    after = subprocess_run(env, "show", incident_id[-8:], "--json", "--data-dir", env[paths.DATA_DIR_ENV])
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["title"] == "Login errors for EU users"
    # --data-dir before the subcommand (an empty dir: nothing there)
    before = subprocess_run(env, "--data-dir", elsewhere, "list", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == []

    unknown = subprocess_run(env, "show", "feedbeef")
    assert unknown.returncode == 1
    assert "feedbeef" in unknown.stderr and unknown.stdout == ""
    assert "Traceback" not in unknown.stderr

    usage = subprocess_run(env, "set")
    assert usage.returncode == 2
    assert "usage:" in usage.stderr


def test_subprocess_runbooks_lint(env):
    result = subprocess_run(env, "runbooks", "lint", "sample_data/runbooks")
    assert result.returncode == 0, result.stderr
    assert "Payments: high error rate" in result.stdout


def test_global_options_before_passthrough_command(run, env, tmp_path):
    # `warroom --data-dir D runbooks …`: the option's value must not be taken for a command
    code, out, err = run("--data-dir", str(tmp_path), "runbooks", "lint", str(REPO / "sample_data" / "runbooks"))
    assert code == 0, err
    assert "Search latency" in out


def test_usage_errors_exit_2(env):
    # (declare without --sev is a refusal, exit 1, since a --type may supply the severity:
    # see test_incident_types.)
    for argv in (["declare"], ["frobnicate"], ["log"], ["show", "x", "--bogus"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2, argv
    assert cli.main(["runbooks"]) == 2
