"""Changes to the incident: shown old → new before they are made, refused before anything is
written when the rules say no (also offline), dialogs keeping what was typed; and a console
that opens whatever state its config file is in."""

from __future__ import annotations

from warroom.domain.models import Severity, Status
from warroom.store.config import Config
from warroom.store.workspace import Workspace
from warroom.sync.client import SyncClient
from warroom.sync.engine import SyncEngine
from warroom.ui.screens.confirm import ConfirmChange
from warroom.ui.screens.declare import DeclareScreen
from warroom.ui.screens.pickers import AssignRoleScreen, StatusPicker, TextPrompt
from warroom.ui.widgets.notices import NoticeBar
from warroom.ui.widgets.scribe_desk import ScribeDesk
from warroom.ui.widgets.scribe import ScribeInput

try:
    from serverproc import free_port
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port


async def settle(pilot) -> None:
    for _ in range(3):
        # Not the sync worker: it runs until the app closes (and an empty list means all).
        workers = [w for w in pilot.app.workers if w.group != "sync"]
        if workers:
            await pilot.app.workers.wait_for_complete(workers)
        await pilot.pause()


# --- the console, offline ----------------------------------------------------------------------------


def offline_app(make_app, data_dir, user: str, clock):
    """A console configured for a server that cannot be reached (nothing listens there)."""
    app = make_app(data_dir, user=user, poll_journals=False)
    engine = SyncEngine(
        app.workspace,
        SyncClient(f"http://127.0.0.1:{free_port()}", "token-unused", timeout=1.0, connect_timeout=0.5),
        apply=app.workspace.ingest,
        backoff_base=0.05,
        backoff_cap=0.2,
        scan_interval=0.5,
    )
    app.sync_engine = engine
    return app


async def test_non_ic_resolve_and_handover_are_refused_locally_while_offline(make_app, sample_dir, clock):
    app = offline_app(make_app, sample_dir, "bob", clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident = app.current
        assert incident.commander == "grace" and incident.status is Status.MONITORING
        events_before = len(app.workspace.events(incident.id))

        await pilot.press("escape", "t")
        assert isinstance(app.screen, StatusPicker)
        await pilot.press("enter")  # resolved: the highlighted next step
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmChange)  # refused before anything is asked
        notice = app.query_one(NoticeBar).notice("refused")
        assert "only the incident commander (grace)" in notice and "Nothing was written" in notice
        assert app.current.status is Status.MONITORING

        await pilot.press("r", "enter", *"bob", "enter")  # hand IC to himself
        await settle(pilot)
        assert isinstance(app.screen, AssignRoleScreen)  # stays open, the name kept
        assert app.screen.query_one("#person").value == "bob"
        assert "only the incident commander" in str(app.screen.query_one("#hint").render())
        assert app.current.commander == "grace"
        await pilot.press("escape")

        assert len(app.workspace.events(incident.id)) == events_before
    reader = Workspace(sample_dir, "reader", clock)
    reader.load()
    assert len(reader.events(incident.id)) == events_before  # nothing reached the journal


async def test_the_ic_resolves_offline_after_a_confirmation_that_warns(make_app, sample_dir, clock):
    app = offline_app(make_app, sample_dir, "grace", clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "t", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmChange)
        summary = app.screen.summary
        assert summary.lines == ["Status: monitoring → resolved"]
        assert any("checklist step(s) still open" in w for w in summary.warnings)
        await pilot.press("escape")  # cancel: nothing changes
        await settle(pilot)
        assert app.current.status is Status.MONITORING
        await pilot.press("t", "enter", "enter")
        await settle(pilot)
        assert app.current.status is Status.RESOLVED


