"""The installed product, not the checkout: build the sdist and, from it, the wheel (as
``pipx install`` from an index would), install the wheel into a fresh virtual environment in a
temp dir, and use ``warroom`` from there the way a person on a new laptop would.

The fresh venv sees the project venv's already-installed dependencies through a ``.pth`` line
(so no download), but never the checkout: warroom itself, its runbooks, templates, incident
types, sample incidents and themes must all come from the installed wheel.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import warroom

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SOURCES = ["sample_data/runbooks", "sample_data/checklists", "sample_data/templates", "sample_data/incidents", "themes"]
STEP_TIMEOUT = 120  # seconds; a hung step fails the test instead of hanging CI


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _shipped_files() -> set[str]:
    """Every data file the wheel must carry, as its path inside the wheel, from the checkout."""
    wanted = {"warroom/shipped/sample_data/incident_types.toml"}
    for source in SHIPPED_SOURCES:
        for path in (ROOT / source).rglob("*"):
            if path.is_file():
                wanted.add("warroom/shipped/" + path.relative_to(ROOT).as_posix())
    return wanted


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The sdist built from the checkout and the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    build = "from hatchling.build import {0}; print({0}({1!r}))"
    sdist = out / _run([sys.executable, "-c", build.format("build_sdist", str(out))], cwd=ROOT).stdout.strip()
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    wheel = out / _run([sys.executable, "-c", build.format("build_wheel", str(out))], cwd=source).stdout.strip()
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> dict:
    """A fresh venv outside the checkout with the wheel installed, and an environment whose
    data, config and temp dirs are all inside the temp dir."""
    base = tmp_path_factory.mktemp("installed")
    venv_dir = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)])
    python = venv_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # Dependencies (and pip) from the project venv; a path line does not run that directory's
    # own .pth files, so the project's editable install of warroom stays invisible.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "project_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir", "-q", str(built["wheel"])])
    home = base / "home"
    elsewhere = base / "elsewhere"
    tmpdir = base / "tmp"
    for directory in (home, elsewhere, tmpdir):
        directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARROOM_", "PYTHON", "XDG_", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        WARROOM_USER="alice",
        TMPDIR=str(tmpdir),
    )
    env.pop("NO_COLOR", None)
    return {"python": python, "warroom": venv_dir / "bin" / "warroom", "env": env, "cwd": elsewhere, "venv": venv_dir, "tmp": tmpdir}


def _warroom(installed, *args: str) -> str:
    return _run([str(installed["warroom"]), *args], cwd=installed["cwd"], env=installed["env"]).stdout


def test_wheel_and_sdist_carry_the_shipped_data(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = _shipped_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "warroom/ui/app.tcss" in names
    # The generator script is a tool for the checkout, not part of the product.
    assert not any(n.endswith("make_samples.py") for n in names)
    with tarfile.open(built["sdist"]) as archive:
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for source in [*SHIPPED_SOURCES, "sample_data/incident_types.toml"]:
        assert source in sdist_names or any(n.startswith(source + "/") for n in sdist_names), source


def test_installed_warroom_does_not_touch_the_checkout(installed):
    probe = (
        "import json, sys, warroom, warroom.cli, warroom.ui.app, warroom.ui.themes as t\n"
        "from warroom.store import paths\n"
        "files = [m.__file__ for n, m in sys.modules.items() if n.startswith('warroom') and getattr(m, '__file__', None)]\n"
        "themes, failed = t.load_themes()\n"
        "print(json.dumps({'files': files, 'path': sys.path, 'samples': str(paths.sample_data_dir()),"
        " 'themes': str(paths.shipped_theme_dir()), 'names': sorted(x.name for x in themes), 'failed': failed}))\n"
    )
    seen = json.loads(_run([str(installed["python"]), "-c", probe], cwd=installed["cwd"], env=installed["env"]).stdout)
    venv = str(installed["venv"])
    assert seen["files"] and all(f.startswith(venv) for f in seen["files"]), seen["files"]
    assert str(ROOT) not in seen["path"] and "" not in seen["path"][1:]
    assert seen["samples"].startswith(venv) and seen["themes"].startswith(venv)
    shipped = sorted(p.stem for p in (ROOT / "themes").glob("*.toml"))
    assert [n for n in seen["names"] if n.startswith("warroom-")] == shipped
    assert seen["failed"] == []


def test_version(installed):
    assert _warroom(installed, "--version").strip() == f"warroom {warroom.__version__}"


def test_smoke_declare_comms_export(installed):
    incident_id = _warroom(installed, "declare", "--title", "Card payments declined at checkout", "--sev", "1").strip()
    shown = json.loads(_warroom(installed, "show", incident_id, "--json"))
    assert shown["checklists"]["ic-first-five-minutes"]["steps"]

    listed = _warroom(installed, "comms", "list")
    template_ids = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert {p.stem for p in (ROOT / "sample_data/templates").iterdir()} <= template_ids

    rendered = _warroom(installed, "comms", "render", incident_id, "status-update")
    assert "Card payments declined at checkout" in rendered and "SEV1" in rendered

    _warroom(installed, "log", incident_id, "Rolled back the payment gateway deploy", "--kind", "action")
    out = installed["cwd"] / "pm.md"
    result = _run(
        [str(installed["warroom"]), "export", incident_id, "--format", "markdown", "--output", "pm.md"],
        cwd=installed["cwd"], env=installed["env"],
    )
    markdown = out.read_text()
    assert "Card payments declined at checkout" in markdown and "Rolled back the payment gateway deploy" in markdown
    assert str(out) in result.stderr + result.stdout  # says the absolute path it wrote


_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")


def test_demo_runs_from_the_installed_wheel(installed):
    """``warroom demo`` in a real pseudo-terminal (80×24), from a directory that is not a
    checkout: it shows the sample incidents and quits cleanly on ctrl+q, leaving no temp copy."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(installed["env"], TERM="xterm-256color", COLORTERM="truecolor")
    process = subprocess.Popen(
        [str(installed["warroom"]), "demo"], stdin=slave, stdout=slave, stderr=slave,
        cwd=installed["cwd"], env=env, start_new_session=True, close_fds=True,
    )
    os.close(slave)
    raw = b""
    screen = ""

    def read_until(words: tuple[str, ...], key: bytes = b"") -> None:
        """Read the screen until every word is on it, pressing ``key`` each second."""
        nonlocal raw, screen
        for tick in range(STEP_TIMEOUT * 10):  # bounded: at most STEP_TIMEOUT seconds of 0.1 s waits
            if key and not tick % 10:
                os.write(master, key)
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    raw += os.read(master, 65536)
                except OSError:
                    break
                screen = _ANSI.sub("", raw.decode("utf-8", "replace"))
                if all(word in screen for word in words):
                    return
            if process.poll() is not None:
                break
        raise AssertionError(f"{words} not on screen: {screen[-2000:]}")

    try:
        # The header names the live incident; the incidents pane (1) lists all three samples.
        read_until(("Checkout payments failing for all customers", "update due"))
        read_until(("Search results slow", "Login errors for some EU users"), key=b"1")
        # ctrl+q, again each second until it is read (the first may come before the app reads keys)
        for _ in range(STEP_TIMEOUT):
            os.write(master, b"\x11")
            try:
                process.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                if select.select([master], [], [], 0)[0]:
                    try:
                        os.read(master, 65536)  # keep the pty drained so the app never blocks writing
                    except OSError:
                        pass
        assert process.wait(timeout=STEP_TIMEOUT) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    assert "sample incidents not found" not in screen
    assert list(installed["tmp"].iterdir()) == []  # the throwaway copy was removed

