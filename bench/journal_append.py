"""P3: scribe Enter → entry fsync'd and in the state, against a raw write+fsync.

    python bench/journal_append.py [--count 1000]

"Ours" is the whole path the TUI runs after Enter: parse the scribe line, build, seal, sign
and validate the event, append it to the journal (one write + fsync under flock) and fold it
into the in-memory state. The workspace keeps text keys stored ahead, as the TUI's does (each
key fsync'd before an event takes it); when none is ready the key's fsync overlaps the
journal's. The baseline writes the same bytes with os.write + os.fsync on the same disk.
The two loops are interleaved in blocks of 50 so both see the same disk and machine load;
20 warm-up iterations of each are dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import row, summary  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.domain.models import Severity  # noqa: E402
from warroom.domain.scribe import parse_scribe_line  # noqa: E402
from warroom.store.journal import encode_line  # noqa: E402
from warroom.domain.signing import Signer  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402

WARMUP = 20
BLOCK = 50


def measure(count: int = 1000) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="warroom-bench-p3-") as tmp:
        # Signed and sealed as every entry is, with a throwaway key (never the developer's).
        ws = Workspace(Path(tmp) / "data", "bench", signer=Signer.generate()[0])
        ws.keep_text_keys_ready()  # as the TUI does
        ws.load()
        ws.record(commands.declare(ws.factory, title="bench", severity=Severity.SEV3))
        incident_id = ws.incidents()[0].id
        fd = os.open(Path(tmp) / "raw.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        ours: list[float] = []
        raw: list[float] = []
        sample_line = b""
        n = 0
        try:
            while len(ours) < count:
                for _ in range(BLOCK):
                    start = time.perf_counter()
                    line = parse_scribe_line(f"/action step {n} of the rollback", ws.clock.now())
                    event = commands.log_entry(ws.factory, ws.get(incident_id), line.text, line.kind, line.at)
                    ws.record([event])
                    elapsed = time.perf_counter() - start
                    sample_line = encode_line(event)
                    if n >= WARMUP:
                        ours.append(elapsed)
                    n += 1
                for i in range(BLOCK):
                    start = time.perf_counter()
                    os.write(fd, sample_line)
                    os.fsync(fd)
                    elapsed = time.perf_counter() - start
                    if n - BLOCK + i >= WARMUP:
                        raw.append(elapsed)
        finally:
            os.close(fd)
    ours, raw = ours[:count], raw[:count]
    s_ours, s_raw = summary(ours, 1000), summary(raw, 1000)
    ratio = s_ours["median"] / s_raw["median"]
    return [
        row(
            "P3",
            f"scribe Enter -> fsynced + folded (p50 over {count})",
            "ms",
            s_ours["median"],
            baseline=s_raw["median"],
            target="<= 2x",
            met=ratio <= 2,
            stats=s_ours,
            baseline_stats=s_raw,
            compared_with="raw os.write + os.fsync of the same bytes, same disk",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    print(json.dumps(measure(parser.parse_args().count), indent=2))


if __name__ == "__main__":
    main()
