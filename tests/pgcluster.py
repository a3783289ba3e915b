"""A throwaway PostgreSQL 15 cluster for tests and benchmarks: its own directory, a free
port, a unix socket directory it controls, and always stopped at the end.

``initdb`` refuses to run as root, so as root every PostgreSQL command runs as the
``postgres`` user (``runuser -u postgres --``) and the cluster directory is created by us and
handed to that user. pytest's own ``tmp_path`` lives under a 0700 root directory that the
postgres user cannot enter, so the cluster gets a directory of its own under the system temp
dir instead (removed by ``stop``).

Connections go over the unix socket only (``listen_addresses = ''``): nothing listens on the
network. ``url(dbname)`` is a libpq URL for ``warroom server --db``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("WARROOM_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def pg_available() -> str | None:
    """None when a cluster can be made here, else why not (a sentence for a skip reason)."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"no PostgreSQL binaries at {PG_BIN} (install postgresql-15 or set WARROOM_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root but there is no {PG_USER!r} user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root but runuser is missing (needed to run initdb as postgres)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgCluster:
    """``start()`` → ``url(db)`` / ``create_database(db)`` → ``stop()``."""

    def __init__(self, *, fsync: bool = True, settings: dict[str, str] | None = None) -> None:
        # fsync on, as in production (commits wait for the WAL flush, which widens the window
        # in which transactions commit out of order). Off only spares the disk: a process
        # crash (SIGKILL, `pg_ctl stop -m immediate`) would still lose nothing committed.
        self.fsync = fsync
        self.settings = settings or {}
        self.root: Path | None = None
        self.port = _free_port()
        self.running = False

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    # --- running commands as the cluster's owner ----------------------------------------------

    def _as_owner(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else args

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self._as_owner(args), capture_output=True, text=True, timeout=timeout,
            cwd=self.root,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    # --- lifecycle ----------------------------------------------------------------------------

    def init(self) -> "PgCluster":
        self.root = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
        os.chmod(self.root, 0o755)
        self._chown(self.root)
        self.socket_dir.mkdir(mode=0o700)
        self._chown(self.socket_dir)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", PG_USER, "-A", "trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])  # fmt: skip
        conf = {
            "listen_addresses": "''",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "shared_buffers": "32MB",
            "max_connections": "100",
            "log_min_messages": "warning",
            **self.settings,
        }
        with open(self.data_dir / "postgresql.conf", "a") as handle:
            handle.write("\n# warroom test cluster\n")
            handle.writelines(f"{key} = {value}\n" for key, value in conf.items())
        return self

    def start(self) -> "PgCluster":
        if self.root is None:
            self.init()
        log = self.root / "postgres.log"
        if not log.exists():
            log.touch()
            self._chown(log)
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "60", "start"])
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """``mode="immediate"`` is a crash: no checkpoint, recovery on the next start."""
        if self.root is None or not self.running:
            return
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"])
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        """Stop (if running) and remove every file."""
        try:
            if self.running:
                self.stop("immediate")
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text(errors="replace")[-4000:]
        except (OSError, TypeError):
            return ""

    # --- databases ----------------------------------------------------------------------------

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        result = self._run([str(PG_BIN / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            "-h", str(self.socket_dir), "-p", str(self.port), "-U", PG_USER, "-d", dbname,
                            "-c", sql])  # fmt: skip
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def dump(self, dbname: str) -> Path:
        """A plain SQL dump of ``dbname`` (``pg_dump``), in this cluster's directory."""
        path = self.root / f"{dbname}.sql"
        self._run([str(PG_BIN / "pg_dump"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", PG_USER,
                   "-d", dbname, "-f", str(path)])  # fmt: skip
        return path

    def restore(self, dump: Path, dbname: str) -> str:
        """Load a plain SQL dump into a new database ``dbname``; returns its URL."""
        url = self.create_database(dbname)
        self._run([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
                   "-p", str(self.port), "-U", PG_USER, "-d", dbname, "-f", str(dump)])  # fmt: skip
        return url

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port)],
                capture_output=True,
            )
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not become ready")

    def __enter__(self) -> "PgCluster":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.destroy()
