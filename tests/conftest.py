"""Shared fixtures: a frozen clock, a throwaway copy of the sample incidents, and an app
factory with everything that moves pinned (clock, theme, size, cursor blink)."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from warroom.domain.clock import FixedClock
from warroom.domain.ids import uuid7
from warroom.store.config import Config
from warroom.store.workspace import Workspace

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
