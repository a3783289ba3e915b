"""Keys on this machine: the person's signing key, and the per-entry text keys.

* **Signing key** — ``<config dir>/keys/<user>.ed25519``: the 32 private bytes, base64, mode
  0600 in a 0700 directory, made on first use. It signs every event this person makes
  (``warroom.domain.signing``). Like ssh, warroom refuses a key file others can read, and
  never follows a symlink to one.
* **Text keys** — ``<data dir>/keys/text-keys``: one line ``<event id> <key>`` per sealed
  timeline text (``warroom.domain.sealing``), appended and fsync'd *before* the event is
  journalled, so no saved entry is ever without its key. A purge rewrites the file without
  the purged keys (atomic replace) and lists their ids in ``purged``, so a key arriving again
  later (an old export, a stale relay) is not taken back.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from warroom.domain.ids import is_uuid
from warroom.domain.sealing import KEY_BYTES
from warroom.domain.signing import Signer
from warroom.store import paths
from warroom.store.atomic import atomic_write, fsync_dir
from warroom.store.journal import JournalError, open_regular

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_KEY_LINE = re.compile(rb"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) ([A-Za-z0-9+/]{43}=)")
_KEY_LINE_LENGTH = 36 + 1 + 44


class KeyFileError(Exception):
    """A key file is unusable (readable by others, a symlink, damaged); says how to fix it."""


def signing_key_path(user: str, config_dir: Path | None = None) -> Path:
    """Where ``user``'s private signing key lives (the name keeps a readable part)."""
    readable = _SAFE_NAME.sub("_", user)[:40] or "user"
    digest = hashlib.sha256(user.encode("utf-8")).hexdigest()[:12]
    return (config_dir or paths.config_dir()) / "keys" / f"{readable}-{digest}.ed25519"


