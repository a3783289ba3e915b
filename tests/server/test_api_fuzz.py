"""API fuzz against a real ``warroom server`` process: no 5xx, no undocumented status code.

Two fuzzers, bounded (``WARROOM_FUZZ_EXAMPLES`` raises the count; see tests/long_run.py):

* **schemathesis** reads the running server's ``/openapi.json`` and throws schema-valid and
  schema-invalid requests at every operation, with the bearer token, and checks each answer
  with its response checks (server errors, status codes and content types the document does
  not list, bodies that do not match the documented schema, auth that is ignored...);
* **hypothesis** posts what schemathesis cannot derive from the document, because an event is
  ``dict[str, Any]`` there: arbitrary JSON and bytes as the body, and real events with one
  part mangled. Every answer must be a documented code, every event judged on its own, and
  whatever the server accepts must read back from the feed as a valid event.

The server keeps a few events stored so a generated feed request never waits out a long-poll.
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, declare, log_entry
from warroom.domain.events import parse_event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity

try:
    from long_run import fuzz_examples, write_tally
    from serverproc import ServerProcess
except ImportError:  # tests/ collected as a package
    from tests.long_run import fuzz_examples, write_tally
    from tests.serverproc import ServerProcess

EXAMPLES = fuzz_examples(30)
TRIED: Counter[str] = Counter()

OPERATIONS = [
    ("GET", "/v1/health"),
    ("GET", "/v1/whoami"),
    ("GET", "/v1/incidents"),
    ("POST", "/v1/events"),
    ("GET", "/v1/feed"),
    ("POST", "/v1/hooks/alertmanager"),
    ("POST", "/v1/keys"),
    ("GET", "/v1/keys"),
    ("GET", "/v1/users"),
]


@pytest.fixture(scope="module", autouse=True)
def tally():
    yield
    write_tally(TRIED)


@pytest.fixture(scope="module", autouse=True)
def seeded(server):
    """The shared server with an incident of alice's to aim at (its events pushed first)."""
    server.token = server.tokens["alice"]
    clock = SystemClock()
    server.factory = EventFactory("alice", clock, HybridClock(clock, uuid7(clock.now())[-8:]))
    declared = declare(server.factory, title="Fuzz target", severity=Severity.SEV3)
    server.incident = fold_incident(declared[0].incident_id, declared)
    seeded = [*declared, *(log_entry(server.factory, server.incident, f"seed {i}") for i in range(3))]
    body = {"events": [json.loads(e.model_dump_json()) for e in seeded]}
    response = httpx.post(f"{server.url}/v1/events", json=body, headers=headers(server), timeout=30)
    assert response.status_code == 200 and response.json()["accepted"] == 5, response.text


def headers(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def no_server_errors_logged(server: ServerProcess) -> None:
    log = server.log()
    assert "unexpected error" not in log and "Traceback" not in log, log


# --- schemathesis ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(server):
    schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (the dev extra)")
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                # The token is sent by the test on every request (and the "ignored auth" check
                # re-sends without it): do not let generation count a missing header as the
                # thing that makes a request invalid.
                "with-security-parameters": False,
                # Unknown query parameters are ignored, as most HTTP APIs do; do not count
                # ?foo=1 as invalid data that must be refused.
                "allow-extra-parameters": False,
            }
        }
    )
    return schemathesis.openapi.from_url(
        f"{server.url}/openapi.json", headers=headers(server), timeout=10, config=config
    )


def test_schemathesis_sees_every_operation(api_schema):
    operations = sorted((op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations()))
    assert operations == sorted(OPERATIONS)


# Negative mode needs something to make invalid: only these operations take parameters or a body.
RUNS = [(m, p, "positive") for m, p in OPERATIONS] + [
    ("POST", "/v1/events", "negative"),
    ("GET", "/v1/feed", "negative"),
    ("POST", "/v1/keys", "negative"),
]


@pytest.mark.parametrize("method,path,mode", RUNS, ids=[" ".join(run) for run in RUNS])
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(api_schema, server, method, path, mode):
    import requests
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    operation = api_schema[path][method]
    session = requests.Session()
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure report is enough
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def run(case):
        response = case.call(base_url=server.url, session=session, headers=headers(server), timeout=30)
        statuses[response.status_code] += 1
        TRIED[f"schemathesis {method} {path} {mode}"] += 1
        # Every check schemathesis has (server errors, undocumented status codes, content
        # types and headers, response bodies against their schema, ignored auth...) except
        # "schema-valid data must be accepted": a cursor is an opaque string on purpose, so
        # a random one is valid by the schema and rightly answered 400 (documented).
        case.validate_response(response, headers=headers(server), excluded_checks=[positive_data_acceptance])

    run()
    assert sum(statuses.values()) >= 1
    assert not [code for code in statuses if code >= 500], statuses
    no_server_errors_logged(server)


# --- hypothesis: bodies schemathesis cannot derive ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)

