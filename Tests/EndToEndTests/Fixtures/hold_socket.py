#!/usr/bin/env python3
"""A minimal socket activator that behaves like systemd across a service restart: it binds and
listens on a Unix socket once, passes it to the service as fd 3 (LISTEN_FDS=1, LISTEN_PID,
LISTEN_FDNAMES), and when the service dies, starts it again after --delay seconds with the
same, still-open socket. Connections made meanwhile wait in the backlog.

Usage: hold_socket.py --socket PATH --name NAME [--delay S] [--notify PATH] -- COMMAND...
Stops (and stops the service) on SIGTERM; logs each (re)start to stderr.
"""
import argparse
import os
import signal
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--socket", required=True)
parser.add_argument("--name", required=True)
parser.add_argument("--delay", type=float, default=1.0)
parser.add_argument("--notify")
parser.add_argument("command", nargs=argparse.REMAINDER)
options = parser.parse_args()
command = options.command[1:] if options.command and options.command[0] == "--" else options.command

if os.path.exists(options.socket):
    os.unlink(options.socket)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(options.socket)
os.chmod(options.socket, 0o600)
listener.listen(256)
stopping = False
child = None


def stop(signum, frame):
    global stopping
    stopping = True
    if child:
        os.kill(child, signal.SIGTERM)


signal.signal(signal.SIGTERM, stop)
starts = 0
while not stopping:
    starts += 1
    child = os.fork()
    if child == 0:
        os.dup2(listener.fileno(), 3)
        os.set_inheritable(3, True)
        environment = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=options.name)
        if options.notify:
            environment["NOTIFY_SOCKET"] = options.notify
        os.execve(command[0], command, environment)
    sys.stderr.write(f"hold_socket: started {command[0]} (pid {child}, start {starts})\n")
    sys.stderr.flush()
    _, status = os.waitpid(child, 0)
    child = None
    if stopping:
        break
    sys.stderr.write(f"hold_socket: {command[0]} ended (status {status}); restarting in {options.delay}s with the same socket\n")
    sys.stderr.flush()
    time.sleep(options.delay)
