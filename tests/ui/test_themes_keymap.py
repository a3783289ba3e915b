"""Themes (shipped, user, broken, NO_COLOR) and the keymap (remaps, bad entries, palette, ?)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from textual.dom import DOMNode

import warroom.ui
from warroom.domain.models import Severity
from warroom.store import paths
from warroom.store.config import Config
from warroom.ui import keymap as keymap_module
from warroom.ui.keymap import check_keymap, help_sections, key_for, own_bindings
from warroom.ui.screens.declare import DeclareScreen
from warroom.ui.screens.help import HelpScreen
from warroom.ui.palette import palette_commands
from warroom.ui.styles import NO_COLOR_SEVERITY_STYLES, palette, palette_for, severity_badge
from warroom.ui.themes import DEFAULT_THEME, load_themes, shipped_theme_dir
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.incidents import IncidentList
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.timeline import TimelineView

try:
    from settling import settle
except ImportError:  # tests/ collected as a package
    from tests.ui.settling import settle

SHIPPED = ["warroom-colorblind", "warroom-dark", "warroom-high-contrast", "warroom-light"]


def badge_texts(app) -> list[str]:
    incidents = app.query_one(IncidentList)
    return [str(incidents.get_option_at_index(i).prompt) for i in range(incidents.option_count)]


# --- themes ----------------------------------------------------------------------------------


def test_every_shipped_theme_loads_and_sets_severity_colours():
    themes, failures = load_themes([shipped_theme_dir()])
    assert failures == []
    assert sorted(t.name for t in themes) == SHIPPED
    for theme in themes:
        for n in range(1, 5):
            assert f"sev{n}" in theme.variables, theme.name


def test_colourblind_palette_is_okabe_ito():
    (theme,) = [t for t in load_themes([shipped_theme_dir()])[0] if t.name == "warroom-colorblind"]
    okabe_ito = {"#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#000000"}
    sev = [theme.variables[f"sev{n}"] for n in range(1, 5)]
    assert set(sev) <= okabe_ito and len(set(sev)) == 4
    # No red/green pair: SEV colours differ in lightness too, so order survives lost hue.
    from textual.color import Color

    brightness = [Color.parse(c).brightness for c in sev[:3]]
    assert brightness == sorted(brightness)


@pytest.mark.parametrize("theme", SHIPPED)
async def test_each_theme_runs_with_text_on_every_badge_and_overdue_banner(make_app, sample_dir, clock, theme):
    app = make_app(sample_dir, poll_journals=False, theme=theme)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == theme
        assert list(app._notifications) == []
        header = app.query_one(HeaderBar)
        assert "SEV1" in header.render().plain
        shown = " ".join(badge_texts(app))
        assert all(sev in shown for sev in ("SEV1", "SEV2", "SEV3"))
        # The theme's badge colours are the ones used.
        variables = app.current_theme.variables
        assert severity_badge(Severity.SEV1).style.bgcolor.triplet.hex == variables["sev1"].lower()
        # Overdue is said in words, not only in red.
        clock.advance(minutes=8)
        app._tick()
        await pilot.pause()
        assert "UPDATE OVERDUE" in header.render().plain


async def test_bad_user_theme_files_give_one_notification_and_the_default(make_app, sample_dir):
    user_dir = paths.user_theme_dir()
    user_dir.mkdir(parents=True)
    (user_dir / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\n[broken', encoding="utf-8")
    (user_dir / "ugly.toml").write_text('name = "ugly"\nprimary = "not-a-colour"\n', encoding="utf-8")
    (user_dir / "ok.toml").write_text('name = "ok"\nprimary = "#00ff00"\n[variables]\nsev1 = "#ff00ff"\n', encoding="utf-8")
    app = make_app(sample_dir, poll_journals=False, theme="mine")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == DEFAULT_THEME
        notifications = list(app._notifications)
        assert len(notifications) == 1
        message = notifications[0].message
        assert "mine.toml" in message and "ugly.toml" in message and "not a colour" in message
        assert f"no theme named 'mine'; using {DEFAULT_THEME}" in message
        assert "ok" in app.available_themes  # the good user theme still loaded
        app.theme = "ok"
        await pilot.pause()
        assert palette(app).severity[Severity.SEV1].bgcolor.triplet.hex == "#ff00ff"


def test_theme_variables_override_only_what_they_set():
    styles = palette_for({"sev2": "#ffffff"})
    assert styles.severity[Severity.SEV2].bgcolor.triplet.hex == "#ffffff"
    assert styles.severity[Severity.SEV2].color.triplet.hex == "#000000"  # readable text picked
    assert styles.severity[Severity.SEV1] == palette_for({}).severity[Severity.SEV1]


async def test_no_color_badges_have_no_colour_but_stay_distinguishable(make_app, sample_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.no_color  # Textual's own monochrome filter is on too
        header = app.query_one(HeaderBar).render()
        assert "SEV1" in header.plain
        for span in header.spans:
            style = span.style
            if not isinstance(style, str):
                assert style.color is None and style.bgcolor is None, header.plain[span.start : span.end]
        styles = {}
        for severity in Severity:
            badge = severity_badge(severity)
            assert severity.value in badge.plain
            style = badge.style
            assert style.color is None and style.bgcolor is None
            assert style.bold or style.reverse
            styles[severity] = style
        assert styles[Severity.SEV1].reverse and styles[Severity.SEV1].bold
        assert len(set(styles.values())) == 4  # every SEV looks different, colour or not
        assert styles == NO_COLOR_SEVERITY_STYLES


async def test_switching_theme_recolours_the_badges(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.theme = "warroom-colorblind"
        await pilot.pause()
        assert severity_badge(Severity.SEV1).style.bgcolor.triplet.hex == "#d55e00"


# --- keymap ----------------------------------------------------------------------------------


def _binding_classes() -> list[type]:
    """Every widget/screen/app class in warroom.ui that declares BINDINGS."""
    found = []
    for module_info in pkgutil.walk_packages(warroom.ui.__path__, "warroom.ui."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, DOMNode) and cls.__dict__.get("BINDINGS"):
                found.append(cls)
    return found


def test_every_binding_has_a_unique_id_and_the_help_lists_every_class():
    classes = _binding_classes()
    assert len(classes) > 20
    registered = {name for _, _, name in keymap_module.SECTIONS} | {name for _, name in keymap_module.DIALOGS}
    seen: dict[str, str] = {}
    for cls in classes:
        assert cls.__name__ in registered, f"{cls.__name__} is missing from keymap.SECTIONS/DIALOGS"
        for binding in own_bindings(cls):
            assert binding.id, f"{cls.__name__}: {binding.key} → {binding.action} has no id"
            assert binding.id not in seen, f"{binding.id} used by {seen[binding.id]} and {cls.__name__}"
            seen[binding.id] = cls.__name__


def test_keymap_values_are_checked():
    usable, problems = check_keymap(
        {"a": "ctrl+d", "b": "ctrl+", "c": "", "d": "hyperr+x", "e": "f1, ?", "f": 3, "g": "question_mark,full_stop", "h": "pagedown"}
    )
    assert usable == {"a": "ctrl+d", "e": "f1,?", "g": "question_mark,full_stop", "h": "pagedown"}
    assert [p.split(" = ")[0] for p in problems] == ["b", "c", "d", "f"]


def test_config_accepts_a_keymap_table(tmp_path):
    from warroom.store.config import load_config

    path = tmp_path / "config.toml"
    path.write_text('[keymap]\n"incident.declare" = "ctrl+d"\n"timeline.down" = ["down", "j"]\n', encoding="utf-8")
    assert load_config(path).keymap == {"incident.declare": "ctrl+d", "timeline.down": "down,j"}


async def test_remapped_key_works_and_the_old_one_does_not(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, config=Config(keymap={"incident.declare": "ctrl+d"}))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape")  # out of the scribe box
        assert isinstance(app.focused, TimelineView)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, DeclareScreen)
        # An unbound letter is typing: it lands in the scribe box instead of vanishing.
        assert app.query_one(ScribeInput).value == "n" and isinstance(app.focused, ScribeInput)
        await pilot.press("ctrl+u", "escape", "ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen)
        assert list(app._notifications) == []  # a good keymap says nothing
        await pilot.press("escape", "ctrl+p")  # Textual's own keys have ids too and still work
        await pilot.pause()
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)


async def test_bad_keymap_entries_give_one_notification_and_the_rest_apply(make_app, sample_dir):
    keymap = {"incident.declare": "ctrl+d", "incident.nonsense": "z", "incident.status": "ctrl+", "timeline.amend": "x"}
    app = make_app(sample_dir, poll_journals=False, config=Config(keymap=keymap))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notifications = list(app._notifications)
        assert len(notifications) == 1
        message = notifications[0].message
        assert "incident.nonsense: no binding has this id" in message
        assert "incident.status = 'ctrl+'" in message
        assert "x is bound to both timeline.amend and timeline.redact" in message
        assert "[keymap]" in message  # shown literally, not eaten as markup
        assert key_for("incident.declare", app) == "ctrl+d"
        assert key_for("incident.status", app) == "t"  # the bad entry was ignored


async def test_palette_help_shows_the_current_key(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, config=Config(keymap={"incident.declare": "ctrl+d", "timeline.amend": "E"}))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        helps = {c.title: c.help for c in palette_commands(app)}
        assert helps["Incident: Declare"] == "Declare a new incident (ctrl+d)"
        assert helps["Timeline: Amend entry"] == "Amend the selected entry (E)"
        assert helps["Incident: Set severity"].endswith("(s)")
        assert "Help: Keys" in helps and helps["Help: Keys"].endswith("(?)")


async def test_the_palette_finds_and_runs_a_warroom_command(make_app, sample_dir):
    from textual.command import CommandList, CommandPalette

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"declare")
        hits = app.screen.query_one(CommandList)
        for _ in range(100):  # the palette asks its providers in the background
            await pilot.pause(0.05)
            if hits.option_count:
                break
        assert "Incident: Declare" in str(hits.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen)


async def test_question_mark_shows_every_pane_and_closes(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False, config=Config(keymap={"incident.declare": "ctrl+d"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        sections = dict(help_sections(app))
        for title in ("Global", "Timeline", "Scribe", "Incidents", "Roster", "Checklist", "Comms", "Draft editor", "Action items", "Metrics"):
            assert sections.get(title), title
        assert ("ctrl+d", "Declare a new incident", "incident.declare") in sections["Global"]
        assert ("↓/j", "Down", "timeline.down") in sections["Timeline"]
        await pilot.press("escape")
        # Typing a ? in the scribe box types it: the help key never steals text.
        await pilot.press("i", *"why?")
        await pilot.pause()
        assert app.query_one(ScribeInput).value == "why?"
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        for close in ("escape", "question_mark", "q"):
            await pilot.press(close)
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen), close
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)


def test_snapshot_help_screen_80x24(snap_compare, make_app, sample_dir):
    async def open_help(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", "question_mark")
        await pilot.pause()

    assert snap_compare(make_app(sample_dir, poll_journals=False), terminal_size=(80, 24), run_before=open_help)
