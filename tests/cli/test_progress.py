"""Progress bars for long command-line work: drawn on a terminal, silent when piped."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from warroom.progress import progress_bar
from warroom.store import paths

REPO = Path(__file__).resolve().parents[2]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_and_removed_after():
    stream = FakeTerminal()
    with progress_bar("Reading notes", stream=stream, minimum=10) as progress:
        for done in range(0, 101, 10):
            progress(done, 100)
    text = stream.getvalue()
    assert "Reading notes" in text and "100%" in text
    assert text.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")  # transient: cursor shown again, the line erased


def test_nothing_is_drawn_when_piped_or_when_the_step_is_small():
    piped = io.StringIO()
    with progress_bar("Reading notes", stream=piped, minimum=10) as progress:
        progress(50, 100)
    assert piped.getvalue() == ""
    small = FakeTerminal()
    with progress_bar("Reading notes", stream=small, minimum=1000) as progress:
        progress(50, 100)
    assert small.getvalue() == ""


def _big_incident(data_dir: Path, count: int) -> str:
    """One incident with ``count`` entries written straight to its journal (about 350 bytes
    each, so well past the size where reading it shows a bar)."""
    from datetime import datetime, timezone

    from warroom.domain import commands
    from warroom.domain.clock import FixedClock
    from warroom.domain.models import Severity
    from warroom.store.journal import Journal
    from warroom.store.workspace import Workspace

    clock = FixedClock(datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc))
    ws = Workspace(data_dir, "scribe", clock)
    ws.load()
    declared = commands.declare(ws.factory, title="Queue backlog", severity=Severity.SEV3)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    journal = Journal(paths.journal_file(paths.incidents_dir(data_dir), incident.id), incident.id)
    entries = []
    for n in range(count):
        clock.advance(seconds=1)
        entries.append(commands.log_entry(ws.factory, incident, f"checked shard {n % 97}: queue depth and consumer lag"))
    journal.append(entries)
    return incident.id


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({paths.DATA_DIR_ENV: str(tmp_path / "data"), paths.CONFIG_DIR_ENV: str(tmp_path / "config"), paths.USER_ENV: "scribe"})
    env["PYTHONPATH"] = str(REPO)
    return env


def test_export_of_a_big_incident_shows_a_bar_on_a_terminal_and_nothing_when_piped(tmp_path):
    env = _env(tmp_path)
    incident = _big_incident(tmp_path / "data", 15_000)
    out = tmp_path / "pm.md"
    command = [sys.executable, "-m", "warroom", "export", incident, "--output", str(out)]

    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == f"warroom: wrote {out}\n"  # not a byte of progress

    master, slave = pty.openpty()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "Reading journals" in text and "%" in text
    assert f"warroom: wrote {out}" in text
