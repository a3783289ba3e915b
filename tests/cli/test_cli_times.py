"""``warroom log --at HH:MM --tz ZONE``: read in the zone given, echoed, asked about (refused
in a script) when it lands more than 12 hours back."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

TOKYO = ZoneInfo("Asia/Tokyo")


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "warroom", *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_cli_at_is_read_in_tz_and_echoed(tmp_path):
    env = {**os.environ, "WARROOM_DATA_DIR": str(tmp_path / "d"), "WARROOM_CONFIG_DIR": str(tmp_path / "c"), "WARROOM_USER": "alice"}
    incident = _cli(["declare", "--title", "Checkout", "--sev", "2"], env).stdout.strip()
    now = datetime.now(timezone.utc)
    recent = (now - timedelta(minutes=5)).astimezone(TOKYO)
    done = _cli(["log", incident, "alert fired", "--at", f"{recent:%H:%M}", "--tz", "Asia/Tokyo"], env)
    if recent.date() != now.astimezone(TOKYO).date():
        pytest.skip("run within five minutes of midnight in Tokyo")
    assert done.returncode == 0, done.stderr
    assert f"{recent:%H:%M} JST" in done.stderr and f"{recent.astimezone(timezone.utc):%H:%M}Z" in done.stderr
    shown = _cli(["show", incident, "--json"], env).stdout
    assert f"{recent.astimezone(timezone.utc):%Y-%m-%dT%H:%M}" in shown

    # Default UTC; a bare time more than 12 h back is refused in a script, naming both times.
    old = (now - timedelta(hours=13)).astimezone(timezone.utc)
    refused = _cli(["log", incident, "too old", "--at", f"{old:%H:%M}"], env)
    assert refused.returncode == 1 and "13 h ago" in refused.stderr and "give the date" in refused.stderr
    assert "too old" not in _cli(["show", incident], env).stdout
    bad = _cli(["log", incident, "x", "--at", "10:00", "--tz", "Mars/Olympus"], env)
    assert bad.returncode == 1 and "unknown time zone" in bad.stderr
