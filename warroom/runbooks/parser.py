"""Turn Markdown runbooks and role checklists into `Runbook` models.

The Markdown is read with markdown-it-py's token stream (CommonMark), so
lists, fences and headings are recognised exactly as a Markdown renderer
would see them. Only the front matter, which is not Markdown, is read by a
small hand parser.

How the Markdown maps onto the model:

* Every heading starts a `Section`. Content before the first heading becomes
  an "Introduction" section, but only if there is any.
* Every list item (bullet, ordered, or task item `- [ ]` / `- [x]`) becomes a
  `Step`. Nested items become steps of their own, with `depth` > 0, placed
  right after their parent: in a live checklist each sub-item is something a
  responder ticks separately, and folding it into the parent would hide it.
* A fenced or indented code block inside a list item belongs to that item's
  step. A code block directly after a list (nothing but other code blocks
  in between) belongs to the list's last step: authors often forget to
  indent the fence under `1.`, which ends the list but is clearly meant as
  the step's command.
* Inline code spans stay in the step text, in backticks, and are also
  recorded in `Step.code`.
* Everything else (paragraphs, quotes, code not attached to a step) is the
  section's prose `body`. Raw HTML blocks are dropped: in runbooks they are
  almost always comments or layout a terminal cannot show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from markdown_it import MarkdownIt
from markdown_it.token import Token

from warroom.runbooks.model import Runbook, Section, Step

MAX_RUNBOOK_BYTES = 1024 * 1024
"""Larger files are refused: nobody reads a megabyte of runbook mid-incident, and it is likely the wrong file."""

INTRO_TITLE = "Introduction"
"""Title of the section holding content that precedes the first heading."""

_STEP_SLUG_MAX_LENGTH = 60
_TASK_MARKERS = {"[ ]": False, "[x]": True, "[X]": True}
_LIST_CLOSE_TOKENS = frozenset({"bullet_list_close", "ordered_list_close"})
_CODE_TOKENS = frozenset({"fence", "code_block"})

# Building a MarkdownIt instance compiles its rule chains; parsing with a
# shared instance is what keeps loading a hundred runbooks well under a second.
_markdown = MarkdownIt("commonmark")


class RunbookError(Exception):
    """A runbook file could not be loaded; `str()` names the file and says what to fix."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)
        self.source = source
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


# --- public API -------------------------------------------------------------


def parse_runbook(text: str, *, source: str) -> Runbook:
    """Parse Markdown `text` into a `Runbook`.

    `source` names where the text came from; it becomes `Runbook.path`, its
    stem gives the runbook id, and it is named in any `RunbookError`.
    Raises `RunbookError` for malformed front matter; any Markdown parses.
    """
    # Same newline normalisation markdown-it applies, so the front matter
    # parser and the Markdown parser agree on where lines end.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    front_matter, markdown = _split_front_matter(text, source)
    sections = _build_sections(_collect_section_drafts(_markdown.parse(markdown)))
    stem = PurePath(source).stem
    title = next((s.title for s in sections if s.level == 1 and s.title), stem or "Untitled runbook")
    return Runbook(
        id=_slugify(stem) or "runbook",
        title=title,
        path=source,
        service=front_matter.service,
        incident_type=front_matter.incident_type,
        tags=front_matter.tags,
        extra=front_matter.extra,
        sections=sections,
    )


def load_runbook(path: Path | str) -> Runbook:
    """Read and parse one runbook file.

    Raises `RunbookError` naming the file if it cannot be read, is larger
    than `MAX_RUNBOOK_BYTES`, is not UTF-8, or has malformed front matter.
    """
    path = Path(path)
    source = str(path)
    try:
        # Read one byte past the limit instead of trusting stat(): it is
        # enough to detect an oversized file without reading all of it.
        with path.open("rb") as file:
            data = file.read(MAX_RUNBOOK_BYTES + 1)
    except OSError as error:
        raise RunbookError(source, f"cannot read file: {error.strerror or error}") from error
    if len(data) > MAX_RUNBOOK_BYTES:
        raise RunbookError(
            source,
            f"file is larger than {MAX_RUNBOOK_BYTES // (1024 * 1024)} MiB; "
            "split it into smaller runbooks or check that this is the right file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RunbookError(
            source,
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "re-save the file with UTF-8 encoding",
        ) from None
    return parse_runbook(text, source=source)


