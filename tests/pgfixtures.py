"""pytest fixtures for a real PostgreSQL: one cluster per test module, one database per test.

Import them by name into a test module (``from pgfixtures import pg_cluster, pg_url``). Where
no PostgreSQL binaries exist the tests are skipped with the reason (``pytest -ra`` prints it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

try:
    from pgcluster import PgCluster, pg_available
except ImportError:  # tests/ collected as a package
    from tests.pgcluster import PgCluster, pg_available

_names = itertools.count(1)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()  # stopped and removed, also when a test failed


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A new, empty database on the module's cluster."""
    return pg_cluster.create_database(f"warroom_test_{next(_names)}")
