"""The second pass of the import: what each written time means in UTC.

The rules (zone, date, year, am/pm, midnight, times that run backwards) are listed in
``warroom.export.importer``; every time one of them decides something the notes did not say,
a notice says what was decided, so the preview shows it before anything is imported.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple

from warroom.domain.scribe import FUTURE_SLACK
from warroom.export.notes.items import DateMark, NoteError, Notice, Timed, ZoneMark
from warroom.export.notes.when import WrittenDate, clock_24h
from warroom.export.notes.zones import UTC_ZONE, Zone, daylight_mismatch

_ROLLOVER = timedelta(hours=12)


class Resolved(NamedTuple):
    item: Timed
    at: datetime
    """UTC."""
    local: datetime
    """Naive: the date and time as read, in ``zone``."""
    zone: str
    approximate: bool


def _clock_text(hour: int, minute: int) -> str:
    suffix = "am" if hour < 12 else "pm"
    return f"{(hour % 12) or 12}:{minute:02d} {suffix}"


class Resolver:
    def __init__(
        self,
        items: list[Timed | DateMark | ZoneMark],
        *,
        now: datetime,
        default_date: date | None,
        tz: tzinfo | None,
    ) -> None:
        self.items = items
        self.now = now
        self.default_date = default_date
        label = getattr(tz, "key", None) or (tz.tzname(now) if tz is not None else None) or "the --tz zone"
        self.tz_zone = Zone(label, tz) if tz is not None else None
        self.notices: list = []
        self._said: set[str] = set()
        self._timed = [item for item in items if isinstance(item, Timed)]
        self.twelve_hour = any(item.stamp.twelve_hour for item in self._timed)

    # --- notices ---------------------------------------------------------------------------

    def notice(self, line_no: int, message: str, once: str | None = None) -> None:
        if once is not None:
            if once in self._said:
                return
            self._said.add(once)
        self.notices.append(Notice(line_no, message))

    # --- dates and zones --------------------------------------------------------------------

    def _first_year(self) -> int | None:
        for item in self.items:
            written = getattr(item, "date", None) or (
                (item.stamp.date or item.row_date) if hasattr(item, "stamp") else None
            )
            if written is not None and written.year:
                return written.year
        return None

    def _date(self, written: WrittenDate, line_no: int) -> date:
        """A written date with its year filled in; ``ValueError`` for a day that does not exist."""
        if written.guess:
            self.notice(line_no, written.guess, once=f"guess {written.guess}")
        year = written.year or self.year
        if year is None:
            base = self.default_date or self.now.date()
            year = base.year
            if self.default_date is None and date(year, written.month, min(written.day, 28)) > self.now.date():
                year -= 1
            self.notice(
                line_no,
                f"no year given: {year} assumed ({'from --date' if self.default_date else 'the last year not in the future'}; "
                "write the year once, e.g. a line '2017-01-31')",
                once="year",
            )
        try:
            return date(year, written.month, written.day)
        except ValueError:
            raise ValueError(f"{year}-{written.month:02d}-{written.day:02d} is not a valid date") from None

    def _zone(self, item: Timed, current: tuple[int, Zone] | None, below: tuple[int, Zone] | None) -> Zone:
        if item.stamp.zone is not None:
            return item.stamp.zone
        declared = item.table_zone or (current[1] if current else None)
        if self.tz_zone is not None:
            if declared is not None and declared.label != self.tz_zone.label:
                self.notice(
                    item.line_no,
                    f"--tz {self.tz_zone.label} used instead of {declared.label}, which the notes declare",
                    once=f"tz over {declared.label}",
                )
            return self.tz_zone
        if declared is not None:
            if item.table_zone is None and current is not None:
                self.notice(
                    item.line_no,
                    f"times without a zone are read in {current[1].describe()}, as line {current[0]} declares",
                    once=f"declared {current[0]}",
                )
            return declared
        if below is not None:
            self.notice(
                item.line_no,
                f"the zone {below[1].label} declared on line {below[0]} is used for the lines above it too",
                once="zone below",
            )
            return below[1]
        self.notice(0, "no time zone in the notes: times read as UTC (pass --tz ZONE if they are not)", once="utc")
        return UTC_ZONE

    def _start_day(self) -> tuple[date, int | None]:
        """The date of times before any date in the notes."""
        if self.default_date is not None:
            return self.default_date, None
        for item in self.items:
            written = item.date if isinstance(item, DateMark) else getattr(item, "stamp", None) and (item.stamp.date or item.row_date)
            if written:
                try:
                    return self._date(written, item.line_no), item.line_no
                except ValueError:
                    continue
        return self.now.date(), None

    # --- the pass ---------------------------------------------------------------------------

    def run(self) -> list:
        if self.default_date is not None or self._has_dates():
            return self._run(None)
        today = self.now.astimezone(timezone.utc).date()
        outcomes = self._run(today)
        late = sum(1 for o in outcomes if not isinstance(o, Resolved) and "future" in o.reason)
        if late:
            saved = (self.notices, self._said)
            self.notices, self._said = [], set()
            earlier = self._run(today - timedelta(days=1))
            if sum(1 for o in earlier if not isinstance(o, Resolved) and "future" in o.reason) < late:
                self.notice(0, f"no date in the notes: the times are on {today - timedelta(days=1)} (yesterday: today's "
                            "would be in the future); pass --date YYYY-MM-DD if not", once="no date")
                return earlier
            self.notices, self._said = saved
        self.notice(0, f"no date in the notes: the times are on {today} (today, UTC); pass --date YYYY-MM-DD if not", once="no date")
        return outcomes

    def _has_dates(self) -> bool:
        return any(
            isinstance(item, DateMark) or (hasattr(item, "stamp") and (item.stamp.date or item.row_date))
            for item in self.items
        )

    def _run(self, start: date | None) -> list:
        self.year = self.default_date.year if self.default_date else self._first_year()
        if start is None:
            day, from_line = self._start_day()
        else:
            day, from_line = start, None
        marks = [(item.line_no, item.zone) for item in self.items if isinstance(item, ZoneMark)]
        below = marks[0] if marks else None
        current: tuple[int, Zone] | None = None
        previous: Resolved | None = None
        seen_date = False
        outcomes: list = []
        next_meridiem = self._next_meridiems()
        for item in self.items:
            if isinstance(item, ZoneMark):
                current = (item.line_no, item.zone)
                continue
            if isinstance(item, DateMark):
                try:
                    day = self._date(item.date, item.line_no)
                except ValueError as exc:
                    outcomes.append(NoteError(item.line_no, "", str(exc)))
                    continue
                self.year, seen_date = day.year, True
                continue
            zone = self._zone(item, current, below)
            written = item.stamp.date or item.row_date
            try:
                if written is not None:
                    day = self._date(written, item.line_no)
                    self.year, seen_date = day.year, True
                elif from_line is not None and not seen_date:
                    self.notice(item.line_no, f"the date {day} from line {from_line} (below) is used for the lines above it", once="date below")
                resolved = self._resolve(item, day, zone, written is not None, previous, next_meridiem.get(id(item)))
            except ValueError as exc:
                outcomes.append(NoteError(item.line_no, item.line, str(exc)))
                continue
            except OverflowError:
                outcomes.append(NoteError(item.line_no, item.line, "the time is out of range"))
                continue
            day = resolved.local.date()
            if resolved.at > self.now + FUTURE_SLACK:
                outcomes.append(NoteError(
                    item.line_no, item.line,
                    f"{resolved.at:%Y-%m-%d %H:%M} UTC is in the future (give the date of the notes with --date)",
                ))  # fmt: skip
                continue
            outcomes.append(resolved)
            previous = resolved
        return outcomes

    def _next_meridiems(self) -> dict[int, tuple[str, int]]:
        """For each timed item: the am/pm of the next item that writes one (and its line)."""
        found: dict[int, tuple[str, int]] = {}
        following: tuple[str, int] | None = None
        for item in reversed(self._timed):
            if following is not None:
                found[id(item)] = following
            if item.stamp.twelve_hour:
                following = (item.stamp.meridiem or "am", item.line_no)
        return found

    def _resolve(
        self,
        item: Timed,
        day: date,
        zone: Zone,
        explicit_date: bool,
        previous: Resolved | None,
        next_meridiem: tuple[str, int] | None,
    ) -> Resolved:
        stamp = item.stamp

        def reading(hour: int, on: date) -> tuple[datetime, datetime]:
            local = datetime.combine(on, time(hour, stamp.minute, stamp.second, stamp.micro))
            return local.replace(tzinfo=zone.tz).astimezone(timezone.utc), local

        if (
            stamp.meridiem is None
            and self.twelve_hour
            and not stamp.iso
            and not stamp.zero_padded  # "09:15" is a 24-hour time
            and 1 <= (stamp.hour or 0) <= 12
        ):
            at, local = self._twelve_hour(item, day, explicit_date, previous, next_meridiem, reading)
        else:
            at, local = reading(clock_24h(stamp), day)
            if previous is not None and not explicit_date and at < previous.at - _ROLLOVER:
                at, local = reading(clock_24h(stamp), day + timedelta(days=1))
                self.notice(
                    item.line_no,
                    f"{stamp.written!r} is more than 12 hours before line {previous.item.line_no}: read as the "
                    f"next day, {local.date()}",
                )
        if previous is not None and at < previous.at:
            self.notice(
                item.line_no,
                f"{stamp.written!r} is earlier than line {previous.item.line_no} ({previous.local:%H:%M}): kept as "
                "written; the timeline shows entries in time order",
            )
        if zone.remark:
            self.notice(item.line_no, zone.remark, once=f"remark {zone.label}")
        mismatch = daylight_mismatch(zone, local)
        if mismatch:
            self.notice(item.line_no, mismatch, once=f"dst {zone.label}")
        return Resolved(item, at, local, zone.describe(local.date()), stamp.approximate)

    def _twelve_hour(self, item, day, explicit_date, previous, next_meridiem, reading) -> tuple[datetime, datetime]:
        """A time of 1-12 without am/pm in notes written in 12-hour times."""
        stamp = item.stamp
        if previous is not None:
            options = [reading(clock_24h(stamp, mer), day) for mer in ("am", "pm")]
            if not explicit_date:
                options.append(reading(clock_24h(stamp, "am"), day + timedelta(days=1)))
            after = [option for option in options if option[0] >= previous.at]
            at, local = min(after) if after else max(options)
            why = f"the first reading after {_clock_text(previous.local.hour, previous.local.minute)} on line {previous.item.line_no}"
        elif next_meridiem is not None:
            at, local = reading(clock_24h(stamp, next_meridiem[0]), day)
            why = f"as the next time that says am/pm, on line {next_meridiem[1]}"
        else:
            at, local = reading(clock_24h(stamp, "am"), day)
            why = "no time near it says am/pm"
        self.notice(
            item.line_no,
            f"{stamp.written!r} has no am/pm in notes written in 12-hour times: read as "
            f"{_clock_text(local.hour, local.minute)}{' on ' + str(local.date()) if local.date() != day else ''} ({why})",
        )
        return at, local


__all__ = ["Resolved", "Resolver"]
