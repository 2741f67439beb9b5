#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerate the seed corpus of fuzz_vsock_tx (guest memory images; layout in fuzz_vsock_tx.c)."""
import struct, os
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_vsock_tx")
GPA = 0x40000000
def hdr(op, sport, dport, ln=0, ba=262144, fc=0, flags=0, src=3, dst=2, typ=1):
    return struct.pack("<QQIIIHHIII", src, dst, sport, dport, ln, typ, op, flags, ba, fc)
def image(tx, rx_bufs=4, avail_extra=0):
    mem = bytearray(0x10000)
    data = 0x800
    descs = []
    heads = []
    for chain in tx:
        head = len(descs)
        heads.append(head)
        for i, (buf, flags) in enumerate(chain):
            mem[data:data+len(buf)] = buf
            nxt = len(descs) + 1 if i + 1 < len(chain) else 0
            f = flags | (1 if i + 1 < len(chain) else 0)
            descs.append((GPA + data, len(buf), f, nxt))
            data += (len(buf) + 15) & ~15
    for i, d in enumerate(descs):
        struct.pack_into("<QIHH", mem, 16 * i, *d)
    struct.pack_into("<HH", mem, 0x100, 0, len(heads) + avail_extra)
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, 0x104 + 2 * i, h)
    for i in range(rx_bufs):
        struct.pack_into("<QIHH", mem, 0x400 + 16 * i, GPA + 0x8000 + 0x1000 * i, 0x1000, 2, 0)
        struct.pack_into("<H", mem, 0x504 + 2 * i, i)
    struct.pack_into("<HH", mem, 0x500, 0, rx_bufs)
    return bytes(mem[:data + 64]) if rx_bufs == 0 else bytes(mem)
seeds = {
    "request_port1": image([[(hdr(1, 1000, 1), 0)]]),
    "request_rw_shutdown": image([[(hdr(1, 1001, 1), 0)], [(hdr(5, 1001, 1, 5), 0), (b"hello", 0)],
                                  [(hdr(4, 1001, 1, flags=3), 0)]]),
    "request_no_listener": image([[(hdr(1, 7, 99), 0)]]),
    "rw_unknown": image([[(hdr(5, 7, 8, 3), 0), (b"abc", 0)]]),
    "credit_ops": image([[(hdr(1, 9, 1), 0)], [(hdr(6, 9, 1, fc=100), 0)], [(hdr(7, 9, 1), 0)], [(hdr(3, 9, 1), 0)]]),
    "bad_type_cid": image([[(hdr(1, 9, 1, typ=2), 0)], [(hdr(1, 9, 1, src=4), 0)]]),
    "writable_in_tx": image([[(hdr(1, 9, 1), 2)]]),
    "avail_jump": image([[(hdr(1, 9, 1), 0)]], avail_extra=40),
}
os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    # Trim trailing zeros: the harness zero-fills the rest of the region.
    v = v.rstrip(b"\0")
    open(os.path.join(out, k), "wb").write(v)
print(len(seeds))
