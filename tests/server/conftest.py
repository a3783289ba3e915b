"""The server layer's fixture: one real server per test module, with a token per person.

A module that needs the server started with an alert severity map sets
``ALERT_SEVERITY_MAP`` (the file's TOML text) at module level.
"""

from __future__ import annotations

import pytest
from serverproc import ServerProcess

USERS = ("alice", "bob", "carol", "erin", "alertmanager")
ADMINS = ("root",)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A running server; ``server.tokens[name]`` for every name in USERS and ADMINS."""
    root = tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_"))
    extra_args = []
    severity_map = getattr(request.module, "ALERT_SEVERITY_MAP", None)
    if severity_map is not None:
        (root / "alert-severity.toml").write_text(severity_map)
        extra_args = ["--alert-severity-map", str(root / "alert-severity.toml")]
    proc = ServerProcess(root / "data", extra_args=extra_args)
    proc.tokens = {name: proc.add_token(name) for name in USERS}
    proc.tokens.update({name: proc.add_token(name, admin=True) for name in ADMINS})
    proc.start()
    yield proc
    proc.kill()
