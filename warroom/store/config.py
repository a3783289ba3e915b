"""The user's settings: one typed model, read from TOML, written with tomli-w."""

from __future__ import annotations

import getpass
import os
import tomllib
from pathlib import Path

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warroom.store import paths
from warroom.store.atomic import atomic_write


class ConfigError(Exception):
    """The config file could not be read; the message names the file and the problem."""


class Config(BaseModel):
    """Settings from ``config.toml`` in the platformdirs config dir."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, max_length=64)
    """Your name as it appears on the timeline. Unset: the TUI asks once, the CLI uses your
    login name."""
    data_dir: Path | None = None
    """Where incident journals live. Unset: the platformdirs user data dir."""
    theme: str = "warroom-dark"
    """The Textual theme to start with."""
    local_time: bool = False
    """Show timeline times in local time instead of UTC."""
    runbook_dirs: list[Path] = Field(default_factory=list)
    """More directories of Markdown runbooks (e.g. a team repository checkout)."""
    template_dirs: list[Path] = Field(default_factory=list)
    """More directories of comms templates; a template with the same name overrides ours."""
    cadence_minutes: dict[str, int] = Field(default_factory=dict)
    """Status-update cadence per severity, e.g. ``{SEV1 = 15, SEV2 = 30}``; 0 turns it off."""
    bell_when_overdue: bool = False
    """Ring the terminal bell when a status update becomes overdue."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Your own keys, as a ``[keymap]`` table: binding id → key(s), e.g.
    ``"incident.declare" = "ctrl+d"`` or ``"timeline.down" = "down,j"``. ``?`` in the console
    lists every binding id; unknown ids and bad keys are named once at start-up and ignored."""

    @field_validator("keymap", mode="before")
    @classmethod
    def _keys_as_list(cls, value: object) -> object:
        """``"timeline.down" = ["down", "j"]`` means the same as ``"down,j"``."""
        if isinstance(value, dict):
            return {k: ",".join(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v for k, v in value.items()}
        return value


def load_config(path: Path | None = None) -> Config:
    """The config, or defaults if there is no file. A broken file is an error, not a reset:
    silently replacing it would throw away what the user wrote."""
    path = path or paths.config_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise ConfigError(f"{path}: {problems}") from None


def save_config(config: Config, path: Path | None = None) -> None:
    path = path or paths.config_file()
    data = config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    atomic_write(path, tomli_w.dumps(data).encode("utf-8"), mode=0o600)


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to something readable
        return os.environ.get("USER") or "someone"


def resolve_user(explicit: str | None, config: Config) -> str | None:
    """``--as NAME`` beats ``WARROOM_USER`` beats the config file."""
    for candidate in (explicit, os.environ.get(paths.USER_ENV), config.user):
        if candidate and candidate.strip():
            return candidate.strip()[:64]
    return None
