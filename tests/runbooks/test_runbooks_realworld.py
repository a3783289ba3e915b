"""Runbooks in the shapes public runbook collections use (written here, not copied): a
paragraph and its command block, ``### Step N - …`` headings, numbered paragraphs, template
prompts and link lists, console transcripts, Hugo/MkDocs front matter, and a collection
with the same file names in different folders. ``warroom runbooks lint`` says what it found
in each section and warns (without failing) about a runbook with no steps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.cli import runbooks as lint
from warroom.runbooks.library import attach_fields
from warroom.runbooks.parser import RunbookError, load_runbook_dir, parse_runbook

REPO = Path(__file__).resolve().parents[2]
COLLECTION = Path(__file__).resolve().parent / "fixtures" / "collection"

# Hand-checked: the steps each fixture gives responders, with their commands.
EXPECTED_STEPS = {
    "etcd": [
        ("Check the etcd members from any control-plane node:", ['etcdctl --endpoints="$ETCD_ENDPOINTS" member list -w table']),
        ("List the active alarms; a `NOSPACE` alarm means the database hit its quota:", ['etcdctl --endpoints="$ETCD_ENDPOINTS" alarm list']),
        ("If the alarm is `NOSPACE`, compact and defragment the member that raised it.", []),
        ("Disarm the alarm once the database is below its quota:", ['etcdctl --endpoints="$ETCD_ENDPOINTS" alarm disarm']),
        ("If a member is down for good, remove it and add a fresh one rather than restarting it in a loop.", []),
    ],
    "kube": [
        ("Look at the node's conditions\nThe conditions say whether the kubelet stopped posting status, or whether the node is under memory or disk pressure.",
         ["kubectl describe node \"$NODE\" | sed -n '/Conditions:/,/Addresses:/p'"]),
        ("Cordon the node\nStop new pods from landing on it while you work.", ['kubectl cordon "$NODE"']),
        ("Restart the kubelet\nIf the kubelet is wedged, restarting it is usually enough. Ask in `#platform` before you do this on more than one node.",
         ['ssh "$NODE" sudo systemctl restart kubelet']),
        ("Uncordon once Ready\nWhen the node reports `Ready` again for five minutes, let pods back on with `kubectl uncordon \"$NODE\"`.",
         ['kubectl uncordon "$NODE"']),
    ],
    "gateway/high-latency": [
        ("Open the gateway dashboard (https://grafana.example.internal/d/gateway) and find which upstream got slow.", []),
        ("Check whether the slowness follows one availability zone:", ["gatewayctl upstreams --sort latency --by-zone"]),
        ("Look for a recent config push in the `gateway-config` repository.", []),
        ('Shift traffic away from the slow zone: `gatewayctl drain-zone "$ZONE" --percent 50`', ['gatewayctl drain-zone "$ZONE" --percent 50']),
        ("If a single upstream is slow, lower its timeout so requests fail fast instead of queueing.", []),
    ],
    "orders-db/high-latency": [
        ("Find the slowest running statements.", [
            "SELECT pid, now() - query_start AS running_for, left(query, 100)\n"
            "FROM pg_stat_activity WHERE state = 'active' ORDER BY running_for DESC LIMIT 10;"]),
        ("Check replication lag on the replicas; the `pg_stat_replication` view shows it per replica.", []),
        ("Compare the connection count against `max_connections`.", []),
        ("Cancel statements that have run for more than ten minutes.", []),
        ("Pause the nightly reporting job in the scheduler.", []),
        ("Move read-only traffic to the replicas with `featurectl set orders.read_replicas on`.", ["featurectl set orders.read_replicas on"]),
    ],
    "prometheus/target-down": [
        ("See which job and instance are down on the targets page of the Prometheus UI.", []),
        ("Check that the pod is running and its metrics port answers:",
         ['kubectl -n "$NAMESPACE" port-forward pod/"$POD" 9102 & curl -s localhost:9102/metrics | head']),
        ("Compare the scrape configuration with the service's port names.", []),
    ],
    "templates/incident-review": [],
}  # fmt: skip


@pytest.fixture(scope="module")
def collection():
    runbooks, errors = load_runbook_dir([COLLECTION])
    assert errors == []
    return {runbook.id: runbook for runbook in runbooks}


def test_same_file_names_in_different_folders_both_load_with_ids_saying_where(collection):
    assert set(collection) == set(EXPECTED_STEPS)
    assert collection["etcd"].path.endswith("etcd/README.md") and collection["kube"].path.endswith("kube/README.md")
    assert {attach_fields(collection[i])["source"] for i in ("etcd", "kube")} == {"etcd (README.md)", "kube (README.md)"}
    assert attach_fields(collection["gateway/high-latency"])["source"] == "gateway/high-latency (high-latency.md)"


@pytest.mark.parametrize("runbook_id", sorted(EXPECTED_STEPS))
def test_each_fixture_gives_the_steps_checked_by_hand(collection, runbook_id):
    steps = [(step.text, step.code) for step in collection[runbook_id].iter_steps()]
    assert steps == EXPECTED_STEPS[runbook_id]


def test_runbook_steps_found_in_the_fixtures(collection):
    found = sum(runbook.step_count for runbook in collection.values())
    expected = sum(len(steps) for steps in EXPECTED_STEPS.values())
    empty = [i for i, runbook in collection.items() if runbook.step_count == 0]
    print(f"\nrunbook steps found: {found} (hand-checked: {expected}); runbooks with no steps: {empty}")
    assert found == expected and empty == ["templates/incident-review"]


def test_a_command_is_only_code_meant_to_run(collection):
    commands = [code for runbook in collection.values() for step in runbook.iter_steps() for code in step.code]
    assert commands and all(" " in command or "\n" in command for command in commands)  # no bare names
    assert not any(line.startswith(("$ ", "node/")) for command in commands for line in command.splitlines())
    etcd = collection["etcd"]
    diagnosis = next(section for section in etcd.sections if section.title == "Diagnosis")
    assert "```text\n+------------------+" in diagnosis.body  # sample output stays prose
    prometheus = collection["prometheus/target-down"]
    assert prometheus.sections[0].steps == [] and "`prometheus`" in prometheus.sections[0].body


def test_prompts_and_link_lists_are_not_steps(collection):
    template = collection["templates/incident-review"]
    bodies = {section.title: section.body for section in template.sections}
    assert bodies["Contributing factors"].startswith("> What factors can contribute to an incident like this?")
    assert "> - Was a recent change involved?" in bodies["Contributing factors"]
    references = next(s for s in collection["etcd"].sections if s.title == "References")
    assert references.steps == [] and references.body.startswith("- etcd operations guide (https://etcd.example.org")
    links = parse_runbook("## Check\n- [Dashboard](https://d.example/1)\n- [Logs](https://l.example/2) for errors\n", source="x.md")
    assert links.step_count == 0 and links.sections[0].found == ["1 list of links (not steps)"]
    mixed = parse_runbook("## Check\n- [Dashboard](https://d.example/1)\n- Restart the worker pool\n", source="x.md")
    assert mixed.step_count == 2  # a procedure that starts with a link is still a procedure


def test_front_matter_as_static_site_generators_write_it(collection):
    etcd = collection["etcd"]
    assert etcd.title == "etcd members unhealthy" and etcd.tags == ["etcd", "control-plane"]
    assert etcd.extra == {
        "title": "etcd: members unhealthy",
        "weight": 20,
        "params": {"owner": "platform-team", "escalation": "#platform-oncall"},
        "aliases": ["/runbooks/etcd-members/"],
        "date": "2024-02-11",
    }  # every key kept; the front matter's title too, since the heading is the one shown
    gateway = collection["gateway/high-latency"]  # TOML between +++ lines (Hugo)
    assert (gateway.service, gateway.tags, gateway.extra) == ("api-gateway", ["gateway", "latency"], {"extra": {"slo": "p99 < 400ms"}})
    orders = collection["orders-db/high-latency"]
    assert (orders.service, orders.incident_type, orders.tags) == ("orders-db", "database", ["postgres", "latency"])
    untitled = parse_runbook("---\ntitle: From front matter\n---\nNo heading here.\n", source="x.md")
    assert untitled.title == "From front matter"
    with pytest.raises(RunbookError, match=r"x.md: front matter line 3: 'service' is already set on line 2"):
        parse_runbook("---\nservice: a\nservice: b\n---\n", source="x.md")


def test_step_headings_beside_other_sections_get_a_steps_section():
    runbook = parse_runbook(
        textwrap.dedent(
            """\
            # Restart the queue
            ## Overview
            Why you would.
            ## Step 1: Drain producers
            Stop the producers.
            ## Step 2 - Restart
            ```sh
            systemctl restart queue
            ```
            ## Verify
            - depth is falling
            """
        ),
        source="q.md",
    )
    shape = [(s.title, [step.text for step in s.steps]) for s in runbook.sections]
    assert shape == [
        ("Restart the queue", []),
        ("Overview", []),
        ("Steps", ["Drain producers\nStop the producers.", "Restart"]),
        ("Verify", ["depth is falling"]),
    ]
    assert runbook.sections[2].steps[1].code == ["systemctl restart queue"]


def test_numbered_lines_inside_a_paragraph_become_steps():
    runbook = parse_runbook("## Mitigation\nDo these in order:\n2. drain the node\n3. reboot it\n", source="x.md")
    section = runbook.sections[0]
    assert section.body == "Do these in order:"
    assert [step.text for step in section.steps] == ["drain the node", "reboot it"]


def test_lint_warns_about_a_runbook_with_no_steps_and_prints_what_each_section_holds(capsys):
    status = lint.main([str(COLLECTION)])
    out, err = capsys.readouterr()
    assert status == 0
    assert err.count("warning:") == 1
    assert "templates/incident-review.md: no steps: responders get nothing to tick" in err
    assert "  ## Diagnosis: 2 steps from a paragraph and its code block; 2 commands; 1 paragraph of prose; " \
        "1 code block with no step (kept in the prose); 1 name in backticks (not a command)" in out
    assert "  ## Contributing factors: 1 quote (a prompt, not steps)" in out
    assert "  # Node not ready: 4 steps from step headings; 4 commands; 1 paragraph of prose" in out
    assert "id: orders-db/high-latency" in out
    assert lint.main(["--json", str(COLLECTION / "templates")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["warnings"]) == 1 and report["runbooks"][0]["sections"][1]["found"] == ["1 quote (a prompt, not steps)"]


def test_lint_through_the_warroom_command():
    result = subprocess.run(
        [sys.executable, "-m", "warroom", "runbooks", "lint", str(COLLECTION)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "6 sections" not in result.stdout
    assert "Node not ready" in result.stdout


_FRAGMENTS = [
    "# Title", "## Diagnosis", "## References", "### Step 1 - Stop it", "### 2. Drain", "## Step 3: x",
    "**1.** check", "(2) look", "Step 4: run", "3 - reboot", "2. interrupting", "Check this:",
    "```sh", "```console", "```text", "```", "$ kubectl get pods", "NAME READY", "node/x cordoned",
    "- [Dash](https://d.example)", "- <https://x.example>", "- run `ls`", "- `pod`", "> What contributed?",
    "> - prompt item", "- [ ] task", "1. step", "   - nested", "---", "title: x", "+++", 'title = "y"', "",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=15)), max_size=30).map("\n".join))
def test_fuzz_the_new_runbook_shapes(text):
    try:
        runbook = parse_runbook(text, source="fuzz.md")
    except RunbookError as error:
        assert str(error).startswith("fuzz.md: ")
        return
    ids = [step.id for step in runbook.iter_steps()]
    assert len(ids) == len(set(ids)) and runbook.step_count == len(ids)
    for step in runbook.iter_steps():
        assert all(code.strip() for code in step.code)
        assert not any(line.startswith("$ ") for code in step.code for line in code.splitlines())
    json.dumps(runbook.model_dump(mode="json"))  # extra and found are JSON
