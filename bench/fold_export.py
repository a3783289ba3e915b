"""P6: fold of a 100,000-event incident; Markdown export of it.

    python bench/fold_export.py [--entries 100000] [--reps 5] [--data-dir D]

The events are read from the journal once (not timed); then ``fold_incident`` (sort by
(hlc, actor, id), apply every event) is timed, one warm-up then ``--reps`` repetitions.

The Markdown export is looked up in ``warroom.export``: any public function there
whose name mentions "markdown" is called with the folded incident. While there is none, the
row says "not available yet" (met = None) rather than failing.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import row, summary  # noqa: E402

PREFERRED = ("to_markdown", "export_markdown", "render_markdown", "incident_markdown", "markdown")


def find_markdown_exporter():
    """The Markdown exporter of warroom.export, or None (with why)."""
    try:
        package = importlib.import_module("warroom.export")
    except ImportError as exc:
        return None, f"warroom.export does not import ({exc})"
    modules = [package]
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        try:
            modules.append(importlib.import_module(f"warroom.export.{info.name}"))
        except Exception as exc:  # someone else's work in progress
            return None, f"warroom.export.{info.name} does not import ({exc})"
    found = []
    for module in modules:
        for name, obj in vars(module).items():
            if (
                not name.startswith("_")
                and "markdown" in name.lower()
                and inspect.isfunction(obj)
                and obj.__module__.startswith("warroom.export")
            ):
                found.append((name, obj))
    if not found:
        return None, "no Markdown exporter in warroom.export"
    found.sort(key=lambda item: PREFERRED.index(item[0]) if item[0] in PREFERRED else len(PREFERRED))
    return found[0][1], None


def _call_exporter(exporter, incident):
    attempts = [
        lambda: exporter(incident),
        lambda: exporter(incident, now=datetime.now(timezone.utc)),
        lambda: exporter(incident, datetime.now(timezone.utc)),
    ]
    error = None
    for attempt in attempts:
        try:
            return attempt()
        except TypeError as exc:
            error = exc
    raise TypeError(f"{exporter.__module__}.{exporter.__name__}{inspect.signature(exporter)}: {error}")


def measure(entries: int = 100_000, *, data_dir: Path | None = None, reps: int = 5) -> list[dict]:
    from timeline_big import make_big

    from warroom.domain.fold import fold_incident
    from warroom.store.journal import Journal

    own_data = data_dir is None
    data_dir = make_big(entries, data_dir)
    try:
        path = next((data_dir / "incidents").glob("*.jsonl"))
        events = Journal(path, path.stem).open_readonly()
    finally:
        if own_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    incident_id = path.stem
    times = []
    incident = None
    for n in range(reps + 1):
        start = time.perf_counter()
        incident = fold_incident(incident_id, events)
        elapsed = time.perf_counter() - start
        if n:
            times.append(elapsed)
    s_fold = summary(times, 1000, 1)
    rows = [
        row(
            "P6.fold", f"fold_incident of {len(events):,} events", "ms", s_fold["median"],
            target="<= 500 ms", met=s_fold["median"] <= 500, stats=s_fold,
        )
    ]
    exporter, why = find_markdown_exporter()
    if exporter is None:
        rows.append(row("P6.export", f"Markdown export of {len(events):,} events", "ms", None,
                        target="<= 1000 ms", met=None, status="not available yet", note=why))
        return rows
    try:
        times = []
        size = 0
        for n in range(min(reps, 3) + 1):
            start = time.perf_counter()
            out = _call_exporter(exporter, incident)
            elapsed = time.perf_counter() - start
            size = len(out) if isinstance(out, (str, bytes)) else 0
            if n:
                times.append(elapsed)
    except Exception as exc:
        rows.append(row("P6.export", f"Markdown export of {len(events):,} events", "ms", None,
                        target="<= 1000 ms", met=None, status="could not run",
                        note=f"{type(exc).__name__}: {exc}"))
        return rows
    s_exp = summary(times, 1000, 1)
    rows.append(row(
        "P6.export", f"Markdown export of {len(events):,} events", "ms", s_exp["median"],
        target="<= 1000 ms", met=s_exp["median"] <= 1000, stats=s_exp,
        exporter=f"{exporter.__module__}.{exporter.__name__}", output_chars=size,
    ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    print(json.dumps(measure(args.entries, data_dir=args.data_dir, reps=args.reps), indent=2))


if __name__ == "__main__":
    main()
