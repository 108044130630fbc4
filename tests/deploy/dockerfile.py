"""What the Dockerfile must hold, read as text: there is no image builder where the tests run,
so the rules are checked on the instructions themselves."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"
#: An ENV or ARG whose name says it holds one of these must not be given a value in the image.
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY\b|CREDENTIAL", re.IGNORECASE)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _assigned_names(arguments: str) -> list[tuple[str, bool]]:
    """(name, has a value) of an ENV or ARG: ``A=1 B=2``, ``A 1`` or a bare ``ARG A``."""
    pairs = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S*)", arguments)
    if pairs:
        return [(name, value not in ("", '""', "''")) for name, value in pairs]
    name, _, value = arguments.partition(" ")
    return [(name, bool(value.strip()))]


def dockerfile_problems(text: str) -> list[str]:
    steps = instructions(text)
    starts = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    problems = [] if len(starts) >= 2 else [f"{len(starts)} FROM, want a multi-stage build"]
    final = steps[starts[-1] :] if starts else steps
    users = [args for word, args in final if word == "USER"]
    if not users:
        problems.append("the final stage sets no USER (it would run as root)")
    else:
        uid = users[-1].split(":")[0]
        if not uid.isdigit() or int(uid) == 0:
            problems.append(f"the final stage's USER {users[-1]!r} is not a non-zero numeric uid")
    if not any(word == "RUN" and "collectstatic" in args for word, args in final):
        problems.append("static files are not collected at build time (RUN ... collectstatic)")
    for word, args in steps:
        if word in ("ENV", "ARG"):
            for name, has_value in _assigned_names(args):
                if SECRET_WORDS.search(name) and has_value:
                    problems.append(f"{word} {name} bakes a secret into the image")
    if not any(word == "EXPOSE" and "8000" in args for word, args in final):
        problems.append("the final stage does not EXPOSE 8000")
    if not any(word in ("CMD", "ENTRYPOINT") and "gunicorn" in args for word, args in final):
        problems.append("the default command is not gunicorn")
    return problems


def final_stage_env(text: str) -> dict[str, str]:
    """The ENV values of the final stage (``A=1 B=2`` form)."""
    steps = instructions(text)
    starts = [i for i, (word, _) in enumerate(steps) if word == "FROM"] or [0]
    env: dict[str, str] = {}
    for word, args in steps[starts[-1] :]:
        if word == "ENV":
            env.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)", args))
    return env
