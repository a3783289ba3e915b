"""What in a runbook is a command: code meant to be run, as opposed to output, configuration
or a name that happens to be in backticks.

* A fenced block is a command when its language is a shell or a query language (``sh``,
  ``bash``, ``console``, ``powershell``, ``sql``, ``promql``…) or it has none. Blocks in
  other languages (``yaml``, ``json``, ``text``, ``output``, ``python``…) are snippets: kept
  with the step, never offered as the command to copy.
* In a console transcript (``$ kubectl get pods`` then its output) only the prompted lines
  are the command, without the prompt; the output is not.
* An inline code span is a command only when it reads like one: a known program with its
  arguments (``kubectl get pods``), a path (``./verify.sh``), shell syntax (flags, pipes),
  words after "with" / "using" (``… with `featurectl set x on` ``), or a word right after
  "run" / "execute" / "type". A bare name (`` `pod` ``, `` `prometheus` ``,
  `` `payments-api` ``) is not.
"""

from __future__ import annotations

import re

RUNNABLE = frozenset({
    "", "sh", "bash", "shell", "zsh", "fish", "ksh", "console", "shell-session", "shellsession",
    "terminal", "powershell", "pwsh", "ps1", "ps", "cmd", "bat", "batch", "sql", "psql", "mysql",
    "postgresql", "pgsql", "promql", "logql", "kql", "redis", "cql", "cypher", "kubectl",
})  # fmt: skip
_PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+(?::\S*)?\s?[$#%]|\$|%|PS>|PS [A-Za-z]:\\[^>]*>|mysql>|postgres=[#>]|redis[^>]*>)\s+")
_PROGRAMS = frozenset({
    "kubectl", "k", "helm", "docker", "podman", "crictl", "systemctl", "journalctl", "service",
    "sudo", "curl", "wget", "ssh", "scp", "rsync", "git", "make", "etcdctl", "psql", "mysql",
    "redis-cli", "aws", "gcloud", "gsutil", "az", "terraform", "ansible", "ansible-playbook",
    "vault", "consul", "nomad", "nodetool", "rabbitmqctl", "kafka-topics", "kafka-consumer-groups",
    "grep", "egrep", "tail", "head", "cat", "less", "ls", "df", "du", "free", "top", "htop",
    "ps", "kill", "pkill", "lsof", "netstat", "ss", "dig", "nslookup", "ping", "traceroute",
    "mtr", "openssl", "iptables", "ip", "tcpdump", "strace", "uptime", "dmesg", "mount",
    "umount", "fdisk", "lsblk", "chmod", "chown", "rm", "mv", "cp", "mkdir", "tar", "zcat",
    "jq", "yq", "python", "python3", "pip", "npm", "yarn", "go", "cargo", "java", "bin/console",
    "oc", "istioctl", "linkerd", "argocd", "flux", "velero", "promtool", "amtool", "vmctl",
    "pg_dump", "pg_restore", "pgbench", "mongosh", "mongo", "influx", "cqlsh", "nc", "telnet",
})  # fmt: skip
_RUN_WORDS = re.compile(r"\b(?:run|running|execute|exec|type|enter|invoke|issue)\s*(?:the\s+)?(?:command\s*)?[:]?\s*$", re.IGNORECASE)
_WITH_WORDS = re.compile(r"\b(?:with|using|via)\s*$", re.IGNORECASE)
_PROGRAM_LIKE = re.compile(r"^(?:\.{0,2}/)?[A-Za-z0-9][\w.+/-]*$")
_SHELL_SYNTAX = re.compile(r"\s--?[A-Za-z]|\s\|\s|&&|\$\(|\$\{?[A-Z_]|=\S|\s'[^']*'|\s\"[^\"]*\"")


def language(info: str) -> str:
    """The language of a fence's info string (``sh title="x"`` → ``sh``), lower-case."""
    return (info.strip().split() or [""])[0].lower().strip("{}.")


def is_runnable(info: str) -> bool:
    return language(info) in RUNNABLE


def command_from_block(code: str) -> str | None:
    """The command a runnable block holds: the prompted lines without their prompt when it
    is a console transcript (continuation lines ending in ``\\`` kept), else the block."""
    lines = code.splitlines()
    if not any(_PROMPT.match(line) for line in lines):
        return code.strip("\n") or None
    commands: list[str] = []
    continuing = False
    for line in lines:
        prompt = _PROMPT.match(line)
        if prompt:
            commands.append(line[prompt.end():])
            continuing = line.rstrip().endswith("\\")
        elif continuing:
            commands.append(line)
            continuing = line.rstrip().endswith("\\")
    return "\n".join(commands).strip("\n") or None


def inline_command(span: str, before: str) -> str | None:
    """The command an inline code span holds, or None when it is a name, a value or prose
    in backticks. ``before`` is the text of the paragraph before the span."""
    text = span.strip()
    prompt = _PROMPT.match(text)
    if prompt:
        return text[prompt.end():].strip() or None
    if not text or "\n" in text:
        return None
    words = text.split()
    first = words[0]
    if not _PROGRAM_LIKE.match(first):
        return None
    if _RUN_WORDS.search(before):
        return text
    if len(words) == 1:
        return text if first.startswith(("./", "../", "/")) and "." in first.rsplit("/", 1)[-1] else None
    if first in _PROGRAMS or first.startswith(("./", "../", "/")) or _WITH_WORDS.search(before):
        return text
    return text if _SHELL_SYNTAX.search(" " + " ".join(words[1:])) else None


__all__ = ["RUNNABLE", "command_from_block", "inline_command", "is_runnable", "language"]
