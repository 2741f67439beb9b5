#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hvipe-vsockd as a process, without a VM: command line, client mode against a
fake QEMU front-end, clean exit on front-end EOF and on SIGTERM, socket file
handling, and a malformed CONNECT line. usage: cli_test.py PATH_TO_DAEMON"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

D = sys.argv[1]
procs = []


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name} {detail}", flush=True)
        raise SystemExit(1)
    print(f"ok {name} {detail}".rstrip(), flush=True)


def spawn(args):
    p = subprocess.Popen([D] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(p)
    return p


def wait_path(path, present=True):
    for _ in range(300):
        if os.path.exists(path) == present:
            return True
        time.sleep(0.05)
    return False


def request(s, req, payload=b"", flags=1):
    s.sendall(struct.pack("<III", req, flags, len(payload)) + payload)
    h = s.recv(12, socket.MSG_WAITALL)
    r, f, n = struct.unpack("<III", h)
    body = s.recv(n, socket.MSG_WAITALL) if n else b""
    return r, f, body


def main(tmp):
    base = os.path.join(tmp, "v.sock")
    vhost = os.path.join(tmp, "vhost.sock")

    p = subprocess.run([D, "--help"], capture_output=True, text=True)
    check("help_exits_0", p.returncode == 0 and "--uds-path" in p.stdout)
    for bad in (["--socket", vhost, "--uds-path", base],
                ["--socket", vhost, "--uds-path", base, "--guest-cid", "2"],
                ["--socket", vhost, "--uds-path", base, "--guest-cid", "4294967295"],
                ["--socket", vhost, "--uds-path", base, "--guest-cid", "3x"]):
        p = subprocess.run([D] + bad, capture_output=True)
        check("usage_error_exits_2", p.returncode == 2, " ".join(bad[4:]) or "no cid")
    p = subprocess.run([D, "--socket", vhost, "--uds-path", "/x" * 60, "--guest-cid", "3"],
                       capture_output=True)
    check("overlong_uds_path_refused", p.returncode == 1)

    # A regular file where BASE should be is never removed.
    open(base, "w").close()
    p = subprocess.run([D, "--socket", vhost, "--uds-path", base, "--guest-cid", "3", "--server"],
                       capture_output=True, timeout=30)
    check("regular_file_at_base_kept", p.returncode == 1 and os.path.isfile(base))
    os.unlink(base)

    # Client mode: the daemon connects to a listening front-end.
    q = socket.socket(socket.AF_UNIX)
    q.bind(vhost)
    q.listen(1)
    d = spawn(["--socket", vhost, "--uds-path", base, "--guest-cid", "1234567"])
    q.settimeout(30)
    fe, _ = q.accept()
    r, f, body = request(fe, 1)
    check("get_features_reply", r == 1 and f == 5 and len(body) == 8 and
          struct.unpack("<Q", body)[0] & (1 << 32), hex(struct.unpack("<Q", body)[0]))
    r, f, body = request(fe, 15)
    check("protocol_features_reply", struct.unpack("<Q", body)[0] & (1 << 9))
    r, f, body = request(fe, 24, struct.pack("<III", 0, 8, 0) + bytes(8))
    check("config_carries_cid", struct.unpack("<Q", body[12:20])[0] == 1234567)
    check("hybrid_listener_created", wait_path(base))
    # A malformed CONNECT line: the client is dropped without an OK.
    c = socket.socket(socket.AF_UNIX)
    c.connect(base)
    c.sendall(b"CONNECT nope\n")
    c.settimeout(30)
    check("bad_connect_line_closed", c.recv(64) == b"")
    c.close()
    fe.close()
    rc = d.wait(timeout=30)
    check("frontend_eof_exits_0", rc == 0, f"rc={rc}")
    check("base_removed_on_exit", not os.path.exists(base))
    q.close()
    os.unlink(vhost)

    # Server mode; SIGTERM while waiting for QEMU.
    d = spawn(["--socket", vhost, "--uds-path", base, "--guest-cid", "3", "--server"])
    check("server_socket_created", wait_path(vhost) and wait_path(base))
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=30)
    check("sigterm_exits_0", rc == 0, f"rc={rc}")
    check("sockets_removed_on_sigterm", not os.path.exists(vhost) and not os.path.exists(base))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="hvipe-vsockd-cli.") as t:
        try:
            main(t)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
