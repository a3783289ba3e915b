"""Run every benchmark (P1-P11), print a table and write bench/results.json.

    python bench/run.py            # full sizes (100k entries, 500 events...), a few minutes
    python bench/run.py --quick    # smaller sizes, under a minute
    python bench/run.py --only P2,P7 [--quick]

Each figure is also runnable alone (see bench/README.md). Figures that fail are reported as a
row with met = null and the error, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH, Tmux, log  # noqa: E402

FULL = {
    "P1": {"runs": 7},
    "P2": {"entries": 100_000, "opens": 3, "appends": 10, "load_reps": 3, "page_reps": 30},
    "P3": {"count": 1000},
    "P4": {"count": 500},
    "P5": {"events": 30_000, "pollers": (100, 1000), "rounds": 3},
    "P6": {"reps": 5},
    "P7": {"rounds": 3, "keys": 20},
    "P8": {"count": 40},
    "P9": {"events": 20_000, "lag_count": 300},
    "P10": {"sockets": 1000, "probes": 300},
    "P11": {"lines": 200, "probes": 30},
}
QUICK = {
    "P1": {"runs": 3},
    "P2": {"entries": 10_000, "opens": 1, "appends": 5, "load_reps": 1, "page_reps": 10},
    "P3": {"count": 300},
    "P4": {"count": 100},
    "P5": {"events": 6_000, "pollers": (100, 1000), "rounds": 2},
    "P6": {"reps": 2},
    "P7": {"rounds": 2, "keys": 20},
    "P8": {"count": 8},
    "P9": {"events": 3_000, "lag_count": 100},
    "P10": {"sockets": 1000, "probes": 100},
    "P11": {"lines": 200, "probes": 10},
}
ORDER = ["P1", "P2", "P6", "P7", "P3", "P4", "P5", "P8", "P9", "P10", "P11"]  # P2/P6/P7 share the big incident


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict]) -> str:
    headers = ["id", "figure", "unit", "value", "min", "median", "p99", "baseline", "ratio", "target", "met"]
    lines = []
    for r in rows:
        met = r.get("met")
        met_text = "n/a" if met is None else ("yes" if met else "NO")
        value = r.get("value")
        value_text = r.get("status", "—") if value is None else _fmt(value)
        lines.append([
            r["id"], r["figure"][:66], r["unit"], value_text, _fmt(r.get("min")), _fmt(r.get("median")),
            _fmt(r.get("p99")), _fmt(r.get("baseline")), _fmt(r.get("ratio")), r.get("target", ""), met_text,
        ])
    widths = [max(len(h), *(len(str(line[i])) for line in lines)) for i, h in enumerate(headers)]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths)), "-+-".join("-" * w for w in widths)]
    for line in lines:
        out.append(" | ".join(str(c).ljust(w) for c, w in zip(line, widths)))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    parser.add_argument("--only", help="comma-separated figure ids, e.g. P1,P3")
    parser.add_argument("--out", type=Path, default=BENCH / "results.json")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    wanted = [f.strip().upper() for f in args.only.split(",")] if args.only else ORDER
    unknown = set(wanted) - set(ORDER)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    entries = sizes["P2"]["entries"]
    rows: list[dict] = []
    started = time.perf_counter()
    load_before = os.getloadavg()
    big_dir: Path | None = None
    tmux = Tmux()
    p4_row = None
    try:
        for fid in [f for f in ORDER if f in wanted]:
            log(f"{fid} …")
            t0 = time.perf_counter()
            try:
                if fid in ("P2", "P6", "P7") and big_dir is None:
                    from timeline_big import make_big

                    big_dir = make_big(entries, Path(tempfile.mkdtemp(prefix="warroom-bench-big-")))
                if fid == "P1":
                    import startup

                    got = startup.measure(sizes["P1"]["runs"], tmux=tmux)
                elif fid == "P2":
                    import timeline_big

                    got = timeline_big.measure(data_dir=big_dir, tmux=tmux, **sizes["P2"])
                elif fid == "P3":
                    import journal_append

                    got = journal_append.measure(**sizes["P3"])
                elif fid == "P4":
                    import propagation

                    got = propagation.measure(**sizes["P4"])
                    p4_row = got[0]
                elif fid == "P5":
                    import ingest

                    got = ingest.measure(**sizes["P5"])
                elif fid == "P6":
                    import fold_export

                    got = fold_export.measure(entries, data_dir=big_dir, **sizes["P6"])
                elif fid == "P10":
                    import slow_bodies

                    got = slow_bodies.measure(**sizes["P10"])
                elif fid == "P9":
                    import replicas

                    got = replicas.measure(**sizes["P9"])
                elif fid == "P7":
                    import keystroke

                    got = keystroke.measure(entries, data_dir=big_dir, tmux=tmux, **sizes["P7"])
                elif fid == "P11":
                    import scribe_burst

                    got = scribe_burst.measure(tmux=tmux, **sizes["P11"])
                else:
                    import screen_to_screen

                    if p4_row is None:
                        import propagation

                        p4_row = propagation.measure(**sizes["P4"])[0]
                    got = screen_to_screen.measure(p4=p4_row, tmux=tmux, **sizes["P8"])
            except Exception as exc:
                traceback.print_exc()
                got = [{"id": fid, "figure": f"{fid} failed", "unit": "", "value": None, "baseline": None,
                        "ratio": None, "target": "", "met": None, "status": "error",
                        "error": f"{type(exc).__name__}: {exc}"[:2000]}]
            for r in got:
                r["seconds_taken"] = round(time.perf_counter() - t0, 1)
            rows.extend(got)
    finally:
        tmux.close()
        if big_dir is not None:
            shutil.rmtree(big_dir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    mode = "quick" if args.quick else "full"
    print(f"\nwarroom benchmarks ({mode}; {os.cpu_count()} cores, load {load_before[0]:.2f} -> "
          f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}; {elapsed:.0f} s)\n")
    print(table(rows))
    missed = [r["id"] for r in rows if r.get("met") is False]
    print()
    print(f"missed targets: {', '.join(missed)}" if missed else "all targets met (or n/a)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
