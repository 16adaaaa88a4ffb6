"""Real git repositories built in tmp_path, as a git-scraping workflow leaves them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any


def git(repo: Path, *args: str, when: str | None = None) -> None:
    """`git -C REPO ARGS` as a scraper would run it (commits dated `when`)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "scraper", "GIT_AUTHOR_EMAIL": "s@example.com",
           "GIT_COMMITTER_NAME": "scraper", "GIT_COMMITTER_EMAIL": "s@example.com"}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def scrape_repo(path: Path, versions: list[dict[str, Any] | bytes]) -> Path:
    """A repository where models.json was committed once per version, an hour apart."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for hour, payload in enumerate(versions):
        data = payload if isinstance(payload, bytes) else json.dumps(payload, indent=1).encode()
        (path / "models.json").write_bytes(data)
        (path / "README").write_text(f"scrape {hour}")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"scrape {hour}", when=f"2026-11-01T{hour:02d}:00:00Z")
    return path
