"""A command's output, a hypothesis verdict and a delivered update travel like any other
event: through a real server to another client, and into the exports."""

from __future__ import annotations

from datetime import datetime, timezone

from warroom.domain import commands
from warroom.domain.events import OUTPUT_ATTACHMENT_MAX
from warroom.domain.models import CommsChannel, EntryKind
from warroom.domain.records import Verdict
from warroom.export.jsonio import export_json, import_json
from warroom.export.markdown import to_markdown
from warroom.runbooks.execute import CommandRunner

try:
    from serverproc import Replica, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import Replica, wait_until

STEP = {"id": "check/recent-deploys", "text": "Check recent deploys", "section": "Check", "code": ["printf 'rev 41 ok\\n'; yes 'deploy log line with ``` fences' | head -c 600000"]}


def test_command_output_verdicts_and_deliveries_reach_another_client_and_the_exports(server_factory, tmp_path):
    server = server_factory()
    tokens = {name: server.add_token(name) for name in ("alice", "bob")}
    server.start()
    alice = Replica(tmp_path / "clients", "alice", server.url, tokens["alice"]).start()
    bob = Replica(tmp_path / "clients", "bob", server.url, tokens["bob"]).start()
    try:
        incident_id = alice.declare("Checkout errors after deploy")
        with alice.lock:
            ws = alice.workspace
            ws.record([commands.attach_runbook(ws.factory, ws.get(incident_id), runbook_id="bad-deploy", title="Bad deploy", steps=[STEP], source="bad-deploy.md")])
            hypothesis = commands.log_entry(ws.factory, ws.get(incident_id), "v2.14.3 broke tokenisation", EntryKind.HYPOTHESIS)
            ws.record([hypothesis])
        result = CommandRunner(STEP["code"][0], shell="/bin/sh", spool_dir=tmp_path / "runs").run()
        assert result.truncated and result.output_bytes > OUTPUT_ATTACHMENT_MAX
        with alice.lock:
            ran = commands.record_command_run(ws.factory, ws.get(incident_id), "bad-deploy", STEP["id"], started_at=ws.clock.now(), **result.event_fields())
            verdict = commands.judge_hypothesis(ws.factory, ws.get(incident_id), hypothesis.id, Verdict.CONFIRMED, "the run shows it")
            delivered = commands.record_delivery(
                ws.factory, ws.get(incident_id), "01a1ef40-0000-7000-8000-0000000000aa",
                template_id="status-update", channel=CommsChannel.INTERNAL, text="Rolled back; recovering.",
                destination="slack", attempts=1, queued_at=datetime.now(timezone.utc),
            )  # fmt: skip
            alice._record([ran, verdict, delivered])
        wanted = {ran.id, verdict.id, delivered.id}
        wait_until(lambda: wanted <= bob.event_ids(incident_id), 30, "bob to receive the three events")
        seen = bob.state(incident_id)
        run = seen.command_runs[ran.id]
        assert run.output == result.output and run.output_sha256 == result.output_sha256
        assert run.attached_by == "alice" and run.source == "bad-deploy.md"
        assert seen.verdicts[hypothesis.id].verdict is Verdict.CONFIRMED
        assert seen.sent_updates[-1].destination == "slack"
        assert alice.state_hash(incident_id) == bob.state_hash(incident_id)

        markdown = to_markdown(seen, datetime.now(timezone.utc))
        assert "## Command output" in markdown and "rev 41 ok" in markdown
        assert "````text" in markdown  # the output holds ``` itself: a longer fence keeps it one block
        assert "head and tail only" in markdown and result.output_sha256 in markdown
        assert "Hypothesis confirmed: v2.14.3 broke tokenisation" in markdown
        with bob.lock:
            round_trip = import_json(export_json(incident_id, bob.workspace.events(incident_id)))
        assert any(e.id == ran.id and e.payload["output"] == result.output for e in round_trip)
    finally:
        alice.close()
        bob.close()
