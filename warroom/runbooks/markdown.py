"""From markdown-it's token stream to sections and steps.

What becomes a step (something a responder ticks):

* a list item (bullet, ordered or task ``- [ ]``); nested items are steps of their own, with
  ``depth`` > 0, right after their parent;
* a heading that numbers a step (``### Step 3 - Stop the service``, ``### 2. Drain``): a step
  of the section above it, with the prose under it as its text and the code under it as its
  commands (a list under it gives sub-steps);
* a numbered paragraph (``**1.** Check …``, ``Step 2: …``, ``(3) …``, ``4 - …``), and numbered
  lines inside a paragraph that CommonMark does not see as a list (``2. …`` after a line of
  prose);
* a paragraph followed by a code block that is a command (``Check the members:`` then a
  ```` ```sh ```` block): the paragraph is the step, the block its command.

What does not: quotes (template prompts such as ``> What contributed?``), lists of links
(every item just a link, or any list under a References / Links / See also heading), prose.
Code blocks inside or right after a step belong to it: commands in ``code``, other code
(output, YAML) in ``snippets`` (see ``warroom.runbooks.code``). Every section records what
was found in it (``Section.found``) so ``warroom runbooks lint`` can show why a runbook has
the steps it has.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from warroom.runbooks.code import command_from_block, inline_command, is_runnable, language
from warroom.runbooks.model import Section, Step

INTRO_TITLE = "Introduction"
"""Title of the section holding content that precedes the first heading."""

_STEP_SLUG_MAX_LENGTH = 60
_TASK_MARKERS = {"[ ]": False, "[x]": True, "[X]": True}
_LIST_OPEN = frozenset({"bullet_list_open", "ordered_list_open"})
_LIST_CLOSE = frozenset({"bullet_list_close", "ordered_list_close"})
_CODE = frozenset({"fence", "code_block"})
_BLOCK_OPEN = frozenset({"paragraph_open", "heading_open", "blockquote_open", "hr", "html_block", *_LIST_OPEN})
_STEP_HEADING = re.compile(r"^(?:step\s*\d+[a-z]?|\d{1,2}[.)])(?:\s*[-–—:.)]\s*|\s+|$)(?P<text>.*)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:\*\*|__)?(?:step\s*\d+[a-z]?\s*[-–—:.)]?|\(\d{1,2}\)|\d{1,2}\s+[-–—]|\d{1,2}[.):])(?:\*\*|__)?\s+", re.IGNORECASE)
_MARKER = re.compile(r"^(?:step\s*\d+[a-z]?\s*[-–—:.)]?|\(\d{1,2}\)|\d{1,2}\s+[-–—]|\d{1,2}[.):])\s*", re.IGNORECASE)
_LINE_NUMBER = re.compile(r"^\s{0,3}\d{1,2}[.)]\s+")
_REFERENCE_TITLES = re.compile(
    r"^(?:references?|links?|see also|related(?:\s+\w+)?|resources|further reading|dashboards?|"
    r"useful links|more information|documentation|docs|external links)$",
    re.IGNORECASE,
)
_URL_ONLY = re.compile(r"^\s*https?://\S+\s*$")

# Building a MarkdownIt instance compiles its rule chains; parsing with a shared instance is
# what keeps loading a hundred runbooks well under a second.
MARKDOWN = MarkdownIt("commonmark")

_FOUND = {
    "list item": ("step from a list item", "steps from list items"),
    "step heading": ("step from a step heading", "steps from step headings"),
    "numbered paragraph": ("step from a numbered paragraph", "steps from numbered paragraphs"),
    "paragraph and code": ("step from a paragraph and its code block", "steps from a paragraph and its code block"),
    "command": ("command", "commands"),
    "prose": ("paragraph of prose", "paragraphs of prose"),
    "quote": ("quote (a prompt, not steps)", "quotes (prompts, not steps)"),
    "link list": ("list of links (not steps)", "lists of links (not steps)"),
    "reference list": ("list under a reference heading (not steps)", "lists under a reference heading (not steps)"),
    "snippet": ("code block that is not a command", "code blocks that are not commands"),
    "loose code": ("code block with no step (kept in the prose)", "code blocks with no step (kept in the prose)"),
    "name": ("name in backticks (not a command)", "names in backticks (not commands)"),
}


@dataclass
class _StepDraft:
    depth: int
    origin: str
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    inline_commands: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    checked: bool = False


@dataclass
class _SectionDraft:
    title: str
    level: int
    paragraphs: list[str] = field(default_factory=list)
    steps: list[_StepDraft] = field(default_factory=list)
    found: Counter = field(default_factory=Counter)
    snippet_languages: list[str] = field(default_factory=list)
    synthetic: bool = False
    """Made for step headings at the level of the section before them."""


def render_inline(children: Sequence[Token]) -> tuple[str, list[tuple[str, str]]]:
    """Plain text of an inline run, and each code span with the text before it.

    Code keeps its backticks so it still reads as code; links render as ``text (url)``
    because the URL (a dashboard, a console) is often the point."""
    parts: list[str] = []
    spans: list[tuple[str, str]] = []
    open_links: list[tuple[int, str | None]] = []
    for token in children:
        match token.type:
            case "text" | "text_special":
                parts.append(token.content)
            case "code_inline":
                if token.content.strip():
                    spans.append((token.content, "".join(parts)))
                parts.append(f"`{token.content}`")
            case "softbreak":
                parts.append(" ")
            case "hardbreak":
                parts.append("\n")
            case "image":
                parts.append(token.content)
            case "link_open":
                href = None if token.markup == "autolink" else str(token.attrs.get("href", ""))
                open_links.append((len(parts), href))
            case "link_close":
                start, href = open_links.pop()
                if href and href != "".join(parts[start:]):
                    parts.append(f" ({href})")
    return "".join(parts).strip(), spans


def _link_only(children: Sequence[Token]) -> bool:
    """An item that is just a link (plus a few words): a reference, not a step."""
    outside: list[str] = []
    links = 0
    inside = 0
    for token in children:
        if token.type == "link_open":
            links += 1
            inside += 1
        elif token.type == "link_close":
            inside -= 1
        elif token.type in ("text", "code_inline") and not inside:
            if _URL_ONLY.match(token.content):
                links += 1
            else:
                outside.append(token.content)
    words = re.findall(r"[A-Za-z0-9]+", " ".join(outside))
    return links > 0 and len(words) < 4


def _task_marker_state(inline: Token) -> bool | None:
    """True/False if the paragraph starts with a ``[x]``/``[ ]`` task marker, None if not.

    Both the raw source and the first text token must start with the marker: the source
    check rejects an escaped ``\\[ ]``, the token check a ``[x]`` resolved into a link."""
    children = inline.children or []
    if not children or children[0].type != "text":
        return None
    first_text = children[0].content
    marker = first_text[:3]
    if marker not in _TASK_MARKERS or not inline.content.startswith(marker):
        return None
    after_marker = first_text[3:]
    # As in GitHub's task lists the marker must be followed by whitespace (or be the whole
    # item), so `[x]y` stays literal text.
    if after_marker[:1].isspace() or (not after_marker and len(children) == 1):
        return _TASK_MARKERS[marker]
    return None


class _Walk:
    """One pass over the tokens, sorting content into sections and steps."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.sections = [_SectionDraft(INTRO_TITLE, 0)]
        self.items: list[_StepDraft] = []  # open list items of a step list, innermost last
        self.body_lists = 0  # > 0 inside a list that is not steps
        self.body_item_fresh = False
        self.quotes = 0
        self.step_heading: _StepDraft | None = None
        self.trailing: _StepDraft | None = None  # takes a code block that follows directly
        self.last_paragraph: tuple[_SectionDraft, int, str, list[tuple[str, str]]] | None = None

    @property
    def section(self) -> _SectionDraft:
        return self.sections[-1]

    def run(self) -> list[_SectionDraft]:
        index = 0
        while index < len(self.tokens):
            index = self.token(index)
        return self.sections

    def token(self, index: int) -> int:
        token = self.tokens[index]
        kind = token.type
        if kind in _CODE:
            self.code(token)
            return index + 1
        if kind in _BLOCK_OPEN and not self.items:
            self.last_paragraph = None
            if kind != "paragraph_open" or not (self.body_lists or self.quotes):
                self.trailing = None
        if kind == "heading_open" and not self.items and not self.body_lists:
            return self.heading(index)
        if kind in _LIST_OPEN:
            if self.body_lists or self.quotes or (not self.items and self.not_steps(index)):
                self.body_lists += 1
        elif kind in _LIST_CLOSE:
            if self.body_lists:
                self.body_lists -= 1
            elif not self.items and self.section.steps:
                self.trailing = self.section.steps[-1]
        elif kind == "list_item_open":
            if self.body_lists:
                self.body_item_fresh = True
            else:
                step = _StepDraft(len(self.items) + (1 if self.step_heading else 0), "list item")
                self.section.steps.append(step)
                self.items.append(step)
        elif kind == "list_item_close" and not self.body_lists:
            self.items.pop()
        elif kind == "blockquote_open":
            if not self.quotes and not self.items:
                self.section.found["quote"] += 1
            self.quotes += 1
        elif kind == "blockquote_close":
            self.quotes -= 1
        elif kind == "inline":
            self.inline(token)
        return index + 1

    def not_steps(self, index: int) -> bool:
        """A list under a reference heading, or whose every item is only a link."""
        if _REFERENCE_TITLES.match(self.section.title.strip()):
            self.section.found["reference list"] += 1
            return True
        level = self.tokens[index].level
        items = links = 0
        for position in range(index + 1, len(self.tokens)):
            token = self.tokens[position]
            if token.type in _LIST_CLOSE and token.level == level:
                break
            if (
                token.type == "inline"
                and self.tokens[position - 1].type == "paragraph_open"
                and self.tokens[position - 2].type == "list_item_open"
                and self.tokens[position - 2].level == level + 1
            ):
                items += 1
                links += _link_only(token.children or [])
        if items and links == items:
            self.section.found["link list"] += 1
            return True
        return False

    def heading(self, index: int) -> int:
        token = self.tokens[index]
        inline = self.tokens[index + 1]
        text, spans = render_inline(inline.children or [])
        level = int(token.tag[1:])
        step_match = _STEP_HEADING.match(text)
        self.step_heading = None
        if step_match and step_match.group("text").strip():
            if self.section.level >= level and not (self.section.synthetic and self.section.level == level):
                # "## Step 1" beside "## Overview": the steps get a section of their own.
                self.sections.append(_SectionDraft("Steps", level, synthetic=True))
            step = _StepDraft(0, "step heading", [step_match.group("text").strip()])
            self.add_inline_commands(step, spans)
            self.section.steps.append(step)
            self.section.found["step heading"] += 1
            self.step_heading = self.trailing = step
        else:
            self.sections.append(_SectionDraft(text, level))
        return index + 3  # heading_open, inline, heading_close

    def add_inline_commands(self, step: _StepDraft, spans: list[tuple[str, str]]) -> None:
        for span, before in spans:
            command = inline_command(span, before)
            if command:
                step.inline_commands.append(command)
            else:
                self.section.found["name"] += 1

    def inline(self, token: Token) -> None:
        text, spans = render_inline(token.children or [])
        if self.items:
            step = self.items[-1]
            if not step.paragraphs and (checked := _task_marker_state(token)) is not None:
                step.checked = checked
                text = text[3:].lstrip()  # the marker renders verbatim at the start
            step.paragraphs.append(text)
            self.add_inline_commands(step, spans)
            return
        if self.body_lists or self.quotes:
            if text:
                bullet = "- " if self.body_lists and self.body_item_fresh else ""
                self.body_item_fresh = False
                self.section.paragraphs.append("> " * self.quotes + bullet + text)
            return
        if self.step_heading is not None:
            if text:
                self.step_heading.paragraphs.append(text)
                self.add_inline_commands(self.step_heading, spans)
            return
        if not text:
            return
        if self.numbered(token, text, spans):
            return
        self.section.paragraphs.append(text)
        self.section.found["prose"] += 1
        self.last_paragraph = (self.section, len(self.section.paragraphs) - 1, text, spans)

    def numbered(self, token: Token, text: str, spans: list[tuple[str, str]]) -> bool:
        """Numbered paragraphs, and numbered lines CommonMark kept inside a paragraph."""
        lines = token.content.split("\n")
        starts = [i for i, line in enumerate(lines) if (_LINE_NUMBER.match(line) if i else _NUMBERED.match(line))]
        if not starts:
            return False
        if starts[0] > 0:
            lead, _ = render_inline(MARKDOWN.parseInline("\n".join(lines[: starts[0]]))[0].children or [])
            self.section.paragraphs.append(lead)
            self.section.found["prose"] += 1
        for number, start in enumerate(starts):
            end = starts[number + 1] if number + 1 < len(starts) else len(lines)
            chunk_text, chunk_spans = render_inline(MARKDOWN.parseInline("\n".join(lines[start:end]))[0].children or [])
            step = _StepDraft(0, "numbered paragraph", [_MARKER.sub("", chunk_text, count=1)])
            self.add_inline_commands(step, chunk_spans)
            self.section.steps.append(step)
            self.section.found["numbered paragraph"] += 1
            self.trailing = step
        return True

    def code(self, token: Token) -> None:
        code = token.content.rstrip("\n")
        if not code.strip():
            return
        info = token.info.strip() if token.type == "fence" else ""
        runnable = is_runnable(info)
        command = command_from_block(code) if runnable else None
        owner = self.items[-1] if self.items else (self.step_heading or self.trailing)
        if owner is None and self.last_paragraph is not None and command and not (self.quotes or self.body_lists):
            section, position, text, spans = self.last_paragraph
            section.paragraphs.pop(position)
            section.found["prose"] -= 1
            owner = _StepDraft(0, "paragraph and code", [text])
            self.add_inline_commands(owner, spans)
            section.steps.append(owner)
            section.found["paragraph and code"] += 1
        self.last_paragraph = None
        if owner is not None and not (self.quotes or self.body_lists):
            self.trailing = owner if not self.items else self.trailing
            if command:
                owner.blocks.append(command)
            else:
                owner.snippets.append(f"```{info}\n{code}\n```")
                self.section.found["snippet"] += 1
                self.section.snippet_languages.append(language(info) or "no language")
            return
        self.section.paragraphs.append(f"```{info}\n{code}\n```")
        self.section.found["loose code"] += 1


