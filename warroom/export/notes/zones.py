"""Time zones as people write them in timelines: ``UTC``, ``+02:00``, ``PST``, ``PT``, ``CET``,
``Europe/Paris``, and the lines that declare one for a whole file (``All times in UTC.``,
``## Timeline (PST)``, ``(all times are in UTC):``).

An abbreviation names one offset (``PST`` is UTC−08:00) and is read as written. When the
date falls in the other half of the year of its region (``PST`` on a July date, when Pacific
clocks read PDT), the reading is kept and a notice says so: the author may have meant the
wall clock. A region (``PT``, ``Pacific``) follows daylight saving time. Ambiguous names
(``IST``, ``CST``) are read in their most common sense, also with a notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Zone:
    """A zone as the notes name it."""

    label: str
    """As written (``PST``, ``UTC``, ``+02:00``, ``Europe/Paris``)."""
    tz: tzinfo
    """What the times are read in."""
    region: str | None = None
    """For an abbreviation: the IANA zone of its region, to check daylight saving time."""
    remark: str | None = None
    """Said once in the preview: how an ambiguous name was read."""

    def describe(self, on: date | None = None) -> str:
        """``PST, UTC−08:00``: the label and the offset it stands for (on a date)."""
        if self.tz is timezone.utc:
            return self.label if self.label == "UTC" else f"{self.label} = UTC"
        moment = datetime.combine(on or date(2000, 1, 1), time(12), self.tz)
        return f"{self.label}, {format_offset(moment.utcoffset())}"


UTC_ZONE = Zone("UTC", timezone.utc)


def format_offset(offset: timedelta | None) -> str:
    """``UTC−08:00``, ``UTC+05:30``, ``UTC``."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


# abbreviation -> (offset in minutes, region, remark)
_ABBREVIATIONS: dict[str, tuple[int, str | None, str | None]] = {
    "UTC": (0, None, None),
    "GMT": (0, None, None),
    "Z": (0, None, None),
    "PST": (-480, "America/Los_Angeles", None),
    "PDT": (-420, "America/Los_Angeles", None),
    "MST": (-420, "America/Denver", None),
    "MDT": (-360, "America/Denver", None),
    "CST": (-360, "America/Chicago", "CST read as US Central Standard Time (UTC−06:00), not China Standard Time"),
    "CDT": (-300, "America/Chicago", None),
    "EST": (-300, "America/New_York", None),
    "EDT": (-240, "America/New_York", None),
    "AKST": (-540, "America/Anchorage", None),
    "AKDT": (-480, "America/Anchorage", None),
    "HST": (-600, None, None),
    "WET": (0, "Europe/Lisbon", None),
    "WEST": (60, "Europe/Lisbon", None),
    "BST": (60, "Europe/London", "BST read as British Summer Time (UTC+01:00)"),
    "CET": (60, "Europe/Paris", None),
    "CEST": (120, "Europe/Paris", None),
    "EET": (120, "Europe/Helsinki", None),
    "EEST": (180, "Europe/Helsinki", None),
    "MSK": (180, None, None),
    "IST": (330, None, "IST read as India Standard Time (UTC+05:30), not Irish or Israel time"),
    "SGT": (480, None, None),
    "HKT": (480, None, None),
    "AWST": (480, None, None),
    "JST": (540, None, None),
    "KST": (540, None, None),
    "AEST": (600, "Australia/Sydney", None),
    "AEDT": (660, "Australia/Sydney", None),
    "NZST": (720, "Pacific/Auckland", None),
    "NZDT": (780, "Pacific/Auckland", None),
}
# Regions follow daylight saving time: "PT" is PST in winter and PDT in summer.
_REGIONS = {
    "PT": "America/Los_Angeles",
    "MT": "America/Denver",
    "CT": "America/Chicago",
    "ET": "America/New_York",
    "PACIFIC": "America/Los_Angeles",
    "MOUNTAIN": "America/Denver",
    "CENTRAL": "America/Chicago",
    "EASTERN": "America/New_York",
}

