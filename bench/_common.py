"""Shared helpers for the benchmarks: statistics, result rows, a private tmux, RSS.

Every figure module imports this as ``_common`` (the bench/ directory is put on sys.path by
the module itself, so ``python bench/x.py`` and ``python bench/run.py`` both work).

tmux: each benchmark run gets its own tmux server (``tmux -L <name>``), started once with an
idle "keeper" session, plus one *control-mode* client (``tmux -C``) through which we send keys
and capture panes. A capture through the control client costs ~0.2 ms instead of ~3 ms for a
``tmux capture-pane`` subprocess, so polling resolves ~1 ms and steals little CPU from the app
being measured. Our apps run in sessions that no client is attached to, so their size stays the
``-x``/``-y`` they were created with.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
UNSET_ENV = ("WARROOM_SERVER", "WARROOM_TOKEN", "WARROOM_DATA_DIR", "WARROOM_CONFIG_DIR", "WARROOM_USER",
             "PYTHONDONTWRITEBYTECODE",
             # Each app draws at its own default rate (warroom sets one when this process
             # imported warroom.ui and with it the variable; a bare Textual app keeps 60).
             "TEXTUAL_FPS")
FRAME_MS = None  # filled lazily from textual.constants.MAX_FPS


def frame_ms() -> float:
    """Textual's frame interval (1 / MAX_FPS), in ms."""
    global FRAME_MS
    if FRAME_MS is None:
        from textual import constants

        FRAME_MS = 1000.0 / constants.MAX_FPS
    return FRAME_MS


# --- statistics ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float], scale: float = 1.0, digits: int = 3) -> dict:
    """min / median / p99 / max / n of ``values`` (multiplied by ``scale``)."""
    vals = [v * scale for v in values]
    return {
        "min": round(min(vals), digits),
        "median": round(statistics.median(vals), digits),
        "p99": round(percentile(vals, 0.99), digits),
        "max": round(max(vals), digits),
        "n": len(vals),
    }


def row(
    id: str,
    figure: str,
    unit: str,
    value: float | None,
    *,
    baseline: float | None = None,
    ratio: float | None = None,
    target: str = "—",
    met: bool | None = None,
    stats: dict | None = None,
    **extra,
) -> dict:
    """One result row. ``ratio`` defaults to value / baseline."""
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    out = {
        "id": id,
        "figure": figure,
        "unit": unit,
        "value": value,
        "baseline": baseline,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": target,
        "met": met,
    }
    if stats:
        out.update({k: stats[k] for k in ("min", "median", "p99", "max", "n") if k in stats})
    out.update(extra)
    return out


def log(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------


def vm_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc (psutil is not a dependency)."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def warroom_command(
    data_dir: Path,
    config_dir: Path,
    user: str,
    *args: str,
) -> str:
    """Shell command that opens the TUI on ``data_dir`` (exec'd: the pane's pid is Python's)."""
    env = {
        "WARROOM_DATA_DIR": str(data_dir),
        "WARROOM_CONFIG_DIR": str(config_dir),
        "WARROOM_USER": user,
    }
    return shell_command([PYTHON, "-m", "warroom", *args], env)


def shell_command(argv: list[str], env: dict[str, str] | None = None) -> str:
    """``cd ROOT && exec env -u … K=V argv`` for a tmux pane: no inherited sync settings, and
    bytecode caching on as on a user's machine (this sandbox sets PYTHONDONTWRITEBYTECODE)."""
    parts = ["env"] + [f"-u{name}" for name in UNSET_ENV]
    parts += [f"{k}={v}" for k, v in (env or {}).items()]
    parts += argv
    return f"cd {shlex.quote(str(ROOT))} && exec " + " ".join(shlex.quote(p) for p in parts)


