"""Fixtures every layer shares: isolated config and data dirs, a frozen clock, a throwaway
copy of the sample incidents, real sync servers (``server_factory``) and a real PostgreSQL
(``pg_cluster`` per module, ``pg_url`` a new database per test; skipped, with the reason,
where no PostgreSQL binaries exist).

Per layer: ``server/conftest.py`` starts one shared server per module (``server``), and
``ui/conftest.py`` builds apps with everything that moves pinned (``make_app``).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pgcluster import PgCluster, pg_available
from serverproc import ServerProcess

from warroom.domain.clock import FixedClock

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_INCIDENTS = ROOT / "sample_data" / "incidents"

# Just after the last sample entry (payments outage, 2026-11-18 15:11 UTC).
SAMPLE_NOW = datetime(2026, 11, 18, 15, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the developer's own config or data."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("WARROOM_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.delenv("WARROOM_USER", raising=False)
    monkeypatch.delenv("WARROOM_SERVER", raising=False)
    monkeypatch.delenv("WARROOM_TOKEN", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(SAMPLE_NOW)


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    """A data dir holding a copy of the sample incidents (sample_data/ is never touched)."""
    data_dir = tmp_path / "data"
    shutil.copytree(SAMPLE_INCIDENTS, data_dir / "incidents")
    return data_dir


@pytest.fixture
def empty_dir(tmp_path) -> Path:
    data_dir = tmp_path / "empty"
    data_dir.mkdir()
    return data_dir


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Make (not start) servers on fresh data dirs; all are killed at the end of the test."""
    made: list[ServerProcess] = []

    def make(name: str = "server", **kwargs) -> ServerProcess:
        server = ServerProcess(tmp_path / name, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.kill()


_databases = itertools.count(1)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL 15 cluster of this module's own, stopped and removed at its end."""
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()  # also when a test failed


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A new, empty database on the module's cluster."""
    return pg_cluster.create_database(f"warroom_test_{next(_databases)}")
