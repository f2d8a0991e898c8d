"""(pure) A tiny JSON path: enough to pick one number out of a web metric's JSON reply.

Grammar: an optional ``$``, then steps ``.name``, ``[index]`` or ``["name"]`` /
``['name']``; a path may start with a bare name (``data.value`` = ``$.data.value``).
No wildcards or filters: a metric is one number, so the path names one place.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeAlias

__all__ = ["PathStep", "parse_path", "pick"]

PathStep: TypeAlias = str | int

_STEP: Final = re.compile(
    r"""\.(?P<name>[A-Za-z_][\w-]*)      # .name
      | \[(?P<index>-?\d+)\]             # [0]
      | \[(?P<q>["'])(?P<key>.*?)(?P=q)\]  # ["key"] or ['key']
    """,
    re.VERBOSE,
)


def parse_path(path: str) -> tuple[PathStep, ...]:
    """The steps of ``path``; ValueError naming the position of the first bad step."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith(("[", ".")):
        text = "." + text
    steps: list[PathStep] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise ValueError(f"bad JSON path {path!r} at {text[pos:]!r}: use $.a.b[0]")
        if m.group("name") is not None:
            steps.append(m.group("name"))
        elif m.group("index") is not None:
            steps.append(int(m.group("index")))
        else:
            steps.append(m.group("key"))
        pos = m.end()
    return tuple(steps)


def pick(doc: Any, steps: tuple[PathStep, ...]) -> Any:
    """The value at ``steps`` in ``doc``; LookupError saying where the path stopped."""
    here: Any = doc
    walked = "$"
    for step in steps:
        if isinstance(step, int):
            if not isinstance(here, list) or not -len(here) <= step < len(here):
                raise LookupError(f"{walked} has no item [{step}]")
            here = here[step]
            walked += f"[{step}]"
        else:
            if not isinstance(here, dict) or step not in here:
                raise LookupError(f"{walked} has no key {step!r}")
            here = here[step]
            walked += f".{step}"
    return here
