"""Incident types: default SEV, runbooks, roles to fill and cadence at declaration."""

from __future__ import annotations

import subprocess
import sys

from warroom.domain.cadence import cadence, overrides_for
from warroom.domain.models import Severity
from warroom.desk.incident_types import load_incident_types
from warroom.store.workspace import Workspace


def test_shipped_types_load_and_a_broken_file_is_reported(tmp_path):
    types, errors = load_incident_types()
    assert errors == [] and types["payments"].severity is Severity.SEV1
    assert types["payments"].runbooks == ["payment-high-error-rate"]
    bad = tmp_path / "incident_types.toml"
    bad.write_text('[x]\nseverity = "SEV9"\n[y]\nname = "fine"\n')
    types, errors = load_incident_types([bad])
    assert list(types) == ["y"] and "[x]" in str(errors[0]) and str(bad) in str(errors[0])


def test_declare_with_a_type_starts_with_its_runbooks_roles_and_severity(tmp_path, clock):
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "warroom", "--data-dir", str(data), "declare", "--title", "Card auth failing", "--type", "payments"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ws = Workspace(data, "x", clock)
    ws.load()
    incident = ws.get(result.stdout.strip())
    assert incident.severity is Severity.SEV1
    assert list(incident.checklists) == ["ic-first-five-minutes", "payment-high-error-rate"]
    assert incident.roles["Payments liaison"] is None
    assert "Payments liaison: to be filled" in [e.text for e in incident.timeline]
    types, _ = load_incident_types()
    overrides = overrides_for(incident, {"SEV1": 5}, types["payments"].cadence_minutes)
    assert overrides == {"SEV1": 15}  # the type's cadence beats the per-SEV setting
    assert cadence(incident, incident.declared_at, overrides).remaining_seconds == 15 * 60


def test_declare_without_sev_or_typed_default_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "warroom", "--data-dir", str(tmp_path), "declare", "--title", "x"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1 and "give --sev" in result.stderr
