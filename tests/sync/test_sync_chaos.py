"""N clients × M events while the server is SIGKILLed and restarted K times.

The claim: 0 events lost, 0 stored twice, and every replica folds to the identical state.
Acknowledgements are also dropped on purpose (``resend_all`` forgets what the server has
acknowledged, so everything is pushed again): with dedupe on, the server must answer
"duplicate"; with dedupe switched off (``WARROOM_SERVER_UNSAFE_NO_DEDUPE=1``) the second
test shows duplicates really do appear — so the first test would catch a broken dedupe.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from warroom.domain.models import Severity

try:
    from serverproc import Replica, all_server_events, state_hash, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import Replica, all_server_events, state_hash, wait_until


CLIENTS = 3
EVENTS_PER_CLIENT = 150
KILLS = 3


@dataclass
class ChaosOutcome:
    expected_ids: set[str]
    server_ids: set[str]
    rows: int
    distinct: int
    replica_ids: list[set[str]]
    replica_hashes: list[str]
    server_hash: str
    went_offline: int


def run_chaos(server_factory, tmp_path, *, dedupe: bool, seed: int) -> ChaosOutcome:
    rng = random.Random(seed)
    env = {} if dedupe else {"WARROOM_SERVER_UNSAFE_NO_DEDUPE": "1"}
    server = server_factory("chaos-server", env=env)
    names = [f"client{i}" for i in range(CLIENTS)]
    tokens = {name: server.add_token(name) for name in names}
    server.start()
    replicas = [Replica(tmp_path / "clients", name, server.url, tokens[name]) for name in names]
    try:
        for replica in replicas:
            replica.start()
        incident = replicas[0].declare("Chaos monkey loose in prod", Severity.SEV2)
        wait_until(lambda: all(r.has(incident) for r in replicas), 20, "every client to see the incident")

        def write(replica: Replica, writer_seed: int) -> None:
            local = random.Random(writer_seed)
            for i in range(EVENTS_PER_CLIENT):
                changed = None
                if i % 10 == 9:  # concurrent last-writer-wins changes, too
                    changed = replica.set_severity(incident, local.choice(list(Severity)))
                if changed is None:
                    replica.log(incident, f"{replica.name} note {i}")
                time.sleep(local.uniform(0.0, 0.02))

        writers = [
            threading.Thread(target=write, args=(replica, seed * 100 + n), daemon=True)
            for n, replica in enumerate(replicas)
        ]
        for writer in writers:
            writer.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.1, 0.5))
            server.kill()  # SIGKILL: mid-commit, mid-response, mid-long-poll
            rng.choice(replicas).engine.resend_all()  # drop that client's acknowledgements
            time.sleep(rng.uniform(0.0, 0.2))
            server.start()
        for writer in writers:
            writer.join(60)
        for replica in replicas:
            replica.engine.resend_all()  # every event goes to the server at least twice

        expected = set().union(*(r.created_ids for r in replicas))
        assert len(expected) == 2 + CLIENTS * EVENTS_PER_CLIENT
        wait_until(
            lambda: all(
                r.engine.status.pending == 0 and r.event_ids(incident) >= expected for r in replicas
            ),
            60,
            "every client to push everything and receive everything",
        )
    finally:
        for replica in replicas:
            replica.close()
    server_events = [e for e in all_server_events(server.url, tokens["client0"]) if e.incident_id == incident]
    rows, distinct = server.counts()
    return ChaosOutcome(
        expected_ids=expected,
        server_ids=server.stored_ids(),
        rows=rows,
        distinct=distinct,
        replica_ids=[r.event_ids(incident) for r in replicas],
        replica_hashes=[r.state_hash(incident) for r in replicas],
        server_hash=state_hash(incident, server_events),
        went_offline=sum(any(not s.online and s.since for s in r.statuses) for r in replicas),
    )


def test_kill_restart_and_re_push_lose_nothing_and_duplicate_nothing(server_factory, tmp_path):
    outcome = run_chaos(server_factory, tmp_path, dedupe=True, seed=20240611)
    assert outcome.went_offline >= 1, "the kills should have been noticed"
    assert outcome.server_ids == outcome.expected_ids  # 0 lost
    assert outcome.rows == outcome.distinct == len(outcome.expected_ids)  # 0 duplicated
    assert all(ids == outcome.expected_ids for ids in outcome.replica_ids)
    assert set(outcome.replica_hashes) == {outcome.server_hash}  # identical replicas


def test_the_same_chaos_without_dedupe_stores_duplicates(server_factory, tmp_path):
    """Proves the test above has teeth: remove the dedupe and it would fail."""
    outcome = run_chaos(server_factory, tmp_path, dedupe=False, seed=20240611)
    assert outcome.server_ids == outcome.expected_ids
    # Duplicates were stored, so the main test's `rows == distinct` would fail. (How many
    # varies: a re-pushed id can also come back through the feed before it is pushed again.)
    assert outcome.rows > outcome.distinct
