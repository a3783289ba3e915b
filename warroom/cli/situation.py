"""``warroom brief | hypothesis | run``: where an incident stands, settling hypotheses, and
running a runbook step's command from a plain shell.

``run`` shows exactly what would run and whose runbook it came from, then reads one answer
line: only ``y`` (or ``yes``) runs it. The output streams to the terminal, ctrl+c cancels
the command (its whole process group), and the run is logged as an action entry with the
output attached.
"""

from __future__ import annotations

import argparse
import sys
import threading

from warroom.cli.common import EXIT_OK, EXIT_REFUSED, CliError, add_common_options, after_write, open_desk, record


def add_parsers(sub: argparse._SubParsersAction) -> None:
    brief = sub.add_parser("brief", help="the situation brief: where an incident stands, in 80 columns")
    add_common_options(brief)
    brief.add_argument("incident")

    hypothesis = sub.add_parser("hypothesis", help="mark a /hypothesis entry confirmed, ruled-out or open")
    add_common_options(hypothesis)
    hypothesis.add_argument("incident")
    hypothesis.add_argument("entry", help="the entry's short id (warroom show INCIDENT lists them)")
    hypothesis.add_argument("verdict", help="confirmed, ruled-out or open")
    hypothesis.add_argument("--why", default="", help="the reason, in a few words")

    run = sub.add_parser("run", help="run a runbook step's command (asks first) and log its output")
    add_common_options(run)
    run.add_argument("incident")
    run.add_argument("step", nargs="?", help="a number from --list, a step id, or words of the step (default: the next open step with a command)")
    run.add_argument("--list", action="store_true", help="list the steps that have a command, and stop")


def cmd_brief(args) -> int:
    print(open_desk(args).brief(args.incident), end="")
    return EXIT_OK


def cmd_hypothesis(args) -> int:
    from warroom.domain.records import Verdict

    try:
        verdict = Verdict.parse(args.verdict)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    desk = open_desk(args)
    record(desk, desk.judge_hypothesis(args.incident, args.entry, verdict, args.why))
    after_write(desk.workspace, args)
    return EXIT_OK


def _steps_with_commands(incident) -> list[tuple[str, object]]:
    return [(checklist.runbook_id, step) for checklist in incident.checklists.values() for step in checklist.steps if step.code]


def _choose_step(desk, incident, wanted: str | None):
    from warroom.desk import StepRef

    steps = _steps_with_commands(incident)
    if wanted is None:
        step = desk.runnable_step(incident.id)
        if step is None:
            raise CliError("no step with a command in this incident's checklists")
        return step
    if wanted.isdigit() and 1 <= int(wanted) <= len(steps):
        runbook_id, step = steps[int(wanted) - 1]
        return StepRef(runbook_id, step.id)
    exact = [(r, s) for r, s in steps if f"{r}/{s.id}" == wanted or s.id == wanted]
    words = wanted.lower()
    found = exact or [(r, s) for r, s in steps if words in s.text.lower()]
    if len(found) != 1:
        raise CliError(f"{len(found)} steps with a command match {wanted!r}; see warroom run {incident.id[-8:]} --list")
    return StepRef(found[0][0], found[0][1].id)


def cmd_run(args) -> int:
    from warroom.desk.runs import runner_for

    desk = open_desk(args)
    incident = desk.get(args.incident)
    if args.list:
        for number, (runbook_id, step) in enumerate(_steps_with_commands(incident), start=1):
            mark = "x" if step.done else " "
            print(f"{number:>3} [{mark}] {runbook_id}/{step.id}\n        {step.text}\n        $ {step.code[0].splitlines()[0]}")
        return EXIT_OK
    step = _choose_step(desk, incident, args.step)
    plan = desk.plan_run(incident.id, step)
    print(f"Step:      {plan.step_text}", file=sys.stderr)
    print(f"From:      {plan.describe_origin()}", file=sys.stderr)
    print(f"Your copy: {plan.local_copy}", file=sys.stderr)
    print(f"Runs:      {plan.describe_how()}", file=sys.stderr)
    print("Command (exactly what runs):", file=sys.stderr)
    for line in plan.command.splitlines():
        print(f"    {line}", file=sys.stderr)
    print("Run it? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        print("warroom: not run", file=sys.stderr)
        return EXIT_REFUSED

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    runner = runner_for(plan, desk.workspace.data_dir, show)
    started = desk.now()
    results: list = []
    finished = threading.Event()

    def work() -> None:
        try:
            results.append(runner.run())
        finally:
            finished.set()

    thread = threading.Thread(target=work, name="run command")
    thread.start()
    # Waiting on an Event, not join(): a join interrupted by ctrl+c can leave the thread
    # looking finished while it still runs.
    while not finished.is_set():
        try:
            finished.wait(0.2)
        except KeyboardInterrupt:  # ctrl+c reaches us, not the command (its own session)
            print("\nwarroom: cancelling…", file=sys.stderr)
            runner.cancel()
    thread.join()
    result = results[0]
    events = desk.record_run(plan, result, started)
    record(desk, events)
    run = desk.get(incident.id).command_runs[events[0].id]
    kept = f"; whole output in {result.full_output_path}" if result.full_output_path else ""
    print(f"warroom: {run.describe_result()} · logged as action {events[0].id[-8:]} ({run.describe_size()}{kept})", file=sys.stderr)
    after_write(desk.workspace, args)
    return EXIT_OK if run.succeeded else EXIT_REFUSED


COMMANDS = {"brief": cmd_brief, "hypothesis": cmd_hypothesis, "run": cmd_run}
