"""Themes are TOML files: the shipped ones in themes/, the user's in the platformdirs theme dir.

A bad file never stops the app: the loader returns what loaded and what failed, and the app
shows one notification for all failures and keeps the default.

Besides Textual's colours a theme may set ``[variables]``; warroom reads these:

| Variable | Meaning |
| --- | --- |
| ``sev1`` … ``sev4`` | background of the severity badge |
| ``sev1-foreground`` … | text of the badge (default: black or white, whichever reads better) |
| ``status-investigating`` … ``status-resolved`` | colour of the status word |
| ``kind-decision``, ``kind-action``, ``kind-hypothesis``, ``kind-todo`` | timeline kind colour |
| ``automatic`` | colour of automatic (state change) timeline entries |
| ``overdue`` / ``overdue-foreground`` | the UPDATE OVERDUE banner |

Any other variable is passed to Textual unchanged (e.g. ``footer-key-foreground``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from warroom.store import paths

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_THEME = "warroom-dark"

# Variables warroom itself reads: their values must be colours.
COLOUR_VARIABLES = re.compile(
    r"^(sev[1-4](-foreground)?|status-(investigating|identified|monitoring|resolved)"
    r"|kind-(note|decision|action|hypothesis|todo)|automatic|overdue(-foreground)?)$"
)


def _check_colour(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{value!r} is not a colour") from None
    return value


class ThemeFile(BaseModel):
    """One theme file; colours are anything Textual's ``Color.parse`` accepts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    """The name ``--theme`` and ``theme =`` in the config use."""
    dark: bool = True
    """A dark theme (Textual derives shades differently for light ones)."""
    primary: str
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    """Extra variables: warroom's severity/status/kind colours (see the module docstring)
    and any Textual design variable."""

    @field_validator(
        "primary", "secondary", "accent", "warning", "error", "success",
        "foreground", "background", "surface", "panel",
    )
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        return _check_colour(value) if value is not None else None

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        for key, colour in value.items():
            if COLOUR_VARIABLES.match(key):
                try:
                    _check_colour(colour)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return value

    def to_theme(self) -> Theme:
        return Theme(**self.model_dump())


def shipped_theme_dir() -> Path:
    return paths.shipped_theme_dir()


def load_themes(directories: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """(themes, failures): every ``*.toml`` in the shipped and user theme directories.

    A user theme with the name of a shipped one replaces it (it is loaded later)."""
    directories = directories if directories is not None else [shipped_theme_dir(), paths.user_theme_dir()]
    loaded: list[Theme] = []
    failed: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                loaded.append(ThemeFile.model_validate(data).to_theme())
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                failed.append(f"{path.name}: {exc}")
            except ValidationError as exc:
                first = exc.errors()[0]
                failed.append(f"{path.name}: {'.'.join(map(str, first['loc']))}: {first['msg']}")
    return loaded, failed


def install_themes(app: App, requested: str | None, directories: list[Path] | None = None) -> str:
    """Register every theme and switch ``app`` to ``requested`` (or the default).

    Whatever went wrong — broken files, an unknown name — is said in ONE notification.
    Returns the name of the theme in use."""
    themes, failures = load_themes(directories)
    if not themes:
        themes = [FALLBACK_THEME]
    for theme in themes:
        app.register_theme(theme)
    wanted = requested or DEFAULT_THEME
    if wanted not in app.available_themes:
        fallback = DEFAULT_THEME if DEFAULT_THEME in app.available_themes else themes[0].name
        failures.append(f"no theme named {wanted!r}; using {fallback}")
        wanted = fallback
    if failures:
        app.notify(
            "\n".join(failures) + f"\nTheme files live in {shipped_theme_dir()} and {paths.user_theme_dir()}.",
            title="Themes",
            severity="warning",
            timeout=15,
            markup=False,
        )
    app.theme = wanted
    return wanted


# Used when no theme file could be read at all (a damaged install).
FALLBACK_THEME = Theme(
    name=DEFAULT_THEME,
    dark=True,
    primary="#4fc3f7",
    secondary="#7986cb",
    accent="#ffb74d",
    warning="#ffb300",
    error="#ef5350",
    success="#66bb6a",
    foreground="#e6e6e6",
    background="#101418",
    surface="#182028",
    panel="#222c36",
)
