"""Child processes that die with their parent, and stops that always end.

``litemaas up`` and ``litemaas proxy`` start every child in its own session (a terminal's Ctrl-C
reaches only the supervisor, which stops the children in order) and mark it with Linux's
``PR_SET_PDEATHSIG``: the kernel signals the child when its parent dies for any reason, SIGKILL
included, so no child outlives its supervisor. Stopping is: a signal, a bounded wait, SIGKILL to
the child's process group, a bounded reap. No wait here is without a timeout.

Signal handlers only record the signal and wake the main loop (``StopSignals``); the main loop
does the stopping. A handler that stopped children itself would run on top of whatever it
interrupted: ``Popen.wait`` holds a lock while it blocks in ``waitpid``, and a handler calling
``Popen.wait`` again deadlocks on it (a supervisor stuck in a futex wait, deaf to SIGTERM).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any, NoReturn, Self

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After SIGKILL a process is gone as soon as the kernel has torn it down; this only bounds the reap.
REAP_TIMEOUT_S = 2.0


def _load_prctl() -> Callable[..., int] | None:
    # Loaded in the parent: the forked child then calls it without loading a library.
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def die_with_parent(death_signal: int) -> Callable[[], None]:
    """A ``preexec_fn``: the kernel sends ``death_signal`` to the child when this process dies.

    Linux ties the signal to the *thread* that forks, so it is armed only when the main thread
    starts the child: a child started from a worker thread (``asyncio.to_thread``) would otherwise
    die with that thread. It survives ``execve`` and is set after ``Popen(user=...)`` has changed
    the uid (a uid change clears it). Elsewhere than Linux it does nothing.
    """
    parent = os.getpid()
    armed = _PRCTL is not None and threading.current_thread() is threading.main_thread()

    def set_death_signal() -> None:
        if not armed or _PRCTL is None:
            return
        _PRCTL(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody would signal us
            os._exit(1)

    return set_death_signal


class StopSignals:
    """Records SIGINT/SIGTERM/SIGHUP for the main loop; ``wait`` sleeps until a signal or a child's exit.

    The handlers assign one attribute; Python's C-level handler writes the signal number to a
    self-pipe (``signal.set_wakeup_fd``), which ``wait`` selects on, so a signal or a SIGCHLD
    ends a wait at once and no handler ever blocks.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._read_fd = -1
        self._write_fd = -1
        self._previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}
        self._previous_wakeup_fd = -1

    def __enter__(self) -> Self:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._record)
        # A handler (not SIG_DFL) so that a child's exit also writes to the wakeup pipe.
        self._previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, self._child_exited)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        os.close(self._read_fd)
        os.close(self._write_fd)

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum

    def _child_exited(self, _signum: int, _frame: FrameType | None) -> None:
        pass

    @property
    def requested(self) -> bool:
        return self.received is not None

    def wait(self, timeout: float) -> None:
        """Sleep at most ``timeout`` seconds; return at once when a stop signal arrives (or has arrived)."""
        if not self.requested:
            self.sleep(timeout)

    def sleep(self, timeout: float) -> None:
        """Sleep at most ``timeout`` seconds, woken early by any signal, a child's exit included."""
        if timeout > 0:
            select.select([self._read_fd], [], [], timeout)
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            pass


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """``sig`` to the process group ``proc`` leads (started with ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_children(
    procs: Sequence[subprocess.Popen[bytes]],
    *,
    grace: float,
    signals: StopSignals | None = None,
    first_signal: int = signal.SIGTERM,
    whole_group: bool = True,
) -> None:
    """Stop ``procs`` together: ``first_signal``, wait ≤ ``grace``, SIGKILL their groups, reap.

    ``whole_group=False`` sends ``first_signal`` to each leader only (it stops its own children,
    as LiteLLM stops its engine); SIGKILL always goes to the whole group, so nothing is left.
    """
    for proc in procs:
        if proc.poll() is None:
            if whole_group:
                _signal_group(proc, first_signal)
            else:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(first_signal)
    deadline = time.monotonic() + grace
    while any(proc.poll() is None for proc in procs):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if signals is not None:
            signals.sleep(min(remaining, 0.5))
        else:
            time.sleep(min(remaining, 0.05))
    for proc in procs:
        # Also when the leader is gone: its engine, workers or backends may still be in the group.
        _signal_group(proc, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=REAP_TIMEOUT_S)


class PortInUse(RuntimeError):
    """A port a server of ours needs is held by another process."""


def ensure_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Raise ``PortInUse`` naming the port when something already listens on ``host:port``.

    Binds the way the servers do (``SO_REUSEADDR``), so a connection left in TIME_WAIT by a
    previous run does not count as taken, while any listener does.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"port {port} on {host} is already in use (needed by the {what}); "
                f"stop the process holding it or choose another port with {setting}"
            ) from None


def exit_now(code: int) -> NoReturn:
    """End a supervisor whose children are all reaped, without the interpreter's teardown.

    Finalizing the thousands of modules that LiteLLM's tooling imports into ``litemaas proxy``
    (migrations) takes seconds on a busy machine, and the stop is not over until the process is
    gone. Nothing is left to finalize: output is flushed here, logging shut down.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
