"""The console chat on a real terminal (a pseudo-terminal): a prompt, replies, Ctrl-D ends."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REGELKREIS = Path(sys.executable).with_name("regelkreis")


def _read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {seen.decode(errors='replace')!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_on_a_terminal_the_chat_is_an_interactive_prompt(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(REGELKREIS), "chat", "--demo"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
        close_fds=True,
    )
    os.close(follower)
    try:
        greeting = _read_until(leader, b"regelkreis> ")
        assert b"hilfe" in greeting
        os.write(leader, b"wer bin ich\n")
        answer = _read_until(leader, b"regelkreis> ")
        assert b"Registriert als Anna Schmidt" in answer
        os.write(leader, b"\x04")  # Ctrl-D
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
