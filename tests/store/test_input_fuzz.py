"""Input fuzz: every reader of outside input answers with a value or the project's own clear
error — never another exception, never a hang.

* journal reader: ``open_readonly`` on damaged bytes, ``read_new`` following a writer in
  arbitrary pieces, and *checksummed* lines whose JSON is not a valid event (the checksum only
  proves the bytes are what was written, not that it was warroom that wrote them);
* config loader: arbitrary text and TOML built from the real keys → Config or ConfigError,
  and whatever loads saves and loads back the same;
* ``parse_event`` on arbitrary JSON-like data and on real events with parts mangled → Event or
  ValueError, and what parses is canonical (re-parsing it, or reading it back as a journal
  line, gives the identical event, so every replica folds the same bytes);
* the scribe line and time parsers → ScribeLine/datetime or ScribeError.

Covered elsewhere: ``Journal.open`` on damaged bytes (test_journal.py), the runbook parser
(test_runbooks.py). Not yet testable: the timeline importer does not exist.

Bounded: ``WARROOM_FUZZ_EXAMPLES`` raises the example counts (tests/long_run.py --fuzz).
"""

from __future__ import annotations

import json
import tempfile
import zlib
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from warroom.domain.clock import FixedClock
from warroom.domain.commands import EventFactory, declare, log_entry
from pydantic_core import from_json

from warroom.domain.event_decode import _fast as _fast_decode, decode_trusted
from warroom.domain.events import Event, parse_canonical_event_json, parse_event
from warroom.domain.sealing import TextSealer
from warroom.domain.signing import Signer
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.models import EntryKind, Severity
from warroom.domain.scribe import FUTURE_SLACK, ScribeError, ScribeLine, parse_scribe_line, parse_when
from warroom.store.config import Config, ConfigError, load_config, save_config
from warroom.store.journal import Journal, JournalCorruptError, JournalError, encode_line

try:
    from long_run import fuzz_examples, write_tally
except ImportError:  # tests/ collected as a package
    from tests.long_run import fuzz_examples, write_tally

TRIED: Counter[str] = Counter()
CHEAP = fuzz_examples(150)  # pure functions
FILES = fuzz_examples(60)  # each example touches the disk


@pytest.fixture(scope="module", autouse=True)
def tally():
    yield
    write_tally(TRIED)


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)
_CLOCK = FixedClock(T0)
_FACTORY = EventFactory("alice", _CLOCK, HybridClock(_CLOCK, "fuzz0001"))
_DECLARED = declare(_FACTORY, title="Fuzzed", severity=Severity.SEV2)
INCIDENT = _DECLARED[0].incident_id
_STATE = fold_incident(INCIDENT, _DECLARED)
GOOD_EVENTS = [*_DECLARED, *(log_entry(_FACTORY, _STATE, f"note {i}") for i in range(4))]
GOOD_DICTS = [json.loads(e.model_dump_json()) for e in GOOD_EVENTS]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

# Times people or programs could send, within years 1900-2100; the edges of datetime's range
# (year 1 at +01:00, which has no UTC equivalent) are tested explicitly at the bottom.
times = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
                 ).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.isoformat()),  # naive
    st.sampled_from(["2026-13-40T99:00:00Z", "yesterday", "", "2026-03-30", "14:32"]),
)  # fmt: skip

FIELDS = ["id", "incident_id", "kind", "actor", "at", "logged_at", "hlc", "payload", "sig"]
PAYLOAD_KEYS = ["text", "entry_kind", "title", "severity", "status", "role", "person", "summary",
                "steps", "runbook_id", "step_id", "tick_ids", "entry_id", "reason", "x"]  # fmt: skip
KINDS = ["incident.declared", "incident.updated", "role.assigned", "entry.logged", "entry.amended",
         "entry.redacted", "runbook.attached", "checklist.ticked", "checklist.unticked", "Entry.Logged", ""]  # fmt: skip


