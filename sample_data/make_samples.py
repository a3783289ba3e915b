"""Regenerate sample_data/incidents/ (the journals `warroom demo` opens).

    python sample_data/make_samples.py

The incidents are written through the real domain commands and journal, with a frozen clock
and seeded ids, so the output is byte-for-byte reproducible and always in the current on-disk
format. Edit the scripts below, not the .jsonl files.
"""

from __future__ import annotations

import random
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warroom.domain import commands  # noqa: E402
from warroom.domain.clock import FixedClock  # noqa: E402
from warroom.domain.ids import uuid7  # noqa: E402
from warroom.comms.render import render  # noqa: E402
from warroom.runbooks.library import attach_fields, load_library  # noqa: E402
from warroom.comms.templates import load_templates  # noqa: E402
from warroom.domain.models import CommsChannel, ComponentState, Milestone, Severity, Status  # noqa: E402
from warroom.domain.scribe import parse_scribe_line  # noqa: E402
from warroom.store.atomic import atomic_write  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402

OUT = Path(__file__).resolve().parent / "incidents"
TEMPLATES = Path(__file__).resolve().parent / "templates"


class Scene:
    """A tiny script runner: who acts, at what time, doing what."""

    def __init__(self, data_dir: Path) -> None:
        atomic_write(data_dir / "node-id", b"5a3b1e00")
        self.clock = FixedClock(datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc))
        # Unsigned and unsealed: the samples are demo data, reproducible byte for byte.
        self.ws = Workspace(data_dir, "alice", self.clock, signer=None, seal=False)
        self.ws.load()

    def reseed(self, seed: int) -> None:
        """Each incident draws its ids from its own seed, so editing one incident's script
        never changes another incident's ids (tests and docs refer to them)."""
        rng = random.Random(seed)
        self.ws.factory.new_id = lambda now: uuid7(now, rng.randbytes(10))

    def at(self, day: int, hhmm: str, actor: str) -> "Scene":
        hour, minute = map(int, hhmm.split(":"))
        self.clock.set(datetime(2026, 11, day, hour, minute, rng_second(hhmm, actor), tzinfo=timezone.utc))
        self.ws.set_actor(actor)
        return self

    def declare(self, **kwargs) -> str:
        events = commands.declare(self.ws.factory, **kwargs)
        self.ws.record(events)
        return events[0].incident_id

    def log(self, incident_id: str, line: str) -> str:
        parsed = parse_scribe_line(line, self.clock.now())
        event = commands.log_entry(self.ws.factory, self.ws.get(incident_id), parsed.text, parsed.kind, parsed.at)
        self.ws.record([event])
        return event.id

    def set(self, incident_id: str, **fields) -> None:
        self.ws.record([commands.update(self.ws.factory, self.ws.get(incident_id), **fields)])

    def assign(self, incident_id: str, role: str, person: str) -> None:
        self.ws.record([commands.assign_role(self.ws.factory, self.ws.get(incident_id), role, person)])

    def amend(self, incident_id: str, entry_id: str, text: str) -> None:
        self.ws.record([commands.amend_entry(self.ws.factory, self.ws.get(incident_id), entry_id, text)])

    def sent(self, incident_id: str, template_id: str, channel: CommsChannel) -> None:
        templates, _ = load_templates([TEMPLATES])
        text = render(templates[template_id], self.ws.get(incident_id), self.clock.now())
        heads = [v.id for v in self.ws.get(incident_id).draft_heads(template_id)]
        self.ws.record([commands.save_draft(self.ws.factory, self.ws.get(incident_id), template_id, text, heads)])
        self.ws.record([commands.mark_sent(self.ws.factory, self.ws.get(incident_id), template_id, channel, text)])

    def attach(self, incident_id: str, runbook_id: str) -> None:
        runbooks, _ = load_library()
        runbook = next(r for r in runbooks if r.id == runbook_id)
        self.ws.record([commands.attach_runbook(self.ws.factory, self.ws.get(incident_id), **attach_fields(runbook))])

    def tick(self, incident_id: str, runbook_id: str, step_number: int, skipped: str | None = None) -> None:
        step = self.ws.get(incident_id).checklists[runbook_id].steps[step_number]
        self.ws.record([commands.tick_step(self.ws.factory, self.ws.get(incident_id), runbook_id, step.id, skipped_reason=skipped)])

    def component(self, incident_id: str, name: str, state: ComponentState) -> None:
        self.ws.record([commands.set_component(self.ws.factory, self.ws.get(incident_id), name, state)])

    def milestone(self, incident_id: str, milestone: Milestone, hhmm: str) -> None:
        hour, minute = map(int, hhmm.split(":"))
        at = self.clock.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
        self.ws.record([commands.set_milestone(self.ws.factory, self.ws.get(incident_id), milestone, at)])

    def redact(self, incident_id: str, entry_id: str, reason: str) -> None:
        self.ws.record([commands.redact_entry(self.ws.factory, self.ws.get(incident_id), entry_id, reason)])


