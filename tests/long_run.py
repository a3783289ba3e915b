"""Chaos sync through a connection-cutting proxy, with server SIGKILLs: the figures we quote.

    python tests/long_run.py                     # long mode: 8 clients x 1,500 events x 20 kills
    python tests/long_run.py --clients 3 --events 100 --kills 2 --drops 4   # the CI size
    python tests/long_run.py --fuzz 500          # then the fuzz suites with 500 examples each

N clients (each a Workspace on its own data dir plus a running SyncEngine) write M events
each into two shared incidents, through ``ChaosProxy`` (tests/tcp_proxy.py) in front of a real
``warroom server``. Meanwhile the server is SIGKILLed and restarted K times at random moments,
and D responses are cut mid-way by the proxy (pushes the server committed but the client never
heard about, feed pages half delivered). Then every client must reach: 0 lost (every event any
client created is on the server and on every client), 0 duplicated (no event id twice in the
server's table nor in any client's journal), and the same folded state hash on every client
and on the server (its feed folded with the same code).

``tests/sync/test_reliability.py`` runs a small version in CI and this full one when
``WARROOM_LONG=1``. Everything listens on 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from serverproc import Replica, ServerProcess, all_server_events, state_hash, wait_until  # noqa: E402
from tcp_proxy import ChaosProxy  # noqa: E402

from warroom.domain.models import Severity  # noqa: E402
from warroom.store.journal import Journal  # noqa: E402

LONG = {"clients": 8, "events": 1500, "kills": 20, "drops": 40}
CI = {"clients": 3, "events": 100, "kills": 2, "drops": 4}


@dataclass
class ChaosFigures:
    clients: int
    events: int
    """Events created by all clients together (declarations included)."""
    kills: int
    drops: int
    """Responses actually cut by the proxy (pushes and feed pages)."""
    drops_by_method: dict[str, int]
    refused: int
    """Connections the proxy reset because the server was down."""
    lost: int
    """Created events missing from the server or from any client."""
    duplicates: int
    """Extra rows in the server's events table plus repeated ids in the clients' journals."""
    converged: bool
    """Every client's folded state hash equals the server's."""
    seconds: float
    went_offline: int
    """Clients whose status showed offline at some point (the faults were noticed)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicates == 0 and self.converged and not self.problems

    def table(self) -> str:
        rows = [
            ("clients", self.clients),
            ("events", f"{self.events:,}"),
            ("server kills (SIGKILL + restart)", self.kills),
            ("responses cut by the proxy", f"{self.drops} ({', '.join(f'{k} {v}' for k, v in sorted(self.drops_by_method.items())) or '-'})"),
            ("connections reset while down", self.refused),
            ("lost", self.lost),
            ("duplicates", self.duplicates),
            ("converged (same state hash everywhere)", "yes" if self.converged else "NO"),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def journal_duplicates(replica: Replica) -> int:
    """Ids written more than once to this client's journals (re-read from disk)."""
    extra = 0
    for path in sorted(replica.workspace.journal_dir.glob("*.jsonl")):
        ids = Counter(e.id for e in Journal(path, path.stem).open().events)
        extra += sum(n - 1 for n in ids.values())
    return extra


def combined_hash(incidents: list[str], events_by_incident) -> str:
    digest = hashlib.sha256()
    for incident in incidents:
        digest.update(state_hash(incident, events_by_incident(incident)).encode())
    return digest.hexdigest()


def run_chaos(
    root: Path,
    *,
    clients: int,
    events: int,
    kills: int,
    drops: int,
    seed: int = 20240611,
    dedupe: bool = True,
    converge_timeout: float = 120.0,
    log=None,
) -> ChaosFigures:
    """Run one chaos round in ``root``; returns the figures (the caller asserts on them)."""
    say = log or (lambda _message: None)
    rng = random.Random(seed)
    started = time.monotonic()
    env = {} if dedupe else {"WARROOM_SERVER_UNSAFE_NO_DEDUPE": "1"}
    server = ServerProcess(root / "server", env=env)
    names = [f"client{i}" for i in range(clients)]
    tokens = {name: server.add_token(name) for name in names}
    server.start()
    proxy = ChaosProxy(server.port, seed=seed).start()
    replicas = [Replica(root / "clients", name, proxy.url, tokens[name]) for name in names]
    kills_done = 0
    writers: list[threading.Thread] = []
    stop_writing = threading.Event()
    try:
        for replica in replicas:
            replica.start()
        incidents = [
            replicas[0].declare("Chaos monkey loose in prod", Severity.SEV2),
            replicas[-1].declare("Replication lag on db-7", Severity.SEV3),
        ]
        wait_until(
            lambda: all(r.has(i) for r in replicas for i in incidents), 30, "every client to see both incidents"
        )

        def write(replica: Replica, writer_seed: int) -> None:
            local = random.Random(writer_seed)
            for i in range(events):
                if stop_writing.is_set():
                    return
                incident = local.choice(incidents)
                changed = None
                if i % 10 == 9:  # concurrent last-writer-wins changes, too
                    changed = replica.set_severity(incident, local.choice(list(Severity)))
                if changed is None:
                    replica.log(incident, f"{replica.name} note {i}")
                time.sleep(local.uniform(0.0, 0.02))

        writers = [
            threading.Thread(target=write, args=(replica, seed * 100 + n), daemon=True, name=f"writer-{n}")
            for n, replica in enumerate(replicas)
        ]
        for writer in writers:
            writer.start()

        # The faults, in a random order, at random moments while the clients write: action
        # j fires once about j/(A+1) of all events have been written (jittered).
        actions = ["kill"] * kills + ["drop-push"] * ((drops + 1) // 2) + ["drop-feed"] * (drops // 2)
        rng.shuffle(actions)
        total = clients * events

        def written() -> int:
            return sum(len(r.created_ids) for r in replicas) - 4

        for j, action in enumerate(actions, start=1):
            milestone = int(total * (j + rng.uniform(-0.4, 0.4)) / (len(actions) + 1))
            while written() < milestone and any(w.is_alive() for w in writers):
                time.sleep(0.005)
            if action == "kill":
                server.kill()  # SIGKILL: mid-commit, mid-response, mid-long-poll
                kills_done += 1
                time.sleep(rng.uniform(0.0, 0.3))
                server.start()
                say(f"kill {kills_done}/{kills} at {time.monotonic() - started:.1f}s ({written()} written)")
            else:
                proxy.arm(1, "POST" if action == "drop-push" else "GET")
        for writer in writers:
            writer.join(max(60.0, events * 0.1))
        say(f"writers done at {time.monotonic() - started:.1f}s")
        # A cut armed near the end may still find a response among the last pushes and polls.
        deadline = time.monotonic() + 3.0
        while proxy.armed and time.monotonic() < deadline:
            time.sleep(0.01)
        left = proxy.disarm()
        if left:
            say(f"{left} armed cut(s) found no response to cut")

        expected = set().union(*(r.created_ids for r in replicas))
        problems: list[str] = []
        if any(w.is_alive() for w in writers):
            problems.append("a writer did not finish")
        if len(expected) != 4 + clients * events:  # 2 declarations of 2 events each
            problems.append(f"expected {4 + clients * events} created events, got {len(expected)}")
        try:
            wait_until(
                lambda: all(
                    r.engine.status.pending == 0
                    and set().union(*(r.event_ids(i) for i in incidents)) >= expected
                    for r in replicas
                ),
                converge_timeout,
                "every client to push everything and receive everything",
            )
        except AssertionError as exc:
            problems.append(str(exc))
        say(f"converged at {time.monotonic() - started:.1f}s")
    finally:
        stop_writing.set()
        for writer in writers:
            writer.join(10)
        for replica in replicas:
            replica.close()
        proxy.stop()

    try:
        server_events = all_server_events(server.url, tokens[names[0]])
        rows, distinct = server.counts()
        server_ids = server.stored_ids()
    finally:
        server.kill()
    by_incident: dict[str, list] = {}
    for event in server_events:
        by_incident.setdefault(event.incident_id, []).append(event)
    server_hash = combined_hash(incidents, lambda i: by_incident.get(i, []))
    replica_hashes = [combined_hash(incidents, r.workspace.events) for r in replicas]
    lost = len(expected - server_ids) + sum(
        len(expected - set().union(*(r.event_ids(i) for i in incidents))) for r in replicas
    )
    duplicates = (rows - distinct) + sum(journal_duplicates(r) for r in replicas)
    if len(server_events) != rows:
        problems.append(f"the feed served {len(server_events)} events but the table has {rows} rows")
    return ChaosFigures(
        clients=clients,
        events=len(expected),
        kills=kills_done,
        drops=proxy.drops,
        drops_by_method=dict(proxy.drops_by_method),
        refused=proxy.refused,
        lost=lost,
        duplicates=duplicates,
        converged=all(h == server_hash for h in replica_hashes),
        seconds=time.monotonic() - started,
        went_offline=sum(any(not s.online and s.since for s in r.statuses) for r in replicas),
        problems=problems,
    )


# --- fuzz budget (shared by test_input_fuzz.py and test_api_fuzz.py) ---------------------------

FUZZ_EXAMPLES_ENV = "WARROOM_FUZZ_EXAMPLES"
FUZZ_TALLY_ENV = "WARROOM_FUZZ_TALLY"


def fuzz_examples(default: int) -> int:
    """Examples per property: ``default`` in CI, more with WARROOM_FUZZ_EXAMPLES=N."""
    return int(os.environ.get(FUZZ_EXAMPLES_ENV) or default)


def write_tally(counts: Counter) -> None:
    """Append ``name count`` lines to $WARROOM_FUZZ_TALLY (how ``--fuzz`` counts examples)."""
    path = os.environ.get(FUZZ_TALLY_ENV)
    if path and counts:
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines(f"{name} {number}\n" for name, number in sorted(counts.items()))


def run_fuzz(examples: int) -> int:
    """Run the fuzz suites with ``examples`` per property; prints how many were tried."""
    with tempfile.TemporaryDirectory(prefix="warroom-fuzz-") as tmp:
        tally = Path(tmp) / "tally"
        env = {**os.environ, FUZZ_EXAMPLES_ENV: str(examples), FUZZ_TALLY_ENV: str(tally)}
        files = [str(HERE / "store" / "test_input_fuzz.py"), str(HERE / "server" / "test_api_fuzz.py")]
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files], env=env)
        counts: Counter[str] = Counter()
        if tally.exists():
            for line in tally.read_text().splitlines():
                name, _, number = line.rpartition(" ")
                counts[name] += int(number)
        for name, number in sorted(counts.items()):
            print(f"  {name:<50} {number:>7,} examples")
        print(f"  {'fuzz examples tried in all':<50} {sum(counts.values()):>7,}")
        return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=LONG["clients"])
    parser.add_argument("--events", type=int, default=LONG["events"], help="events per client")
    parser.add_argument("--kills", type=int, default=LONG["kills"])
    parser.add_argument("--drops", type=int, default=LONG["drops"], help="responses to cut")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--fuzz", type=int, default=0, metavar="N", help="then run the fuzz suites with N examples each")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="warroom-chaos-") as tmp:
        figures = run_chaos(
            Path(tmp),
            clients=args.clients,
            events=args.events,
            kills=args.kills,
            drops=args.drops,
            seed=args.seed,
            converge_timeout=300.0,
            log=None if args.quiet else lambda m: print(f"  {m}", flush=True),
        )
    print(figures.table())
    code = 0 if figures.ok else 1
    if args.fuzz:
        print()
        code = run_fuzz(args.fuzz) or code
    return code


if __name__ == "__main__":
    raise SystemExit(main())
