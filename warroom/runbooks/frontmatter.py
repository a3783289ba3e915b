"""Front matter as static-site generators write it: YAML between ``---`` lines (Hugo, MkDocs,
Jekyll: lists, nested maps, quoted strings, dates) or TOML between ``+++`` lines (Hugo).

The known keys (``service``, ``incident_type``, ``tags``, ``title``; case-insensitive) are
read into typed fields; every other key is kept, converted to JSON values (a date becomes
``2024-05-01``), so nothing an author wrote is dropped. A key given twice is an error, as
YAML says it should be, rather than the last one silently winning.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml


class FrontMatterError(ValueError):
    """The front matter cannot be read; the message says where and what to fix."""


@dataclass
class FrontMatter:
    service: str | None = None
    incident_type: str | None = None
    tags: list[str] = field(default_factory=list)
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise FrontMatterError(
                f"front matter line {key_node.start_mark.line + 2}: {key!r} is already set on line "
                f"{seen[key] + 2}; keep only one"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def split(text: str) -> tuple[str, str, str] | None:
    """``(kind, front matter, rest)`` when ``text`` opens with a ``---`` (YAML) or ``+++``
    (TOML) block; None when it does not. ``FrontMatterError`` when the block is never closed."""
    lines = text.split("\n")
    fence = lines[0].rstrip()
    if fence not in ("---", "+++"):
        return None
    closers = ("---", "...") if fence == "---" else ("+++",)
    closing = next((i for i, line in enumerate(lines[1:], start=1) if line.rstrip() in closers), None)
    if closing is None:
        raise FrontMatterError(
            f"front matter opened with {fence!r} on line 1 is never closed; add a {fence!r} line "
            "after the last key"
        )
    return ("yaml" if fence == "---" else "toml"), "\n".join(lines[1:closing]), "\n".join(lines[closing + 1:])


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_value(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value if item is not None)
    text = str(_json_value(value)).strip()
    return text or None


def _tags(value: Any, line: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise FrontMatterError(f"front matter {line}: tags must be a list or a comma-separated string")
    tags = (str(_json_value(item)).strip().strip("\"'") for item in items if item is not None)
    return list(dict.fromkeys(tag for tag in tags if tag))


def parse(kind: str, block: str) -> FrontMatter:
    """The front matter of a runbook (see the module docstring)."""
    try:
        if kind == "toml":
            data: Any = tomllib.loads(block)
        else:
            data = yaml.load(block, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except FrontMatterError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 2}" if mark is not None else "block"
        raise FrontMatterError(
            f"front matter {where}: not valid YAML ({exc.problem or exc}); write 'key: value' lines, "
            "quoting a value that holds ': '"
        ) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"front matter: not valid YAML ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FrontMatterError(f"front matter: not valid TOML ({exc})") from None
    if data is None:
        return FrontMatter()
    if isinstance(data, (str, int, float)):
        first = next((line.strip() for line in block.split("\n") if line.strip()), "")
        raise FrontMatterError(f"front matter line 2: expected 'key: value', got {first!r}")
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"front matter must be 'key: value' lines, not a {type(data).__name__}; e.g. 'service: payments'"
        )
    values = {str(key).strip().lower().replace("-", "_"): (str(key), value) for key, value in data.items()}
    result = FrontMatter()
    known = {"service", "incident_type", "tags", "title"}
    result.service = _text(values.get("service", (None, None))[1])
    result.incident_type = _text(values.get("incident_type", (None, None))[1])
    result.title = _text(values.get("title", (None, None))[1])
    result.tags = _tags(values.get("tags", (None, None))[1], "tags")
    result.extra = {original: _json_value(value) for key, (original, value) in values.items() if key not in known}
    return result


__all__ = ["FrontMatter", "FrontMatterError", "parse", "split"]
