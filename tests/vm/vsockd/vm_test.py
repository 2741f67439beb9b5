#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drive a guest through hvipe-vsockd and check what comes out the other side.

The guest's init fetches shell snippets from host port 7000 (served here) and
prints RESULT lines on the serial console; the host side runs vsock-helper
servers on BASE_<port>. Every process started here is killed in `finally`.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

MiB = 1 << 20
T_LONG = 900  # TCG with 8 engineers on 2 cores: generous, never a timed assertion


class Fail(Exception):
    pass


class Rig:
    def __init__(self, a):
        self.a = a
        self.tmp = a.tmp
        self.base = os.path.join(self.tmp, "v.sock")
        self.vhost = os.path.join(self.tmp, "vhost.sock")
        self.qmp_path = os.path.join(self.tmp, "qmp.sock")
        self.serial = os.path.join(self.tmp, "serial.log")
        self.dlog = os.path.join(self.tmp, "vsockd.log")
        self.procs = []
        self.cmds = []
        self.cmd_lock = threading.Lock()
        self.serial_off = 0
        self.qmp = None
        self.stop = False

    # ---- processes -------------------------------------------------------
    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def wait_path(self, path, proc=None):
        for _ in range(600):
            if os.path.exists(path):
                return
            if proc is not None and proc.poll() is not None:
                raise Fail(f"{argv0(proc)} exited early ({proc.returncode})")
            time.sleep(0.1)
        raise Fail(f"{path} never appeared")

    def start(self):
        self.daemon = self.spawn([self.a.daemon, "--socket", self.vhost, "--uds-path", self.base,
                                  "--guest-cid", "3", "--server"],
                                 stderr=open(self.dlog, "w"))
        self.wait_path(self.vhost, self.daemon)
        threading.Thread(target=self.cmd_server, daemon=True).start()
        h = self.a.helper
        self.spawn([h, "usink", self.base + "_6000"])
        self.spawn([h, "usource", self.base + "_6001", str(self.a.size), "2"])
        self.spawn([h, "usink", self.base + "_6002"])
        for p in ("_6000", "_6001", "_6002", "_7000"):
            self.wait_path(self.base + p)
        self.qemu = self.spawn([
            "qemu-system-x86_64", "-machine", "q35,accel=tcg,memory-backend=mem", "-m", "512M",
            "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-smp", "1",
            "-nographic", "-nodefaults", "-no-user-config",
            "-serial", "file:" + self.serial,
            "-kernel", self.a.kernel, "-initrd", self.a.initrd,
            "-append", "console=ttyS0 panic=-1 quiet loglevel=3",
            "-chardev", "socket,id=vs0,path=" + self.vhost,
            "-device", "vhost-user-vsock-pci,chardev=vs0",
            "-qmp", "unix:" + self.qmp_path + ",server=on,wait=off"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "qemu.log"), "w"))
        self.wait_path(self.qmp_path, self.qemu)
        self.qmp = socket.socket(socket.AF_UNIX)
        self.qmp.connect(self.qmp_path)
        self.qmpf = self.qmp.makefile("rw")
        self.qmpf.readline()
        self.qmp_cmd("qmp_capabilities")

    def cleanup(self):
        self.stop = True
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def qmp_cmd(self, cmd):
        self.qmpf.write(json.dumps({"execute": cmd}) + "\n")
        self.qmpf.flush()
        while True:
            r = json.loads(self.qmpf.readline())
            if "return" in r or "error" in r:
                if "error" in r:
                    raise Fail(f"qmp {cmd}: {r['error']}")
                return r["return"]

    # ---- guest commands ----------------------------------------------------
    def cmd_server(self):
        path = self.base + "_7000"
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(16)
        while not self.stop:
            c, _ = s.accept()
            with self.cmd_lock:
                script = self.cmds.pop(0) if self.cmds else ""
            try:
                c.sendall(script.encode())
            finally:
                c.close()

    def run(self, script):
        with self.cmd_lock:
            self.cmds.append(script + "\n")

    def expect(self, pattern, timeout=T_LONG, what=None):
        """Wait for a regex on the serial console after the last match."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while time.time() < end:
            with open(self.serial, "rb") as f:
                f.seek(self.serial_off)
                data = f.read().decode(errors="replace")
            m = rx.search(data)
            if m:
                self.serial_off += len(data[:m.end()].encode())
                return m
            if self.qemu.poll() is not None:
                raise Fail(f"qemu exited while waiting for {what or pattern}")
            if self.daemon.poll() is not None:
                raise Fail(f"hvipe-vsockd exited while waiting for {what or pattern}")
            time.sleep(0.05)
        raise Fail(f"timeout waiting for {what or pattern}")

    def expected_sum(self, n, seed):
        return subprocess.check_output([self.a.helper, "sum", str(n), str(seed)]).decode().strip()


def argv0(p):
    return os.path.basename(p.args[0])


def check(name, cond, detail=""):
    if not cond:
        raise Fail(f"{name}: {detail}")
    print(f"ok {name} {detail}".rstrip(), flush=True)


def scenario_all(r):
    a = r.a
    r.expect(r"HVIPE-BOOTED", what="first boot")
    r.run("vsock-helper cat 9999; echo \"RESULT rst $?\"")
    m = r.expect(r"vsock-helper: connect: (.*)\n(?:.*\n)*?RESULT rst (\d+)", what="rst result")
    check("guest_connect_no_listener_gets_rst", "reset" in m.group(1).lower(), m.group(1))

    t0 = time.time()
    r.run(f"echo \"RESULT g2h $(vsock-helper send 6000 {a.size} 1)\"")
    m = r.expect(r"RESULT g2h (.*)\n", what="g2h")
    check("guest_to_host_checksum", m.group(1).strip() == r.expected_sum(a.size, 1),
          f"{m.group(1).strip()} ({time.time() - t0:.1f}s)")

    t0 = time.time()
    r.run("echo \"RESULT h2g $(vsock-helper recv 6001)\"")
    m = r.expect(r"RESULT h2g (.*)\n", what="h2g")
    check("host_to_guest_checksum", m.group(1).strip() == r.expected_sum(a.size, 2),
          f"{m.group(1).strip()} ({time.time() - t0:.1f}s)")

    r.run("vsock-helper many 6002 50; echo \"RESULT many $?\"")
    m = r.expect(r"ok=(\d+)\s*\nRESULT many (\d+)", what="50 connections")
    check("fifty_concurrent_connections", m.group(1) == "50" and m.group(2) == "0",
          f"ok={m.group(1)}")

    # Host-initiated connection to a guest port nobody listens on: closed, no OK line.
    p = subprocess.run([a.helper, "uconnect", r.base, "5999", "10", "1"], capture_output=True,
                       timeout=T_LONG)
    check("host_initiated_refused_by_guest", p.returncode != 0 and b"no OK line" in p.stderr,
          p.stderr.decode().strip())

    # Host-initiated connection, paused and resumed in the middle of the transfer.
    r.run("vsock-helper listen 5000 & sleep 1; echo RESULT listening")
    r.expect(r"RESULT listening", what="guest listener")
    up = r.spawn([a.helper, "uconnect", r.base, "5000", str(a.size), "3"],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok_line = up.stderr.readline().decode().strip()
    check("host_initiated_ok_line", re.fullmatch(r"OK \d+", ok_line) is not None, ok_line)
    while True:
        line = up.stderr.readline().decode()
        if not line:
            raise Fail("uconnect ended before reaching 8 MiB")
        if line.startswith("progress") and int(line.split()[1]) >= 8 * MiB:
            break
    r.qmp_cmd("stop")
    time.sleep(3)
    paused_running = up.poll() is None
    r.qmp_cmd("cont")
    out, err = up.communicate(timeout=T_LONG)
    check("pause_mid_transfer", paused_running, "transfer still open while paused")
    check("host_to_guest_after_resume_checksum",
          up.returncode == 0 and out.decode().strip() == r.expected_sum(a.size, 3),
          out.decode().strip())

    # Guest driver reset (unbind/bind) with a connection open: the host side sees
    # it end, and the device works again afterwards.
    hold1 = socket.socket(socket.AF_UNIX)
    hold1.bind(r.base + "_6005")
    hold1.listen(1)
    drv = "/sys/bus/virtio/drivers/vmw_vsock_virtio_transport"
    r.run(f"vsock-helper hold 6005 & sleep 2; d=$(basename $(ls -d {drv}/virtio*)); "
          f"echo $d > {drv}/unbind; sleep 1; echo $d > {drv}/bind; echo \"RESULT rebound $d\"")
    hold1.settimeout(T_LONG)
    hc1, _ = hold1.accept()
    r.expect(r"RESULT rebound virtio\d+", what="driver unbind/bind")
    hc1.settimeout(T_LONG)
    check("driver_reset_resets_host_connection", hc1.recv(1) == b"", "EOF after unbind/bind")
    r.run(f"echo \"RESULT g2h1 $(vsock-helper send 6000 {MiB} 4)\"")
    m = r.expect(r"RESULT g2h1 (.*)\n", what="transfer after driver reset")
    check("transfer_after_driver_reset", m.group(1).strip() == r.expected_sum(MiB, 4),
          m.group(1).strip())

    # Reboot with a connection open: the host side must see it end.
    hold = socket.socket(socket.AF_UNIX)
    hold.bind(r.base + "_6004")
    hold.listen(1)
    r.run("vsock-helper hold 6004 & sleep 2; echo RESULT holding; reboot -f")
    hold.settimeout(T_LONG)
    hc, _ = hold.accept()
    r.expect(r"RESULT holding", what="hold")
    r.expect(r"HVIPE-BOOTED", what="second boot")
    hc.settimeout(T_LONG)
    check("reboot_resets_host_connection", hc.recv(1) == b"", "EOF after guest reboot")
    r.run(f"echo \"RESULT g2h2 $(vsock-helper send 6000 {MiB} 5)\"")
    m = r.expect(r"RESULT g2h2 (.*)\n", what="transfer after reboot")
    check("transfer_after_reboot", m.group(1).strip() == r.expected_sum(MiB, 5), m.group(1).strip())

    r.qmp_cmd("quit")
    rc = r.daemon.wait(timeout=120)
    check("daemon_exits_cleanly_with_qemu", rc == 0, f"rc={rc}")
    with open(r.dlog) as f:
        log = f.read()
    check("no_malformed_traffic_logged", "malformed" not in log and "ring_index" not in log)


def unix_pair_rate(n):
    a, b = socket.socketpair()
    buf = bytes(65536)

    def reader():
        left = n
        while left:
            left -= len(b.recv(1 << 20))
    t = threading.Thread(target=reader)
    t0 = time.time()
    t.start()
    sent = 0
    while sent < n:
        sent += a.send(buf[:min(65536, n - sent)])
    t.join()
    return n / MiB / (time.time() - t0)


def cpu_seconds(pid):
    """utime + stime of a process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scenario_bench(r):
    a = r.a
    r.expect(r"HVIPE-BOOTED", what="boot")
    notes = []
    for name, cmd in (("guest_to_host", f"vsock-helper send 6000 {a.size} 1"),
                      ("host_to_guest", "vsock-helper recv 6001")):
        r.run(f"echo RESULT start; {cmd} >/dev/null; echo RESULT done")
        r.expect(r"RESULT start")
        t0 = time.time()
        d0, q0 = cpu_seconds(r.daemon.pid), cpu_seconds(r.qemu.pid)
        r.expect(r"RESULT done")
        dt = time.time() - t0
        d1, q1 = cpu_seconds(r.daemon.pid), cpu_seconds(r.qemu.pid)
        rate = a.size / MiB / dt
        base_rate = unix_pair_rate(a.size)
        print(f"BENCH vsockd_{name} {rate:.1f} MB/s ratio={rate / base_rate:.3f}", flush=True)
        notes.append(f"{name}: {dt:.2f}s, unix pair {base_rate:.0f} MB/s, hvipe-vsockd CPU "
                     f"{100 * (d1 - d0) / dt:.0f}%, qemu CPU {100 * (q1 - q0) / dt:.0f}%")
    for n in notes:
        print(f"# {n}", flush=True)
    print("# the guest runs under TCG: its emulated CPU (qemu's busy thread), not the bridge, "
          "sets the rate", flush=True)
    r.qmp_cmd("quit")
    r.daemon.wait(timeout=120)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True)
    p.add_argument("--helper", required=True)
    p.add_argument("--kernel", required=True)
    p.add_argument("--initrd", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--size", type=int, default=64 * MiB)
    p.add_argument("--scenario", default="all", choices=("all", "bench"))
    a = p.parse_args()
    r = Rig(a)
    try:
        r.start()
        (scenario_all if a.scenario == "all" else scenario_bench)(r)
        return 0
    except (Fail, subprocess.TimeoutExpired, OSError) as e:
        print(f"FAIL {e}", flush=True)
        for f in ("vsockd.log", "serial.log", "qemu.log"):
            path = os.path.join(a.tmp, f)
            if os.path.exists(path):
                print(f"--- tail of {f}")
                with open(path, errors="replace") as fh:
                    print("".join(fh.readlines()[-30:]))
        return 1
    finally:
        r.cleanup()


if __name__ == "__main__":
    sys.exit(main())
