"""Running `tracker ...` as a user does, in one of two ways.

`Tracker` calls `tracker.cli.run(args)` in this process (about 30 ms a call): the process
environment is replaced by the test's own, the working directory is the test's, stdin, stdout
and stderr are captured as bytes, and the process-wide state a command changes (logging, the
secrets the log filter scrubs) is put back afterwards, so each call starts as a new process
would. `TrackerProcess` starts `python -m tracker` (about 0.85 s a call), for tests where the
process is the point: signals, SIGKILL, locks between processes, the console script.

Both return the same result (`returncode`, `stdout`, `stderr`), so a test reads the same
either way:

    result = tracker("fetch", "--retries", "0", check=3)
    assert "HTTP 503" in result.stderr
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEST_KEY = "ak_test_5ecret_never_shown_0123456789"


def user_env(home: Path, **variables: str) -> dict[str, str]:
    """The environment of a user with a home of their own and nothing else of ours set."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        **variables,
    }


@dataclass
class Result:
    """What a run of `tracker` left: like `subprocess.CompletedProcess` with text output."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _as_a_new_process(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """This process's environment, directory, logging and scrubbed secrets as a new
    `tracker` process would find them; everything is put back on the way out."""
    from tracker import logs

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved_levels = {name: logger.level for name, logger in logging.Logger.manager.loggerDict.items()
                    if isinstance(logger, logging.Logger)}
    saved_secrets = logs.reset_secrets()  # a new process has registered no secret yet
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        logs.reset_secrets(saved_secrets)
        root.handlers[:], level = saved_root
        root.setLevel(level)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            # Only the levels the run changed: every setLevel() clears every logger's cache.
            if isinstance(logger, logging.Logger) and \
                    logger.level != saved_levels.get(name, logging.NOTSET):
                logger.setLevel(saved_levels.get(name, logging.NOTSET))


def run_in_process(args: Sequence[str], *, env: Mapping[str, str], cwd: Path,
                   input: bytes | None = None) -> Result:
    """`tracker ARGS` through `tracker.cli.run`, as if it were a process of its own."""
    from click.testing import CliRunner

    from tracker.cli import run

    with _as_a_new_process(env, cwd), CliRunner().isolation(input=input) as (out, err, _):
        try:
            code = run(list(args))
        except SystemExit as exc:  # what the interpreter would make of it
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
    return Result(list(args), int(code), out.getvalue().decode(), err.getvalue().decode())


def run_process(args: Sequence[str], *, env: Mapping[str, str], cwd: Path,
                input: bytes | None = None, timeout: float = 120) -> Result:
    """`python -m tracker ARGS` as a process of its own."""
    done = subprocess.run([sys.executable, "-m", "tracker", *args],
                          input=input.decode() if input is not None else None,
                          capture_output=True, text=True, env=dict(env), cwd=cwd,
                          timeout=timeout)
    return Result(list(args), done.returncode, done.stdout, done.stderr)


def start_process(args: Sequence[str], *, env: Mapping[str, str], cwd: Path,
                  output: bool = True) -> subprocess.Popen[str]:
    """`python -m tracker ARGS` started and left running (pipes for stdout and stderr, or
    none when `output` is off)."""
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "tracker", *args], env=dict(env), cwd=cwd,
                            stdout=pipe, stderr=pipe, text=True)


@dataclass
class Tracker:
    """`tracker ...` with a controlled environment, run in this process.

    `check` is the exit code expected (default 0; False: any); `extra_env` adds variables to
    this call's environment.
    """

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, input: bytes | None = None, check: bool | int = True,
                 extra_env: dict[str, str] | None = None) -> Result:
        result = self._run(args, env={**self.env, **(extra_env or {})}, input=input)
        expected = 0 if check is True else check
        if check is not False and result.returncode != expected:
            raise AssertionError(
                f"tracker {' '.join(args)} exited {result.returncode}, expected {expected}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def _run(self, args: Sequence[str], *, env: dict[str, str], input: bytes | None) -> Result:
        return run_in_process(args, env=env, cwd=self.cwd, input=input)

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)

    def configured(self, config: Path, text: str) -> Tracker:
        """The same tracker with `text` as its config file (written to `config`)."""
        config.write_text(text)
        return type(self)({**self.env, "TRACKER_CONFIG": str(config)}, self.cwd)


class TrackerProcess(Tracker):
    """`tracker ...` as a process of its own (`python -m tracker`); `start` leaves it
    running, for tests that signal it, kill it, or race it against another."""

    def _run(self, args: Sequence[str], *, env: dict[str, str], input: bytes | None) -> Result:
        return run_process(args, env=env, cwd=self.cwd, input=input)

    def start(self, *args: str, output: bool = True) -> subprocess.Popen[str]:
        return start_process(args, env=self.env, cwd=self.cwd, output=output)
