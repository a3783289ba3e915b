"""`warroom runbooks lint PATH... [--json]`: show how runbooks parse, and fail on broken ones.

Authors run it to check that steps, ids and attached commands come out as
intended; CI runs it to keep a broken runbook from shipping. Under each section it
prints what the parser found there (steps and where they came from, prose, quotes,
link lists, code that is not a command), so a runbook that gives responders nothing
to tick says why; such a runbook gets a `warning:` line but does not fail the run.
Exit status: 0 all files parsed (warnings included), 1 some file failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import RunbookError, load_runbook, runbook_files, runbook_id

EXIT_OK = 0
EXIT_INVALID_RUNBOOK = 1
EXIT_USAGE = 2


def main(argv: list[str]) -> int:
    """Lint the runbook files and directories named in `argv`; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="warroom runbooks lint",
        description="Parse runbooks and show their sections, steps and what was found in each "
        "section. Directories are searched for *.md files, folders included.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="runbook file or directory")
    parser.add_argument("--json", action="store_true", help="print the parsed runbooks as JSON")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        # argparse exits on its own (2 on bad usage, 0 for --help); callers
        # of main() expect a status back, not an exception.
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_USAGE

    runbooks: list[Runbook] = []
    errors: list[RunbookError] = []
    for path in args.paths:
        for file, identifier in _files_to_lint(path, errors):
            try:
                runbooks.append(load_runbook(file, runbook_id=identifier))
            except RunbookError as error:
                errors.append(error)
    warnings = [f"{runbook.path}: {NO_STEPS}" for runbook in runbooks if runbook.step_count == 0]

    if args.json:
        report = {
            "runbooks": [runbook.model_dump(mode="json") for runbook in runbooks],
            "errors": [{"path": error.source, "problem": error.problem} for error in errors],
            "warnings": warnings,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for runbook in runbooks:
            print(_describe(runbook))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_INVALID_RUNBOOK if errors else EXIT_OK


NO_STEPS = (
    "no steps: responders get nothing to tick. Steps are list items, numbered paragraphs, "
    "headings such as '### Step 1 - …', and a paragraph followed by a command block"
)


def _files_to_lint(path: Path, errors: list[RunbookError]) -> list[tuple[Path, str | None]]:
    """A file stands for itself, a directory for its *.md files (with ids from their paths
    under it, as the library gives them); a missing path is recorded as an error."""
    if path.is_dir():
        files = runbook_files(path)
        if not files:
            # Not a failure, but an empty lint run usually means a wrong path.
            print(f"warning: {path}: no *.md files found", file=sys.stderr)
        return [(file, runbook_id(file, path)) for file in files]
    if not path.exists():
        errors.append(RunbookError(str(path), "no such file or directory"))
        return []
    return [(path, None)]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _describe(runbook: Runbook) -> str:
    """Human-readable outline: title, counts, then each section with its steps indented."""
    lines = [
        f"{runbook.title}  ({runbook.path})  id: {runbook.id}",
        f"  {_count(len(runbook.sections), 'section')}, {_count(runbook.step_count, 'step')}",
    ]
    for section in runbook.sections:
        found = "; ".join(section.found) or "nothing"
        lines.append(f"  {'#' * section.level or '-'} {section.title}: {found}")
        for step in section.steps:
            indent = "    " + "  " * step.depth
            box = "[x]" if step.checked else "[ ]"
            text = step.text.replace("\n", " / ")
            lines.append(f"{indent}{box} {text}  <{step.id}>")
            if step.command is not None:
                command_lines = step.command.splitlines()
                more = " ..." if len(command_lines) > 1 else ""
                lines.append(f"{indent}    $ {command_lines[0]}{more}")
            for snippet in step.snippets:
                lines.append(f"{indent}    (not a command: {snippet.splitlines()[0]} … block)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
