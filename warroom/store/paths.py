"""Every filesystem location warroom uses, in one place.

Defaults come from platformdirs; environment variables override them so scripts, tests and
several people sharing one jump host can each point warroom elsewhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

from warroom.domain.ids import is_uuid

APP_NAME = "warroom"
SERVER_APP_NAME = "warroom-server"
DATA_DIR_ENV = "WARROOM_DATA_DIR"
CONFIG_DIR_ENV = "WARROOM_CONFIG_DIR"
USER_ENV = "WARROOM_USER"
SERVER_DATA_DIR_ENV = "WARROOM_SERVER_DATA_DIR"

_JOURNAL_NAME = re.compile(r"^([0-9a-f-]{36})\.jsonl$")


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


def journal_file(journal_dir: Path, incident_id: str) -> Path:
    """The journal of one incident inside ``incidents_dir``."""
    return journal_dir / f"{incident_id}.jsonl"


def journal_incident_id(file_name: str) -> str | None:
    """The incident a file in ``incidents_dir`` is the journal of; None for any other file."""
    match = _JOURNAL_NAME.match(file_name)
    return match.group(1) if match and is_uuid(match.group(1)) else None


def server_data_dir() -> Path:
    """Where ``warroom server`` keeps its database unless ``--data-dir`` says otherwise."""
    override = os.environ.get(SERVER_DATA_DIR_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir(SERVER_APP_NAME))


def user_runbook_dir() -> Path:
    """The user's own runbooks (``*.md``), next to their incident data by default."""
    return default_data_dir() / "runbooks"


def user_template_dir() -> Path:
    """The user's own comms templates (``*.md`` / ``*.txt``)."""
    return default_data_dir() / "templates"


def user_theme_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "themes"


def user_incident_types_file() -> Path:
    return config_dir() / "incident_types.toml"


def package_root() -> Path:
    """The ``warroom`` package directory (in a checkout, or in site-packages when installed)."""
    return Path(__file__).resolve().parent.parent


# A built wheel carries the checkout's top-level sample_data/ and themes/ under this directory
# of the package (the build backend maps them there); in a checkout they stay where they are.
SHIPPED_DIR_NAME = "shipped"


def _shipped(name: str) -> Path:
    packaged = package_root() / SHIPPED_DIR_NAME / name
    return packaged if packaged.is_dir() else package_root().parent / name


def sample_data_dir() -> Path:
    """The built-in runbooks, checklists, comms templates, incident types and demo incidents."""
    return _shipped("sample_data")


def sample_incidents_dir() -> Path:
    """The sample journals ``warroom demo`` copies."""
    return sample_data_dir() / "incidents"


def shipped_runbook_dirs() -> list[Path]:
    """The sample runbooks and the role checklists (the IC's first five minutes...)."""
    return [sample_data_dir() / "runbooks", sample_data_dir() / "checklists"]


def shipped_template_dir() -> Path:
    return sample_data_dir() / "templates"


def shipped_incident_types_file() -> Path:
    return sample_data_dir() / "incident_types.toml"


def shipped_theme_dir() -> Path:
    """The themes that come with warroom (``*.toml``)."""
    return _shipped("themes")
