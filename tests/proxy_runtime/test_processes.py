"""The process mechanics under `litemaas up` / `litemaas proxy`: bounded stops, children that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil

from litemaas.proxy_runtime.processes import die_with_parent, stop_children

# A leader that ignores SIGTERM, with a grandchild in its process group.
STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _dies_within(pid: int, seconds: float) -> bool:
    """SIGKILL is delivered at once but the kernel tears a process down asynchronously."""
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_stop_children_kills_the_whole_group_when_sigterm_is_ignored() -> None:
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    with proc.stdout:
        grandchild = int(proc.stdout.readline())
    started = time.monotonic()
    stop_children([proc], grace=0.5)
    elapsed = time.monotonic() - started
    assert proc.returncode == -signal.SIGKILL
    assert _gone(proc.pid)
    assert _dies_within(grandchild, 2.0)
    assert elapsed < 3, elapsed


def test_a_child_dies_with_its_parent_even_when_the_parent_is_sigkilled() -> None:
    # The parent starts a child that ignores SIGTERM and would sleep for two minutes.
    parent_code = textwrap.dedent(
        """
        import signal, subprocess, sys, time
        from litemaas.proxy_runtime.processes import die_with_parent
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGKILL),
        )
        print(child.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, cwd=os.getcwd())
    assert parent.stdout is not None
    with parent.stdout:
        child = int(parent.stdout.readline())
    assert not _gone(child)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while not _gone(child):
        assert time.monotonic() < deadline, f"child {child} outlived its SIGKILLed parent"
        time.sleep(0.05)


def test_a_child_started_from_a_worker_thread_outlives_that_thread() -> None:
    # Linux ties the death signal to the forking thread: armed there, the child would die with the
    # thread (a proxy started through asyncio.to_thread would vanish mid-test).
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        cmd = [sys.executable, "-c", "import time; time.sleep(120)"]
        death = die_with_parent(signal.SIGKILL)
        started.append(subprocess.Popen(cmd, start_new_session=True, preexec_fn=death))  # noqa: PLW1509 - the point

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    (child,) = started
    try:
        # An absence cannot be awaited: the signal would come as the thread exits; give it 1 s.
        assert child.poll() is None
        time.sleep(1)
        assert child.poll() is None, "the child died with the thread that started it"
    finally:
        child.kill()
        child.wait(timeout=10)
