"""The user's config file and who they are on the timeline."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from warroom.store import paths
from warroom.store.config import Config, ConfigError, load_config, resolve_user, save_config


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, str(tmp_path / "cfg"))
    monkeypatch.delenv(paths.USER_ENV, raising=False)


def test_round_trip_and_private_mode(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    config = Config(user="alice", data_dir=Path("/srv/warroom"), theme="warroom-light", local_time=True)
    save_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == config
    text = path.read_text()
    assert 'user = "alice"' in text and "local_time = true" in text
    assert not list(path.parent.glob(".*.tmp"))  # no temp file left behind


def test_save_overwrites_and_omits_defaults(tmp_path):
    path = tmp_path / "config.toml"
    save_config(Config(user="alice", theme="warroom-light"), path)
    save_config(Config(user="bob"), path)
    assert load_config(path) == Config(user="bob")
    assert "theme" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_path_comes_from_env(tmp_path):
    save_config(Config(user="carol"))
    assert (tmp_path / "cfg" / "config.toml").is_file()
    assert load_config().user == "carol"


def test_missing_file_gives_defaults(tmp_path):
    config = load_config(tmp_path / "nope.toml")
    assert config == Config()
    assert config.user is None and config.data_dir is None
    assert config.theme == "warroom-dark" and config.local_time is False
    assert load_config() == Config()


@pytest.mark.parametrize(
    "content, words",
    [
        ('user = "alice\n', ["not valid TOML"]),
        ("user = \n", ["not valid TOML"]),
        (b"\xff\xfe user", ["not valid TOML"]),
        ('user = "alice"\ncolour = "red"\n', ["colour"]),
        ("local_time = \"sometimes\"\n", ["local_time"]),
        (f'user = "{"x" * 65}"\n', ["user"]),
    ],
)
def test_broken_file_is_an_error_naming_the_file(tmp_path, content, words):
    path = tmp_path / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert path.read_bytes() == before  # never "repaired" by resetting it


def test_unreadable_path_is_a_config_error(tmp_path):
    directory = tmp_path / "config.toml"
    directory.mkdir()
    with pytest.raises(ConfigError, match="config.toml"):
        load_config(directory)


def test_resolve_user_precedence(monkeypatch):
    config = Config(user="from-config")
    assert resolve_user(None, config) == "from-config"
    monkeypatch.setenv(paths.USER_ENV, "from-env")
    assert resolve_user(None, config) == "from-env"
    assert resolve_user("from-flag", config) == "from-flag"
    assert resolve_user("  spaced  ", config) == "spaced"
    assert resolve_user("   ", config) == "from-env"  # blank does not count
    monkeypatch.setenv(paths.USER_ENV, "")
    assert resolve_user(None, config) == "from-config"
    monkeypatch.delenv(paths.USER_ENV)
    assert resolve_user(None, Config()) is None
    assert resolve_user("x" * 100, config) == "x" * 64
