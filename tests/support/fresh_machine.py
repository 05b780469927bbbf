"""A PATH as a fresh machine has it: every command of this one's PATH but the toolchains named."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# What `make run` must do without (a JDK, Maven, Rust); their siblings go too, so nothing finds them by another name.
TOOLCHAINS = ("java", "javac", "jshell", "mvn", "mvnDebug", "cargo", "rustc", "rustup")


def path_without(tools: tuple[str, ...], bin_dir: Path) -> str:
    """Link every executable on the current PATH into `bin_dir` except `tools`; return it as a PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            link = bin_dir / entry.name
            if entry.name in tools or link.exists() or link.is_symlink() or not os.access(entry, os.X_OK):
                continue
            link.symlink_to(entry.resolve() if entry.is_symlink() else entry)
    path = str(bin_dir)
    missing = [tool for tool in tools if shutil.which(tool, path=path)]
    assert not missing, f"still on the PATH: {missing}"
    return path
