"""Render the report, audit, policies, history and site pages from a demo history and take a
screenshot of each with headless Chromium, to look at them.

    /work/venv/bin/python bench/screenshots.py [--out bench/out/screenshots]

The history is the bundled demo catalogs ingested a day apart into a scratch SQLite database,
plus a version with a hostile model id (markup, bidi and control characters) and a return to
an earlier version. Pages and PNGs land in --out; every page is also checked for console
messages (CSP violations, blocked loads), which are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEMO = BENCH_DIR.parent / "tracker" / "demo_data"
HOSTILE = "evil<script>alert(1)</script>]]>\u202e<img src=x onerror=alert(2)>"


def tracker(env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    command = [sys.executable, "-m", "tracker", *args]
    result = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"tracker {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout.decode()


def build_pages(out: Path, env: dict[str, str]) -> list[Path]:
    catalogs = sorted(DEMO.glob("catalog-*.json"))
    for day, path in enumerate(catalogs, start=1):
        tracker(env, "-q", "ingest", str(path), "--observed-at", f"2026-11-{day:02d}T09:00Z")
    hostile = json.loads(catalogs[-1].read_text())
    hostile["catalog_version"] = "2026-11-07.1"
    hostile["data"].append({"id": HOSTILE, "object": "model", "created": 1, "owned_by": HOSTILE,
                            "providers": [{"name": HOSTILE, "input_price": 1,
                                           "output_price": 2, "data_policy": "none"}]})
    tracker(env, "-q", "ingest", "-", "--observed-at", "2026-11-07T09:00Z",
            stdin=json.dumps(hostile).encode())
    tracker(env, "-q", "ingest", str(catalogs[1]), "--observed-at", "2026-11-08T09:00Z")
    pages = {
        "report.html": ("report", "--since", "2026-11-02", "--until", "2026-11-09"),
        "audit.html": ("audit",),
        "policies.html": ("audit", "--current"),
        "history.html": ("history", "deepseek-v3.1"),
        "history-removed.html": ("history", "claude-3-5-haiku-20241022"),
        "history-hostile.html": ("history", HOSTILE),
    }
    written = []
    for name, args in pages.items():
        tracker(env, *args, "--format", "html", "-o", str(out / name))
        written.append(out / name)
    tracker(env, "site", str(out / "site"))
    written += [out / "site" / "index.html", out / "site" / "models" / "index.html",
                *sorted((out / "site" / "weekly").glob("*.html"))[:1]]
    return written


def screenshot(browser: str, page: Path, png: Path) -> list[str]:
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--hide-scrollbars"]
    subprocess.run([*base, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()],
                   capture_output=True, check=False, timeout=120)
    logged = subprocess.run([*base, "--enable-logging=stderr", "--v=0", "--dump-dom",
                             page.as_uri()], capture_output=True, text=True, timeout=120)
    return [line for line in logged.stderr.splitlines() if ":CONSOLE" in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "screenshots")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TRACKER_", "AURIKO_"))}
        env.update({"TRACKER_DATABASE_URL": f"sqlite:///{scratch}/demo.db",
                    "TRACKER_REPORTS_DIR": f"{scratch}/reports", "HOME": scratch})
        pages = build_pages(args.out, env)
    problems = 0
    for page in pages:
        png = args.out / (page.relative_to(args.out).as_posix().replace("/", "-")[:-5] + ".png")
        messages = screenshot(browser, page, png)
        problems += len(messages)
        print(f"{png}{'' if not messages else '  CONSOLE: ' + ' | '.join(messages)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
