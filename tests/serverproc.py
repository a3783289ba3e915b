"""Test helpers: a real ``warroom server`` process, and client replicas that sync with it.

``ServerProcess`` runs ``python -m warroom.server`` on 127.0.0.1 and a free port, waits for
``/v1/health``, and can stop it gracefully (SIGTERM), kill it (SIGKILL, for chaos tests) and
start it again on the same data dir and port. With ``db=URL`` it is one replica on that
PostgreSQL database (the data dir then only holds its log). The benchmarks in ``bench/`` use
it too, so it does not depend on pytest (the fixtures that build on it are in the conftest
files).

``Replica`` is one client: a Workspace on its own data dir plus a SyncEngine. Workspace is not
thread-safe, so every touch of it (the engine's ingest and the test's own actions) goes
through ``replica.lock`` — the same single-thread discipline a UI gets with
``call_from_thread``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from warroom.domain import commands
from warroom.domain.events import Event
from warroom.domain.fold import fold_incident
from warroom.domain.models import Incident, Severity, Status
from warroom.server.auth import create_token
from warroom.server.storage import DB_FILE_NAME, EventStore, open_store
from warroom.store.workspace import Workspace
from warroom.sync.client import SyncClient
from warroom.sync.engine import SyncEngine, SyncStatus

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class ServerProcess:
    """A ``warroom server`` subprocess bound to 127.0.0.1:``port``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        db: str | None = None,
        nofile: int | None = None,
    ) -> None:
        """``nofile``: start the server with this open-file limit (soft and hard, so it
        cannot raise it), as on a host with a low ``ulimit -n``."""
        self.data_dir = data_dir
        self.db = db
        self.nofile = nofile
        self.port = port or free_port()
        self.extra_args = extra_args or []
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE_NAME

    def open_store(self) -> EventStore:
        """The server's database, opened by the test (close it after use)."""
        return open_store(self.db or self.db_path, dedupe=None)

    def add_token(self, name: str, *, admin: bool = False, role: str | None = None) -> str:
        """Create a token directly in the database (works whether or not it is running);
        ``role`` is user, admin or intake."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = self.open_store()
        try:
            return create_token(store, name, admin=admin, role=role)
        finally:
            store.close()

    def command(self) -> list[str]:
        where = ["--db", self.db] if self.db else ["--data-dir", str(self.data_dir)]
        return [
            sys.executable, "-m", "warroom.server",
            *where, "--port", str(self.port), *self.extra_args,
        ]  # fmt: skip

    def start(self) -> "ServerProcess":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        # Only what this server is given: a WARROOM_* variable of the caller's must not leak in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env = {**inherited, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=self._limit_files if self.nofile else None,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(timeout=1.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if http.get(f"{self.url}/v1/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def _limit_files(self) -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def stop(self, timeout: float = 15.0) -> int | None:
        """Graceful stop (SIGTERM); SIGKILL if it does not exit in ``timeout`` s."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not stop on SIGTERM")
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the crash case)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_log()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *_exc) -> None:
        self.kill()

    def restart(self) -> "ServerProcess":
        self.kill()
        return self.start()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def counts(self) -> tuple[int, int]:
        """``(rows, distinct event ids)`` read straight from the database."""
        return tuple(self._query("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events")[0])

    def stored_ids(self) -> set[str]:
        return {row[0] for row in self._query("SELECT event_id FROM events")}

    def _query(self, sql: str) -> list[tuple]:
        if self.db:
            import psycopg

            with psycopg.connect(self.db) as conn:
                return conn.execute(sql).fetchall()
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


# --- client replicas ----------------------------------------------------------------------


class Replica:
    """One client: a workspace on its own data dir, syncing through a SyncEngine."""

    def __init__(self, root: Path, name: str, server_url: str, token: str | None) -> None:
        self.name = name
        self.data_dir = root / name
        self.workspace = Workspace(self.data_dir, actor=name)
        self.workspace.load()
        self.lock = threading.RLock()
        self.client = SyncClient(server_url, token, timeout=5.0, connect_timeout=2.0)
        self.engine = SyncEngine(
            self.workspace,
            self.client,
            apply=self._apply,
            hold_seconds=5.0,
            backoff_base=0.05,
            backoff_cap=0.5,
            scan_interval=0.5,
        )
        self.statuses: list[SyncStatus] = []
        self.created_ids: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _apply(self, events: list[Event]) -> object:
        with self.lock:
            return self.workspace.ingest(events)

    # --- engine ----------------------------------------------------------------------------

    def start(self) -> "Replica":
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.engine.run_forever,
            args=(self._stop, self.statuses.append),
            name=f"sync-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "sync engine did not stop"
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.client.close()

    # --- actions (what a person would do in the TUI) ---------------------------------------

    def _record(self, events: list[Event]) -> list[Event]:
        with self.lock:
            self.workspace.record(events)
        self.created_ids.update(e.id for e in events)
        return events

    def declare(self, title: str = "Checkout is down", severity: Severity = Severity.SEV2) -> str:
        with self.lock:
            events = commands.declare(self.workspace.factory, title=title, severity=severity)
            self._record(events)
        return events[0].incident_id

    def log(self, incident_id: str, text: str) -> Event:
        with self.lock:
            event = commands.log_entry(self.workspace.factory, self.state(incident_id), text)
            return self._record([event])[0]

    def set_severity(self, incident_id: str, severity: Severity) -> Event | None:
        """None when the incident already has that severity (the command refuses no-ops)."""
        with self.lock:
            current = self.state(incident_id)
            if current.severity == severity:
                return None
            event = commands.update(self.workspace.factory, current, severity=severity)
            return self._record([event])[0]

    def set_status(self, incident_id: str, status: Status) -> Event:
        with self.lock:
            event = commands.update(self.workspace.factory, self.state(incident_id), status=status)
            return self._record([event])[0]

    def assign(self, incident_id: str, role: str, person: str) -> Event:
        with self.lock:
            event = commands.assign_role(self.workspace.factory, self.state(incident_id), role, person)
            return self._record([event])[0]

    # --- reading ---------------------------------------------------------------------------

    def has(self, incident_id: str) -> bool:
        with self.lock:
            return any(i.id == incident_id for i in self.workspace.incidents())

    def state(self, incident_id: str) -> Incident:
        with self.lock:
            return self.workspace.get(incident_id)

    def event_ids(self, incident_id: str) -> set[str]:
        with self.lock:
            if not self.has(incident_id):
                return set()
            return {e.id for e in self.workspace.events(incident_id)}

    def state_hash(self, incident_id: str) -> str:
        with self.lock:
            return state_hash(incident_id, self.workspace.events(incident_id))


def state_hash(incident_id: str, events: list[Event]) -> str:
    """A fingerprint of the folded state: equal hashes mean identical replicas."""
    folded = fold_incident(incident_id, events).model_dump_json()
    return hashlib.sha256(folded.encode()).hexdigest()


def all_server_events(url: str, token: str | None) -> list[Event]:
    """Every event the server's feed returns, from the start."""
    events: list[Event] = []
    with SyncClient(url, token) as client:
        cursor = None
        while True:
            page = client.feed(cursor, timeout=0)
            events.extend(page.events)
            cursor = page.cursor
            if not page.more:
                return events
