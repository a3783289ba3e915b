"""Tests for the runbook parsing layer: parser, loaders, search and the lint command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.cli import runbooks as lint
from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import (
    MAX_RUNBOOK_BYTES,
    RunbookError,
    load_runbook,
    load_runbook_dir,
    parse_runbook,
    search_runbooks,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RUNBOOKS = REPO_ROOT / "sample_data" / "runbooks"
SAMPLE_CHECKLISTS = REPO_ROOT / "sample_data" / "checklists"


def parse(markdown: str, source: str = "test.md") -> Runbook:
    return parse_runbook(textwrap.dedent(markdown), source=source)


def section_shape(runbook: Runbook) -> list[tuple[str, int, int]]:
    return [(section.title, section.level, len(section.steps)) for section in runbook.sections]


# --- sample content -----------------------------------------------------------


def test_payment_runbook_sections_steps_and_front_matter() -> None:
    runbook = load_runbook(SAMPLE_RUNBOOKS / "payment-high-error-rate.md")

    assert runbook.id == "payment-high-error-rate"
    assert runbook.title == "Payments: high error rate"
    assert runbook.service == "payments"
    assert runbook.incident_type == "payments"
    assert runbook.tags == ["payments", "errors", "checkout"]
    assert runbook.extra == {"owner": "payments-oncall"}
    assert section_shape(runbook) == [
        ("Payments: high error rate", 1, 0),
        ("Confirm the alert", 2, 3),
        ("Find the cause", 2, 4),
        ("Mitigate", 2, 5),
        ("Verify", 2, 3),
        ("Communicate", 2, 0),
    ]
    assert runbook.step_count == 15
    assert "lost sale" in runbook.sections[0].body
    assert "every 30 minutes" in runbook.sections[-1].body

    mitigate = runbook.sections[3]
    assert [step.depth for step in mitigate.steps] == [0, 0, 0, 1, 1]
    assert mitigate.steps[0].command == "kubectl -n payments rollout undo deploy/payments-api"
    assert mitigate.steps[3].text == "Record the merchant id in the incident timeline."
    # The parent step keeps only its own text; sub-items are separate steps.
    assert "merchant id" not in mitigate.steps[2].text


def test_database_runbook_attaches_unindented_fence_to_preceding_step() -> None:
    runbook = load_runbook(SAMPLE_RUNBOOKS / "database-high-cpu.md")

    assert runbook.service == "orders-db"
    assert runbook.tags == ["postgres", "database", "cpu", "latency"]
    assert section_shape(runbook) == [
        ("Database high CPU", 1, 0),
        ("Triage", 2, 4),
        ("Mitigate", 2, 4),
        ("Follow-up", 2, 2),
    ]
    triage = runbook.sections[1].steps
    # The fence sits at column 0 between "2." and "3.", ending the list; it
    # still belongs to step 2, and step 3 (a new list) gets nothing.
    assert triage[1].command is not None
    assert triage[1].command.startswith("SELECT pid, now() - query_start")
    assert triage[1].command.rstrip().endswith("LIMIT 20;")
    assert triage[0].code == []
    assert triage[2].code == []
    assert runbook.sections[1].body == ""


def test_bad_deploy_rollback_commands_attach_to_their_steps() -> None:
    runbook = load_runbook(SAMPLE_RUNBOOKS / "bad-deploy-rollback.md")

    assert runbook.service is None
    assert runbook.incident_type == "deploy"
    assert section_shape(runbook) == [
        ("Bad deploy rollback", 1, 0),
        ("Decide", 2, 3),
        ("Roll back", 2, 4),
        ("Verify", 2, 3),
        ("Afterwards", 2, 2),
    ]
    roll_back = runbook.sections[2].steps
    assert [step.text for step in roll_back] == [
        "Freeze deploys so the pipeline does not push the bad version again:",
        "Note the revision you are rolling back from:",
        "Undo the rollout:",
        "Wait for the rollout to finish:",
    ]
    assert [step.command for step in roll_back] == [
        'deployctl freeze --service "$SERVICE" --reason "incident rollback"',
        'kubectl -n "$NAMESPACE" rollout history deployment/"$SERVICE"',
        'kubectl -n "$NAMESPACE" rollout undo deployment/"$SERVICE"',
        'kubectl -n "$NAMESPACE" rollout status deployment/"$SERVICE" --timeout=10m',
    ]
    assert roll_back[2].id == "roll-back/undo-the-rollout"
    # A step with only inline code offers that code as its command.
    pods_step = runbook.sections[3].steps[1]
    assert pods_step.command == 'kubectl -n "$NAMESPACE" get pods -o wide'
    assert '`kubectl -n "$NAMESPACE" get pods -o wide`' in pods_step.text


def test_prose_runbook_has_readable_sections_and_its_one_command_as_a_step() -> None:
    runbook = load_runbook(SAMPLE_RUNBOOKS / "search-latency.md")

    # The only step: the paragraph that the hot-threads command follows.
    (step,) = runbook.iter_steps()
    assert step.text.startswith("Then look at the hot threads of the busiest node.")
    assert step.command == 'curl -s "$SEARCH_URL/_nodes/hot_threads?threads=5"'
    assert [section.title for section in runbook.sections] == [
        "Search latency",
        "Meaning",
        "Impact",
        "Diagnosis",
        "Mitigation",
    ]
    bodies = {section.title: section.body for section in runbook.sections}
    assert bodies["Search latency"] == ""
    assert bodies["Meaning"].startswith("The 99th percentile latency")
    # Source line wrapping is undone; paragraphs stay separate.
    assert "\n" not in bodies["Impact"]
    assert bodies["Diagnosis"].startswith("Start with the cluster health view.")
    assert "\n\n" not in bodies["Diagnosis"] and "```" not in bodies["Diagnosis"]
    assert bodies["Mitigation"].startswith("If a single client is responsible")  # prose, not steps


@pytest.mark.parametrize(
    ("name", "title", "step_count"),
    [
        ("ic-first-five-minutes.md", "Incident commander: first five minutes", 6),
        ("resolution.md", "Resolution", 5),
    ],
)
def test_role_checklists_parse_as_task_lists(name: str, title: str, step_count: int) -> None:
    runbook = load_runbook(SAMPLE_CHECKLISTS / name)

    assert runbook.title == title
    assert runbook.step_count == step_count
    assert len(runbook.sections) == 1
    assert runbook.extra == {"role": "incident-commander"}
    assert all(not step.checked and not step.text.startswith("[") for step in runbook.iter_steps())


def test_ic_checklist_covers_the_first_five_minutes() -> None:
    steps = [step.text.lower() for step in load_runbook(SAMPLE_CHECKLISTS / "ic-first-five-minutes.md").iter_steps()]
    for duty in ("acknowledge", "assess impact", "severity", "assign roles", "channel", "first status update"):
        assert any(duty in step for step in steps), duty


def test_all_samples_load_from_their_directories() -> None:
    runbooks, errors = load_runbook_dir([SAMPLE_RUNBOOKS, SAMPLE_CHECKLISTS])

    assert errors == []
    assert sorted(runbook.id for runbook in runbooks) == [
        "bad-deploy-rollback",
        "database-high-cpu",
        "ic-first-five-minutes",
        "payment-high-error-rate",
        "resolution",
        "search-latency",
    ]


def test_step_ids_are_unique_in_every_sample() -> None:
    runbooks, _ = load_runbook_dir([SAMPLE_RUNBOOKS, SAMPLE_CHECKLISTS])
    for runbook in runbooks:
        ids = [step.id for step in runbook.iter_steps()]
        assert len(ids) == len(set(ids)), runbook.id


def test_parsing_a_hundred_runbooks_is_fast() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SAMPLE_RUNBOOKS.glob("*.md"))]
    parse_runbook(texts[0], source="warm-up.md")
    started = time.perf_counter()
    for index in range(100):
        parse_runbook(texts[index % len(texts)], source=f"runbook-{index}.md")
    # The budget is "well under a second"; this leaves room for slow CI.
    assert time.perf_counter() - started < 1.0


# --- lists, steps and code ----------------------------------------------------------


def test_task_ordered_and_bullet_items_all_become_steps() -> None:
    runbook = parse(
        """\
        # Title

        ## Tasks
        - [ ] open task
        - [x] done task
        - [X] also done

        ## Ordered
        1. first
        2. second

        ## Bullets
        * star
        + plus
        """
    )
    tasks, ordered, bullets = runbook.sections[1:]
    assert [(step.text, step.checked) for step in tasks.steps] == [
        ("open task", False),
        ("done task", True),
        ("also done", True),
    ]
    assert [step.text for step in ordered.steps] == ["first", "second"]
    assert [step.text for step in bullets.steps] == ["star", "plus"]
    assert [step.id for step in runbook.iter_steps()][:2] == ["tasks/open-task", "tasks/done-task"]


def test_text_that_only_looks_like_a_task_marker_is_kept() -> None:
    runbook = parse(
        r"""
        - [x]y stays literal
        - \[ ] escaped marker
        - [ref] a link label
        - [ ]
        """
    )
    steps = list(runbook.iter_steps())
    assert [(step.text, step.checked) for step in steps] == [
        ("[x]y stays literal", False),
        ("[ ] escaped marker", False),
        ("[ref] a link label", False),
        ("", False),
    ]
    assert steps[3].id == "introduction/step"


def test_nested_items_are_their_own_steps_after_their_parent() -> None:
    runbook = parse(
        """\
        ## Work
        1. parent
           - child one
             - grandchild
           - child two
        2. next

           second paragraph of next
        """
    )
    steps = runbook.sections[0].steps
    assert [(step.text, step.depth) for step in steps] == [
        ("parent", 0),
        ("child one", 1),
        ("grandchild", 2),
        ("child two", 1),
        ("next\nsecond paragraph of next", 0),
    ]


def test_code_blocks_attach_to_the_right_step() -> None:
    runbook = parse(
        """\
        ## Steps
        1. inside
           ```sh
           echo inside
           ```
        2. directly after
        ```sh
        echo after
        ```
        ```sh
        echo after again
        ```

        Some prose between.

        ```sh
        echo prose
        ```

        - nested parent
          - nested child
            ```
            echo child
            ```
        """
    )
    section = runbook.sections[0]
    code_by_text = {step.text: step.code for step in section.steps}
    assert code_by_text == {
        "inside": ["echo inside"],
        "directly after": ["echo after", "echo after again"],
        "nested parent": [],
        "nested child": ["echo child"],
        "Some prose between.": ["echo prose"],  # a paragraph and its command: a step
    }
    assert section.body == ""


def test_indented_code_block_in_item_attaches_too() -> None:
    runbook = parse("- run this:\n\n      make deploy\n")
    (step,) = runbook.iter_steps()
    assert step.code == ["make deploy"]


def test_inline_code_stays_in_text_and_fenced_blocks_come_first() -> None:
    runbook = parse(
        """\
        - Check `payments-api`, then run `make verify`:
          ```
          ./verify.sh --all
          ```
        """
    )
    (step,) = runbook.iter_steps()
    assert step.text == "Check `payments-api`, then run `make verify`:"
    assert step.code == ["./verify.sh --all", "make verify"]  # `payments-api` is a name
    assert step.command == "./verify.sh --all"


def test_links_emphasis_and_line_breaks_render_as_plain_text() -> None:
    runbook = parse(
        """\
        - Open **the** [dashboard](https://dash.example/d/1) and
          <https://status.example> now
        """
    )
    (step,) = runbook.iter_steps()
    assert step.text == "Open the dashboard (https://dash.example/d/1) and https://status.example now"


def test_step_ids_survive_reordering_and_duplicates_get_suffixes() -> None:
    original = parse("## Check\n- alpha\n- beta\n- alpha\n")
    reordered = parse("## Check\n- new first\n- beta\n- alpha\n")

    assert [step.id for step in original.iter_steps()] == ["check/alpha", "check/beta", "check/alpha-2"]
    assert [step.id for step in reordered.iter_steps()][1:] == ["check/beta", "check/alpha"]


def test_duplicate_section_titles_get_distinct_slugs() -> None:
    runbook = parse("## Verify\n- one\n## Verify\n- one\n")
    assert [section.slug for section in runbook.sections] == ["verify", "verify-2"]
    assert [step.id for step in runbook.iter_steps()] == ["verify/one", "verify-2/one"]


def test_long_step_text_gives_a_bounded_id_cut_at_a_word() -> None:
    runbook = parse("- " + " ".join(["word"] * 40) + "\n")
    (step,) = runbook.iter_steps()
    slug = step.id.removeprefix("introduction/")
    assert len(slug) <= 60
    assert slug.endswith("word")


def test_intro_section_only_when_there_is_content_before_the_first_heading() -> None:
    assert [s.title for s in parse("# Title\ntext\n").sections] == ["Title"]
    with_intro = parse("Read me first.\n\n# Title\n")
    assert [(s.title, s.level, s.body) for s in with_intro.sections] == [
        ("Introduction", 0, "Read me first."),
        ("Title", 1, ""),
    ]


def test_title_falls_back_to_file_stem_and_id_is_stem_slug() -> None:
    runbook = parse("## Only a second-level heading\n", source="/runbooks/Disk Full!.md")
    assert runbook.title == "Disk Full!"
    assert runbook.id == "disk-full"
    assert runbook.path == "/runbooks/Disk Full!.md"


def test_empty_text_gives_an_empty_runbook() -> None:
    runbook = parse_runbook("", source="empty.md")
    assert runbook.sections == []
    assert runbook.step_count == 0


def test_json_dump_includes_command_and_step_count() -> None:
    dumped = parse("- run `ls`\n").model_dump(mode="json")
    assert dumped["step_count"] == 1
    assert dumped["sections"][0]["steps"][0]["command"] == "ls"


# --- front matter ------------------------------------------------------------------------


def test_front_matter_keys_tags_and_extra() -> None:
    runbook = parse(
        """\
        ---
        Service: "checkout"
        incident_type: latency
        # a comment line

        tags: [ 'a', b , a ]
        runbook_owner: "team-x: primary"
        ---
        # Title
        """
    )
    assert runbook.service == "checkout"
    assert runbook.incident_type == "latency"
    assert runbook.tags == ["a", "b"]
    assert runbook.extra == {"runbook_owner": "team-x: primary"}
    assert runbook.title == "Title"


def test_front_matter_comma_tags_and_crlf_line_endings() -> None:
    runbook = parse_runbook("---\r\ntags: x, y\r\n---\r\n- step\r\n", source="crlf.md")
    assert runbook.tags == ["x", "y"]
    assert [step.text for step in runbook.iter_steps()] == ["step"]


def test_no_front_matter_when_first_line_is_not_a_fence() -> None:
    runbook = parse("\n---\nservice: x\n---\n")
    assert runbook.service is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\nservice: x\n# Title\n", "never closed"),
        ("---\nservice: x\njust words\n---\n", "line 3: not valid YAML"),
        ("---\nplain words\n---\n", "line 2: expected 'key: value', got 'plain words'"),
        ("---\ntags: [a, b\n---\n", "line 2: not valid YAML (expected ',' or ']'"),
        ("---\ntags: {a: 1}\n---\n", "tags must be a list"),
        ("---\nservice: a\nservice: b\n---\n", "already set on line 2"),
    ],
)
def test_malformed_front_matter_raises_naming_the_file(text: str, problem: str) -> None:
    with pytest.raises(RunbookError) as raised:
        parse_runbook(text, source="runbooks/broken.md")
    assert str(raised.value).startswith("runbooks/broken.md: ")
    assert problem in str(raised.value)
    assert raised.value.source == "runbooks/broken.md"


def test_load_runbook_names_file_with_malformed_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("---\nservice payments\n---\n", encoding="utf-8")
    with pytest.raises(RunbookError, match=r"broken\.md: front matter line 2"):
        load_runbook(path)


# --- loading files ---------------------------------------------------------------------------


def test_load_runbook_rejects_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("# Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(RunbookError) as raised:
        load_runbook(path)
    assert str(path) in str(raised.value)
    assert "not valid UTF-8" in str(raised.value)


def test_load_runbook_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff---\nservice: s\n---\n# T\n".encode())
    assert load_runbook(path).service == "s"


def test_load_runbook_size_limit_is_one_mib(tmp_path: Path) -> None:
    at_limit = tmp_path / "at-limit.md"
    at_limit.write_bytes(b"# Big\n" + b"x" * (MAX_RUNBOOK_BYTES - 6))
    assert load_runbook(at_limit).title == "Big"

    too_big = tmp_path / "too-big.md"
    too_big.write_bytes(b"x" * (MAX_RUNBOOK_BYTES + 1))
    with pytest.raises(RunbookError) as raised:
        load_runbook(too_big)
    assert str(too_big) in str(raised.value)
    assert "larger than 1 MiB" in str(raised.value)


def test_load_runbook_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match="missing.md: cannot read file"):
        load_runbook(tmp_path / "missing.md")


def test_load_runbook_dir_keeps_good_files_and_reports_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n- step\n", encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "huge.md").write_bytes(b"a" * (MAX_RUNBOOK_BYTES + 1))
    (tmp_path / "unterminated.md").write_text("---\nservice: x\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a runbook", encoding="utf-8")
    (tmp_path / "._good.md").write_bytes(b"\x00\x05\x16\x07 macOS metadata")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "deep.md").write_text("# Deep\n", encoding="utf-8")

    runbooks, errors = load_runbook_dir([tmp_path, tmp_path / "does-not-exist"])

    assert [runbook.id for runbook in runbooks] == ["good", "nested/deep"]  # folders are read too
    assert sorted(Path(error.source).name for error in errors) == ["binary.md", "huge.md", "unterminated.md"]


def test_load_runbook_dir_later_directory_overrides_same_id(tmp_path: Path) -> None:
    samples, user = tmp_path / "samples", tmp_path / "user"
    samples.mkdir()
    user.mkdir()
    (samples / "db.md").write_text("# Sample DB\n", encoding="utf-8")
    (samples / "other.md").write_text("# Other\n", encoding="utf-8")
    (user / "db.md").write_text("# My DB\n", encoding="utf-8")

    runbooks, errors = load_runbook_dir([samples, user])

    assert errors == []
    assert {runbook.id: runbook.title for runbook in runbooks} == {"db": "My DB", "other": "Other"}


# --- search ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_runbooks() -> list[Runbook]:
    runbooks, _ = load_runbook_dir([SAMPLE_RUNBOOKS, SAMPLE_CHECKLISTS])
    return runbooks


def test_search_empty_query_returns_all_by_title(sample_runbooks: list[Runbook]) -> None:
    titles = [runbook.title for runbook in search_runbooks(sample_runbooks, "  ")]
    assert titles == sorted(titles, key=str.casefold)
    assert len(titles) == len(sample_runbooks)


def test_search_ranks_whole_word_matches_first(sample_runbooks: list[Runbook]) -> None:
    results = search_runbooks(sample_runbooks, "payments")
    assert [runbook.id for runbook in results] == ["payment-high-error-rate"]

    # A whole-word hit for both (a tag of one, the title of the other): ties keep title order.
    assert [r.id for r in search_runbooks(sample_runbooks, "latency")] == ["database-high-cpu", "search-latency"]


def test_search_matches_service_tags_and_subsequences(sample_runbooks: list[Runbook]) -> None:
    assert search_runbooks(sample_runbooks, "orders-db")[0].id == "database-high-cpu"
    assert search_runbooks(sample_runbooks, "kubernetes")[0].id == "bad-deploy-rollback"
    assert search_runbooks(sample_runbooks, "dbcpu")[0].id == "database-high-cpu"
    # Every term must match something.
    assert search_runbooks(sample_runbooks, "search zzz") == []


def test_search_substring_beats_subsequence_and_word_start_beats_middle() -> None:
    def runbook(title: str) -> Runbook:
        return parse_runbook(f"# {title}\n", source=f"{title}.md")

    scattered = runbook("Delayed backup")  # d...b as a subsequence
    middle = runbook("Sandbox reset")  # "db" in the middle of a word
    word_start = runbook("Dbs are down")  # "db" at a word start
    results = search_runbooks([scattered, middle, word_start], "db")
    assert [r.title for r in results] == ["Dbs are down", "Sandbox reset", "Delayed backup"]


# --- lint ------------------------------------------------------------------------------------


def test_lint_prints_outline_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status = lint.main([str(SAMPLE_RUNBOOKS / "bad-deploy-rollback.md"), str(SAMPLE_CHECKLISTS)])
    out, err = capsys.readouterr()

    assert status == 0
    assert err == ""
    assert "Bad deploy rollback" in out
    assert "5 sections, 12 steps" in out
    assert "    [ ] Undo the rollout:  <roll-back/undo-the-rollout>" in out
    assert '        $ kubectl -n "$NAMESPACE" rollout undo deployment/"$SERVICE"' in out
    assert "Resolution" in out and "1 section, 5 steps" in out


def test_lint_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    status = lint.main(["--json", str(SAMPLE_RUNBOOKS)])
    report = json.loads(capsys.readouterr().out)

    assert status == 0
    assert report["errors"] == []
    by_id = {runbook["id"]: runbook for runbook in report["runbooks"]}
    assert set(by_id) == {"bad-deploy-rollback", "database-high-cpu", "payment-high-error-rate", "search-latency"}
    assert by_id["payment-high-error-rate"]["step_count"] == 15
    assert by_id["payment-high-error-rate"]["service"] == "payments"
    assert Runbook.model_validate(by_id["search-latency"]).step_count == 1


def test_lint_reports_each_bad_file_and_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.md").write_text("# OK\n- step\n", encoding="utf-8")
    (tmp_path / "bad.md").write_bytes(b"\xc3\x28")
    missing = tmp_path / "missing.md"

    status = lint.main(["--json", str(tmp_path), str(missing)])
    out, err = capsys.readouterr()
    report = json.loads(out)

    assert status == 1
    assert [runbook["id"] for runbook in report["runbooks"]] == ["ok"]
    assert [Path(error["path"]).name for error in report["errors"]] == ["bad.md", "missing.md"]
    assert f"error: {tmp_path / 'bad.md'}: not valid UTF-8" in err
    assert f"error: {missing}: no such file or directory" in err


def test_lint_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.main([]) == 2
    assert lint.main(["--no-such-flag", "x.md"]) == 2
    assert "usage: warroom runbooks lint" in capsys.readouterr().err


def test_lint_warns_about_a_directory_without_runbooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.main([str(tmp_path)]) == 0
    assert "no *.md files found" in capsys.readouterr().err


def run_lint_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom.cli.runbooks", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_lint_module_entry_point_exit_codes(tmp_path: Path) -> None:
    ok = run_lint_module("--json", str(SAMPLE_CHECKLISTS))
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)["runbooks"]) == 2

    broken = tmp_path / "broken.md"
    broken.write_text("---\nno colon here\n---\n", encoding="utf-8")
    failed = run_lint_module(str(broken))
    assert failed.returncode == 1
    assert str(broken) in failed.stderr

    usage = run_lint_module()
    assert usage.returncode == 2
    assert "usage:" in usage.stderr


# --- robustness ------------------------------------------------------------------------------

_MARKDOWN_FRAGMENTS = [
    "---",
    "service: x",
    "tags: [a, b",
    "no colon",
    "# Title",
    "## Section",
    "- [ ] task",
    "- [x]",
    "1. step",
    "   - nested",
    "  ```sh",
    "```",
    "    indented code",
    "> quote",
    "> - quoted item",
    "[x]: https://example.com",
    "<!-- comment -->",
    "`code`",
    "",
]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(st.one_of(st.sampled_from(_MARKDOWN_FRAGMENTS), st.text(max_size=20)), max_size=30).map(
            "\n".join
        ),
    )
)
def test_parse_runbook_never_raises_anything_but_runbook_error(text: str) -> None:
    try:
        runbook = parse_runbook(text, source="fuzz.md")
    except RunbookError as error:
        assert str(error).startswith("fuzz.md: ")
        return
    ids = [step.id for step in runbook.iter_steps()]
    assert len(ids) == len(set(ids))
    assert runbook.step_count == len(ids)
