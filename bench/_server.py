"""A real ``warroom server`` process on 127.0.0.1 for the sync benchmarks (P4, P5, P8).

Like tests/serverproc.py, without pytest: tokens are written straight into the database before
the server starts; ``stop()`` sends SIGTERM (the server answers held long-polls at once).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from warroom.server.auth import create_token
from warroom.server.db import DB_FILE_NAME, EventStore


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchServer:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="warroom-bench-server-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_token(self, name: str, *, admin: bool = False) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = EventStore(self.data_dir / DB_FILE_NAME, dedupe=None)
        try:
            return create_token(store, name, admin=admin)
        finally:
            store.close()

    def start(self, timeout: float = 30.0) -> "BenchServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "warroom.server", "--data-dir", str(self.data_dir),
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
                try:
                    if http.get(f"{self.url}/v1/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become healthy: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "BenchServer":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
