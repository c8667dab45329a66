"""Every ffmpeg and ffprobe the engine starts runs through here: in its own process group, under a
time limit scaled to the input, and the whole group killed on timeout, error or cancel.

A hostile file can keep a decoder busy for hours or make it wait forever; a killed parent must not
leave its ffmpeg behind. ``start_new_session=True`` puts each command in a new process group, so one
``killpg`` ends it with anything it started.

The time limit counts only the time the caller spends *waiting on* the command (``Process.waiting``):
a decoder feeding a slow tracker, or an encoder fed by a slow renderer, is not the one being slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

# A hung or hostile command is stopped after BASE_SECONDS + SECONDS_PER_SECOND x the input's duration.
# 4K H.264 encodes at about a fifth of real time on two cores; twenty times the duration leaves room.
BASE_SECONDS = 60.0
SECONDS_PER_SECOND = 20.0
# An encoder fed frame by frame gets this much more time with each frame it is given.
SECONDS_PER_FRAME = 1.0


def time_limit(duration: float) -> float:
    """The seconds a command working through ``duration`` seconds of video may keep us waiting."""
    return BASE_SECONDS + SECONDS_PER_SECOND * max(0.0, duration)


class Process:
    """``subprocess.Popen(cmd)`` in its own process group, killed (group and all) once the time spent
    in ``waiting()`` blocks and ``wait()`` passes ``timeout`` seconds; ``timed_out`` then says so.

    ``allow(seconds)`` raises the limit as work is handed over (an encoder's frames). ``kill()``
    ends the group and reaps the command; it is safe to call at any time, more than once.
    """

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        timeout: float,
        stdin: int | IO[Any] | None = None,
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
        bufsize: int = -1,
    ) -> None:
        self.timed_out = False
        self._limit = timeout
        self._spent = 0.0
        self._since: float | None = None  # when the current wait began; None while not waiting
        self._done = False
        self._cond = threading.Condition()
        self.popen = subprocess.Popen(
            list(cmd), stdin=stdin, stdout=stdout, stderr=stderr, bufsize=bufsize, start_new_session=True
        )
        self._watchdog = threading.Thread(target=self._watch, name=f"watchdog-{self.popen.pid}", daemon=True)
        self._watchdog.start()

    @property
    def stdin(self) -> IO[bytes] | None:
        return self.popen.stdin

    @property
    def stdout(self) -> IO[bytes] | None:
        return self.popen.stdout

    def _used(self) -> float:
        return self._spent + (time.monotonic() - self._since if self._since is not None else 0.0)

    def _watch(self) -> None:
        with self._cond:
            while not self._done:
                if self._since is None:
                    self._cond.wait()
                    continue
                left = self._limit - self._used()
                if left <= 0:
                    if self.popen.poll() is None:
                        self.timed_out = True
                        self._kill_group()
                    return
                self._cond.wait(left)

    def _kill_group(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # already gone (its group id may even be reused: never signal a reaped group)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Count the time spent in this block (reading its output, writing its input) against the limit."""
        with self._cond:
            self._since = time.monotonic()
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._spent += time.monotonic() - self._since
                self._since = None
                self._cond.notify()

    def allow(self, seconds: float) -> None:
        with self._cond:
            self._limit += seconds
            self._cond.notify()

    def wait(self) -> int:
        """Wait for the command to end (counted against the limit); its exit code."""
        with self.waiting():
            code = self.popen.wait()
        self._stop_watching()
        return code

    def poll(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        with self._cond:
            if self.popen.returncode is None:
                self._kill_group()
        self.popen.wait()
        self._stop_watching()

    def _stop_watching(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify()


def run(cmd: Sequence[str], *, timeout: float, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` to the end and capture its output, like ``subprocess.run(capture_output=True)``.

    On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` raised; an
    exception in between (a cancel, ^C) kills the group too.
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