def rng_second(hhmm: str, actor: str) -> int:
    """Seconds that look like real typing, but are the same on every run."""
    return (sum(map(ord, hhmm + actor)) * 7) % 60


def search_slow(s: Scene) -> None:
    """Yesterday: a SEV3 that was handled calmly and resolved."""
    s.reseed(1)
    s.at(17, "09:10", "heidi")
    inc = s.declare(
        title="Search results slow (p95 above 4 s)",
        severity=Severity.SEV3,
        impact="Search p95 latency 4-6 s for all users; results are correct",
        incident_type="search",
    )
    s.at(17, "09:11", "heidi").log(inc, "09:02 - Alert: search_latency_p95 > 2s for 10 minutes")
    s.at(17, "09:11", "heidi").milestone(inc, Milestone.ACKNOWLEDGED, "09:06")
    s.at(17, "09:12", "ivan").log(inc, "/hypothesis Segment merge running during business hours")
    s.at(17, "09:13", "heidi").assign(inc, "tech", "ivan")
    s.at(17, "09:16", "ivan").log(inc, "Confirmed: merge on shard 3 started 08:55, IO wait at 70% on its nodes")
    s.at(17, "09:17", "heidi").set(inc, status=Status.IDENTIFIED)
    s.at(17, "09:18", "heidi").log(inc, "/decision Throttle merges to 20 MB/s instead of failing over shard 3")
    s.at(17, "09:19", "ivan").log(inc, "/action Merge throttle applied: indices.store.throttle.max_bytes_per_sec=20mb")
    s.at(17, "09:24", "ivan").log(inc, "p95 back to 450 ms; merge still running, slower")
    s.at(17, "09:25", "heidi").set(inc, status=Status.MONITORING)
    s.at(17, "09:31", "heidi").log(inc, "/todo Move force-merges to the 02:00-04:00 maintenance window")
    s.at(17, "09:41", "ivan").log(inc, "Merge finished; latency stable at baseline for 15 minutes")
    s.at(17, "09:42", "heidi").set(inc, status=Status.RESOLVED)
    s.at(17, "09:42", "heidi").log(inc, "Resolved after 30 minutes within SLO. Postmortem light: no customer tickets")