async def test_severity_picker_digit_asks_before_applying_and_stray_letters_close_it(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = app.current.severity
        await pilot.press("escape", "s", "2")
        assert isinstance(app.screen, ConfirmChange)
        assert app.current.severity is before  # not yet
        await pilot.press("x")  # typing, not confirming: closes, changes nothing
        await settle(pilot)
        assert app.screen is app.screen_stack[0]
        assert app.current.severity is before
        assert app.query_one(ScribeInput).value == "s2x"
        await pilot.press("ctrl+u", "escape", "s", "2", "enter")
        await settle(pilot)
        assert app.current.severity is Severity.SEV2


async def test_t_then_enter_alone_never_resolves(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "t", "enter")
        await settle(pilot)
        assert app.current.status is Status.MONITORING
        assert isinstance(app.screen, ConfirmChange) and app.screen.summary.title == "Resolve the incident"


# --- a burst: keys read at once, the first of them opening a dialog ----------------------------------


def send_at_once(app, keys: list[str]) -> None:
    """Every key handed to the driver in one go, as a terminal delivers one read of a laggy
    SSH link or ``tmux send-keys``: ``pilot.press`` waits after each key and hides the race."""
    from textual import events

    for key in keys:
        character = {"space": " ", "enter": "\r", "exclamation_mark": "!"}.get(key, key)
        app._driver.send_message(events.Key(key, character))


async def handled(pilot) -> None:
    for _ in range(20):
        await pilot.pause(0.05)
    await settle(pilot)


def typed(text: str) -> list[str]:
    return ["space" if c == " " else "exclamation_mark" if c == "!" else c for c in text]


async def test_a_line_typed_in_one_burst_outside_the_box_is_logged_and_opens_nothing(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2")  # the timeline has focus, the box does not
        before = (app.current.status, app.current.severity, len(app.current.timeline))
        send_at_once(app, [*typed("the db is back"), "enter"])  # t opens the status picker
        await handled(pilot)
        assert app.screen is app.screen_stack[0]  # no picker, no confirmation left open
        assert (app.current.status, app.current.severity) == before[:2]
        assert app.current.timeline[-1].text == "the db is back"
        assert len(app.current.timeline) == before[2] + 1


async def test_t_then_enter_in_one_burst_changes_nothing_and_keeps_the_t(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2")
        events_before = len(app.workspace.events(app.current.id))
        send_at_once(app, ["t", "enter"])  # enter was typed before the picker existed
        await handled(pilot)
        assert app.screen is app.screen_stack[0]
        assert app.current.status is Status.MONITORING
        assert len(app.workspace.events(app.current.id)) == events_before
        assert app.query_one(ScribeInput).value == "t"  # shown, not logged: maybe half a line


async def test_bursts_starting_with_other_dialog_keys_change_nothing(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident, declared = app.current, len(app.desk.incidents())
        for line in ("saw 2 errors on web-3", "now paging the db team", "!!! still down", "roll back done"):
            await pilot.press("escape", "2")
            send_at_once(app, [*typed(line), "enter"])  # s severity, n declare, ! run, r roles
            await handled(pilot)
            assert app.screen is app.screen_stack[0], line
            assert app.current.timeline[-1].text == line
        assert (app.current.severity, app.current.status) == (incident.severity, incident.status)
        assert app.current.roles == incident.roles and app.current.command_runs == {}
        assert len(app.desk.incidents()) == declared


async def test_a_line_starting_with_pane_keys_keeps_them(make_app, sample_dir):
    """1-5 switch panes; typed in one run with the rest of a line they are part of it."""
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for line in ("14:32 rollback finished", "3 pods restarted", "25 errors in 5 minutes"):
            await pilot.press("escape", "2")  # the timeline has focus, the box does not
            await pilot.pause(0.3)  # that "2" is not part of the line
            send_at_once(app, [*typed(line), "enter"])
            await handled(pilot)
            assert app.screen is app.screen_stack[0], line
            logged = [e.text for e in app.current.timeline]  # a backdated entry sorts by its time
            waiting = [queued.text for queued in app.query_one(ScribeDesk).unsaved]
            if line.startswith("14:32"):  # a time: logged at 14:32 or asked about, never cut
                assert "rollback finished" in logged or line in waiting, (waiting, app.query_one(ScribeInput).value)
            else:
                assert app.current.timeline[-1].text == line, (waiting, app.query_one(ScribeInput).value)


async def test_a_pane_key_pressed_alone_is_not_put_before_later_typing(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, user="grace")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2")
        await pilot.pause(0.3)  # a person looking at the timeline before typing
        send_at_once(app, [*typed("hello")])
        await handled(pilot)
        assert app.query_one(ScribeInput).value == "hello"


# --- dialogs keep what was typed ---------------------------------------------------------------------


async def test_a_refused_declare_keeps_the_dialog_and_the_title(make_app, empty_dir, monkeypatch):
    from warroom.store.journal import Journal, JournalError

    def full_disk(self, events):
        raise JournalError(f"could not save to {self.path}: No space left on device. The entry was NOT saved.")

    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(Journal, "append", full_disk)
        await pilot.press("n", *"Checkout failing", "enter", "enter")  # declare, confirm
        await settle(pilot)
        assert isinstance(app.screen, DeclareScreen)
        assert app.screen.query_one("#title").value == "Checkout failing"
        assert "No space left" in str(app.screen.query_one("#hint").render())
        monkeypatch.undo()
        await pilot.press("ctrl+s", "enter")  # the same dialog, declared this time
        await settle(pilot)
        assert app.current is not None and app.current.title == "Checkout failing"


async def test_an_invalid_milestone_time_keeps_the_prompt_and_the_input(make_app, sample_dir):
    from warroom.ui.screens.followup import MetricsScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "m")
        assert isinstance(app.screen, MetricsScreen)
        app.screen.query_one("#milestones").highlighted = 1
        await pilot.press("enter", "ctrl+u", *"25:99", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one("Input").value == "25:99"
        assert "cannot read the time" in str(app.screen.query_one("#hint").render())


# --- the console always opens ---------------------------------------------------------------------


async def test_a_broken_config_opens_on_defaults_with_a_banner_naming_file_and_line(make_app, sample_dir, isolated_dirs):
    from warroom.store import paths
    from warroom.store.config import load_config_or_defaults

    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('user = "alice"\ntheme = "warroom-dark"\nlocal_time = "sometimes"\n')
    config, problem = load_config_or_defaults()
    assert config == Config() and str(path) in problem and "line 3" in problem and "local_time" in problem

    app = make_app(sample_dir, poll_journals=False, config=config, config_problem=problem)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        banner = app.query_one(NoticeBar)
        assert banner.has_class("-shown")
        assert str(path) in banner.notice("config") and "line 3" in banner.notice("config")
        assert app.workspace.incidents()  # everything else works
    assert path.read_text().endswith('"sometimes"\n')  # left as the person wrote it


def test_keymap_keys_nobody_can_press_are_refused_and_the_action_keeps_its_key():
    from warroom.ui.keymap import check_keymap, clashing

    usable, problems = check_keymap({"incident.declare": "ctrl+shift+banana", "incident.status": 5, "app.help": "f1"})
    assert usable == {"app.help": "f1"}
    assert any("banana" in p for p in problems) and any("incident.status" in p for p in problems)
    lines, ids = clashing({"incident.declare": "i"})  # i is already "log an entry"
    assert ids == {"incident.declare"} and "left as before" in lines[0]


async def test_a_keymap_clash_leaves_both_actions_on_their_own_keys(make_app, sample_dir):
    from warroom.ui.keymap import key_for

    app = make_app(sample_dir, poll_journals=False, config=Config(keymap={"incident.declare": "i", "app.help": "ctrl+shift+banana"}))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        message = "\n".join(n.message for n in app._notifications)
        assert "banana" in message and "incident.declare" in message
        assert key_for("incident.declare", app) == "n" and key_for("app.help", app) == "?"
        await pilot.press("escape", "n")
        assert isinstance(app.screen, DeclareScreen)
