"""Comms templates: text files with ``{placeholder}`` fields filled from live incident state.

A template file may start with front matter (``name:``, ``channel:`` between ``---`` lines).
Unknown placeholders are an error at load time, naming the file, the line and the field, so
a typo never renders as a silent blank in an update sent to customers. ``{{`` and ``}}``
are literal braces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from warroom.domain.models import CommsChannel
from warroom.store import paths

PLACEHOLDERS: dict[str, str] = {
    "title": "incident title",
    "severity": "SEV1…SEV4",
    "severity_label": "Critical, High, Medium, Low",
    "status": "investigating, identified, monitoring, resolved",
    "status_upper": "status in capitals",
    "summary": "what is happening",
    "impact": "who is affected and how",
    "incident_id": "short incident id",
    "declared_at": "time declared (HH:MM UTC)",
    "declared_date": "date declared (YYYY-MM-DD)",
    "started_at": "when impact started: the earliest entry (HH:MM UTC)",
    "duration": "time since declared (or until resolved)",
    "now": "current time (HH:MM UTC)",
    "resolved_at": "time resolved (HH:MM UTC), or 'not yet'",
    "ic": "incident commander",
    "tech_lead": "tech lead",
    "comms_lead": "communications lead",
    "scribe": "scribe",
    "roles": "every role and its holder, one per line",
    "latest_decisions": "the last three decisions, one per line",
    "latest_actions": "the last three actions, one per line",
    "latest_updates": "the last five notes, decisions, actions, hypotheses",
    "open_todos": "todo entries, one per line",
    "components": "status-page components and their state, one per line",
    "next_update": "when the update after this one is due, if this one goes out now (HH:MM UTC)",
    "update_every": "the update cadence, e.g. '15 minutes'",
    "conditions": "CAN report conditions: status and impact, the latest notes and hypotheses",
    "needs": "CAN report needs: open todos and open action items, one per line",
}

_FIELD_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_TEMPLATE_MAX_BYTES = 64 * 1024


class TemplateError(Exception):
    """A template could not be loaded or used; the message names the file and the problem."""


@dataclass(frozen=True)
class Template:
    id: str
    """File stem: what `warroom comms render INCIDENT ID` takes."""
    name: str
    channel: CommsChannel
    """Where this kind of update usually goes (the default when marking it sent)."""
    body: str
    path: str


def fields_of(body: str, source: str) -> list[str]:
    """The placeholders a body uses; TemplateError for an unknown or malformed one."""
    used = []
    for line_number, line in enumerate(body.splitlines(), start=1):
        for match in _FIELD_RE.finditer(line):
            name = match.group(1)
            if name is None:
                continue  # {{ or }}
            name = name.strip()
            if name not in PLACEHOLDERS:
                known = ", ".join(sorted(PLACEHOLDERS))
                raise TemplateError(f"{source}, line {line_number}: unknown placeholder {{{name}}}; known: {known}")
            used.append(name)
        stray = _FIELD_RE.sub("", line)
        if "{" in stray or "}" in stray:
            raise TemplateError(f"{source}, line {line_number}: unmatched brace (write {{{{ or }}}} for a literal one)")
    return used


def fill(body: str, values: dict[str, str]) -> str:
    """Substitute placeholders (already validated by ``fields_of``)."""

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1).strip()]

    return _FIELD_RE.sub(replace, body)


def parse_template(text: str, *, template_id: str, source: str) -> Template:
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---"):
        lines = text.splitlines()
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise TemplateError(f"{source}: front matter starts with --- but never ends") from None
        for number, line in enumerate(lines[1:end], start=2):
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise TemplateError(f"{source}, line {number}: expected 'key: value' in the front matter")
            meta[key.strip().lower()] = value.strip()
        body = "\n".join(lines[end + 1:]).lstrip("\n")
    try:
        channel = CommsChannel(meta.get("channel", "internal").replace("_", " "))
    except ValueError:
        names = ", ".join(c.value for c in CommsChannel)
        raise TemplateError(f"{source}: unknown channel {meta.get('channel')!r}; use one of {names}") from None
    fields_of(body, source)
    return Template(id=template_id, name=meta.get("name", template_id), channel=channel, body=body.rstrip() + "\n", path=source)


def load_template(path: Path) -> Template:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > _TEMPLATE_MAX_BYTES:
        raise TemplateError(f"{path}: larger than {_TEMPLATE_MAX_BYTES // 1024} KiB; is it really a template?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: not UTF-8 text") from None
    return parse_template(text, template_id=path.stem, source=str(path))


def template_dirs(extra: list[Path] | None = None) -> list[Path]:
    return [paths.shipped_template_dir(), paths.user_template_dir(), *(extra or [])]


def load_templates(directories: list[Path] | None = None) -> tuple[dict[str, Template], list[TemplateError]]:
    """Templates by id (later directories override earlier ones) and one error per bad file."""
    templates: dict[str, Template] = {}
    errors: list[TemplateError] = []
    for directory in directories if directories is not None else template_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix not in (".md", ".txt") or path.name.startswith("."):
                continue
            try:
                template = load_template(path)
            except TemplateError as exc:
                errors.append(exc)
                continue
            templates[template.id] = template
    return templates, errors