def payments_outage(s: Scene) -> str:
    """Today: the big one, a SEV1, mitigated and in monitoring."""
    s.reseed(2)
    s.at(18, "14:35", "alice")
    inc = s.declare(
        title="Checkout payments failing for all customers",
        severity=Severity.SEV2,
        impact="Card payments fail at checkout; customers see 'payment declined'",
        incident_type="payments",
    )
    s.at(18, "14:35", "alice").attach(inc, "ic-first-five-minutes")
    s.at(18, "14:35", "alice").attach(inc, "payment-high-error-rate")
    s.at(18, "14:35", "dave").log(inc, "14:31 - Alert fired: payment_error_rate > 5% on payments-api")
    s.at(18, "14:36", "dave").log(inc, "14:33 - bob (on-call) acknowledged the page")
    s.at(18, "14:36", "dave").milestone(inc, Milestone.ACKNOWLEDGED, "14:33")
    s.at(18, "14:36", "alice").assign(inc, "scribe", "dave")
    s.at(18, "14:36", "alice").assign(inc, "tech", "bob")
    s.at(18, "14:36", "alice").tick(inc, "ic-first-five-minutes", 0)
    s.at(18, "14:37", "bob").log(inc, "Error rate 38% and climbing; every card network affected")
    s.at(18, "14:37", "alice").tick(inc, "ic-first-five-minutes", 1)
    s.at(18, "14:38", "alice").set(inc, severity=Severity.SEV1)
    s.at(18, "14:38", "alice").tick(inc, "ic-first-five-minutes", 2)
    s.at(18, "14:38", "alice").assign(inc, "comms", "carol")
    s.at(18, "14:38", "alice").tick(inc, "ic-first-five-minutes", 3)
    s.at(18, "14:39", "carol").component(inc, "Checkout", ComponentState.MAJOR_OUTAGE)
    s.at(18, "14:39", "carol").sent(inc, "status-page", CommsChannel.STATUS_PAGE)
    s.at(18, "14:40", "bob").log(inc, "/hypothesis payments-api v2.14.3 (deployed 14:15) introduced the regression")
    s.at(18, "14:40", "bob").tick(inc, "payment-high-error-rate", 0)
    s.at(18, "14:41", "bob").tick(inc, "payment-high-error-rate", 1)
    s.at(18, "14:41", "erin").log(inc, "Gateway provider status is green and their API answers normally; upstream unlikely")
    s.at(18, "14:42", "bob").log(inc, "NullPointerException in CardTokenizer.normalize() since 14:16, only on stored cards")
    s.at(18, "14:43", "bob").log(inc, "Confirmed: v2.14.3 changed token normalisation; stored cards without expiry throw")
    s.at(18, "14:43", "alice").set(inc, status=Status.IDENTIFIED)
    s.at(18, "14:44", "alice").log(inc, "/decision Roll back payments-api to v2.14.2 rather than hotfix forward")
    s.at(18, "14:44", "bob").log(inc, "/action Rollback started: deploy freeze, then kubectl rollout undo deployment/payments-api")
    s.at(18, "14:45", "frank").log(inc, "Checkout retries are hammering the database: connection pool at 92%")
    s.at(18, "14:46", "alice").log(inc, "/action frank: cap checkout retries with flag checkout.retry_limit=1")
    s.at(18, "14:47", "carol").sent(inc, "status-update", CommsChannel.INTERNAL)
    s.at(18, "14:47", "alice").tick(inc, "ic-first-five-minutes", 5)
    s.at(18, "14:48", "frank").log(inc, "Retry cap live; database pool back to 60%")
    s.at(18, "14:50", "bob").log(inc, "Rollback half done; error rate 38% → 21%")
    s.at(18, "14:52", "bob").log(inc, "Rollback complete: all pods on v2.14.2")
    s.at(18, "14:53", "erin").log(inc, "Error rate 4% and falling; payments succeeding again")
    s.at(18, "14:54", "alice").set(inc, status=Status.MONITORING)
    s.at(18, "14:55", "carol").component(inc, "Checkout", ComponentState.DEGRADED)
    s.at(18, "14:55", "carol").sent(inc, "status-page", CommsChannel.STATUS_PAGE)
    canary = s.at(18, "14:56", "dave").log(inc, "/todo Find out why canary analysis passed v2.14.3")
    s.at(18, "14:57", "erin").log(inc, "Error rate at baseline (0.3%)")
    s.at(18, "14:58", "alice").log(inc, "/decision Keep the payments-api deploy freeze until the postmortem")
    s.at(18, "14:59", "bob").log(inc, "/todo Contract test for stored cards without expiry in CardTokenizer")
    s.at(18, "15:00", "dave").amend(inc, canary, "Find out why canary analysis passed v2.14.3 (canary traffic had no stored cards?)")
    s.at(18, "15:01", "alice").log(inc, "Handing IC to grace (EU on-call) for the monitoring window")
    s.at(18, "15:01", "alice").assign(inc, "ic", "grace")
    s.at(18, "15:02", "grace").log(inc, "IC here. Monitoring 30 more minutes before resolving")
    s.at(18, "15:04", "carol").sent(inc, "status-update", CommsChannel.INTERNAL)
    s.at(18, "15:06", "frank").log(inc, "/todo Retry storm amplified the outage: review checkout-web retry and backoff")
    ticket = s.at(18, "15:08", "erin").log(inc, "Support escalation from jane.doe@example.com: charged twice?")
    s.at(18, "15:09", "dave").redact(inc, ticket, "contained a customer's email address")
    s.at(18, "15:09", "dave").log(inc, "Support ticket 48213: customer reports a double charge; finance checking")
    s.at(18, "15:10", "erin").log(inc, "1,214 failed payments to reconcile with finance; none were captured twice")
    s.at(18, "15:11", "grace").log(inc, "/action Support macro updated: payments failed 14:15-14:52 UTC, retrying is safe")
    return inc


def eu_logins(s: Scene) -> None:
    """Also today, overlapping: a SEV2 still being investigated."""
    s.reseed(3)
    s.at(18, "14:50", "judy")
    inc = s.declare(
        title="Login errors for some EU users",
        severity=Severity.SEV2,
        impact="About 8% of EU logins fail with HTTP 502",
        incident_type="auth",
    )
    s.at(18, "14:51", "judy").log(inc, "14:47 Alert: auth-gateway 5xx above 2% in eu-west-1")
    s.at(18, "14:51", "judy").milestone(inc, Milestone.ACKNOWLEDGED, "14:49")
    s.at(18, "14:53", "kim").log(inc, "Only eu-west-1b affected; other zones healthy")
    s.at(18, "14:54", "judy").assign(inc, "tech", "kim")
    s.at(18, "14:56", "kim").log(inc, "/hypothesis Bad nodes joined the auth-gateway pool in the 14:40 scale-up")
    s.at(18, "15:03", "kim").log(inc, "/action Draining the eu-west-1b auth-gateway nodes")
    s.at(18, "15:07", "kim").log(inc, "502s down to 3% while the drain runs")
    s.at(18, "15:10", "judy").log(inc, "/todo Check whether the autoscaler picked up the new machine image")


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        scene = Scene(Path(tmp))
        search_slow(scene)
        payments_outage(scene)
        eu_logins(scene)
        if OUT.exists():
            shutil.rmtree(OUT)
        shutil.copytree(Path(tmp) / "incidents", OUT)
    for path in sorted(OUT.glob("*.jsonl")):
        print(f"{path.name}: {sum(1 for _ in path.open())} events")


if __name__ == "__main__":
    main()
