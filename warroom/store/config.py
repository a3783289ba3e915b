"""The user's settings: one typed model, read from TOML, written with tomli-w."""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warroom.domain.models import CommsChannel
from warroom.store import paths
from warroom.store.atomic import atomic_write


class ConfigError(Exception):
    """The config file could not be read; the message names the file and the problem."""


class DestinationKind(StrEnum):
    """What kind of receiver a comms channel delivers to."""

    SLACK = "slack"
    """A Slack incoming webhook (``{"text": …}``)."""
    MATTERMOST = "mattermost"
    """A Mattermost (or other Slack-compatible) incoming webhook."""
    TEAMS = "teams"
    """A Microsoft Teams webhook (Workflows): an Adaptive Card in a message."""
    WEBHOOK = "webhook"
    """Any HTTP endpoint taking warroom's own JSON (delivery id, incident, text)."""
    STATUS_PAGE = "statuspage"
    """A status page taking a generic component/incident JSON."""
    COMMAND = "command"
    """A local program given the text on stdin (``sendmail -t``, a wrapper script)."""


class ChannelDestination(BaseModel):
    """Where one comms channel's updates really go: a ``[channels.NAME]`` table."""

    model_config = ConfigDict(extra="forbid")

    type: DestinationKind
    url: str | None = Field(default=None, max_length=2000)
    """The webhook URL (for every type but ``command``)."""
    url_env: str | None = Field(default=None, max_length=100)
    """Read the URL from this environment variable instead, to keep the secret out of the file."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers, e.g. ``{Authorization = "Bearer …"}`` for a status page."""
    command: list[str] = Field(default_factory=list)
    """For ``command``: the program and its arguments (no shell), e.g. ``["sendmail", "-t"]``."""
    email_to: list[str] = Field(default_factory=list)
    """For ``command``: write an e-mail (To, Subject, Message-ID) to stdin, not bare text."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """How long one attempt may take."""
    max_attempts: int = Field(default=6, ge=1, le=50)
    """Attempts before the delivery is shown as failed (the text is kept either way)."""

    @model_validator(mode="after")
    def _has_a_target(self) -> "ChannelDestination":
        if self.type is DestinationKind.COMMAND:
            if not self.command:
                raise ValueError("a command channel needs command = [\"program\", \"arg\"…]")
        elif not (self.url or self.url_env):
            raise ValueError(f"a {self.type.value} channel needs url (or url_env)")
        elif self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// (or http:// on a trusted network)")
        return self

    def resolved_url(self) -> str | None:
        """The URL to post to, or None when the environment variable is not set."""
        if self.url_env:
            return os.environ.get(self.url_env) or None
        return self.url


CHANNEL_NAMES = tuple(channel.value for channel in CommsChannel)


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
    no_exec: bool = False
    """Turn off running runbook commands from the console (copying them still works)."""
    command_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    """How long a runbook command may run before it is stopped."""
    channels: dict[str, ChannelDestination] = Field(default_factory=dict)
    """Where updates marked as sent really go, per comms channel: ``[channels.internal]``,
    ``[channels.status_page]``, ``[channels.customers]``, ``[channels.exec]``. A channel
    without one is only recorded as sent."""
    web_password: str | None = Field(default=None, min_length=12, max_length=200)
    """A password for ``warroom web`` (12 characters or more): people sign in with it in the
    browser instead of opening the link ``warroom web`` prints at every start. Keep this file
    private (it is written 0600)."""
    keymap: dict[str, Any] = Field(default_factory=dict)
    """Your own keys, as a ``[keymap]`` table: binding id → key(s), e.g.
    ``"incident.declare" = "ctrl+d"`` or ``"timeline.down" = "down,j"``. ``?`` in the console
    lists every binding id; unknown ids and bad keys (a value that is not a key included) are
    named once at start-up and ignored, and the action keeps its own key."""

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_names(cls, value: object) -> object:
        """``status_page``, ``status-page`` and ``"status page"`` name the same channel."""
        if not isinstance(value, dict):
            return value
        named = {}
        for key, destination in value.items():
            name = " ".join(str(key).lower().replace("_", " ").replace("-", " ").split())
            if name not in CHANNEL_NAMES:
                raise ValueError(f"unknown channel {key!r}: use one of {', '.join(CHANNEL_NAMES)}")
            named[name] = destination
        return named

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
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML (not UTF-8 text at byte {exc.start}); fix or remove it") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e, text) for e in exc.errors()[:3])
        raise ConfigError(f"{path}: {problems}") from None


def _describe(error: dict, text: str) -> str:
    """``line 3: local_time: Input should be a valid boolean`` (the line when it is found)."""
    where = ".".join(map(str, error["loc"])) or "config"
    line = _line_of(text, [str(part) for part in error["loc"]])
    return f"{'line %d: ' % line if line else ''}{where}: {error['msg']}"


def _line_of(text: str, loc: list[str]) -> int | None:
    """The line that sets ``loc``: the key in its ``[table]`` (``[channels.internal]``), or the
    nearest enclosing key or table that is written in the file."""
    lines = text.splitlines()
    for depth in range(len(loc) - 1, -1, -1):
        table = ".".join(loc[:depth]) or None
        found = _find_key(lines, table, loc[depth])
        if found is not None:
            return found
    return None


def _find_key(lines: list[str], table: str | None, key: str) -> int | None:
    assignment = re.compile(r'^\s*["\']?' + re.escape(key) + r'["\']?\s*=')
    current = None
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = ".".join(part.strip().strip('"\'') for part in header.group(1).split("."))
            target = f"{table}.{key}" if table else key
            if current == target or current.startswith(target + "."):
                return number
            continue
        if current == table and assignment.match(line):
            return number
    return None


def load_config_or_defaults(path: Path | None = None) -> tuple[Config, str | None]:
    """For the console, which must always open: the config, or the defaults and why the
    file was not used (naming the file, the line and the problem). The file is left alone."""
    try:
        return load_config(path), None
    except ConfigError as exc:
        return Config(), str(exc)


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
