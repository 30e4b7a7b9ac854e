#!/usr/bin/env python3
"""sl-flood.py PORT SECONDS IDLE SLOW [RECONNECT]: hold IDLE idle connections
and SLOW slowloris connections (a header byte a second) to 127.0.0.1:PORT for
SECONDS; with RECONNECT=1, open a new one for every one the server closes, as
a determined attacker would.  Prints "closed N" at the end.  Loopback only
(the tests' traffic rule)."""
import resource, selectors, socket, sys, time

port, secs, nidle, nslow = (int(a) for a in sys.argv[1:5])
recon = len(sys.argv) > 5 and sys.argv[5] == "1"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
sel = selectors.DefaultSelector()
reconnects = 0

def connect(kind):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sel.register(s, selectors.EVENT_READ, kind)
    if kind == "slow":
        try:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    return s

for _ in range(nidle):
    connect("idle")
for _ in range(nslow):
    connect("slow")
end = time.time() + secs
next_byte = time.time() + 1
while time.time() < end:
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:                    # closed by the server: come back
            sel.unregister(s)
            s.close()
            reconnects += 1
            if recon:
                connect(key.data)
    if time.time() >= next_byte:
        next_byte += 1
        for key in list(sel.get_map().values()):
            if key.data == "slow":
                try:
                    key.fileobj.send(b"X")
                except OSError:
                    pass
print("closed", reconnects)
