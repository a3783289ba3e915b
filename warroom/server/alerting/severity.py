"""Which incident severity an alert stands for, and which alerts are only heartbeats.

The built-in table covers the severity names in common use; a TOML file (``warroom server
--alert-severity-map FILE``) overrides or adds entries, picks another label, and sets the
default. A value the table does not know is not silently the default: the alert's timeline
line and the server log say so. Heartbeat alerts (``Watchdog``, ``InfoInhibitor``, any alert
with ``severity=none``) fire all the time on purpose; by default they open nothing.

File format::

    label = "severity"        # the alert label that picks the severity (default "severity")
    default = "SEV3"          # for values the table does not know, and alerts without the label
    [map]                     # label value (case-insensitive) -> SEV1..SEV4 (or 1..4),
    page = "SEV1"             # over the built-in table
    [heartbeats]
    alertnames = ["Watchdog", "InfoInhibitor", "DeadMansSwitch"]
    severities = ["none"]     # values of the severity label that mark a heartbeat
    open_incidents = false    # true: treat them like any other alert
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from warroom.domain.models import Severity

DEFAULT_SEVERITY_VALUES: dict[str, Severity] = {
    **dict.fromkeys(("critical", "fatal", "emergency", "disaster", "p1", "sev1", "sev-1"), Severity.SEV1),
    **dict.fromkeys(("page", "error", "major", "high", "p2", "sev2", "sev-2"), Severity.SEV2),
    **dict.fromkeys(("warning", "warn", "minor", "medium", "average", "ticket", "p3", "sev3", "sev-3"), Severity.SEV3),
    **dict.fromkeys(("info", "informational", "notice", "low", "p4", "p5", "sev4", "sev-4"), Severity.SEV4),
}
"""Built in: critical/page → SEV1/SEV2, error/major → SEV2, warning → SEV3, info → SEV4…"""
HEARTBEAT_ALERTNAMES = frozenset({"Watchdog", "InfoInhibitor", "DeadMansSwitch", "DeadMansSnitch"})
HEARTBEAT_SEVERITIES = frozenset({"none"})


@dataclass(frozen=True)
class SeverityMap:
    """Which alert label picks the incident severity, how its values map, and which alerts
    are heartbeats."""

    label: str = "severity"
    values: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITY_VALUES))
    default: Severity = Severity.SEV3
    heartbeat_alertnames: frozenset[str] = HEARTBEAT_ALERTNAMES
    heartbeat_severities: frozenset[str] = HEARTBEAT_SEVERITIES
    heartbeats_open_incidents: bool = False

    def lookup(self, labels: Mapping[str, str]) -> tuple[Severity, str | None]:
        """The severity, and a sentence when it is the default for a value the table lacks."""
        value = labels.get(self.label)
        if value is None or not value.strip():
            return self.default, None
        found = self.values.get(value.strip().lower())
        if found is not None:
            return found, None
        return self.default, f"{self.label} {value.strip()[:60]!r} is not in the severity map: {self.default.value}"

    def severity_of(self, labels: Mapping[str, str]) -> Severity:
        return self.lookup(labels)[0]

    def is_heartbeat(self, labels: Mapping[str, str]) -> bool:
        """An always-firing alert that proves the alerting pipeline works."""
        if self.heartbeats_open_incidents:
            return False
        if labels.get("alertname", "") in self.heartbeat_alertnames:
            return True
        return labels.get(self.label, "").strip().lower() in self.heartbeat_severities


def _names(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where} must be a list of strings")
    return frozenset(value)


def load_severity_map(path: Path) -> SeverityMap:
    """Read a mapping file (format in the module docstring); ``ValueError`` says what is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the alert severity map {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the alert severity map {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"label", "default", "map", "heartbeats"})
    if unknown:
        raise ValueError(
            f"the alert severity map {path} has unknown keys {', '.join(unknown)}; "
            "use label, default, a [map] table and a [heartbeats] table"
        )
    label = data.get("label", "severity")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{path}: label must be the name of an alert label, e.g. \"severity\"")
    try:
        default = Severity.parse(data.get("default", "SEV3"))
    except ValueError as exc:
        raise ValueError(f"{path}: default: {exc}") from None
    values = dict(DEFAULT_SEVERITY_VALUES)
    table = data.get("map", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: map must be a table of label value = \"SEV1\"..\"SEV4\"")
    for key, value in table.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(f"{path}: map.{key}: use \"SEV1\"..\"SEV4\" or 1..4")
        try:
            values[key.strip().lower()] = Severity.parse(value)
        except ValueError as exc:
            raise ValueError(f"{path}: map.{key}: {exc}") from None
    beats = data.get("heartbeats", {})
    if not isinstance(beats, dict) or set(beats) - {"alertnames", "severities", "open_incidents"}:
        raise ValueError(f"{path}: heartbeats is a table of alertnames, severities and open_incidents")
    opens = beats.get("open_incidents", False)
    if not isinstance(opens, bool):
        raise ValueError(f"{path}: heartbeats.open_incidents must be true or false")
    return SeverityMap(
        label=label.strip(),
        values=values,
        default=default,
        heartbeat_alertnames=_names(beats["alertnames"], f"{path}: heartbeats.alertnames") if "alertnames" in beats else HEARTBEAT_ALERTNAMES,
        heartbeat_severities=frozenset(v.lower() for v in _names(beats["severities"], f"{path}: heartbeats.severities")) if "severities" in beats else HEARTBEAT_SEVERITIES,
        heartbeats_open_incidents=opens,
    )


__all__ = ["DEFAULT_SEVERITY_VALUES", "HEARTBEAT_ALERTNAMES", "SeverityMap", "load_severity_map"]