def load_signer(user: str, config_dir: Path | None = None, *, create: bool = True) -> Signer | None:
    """``user``'s signer, making the key on first use (None when absent and not ``create``).
    Raises ``KeyFileError``."""
    path = signing_key_path(user, config_dir)
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        if not create:
            return None
        return _create_signer(path)
    except (OSError, JournalError) as exc:
        raise KeyFileError(f"cannot read the signing key {path}: {exc}") from None
    try:
        if os.fstat(fd).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"{path} can be read by other users, so warroom will not use it; "
                f"run: chmod 600 {path}"
            )
        text = os.read(fd, 4096).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    try:
        return Signer(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise KeyFileError(
            f"{path} is not a warroom signing key; move it away and warroom makes a new one "
            "(then run `warroom login` again to register it)"
        ) from None


def _create_signer(path: Path) -> Signer:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    signer, private = Signer.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, base64.b64encode(private) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link, not rename: if another process made the key meanwhile, keep theirs.
        os.link(tmp, path)
    except FileExistsError:
        os.unlink(tmp)
        return _reload(path)
    os.unlink(tmp)
    fsync_dir(path.parent)
    return signer


def _reload(path: Path) -> Signer:
    text = path.read_text("ascii").strip()
    return Signer(base64.b64decode(text, validate=True))


# --- text keys --------------------------------------------------------------------------------

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warroom-key-fsync")
        return _POOL


def _nothing() -> None:
    return None



class TextKeyStore(Mapping[str, bytes]):
    """The keys of sealed timeline texts on this machine, by event id. Thread-safe; other
    processes' appends are picked up by ``refresh``."""

    FILE_NAME = "text-keys"
    PURGED_NAME = "purged"

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "keys"
        self.path = self.directory / self.FILE_NAME
        self.purged_path = self.directory / self.PURGED_NAME
        self._lock_path = self.directory / ".lock"
        self._keys: dict[str, bytes] = {}
        self._purged: set[str] = set()
        self._offset = 0
        self._inode: tuple[int, int] | None = None
        self._purged_offset = 0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._mutex = threading.RLock()
        self.refresh()

    # --- Mapping -------------------------------------------------------------------------

    def __getitem__(self, event_id: str) -> bytes:
        return self._keys[event_id]

    def get(self, event_id: str, default=None):  # type: ignore[override]
        return self._keys.get(event_id, default)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def is_purged(self, event_id: str) -> bool:
        return event_id in self._purged

    # --- files ---------------------------------------------------------------------------

    def _file_lock(self) -> int:
        """Take the lock shared by every process on this data dir (kept open: one syscall)."""
        if self._lock_fd is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self._lock_fd

    def refresh(self) -> list[str]:
        """Read what other processes added or removed; returns ids whose key changed."""
        with self._mutex:
            changed = self._read_purged()
            try:
                fd = open_regular(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return changed
            except (OSError, JournalError) as exc:
                raise KeyFileError(f"cannot read {self.path}: {exc}") from None
            try:
                info = os.fstat(fd)
                inode = (info.st_dev, info.st_ino)
                if inode != self._inode or info.st_size < self._offset:
                    # Rewritten by a purge (here or elsewhere): read it whole again.
                    old = self._keys
                    self._keys, self._offset, self._inode = {}, 0, inode
                    data = os.pread(fd, info.st_size, 0)
                    self._parse(data)
                    changed += [i for i in old.keys() - self._keys.keys()]
                    changed += [i for i in self._keys.keys() - old.keys()]
                    return changed
                data = os.pread(fd, info.st_size - self._offset, self._offset)
            finally:
                os.close(fd)
            changed += self._parse(data)
            return changed

    def _parse(self, data: bytes) -> list[str]:
        end = data.rfind(b"\n") + 1
        added = []
        keys, purged = self._keys, self._purged
        # Only well-formed lines count (an event id, then a 32-byte key in base64); anything
        # else is skipped, as a damaged line must be.
        match = _KEY_LINE.fullmatch
        for line in data[:end].split(b"\n"):
            found = match(line) if len(line) == _KEY_LINE_LENGTH else None
            if found is None:
                continue
            event_id_bytes, encoded = found.groups()
            event_id = event_id_bytes.decode("ascii")
            try:
                key = binascii.a2b_base64(encoded, strict_mode=True)
            except binascii.Error:
                continue
            if len(key) == KEY_BYTES and event_id not in purged:
                if keys.get(event_id) != key:
                    added.append(event_id)
                keys[event_id] = key
        self._offset += end
        return added

    def _read_purged(self) -> list[str]:
        try:
            with open(self.purged_path, "rb") as handle:
                handle.seek(self._purged_offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        fresh = []
        for line in data[:end].split(b"\n"):
            event_id = line.decode("ascii", "replace").strip()
            if is_uuid(event_id) and event_id not in self._purged:
                self._purged.add(event_id)
                if self._keys.pop(event_id, None) is not None:
                    fresh.append(event_id)
        self._purged_offset += end
        return fresh

    def add(self, keys: Mapping[str, bytes]) -> list[str]:
        """Store keys durably (fsync'd before returning); returns the ids that were new.
        Keys of purged texts are never taken back."""
        fresh, synced = self.add_started(keys)
        synced()
        return fresh

    def add_started(self, keys: Mapping[str, bytes]) -> tuple[list[str], Callable[[], None]]:
        """Write the keys now and start their fsync on a helper thread; returns the new ids
        and a function that waits for the fsync (raising ``KeyFileError`` if it failed).

        The scribe's path uses this to overlap the key file's fsync with the journal's: the
        entry is reported as saved only after both, so no saved entry is without its key,
        and an Enter costs about one fsync instead of two."""
        fresh, fd = self._write(keys)
        if fd is None:
            return fresh, _nothing
        pending = _fsync_pool().submit(os.fsync, fd)

        def synced() -> None:
            try:
                pending.result()
            except OSError as exc:
                raise KeyFileError(f"could not save text keys to {self.path}: {exc.strerror}") from None

        return fresh, synced

    def add_in_background(self, keys: Mapping[str, bytes], done: Callable[[bool], None]) -> None:
        """Store the keys durably on the helper thread, then call ``done(True)``; ``done(False)``
        when that failed (whoever asked relies on none of them yet)."""

        def store() -> None:
            try:
                _, fd = self._write(keys)
                if fd is not None:
                    os.fsync(fd)
            except (OSError, KeyFileError):
                done(False)
            else:
                done(True)

        _fsync_pool().submit(store)

    def _write(self, keys: Mapping[str, bytes]) -> tuple[list[str], int | None]:
        """Append the keys not stored yet (unsynced); returns their ids and the descriptor
        to fsync (None when there was nothing to write)."""
        with self._mutex:
            fresh = {
                i: k
                for i, k in keys.items()
                if is_uuid(i) and len(k) == KEY_BYTES and i not in self._purged and self._keys.get(i) != k
            }
            if not fresh:
                return [], None
            blob = b"".join(
                b"%s %s\n" % (i.encode("ascii"), base64.b64encode(k)) for i, k in fresh.items()
            )
            try:
                lock = self._file_lock()
                try:
                    fd = self._append_fd()
                    os.write(fd, blob)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            except (OSError, JournalError) as exc:
                raise KeyFileError(f"could not save text keys to {self.path}: {exc}") from None
            self._keys.update(fresh)
            return list(fresh), fd

    def _append_fd(self) -> int:
        """The descriptor appends go to (reopened when a purge replaced the file)."""
        fd = self._fd
        if fd is not None:
            try:
                same = os.fstat(fd).st_ino == os.lstat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
            self._fd = None
        created = not os.path.lexists(self.path)
        self._fd = open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        if created:
            fsync_dir(self.directory)
        return self._fd

    def close(self) -> None:
        with self._mutex:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._lock_fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def destroy(self, event_ids: Iterable[str]) -> list[str]:
        """Forget these keys for good: listed as purged, and the key file rewritten without
        them. Returns the ids whose key was here."""
        with self._mutex:
            ids = [i for i in dict.fromkeys(event_ids) if is_uuid(i) and i not in self._purged]
            if not ids:
                return []
            had = [i for i in ids if i in self._keys]
            lock = self._file_lock()
            try:
                fd = os.open(self.purged_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                try:
                    os.write(fd, "".join(i + "\n" for i in ids).encode("ascii"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self.refresh()
                gone = set(ids)
                keep = {i: k for i, k in self._keys.items() if i not in gone}
                atomic_write(
                    self.path,
                    b"".join(b"%s %s\n" % (i.encode("ascii"), base64.b64encode(k)) for i, k in keep.items()),
                    mode=0o600,
                )
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
            self._purged |= gone
            for event_id in gone:
                self._keys.pop(event_id, None)
            self._inode = None
            self._offset = 0
            self.refresh()
            return had

    def keys_for(self, event_ids: Iterable[str]) -> dict[str, bytes]:
        return {i: self._keys[i] for i in event_ids if i in self._keys}
