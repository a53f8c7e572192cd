#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal, as a user at a terminal would, and presses Ctrl-C.

usage: pty_interrupt.py [--after TEXT] [--presses N] [--gap SECONDS] -- COMMAND...

Waits until the output contains TEXT (default: the first progress line), then writes N
(default 1) Ctrl-C characters, GAP seconds apart: the terminal sends SIGINT to its foreground
process group, as a real one does. Prints everything the command wrote to the terminal, then a
last line `exit: STATUS` (the command's exit status, or 128+signal).
"""
import argparse
import os
import pty
import select
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--after", default="records ")
parser.add_argument("--presses", type=int, default=1)
parser.add_argument("--gap", type=float, default=0.3)
parser.add_argument("--timeout", type=float, default=120)
parser.add_argument("command", nargs=argparse.REMAINDER)
options = parser.parse_args()
command = options.command[1:] if options.command and options.command[0] == "--" else options.command

pid, terminal = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = b""


def pump(seconds):
    """Reads what the command writes for up to `seconds`; False once the terminal closed."""
    global output
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([terminal], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            output += chunk
    return True


deadline = time.time() + options.timeout
while options.after.encode() not in output and time.time() < deadline:
    if not pump(0.1):
        break
for press in range(options.presses):
    if press:
        pump(options.gap)
    os.write(terminal, b"\x03")
while time.time() < deadline and pump(0.2):
    pass
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
sys.stdout.write(output.decode("utf-8", "replace").replace("\r\n", "\n"))
sys.stdout.write(f"\nexit: {code}\n")
