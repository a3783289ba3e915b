"""A data dir we may only read is read (not reported empty), and a declare that fails on a full
disk leaves nothing behind.

Real filesystems where it matters: as root, a small tmpfs (remounted read-only, or filled to
the last byte); as anyone else, a directory without write permission (root ignores those, so
the full-disk case then skips with the reason).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_data" / "incidents"


def warroom(data_dir: Path, config_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DATA_DIR=str(data_dir), WARROOM_CONFIG_DIR=str(config_dir), WARROOM_USER="alice",
               PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "warroom", *argv], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")


def _unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs mounted for the test (root only); unmounted after it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs (a full disk cannot be made otherwise)")
    where = tmp_path / "mnt"
    _mount_tmpfs(where, "1m")
    yield where
    _unmount(where)


@pytest.fixture
def read_only_samples(tmp_path):
    """A data dir holding the sample incidents that this process cannot write to."""
    if os.geteuid() == 0:
        if shutil.which("mount") is None:
            pytest.skip("needs mount to make a read-only filesystem as root")
        where = tmp_path / "ro"
        _mount_tmpfs(where, "4m")
        shutil.copytree(SAMPLES, where / "incidents")
        done = subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            _unmount(where)
            pytest.skip(f"cannot remount read-only here ({done.stderr.strip()})")
        yield where
        _unmount(where)
    else:
        where = tmp_path / "ro"
        shutil.copytree(SAMPLES, where / "incidents")
        for path in [where, where / "incidents", *(where / "incidents").iterdir()]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        yield where
        for path in [where, where / "incidents"]:
            path.chmod(0o755)


def test_a_read_only_data_dir_is_listed_not_reported_empty(read_only_samples, tmp_path):
    listed = warroom(read_only_samples, tmp_path / "config", "list")
    assert listed.returncode == 0, listed.stderr
    assert "no incidents" not in listed.stdout
    assert "Checkout payments failing" in listed.stdout
    assert len(listed.stdout.strip().splitlines()) == len(list(SAMPLES.glob("*.jsonl")))
    shown = warroom(read_only_samples, tmp_path / "config", "show", listed.stdout.split()[0])
    assert shown.returncode == 0, shown.stderr
    # Writing is refused with the reason, and nothing changed.
    before = {p.name: p.read_bytes() for p in (read_only_samples / "incidents").iterdir()}
    logged = warroom(read_only_samples, tmp_path / "config", "log", listed.stdout.split()[0], "an entry")
    assert logged.returncode == 1
    assert "Read-only file system" in logged.stderr or "Permission denied" in logged.stderr
    assert {p.name: p.read_bytes() for p in (read_only_samples / "incidents").iterdir()} == before


def test_a_declare_that_fails_on_a_full_disk_leaves_nothing_behind(small_tmpfs, tmp_path):
    data = small_tmpfs / "data"
    config = tmp_path / "config"
    first = warroom(data, config, "declare", "--title", "Disk filling on db-3", "--sev", "2")
    assert first.returncode == 0, first.stderr
    # Fill the disk to the last byte.
    with open(small_tmpfs / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 512)
        except OSError:
            pass
    journals = sorted(p.name for p in (data / "incidents").iterdir())
    failed = warroom(data, config, "declare", "--title", "Checkout down", "--sev", "1")
    assert failed.returncode != 0
    assert "No space left" in failed.stderr and "NOT saved" in failed.stderr
    assert sorted(p.name for p in (data / "incidents").iterdir()) == journals  # no empty journal
    listed = warroom(data, config, "list")
    assert "unknown incident" not in listed.stdout and "Checkout down" not in listed.stdout
    assert "Disk filling on db-3" in listed.stdout
    # With room again, the same declare works.
    (small_tmpfs / "filler").unlink()
    again = warroom(data, config, "declare", "--title", "Checkout down", "--sev", "1")
    assert again.returncode == 0, again.stderr
    assert "Checkout down" in warroom(data, config, "list").stdout


def test_an_empty_journal_left_by_an_older_version_is_not_an_incident(tmp_path):
    data = tmp_path / "data"
    (data / "incidents").mkdir(parents=True)
    (data / "incidents" / "01a2f000-0000-7000-8000-000000000001.jsonl").write_bytes(b"")
    listed = warroom(data, tmp_path / "config", "list")
    assert listed.returncode == 0
    assert "unknown incident" not in listed.stdout and "SEV4" not in listed.stdout
