"""Where sync keeps its small state: server URL, token, and the feed cursor.

* The token lives in ``<config dir>/token``, created ``0600`` (or comes from
  ``WARROOM_TOKEN``). A token file readable by others is refused, as ssh refuses a loose key.
* The server URL comes from ``--server``, ``WARROOM_SERVER``, or ``<config dir>/server``.
* Per-server state (cursor, outbox bookkeeping) lives under
  ``<data dir>/sync/<hash of the URL>/``: pointing a data dir at another server starts a fresh
  sync (everything is re-pushed, which is idempotent) instead of trusting another server's
  acknowledgements.
* The cursor is replaced atomically (``atomic_write``): a crash leaves the old or the new one.
  An old cursor only means events are fetched again, and ingesting is idempotent.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from warroom.store import paths
from warroom.store.atomic import atomic_write

SERVER_ENV = "WARROOM_SERVER"
TOKEN_ENV = "WARROOM_TOKEN"
TOKEN_FILE_NAME = "token"
SERVER_FILE_NAME = "server"
CURSOR_FILE_NAME = "cursor"


class SyncConfigError(Exception):
    """The sync settings are missing or unusable; the message says how to fix them."""


def normalize_url(url: str) -> str:
    cleaned = url.strip().rstrip("/")
    if not cleaned.startswith(("http://", "https://")):
        raise SyncConfigError(
            f"{url!r} is not a server URL; write it like http://127.0.0.1:8765"
        )
    return cleaned


def token_file() -> Path:
    return paths.config_dir() / TOKEN_FILE_NAME


def server_file() -> Path:
    return paths.config_dir() / SERVER_FILE_NAME


def resolve_server(explicit: str | None = None) -> str | None:
    """``--server`` beats ``WARROOM_SERVER`` beats the saved file; None if none is set."""
    for candidate in (explicit, os.environ.get(SERVER_ENV)):
        if candidate and candidate.strip():
            return normalize_url(candidate)
    try:
        saved = server_file().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SyncConfigError(f"cannot read {server_file()}: {exc.strerror}") from None
    return normalize_url(saved) if saved else None


def resolve_token() -> str | None:
    """``WARROOM_TOKEN`` or the token file; None when neither exists (a no-auth server)."""
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    path = token_file()
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SyncConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SyncConfigError(
                f"{path} can be read by other users, so warroom will not use it; "
                f"run: chmod 600 {path}"
            )
        token = os.read(fd, 4096).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    return token or None


def save_login(url: str, token: str | None) -> None:
    """Remember the server (and the token, private to this user)."""
    config_dir = paths.config_dir()
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if token is not None:
        atomic_write(token_file(), token.strip().encode("utf-8") + b"\n", mode=0o600)
    atomic_write(server_file(), normalize_url(url).encode("utf-8") + b"\n", mode=0o644)


def state_dir(data_dir: Path, server_url: str) -> Path:
    """This data dir's sync state for one server (created on first use)."""
    url = normalize_url(server_url)
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    directory = data_dir / "sync" / key
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        # For people looking at the directory: which server this is about.
        atomic_write(directory / SERVER_FILE_NAME, url.encode("utf-8") + b"\n")
    return directory


class CursorFile:
    """The opaque feed cursor (or a push receipt), replaced atomically."""

    def __init__(self, directory: Path, name: str = CURSOR_FILE_NAME) -> None:
        self.path = directory / name
        self._cached: str | None = None
        self._loaded = False

    def load(self) -> str | None:
        if not self._loaded:
            try:
                self._cached = self.path.read_text(encoding="ascii").strip() or None
            except FileNotFoundError:
                self._cached = None
            except (OSError, UnicodeDecodeError):
                self._cached = None  # unreadable: start over; ingesting again is harmless
            self._loaded = True
        return self._cached

    def save(self, cursor: str | None) -> None:
        if cursor == self.load():
            return
        atomic_write(self.path, (cursor or "").encode("ascii"), mode=0o600)
        self._cached = cursor
