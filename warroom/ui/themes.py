"""Themes are TOML files: the shipped ones in themes/, the user's in the platformdirs theme dir.

A bad file never stops the app: the loader returns what loaded and what failed, and the app
shows one notification for all failures and keeps the default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from warroom.store import paths

DEFAULT_THEME = "warroom-dark"


class ThemeFile(BaseModel):
    """One theme file; colours are anything Textual's ``Color.parse`` accepts."""

    model_config = ConfigDict(extra="forbid")

    name: str
    dark: bool = True
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

    @field_validator(
        "primary", "secondary", "accent", "warning", "error", "success",
        "foreground", "background", "surface", "panel",
    )
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Color.parse(value)
            except ColorParseError:
                raise ValueError(f"{value!r} is not a colour") from None
        return value

    def to_theme(self) -> Theme:
        return Theme(**self.model_dump())


def shipped_theme_dir() -> Path:
    return paths.package_root().parent / "themes"


def load_themes(directories: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """(themes, failures): every ``*.toml`` in the shipped and user theme directories."""
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


# Used when the themes/ directory is missing (an installed wheel without the checkout).
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
