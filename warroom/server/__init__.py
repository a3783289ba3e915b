"""The shared sync server: FastAPI + SQLite, run with ``warroom server``.

Importing this package is cheap and imports neither FastAPI nor Textual; the app lives in
``warroom.server.app`` (``create_app``) and the command line in ``warroom.cli.server``.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
"""The default port of ``warroom server`` (and of the URL ``warroom login`` suggests)."""