# --- ids and final models ---------------------------------------------------------------


class _UniqueNames:
    """Hands out names, suffixing ``-2``, ``-3``... when a name was already taken."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_suffix: dict[str, int] = {}

    def claim(self, base: str) -> str:
        name = base
        suffix = self._next_suffix.get(base, 2)
        while name in self._taken:
            name = f"{base}-{suffix}"
            suffix += 1
        self._next_suffix[base] = suffix
        self._taken.add(name)
        return name


def slugify(text: str, max_length: int | None = None) -> str:
    """Lower-case words joined by ``-``; everything but letters and digits separates words."""
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())
    if max_length is None or len(slug) <= max_length:
        return slug
    truncated = slug[:max_length]
    # Cut at a word boundary unless the first word alone is too long.
    if slug[max_length] != "-" and "-" in truncated:
        truncated = truncated.rsplit("-", 1)[0]
    return truncated


def _found_text(draft: _SectionDraft, steps: list[Step]) -> list[str]:
    counts = Counter(draft.found)
    for step in draft.steps:
        if step.origin == "list item":
            counts["list item"] += 1
    counts["command"] = sum(len(step.code) for step in steps)
    lines = []
    for key, (one, many) in _FOUND.items():
        count = counts.get(key, 0)
        if count > 0:
            line = f"{count} {one if count == 1 else many}"
            if key == "snippet":
                line += f" ({', '.join(dict.fromkeys(draft.snippet_languages))})"
            lines.append(line)
    return lines


def build_sections(tokens: Sequence[Token]) -> list[Section]:
    """Sections with slugs and step ids unique within the runbook."""
    section_slugs = _UniqueNames()
    step_ids = _UniqueNames()
    sections: list[Section] = []
    for draft in _Walk(tokens).run():
        if draft.level == 0 and not draft.paragraphs and not draft.steps:
            continue
        slug = section_slugs.claim(slugify(draft.title) or "section")
        steps = []
        for step in draft.steps:
            text = "\n".join(paragraph for paragraph in step.paragraphs if paragraph)
            steps.append(
                Step(
                    id=step_ids.claim(f"{slug}/{slugify(text, _STEP_SLUG_MAX_LENGTH) or 'step'}"),
                    text=text,
                    code=list(dict.fromkeys(step.blocks + step.inline_commands)),
                    snippets=step.snippets,
                    checked=step.checked,
                    depth=step.depth,
                )
            )
        sections.append(
            Section(
                slug=slug,
                title=draft.title,
                level=draft.level,
                body="\n\n".join(draft.paragraphs),
                steps=steps,
                found=_found_text(draft, steps),
            )
        )
    return sections


__all__ = ["INTRO_TITLE", "MARKDOWN", "build_sections", "render_inline", "slugify"]