@st.composite
def event_like(draw) -> object:
    """Arbitrary JSON-ish data, or a real event with one to four parts changed."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    data = json.loads(json.dumps(draw(st.sampled_from(GOOD_DICTS))))
    interesting = st.one_of(
        json_values, times, st.sampled_from(KINDS),
        st.sampled_from(["resolved", "SEV1", "sev1", "Incident Commander", "ic", "decision", "status",
                         " ", "\x00", "\u202e", "x" * 4001, "0" * 18 + "-0000-a", GOOD_DICTS[2]["id"]]),
    )  # fmt: skip
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        op = draw(st.sampled_from(["set", "drop", "extra", "payload", "payload-drop", "kind-swap"]))
        if op == "set":
            data[draw(st.sampled_from(FIELDS))] = draw(interesting)
        elif op == "drop":
            data.pop(draw(st.sampled_from(FIELDS)), None)
        elif op == "extra":
            data[draw(st.text(max_size=8))] = draw(interesting)
        elif op == "kind-swap":
            data["kind"] = draw(st.sampled_from(KINDS))
        elif isinstance(data.get("payload"), dict):
            key = draw(st.sampled_from(PAYLOAD_KEYS))
            if op == "payload":
                data["payload"][key] = draw(interesting)
            else:
                data["payload"].pop(key, None)
    return data


# --- parse_event ----------------------------------------------------------------------------


@fuzz(CHEAP * 2)
@given(data=event_like())
def test_parse_event_gives_an_event_or_a_value_error(data):
    TRIED["parse_event"] += 1
    try:
        event = parse_event(data)
    except ValueError as exc:
        assert str(exc)  # a sentence, not an empty message
        return
    assert isinstance(event, Event)
    # Canonical: what parsed dumps to JSON that parses back identical, whether re-validated
    # (the server, the feed) or read as a trusted journal line.
    dumped = event.model_dump_json()
    assert parse_event(json.loads(dumped)) == event
    assert parse_canonical_event_json(dumped.encode()) == event
    assert parse_event(json.loads(dumped)).model_dump_json() == dumped
    assert event.at.utcoffset() == timedelta(0) and event.logged_at.utcoffset() == timedelta(0)


# --- the journal reader ---------------------------------------------------------------------


def _line(raw: bytes) -> bytes:
    """A journal line with a *correct* checksum around arbitrary content."""
    return b"%08x %s\n" % (zlib.crc32(raw), raw)


@st.composite
def checksummed_journals(draw) -> bytes:
    """Good lines with some lines of checksummed non-events (or other incidents' events)."""
    lines = [encode_line(e) for e in GOOD_EVENTS]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["event-like", "json", "bytes", "nested"]))
        if kind == "event-like":
            raw = json.dumps(draw(event_like())).encode()
        elif kind == "json":
            raw = json.dumps(draw(json_values)).encode()
        elif kind == "nested":
            raw = b"[" * draw(st.integers(1, 5000)) + b"]" * draw(st.integers(0, 5000))
        else:
            raw = draw(st.binary(max_size=200)).replace(b"\n", b"")
        lines.insert(draw(st.integers(0, len(lines))), _line(raw))
    return b"".join(lines)


