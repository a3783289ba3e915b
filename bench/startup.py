"""P1: cold start to first full frame, in tmux, against a bare Textual app.

    python bench/startup.py [--runs 7]

Both apps are started the same way in a detached tmux session (a fresh process each time);
we poll the pane until a string that only the finished first frame contains appears: for
warroom the last entry of the selected sample incident (so the journals are loaded, folded and
drawn), for the baseline the text of its one Label. One warm-up run each (page cache, .pyc),
then the runs alternate so both see the same machine load. The median is quoted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, Tmux, row, shell_command, summary, time_to_screen, warroom_command  # noqa: E402

BARE_MARKER = "bare-app-ready"


def first_frame_marker(data_dir: Path) -> str:
    """The start of the last entry of the incident the TUI selects first (the worst active
    one): it is on screen only once the journals are loaded, folded and drawn. Read from the
    copy, so the sample files themselves are never opened for writing."""
    from warroom.store.workspace import Workspace

    ws = Workspace(data_dir, "bench")
    ws.load()
    text = ws.incidents()[0].timeline[-1].text
    return text[:24]


def bare_command(script: str = "_bare_app.py") -> str:
    return shell_command([PYTHON, str(ROOT / "bench" / script)])


def measure(runs: int = 7, tmux: Tmux | None = None) -> list[dict]:
    own = tmux is None
    tmux = tmux or Tmux()
    data = Path(tempfile.mkdtemp(prefix="warroom-bench-p1-"))
    try:
        shutil.copytree(ROOT / "sample_data" / "incidents", data / "incidents")
        marker = first_frame_marker(data)
        ours_cmd = warroom_command(data, data / "config", "bench")
        bare_cmd = bare_command()
        ours, base = [], []
        for n in range(runs + 1):
            for command, wanted, out in ((ours_cmd, marker, ours), (bare_cmd, BARE_MARKER, base)):
                elapsed, session = time_to_screen(tmux, command, wanted)
                tmux.kill_session(session)
                if n:  # run 0 is the warm-up
                    out.append(elapsed)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        if own:
            tmux.close()
    s_ours, s_base = summary(ours, 1000, 1), summary(base, 1000, 1)
    ratio = s_ours["median"] / s_base["median"]
    return [
        row(
            "P1",
            "cold start to first full frame (sample data, tmux 120x40)",
            "ms",
            s_ours["median"],
            baseline=s_base["median"],
            target="<= 1.3x",
            met=ratio <= 1.3,
            stats=s_ours,
            baseline_stats=s_base,
            compared_with="bare Textual app showing one Label (bench/_bare_app.py), same method",
            marker=marker,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
