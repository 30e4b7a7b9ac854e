#!/usr/bin/env python3
"""sl-pairs.py: probe pairs for e2e/soak - is a ruleset switch ever seen half done?

  sl-pairs.py send ADDR_A ADDR_B PORT GAP_MS STOP_FILE
      every GAP_MS, datagram k to ADDR_A:PORT and at once (microseconds
      later, from one socket) datagram k to ADDR_B:PORT, until STOP_FILE
      exists; prints "sent N" (pairs).  A drop shows as ENOBUFS: ignored.
  sl-pairs.py recv ADDR_A ADDR_B PORT READY_FILE IDLE_S N_FILE
      prints one line per pair k < N (N: the number in N_FILE, written by
      the caller once the sender is done, then IDLE_S of silence): "10" if
      only A's datagram arrived, "01" only B's, "11" both, "00" neither.

Ping pairs (two processes, milliseconds apart) straddled switches that
applies of tens of ms make often; pairs microseconds apart seldom do, so two
mixed pairs in a row mean a window in which the program was neither ruleset.
Only documentation addresses, in the test's own namespaces.
"""
import os, select, socket, sys, time


def send(a, b, port, gap_ms, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    k = 0
    t = time.monotonic()
    while not os.path.exists(stop):
        msg = k.to_bytes(4, "big")
        for addr in (a, b):
            try:
                s.sendto(msg, (addr, port))
            except OSError:
                pass            # dropped at egress (ENOBUFS) or no route yet
        k += 1
        t += gap_ms / 1000.0
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)
    print("sent", k)


def recv(a, b, port, ready, idle_s, n_file):
    socks = {}
    for bit, addr in enumerate((a, b)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.bind((addr, port))
        socks[s] = bit
    open(ready, "w").close()
    got = [set(), set()]
    last = time.monotonic()
    while not (os.path.exists(n_file) and time.monotonic() - last > idle_s):
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            data = s.recv(64)
            if len(data) >= 4:
                got[socks[s]].add(int.from_bytes(data[:4], "big"))
                last = time.monotonic()
    n = int(open(n_file).read().split()[-1])
    out = sys.stdout
    for k in range(n):
        out.write("%d%d\n" % (k in got[0], k in got[1]))


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) == 8 and sys.argv[1] == "recv":
        recv(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]), sys.argv[7])
    else:
        sys.exit(__doc__)