def runbook_files(directory: Path) -> list[Path]:
    """The `*.md` files directly inside `directory`, sorted; empty if it does not exist.

    Dot files are skipped: they are editor backups and macOS `._*` metadata,
    not runbooks, and the latter are not even text.
    """
    return sorted(
        path for path in directory.glob("*.md") if path.is_file() and not path.name.startswith(".")
    )


def load_runbook_dir(paths: Iterable[Path]) -> tuple[list[Runbook], list[RunbookError]]:
    """Load every runbook in the given directories, in order.

    A directory that does not exist is skipped (a user runbook directory is
    optional). A file that fails to load goes in the error list and the rest
    still load. A runbook whose id matches an earlier one replaces it, so a
    user directory listed after the sample directory overrides samples.
    """
    runbooks_by_id: dict[str, Runbook] = {}
    errors: list[RunbookError] = []
    for directory in paths:
        for path in runbook_files(Path(directory)):
            try:
                runbook = load_runbook(path)
            except RunbookError as error:
                errors.append(error)
                continue
            runbooks_by_id[runbook.id] = runbook
    return list(runbooks_by_id.values()), errors


def search_runbooks(runbooks: Iterable[Runbook], query: str) -> list[Runbook]:
    """Runbooks matching `query`, best match first; all of them, by title, for an empty query.

    Each whitespace-separated query term must match the title, service,
    incident type or a tag, as a substring (scored higher, more so at a word
    start or as a whole word) or as a subsequence (scored by how tightly the
    letters cluster, so `dbcpu` finds "database high CPU"). Ties keep title order.
    """
    by_title = sorted(runbooks, key=lambda runbook: (runbook.title.casefold(), runbook.id))
    terms = query.casefold().split()
    if not terms:
        return by_title
    scored: list[tuple[float, Runbook]] = []
    for runbook in by_title:
        score = _match_score(terms, _search_fields(runbook))
        if score is not None:
            scored.append((score, runbook))
    scored.sort(key=lambda pair: -pair[0])
    return [runbook for _, runbook in scored]


# --- front matter -------------------------------------------------------------


@dataclass
class _FrontMatter:
    service: str | None = None
    incident_type: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


