#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerate the seed corpus of fuzz_vhost_user (input format in fuzz_vhost_user.c)."""
import os, struct
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_vhost_user")
GPA, QVA, MEM = 0x40000000, 0x7f4000000000, 0x10000
# Rings as in fuzz_vsock_tx: rx at 0x400, tx at 0x000 (desc, avail +0x100, used +0x200).
def vhdr(op, sport, dport, ln=0):
    return struct.pack("<QQIIIHHIII", 3, 2, sport, dport, ln, 1, op, 0, 262144, 0)
def image():
    mem = bytearray(0x1000)
    struct.pack_into("<QIHH", mem, 0, GPA + 0x800, 44, 0, 0)
    mem[0x800:0x800 + 44] = vhdr(1, 1000, 1)
    struct.pack_into("<HHH", mem, 0x100, 0, 1, 0)
    for i in range(4):
        struct.pack_into("<QIHH", mem, 0x400 + 16 * i, GPA + 0x8000 + 0x1000 * i, 0x1000, 2, 0)
        struct.pack_into("<H", mem, 0x504 + 2 * i, i)
    struct.pack_into("<H", mem, 0x502, 4)
    return bytes(mem)
def msg(req, payload=b"", fds=0, memfd=0, flags=1, size=None):
    spec = fds | (memfd << 2)
    return bytes([spec]) + struct.pack("<III", req, flags, len(payload) if size is None else size) + payload
def u64(v): return struct.pack("<Q", v)
def state(i, n): return struct.pack("<II", i, n)
def mem_table(regions):
    p = struct.pack("<II", len(regions), 0)
    for r in regions:
        p += struct.pack("<QQQQ", *r)
    return msg(5, p, fds=len(regions), memfd=(1 << len(regions)) - 1)
def ring(i, off, num=16):
    return (msg(8, state(i, num)) + msg(10, state(i, 0)) +
            msg(9, struct.pack("<IIQQQQ", i, 0, QVA + off, QVA + off + 0x200, QVA + off + 0x100, 0)) +
            msg(12, u64(i), fds=1) + msg(13, u64(i), fds=1) + msg(18, state(i, 1)))
setup = (msg(1) + msg(15) + msg(16, u64(1 << 3 | 1 << 9)) + msg(2, u64(1 << 32 | 1 << 30)) +
         mem_table([(GPA, MEM, QVA, 0)]))
live = setup + ring(0, 0x400) + ring(1, 0)
img = image()
seeds = {
    "handshake": setup,
    "live_rings": live,
    "pause_resume": live + msg(11, state(1, 0)) + msg(10, state(1, 1)) + ring(1, 0),
    "resize_after_addr": live + msg(8, state(0, 32768)),
    "two_regions": setup + mem_table([(GPA, 0x8000, QVA, 0), (GPA + 0x8000, 0x8000, QVA + 0x8000, 0x8000)]) + ring(0, 0x400) + ring(1, 0),
    "get_config": setup + msg(24, struct.pack("<III", 0, 8, 0) + bytes(8)),
    "need_reply_unknown": setup + msg(99, flags=1 | 8),
}
os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    data = struct.pack("<H", len(img)) + img + v if k != "handshake" else struct.pack("<H", 0) + v
    open(os.path.join(out, k), "wb").write(data)
print(len(seeds))
