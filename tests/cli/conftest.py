"""Shared by the CLI tests: ``run`` calls ``warroom`` in-process in the environment the test
module's own ``env`` fixture sets up (each module picks its data dir and user)."""

from __future__ import annotations

import pytest

from warroom import cli


@pytest.fixture
def run(env, capsys):
    def _run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
