"""Make a data dir holding one incident with N timeline entries (for P2/P6/P7)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.models import EntryKind, Severity
from warroom.domain.signing import Signer
from warroom.store.journal import Journal
from warroom.store.workspace import Workspace

KINDS = [EntryKind.NOTE, EntryKind.ACTION, EntryKind.DECISION, EntryKind.HYPOTHESIS, EntryKind.TODO]


def make(data_dir: Path, count: int) -> str:
    clock = FixedClock(datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc))
    # Signed and sealed as every entry is now (a throwaway key, never the developer's own).
    ws = Workspace(data_dir, "scribe", clock, signer=Signer.generate()[0])
    ws.load()
    declared = commands.declare(ws.factory, title=f"Long-running incident ({count:,} entries)", severity=Severity.SEV2)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    journal = Journal(data_dir / "incidents" / f"{incident.id}.jsonl", incident.id)
    batch = []
    for n in range(count):
        clock.advance(seconds=1)
        batch.append(commands.log_entry(ws.factory, incident, f"entry {n}: checked shard {n % 97} latency and queue depth", KINDS[n % 5]))
        if len(batch) == 5000:
            ws.text_keys.add(ws.factory.sealer.take(e.id for e in batch))
            journal.append(batch)  # straight to the journal: folding as we go would be O(n) each
            batch = []
    ws.text_keys.add(ws.factory.sealer.take(e.id for e in batch))
    journal.append(batch)
    return incident.id


if __name__ == "__main__":
    print(make(Path(sys.argv[1]), int(sys.argv[2])))
