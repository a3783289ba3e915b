"""P3: scribe Enter → entry fsync'd and in the state, against a raw write+fsync.

    python bench/journal_append.py [--count 1000]

"Ours" is the whole path the TUI runs after Enter: parse the scribe line, build and validate
the event, append it to the journal (one write + fsync under flock) and fold it into the
in-memory state. The baseline writes the same bytes with os.write + os.fsync on the same disk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from warroom.domain import commands
from warroom.domain.models import Severity
from warroom.domain.scribe import parse_scribe_line
from warroom.store.journal import encode_line
from warroom.store.workspace import Workspace


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(count: int) -> dict:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        ws = Workspace(Path(tmp) / "data", "bench")
        ws.load()
        ws.record(commands.declare(ws.factory, title="bench", severity=Severity.SEV3))
        incident_id = ws.incidents()[0].id
        ours: list[float] = []
        sample_line = b""
        for n in range(count + 20):
            start = time.perf_counter()
            line = parse_scribe_line(f"/action step {n} of the rollback", ws.clock.now())
            event = commands.log_entry(ws.factory, ws.get(incident_id), line.text, line.kind, line.at)
            ws.record([event])
            elapsed = time.perf_counter() - start
            sample_line = encode_line(event)
            if n >= 20:
                ours.append(elapsed)
        raw: list[float] = []
        fd = os.open(Path(tmp) / "raw.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        for n in range(count + 20):
            start = time.perf_counter()
            os.write(fd, sample_line)
            os.fsync(fd)
            if n >= 20:
                raw.append(time.perf_counter() - start)
        os.close(fd)
    p50, p99 = statistics.median(ours) * 1000, percentile(ours, 0.99) * 1000
    raw50 = statistics.median(raw) * 1000
    return {
        "id": "P3",
        "figure": f"scribe Enter -> fsynced and folded, over {count}",
        "unit": "ms",
        "p50": round(p50, 3),
        "p99": round(p99, 3),
        "baseline": round(raw50, 3),
        "baseline_p99": round(percentile(raw, 0.99) * 1000, 3),
        "ratio": round(p50 / raw50, 3),
        "target": "<= 2x",
        "met": p50 / raw50 <= 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    print(json.dumps(measure(parser.parse_args().count), indent=2))


if __name__ == "__main__":
    main()
