"""P8: screen to screen: Enter in TUI A until the entry is drawn in TUI B (one server).

    python bench/screen_to_screen.py [--count 40]

One real ``warroom server`` (tokens for alice and bob) on 127.0.0.1. Each person has their own
WARROOM_DATA_DIR / WARROOM_CONFIG_DIR / WARROOM_USER and ran ``warroom login``; alice
declared the incident with the CLI. Both TUIs run in tmux (120x40). For each probe we type a
line into A's scribe box, wait until A shows it, press Enter and poll B's pane (~1 ms) until
the line is drawn there: A's parse + journal fsync + fold, A's push, the server's commit and
feed wake-up, B's long-poll, B's journal fsync + fold + refresh, and tmux.

Compared with P4 (client push → long-poll receive) of the same run; run alone, this script
measures P4 first with 200 events.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, Tmux, cli_env, contains, line_matches, row, summary, warroom_command  # noqa: E402

# The tests' launcher: one way to run a real server on a free port, for tests and benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serverproc import ServerProcess  # noqa: E402

TITLE = "Screen to screen bench"


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([PYTHON, "-m", "warroom", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"warroom {' '.join(args[:2])} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def measure(count: int = 40, *, p4: dict | None = None, tmux: Tmux | None = None) -> list[dict]:
    if p4 is None:
        from propagation import measure as measure_p4

        p4 = measure_p4(200)[0]
    own_tmux = tmux is None
    tmux = tmux or Tmux()
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p8-"))
    server = ServerProcess(root / "server")
    people = {}
    sessions = []
    latencies: list[float] = []
    rng = random.Random(8)
    try:
        tokens = {name: server.add_token(name) for name in ("alice", "bob")}
        server.start()
        for name in ("alice", "bob"):
            data, config = root / name / "data", root / name / "config"
            env = cli_env(data, config, name)
            _cli(["login", server.url, "--token", tokens[name]], env)
            people[name] = (data, config, env)
        _cli(["declare", "--title", TITLE, "--sev", "2"], people["alice"][2])
        for name in ("bob", "alice"):
            data, config, _ = people[name]
            sessions.append(tmux.new_session(warroom_command(data, config, name)))
        b_session, a_session = sessions
        for session in sessions:
            tmux.wait_for(session, lambda s: TITLE in s and "online" in s, timeout=60, what="the incident, online")
        time.sleep(0.5)
        warmup = 3
        for k in range(count + warmup):
            text = f"s2s probe {k} qk{k:03d}x"
            tmux.send_text(a_session, text)
            tmux.wait_for(a_session, contains(text), timeout=10, what="the typed text in A")
            start = time.perf_counter()
            tmux.send_key(a_session, "Enter")
            elapsed = tmux.wait_for(b_session, contains(f"qk{k:03d}x"), start=start, timeout=20, what="the entry in B")
            if k >= warmup:
                latencies.append(elapsed)
            tmux.wait_for(a_session, line_matches(rf"alice\s+{text}"), timeout=10, what="the entry in A's timeline")
            time.sleep(rng.uniform(0.05, 0.1))
    finally:
        for session in sessions:
            tmux.kill_session(session)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        if own_tmux:
            tmux.close()
    s = summary(latencies, 1000, 1)
    return [
        row(
            "P8", f"screen to screen: Enter in TUI A -> drawn in TUI B (p50 over {count})", "ms", s["median"],
            baseline=p4["value"], target="p50 <= 30 ms; p99 <= 60 ms",
            met=s["median"] <= 30 and s["p99"] <= 60, stats=s,
            compared_with="P4 of the same run (client push -> long-poll receive)",
            p4_p99=p4.get("p99"),
            samples_ms=[round(v * 1000, 1) for v in latencies],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40)
    print(json.dumps(measure(parser.parse_args().count), indent=2))


if __name__ == "__main__":
    main()
