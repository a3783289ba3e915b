"""`warroom runbooks lint PATH... [--json]`: show how runbooks parse, and fail on broken ones.

Authors run it to check that steps, ids and attached commands come out as
intended; CI runs it to keep a broken runbook from shipping.
Exit status: 0 all files parsed, 1 some file failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import RunbookError, load_runbook, runbook_files

EXIT_OK = 0
EXIT_INVALID_RUNBOOK = 1
EXIT_USAGE = 2


def main(argv: list[str]) -> int:
    """Lint the runbook files and directories named in `argv`; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="warroom runbooks lint",
        description="Parse runbooks and show their sections and steps. "
        "Directories are searched for *.md files (not recursively).",
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
        for file in _files_to_lint(path, errors):
            try:
                runbooks.append(load_runbook(file))
            except RunbookError as error:
                errors.append(error)

    if args.json:
        report = {
            "runbooks": [runbook.model_dump(mode="json") for runbook in runbooks],
            "errors": [{"path": error.source, "problem": error.problem} for error in errors],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for runbook in runbooks:
            print(_describe(runbook))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_INVALID_RUNBOOK if errors else EXIT_OK


def _files_to_lint(path: Path, errors: list[RunbookError]) -> list[Path]:
    """A file stands for itself, a directory for its *.md files; a missing path is recorded as an error."""
    if path.is_dir():
        files = runbook_files(path)
        if not files:
            # Not a failure, but an empty lint run usually means a wrong path.
            print(f"warning: {path}: no *.md files found", file=sys.stderr)
        return files
    if not path.exists():
        errors.append(RunbookError(str(path), "no such file or directory"))
        return []
    return [path]


def _describe(runbook: Runbook) -> str:
    """Human-readable outline: title, counts, then each section with its steps indented."""
    lines = [
        f"{runbook.title}  ({runbook.path})",
        f"  {len(runbook.sections)} sections, {runbook.step_count} steps",
    ]
    for section in runbook.sections:
        lines.append(f"  {'#' * section.level or '-'} {section.title}")
        for step in section.steps:
            indent = "    " + "  " * step.depth
            box = "[x]" if step.checked else "[ ]"
            text = step.text.replace("\n", " / ")
            lines.append(f"{indent}{box} {text}  <{step.id}>")
            if step.command is not None:
                command_lines = step.command.splitlines()
                more = " ..." if len(command_lines) > 1 else ""
                lines.append(f"{indent}    $ {command_lines[0]}{more}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
