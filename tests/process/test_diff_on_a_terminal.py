"""`tracker diff` printed to a terminal is plain text; piped, it stays Markdown (what scripts
and files always got). The terminal is a real pseudo-terminal around a process of its own."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import TrackerProcess

pytestmark = pytest.mark.slow


def on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """What `python -m tracker ARGS` writes to its terminal (a pty as stdout)."""
    leader, follower = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "tracker", *args], stdout=follower,
                       stderr=subprocess.PIPE, env=env, cwd=cwd, timeout=120, check=True)
    finally:
        os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end is closed (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_diff_on_a_terminal_is_plain_text_and_markdown_through_a_pipe(
    tracker_process: TrackerProcess, tmp_path: Path
) -> None:
    tracker_process("demo")

    shown = on_a_terminal(["diff", "2026-11-02.1", "2026-11-03.1"], tracker_process.env,
                          tmp_path)
    assert shown.startswith("Catalog changelog: 2026-11-02.1 -> 2026-11-03.1 (source demo)\n")
    assert "deepseek-v3.1 / deepseek: none -> no_training  STRENGTHENED" in shown
    assert "no\\_training" not in shown

    piped = tracker_process("diff", "2026-11-02.1", "2026-11-03.1").stdout
    assert piped.startswith("# Catalog changelog: 2026-11-02.1 → 2026-11-03.1\n")
    assert "no\\_training" in piped