def _split_front_matter(text: str, source: str) -> tuple[_FrontMatter, str]:
    """Separate a leading `---` ... `---` block from the Markdown after it."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return _FrontMatter(), text
    closing_index = next((i for i, line in enumerate(lines[1:], start=1) if line.rstrip() == "---"), None)
    if closing_index is None:
        raise RunbookError(
            source,
            "front matter opened with '---' on line 1 is never closed; "
            "add a '---' line after the last 'key: value' line",
        )
    front_matter = _parse_front_matter(lines[1:closing_index], source)
    return front_matter, "\n".join(lines[closing_index + 1 :])


def _parse_front_matter(lines: Sequence[str], source: str) -> _FrontMatter:
    """Read `key: value` lines; blank lines and `#` comments are ignored, keys are case-insensitive."""
    values: dict[str, tuple[str, int]] = {}
    for line_number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, colon, value = stripped.partition(":")
        key = key.strip().lower()
        if not colon or not key:
            raise RunbookError(
                source, f"front matter line {line_number}: expected 'key: value', got {stripped!r}"
            )
        if key in values:
            raise RunbookError(
                source,
                f"front matter line {line_number}: {key!r} is already set on line {values[key][1]}; "
                "keep only one",
            )
        values[key] = (_unquote(value.strip()), line_number)

    service, _ = values.pop("service", ("", 0))
    incident_type, _ = values.pop("incident_type", ("", 0))
    tags_value, tags_line = values.pop("tags", ("", 0))
    return _FrontMatter(
        service=service or None,
        incident_type=incident_type or None,
        tags=_parse_tags(tags_value, source, tags_line),
        extra={key: value for key, (value, _) in values.items()},
    )


def _parse_tags(value: str, source: str, line_number: int) -> list[str]:
    """Accept `a, b` or `[a, b]`, items optionally quoted."""
    if value.startswith("["):
        if not value.endswith("]"):
            raise RunbookError(
                source, f"front matter line {line_number}: tags list starts with '[' but does not end with ']'"
            )
        value = value[1:-1]
    tags = (_unquote(tag.strip()) for tag in value.split(","))
    return list(dict.fromkeys(tag for tag in tags if tag))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# --- Markdown -------------------------------------------------------------------


@dataclass
class _StepDraft:
    depth: int
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    inline_code: list[str] = field(default_factory=list)
    checked: bool = False

    def add_paragraph(self, inline: Token, text: str, code_spans: list[str]) -> None:
        """Add a paragraph of the list item; the first one may carry a task marker."""
        if not self.paragraphs and (checked := _task_marker_state(inline)) is not None:
            self.checked = checked
            # The rendered text starts with the marker: the marker is the
            # start of the first text token, which renders verbatim.
            text = text[3:].lstrip()
        self.paragraphs.append(text)
        self.inline_code.extend(code_spans)


@dataclass
class _SectionDraft:
    title: str
    level: int
    paragraphs: list[str] = field(default_factory=list)
    steps: list[_StepDraft] = field(default_factory=list)


def _collect_section_drafts(tokens: Sequence[Token]) -> list[_SectionDraft]:
    """Walk the flat token stream once, sorting content into sections and steps."""
    sections = [_SectionDraft(title=INTRO_TITLE, level=0)]
    open_items: list[_StepDraft] = []  # innermost list item last
    heading: _SectionDraft | None = None  # set while inside a heading's tokens
    step_for_trailing_code: _StepDraft | None = None  # last step of a list that just ended
    quote_depth = 0

    for token in tokens:
        section = sections[-1]
        if token.type in _CODE_TOKENS:
            code = token.content.rstrip("\n")
            owner = open_items[-1] if open_items else step_for_trailing_code
            if owner is not None:
                if code.strip():
                    owner.blocks.append(code)
            elif code.strip():
                section.paragraphs.append(f"```{token.info.strip()}\n{code}\n```")
            continue
        if token.type in _LIST_CLOSE_TOKENS and not open_items:
            step_for_trailing_code = section.steps[-1]
            continue
        if not open_items:
            step_for_trailing_code = None

        match token.type:
            # A heading inside a list item is just that item's text.
            case "heading_open" if not open_items:
                heading = _SectionDraft(title="", level=int(token.tag[1:]))
                sections.append(heading)
            case "heading_close":
                heading = None
            case "list_item_open":
                step = _StepDraft(depth=len(open_items))
                section.steps.append(step)
                open_items.append(step)
            case "list_item_close":
                open_items.pop()
            case "blockquote_open":
                quote_depth += 1
            case "blockquote_close":
                quote_depth -= 1
            case "inline":
                text, code_spans = _render_inline(token.children or [])
                if heading is not None:
                    heading.title = text
                elif open_items:
                    open_items[-1].add_paragraph(token, text, code_spans)
                elif text:
                    section.paragraphs.append("> " * quote_depth + text)
    return sections


def _task_marker_state(inline: Token) -> bool | None:
    """True/False if the paragraph starts with a `[x]`/`[ ]` task marker, None if it is not a task.

    Both the raw source and the first text token must start with the marker:
    the source check rejects an escaped `\\[ ]`, the token check rejects a
    `[x]` that markdown-it resolved into a reference link.
    """
    children = inline.children or []
    if not children or children[0].type != "text":
        return None
    first_text = children[0].content
    marker = first_text[:3]
    if marker not in _TASK_MARKERS or not inline.content.startswith(marker):
        return None
    after_marker = first_text[3:]
    # As in GitHub's task lists the marker must be followed by whitespace
    # (or be the whole item), so `[x]y` stays literal text.
    if after_marker[:1].isspace() or (not after_marker and len(children) == 1):
        return _TASK_MARKERS[marker]
    return None


def _render_inline(children: Sequence[Token]) -> tuple[str, list[str]]:
    """Plain text of an inline run, plus its code spans.

    Code keeps its backticks so it still reads as code; links render as
    `text (url)` because the URL (a dashboard, a console) is often the point.
    """
    parts: list[str] = []
    code_spans: list[str] = []
    open_links: list[tuple[int, str | None]] = []  # (index of link text in parts, href to show)
    for token in children:
        match token.type:
            case "text" | "text_special":
                parts.append(token.content)
            case "code_inline":
                parts.append(f"`{token.content}`")
                if token.content.strip():
                    code_spans.append(token.content)
            case "softbreak":
                parts.append(" ")
            case "hardbreak":
                parts.append("\n")
            case "image":
                parts.append(token.content)  # the alt text
            case "link_open":
                # An autolink's text already is its URL.
                href = None if token.markup == "autolink" else str(token.attrs.get("href", ""))
                open_links.append((len(parts), href))
            case "link_close":
                start, href = open_links.pop()
                if href and href != "".join(parts[start:]):
                    parts.append(f" ({href})")
            # Emphasis and inline HTML tags carry no text of their own.
    return "".join(parts).strip(), code_spans


# --- ids and final models ---------------------------------------------------------


class _UniqueNames:
    """Hands out names, suffixing `-2`, `-3`... when a name was already taken."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_suffix: dict[str, int] = {}

    def claim(self, base: str) -> str:
        """Return `base`, or the first free `base-N`, and mark it taken."""
        name = base
        suffix = self._next_suffix.get(base, 2)
        while name in self._taken:
            name = f"{base}-{suffix}"
            suffix += 1
        self._next_suffix[base] = suffix
        self._taken.add(name)
        return name


