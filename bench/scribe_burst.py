"""P11: the scribe box under a burst of lines, and what one Enter costs, in tmux.

    python bench/scribe_burst.py [--lines 200] [--probes 30]

One warroom TUI (tmux 120x40) on a copy of the sample incidents, scribe box focused as after
start-up.

* **burst**: ``--lines`` lines, each typed literally and followed by Enter, sent with no delay
  at all (20 lines per tmux command, so they reach the app back to back, like keys over a
  laggy SSH link). Then the journal is read until it stops growing: lines sent, entries
  written, and how many entries have exactly a sent line's text, in the order sent.
* **per Enter**: a line is typed (untimed) and shown, then Enter is sent and the pane polled
  (~1 ms) until (a) the box is free again (its placeholder shows) and (b) the entry is drawn
  in the timeline with the box free. Before the box was freed at Enter, (a) and (b) were the
  same moment: the box kept the line until it was saved.

The baseline is the same app's keystroke: one letter typed into the box until it is drawn.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Tmux, contains, line_matches, row, summary, warroom_command  # noqa: E402

from warroom.store.workspace import Workspace  # noqa: E402

PLACEHOLDER = "Log: text"
BATCH = 20


def _entries(data_dir: Path, incident_id: str) -> list[str]:
    workspace = Workspace(data_dir, "bench-reader")
    workspace.load()
    return [e.text for e in workspace.get(incident_id).timeline if not e.kind.is_automatic]


def _box_free(screen: str) -> bool:
    return PLACEHOLDER in screen


def measure(lines: int = 200, probes: int = 30, *, tmux: Tmux | None = None) -> list[dict]:
    own_tmux = tmux is None
    tmux = tmux or Tmux()
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p9-"))
    data, config = root / "data", root / "config"
    shutil.copytree(ROOT / "sample_data" / "incidents", data / "incidents")
    session = None
    try:
        session = tmux.new_session(warroom_command(data, config, "bench"), size=(120, 40))
        tmux.wait_for(session, contains(PLACEHOLDER), timeout=60, what="the first frame")
        reader = Workspace(data, "bench-reader")
        reader.load()
        incident_id = reader.incidents()[0].id  # the one the TUI selects at start
        before = _entries(data, incident_id)
        time.sleep(0.5)

        # --- burst ------------------------------------------------------------------------
        sent = [f"burst line {n:03d} qz" for n in range(lines)]
        start = time.perf_counter()
        for first in range(0, lines, BATCH):
            # One tmux invocation per batch (a command list through the control client would
            # answer in several blocks and put it out of step).
            argv: list[str] = []
            for text in sent[first:first + BATCH]:
                argv += ["send-keys", "-t", session, "-l", text, ";", "send-keys", "-t", session, "Enter", ";"]
            tmux._tmux(*argv[:-1])
        send_seconds = time.perf_counter() - start
        written: list[str] = []
        last_change = time.perf_counter()
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            now_written = _entries(data, incident_id)[len(before):]
            if now_written != written:
                written, last_change = now_written, time.perf_counter()
            if len(written) >= lines or time.perf_counter() - last_change > 3.0:
                break
            time.sleep(0.05)
        burst_seconds = last_change - start
        exact_in_order = sum(1 for a, b in zip(sent, written) if a == b)
        burst_ok = written == sent
        # Let the app work through every key before timing single ones: empty the box
        # (whatever a merged line left there), type a sentinel and wait for it.
        tmux.send_key(session, "C-u")
        tmux.send_text(session, "idle sentinel qx")
        tmux.wait_for(session, contains("idle sentinel qx"), timeout=180, what="the app to catch up")
        tmux.send_key(session, "C-u")
        tmux.wait_for(session, _box_free, timeout=30, what="the box to empty")
        time.sleep(0.5)

        # --- per Enter --------------------------------------------------------------------
        free: list[float] = []
        drawn: list[float] = []
        key: list[float] = []
        warmup = 3
        for k in range(probes + warmup):
            text = f"enter probe {k:03d} qk"
            tmux.send_text(session, text[:-1])
            tmux.wait_for(session, contains(text[:-1]), timeout=10, what="the typed text")
            key_start = time.perf_counter()
            tmux.send_text(session, text[-1])
            key_time = tmux.wait_for(session, contains(text), start=key_start, timeout=10, what="the last letter")
            start = time.perf_counter()
            tmux.send_key(session, "Enter")
            free_time = tmux.wait_for(session, _box_free, start=start, timeout=10, what="the box to be free")
            entry = line_matches(rf"bench\s+{text}")
            drawn_time = tmux.wait_for(
                session, lambda screen: entry(screen) and _box_free(screen), start=start, timeout=10,
                what="the entry in the timeline",
            )
            if k >= warmup:
                free.append(free_time)
                drawn.append(drawn_time)
                key.append(key_time)
            time.sleep(0.05)
    finally:
        if session is not None:
            tmux.kill_session(session)
        if own_tmux:
            tmux.close()
        shutil.rmtree(root, ignore_errors=True)

    s_free, s_drawn, s_key = summary(free, 1000, 1), summary(drawn, 1000, 1), summary(key, 1000, 1)
    return [
        row(
            "P11.burst", f"{lines} lines + Enter sent back to back: entries written exactly, in order",
            "entries", exact_in_order, target=f"= {lines}", met=burst_ok,
            lines_sent=lines, entries_written=len(written), send_seconds=round(send_seconds, 3),
            last_entry_after_seconds=round(burst_seconds, 2),
        ),
        row(
            "P11.free", "Enter -> scribe box free for the next line (tmux)",
            "ms", s_free["median"], baseline=s_key["median"], target="<= 1x keystroke",
            met=s_free["median"] <= s_key["median"], stats=s_free, baseline_stats=s_key,
        ),
        row(
            "P11.saved", "Enter -> entry drawn in the timeline, box free (tmux)",
            "ms", s_drawn["median"], baseline=s_key["median"], target="—", stats=s_drawn,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = measure(args.lines, args.probes)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        extra = {k: v for k, v in r.items() if k in ("lines_sent", "entries_written", "last_entry_after_seconds", "p99", "baseline")}
        print(f"{r['id']:<9} {r['figure']:<75} {r['value']} {r['unit']}  {extra}  met={r['met']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
