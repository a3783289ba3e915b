"""Set up and run warroom from a fresh checkout with nothing but python3.

    python3 -m warroom.quickstart demo   # create .venv, install, open the demo
    python3 -m warroom.quickstart test   # create .venv, install with test deps, run pytest

Standard library only: this runs before any dependency is installed. The virtual environment
is reinstalled only when pyproject.toml changes (a hash is kept in .venv).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".warroom-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _say(message: str) -> None:
    print(f"[quickstart] {message}", file=sys.stderr, flush=True)


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> Path:
    """Create .venv and install warroom (editable, with test extras) if needed."""
    python = BIN / "python"
    if not python.exists():
        _say(f"creating {VENV} …")
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # Debian without python3-venv, read-only dir, …
            _say(f"could not create a virtual environment: {exc}")
            _say("on Debian/Ubuntu install it first: sudo apt-get install python3-venv")
            raise SystemExit(1) from None
    if not STAMP.exists() or STAMP.read_text().strip() != _wanted_stamp():
        _say("installing warroom and its dependencies (first run only) …")
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f"{ROOT}[dev]"],
            cwd=ROOT,
        )
        if result.returncode != 0:
            _say("pip install failed; see the messages above")
            raise SystemExit(result.returncode)
        STAMP.write_text(_wanted_stamp())
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__, file=sys.stderr)
        return 2
    python = ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    os.chdir(ROOT)
    if command == "demo":
        args = [str(BIN / "warroom"), "demo", *rest]
    else:
        args = [str(python), "-m", "pytest", *rest]
    sys.stdout.flush()
    os.execv(args[0], args)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
