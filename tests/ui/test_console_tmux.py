"""The real console in a real terminal (tmux): lines sent with no delay at all, pastes, stray
typing, a broken config file and a read-only data directory. What counts is what reached the
journal on disk, read back by a separate Workspace."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom.store.workspace import Workspace

try:
    from tmuxproc import Console, needs_tmux
except ImportError:  # tests/ collected as a package
    from tests.tmuxproc import Console, needs_tmux

pytestmark = needs_tmux

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data" / "incidents"
READY = "Log: text"  # the scribe box's placeholder: the box is empty


def ready(console: Console) -> str:
    """Until the journals are loaded (the timeline counts its entries) and the box is empty."""
    return console.wait_for(lambda screen: READY in screen and " entries " in screen, "the console to load")


@pytest.fixture
def data(tmp_path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(SAMPLES, data_dir / "incidents")
    return data_dir


@pytest.fixture
def console_factory(tmp_path):
    consoles: list[Console] = []

    def make(data_dir: Path, **kwargs) -> Console:
        console = Console(data_dir, tmp_path / "config", **kwargs)
        consoles.append(console)
        return console

    yield make
    for console in consoles:
        console.close()


def first_incident(data_dir: Path):
    reader = Workspace(data_dir, "reader")
    reader.load()
    return reader.incidents()[0]  # the one the console selects at start


def texts(data_dir: Path, incident_id: str) -> list[str]:
    reader = Workspace(data_dir, "reader")
    reader.load()
    return [e.text for e in reader.get(incident_id).timeline if not e.kind.is_automatic]


def wait_for_texts(data_dir: Path, incident_id: str, count: int, console: Console, timeout: float = 90.0) -> list[str]:
    console.wait_for(lambda _screen: len(texts(data_dir, incident_id)) >= count, f"{count} entries on disk", timeout)
    return texts(data_dir, incident_id)


LINES = [f"burst {n:03d} rollback step {n} done" for n in range(200)]


@pytest.mark.parametrize("slow_fsync_ms", [0, 20], ids=["disk", "slow-fsync"])
def test_200_lines_sent_with_no_delay_are_200_entries_in_order(data, console_factory, slow_fsync_ms):
    incident = first_incident(data)
    before = texts(data, incident.id)
    env = {"WARROOM_TEST_SLOW_FSYNC_MS": str(slow_fsync_ms)} if slow_fsync_ms else {}
    console = console_factory(data, env=env)
    ready(console)
    console.send_lines(LINES)
    after = wait_for_texts(data, incident.id, len(before) + 200, console)
    assert after == before + LINES
    console.wait_for(lambda screen: "saved ✓" in screen and READY in screen, "every line saved, the box empty")


def test_a_refused_line_in_the_burst_is_listed_and_nothing_merges(data, console_factory):
    incident = first_incident(data)
    before = texts(data, incident.id)
    console = console_factory(data)
    ready(console)
    console.send_lines(LINES[:100] + ["/foo no such kind"] + LINES[100:])
    after = wait_for_texts(data, incident.id, len(before) + 200, console)
    assert after == before + LINES
    screen = console.wait_for_text("Not saved (1)")
    assert "/foo no such kind" in screen and "unknown entry kind" in screen


def recent_paste() -> list[str]:
    """20 notes dated over the last half hour (the console runs on the real clock)."""
    now = datetime.now(timezone.utc)
    first = now - timedelta(minutes=30)
    if first.date() != now.date():
        pytest.skip("within half an hour of midnight UTC: the times would be yesterday's")
    return [f"{first + timedelta(minutes=n):%H:%M} - pasted note {n}" for n in range(20)]


def test_bracketed_paste_of_20_lines_asks_once(data, console_factory):
    incident = first_incident(data)
    before = Counter(texts(data, incident.id))
    console = console_factory(data)
    ready(console)
    console.paste("\n".join(recent_paste()) + "\n", bracketed=True)
    console.wait_for_text("Paste: 20 lines")
    console.key("Enter")  # one entry per line
    added = Counter(wait_for_texts(data, incident.id, sum(before.values()) + 20, console)) - before
    assert sorted(added.elements()) == sorted(f"pasted note {n}" for n in range(20))


def test_unbracketed_paste_of_20_lines_is_20_entries(data, console_factory):
    incident = first_incident(data)
    before = Counter(texts(data, incident.id))
    console = console_factory(data)
    ready(console)
    console.paste("\n".join(recent_paste()) + "\n", bracketed=False)
    added = Counter(wait_for_texts(data, incident.id, sum(before.values()) + 20, console)) - before
    assert sorted(added.elements()) == sorted(f"pasted note {n}" for n in range(20))


def test_a_paste_over_the_limit_is_refused_with_a_message_and_the_box_keeps_its_text(data, console_factory):
    incident = first_incident(data)
    before = texts(data, incident.id)
    console = console_factory(data)
    ready(console)
    console.type("kept words")
    console.wait_for_text("kept words")
    console.paste(" ".join(f"w{n}" for n in range(2000)), bracketed=True)  # ~9,800 characters
    console.wait_for_text("an entry holds 4,000")
    console.key("Escape")
    screen = console.wait_for_text("paste NOT logged")
    assert "kept words" in screen
    assert texts(data, incident.id) == before


def test_stray_typing_outside_the_box_changes_nothing(data, console_factory):
    incident = first_incident(data)
    journal = next((data / "incidents").glob(f"{incident.id}.jsonl"))
    before = journal.read_bytes()
    console = console_factory(data)
    ready(console)
    console.key("Escape")  # out of the scribe box, onto the timeline
    console.type("saw 2 errors the db is slow", delay=0.03)  # a fast typist, ~30 ms a key
    screen = console.wait_for_text("saw 2 errors the db is slow")
    assert "Set severity" not in screen and "Status (now" not in screen
    assert journal.read_bytes() == before  # not one event


def test_a_broken_config_file_still_opens_the_console_with_a_banner(data, console_factory, tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('user = "alice"\n\n[keymap\n"incident.declare" = "ctrl+d"\n')
    console = console_factory(data)
    screen = ready(console)
    unwrapped = " ".join(screen.split())
    assert "Running on default settings" in unwrapped and "config.toml" in unwrapped.replace(" ", "")
    assert "line 3" in unwrapped
    assert "SEV1" in screen and "51 entries" in screen  # the incidents are there
    assert config.read_text().startswith('user = "alice"')  # not rewritten


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "-r", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare (user + mount namespaces) for a read-only mount")
def test_a_read_only_data_dir_opens_read_only(data, console_factory):
    """The data dir is bind-mounted read-only in the console's own mount namespace: a real
    EROFS, even for root (chmod would not stop root)."""
    incident = first_incident(data)
    journals = {p.name: p.read_bytes() for p in (data / "incidents").iterdir()}
    script = f'mount --bind "{data}" "{data}" && mount -o remount,bind,ro "{data}" && exec "$@"'
    console = console_factory(data, wrap=["unshare", "-m", "-r", "sh", "-c", script, "sh"])
    screen = console.wait_for(lambda s: "Read-only" in s and "SEV1" in s and f"{len(incident.timeline)} entries" in s, "the incidents")
    assert "Read-only file system" in " ".join(screen.split())
    console.type("a line that cannot be saved")
    console.key("Enter")
    screen = console.wait_for_text("Not saved (1)")
    assert "read-only" in screen
    assert {p.name: p.read_bytes() for p in (data / "incidents").iterdir()} == journals
