"""Updates that really go out: a real HTTP receiver in its own process, a real outbox on disk.

The receiver (tests/webhook_receiver.py) dedupes by ``Idempotency-Key`` like a careful
service would and logs every request, so each test can say how many requests arrived and how
many were accepted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warroom.comms.delivery import DeliveryService, backoff_seconds
from warroom.desk import Desk, Library
from warroom.desk.sending import recorder
from warroom.domain import commands
from warroom.domain.commands import DomainError
from warroom.domain.clock import SystemClock
from warroom.domain.models import CommsChannel, ComponentState, EntryKind
from warroom.store.config import ChannelDestination, Config
from warroom.store.deliveries import DeliveryOutbox, DeliveryState
from warroom.store.workspace import Workspace

try:
    from serverproc import free_port, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port, wait_until

RECEIVER = Path(__file__).resolve().parent.parent / "webhook_receiver.py"
PAYMENTS = "f4dca4f2"
TEXT = "INCIDENT UPDATE: SEV1 Checkout payments failing\n\nStatus: MONITORING\nNext update by 15:27 UTC."


class Receiver:
    """tests/webhook_receiver.py on 127.0.0.1:port, started and stopped by the test."""

    def __init__(self, port: int, log: Path, *args: str) -> None:
        self.port, self.log, self.args = port, log, args
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/incident"

    def start(self) -> "Receiver":
        self.proc = subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(self.port), "--log", str(self.log), *self.args])
        wait_until(self._listening, 20, "the receiver to listen")
        return self

    def _listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def accepted(self) -> list[dict]:
        return [r for r in self.requests() if r["accepted"]]


@pytest.fixture
def receivers(tmp_path):
    started: list[Receiver] = []

    def make(*args: str, port: int | None = None) -> Receiver:
        receiver = Receiver(port or free_port(), tmp_path / f"received-{len(started)}.jsonl", *args)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def workspace(sample_dir):
    ws = Workspace(sample_dir, "carol", SystemClock())
    ws.load()
    return ws


def service(ws: Workspace, channels: dict, **kwargs) -> DeliveryService:
    config = Config.model_validate({"channels": channels})
    kwargs.setdefault("backoff_base", 0.05)
    kwargs.setdefault("backoff_max", 0.2)
    return DeliveryService(DeliveryOutbox(ws.data_dir), config.channels, ws.clock, record=recorder(ws), **kwargs)


def test_an_update_reaches_a_slack_webhook_and_is_recorded_as_delivered(workspace, receivers):
    receiver = receivers().start()
    svc = service(workspace, {"internal": {"type": "slack", "url": receiver.url}})
    sent_before = len(workspace.get(PAYMENTS).sent_updates)
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.DELIVERED and done.recorded and len(done.attempts) == 1
    (request,) = receiver.requests()
    assert json.loads(request["body"]) == {"text": TEXT}
    assert request["headers"]["idempotency-key"] == delivery.id
    incident = workspace.get(PAYMENTS)
    assert len(incident.sent_updates) == sent_before + 1
    last = incident.sent_updates[-1]
    assert (last.id, last.channel, last.destination, last.attempts) == (delivery.id, CommsChannel.INTERNAL, "slack", 1)
    assert incident.timeline[-1].kind is EntryKind.COMMS
    assert incident.timeline[-1].text.startswith("Update delivered (internal via slack)")


def test_receiver_down_then_up_is_retried_and_delivered_exactly_once(workspace, receivers):
    receiver = receivers(port=free_port())  # nothing listens on its port yet
    attempts_seen: list[int] = []

    def on_change(delivery) -> None:
        attempts_seen.append(len(delivery.attempts))
        if len(delivery.attempts) == 2 and delivery.state is DeliveryState.PENDING and receiver.proc is None:
            receiver.start()  # the receiver comes back after two failed attempts

    svc = service(workspace, {"internal": {"type": "webhook", "url": receiver.url}}, on_change=on_change)
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.DELIVERED
    assert [a.ok for a in done.attempts] == [False, False, True]
    assert all("cannot reach the receiver" in a.detail for a in done.attempts[:2])
    assert len(receiver.requests()) == 1 and len(receiver.accepted()) == 1
    body = json.loads(receiver.requests()[0]["body"])
    assert body["delivery_id"] == delivery.id and body["text"] == TEXT and body["incident"]["severity"] == "SEV1"
    # recorded once, as taking three attempts
    delivered = [u for u in workspace.get(PAYMENTS).sent_updates if u.id == delivery.id]
    assert len(delivered) == 1 and delivered[0].attempts == 3
    # running the queue again sends nothing more
    assert svc.run_due() == []
    assert len(receiver.requests()) == 1


def test_a_lost_answer_is_retried_and_the_receiver_drops_the_repeat(workspace, receivers):
    receiver = receivers("--lose-first-answer").start()
    svc = service(workspace, {"internal": {"type": "mattermost", "url": receiver.url}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.DELIVERED and len(done.attempts) == 2
    requests = receiver.requests()
    assert len(requests) == 2 and requests[0]["body"] == requests[1]["body"]  # same bytes each time
    assert [r["repeat"] for r in requests] == [False, True]
    assert len(receiver.accepted()) == 1
    assert json.loads(requests[0]["body"])["props"]["warroom_delivery_id"] == delivery.id


def test_a_receiver_failing_every_time_leaves_a_failed_delivery_with_its_text(workspace, receivers):
    receiver = receivers("--status", "503").start()
    svc = service(workspace, {"exec": {"type": "teams", "url": receiver.url, "max_attempts": 3}})
    sent_before = len(workspace.get(PAYMENTS).sent_updates)
    delivery = svc.enqueue(workspace.get(PAYMENTS), "exec-summary", CommsChannel.EXEC, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.FAILED and len(done.attempts) == 3
    assert done.attempts[-1].detail.startswith("HTTP 503")
    assert len(workspace.get(PAYMENTS).sent_updates) == sent_before  # failed is not sent
    on_disk = DeliveryOutbox(workspace.data_dir).load(delivery.id)
    assert on_disk.text == TEXT and on_disk.state is DeliveryState.FAILED
    card = json.loads(receiver.requests()[0]["body"])
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    blocks = card["attachments"][0]["content"]["body"]
    assert blocks[0]["text"] == "INCIDENT UPDATE: SEV1 Checkout payments failing"


def test_a_refusal_fails_at_once_and_a_retry_after_fixing_it_delivers(workspace, receivers, tmp_path):
    wrong = receivers("--status", "404").start()
    svc = service(workspace, {"internal": {"type": "slack", "url": wrong.url}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.FAILED and len(done.attempts) == 1  # a 404 will not heal
    right = receivers().start()
    svc.channels = Config.model_validate({"channels": {"internal": {"type": "slack", "url": right.url}}}).channels
    svc.retry(delivery.id)
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.DELIVERED and [a.ok for a in done.attempts] == [False, True]
    assert len(right.accepted()) == 1


def test_the_outbox_survives_a_restart_and_the_next_process_delivers(workspace, receivers):
    receiver = receivers(port=free_port())
    svc = service(workspace, {"internal": {"type": "slack", "url": receiver.url}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    assert svc.attempt(delivery.id).state is DeliveryState.PENDING  # receiver down; then warroom quits
    receiver.start()
    later = Workspace(workspace.data_dir, "carol", SystemClock())
    later.load()
    fresh = service(later, {"internal": {"type": "slack", "url": receiver.url}})
    wait_until(lambda: bool(fresh.run_due()), 10, "the queued delivery to be due again")
    assert fresh.outbox.load(delivery.id).state is DeliveryState.DELIVERED
    assert len(receiver.accepted()) == 1
    assert any(u.id == delivery.id for u in later.get(PAYMENTS).sent_updates)


def test_two_processes_never_attempt_the_same_delivery_at_once(workspace, receivers):
    receiver = receivers().start()
    svc = service(workspace, {"internal": {"type": "slack", "url": receiver.url}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    with svc.outbox.locked(delivery.id) as mine:  # the other process is mid-attempt
        assert mine
        assert svc.attempt(delivery.id) is None
    assert svc.attempt(delivery.id).state is DeliveryState.DELIVERED
    assert len(receiver.requests()) == 1


def test_the_status_page_gets_components_and_the_incident(workspace, receivers):
    receiver = receivers().start()
    ws = workspace
    ws.record([commands.set_component(ws.factory, ws.get(PAYMENTS), "Card payments", ComponentState.PARTIAL_OUTAGE)])
    svc = service(ws, {"status_page": {"type": "statuspage", "url": receiver.url, "headers": {"Authorization": "Bearer s3cret"}}})
    delivery = svc.enqueue(ws.get(PAYMENTS), "status-page", CommsChannel.STATUS_PAGE, "We are monitoring a fix.", "carol")
    assert svc.deliver(delivery.id).state is DeliveryState.DELIVERED
    (request,) = receiver.requests()
    assert request["headers"]["authorization"] == "Bearer s3cret"
    page = json.loads(request["body"])["status_page"]
    assert page["components"] == [
        {"name": "Checkout", "status": "degraded_performance"},
        {"name": "Card payments", "status": "partial_outage"},
    ]
    (incident,) = page["incidents"]
    assert (incident["title"], incident["status"], incident["impact"]) == ("Checkout payments failing for all customers", "monitoring", "critical")
    assert incident["updates"] == [{"id": delivery.id, "status": "monitoring", "body": "We are monitoring a fix.", "created_at": incident["updates"][0]["created_at"]}]
    # the secret never reaches the outbox file
    assert "s3cret" not in (ws.data_dir / "deliveries" / f"{delivery.id}.json").read_text()


def test_a_local_command_gets_an_email_on_stdin_and_tempfail_is_retried(workspace, tmp_path):
    mailbox = tmp_path / "mailbox"
    counter = tmp_path / "calls"
    script = tmp_path / "fake-sendmail"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import pathlib, sys
        calls = pathlib.Path({str(counter)!r})
        n = int(calls.read_text()) + 1 if calls.exists() else 1
        calls.write_text(str(n))
        if n == 1:
            print("queue directory busy", file=sys.stderr)
            sys.exit(75)
        pathlib.Path({str(mailbox)!r}).write_bytes(sys.stdin.buffer.read())
        """))
    script.chmod(0o755)
    svc = service(workspace, {"customers": {"type": "command", "command": [str(script), "-t"], "email_to": ["status@example.com"]}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-page", CommsChannel.CUSTOMERS, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.DELIVERED
    assert done.attempts[0].detail.endswith("exit 75: queue directory busy") and done.attempts[0].retryable
    mail = mailbox.read_text()
    assert "To: status@example.com" in mail
    assert "Subject: INCIDENT UPDATE: SEV1 Checkout payments failing" in mail
    assert f"Message-ID: <{delivery.id}@warroom.invalid>" in mail
    assert "Next update by 15:27 UTC." in mail


def test_a_missing_command_fails_without_retrying(workspace):
    svc = service(workspace, {"customers": {"type": "command", "command": ["/nonexistent/sendmail"]}})
    delivery = svc.enqueue(workspace.get(PAYMENTS), "status-page", CommsChannel.CUSTOMERS, TEXT, "carol")
    done = svc.deliver(delivery.id)
    assert done.state is DeliveryState.FAILED and len(done.attempts) == 1
    assert "cannot run /nonexistent/sendmail" in done.attempts[0].detail


def test_a_channel_without_a_destination_cannot_be_queued(workspace):
    svc = service(workspace, {})
    with pytest.raises(ValueError, match="no destination"):
        svc.enqueue(workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, TEXT, "carol")
    assert not (workspace.data_dir / "deliveries").exists() or not list((workspace.data_dir / "deliveries").glob("*.json"))


def test_backoff_doubles_up_to_its_cap():
    assert [backoff_seconds(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_channel_config_is_checked_with_a_sentence():
    with pytest.raises(ValueError, match="needs url"):
        ChannelDestination.model_validate({"type": "slack"})
    with pytest.raises(ValueError, match="needs command"):
        ChannelDestination.model_validate({"type": "command"})
    with pytest.raises(ValueError, match="https://"):
        ChannelDestination.model_validate({"type": "webhook", "url": "file:///etc/passwd"})


def test_mark_as_sent_delivers_through_a_configured_channel_and_records_by_hand_otherwise(workspace, receivers):
    receiver = receivers().start()
    config = Config.model_validate({"channels": {"internal": {"type": "slack", "url": receiver.url}}})
    desk = Desk(workspace, Library(config))
    incident = desk.get(PAYMENTS)
    bases = [v.id for v in incident.draft_heads("status-update")]
    # saving and sending to a channel with a destination: the draft is saved, nothing is "sent" yet
    events = desk.save_draft(PAYMENTS, "status-update", TEXT, bases, send_to=CommsChannel.INTERNAL)
    assert [e.kind for e in events] == ["comms.draft_saved"]
    desk.record(events)
    queued = desk.send(PAYMENTS, "status-update", CommsChannel.INTERNAL, TEXT)
    assert queued.state is DeliveryState.PENDING
    assert not any(u.id == queued.id for u in desk.get(PAYMENTS).sent_updates)  # the update timer has not restarted
    assert desk.deliveries.deliver(queued.id).state is DeliveryState.DELIVERED
    assert desk.get(PAYMENTS).sent_updates[-1].id == queued.id
    # a channel without a destination is recorded as sent by hand, as before
    by_hand = desk.save_draft(PAYMENTS, "exec-summary", "Exec summary", [], send_to=CommsChannel.EXEC)
    assert [e.kind for e in by_hand] == ["comms.draft_saved", "comms.sent"]
    with pytest.raises(DomainError, match="empty"):
        desk.send(PAYMENTS, "status-update", CommsChannel.INTERNAL, "  ")
    with pytest.raises(DomainError, match="no destination"):
        desk.send(PAYMENTS, "exec-summary", CommsChannel.EXEC, "Exec summary")
