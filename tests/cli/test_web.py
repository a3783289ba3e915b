"""`warroom web` serves the console to browsers on loopback (textual-serve)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

try:
    from serverproc import free_port
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port


def test_web_serves_the_app_page_on_loopback(sample_dir):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "warroom", "--data-dir", str(sample_dir), "web", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200
        assert "warroom" in page.text.lower()
        # The page opens a websocket that runs the real app; its endpoint is in the page.
        assert "ws" in page.text
    finally:
        process.terminate()
        process.wait(10)