def _slugify(text: str, max_length: int | None = None) -> str:
    """Lower-case words joined by `-`; everything but letters and digits separates words."""
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())
    if max_length is None or len(slug) <= max_length:
        return slug
    truncated = slug[:max_length]
    # Cut at a word boundary unless the first word alone is too long.
    if slug[max_length] != "-" and "-" in truncated:
        truncated = truncated.rsplit("-", 1)[0]
    return truncated


def _build_sections(drafts: Sequence[_SectionDraft]) -> list[Section]:
    """Freeze drafts into models, assigning section slugs and step ids unique within the runbook."""
    section_slugs = _UniqueNames()
    step_ids = _UniqueNames()
    sections: list[Section] = []
    for draft in drafts:
        if draft.level == 0 and not draft.paragraphs and not draft.steps:
            continue
        slug = section_slugs.claim(_slugify(draft.title) or "section")
        steps = []
        for step in draft.steps:
            text = "\n".join(paragraph for paragraph in step.paragraphs if paragraph)
            text_slug = _slugify(text, _STEP_SLUG_MAX_LENGTH) or "step"
            steps.append(
                Step(
                    id=step_ids.claim(f"{slug}/{text_slug}"),
                    text=text,
                    code=list(dict.fromkeys(step.blocks + step.inline_code)),
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
            )
        )
    return sections


# --- search -------------------------------------------------------------------------


def _search_fields(runbook: Runbook) -> list[str]:
    fields = (runbook.title, runbook.service or "", runbook.incident_type or "", *runbook.tags)
    return [text.casefold() for text in fields if text]


def _match_score(terms: Sequence[str], fields: Sequence[str]) -> float | None:
    """Sum of each term's best score over the fields; None if any term matches nothing."""
    total = 0.0
    for term in terms:
        scores = [score for text in fields if (score := _term_score(term, text)) is not None]
        if not scores:
            return None
        total += max(scores)
    return total


def _term_score(term: str, text: str) -> float | None:
    """Score one term against one field; substring hits always outrank subsequence hits."""
    position = text.find(term)
    if position >= 0:
        end = position + len(term)
        starts_word = position == 0 or not text[position - 1].isalnum()
        ends_word = end == len(text) or not text[end].isalnum()
        return 100.0 + (50.0 if starts_word else 0.0) + (25.0 if starts_word and ends_word else 0.0)
    first = index = -1
    for char in term:
        index = text.find(char, index + 1)
        if index < 0:
            return None
        if first < 0:
            first = index
    # At most 50 (all letters adjacent), so below any substring hit.
    return 50.0 * len(term) / (index - first + 1)
