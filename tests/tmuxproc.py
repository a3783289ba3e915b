"""Test helper: the real ``warroom`` console in a private tmux server, driven as a person
(or a laggy SSH link) drives it: whole lines with Enter, pastes, letters; then the journal
is read from disk to see what was really written.

Each ``Console`` gets its own tmux socket (``tmux -L``) and kills it on close, so no session
outlives its test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Console:
    def __init__(self, data_dir: Path, config_dir: Path, *, user: str = "alice", size=(120, 40), env: dict[str, str] | None = None, wrap: list[str] | None = None) -> None:
        self.socket = f"warroom-test-{os.getpid()}-{time.monotonic_ns()}"
        self.data_dir = data_dir
        environment = {
            "WARROOM_DATA_DIR": str(data_dir),
            "WARROOM_CONFIG_DIR": str(config_dir),
            "WARROOM_USER": user,
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        unset = ["WARROOM_SERVER", "WARROOM_TOKEN"]
        argv = ["env", *(f"-u{name}" for name in unset), *(f"{k}={v}" for k, v in environment.items())]
        argv += [*(wrap or []), sys.executable, "-m", "warroom"]
        command = f"cd {shlex.quote(str(ROOT))} && exec " + " ".join(shlex.quote(part) for part in argv)
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "console", "-x", str(size[0]), "-y", str(size[1]), command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "console")

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")

    def wait_for_text(self, text: str, timeout: float = 60.0) -> str:
        return self.wait_for(lambda screen: text in screen, repr(text), timeout)

    def send_lines(self, lines: list[str], *, batch: int = 20) -> None:
        """Whole lines, each followed by Enter, with no delay: ``batch`` lines per tmux call."""
        for first in range(0, len(lines), batch):
            argv: list[str] = []
            for line in lines[first:first + batch]:
                argv += ["send-keys", "-t", "console", "-l", line, ";", "send-keys", "-t", "console", "Enter", ";"]
            self.tmux(*argv[:-1])

    def type(self, text: str, *, delay: float = 0.0) -> None:
        if delay <= 0:
            self.tmux("send-keys", "-t", "console", "-l", text)
            return
        for character in text:
            self.tmux("send-keys", "-t", "console", "-l", character)
            time.sleep(delay)

    def key(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "console", key)

    def paste(self, text: str, *, bracketed: bool) -> None:
        """Paste as a terminal does: with ``bracketed``, wrapped in the paste markers the
        app asked for; without, as typed keys (newlines sent as CR, as terminals do)."""
        self.tmux("set-buffer", "-b", "clip", text)
        self.tmux("paste-buffer", "-b", "clip", "-t", "console", *(["-p"] if bracketed else []))

    def close(self) -> None:
        self.tmux("kill-server")
