"""This machine's time zone, as a ``tzinfo`` with its rules (DST included).

The timeline shows local time in this zone and the scribe box reads ``14:32`` in it, so both
must agree with each other and with what the person's clock says: ``TZ`` when it names a zone
(as the C library reads it), else ``/etc/localtime``, else the offset in force right now.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_LOCALTIME = "/etc/localtime"


def local_zone() -> tzinfo:
    name = os.environ.get("TZ", "").strip().lstrip(":")
    if name:
        if name.startswith("/"):
            zone = _from_file(name)
            if zone is not None:
                return zone
        else:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                pass  # a POSIX rule string like "JST-9": fall back on what the C library says
    elif os.path.exists(_LOCALTIME):
        zone = _from_file(_LOCALTIME)
        if zone is not None:
            return zone
    return datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def _from_file(path: str) -> tzinfo | None:
    try:
        with open(path, "rb") as handle:
            return ZoneInfo.from_file(handle, key=os.path.basename(os.path.realpath(path)))
    except (OSError, ValueError):
        return None
