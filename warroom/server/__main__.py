"""``python -m warroom.server`` — the same as ``warroom server``."""

import sys

from warroom.cli.server import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