@fuzz(FILES)
@given(blob=checksummed_journals())
def test_journal_lines_with_good_checksums_but_bad_content_are_set_aside(blob):
    TRIED["journal: checksummed bad content"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{INCIDENT}.jsonl"
        path.write_bytes(blob)
        # open(): the bad lines are set aside, the good ones load, not one byte is removed
        result = Journal(path, INCIDENT).open()
        assert path.read_bytes() == blob
        assert all(e.incident_id == INCIDENT for e in result.events)
        assert len(result.events) + len(result.damaged) == blob.count(b"\n")
        assert {e.id for e in GOOD_EVENTS} <= {e.id for e in result.events}
        try:
            events = Journal(path, INCIDENT).open_readonly()
        except JournalCorruptError as exc:
            assert exc.line_no >= 1 and str(path) in str(exc)
            assert path.read_bytes() == blob  # refusing never modifies
        else:
            # Only possible when every inserted line happened to be a valid event of ours.
            assert all(e.incident_id == INCIDENT for e in events)


@fuzz(FILES)
@given(data=st.one_of(st.binary(max_size=400), checksummed_journals()))
def test_open_readonly_gives_events_or_a_journal_error_and_never_writes(data):
    TRIED["journal: open_readonly"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{INCIDENT}.jsonl"
        path.write_bytes(data)
        try:
            events = Journal(path, INCIDENT).open_readonly()
        except JournalError:
            pass
        else:
            assert len(events) == data.count(b"\n")
        assert path.read_bytes() == data


@fuzz(FILES)
@given(cuts=st.lists(st.integers(0, 100_000), max_size=12), garbage=st.binary(max_size=30))
def test_read_new_following_a_writer_in_pieces_sees_each_event_once(cuts, garbage):
    """Another process appends the journal in arbitrary pieces (a line may arrive in several
    writes); a follower calling read_new in between gets every event exactly once, in order,
    and never takes a half-written line for a bad one."""
    TRIED["journal: read_new in pieces"] += 1
    blob = b"".join(encode_line(e) for e in GOOD_EVENTS)
    points = sorted({c % (len(blob) + 1) for c in cuts} | {len(blob)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{INCIDENT}.jsonl"
        follower = Journal(path, INCIDENT)
        seen: list[Event] = []
        written = 0
        for point in points:
            with open(path, "ab") as handle:
                handle.write(blob[written:point])
            written = point
            seen += follower.read_new()
        assert seen == GOOD_EVENTS
        # A writer that then dies mid-line: the follower waits; it is not corruption yet.
        with open(path, "ab") as handle:
            handle.write(garbage.replace(b"\n", b""))
        assert follower.read_new() == []


# --- the config loader ----------------------------------------------------------------------

toml_scalars = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30).map(
        lambda text: json.dumps(text, ensure_ascii=False)  # a TOML basic string
    ),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["true", "false", "1979-05-27T07:32:00Z", "07:32:00", "3.14", "inf", "nan", "'lit'", '"""multi\nline"""']),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    max_leaves=6,
)
_toml_strings = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=70).map(
    lambda text: json.dumps(text, ensure_ascii=False)  # TOML takes \uXXXX, not surrogate pairs
)
TYPED_VALUES = {
    "user": _toml_strings,
    "data_dir": _toml_strings,
    "theme": _toml_strings,
    "local_time": st.sampled_from(["true", "false"]),
    "runbook_dirs": st.lists(_toml_strings, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
}
config_keys = st.one_of(
    st.sampled_from(sorted(Config.model_fields)),
    st.sampled_from(sorted(Config.model_fields)),
    st.sampled_from(sorted(Config.model_fields)),
    st.sampled_from(["colour", "User", "data-dir", "[section]", "a.b", '"quoted"']),
)


@st.composite
def config_texts(draw) -> str:
    """Mostly TOML built from the real keys with any TOML value; sometimes plain junk."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.text(max_size=200))
    lines = []
    for key in draw(st.lists(config_keys, max_size=6, unique=True)):
        if key.startswith("["):
            lines.append(key)
        elif key in TYPED_VALUES and draw(st.integers(0, 4)):
            lines.append(f"{key} = {draw(TYPED_VALUES[key])}")  # the right type, any value
        else:
            lines.append(f"{key} = {draw(toml_values)}")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n# comment\n", "\x00"]))


@fuzz(FILES)
@given(text=config_texts(), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
@example(text='user = "alice"\nlocal_time = true\n', encoding="utf-8")
def test_config_loader_gives_a_config_or_a_config_error(text, encoding):
    TRIED["config loader"] += 1
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(raw)
        try:
            config = load_config(path)
        except ConfigError as exc:
            assert str(path) in str(exc)
            assert path.read_bytes() == raw  # a broken file is reported, never reset
            return
        assert isinstance(config, Config)
        # Whatever loads, saves and loads back the same.
        again = Path(tmp) / "again.toml"
        save_config(config, again)
        assert load_config(again) == config


# --- what the scribe types ----------------------------------------------------------------

scribe_lines = st.one_of(
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(["", "/d ", "/decision ", "/todo", "/x ", "/ ", "/D\t"]),
        st.sampled_from(["", "14:32 ", "23:59:59 - ", "9:05 UTC ", "24:00 ", "14:3 ", "00:00Z: ", "14:32|"]),
        st.sampled_from(["", "/a ", "/hypothesis "]),
        st.text(max_size=40),
    ).map("".join),
)
nows = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))


@fuzz(CHEAP)
@given(line=scribe_lines, now=nows)
@example(line="00:00 happened just before midnight", now=datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc))
def test_scribe_lines_give_a_scribe_line_or_a_scribe_error(line, now):
    TRIED["parse_scribe_line"] += 1
    try:
        parsed = parse_scribe_line(line, now)
    except ScribeError as exc:
        assert str(exc)
        return
    assert isinstance(parsed, ScribeLine) and isinstance(parsed.kind, EntryKind)
    assert parsed.text and parsed.text == parsed.text.strip()
    if parsed.at is not None:
        assert parsed.at.tzinfo is not None
        assert now - timedelta(days=1) - FUTURE_SLACK <= parsed.at <= now + FUTURE_SLACK


@fuzz(CHEAP)
@given(
    text=st.one_of(
        st.text(max_size=40),
        times,
        st.tuples(times, st.sampled_from(["", " UTC", "Z", " "])).map("".join),
    ),
    now=nows,
)
def test_times_on_the_command_line_give_a_time_or_a_scribe_error(text, now):
    TRIED["parse_when"] += 1
    try:
        when = parse_when(text, now)
    except ScribeError as exc:
        assert str(exc)
        return
    assert when.utcoffset() == timedelta(0)


# --- a time with no UTC equivalent ---------------------------------------------------------
# A time that leaves datetime's range once converted to UTC (year 1 at +01:00) used to raise
# OverflowError from the domain, crashing the journal reader, Workspace.load and
# `warroom log --at`; it is now the project's own error everywhere.

_OUT_OF_RANGE = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("when", _OUT_OF_RANGE)
def test_an_out_of_range_time_in_an_event_is_a_value_error(when):
    with pytest.raises(ValueError):
        parse_event({**GOOD_DICTS[2], "at": when})


def test_an_out_of_range_time_in_a_checksummed_journal_line_is_a_damaged_line(tmp_path):
    path = tmp_path / f"{INCIDENT}.jsonl"
    path.write_bytes(encode_line(GOOD_EVENTS[0]) + _line(json.dumps({**GOOD_DICTS[2], "at": _OUT_OF_RANGE[0]}).encode()))
    result = Journal(path, INCIDENT).open()
    assert [bad.line_no for bad in result.damaged] == [2]
    assert [e.id for e in result.events] == [GOOD_EVENTS[0].id]


@pytest.mark.parametrize("when", _OUT_OF_RANGE)
def test_an_out_of_range_time_on_the_command_line_is_a_scribe_error(when):
    with pytest.raises(ScribeError):
        parse_when(when, T0)


def test_the_mangled_fields_are_the_event_envelope():
    """If the envelope gains or renames a field, the event fuzz must learn it."""
    assert set(FIELDS) == set(Event.model_fields)


# --- the journal's fast decoder ---------------------------------------------------------------
# Journal lines are read back by ``decode_trusted``, which builds the event itself when the line
# is in the canonical shape and leaves everything else to full validation. Whatever the line, it
# must give exactly what full validation gives: the same event, or the same error.

_SEALED_FACTORY = EventFactory(
    "Dana Whitfield", _CLOCK, HybridClock(_CLOCK, "fuzz0002"), signer=Signer.generate()[0], sealer=TextSealer()
)
_SIGNED_EVENTS = [
    *declare(_SEALED_FACTORY, title="Sealed and signed", severity=Severity.SEV1),
]
_SIGNED_STATE = fold_incident(_SIGNED_EVENTS[0].incident_id, _SIGNED_EVENTS)
_SIGNED_EVENTS += [
    log_entry(_SEALED_FACTORY, _SIGNED_STATE, "checkout p99 back under 300 ms", EntryKind.DECISION),
    log_entry(_SEALED_FACTORY, _SIGNED_STATE, "rolled back **canary** 4411", EntryKind.ACTION),
]


def _same_outcome(raw: bytes, incident_id: str) -> Event | None:
    try:
        expected = parse_canonical_event_json(raw)
    except ValueError as exc:
        with pytest.raises(ValueError) as caught:
            decode_trusted(raw, incident_id)
        assert str(caught.value) == str(exc)
        return None
    got = decode_trusted(raw, incident_id)
    assert got == expected
    assert got.model_dump_json() == expected.model_dump_json()
    assert got.model_fields_set == expected.model_fields_set
    assert got.at.utcoffset() == timedelta(0) and got.logged_at.utcoffset() == timedelta(0)
    return got


@fuzz(CHEAP * 2)
@given(data=event_like(), compact=st.booleans())
def test_the_fast_decoder_gives_what_full_validation_gives(data, compact):
    TRIED["decode_trusted"] += 1
    raw = json.dumps(data, separators=(",", ":") if compact else None, ensure_ascii=compact).encode()
    _same_outcome(raw, INCIDENT)


@pytest.mark.parametrize("event", [*GOOD_EVENTS, *_SIGNED_EVENTS], ids=lambda e: e.kind)
def test_canonical_lines_take_the_fast_path_and_round_trip(event):
    line = encode_line(event)
    raw = line[9:-1]
    fast = _fast_decode(from_json(raw), event.incident_id)
    assert fast is not None  # else the equivalence above would be tested on the slow path only
    assert fast == event == _same_outcome(raw, event.incident_id)
    assert encode_line(fast) == line
    assert fast.body() == event.body()


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "Dana\u2028"},  # a line separator pydantic strips: full validation decides
        {"actor": " Dana"},
        {"actor": "x" * 65},
        {"at": "2026-03-30T14:00:00.123Z"},  # not the canonical form, still a valid time
        {"at": "2026-02-30T14:00:00Z"},
        {"at": "2026-03-30T24:00:00Z"},
        {"at": "2026-03-30T14:00:00+02:00"},
        {"logged_at": "2026-03-30T14:00:00.1234567Z"},
        {"sig": None},
        {"sig": "0" * 16 + ":" + "A" * 85},
        {"hlc": "0" * 18 + "-0000-fuzz0001\n"},
        {"id": GOOD_DICTS[2]["id"].upper()},
        {"kind": "entry.unknown"},
        {"payload": {"entry_kind": "note"}},
        {"payload": {"entry_kind": "declared", "text": "x"}},
        {"extra": 1},
        # The fast path checks id, hlc, time and signature in one regex over the values joined
        # by newlines: a value carrying a newline (or another field) must not slip through.
        {"id": GOOD_DICTS[2]["id"] + "\n" + GOOD_DICTS[2]["hlc"]},
        {"hlc": GOOD_DICTS[2]["hlc"] + "\n" + GOOD_DICTS[2]["at"]},
        {"at": GOOD_DICTS[2]["at"] + "\n"},
        {"id": GOOD_DICTS[2]["id"] + "\n"},
        {"hlc": ""},
    ],
)
def test_lines_off_the_canonical_shape_get_full_validations_answer(change):
    data = {**GOOD_DICTS[2], **change}
    for shape in (data, dict(reversed(data.items()))):
        _same_outcome(json.dumps(shape, separators=(",", ":")).encode(), INCIDENT)


def test_an_event_of_another_incident_is_decoded_for_the_journal_to_refuse(tmp_path):
    other = _SIGNED_EVENTS[1]
    assert decode_trusted(encode_line(other)[9:-1], INCIDENT) == other
    path = tmp_path / f"{INCIDENT}.jsonl"
    path.write_bytes(encode_line(GOOD_EVENTS[0]) + encode_line(other))
    result = Journal(path, INCIDENT).open()
    assert [bad.line_no for bad in result.damaged] == [2]
    assert "belongs to incident" in result.damaged[0].reason