ENVELOPE_FIELDS = ["id", "incident_id", "kind", "actor", "at", "logged_at", "hlc", "payload"]
KINDS = [
    "incident.declared", "incident.updated", "role.assigned", "entry.logged", "entry.amended",
    "entry.redacted", "runbook.attached", "checklist.ticked", "checklist.unticked", "nope",
]  # fmt: skip


def mangled_events():
    """Edits to make to a real event of alice's: one to three parts replaced, removed or
    added (see ``apply_mangles``)."""
    return st.lists(_mangle_op(), min_size=1, max_size=3)


def _mangle_op():
    field = st.sampled_from(ENVELOPE_FIELDS)
    payload_key = st.sampled_from(["text", "entry_kind", "title", "severity", "status", "role", "person", "steps", "x"])
    interesting = st.one_of(
        json_values,
        st.sampled_from(KINDS),
        st.sampled_from(["resolved", "SEV1", "Incident Commander", "ic", "", " ", "\x00", "x" * 5000]),
        st.sampled_from(["2026-13-40T99:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]),
    )
    return st.one_of(
        st.tuples(st.just("set"), field, interesting),
        st.tuples(st.just("drop"), field, st.none()),
        st.tuples(st.just("extra"), st.text(max_size=10), interesting),
        st.tuples(st.just("payload"), payload_key, interesting),
    )


def apply_mangles(event: dict, ops: list[tuple]) -> dict:
    mangled = copy.deepcopy(event)
    for op, key, value in ops:
        if op == "set":
            mangled[key] = value
        elif op == "drop":
            mangled.pop(key, None)
        elif op == "extra":
            mangled.setdefault(key, value)
        elif isinstance(mangled.get("payload"), dict):
            mangled["payload"][key] = value
    return mangled


def documented(spec: dict, method: str, path: str) -> set[int]:
    return {int(code) for code in spec["paths"][path][method.lower()]["responses"]}


@pytest.fixture(scope="module")
def push_codes(server) -> set[int]:
    spec = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    return documented(spec, "POST", "/v1/events")


def _check_push_answer(response: httpx.Response, sent: int, codes: set[int]) -> None:
    assert response.status_code in codes, (response.status_code, response.text[:300])
    assert response.status_code < 500, response.text[:300]
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code == 200:
        results = body["results"]
        assert [r["index"] for r in results] == list(range(sent))
        for result in results:
            assert result["status"] in ("accepted", "duplicate", "rejected")
            if result["status"] == "rejected":
                assert result["code"] and len(result["reason"]) > 10
    else:
        assert isinstance(body["error"], str) and len(body["error"]) > 10


_FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES * 3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_arbitrary_json_and_bytes_as_the_push_body(server, push_codes):
    http = httpx.Client(timeout=30, headers=headers(server))

    @_FUZZ_SETTINGS
    @given(body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300)))
    def run(body: bytes) -> None:
        TRIED["hypothesis push body"] += 1
        response = http.post(f"{server.url}/v1/events", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in push_codes and response.status_code != 403, response.text
        answer = response.json()
        if response.status_code == 200:  # it happened to be {"events": [...]}: judged one by one
            assert len(answer["results"]) == len(json.loads(body)["events"])
        else:
            assert isinstance(answer["error"], str) and len(answer["error"]) > 10

    run()
    no_server_errors_logged(server)


def test_mangled_events_are_judged_one_by_one_and_what_is_stored_reads_back(server, push_codes):
    http = httpx.Client(timeout=30, headers=headers(server))

    @_FUZZ_SETTINGS
    @given(ops=mangled_events(), with_good=st.booleans())
    # Found by this fuzz: a time that leaves datetime's range when converted to UTC made
    # parse_event raise OverflowError, the whole batch a 500, and the client's outbox stuck.
    @example(ops=[("set", "at", "0001-01-01T00:00:00+01:00")], with_good=True)
    @example(ops=[("set", "logged_at", "9999-12-31T23:59:59-01:00")], with_good=True)
    def run(ops, with_good: bool) -> None:
        TRIED["hypothesis mangled events"] += 1
        good = json.loads(log_entry(server.factory, server.incident, "a good one").model_dump_json())
        original = json.loads(log_entry(server.factory, server.incident, "to be mangled").model_dump_json())
        events = [apply_mangles(original, ops)] + ([good] if with_good else [])
        response = http.post(f"{server.url}/v1/events", json={"events": events})
        _check_push_answer(response, len(events), push_codes)
        if with_good:  # one bad event never blocks the good one next to it
            assert response.status_code == 200
            assert response.json()["results"][1]["status"] == "accepted"

    run()
    # Whatever was accepted is a valid event for every client: the whole feed parses.
    cursor, served = None, 0
    while True:
        params = {"timeout": 0, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{server.url}/v1/feed", params=params).json()
        for item in page["events"]:
            parse_event(item["event"])
        served += len(page["events"])
        cursor = page["cursor"]
        if not page["more"]:
            break
    rows, distinct = server.counts()
    assert served == rows == distinct
    no_server_errors_logged(server)
