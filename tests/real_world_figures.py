"""Figures for real-world input, from the fixtures of each layer's tests (written here in the
shapes public postmortems, runbook collections and Alertmanager deliveries have):

* timeline import: entries read as checked by hand (``timelines/expected.json``) over the
  entries in the fixtures, with the files a strict import takes whole;
* runbooks: steps found, and runbooks left with none;
* alerts: alerts stored over alerts sent (a real server process), and labels kept.

    .venv/bin/python tests/real_world_figures.py

It uses whatever ``warroom`` is importable, so the same figures can be taken for another
tree (``PYTHONPATH=/path/to/other/tree``) to compare. Not a test: it prints and exits 0.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TIMELINES = TESTS / "export" / "fixtures" / "timelines"
COLLECTION = TESTS / "runbooks" / "fixtures" / "collection"
ALERTS = TESTS / "server" / "fixtures" / "alertmanager"


def timelines() -> None:
    from warroom.export.importer import parse_notes

    expected = json.loads((TIMELINES / "expected.json").read_text())
    now = datetime.fromisoformat(expected["now"])
    total = right = read = whole = 0
    for name, truth in expected["files"].items():
        text = (TIMELINES / name).read_text()
        try:  # as `warroom import FILE` reads it with no --date
            result = parse_notes(text, now=now)
        except TypeError:  # an older importer needs the date; its command line gave today's
            result = parse_notes(text, default_date=now.date(), now=now)
        got = {(f"{e.at:%Y-%m-%dT%H:%MZ}", e.text) for e in result.entries}
        want = {(at, text) for at, _kind, text in truth["entries"]}
        total += len(truth["entries"]) + len(truth["not_imported"])
        read += len(result.entries)
        right += len(got & want)
        whole += not result.errors
        print(f"  {name:<28} {len(got & want):>3}/{len(truth['entries']) + len(truth['not_imported'])} read right, "
              f"{len(result.errors)} unreadable line(s)")  # fmt: skip
    print(f"timeline entries read right / entries in the fixtures: {right}/{total} "
          f"({read} entries produced); files a strict import takes: {whole}/{len(expected['files'])}")  # fmt: skip


def runbooks() -> None:
    from warroom.runbooks.parser import RunbookError, load_runbook, load_runbook_dir

    root = COLLECTION
    each = []
    for path in sorted(root.rglob("*.md")):
        try:
            each.append(load_runbook(path).step_count)
        except RunbookError:
            each.append(None)
    print(f"  each file parsed alone: {sum(n or 0 for n in each)} steps, {each.count(0)} with none, "
          f"{each.count(None)} refused")  # fmt: skip
    books, errors = load_runbook_dir([root])
    for book in sorted(books, key=lambda b: b.path):
        print(f"  {Path(book.path).relative_to(COLLECTION)!s:<34} id {book.id:<26} {book.step_count} steps")
    empty = sum(1 for book in books if book.step_count == 0)
    files = len(list(COLLECTION.rglob("*.md")))
    print(f"runbook steps found: {sum(b.step_count for b in books)} in {len(books)} of {files} files loaded "
          f"({len(errors)} refused); runbooks with no steps: {empty}")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def alerts() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from alertgroups import big_group  # the same 1,000-alert group the test sends

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "warroom.server", "--data-dir", tmp, "--port", str(port), "--insecure-no-auth"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=tmp,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if _request(f"{base}/v1/health")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            sent = labels_sent = 0
            bodies = [json.loads(p.read_text()) for p in sorted(ALERTS.glob("*.json"))]
            bodies.append(big_group(1000, "figures"))
            refused = 0
            started = time.monotonic()
            for body in bodies:
                status, _ = _request(f"{base}/v1/hooks/alertmanager", json.dumps(body).encode())
                refused += status != 200
                for alert in body["alerts"]:
                    heartbeat = alert["labels"].get("alertname") in ("Watchdog", "InfoInhibitor")
                    sent += not heartbeat
                    labels_sent += 0 if heartbeat else len(alert["labels"]) + len(alert["annotations"])
            elapsed = time.monotonic() - started
            events, cursor = [], ""
            while True:
                _, page = _request(f"{base}/v1/feed?timeout=0&limit=1000" + (f"&cursor={cursor}" if cursor else ""))
                events += [item["event"] for item in page["events"]]
                cursor = page["cursor"]
                if not page["more"]:
                    break
            entries = [e for e in events if e["kind"] == "entry.logged" and e["payload"]["text"].startswith("Alert ")]
            kept = sum(
                sum(1 for key in e["payload"].get("details", {}) if key.startswith(("labels.", "annotations."))) for e in entries
            )
            print(f"alerts stored / alerts sent (heartbeats left out): {len(entries)}/{sent}; labels and annotations "
                  f"kept: {kept}/{labels_sent}; notifications refused: {refused}/{len(bodies)}; {elapsed:.1f} s for all")  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)
            log.close()


if __name__ == "__main__":
    timelines()
    runbooks()
    alerts()
