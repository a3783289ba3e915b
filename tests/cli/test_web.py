"""`warroom web` serves the console only to whoever has the link it printed, and the consoles
it starts end with their browser or with it.

The console is driven in a real headless Chromium (Debian's, through Playwright). On a
machine without Chromium the ``chromium`` fixture installs Debian's package when it runs as
root with apt-get (bounded by a timeout), and otherwise skips with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

try:
    from serverproc import free_port, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port, wait_until

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
APT_UPDATE_TIMEOUT = 300
APT_INSTALL_TIMEOUT = 900


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium binary, installing Debian's package if this test may."""
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')")
    found = _find_chromium()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and this test may not install it (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("\n[web tests] installing Debian's chromium with apt-get (once per machine)...", flush=True)
    try:
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=APT_INSTALL_TIMEOUT)
        if done.returncode != 0:  # a fresh machine has no package lists yet
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=APT_UPDATE_TIMEOUT)
            done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=APT_INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip("installing Chromium with apt-get took too long")
    found = _find_chromium()
    if done.returncode != 0 or not found:
        pytest.skip(f"could not install Chromium with apt-get: {done.stderr.strip()[-300:]}")
    return found


class Web:
    """A `warroom web` process on a free port and a copy of the sample incidents."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir.parent / "web.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_SERVER")}
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "--data-dir", str(data_dir), "--as", "alice",
             "web", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"), env=env,
        )  # fmt: skip
        wait_until(lambda: "open http" in self.log(), 30, "warroom web to print its link")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def link(self) -> str:
        return re.search(r"open (http\S+)", self.log()).group(1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def consoles(self) -> list[int]:
        """Pids of the consoles still running, whoever their parent is now."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"warroom" in b" ".join(argv) and str(self.data_dir).encode() in argv and b"web" not in argv:
                found.append(int(entry.name))
        return found

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def web(sample_dir):
    started = Web(sample_dir)
    yield started
    started.stop(signal.SIGKILL)
    for pid in started.consoles():  # never leave one behind, whatever the test did
        os.kill(pid, signal.SIGKILL)


def pump_until(page, predicate, timeout: float, what: str) -> None:
    """Like ``wait_until``, letting Playwright deliver its events meanwhile (the sync API
    dispatches them only inside its own calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timelines(data_dir: Path) -> str:
    """Every incident's timeline as `warroom show` prints it (entry text is sealed on disk)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_SERVER")}
    out = []
    for path in (data_dir / "incidents").glob("*.jsonl"):
        shown = subprocess.run(
            [sys.executable, "-m", "warroom", "--data-dir", str(data_dir), "--as", "alice", "show", path.stem[-8:]],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        out.append(shown.stdout)
    return "".join(out)


# --- without the secret: nothing starts ------------------------------------------------------


def test_without_the_link_nothing_starts(web):
    with httpx.Client(timeout=10) as http:
        page = http.get(f"{web.base}/")
        assert page.status_code == 401 and "link" in page.text
        assert "ws" not in page.text.split("<p>")[0]  # no console page
        wrong = http.get(f"{web.base}/?key=guessed-{web.link[-4:]}")
        assert wrong.status_code == 403
        upgrade = {
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }  # fmt: skip
        assert http.get(f"{web.base}/ws", headers=upgrade).status_code == 403
        # The cookie alone does not help another site's page drive a console.
        signed_in = http.get(web.link, follow_redirects=False)
        assert signed_in.status_code == 302 and "warroom_web" in signed_in.headers["set-cookie"]
        cross_site = http.get(f"{web.base}/ws", headers={**upgrade, "Origin": "http://evil.example"})
        assert cross_site.status_code == 403
    time.sleep(1.0)
    assert web.consoles() == []


def test_a_wrong_web_password_is_refused_and_the_right_one_signs_in(sample_dir, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('web_password = "correct horse battery"\n')
    server = Web(sample_dir, {"WARROOM_CONFIG_DIR": str(config)})
    try:
        with httpx.Client(timeout=10) as http:
            assert 'type="password"' in http.get(f"{server.base}/").text
            assert http.post(f"{server.base}/login", data={"password": "correct horse"}).status_code == 401
            right = http.post(f"{server.base}/login", data={"password": "correct horse battery"}, follow_redirects=False)
            assert right.status_code == 302 and "warroom_web" in right.headers["set-cookie"]
            assert http.get(f"{server.base}/").status_code == 200
    finally:
        server.stop()


# --- in a real browser -----------------------------------------------------------------------


def _open_console(playwright, chromium: str, profile: Path, url: str):
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 800},
    )  # fmt: skip
    page = context.new_page()
    frames: list[bytes] = []

    def on_socket(socket) -> None:
        socket.on("framereceived", lambda frame: frames.append(frame if isinstance(frame, bytes) else frame.encode()))

    page.on("websocket", on_socket)
    page.goto(url)
    return context, page, frames


def test_with_the_link_the_console_renders_and_an_entry_typed_lands_in_the_journal(web, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context, page, frames = _open_console(playwright, chromium, tmp_path / "profile", web.link)
        try:
            assert "key=" not in page.url  # the key left the address bar once the cookie was set
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            # The console drew the incidents: the titles of the sample data came over the socket.
            shown = lambda: b"".join(frames).decode("utf-8", "replace")  # noqa: E731
            pump_until(page, lambda: any(t in shown() for t in _sample_titles(web.data_dir)), 60, "the incident list")
            [console] = web.consoles()
            # A person types an entry: focus the terminal, open the scribe box, type, Enter.
            page.click(".xterm")
            page.keyboard.press("i")
            page.wait_for_timeout(500)
            page.keyboard.type("Rolled back the payments deploy from the browser")
            page.keyboard.press("Enter")
            pump_until(page, lambda: "Rolled back the payments deploy from the browser" in timelines(web.data_dir),
                       60, "the entry in an incident's timeline")
            # Idle, the console costs next to nothing (it used to spin at 100 % of a core).
            page.wait_for_timeout(1000)
            before = cpu_seconds(console)
            page.wait_for_timeout(3000)
            assert cpu_seconds(console) - before < 1.0
        finally:
            context.close()
        # The browser went away: so does its console.
        wait_until(lambda: web.consoles() == [], 20, "the console to end with its browser")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_consoles_end_when_warroom_web_stops(web, chromium, tmp_path, how):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context, page, _frames = _open_console(playwright, chromium, tmp_path / "profile", web.link)
        try:
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            wait_until(lambda: len(web.consoles()) == 1, 30, "a console")
            web.stop(how)  # SIGKILL: no shutdown code runs; the kernel tells the console
            wait_until(lambda: web.consoles() == [], 20, "no console left behind")
        finally:
            context.close()


def _sample_titles(data_dir: Path) -> list[str]:
    titles = []
    for path in (data_dir / "incidents").glob("*.jsonl"):
        first = path.read_text().splitlines()[0].split(" ", 1)[1]
        titles.append(json.loads(first)["payload"]["title"][:20])
    return titles