_OFFSET = r"(?:UTC|GMT)\s?[+\-−]\s?\d{1,2}(?::?\d{2})?|[+\-−](?:0\d|1[0-4]):?[0-5]\d"
_ABBREVIATION = "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True))
_IANA = r"(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Za-z_]+(?:/[A-Za-z_]+)?"
# After a time: case-sensitive (``14:32 z-index`` is not zone Z); two-letter regions only
# before punctuation or the end (``14:32 CT scan`` is not Central time).
ZONE_AFTER_TIME = re.compile(
    rf"\s*\(?(?P<zone>{_OFFSET}|(?:{_ABBREVIATION}|utc)(?![A-Za-z0-9])|(?:PT|MT|CT|ET)(?=\s*[):,;|–—-]|\s*$))\)?"
)
_ZONE_WORD = rf"{_IANA}|{_OFFSET}|(?:{_ABBREVIATION}|PT|MT|CT|ET)(?![A-Za-z0-9])|(?:pacific|mountain|central|eastern)(?:\s+time)?\b"
# A declaration for the whole file: "All times in UTC", "(all times are PST)", "Times are in
# CET", "Timezone: UTC", a heading "Timeline (PDT)".
_DECLARATION = re.compile(
    rf"\b(?:all\s+)?times?\s+(?:are\s+|shown\s+|given\s+|listed\s+|below\s+(?:are\s+)?)?(?:in\s+)?(?P<a>{_ZONE_WORD})"
    rf"|\btime\s*zone\s*(?:is\s*|[:=]\s*)?(?P<b>{_ZONE_WORD})",
    re.IGNORECASE,
)
_PARENTHESISED = re.compile(rf"\(\s*(?P<zone>{_ZONE_WORD})\s*\)", re.IGNORECASE)


def zone_named(text: str) -> Zone | None:
    """The zone a token names, or None."""
    token = " ".join(text.strip().strip("()").split())
    if not token:
        return None
    upper = token.upper().replace("−", "-")
    if upper in ("UTC", "Z"):
        return UTC_ZONE
    if upper == "GMT":
        return Zone("GMT", timezone.utc)
    if upper in _ABBREVIATIONS:
        minutes, region, remark = _ABBREVIATIONS[upper]
        return Zone(upper, timezone(timedelta(minutes=minutes), upper), region, remark)
    region = _REGIONS.get(upper.removesuffix(" TIME"))
    if region is not None:
        return Zone(token, _zoneinfo(region) or timezone.utc, None, f"{token} read as {region} (daylight saving time applies)")
    offset = re.fullmatch(r"(?:UTC|GMT)?\s?([+-])\s?(\d{1,2})(?::?(\d{2}))?", upper)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        hours, minutes = int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        delta = sign * timedelta(hours=hours, minutes=minutes)
        return Zone(format_offset(delta), timezone(delta))
    if "/" in token:
        found = _zoneinfo(token)
        return Zone(token, found) if found else None
    return None


def _zoneinfo(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def declared_zone(line: str) -> Zone | None:
    """The zone a line declares for the lines after it, or None."""
    match = _DECLARATION.search(line)
    if match:
        return zone_named(match.group("a") or match.group("b"))
    if line.lstrip().startswith("#") or re.search(r"timeline|times", line, re.IGNORECASE):
        match = _PARENTHESISED.search(line)
        if match:
            return zone_named(match.group("zone"))
    return None


def zone_in_header(header: str) -> Zone | None:
    """The zone a table's time column names: ``Time (UTC)``, ``Date and Time in CET``."""
    match = _PARENTHESISED.search(header) or re.search(rf"\b(?:in\s+)(?P<zone>{_ZONE_WORD})", header, re.IGNORECASE)
    if match is None:
        match = re.search(rf"(?<![A-Za-z])(?P<zone>{_OFFSET}|(?:{_ABBREVIATION})(?![A-Za-z]))", header)
    return zone_named(match.group("zone")) if match else None


def daylight_mismatch(zone: Zone, local: datetime) -> str | None:
    """When an abbreviation names the other half of its region's year (PST in July), a
    sentence saying how it was read; else None."""
    if zone.region is None:
        return None
    region = _zoneinfo(zone.region)
    if region is None:
        return None
    written = local.replace(tzinfo=zone.tz).utcoffset()
    actual = local.replace(tzinfo=region).utcoffset()
    if written == actual:
        return None
    return (
        f"{zone.label} ({format_offset(written)}) on {local:%Y-%m-%d}, when {zone.region} clocks "
        f"read {format_offset(actual)}: read as written, {format_offset(written)} (if these are "
        f"wall-clock times, pass --tz {zone.region})"
    )


__all__ = [
    "UTC_ZONE",
    "ZONE_AFTER_TIME",
    "Zone",
    "daylight_mismatch",
    "declared_zone",
    "format_offset",
    "zone_in_header",
    "zone_named",
]
