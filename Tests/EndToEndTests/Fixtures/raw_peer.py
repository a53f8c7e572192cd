#!/usr/bin/env python3
"""Raw socket peers for ShardFlow's fault tests.

  raw_peer.py oversize SOCKET            first frame announcing 16 MiB: prints what the listener answered
  raw_peer.py silent SOCKET              connects and sends nothing: prints the answer and when it closed
  raw_peer.py hold SOCKET N              opens N connections, each sends a valid HELLO, holds them 3 s;
                                         prints how many got an ERROR frame (and its code) and how many stayed open
  raw_peer.py connect-many SOCKET N      N connections that each wait for the listener's answer:
                                         prints the ERROR codes received, one per line
  raw_peer.py fake-listener SOCKET LOG [UID]
                                         listens at SOCKET (after setuid(UID) when given, so SO_PEERCRED
                                         names that user); appends every byte any client sends to LOG
"""
import os
import socket
import struct
import sys
import time


def error_code(data):
    # u32 length, u8 type (9 = ERROR), u16 code, u16 length, message
    while len(data) >= 5:
        length = struct.unpack(">I", data[:4])[0]
        kind = data[4]
        if kind == 9 and len(data) >= 7:
            return struct.unpack(">H", data[5:7])[0]
        data = data[4 + length:]
    return None


def hello(role=3, index=0):
    name = b"mapper-%d" % index
    # Protocol version 2: the name, then a stream name (empty).
    payload = struct.pack(">IHBBIQH", 0x53464C57, 2, role, 0, index, 42, len(name)) + name + struct.pack(">H", 0)
    return struct.pack(">IB", len(payload) + 1, 1) + payload


def read_all(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


mode, path = sys.argv[1], sys.argv[2]
if mode == "oversize":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(struct.pack(">IB", 16 * 1024 * 1024 - 1, 1) + b"\0" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, closed = read_all(s, 5)
    print("error", error_code(data), "closed", closed)
elif mode == "silent":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    start = time.time()
    data, closed = read_all(s, 30)
    print("error", error_code(data), "closed", closed, "after %.1f" % (time.time() - start))
elif mode == "hold":
    count = int(sys.argv[3])
    sockets = []
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(hello(role=1, index=0))
        sockets.append(s)
    time.sleep(1)
    codes = []
    for s in sockets:
        data, closed = read_all(s, 0.2)
        codes.append(error_code(data) if closed else "open")
    print(" ".join(str(code) for code in codes))
elif mode == "connect-many":
    for _ in range(int(sys.argv[3])):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        data, closed = read_all(s, 5)
        print(error_code(data), closed)
        s.close()
elif mode == "fake-listener":
    log = sys.argv[3]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o777)
    received = open(log, "ab")
    if len(sys.argv) > 4:
        os.setgid(int(sys.argv[4]))
        os.setuid(int(sys.argv[4]))
    listener.listen(16)
    print("listening", flush=True)
    while True:
        client, _ = listener.accept()
        client.settimeout(2)
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received.write(chunk)
                received.flush()
        except (socket.timeout, ConnectionResetError):
            pass
        client.close()
else:
    sys.exit("unknown mode " + mode)
