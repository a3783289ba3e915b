"""The UI's fixture: an app with everything that moves pinned (clock, theme, ids, blink)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from warroom.domain.ids import uuid7
from warroom.store.config import Config
from warroom.store.workspace import Workspace


@pytest.fixture
def make_app(clock):
    """Build a WarRoomApp on a data dir with a frozen clock and the default theme."""
    from warroom.ui.app import WarRoomApp

    def factory(data_dir: Path, *, user: str = "alice", **kwargs) -> WarRoomApp:
        workspace = Workspace(data_dir, user, clock)
        rng = random.Random(1234)  # ids show on screen (short ids): make them repeatable
        workspace.factory.new_id = lambda now: uuid7(now, rng.randbytes(10))
        kwargs.setdefault("config", Config())
        kwargs.setdefault("theme", "warroom-dark")
        kwargs.setdefault("save_settings", False)
        kwargs.setdefault("cursor_blink", False)
        return WarRoomApp(workspace, clock=clock, **kwargs)

    return factory
