"""Keys as data: every ``Binding`` has an id, and the user's ``[keymap]`` maps ids to keys.

```toml
# config.toml
[keymap]
"incident.declare" = "ctrl+d"      # one key
"timeline.down" = "down,j"         # several, comma-separated
"app.help" = "f1"
```

Textual applies the keymap (``App.set_keymap``) to every screen and widget, so a remapped
binding moves everywhere at once: footer, help screen (``?``) and command palette texts, which
ask :func:`key_for` rather than naming keys themselves.

A bad entry never stops the console: unknown ids, keys Textual cannot produce and two ids
given the same key in one pane are named in ONE notification; the other entries apply.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, KEY_TO_UNICODE_NAME, Keys, format_key, key_to_character

if TYPE_CHECKING:
    from textual.app import App

# (help section, module, class): the panes and screens the help screen lists, in order.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("Global", "warroom.ui.app", "WarRoomApp"),
    ("Timeline", "warroom.ui.widgets.timeline", "TimelineView"),
    ("Search", "warroom.ui.widgets.search", "SearchBar"),
    ("Scribe", "warroom.ui.widgets.scribe", "ScribeInput"),
    ("Not saved", "warroom.ui.widgets.scribe_desk", "UnsavedLines"),
    ("Incidents", "warroom.ui.widgets.incidents", "IncidentList"),
    ("Roster", "warroom.ui.widgets.roster", "RosterList"),
    ("Checklist", "warroom.ui.widgets.checklist", "ChecklistPane"),
    ("Comms", "warroom.ui.widgets.comms", "CommsPane"),
    ("Draft editor", "warroom.ui.screens.comms", "DraftEditor"),
    ("Action items", "warroom.ui.screens.followup", "ActionItemsScreen"),
    ("Metrics", "warroom.ui.screens.followup", "MetricsScreen"),
    ("Postmortem", "warroom.ui.screens.followup", "PostmortemScreen"),
    ("Brief and output", "warroom.ui.screens.viewer", "TextViewer"),
    ("Delivery", "warroom.ui.screens.viewer", "DeliveryViewer"),
    ("Running a command", "warroom.ui.screens.run", "RunScreen"),
)

# Dialogs: their bindings have ids too (remappable), listed together at the end of the help.
DIALOGS: tuple[tuple[str, str], ...] = (
    ("warroom.ui.screens.declare", "DeclareScreen"),
    ("warroom.ui.screens.pickers", "SeverityPicker"),
    ("warroom.ui.screens.pickers", "StatusPicker"),
    ("warroom.ui.screens.pickers", "AssignRoleScreen"),
    ("warroom.ui.screens.pickers", "TextPrompt"),
    ("warroom.ui.screens.confirm", "ConfirmChange"),
    ("warroom.ui.screens.paste", "PasteScreen"),
    ("warroom.ui.screens.entry", "EntryScreen"),
    ("warroom.ui.screens.entry", "RoleHistoryScreen"),
    ("warroom.ui.screens.comms", "ChannelPicker"),
    ("warroom.ui.screens.comms", "ComponentScreen"),
    ("warroom.ui.screens.comms", "ConfirmScreen"),
    ("warroom.ui.screens.followup", "ActionItemForm"),
    ("warroom.ui.screens.runbooks", "RunbookPicker"),
    ("warroom.ui.screens.help", "HelpScreen"),
    ("warroom.ui.screens.run", "RunConfirmScreen"),
    ("warroom.ui.screens.verdict", "VerdictPicker"),
)

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = (
    {key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<")}
    | set(KEY_NAME_REPLACEMENTS.values())
    | set(KEY_TO_UNICODE_NAME)
    | {alias for aliases in KEY_ALIASES.values() for alias in aliases}
    | set(KEY_ALIASES)
)
_FUNCTION_KEY = re.compile(r"^f([1-9]|1[0-9]|2[0-4])$")

# How keys read in the help screen and palette: words a person would say, not glyphs.
_DISPLAY = {"escape": "esc", "enter": "enter", "space": "space", "backspace": "backspace", "pageup": "pgup", "pagedown": "pgdn", "delete": "del"}


# --- the registry of bindings ----------------------------------------------------------------


def _class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)


def own_bindings(cls: type) -> list[Binding]:
    """The bindings a class declares (its nearest ancestor's if it declares none, so a plain
    ``OptionList`` pane still lists its keys), as ``Binding``s; system bindings left out."""
    for klass in cls.__mro__:
        declared = klass.__dict__.get("BINDINGS")
        if declared:
            bindings = [b if isinstance(b, Binding) else Binding(*b) for b in declared]
            return [b for b in bindings if not b.system]
    return []


def _classes(modules: Iterable[tuple[str, str]], *, loaded_only: bool = False) -> Iterable[type]:
    for module, name in modules:
        if loaded_only and module not in sys.modules:
            continue
        yield _class(module, name)


def _all_pairs() -> list[tuple[str, str]]:
    return [(module, name) for _, module, name in SECTIONS] + list(DIALOGS)


def default_bindings() -> dict[str, Binding]:
    """Binding id → its binding as declared (before any keymap), over every pane and dialog.

    Imports every screen module (about 0.2 s the first time): call it off the UI thread or
    when the user asked for it."""
    found: dict[str, Binding] = {}
    for cls in _classes(_all_pairs()):
        for binding in own_bindings(cls):
            if binding.id is not None:
                found.setdefault(binding.id, binding)
    return found


def _find_binding(binding_id: str) -> Binding | None:
    """The declared binding for ``binding_id``, looking in already-imported modules first."""
    pairs = _all_pairs()
    for loaded_only in (True, False):
        for cls in _classes(pairs, loaded_only=loaded_only):
            for binding in own_bindings(cls):
                if binding.id == binding_id:
                    return binding
    return None


# --- keys: checking and showing ----------------------------------------------------------------


def key_problem(key: str) -> str | None:
    """Why ``key`` (one key, e.g. ``ctrl+d``, ``?``, ``f1``) cannot be bound, or None."""
    key = key.strip()
    if not key:
        return "an empty key"
    if len(key) == 1:
        typable = key.isprintable() and not key.isspace() and (key.isascii() or key.isalpha())
        return None if typable else f"{key!r} is not a key a keyboard can send"
    *modifiers, name = key.split("+")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        return f"{key!r}: {unknown[0]!r} is not a modifier (use {', '.join(sorted(MODIFIERS))})"
    if len(name) == 1 or name in _NAMED_KEYS or _FUNCTION_KEY.match(name):
        return None
    character = key_to_character(name)
    # Textual names any Unicode character ("banana" is 🍌), but a keyboard only sends
    # punctuation and letters: a key nobody can press would leave its action without one.
    if character is not None and (character.isascii() and character.isprintable() or character.isalpha()):
        return None
    return f"{key!r} is not a key a keyboard can send"


def keys_problem(keys: object) -> str | None:
    """Why a keymap value (comma-separated keys) cannot be used, or None."""
    if not isinstance(keys, str):
        return f"not a key ({type(keys).__name__}); write it in quotes, e.g. \"ctrl+d\""
    if not keys.strip():
        return "no key given"
    for key in keys.split(","):
        if (problem := key_problem(key)) is not None:
            return problem
    return None


def display_key(key: str) -> str:
    """``ctrl+d`` → ``ctrl+d``; ``question_mark`` → ``?``; ``escape`` → ``esc``."""
    key = key.strip()
    if len(key) == 1:
        return key
    *modifiers, name = key.split("+")
    shown = _DISPLAY.get(name) or format_key(name)
    return "+".join([*modifiers, shown])


def display_keys(keys: str) -> str:
    """Comma-separated keys as people read them: ``home,g`` → ``home/g``."""
    return "/".join(display_key(key) for key in keys.split(",") if key.strip())


def active_keymap(app: App | None = None) -> Mapping[str, str]:
    """The keymap Textual is using now (ids → normalised keys); empty without an app."""
    if app is None:
        from textual._context import active_app

        try:
            app = active_app.get()
        except LookupError:
            return {}
    # Textual keeps it in App._keymap (set by set_keymap/update_keymap) and has no getter.
    return getattr(app, "_keymap", {}) or {}


def keys_for(binding_id: str, app: App | None = None) -> str | None:
    """The key string bound to ``binding_id`` now (the keymap's, else the declared one)."""
    remapped = active_keymap(app).get(binding_id)
    if remapped:
        return remapped
    binding = _find_binding(binding_id)
    return binding.key if binding is not None else None


def key_for(binding_id: str, app: App | None = None) -> str:
    """The key to press for ``binding_id``, for people: ``n``, ``ctrl+d``, ``home/g``.

    The command palette and notifications use this instead of naming keys, so they follow
    the user's keymap. Raises KeyError for an id no binding has (a typo in our code)."""
    keys = keys_for(binding_id, app)
    if keys is None:
        raise KeyError(f"no binding with id {binding_id!r}")
    return display_keys(keys)


# --- the user's keymap -------------------------------------------------------------------------


def check_keymap(keymap: Mapping[str, object]) -> tuple[dict[str, str], list[str]]:
    """(usable, problems): the entries whose keys are well formed, and one line per other.

    Only the key syntax is checked here (no imports, safe on the UI thread at start-up);
    :func:`unknown_ids` and :func:`clashes` need the full registry."""
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        problem = keys_problem(keys)
        if problem is None:
            usable[binding_id] = ",".join(k.strip() for k in keys.split(","))  # type: ignore[union-attr]
        else:
            problems.append(f"{binding_id} = {keys!r}: {problem}")
    return usable, problems


def unknown_ids(keymap: Mapping[str, str]) -> list[str]:
    known = default_bindings()
    return [binding_id for binding_id in keymap if binding_id not in known]


def clashes(keymap: Mapping[str, str]) -> list[str]:
    """Keys that, after the keymap, would do two things in the same pane (the later one would
    be dropped by Textual). Different panes may share keys: the focused one wins, by design."""
    return clashing(keymap)[0]


def clashing(keymap: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """(one line per clash, the keymap ids involved): those entries are not applied, so
    every action keeps a key of its own."""
    from textual.keys import _normalize_key_list

    normalised = {i: _normalize_key_list(k) for i, k in keymap.items()}
    found: list[str] = []
    involved: set[str] = set()
    for cls in _classes(_all_pairs()):
        by_key: dict[str, list[str]] = {}
        for binding in own_bindings(cls):
            if binding.id is None:
                continue
            keys = normalised.get(binding.id, _normalize_key_list(binding.key))
            for key in keys.split(","):
                ids = by_key.setdefault(key, [])
                if binding.id not in ids:
                    ids.append(binding.id)
        for key, ids in by_key.items():
            if len(ids) > 1 and any(i in keymap for i in ids):
                found.append(f"{display_key(key)} is bound to both {' and '.join(ids)} ({cls.__name__}); left as before")
                involved.update(i for i in ids if i in keymap)
    return found, involved


def install_keymap(app: App, keymap: Mapping[str, object]) -> None:
    """Apply the user's keymap to ``app`` now; report what was ignored in one notification.

    The usable entries apply at once (before the first key press). Knowing every binding id
    means importing every screen, so that check runs in a thread worker after start-up."""
    usable, problems = check_keymap(keymap)
    if usable:
        app.set_keymap(usable)
        palette = usable.get("app.command_palette")
        if palette:
            # The footer finds the palette key by this name.
            app.COMMAND_PALETTE_BINDING = palette.split(",")[0]  # type: ignore[misc]
    if not keymap:
        return

    def check() -> None:
        found = list(problems)
        found += [f"{binding_id}: no binding has this id" for binding_id in unknown_ids(usable)]
        clash_lines, clashing_ids = clashing(usable)
        found += clash_lines
        if clashing_ids:
            # Two actions on one key: Textual would silently drop one. Keep both on their
            # own keys instead (the entries that clash are not applied).
            kept = {i: k for i, k in usable.items() if i not in clashing_ids}
            try:
                app.call_from_thread(app.set_keymap, kept)
            except RuntimeError:
                return
        if not found:
            return
        message = (
            "These [keymap] entries in config.toml were ignored (the others apply):\n"
            + "\n".join(f"• {line}" for line in found)
            + "\nPress ? to see every key and its binding id."
        )
        try:
            app.call_from_thread(app.notify, message, title="Keymap", severity="warning", timeout=30, markup=False)
        except RuntimeError:
            pass  # the app closed before the check finished

    app.run_worker(check, thread=True, group="keymap", name="check keymap", exit_on_error=False)


# --- the help screen's data ----------------------------------------------------------------------


def help_rows(cls: type, keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(keys, what it does, binding id) for each binding of ``cls``, the keymap applied."""
    rows: list[tuple[str, str, str]] = []
    for binding in own_bindings(cls):
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        what = binding.tooltip or binding.description or binding.action  # the longer words, when there are
        rows.append((display_keys(keys), what, binding.id or ""))
    return rows


def help_sections(app: App) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Every pane's keys as bound now, for the help screen; dialogs last."""
    keymap = active_keymap(app)
    sections = []
    for title, module, name in SECTIONS:
        cls = type(app) if title == "Global" else _class(module, name)
        sections.append((title, help_rows(cls, keymap)))
    dialog_rows: list[tuple[str, str, str]] = []
    for cls in _classes(DIALOGS):
        dialog_rows += [row for row in help_rows(cls, keymap) if row not in dialog_rows]
    sections.append(("Dialogs", dialog_rows))
    return sections
