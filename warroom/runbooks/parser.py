"""Turn Markdown runbooks and role checklists into `Runbook` models.

The Markdown is read with markdown-it-py's token stream (CommonMark), so lists, fences and
headings are recognised exactly as a Markdown renderer would see them
(``warroom.runbooks.markdown`` says what becomes a step); the front matter with a YAML (or
TOML) parser (``warroom.runbooks.frontmatter``).

Runbook directories are read recursively: runbook collections keep one folder per
component, often with the same file names in each (``etcd/README.md``, ``kube/README.md``,
``kafka/lag.md``, ``postgres/lag.md``), so a runbook's id is its path under the directory
(``kafka/lag``; a ``README.md``/``index.md`` stands for its folder, ``etcd``) and both load.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath

from warroom.runbooks.frontmatter import FrontMatter, FrontMatterError
from warroom.runbooks.frontmatter import parse as parse_front_matter
from warroom.runbooks.frontmatter import split as split_front_matter
from warroom.runbooks.markdown import INTRO_TITLE, MARKDOWN, build_sections, slugify
from warroom.runbooks.model import Runbook
from warroom.runbooks.search import search_runbooks

MAX_RUNBOOK_BYTES = 1024 * 1024
"""Larger files are refused: nobody reads a megabyte of runbook mid-incident, and it is likely the wrong file."""

RUNBOOK_ID_MAX = 100
_FOLDER_PAGES = {"readme", "index", "_index"}
# Files a runbook collection keeps beside its runbooks that are not runbooks.
_NOT_RUNBOOKS = {"changelog", "contributing", "license", "licence", "code_of_conduct", "security", "pull_request_template"}
_SKIPPED_DIRS = {"node_modules", "vendor", "__pycache__"}


class RunbookError(Exception):
    """A runbook file could not be loaded; `str()` names the file and says what to fix."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)
        self.source = source
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


def parse_runbook(text: str, *, source: str, runbook_id: str | None = None) -> Runbook:
    """Parse Markdown `text` into a `Runbook`.

    `source` names where the text came from; it becomes `Runbook.path`, is named in any
    `RunbookError`, and (unless `runbook_id` is given) its stem gives the runbook id.
    Raises `RunbookError` for malformed front matter; any Markdown parses.
    """
    # Same newline normalisation markdown-it applies, so the front matter parser and the
    # Markdown parser agree on where lines end.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        found = split_front_matter(text)
        meta = parse_front_matter(found[0], found[1]) if found else FrontMatter()
    except FrontMatterError as error:
        raise RunbookError(source, str(error)) from None
    markdown = found[2] if found else text
    sections = build_sections(MARKDOWN.parse(markdown))
    stem = PurePath(source).stem
    heading = next((s.title for s in sections if s.level == 1 and s.title), None)
    extra = dict(meta.extra)
    if meta.title and heading and meta.title != heading:
        extra["title"] = meta.title  # the heading is shown; the front matter's is kept
    return Runbook(
        id=runbook_id or slugify(stem) or "runbook",
        title=heading or meta.title or stem or "Untitled runbook",
        path=source,
        service=meta.service,
        incident_type=meta.incident_type,
        tags=meta.tags,
        extra=extra,
        sections=sections,
    )


def load_runbook(path: Path | str, *, runbook_id: str | None = None) -> Runbook:
    """Read and parse one runbook file.

    Raises `RunbookError` naming the file if it cannot be read, is larger than
    `MAX_RUNBOOK_BYTES`, is not UTF-8, or has malformed front matter.
    """
    path = Path(path)
    source = str(path)
    try:
        # Read one byte past the limit instead of trusting stat(): it is enough to detect an
        # oversized file without reading all of it.
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
    return parse_runbook(text, source=source, runbook_id=runbook_id)


def runbook_files(directory: Path) -> list[Path]:
    """The `*.md` files in `directory` and its folders, sorted; empty if it does not exist.

    Dot files and folders are skipped (editor backups, macOS `._*` metadata, `.git`), and
    so are a collection's CHANGELOG, CONTRIBUTING, LICENSE… files.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.rglob("*.md"):
        relative = path.relative_to(directory).parts
        if any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative):
            continue
        if path.stem.lower() in _NOT_RUNBOOKS or not path.is_file():
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


def runbook_id(path: Path, root: Path) -> str:
    """The id of `path` under its runbook directory `root`: ``kafka/consumer-lag``; a
    folder's README/index is the folder (the directory's own, the directory's name)."""
    parts = [slugify(part) for part in path.relative_to(root).with_suffix("").parts]
    if path.stem.lower() in _FOLDER_PAGES:
        parts = parts[:-1] or [slugify(Path(root).resolve().name)]
    return "/".join(part for part in parts if part)[:RUNBOOK_ID_MAX].strip("/") or "runbook"


def load_runbook_dir(paths: Iterable[Path]) -> tuple[list[Runbook], list[RunbookError]]:
    """Load every runbook under the given directories, in order.

    A directory that does not exist is skipped (a user runbook directory is optional). A
    file that fails to load goes in the error list and the rest still load. Within one
    directory every file gets its own id (its path); a runbook whose id matches one from an
    earlier directory replaces it, so a user directory listed after the sample directory
    overrides samples.
    """
    runbooks_by_id: dict[str, Runbook] = {}
    errors: list[RunbookError] = []
    for directory in paths:
        taken: set[str] = set()
        for path in runbook_files(Path(directory)):
            identifier = runbook_id(path, Path(directory))
            if identifier in taken:  # kafka.md beside kafka/README.md: name the file too
                identifier = "/".join(slugify(p) for p in path.relative_to(directory).with_suffix("").parts)
            taken.add(identifier)
            try:
                runbook = load_runbook(path, runbook_id=identifier)
            except RunbookError as error:
                errors.append(error)
                continue
            runbooks_by_id[runbook.id] = runbook
    return list(runbooks_by_id.values()), errors


__all__ = [
    "INTRO_TITLE",
    "MAX_RUNBOOK_BYTES",
    "RunbookError",
    "load_runbook",
    "load_runbook_dir",
    "parse_runbook",
    "runbook_files",
    "runbook_id",
    "search_runbooks",
]
