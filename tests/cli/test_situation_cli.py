"""``warroom brief | hypothesis | run`` and ``warroom comms send | outbox | retry`` from a
plain shell: in-process where possible, real subprocesses for answering, streaming and ctrl+c."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from warroom.domain import commands
from warroom.domain.records import RunOutcome, Verdict
from warroom.store import paths
from warroom.store.workspace import Workspace

try:
    from serverproc import free_port, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_data" / "incidents"
RECEIVER = REPO / "tests" / "webhook_receiver.py"
PAYMENTS, LOGIN = "f4dca4f2", "b797528b"
STEPS = [
    {"id": "check/recent-deploys", "text": "Check recent deploys", "section": "Check", "code": ["printf 'rev 41 v2.14.2\\nrev 42 v2.14.3\\n'"]},
    {"id": "check/watch", "text": "Watch the error rate", "section": "Check", "code": ["echo watching; sleep 60; echo never"]},
]


@pytest.fixture
def env(monkeypatch, tmp_path) -> dict[str, str]:
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data / "incidents")
    values = {paths.DATA_DIR_ENV: str(data), paths.CONFIG_DIR_ENV: str(tmp_path / "config"), paths.USER_ENV: "bob"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("WARROOM_SERVER", "WARROOM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return values


def workspace(env) -> Workspace:
    ws = Workspace(Path(env[paths.DATA_DIR_ENV]), "alice")
    ws.load()
    return ws


def attach_checks(env) -> None:
    ws = workspace(env)
    ws.record([commands.attach_runbook(ws.factory, ws.get(LOGIN), runbook_id="auth-checks", title="Auth checks", steps=STEPS, source="auth-checks.md")])


def warroom(env, *argv: str, **kwargs) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    full_env.update(env, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "warroom", *argv], env=full_env, cwd=REPO, text=True, **kwargs)


def test_brief_prints_the_same_text_as_the_desk(run, env):
    code, out, err = run("brief", PAYMENTS)
    assert code == 0 and err == ""
    assert out.startswith("SEV1 Critical · Checkout payments failing for all customers\n")
    assert "Roles: IC grace · Tech Lead bob · Comms carol · Scribe dave" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    code, _, err = run("brief", "nope1234")
    assert code == 1 and "no incident" in err


def test_hypothesis_verdicts_from_the_shell(run, env):
    hypothesis = next(e for e in workspace(env).get(LOGIN).timeline if e.kind.value == "hypothesis")
    code, _, err = run("hypothesis", LOGIN, hypothesis.id[-8:], "ruled-out", "--why", "nodes healthy")
    assert code == 0, err
    judged = workspace(env).get(LOGIN).verdicts[hypothesis.id]
    assert (judged.verdict, judged.actor, judged.reason) == (Verdict.RULED_OUT, "bob", "nodes healthy")
    assert "✗ Bad nodes joined the auth-gateway pool" in run("brief", LOGIN)[1]
    code, _, err = run("hypothesis", LOGIN, hypothesis.id[-8:], "maybe")
    assert code == 1 and "unknown verdict" in err
    note = next(e for e in workspace(env).get(LOGIN).timeline if e.kind.value == "note")
    code, _, err = run("hypothesis", LOGIN, note.id[-8:], "confirmed")
    assert code == 1 and "only /hypothesis entries" in err


def test_run_shows_the_command_and_runs_it_only_after_yes(env):
    attach_checks(env)
    declined = warroom(env, "run", LOGIN, "1", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = declined.communicate("n\n", timeout=30)
    assert declined.returncode == 1 and "not run" in err and out == ""
    assert "printf 'rev 41 v2.14.2\\nrev 42 v2.14.3\\n'" in err  # the exact text, before asking
    assert "Auth checks (auth-checks.md), attached by alice" in err
    assert workspace(env).get(LOGIN).command_runs == {}

    accepted = warroom(env, "run", LOGIN, "recent deploys", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = accepted.communicate("y\n", timeout=30)
    assert accepted.returncode == 0, err
    assert out == "rev 41 v2.14.2\nrev 42 v2.14.3\n"
    (ran,) = workspace(env).get(LOGIN).command_runs.values()
    assert (ran.outcome, ran.exit_code, ran.output, ran.actor) == (RunOutcome.EXITED, 0, out, "bob")
    assert f"logged as action {ran.id[-8:]}" in err


def test_ctrl_c_cancels_the_command_and_still_logs_what_it_printed(env, tmp_path):
    attach_checks(env)
    output = tmp_path / "out.txt"
    with output.open("w") as sink:
        proc = warroom(env, "run", LOGIN, "Watch the error rate", stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.PIPE)
        proc.stdin.write("y\n")
        proc.stdin.flush()
        wait_until(lambda: "watching" in output.read_text(), 30, "the command to start")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "cancelling" in err, err
    (ran,) = workspace(env).get(LOGIN).command_runs.values()
    assert ran.outcome is RunOutcome.CANCELLED and ran.output.startswith("watching\n") and "never" not in ran.output


def test_no_exec_in_the_config_refuses_before_asking(run, env):
    attach_checks(env)
    config_dir = Path(env[paths.CONFIG_DIR_ENV])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text("no_exec = true\n")
    code, out, err = run("run", LOGIN, "1")
    assert code == 1 and "turned off" in err and "Run it?" not in err


def test_comms_send_delivers_prints_each_attempt_and_retry_sends_a_failed_one_again(run, env, tmp_path):
    port = free_port()
    log = tmp_path / "received.jsonl"
    config_dir = Path(env[paths.CONFIG_DIR_ENV])
    config_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/hook"
    (config_dir / "config.toml").write_text(f'[channels.internal]\ntype = "webhook"\nurl = "{url}"\nmax_attempts = 1\n')
    code, _, err = run("comms", "send", PAYMENTS, "status-update")
    assert code == 1 and "FAILED to internal via webhook after 1 attempt: cannot reach the receiver" in err
    assert "the text is kept in the outbox" in err
    code, out, _ = run("comms", "outbox", "--json")
    (failed,) = json.loads(out)
    assert failed["state"] == "failed" and "INCIDENT UPDATE" in failed["text"]

    receiver = subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(port), "--log", str(log)])
    try:
        wait_until(lambda: _listening(port), 20, "the receiver")
        code, _, err = run("comms", "retry", failed["id"][-8:])
        assert code == 0, err
        assert "delivered to internal via webhook (attempt 2)" in err
    finally:
        receiver.terminate()
        receiver.wait(10)
    (request,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert json.loads(request["body"])["delivery_id"] == failed["id"]
    assert workspace(env).get(PAYMENTS).sent_updates[-1].id == failed["id"]
    code, _, err = run("comms", "send", PAYMENTS, "exec-summary")
    assert code == 0 and "recorded as sent to exec" in err


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
