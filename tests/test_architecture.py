"""Layering (ARCHITECTURE §1): only warroom.ui imports Textual; the CLI starts light."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_PROBE = textwrap.dedent(
    """
    import importlib, json, sys
    required, optional = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    imported, skipped = [], []
    for name in required:
        importlib.import_module(name)
        imported.append(name)
    for name in optional:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            # only a package that does not exist yet may be skipped, not one whose own
            # imports fail
            if getattr(exc, "name", None) != name:
                raise
            skipped.append(name)
        else:
            imported.append(name)
    roots = sorted({m.split(".")[0] for m in sys.modules})
    print(json.dumps({"imported": imported, "skipped": skipped, "roots": roots}))
    """
)


def probe(required: list[str], optional: list[str] = ()) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(required), json.dumps(list(optional))],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_non_ui_layers_do_not_import_textual():
    found = probe(
        [
            "warroom.domain.models",
            "warroom.domain.fold",
            "warroom.domain.commands",
            "warroom.domain.scribe",
            "warroom.store.workspace",
            "warroom.store.journal",
            "warroom.store.config",
            "warroom.desk.demo",
            "warroom.cli",
            "warroom.runbooks",
        ],
        ["warroom.sync", "warroom.server", "warroom.export", "warroom.comms"],
    )
    assert "warroom.cli" in found["imported"] and "warroom.runbooks" in found["imported"]
    assert "textual" not in found["roots"], found["roots"]


def test_cli_import_is_light():
    roots = probe(["warroom.cli"])["roots"]
    for heavy in ("textual", "httpx", "fastapi", "uvicorn", "starlette"):
        assert heavy not in roots, f"importing warroom.cli pulled in {heavy}"


def test_probe_detects_textual():
    # the check above can fail: importing the UI does bring Textual in
    assert "textual" in probe(["textual"])["roots"]