def cli_env(data_dir: Path, config_dir: Path, user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    env.update(WARROOM_DATA_DIR=str(data_dir), WARROOM_CONFIG_DIR=str(config_dir), WARROOM_USER=user)
    return env


# --- tmux ----------------------------------------------------------------------------------


class TmuxError(RuntimeError):
    pass


class Tmux:
    """A private tmux server with a control-mode client for fast send-keys / capture-pane."""

    def __init__(self, name: str | None = None) -> None:
        if shutil.which("tmux") is None:
            raise SystemExit("tmux is required for this benchmark (apt-get install tmux)")
        self.socket = name or f"warroom-bench-{os.getpid()}"
        self._lock = threading.Lock()
        self._tmux("new-session", "-d", "-s", "keeper", "-x", "80", "-y", "24", "sleep 100000")
        self._control = subprocess.Popen(
            ["tmux", "-L", self.socket, "-C", "attach-session", "-t", "keeper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self._counter = 0
        self._read_block()  # the answer to the attach-session itself
        if self.command("display-message -p ok").strip() != "ok":
            raise TmuxError("the tmux control client is out of step")

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
        )

    def _read_block(self, line: str = "attach") -> str:
        """Read one ``%begin`` … ``%end`` answer (notifications outside blocks are skipped)."""
        assert self._control.stdout is not None
        reader = self._control.stdout
        out: list[bytes] = []
        while True:
            got = reader.readline()
            if not got:
                raise TmuxError("the tmux control client went away")
            if got.startswith(b"%begin"):
                break
        while True:
            got = reader.readline()
            if not got:
                raise TmuxError("the tmux control client went away")
            if got.startswith(b"%end"):
                return b"".join(out).decode("utf-8", "replace")
            if got.startswith(b"%error"):
                raise TmuxError(f"{line!r}: {b''.join(out).decode('utf-8', 'replace').strip()}")
            out.append(got)

    def command(self, line: str) -> str:
        """Run one tmux command through the control client; returns its output."""
        with self._lock:
            assert self._control.stdin is not None
            self._control.stdin.write(line.encode() + b"\n")
            return self._read_block(line)

    def new_session(self, command: str, *, size=(120, 40), name: str | None = None) -> str:
        """Start ``command`` in a new detached session (via a subprocess, like a person would
        start a terminal); returns the session name."""
        self._counter += 1
        name = name or f"s{self._counter}"
        self._tmux("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]), command)
        return name

    def capture(self, session: str, rows: tuple[int, int] | None = None) -> str:
        """The pane's text; ``rows`` (first, last, 0-based): only those lines. tmux takes
        ~1.7 ms to capture a full 120x40 console and ~0.3 ms for a nearly empty screen, so a
        figure polled over whole panes is partly tmux's capture time."""
        span = f" -S {rows[0]} -E {rows[1]}" if rows else ""
        return self.command(f"capture-pane -p -t {session}{span}")

    def send_text(self, session: str, text: str) -> None:
        """Type ``text`` literally (no quotes or backslashes in it, please)."""
        assert "'" not in text and "\\" not in text
        self.command(f"send-keys -t {session} -l '{text}'")

    def send_key(self, session: str, key: str) -> None:
        self.command(f"send-keys -t {session} {key}")

    def pane_pid(self, session: str) -> int:
        return int(self.command(f"display-message -p -t {session} '#{{pane_pid}}'").strip())

    def kill_session(self, session: str) -> None:
        try:
            self.command(f"kill-session -t {session}")
        except TmuxError:
            pass

    def wait_for(
        self,
        session: str,
        predicate: Callable[[str], bool],
        *,
        start: float | None = None,
        timeout: float = 30.0,
        poll: float = 0.001,
        what: str = "screen",
        rows: tuple[int, int] | None = None,
    ) -> float:
        """Poll the pane (or its ``rows``) until ``predicate(screen)``; returns seconds
        since ``start``."""
        start = time.perf_counter() if start is None else start
        deadline = time.perf_counter() + timeout
        screen = ""
        while time.perf_counter() < deadline:
            try:
                screen = self.capture(session, rows)
            except TmuxError:
                screen = ""  # the session may not be there yet (or has died)
            if predicate(screen):
                return time.perf_counter() - start
            time.sleep(poll)
        raise TmuxError(f"timed out after {timeout:.0f}s waiting for {what}; last screen:\n{screen}")

    def close(self) -> None:
        socket_path = self.command_output_socket()
        try:
            if self._control.stdin:
                self._control.stdin.close()
            self._control.wait(timeout=5)
        except Exception:
            self._control.kill()
        self._tmux("kill-server", check=False)
        if socket_path:
            try:
                os.unlink(socket_path)  # tmux leaves its socket file behind
            except OSError:
                pass

    def command_output_socket(self) -> str | None:
        try:
            return self.command("display-message -p '#{socket_path}'").strip() or None
        except Exception:
            return None

    def __enter__(self) -> "Tmux":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def contains(marker: str) -> Callable[[str], bool]:
    return lambda screen: marker in screen


def line_matches(pattern: str) -> Callable[[str], bool]:
    regex = re.compile(pattern, re.MULTILINE)
    return lambda screen: regex.search(screen) is not None


def time_to_screen(tmux: Tmux, command: str, marker: str, *, size=(120, 40), timeout: float = 60.0) -> tuple[float, str]:
    """Start ``command`` in a new session and time until ``marker`` is on screen.
    Returns (seconds, session); the caller kills the session."""
    start = time.perf_counter()
    session = tmux.new_session(command, size=size)
    elapsed = tmux.wait_for(session, contains(marker), start=start, timeout=timeout, what=repr(marker))
    return elapsed, session
