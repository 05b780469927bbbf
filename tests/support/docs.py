"""What a reader of the project's Markdown meets: its headings' anchors, its relative links, the project commands
it shows (in `bash` blocks and in inline code)."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.support.packages import ROOT

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`]+)`")


def documents() -> list[Path]:
    """The README and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose(path: Path) -> str:
    """The text outside fenced blocks (a `#` there is a shell comment, a `](` is code)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path, level: int | None = None) -> list[str]:
    """The headings of a page, of one level or all."""
    marks = "#" * level if level else "#{1,6}"
    return re.findall(rf"^{marks} (.+)$", prose(path), re.MULTILINE)


def anchors(path: Path) -> set[str]:
    """Every anchor a link may name on a page: a repeated heading's second is `<anchor>-1`, and so on."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in headings(path):
        base = anchor(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def relative_links(path: Path) -> list[str]:
    """The links of a page to files of the repository (no scheme), as written."""
    return [target for target in LINK.findall(prose(path)) if not re.match(r"[a-z]+:", target)]


@dataclass(frozen=True)
class DocumentedCommand:
    where: str  # page:line
    script: str  # the console script, as `pyproject.toml` names it
    args: list[str]
    copied: bool  # a line of a fenced block, run as written; inline code may name a command without its arguments


def console_scripts() -> dict[str, str]:
    """Each console script and its typer app, `module:attribute`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project["scripts"])


def documented_commands(path: Path) -> list[DocumentedCommand]:
    """Every invocation of a project console script a page shows: a line of a fenced block, or inline code,
    after any `NAME=value` assignments and with a `.venv/bin/` prefix or a trailing comment removed."""
    scripts = console_scripts()
    found = []
    in_block = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_block = not in_block
            continue
        for text in [line] if in_block else INLINE_CODE.findall(line):
            try:
                words = shlex.split(text, comments=True)
            except ValueError:  # not shell: prose in backticks
                continue
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
                words.pop(0)
            if words and (script := words[0].removeprefix(".venv/bin/")) in scripts:
                found.append(DocumentedCommand(f"{path.relative_to(ROOT)}:{number}", script, words[1:], in_block))
    return found
