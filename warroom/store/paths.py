"""Every filesystem location warroom uses, in one place.

Defaults come from platformdirs; environment variables override them so scripts, tests and
several people sharing one jump host can each point warroom elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "warroom"
DATA_DIR_ENV = "WARROOM_DATA_DIR"
CONFIG_DIR_ENV = "WARROOM_CONFIG_DIR"
USER_ENV = "WARROOM_USER"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"


def default_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME))


def incidents_dir(data_dir: Path) -> Path:
    """One journal per incident lives here."""
    return data_dir / "incidents"


def user_runbook_dir() -> Path:
    """The user's own runbooks (``*.md``), next to their incident data by default."""
    return default_data_dir() / "runbooks"


def user_template_dir() -> Path:
    """The user's own comms templates (``*.md`` / ``*.txt``)."""
    return default_data_dir() / "templates"


def user_theme_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "themes"


def package_root() -> Path:
    """The directory holding the ``warroom`` package (its parent has sample_data/ in a checkout)."""
    return Path(__file__).resolve().parent.parent


def sample_data_dir() -> Path:
    return package_root().parent / "sample_data"
