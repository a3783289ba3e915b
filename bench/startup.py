"""P1: cold start to first full frame, in tmux, against a bare Textual app.

    python bench/startup.py [--runs 7]

Both apps are started the same way in a detached tmux session; we poll ``capture-pane``
until a string that only the finished first frame contains appears. The median is quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def time_to_screen(command: str, marker: str, *, size=(120, 40), timeout: float = 20.0) -> float:
    session = f"bench{os.getpid()}"
    subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command],
        check=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if marker in screen:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"{marker!r} never appeared")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)


def measure(runs: int) -> dict:
    data = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    shutil.copytree(ROOT / "sample_data" / "incidents", data / "incidents")
    env = f"WARROOM_DATA_DIR={data} WARROOM_CONFIG_DIR={data}/config WARROOM_USER=bench"
    warroom = f"cd {ROOT} && {env} {PYTHON} -m warroom"
    bare = f"cd {ROOT} && {PYTHON} bench/_bare_app.py"
    # The last sample entry of the selected incident: on screen only once loaded and drawn.
    marker = "Support macro updated"
    ours, base = [], []
    time_to_screen(warroom, marker)  # warm-up: page cache, .pyc files
    time_to_screen(bare, "bare-app-ready")
    for _ in range(runs):
        ours.append(time_to_screen(warroom, marker))
        base.append(time_to_screen(bare, "bare-app-ready"))
    shutil.rmtree(data, ignore_errors=True)
    median_ours, median_base = statistics.median(ours), statistics.median(base)
    return {
        "id": "P1",
        "figure": "cold start to first full frame (sample data, tmux 120x40)",
        "unit": "s",
        "value": round(median_ours, 4),
        "min": round(min(ours), 4),
        "max": round(max(ours), 4),
        "baseline": round(median_base, 4),
        "ratio": round(median_ours / median_base, 3),
        "target": "<= 1.3x",
        "met": median_ours / median_base <= 1.3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is required for this benchmark (apt-get install tmux)")
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
