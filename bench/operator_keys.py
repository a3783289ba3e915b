"""Operator speed: count the keys an IC or scribe presses for the common flows, in tmux.

    python bench/operator_keys.py

Each flow is typed into the real TUI (tmux, 120x36, a copy of the sample incidents) and then
checked against what landed in the journals, so a count is only reported for a flow that
worked. Typed text (titles, names, entry text) is not counted as keys; everything else is.

| flow | goal |
| --- | --- |
| declare a SEV1 with title and IC (Enter, then Enter on what will be declared) | <= 12 keys beyond the text |
| log an entry: keys to reach the scribe input from anywhere | <= 1 |
| tick the next checklist step | 1 key |
| fill and copy a status update | <= 4 keys |
| brief and copy | <= 2 keys |
| run the next step's command | <= 2 keys |
| change the severity (s, digit, Enter to confirm old → new) | <= 3 keys |
| hand over IC (r, Enter, name, Enter, Enter to confirm) | <= 4 keys beyond the name |
| resolve (t, End, Enter, Enter to confirm) | <= 4 keys |

Changes to the incident end with one confirmation key (Enter on the dialog that shows old →
new). The script also checks that a sentence typed with no text box focused changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warroom.domain import commands  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402

SESSION = f"opkeys{os.getpid()}"
TMUX = ["tmux", "-L", SESSION]


def tmux(*args: str) -> str:
    return subprocess.run([*TMUX, *args], capture_output=True, text=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(predicate, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"operator_keys: timed out waiting for {what}\n{screen()}")


class Flow:
    """Counts keys (not text) while sending them to tmux."""

    def __init__(self, name: str, goal: int) -> None:
        self.name = name
        self.goal = goal
        self.keys = 0
        self.text_chars = 0

    def key(self, *keys: str) -> "Flow":
        for key in keys:
            tmux("send-keys", "-t", SESSION, key)
            self.keys += 1
            time.sleep(0.15)
        return self

    def text(self, text: str) -> "Flow":
        tmux("send-keys", "-t", SESSION, "-l", text)
        self.text_chars += len(text)
        time.sleep(0.2)
        return self


def state(data_dir: Path, ref: str | None = None):
    workspace = Workspace(data_dir, "checker", signer=None)  # only reads
    workspace.load()
    return workspace.get(ref) if ref else workspace


def main() -> int:
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is required")
    data = Path(tempfile.mkdtemp(prefix="warroom-opkeys-"))
    shutil.copytree(ROOT / "sample_data" / "incidents", data / "incidents")
    env = f"WARROOM_DATA_DIR={data} WARROOM_CONFIG_DIR={data}/config WARROOM_USER=alice"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36", f"cd {ROOT} && {env} {sys.executable} -m warroom")
    tmux("set-option", "-g", "set-clipboard", "on")  # so OSC 52 copies land in tmux's buffer
    results: list[Flow] = []
    try:
        wait_for(lambda: "Support macro updated" in screen(), "the first frame")
        before = {i.id for i in state(data).incidents()}

        # 1. Declare a SEV1 with a title and an IC. ctrl+n works even from the scribe box; the
        #    dialog starts on the title; the severity list is three fields down, SEV1 is one
        #    above the default SEV2; Enter in the IC field declares.
        declare = Flow("declare a SEV1 with title and IC", 12)
        declare.key("C-n").text("Checkout down in EU").key("Tab", "Tab", "Tab", "Enter", "Up", "Enter", "Tab").text("bob").key("Enter")
        wait_for(lambda: "Declare a new incident" in screen(), "the confirmation")
        declare.key("Enter")
        wait_for(lambda: len(state(data).incidents()) == len(before) + 1, "the declared incident")
        new = next(i for i in state(data).incidents() if i.id not in before)
        assert new.severity.value == "SEV1" and new.commander == "bob" and new.title == "Checkout down in EU", new
        results.append(declare)

        # 2. Log an entry: one key reaches the scribe box from anywhere on the main screen.
        log = Flow("log an entry: keys to reach the input", 1)
        tmux("send-keys", "-t", SESSION, "Escape")  # start from the timeline, not the box
        time.sleep(0.2)
        log.key("i")
        log.text("Rollback started")
        tmux("send-keys", "-t", SESSION, "Enter")  # Enter submits: part of typing the entry
        wait_for(lambda: state(data, new.id).timeline[-1].text == "Rollback started", "the logged entry")
        results.append(log)

        # 3. Tick the next checklist step: one key from anywhere but a text box.
        tick = Flow("tick the next checklist step", 1)
        tmux("send-keys", "-t", SESSION, "Escape")
        time.sleep(0.2)
        done_before = state(data, new.id).checklists["ic-first-five-minutes"].progress[0]
        tick.key(".")
        wait_for(lambda: state(data, new.id).checklists["ic-first-five-minutes"].progress[0] == done_before + 1, "the tick")
        results.append(tick)

        # 4. Fill a status update from live state and copy it (OSC 52).
        update = Flow("fill and copy a status update", 4)
        tmux("delete-buffer")
        update.key("U", "C-y")
        wait_for(lambda: "INCIDENT UPDATE" in tmux("show-buffer"), "the copied update")
        assert "Checkout down in EU" in tmux("show-buffer")
        update.key("Escape")
        results.append(update)

        # 5. The situation brief, copied (OSC 52) to paste to whoever asked "where are we?".
        #    Closing it afterwards (Escape) is not part of getting the brief.
        brief = Flow("brief and copy", 2)
        tmux("delete-buffer")
        brief.key("b", "c")
        wait_for(lambda: f"Situation brief · #{new.id[-8:]}" in tmux("show-buffer"), "the copied brief")
        assert "Checkout down in EU" in tmux("show-buffer")
        tmux("send-keys", "-t", SESSION, "Escape")
        time.sleep(0.2)
        results.append(brief)

        # 6. Run the next step's command: a teammate attaches a runbook whose step has a
        #    command (from another process; the console picks it up), then one key shows the
        #    command and whose runbook it is, and one more confirms. Closing the output panel
        #    afterwards is not part of running it.
        teammate = Workspace(data, "carol")
        teammate.load()
        steps = [{"id": "check/recent-deploys", "text": "Check recent deploys", "section": "Check", "code": ["printf 'rev 41 v2.14.2\\nrev 42 v2.14.3\\n'"]}]
        teammate.record([commands.attach_runbook(teammate.factory, teammate.get(new.id), runbook_id="deploy-checks", title="Deploy checks", steps=steps, source="deploy-checks.md")])
        wait_for(lambda: "Deploy checks" in screen(), "the attached runbook on screen")
        run = Flow("run the next step's command", 2)
        run.key("!", "y")
        wait_for(lambda: state(data, new.id).command_runs, "the logged run")
        (ran,) = state(data, new.id).command_runs.values()
        assert ran.exit_code == 0 and ran.output == "rev 41 v2.14.2\nrev 42 v2.14.3\n", ran
        tmux("send-keys", "-t", SESSION, "Escape")
        results.append(run)

        time.sleep(0.2)

        # 7. Stray typing: a sentence typed on the timeline, not in the box, changes nothing.
        time.sleep(0.3)
        tmux("send-keys", "-t", SESSION, "Escape")
        time.sleep(0.2)
        events_before = len(state(data).events(new.id))
        for character in "saw 2 errors the db is slow":
            tmux("send-keys", "-t", SESSION, "-l", character)
            time.sleep(0.03)
        wait_for(lambda: "saw 2 errors the db is slow" in screen(), "the sentence in the scribe box")
        assert len(state(data).events(new.id)) == events_before, "stray typing changed the incident"
        tmux("send-keys", "-t", SESSION, "C-u")
        tmux("send-keys", "-t", SESSION, "Escape")
        time.sleep(0.2)

        # 8. Change the severity: s, the digit, then Enter on "SEV1 → SEV2".
        severity = Flow("change the severity", 3)
        severity.key("s", "2", "Enter")
        wait_for(lambda: state(data, new.id).severity.value == "SEV2", "the new severity")
        results.append(severity)

        # 9. Hand over IC: r, Enter (IC is first), the name, Enter, Enter on "bob → carol".
        handover = Flow("hand over IC", 4)
        handover.key("r", "Enter").text("carol").key("Enter", "Enter")
        wait_for(lambda: state(data, new.id).commander == "carol", "the new IC")
        results.append(handover)
        wait_for(lambda: "Hand-over brief" in screen(), "the hand-over brief")
        tmux("send-keys", "-t", SESSION, "Escape")  # closing the brief is not part of handing over
        time.sleep(0.2)

        # 10. Resolve: t, End (resolved is last), Enter, Enter on the confirmation.
        resolve = Flow("resolve", 4)
        resolve.key("t", "End", "Enter", "Enter")
        wait_for(lambda: state(data, new.id).status.value == "resolved", "the resolution")
        results.append(resolve)
    finally:
        tmux("kill-server")
        shutil.rmtree(data, ignore_errors=True)

    print(f"{'flow':<40} {'keys':>5} {'goal':>5}  met")
    for flow in results:
        print(f"{flow.name:<40} {flow.keys:>5} {flow.goal:>5}  {'yes' if flow.keys <= flow.goal else 'NO'}")
    return 0 if all(flow.keys <= flow.goal for flow in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
