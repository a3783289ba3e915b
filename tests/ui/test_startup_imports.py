"""What `warroom` imports before its first full frame, run the way a person starts it.

The console starts in a fresh process (the command line's own entry, headless), waits until
the journals are loaded and drawn, and reports which modules it holds. The HTTP stack, the
text editor widget and the dialogs are for later (a configured server, a draft, a key
press): none of them may be on the path to the first frame. With a server configured, the
same start-up syncs with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from conftest import SAMPLE_INCIDENTS
except ImportError:  # tests/ collected as a package
    from tests.conftest import SAMPLE_INCIDENTS

# Runs `warroom` (no command: the console) with Textual headless; once the first incident's
# timeline is drawn, prints what was imported and what the console shows, then quits.
_FIRST_FRAME = r"""
import json, sys
from textual.app import App

report = {}
run = App.run

def headless(self, **kwargs):
    async def look(pilot):
        for _ in range(1000):
            await pilot.pause(0.02)
            if getattr(self, "loaded", False) and len(self.query_one("#timeline").entries):
                break
        report["modules"] = sorted(sys.modules)
        report["entries"] = len(self.query_one("#timeline").entries)
        report["sync"] = str(self.query_one("#header").sync_label)
        if self.sync_engine is not None:
            for _ in range(1500):  # the sync worker's first round trip (a loaded machine: seconds)
                if "online" in str(self.query_one("#header").sync_label):
                    break
                await pilot.pause(0.02)
            report["sync"] = str(self.query_one("#header").sync_label)
            report["modules_after_sync"] = sorted(sys.modules)
        self.exit()

    return run(self, headless=True, size=(120, 40), auto_pilot=look)

App.run = headless
from warroom.cli import main
code = main([])
print("REPORT " + json.dumps(report))
sys.exit(code)
"""

LATER = ("httpx", "cryptography", "textual.widgets._text_area", "warroom.ui.screens.pickers", "warroom.ui.screens.comms")


def _env(tmp_path: Path, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    clean.update(WARROOM_DATA_DIR=str(tmp_path / "data"), WARROOM_CONFIG_DIR=str(tmp_path / "config"), WARROOM_USER="alice", **env)
    return clean


def _declare(tmp_path: Path) -> None:
    """alice's own incident, written with the command line (a server takes her events)."""
    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "warroom", *args], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("declare", "--title", "Checkout errors after deploy", "--sev", "2")
    incident = run("list").split()[0]
    run("log", incident, "Rolled back the 14:02 deploy; error rate falling")


def _start(tmp_path: Path, **env: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _FIRST_FRAME], env=_env(tmp_path, **env), capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("REPORT "))


def _imported(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_first_frame_without_a_server_imports_no_http_stack_editor_or_dialogs(tmp_path):
    shutil.copytree(SAMPLE_INCIDENTS, tmp_path / "data" / "incidents")
    report = _start(tmp_path)
    assert report["entries"] > 0  # the first frame really is the loaded timeline
    assert "local only" in report["sync"]
    assert [name for name in LATER if _imported(report["modules"], name)] == []


def test_with_a_server_configured_the_same_start_syncs(tmp_path, server_factory):
    server = server_factory()
    token = server.add_token("alice")
    server.start()
    _declare(tmp_path)
    report = _start(tmp_path, WARROOM_SERVER=server.url, WARROOM_TOKEN=token)
    assert report["entries"] > 0
    assert "online" in report["sync"], report["sync"]  # not "connecting…", not "offline"
    assert _imported(report["modules_after_sync"], "httpx")
