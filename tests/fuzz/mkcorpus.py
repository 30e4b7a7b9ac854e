#!/usr/bin/env python3
# tests/fuzz/mkcorpus.py - (re)writes the seed corpus of the fuzz targets:
#   corpus/fuzz_rules/  the shipped rule files (includes inlined where a file
#                       would need another), vendor lists as sets, edge cases
#   corpus/fuzz_pkt/    crafted Ethernet frames: IPv4 (options, fragments),
#                       IPv6 (extension headers, fragments), VLAN tags, ICMP,
#                       ARP, truncations
# Run from the repository root: python3 tests/fuzz/mkcorpus.py
import os, struct, ipaddress, re

root = os.path.dirname(os.path.abspath(__file__)) + "/../.."
out_r = os.path.join(root, "tests/fuzz/corpus/fuzz_rules")
out_p = os.path.join(root, "tests/fuzz/corpus/fuzz_pkt")
os.makedirs(out_r, exist_ok=True)
os.makedirs(out_p, exist_ok=True)

def rd(p):
    return open(os.path.join(root, p)).read()

def strip_list(text):
    return ", ".join(l.split("#")[0].strip() for l in text.splitlines() if l.split("#")[0].strip())

rules = {
    "lab.rules": rd("rules/examples/lab.rules"),
    "base.rules": rd("rules/base.rules"),
}
for f in sorted(os.listdir(os.path.join(root, "rules/securevideo"))):
    if f.endswith(".rules"):
        t = rd("rules/securevideo/" + f)
        # file "x.txt" -> the list inline, so the seed parses from any directory
        def inl(m):
            return "{ " + strip_list(rd("rules/securevideo/" + m.group(1))) + " }"
        t = re.sub(r'file\s+"([^"]+)"', inl, t)
        rules[f] = t
rules["edge.rules"] = """policy allow; mode audit; control filter;
set a { 0.0.0.0/0, ::/0, 255.255.255.255, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 };
rule d { deny tcp 0, 65535; deny udp 1-65535; to 10.0.0.0/8, 10.1.0.0/16, 10.1.2.3; }
rule e { allow icmp; allow icmpv6; allow any; to @a, 10.0.0.0 - 10.255.255.254; }
rule f { allow tcp 80; to *.example.com, example.org; }
"""
rules["errors.rules"] = 'policy maybe;\nrule x { allow udp 10,000-60,000; to 10.0.0.1/24; }\nrule x { deny tcp; allow udp; to 300.1.1.1; }\n'
rules["url-sets.rules"] = """set z url "https://vendor.example/Zoom.txt" refresh 6h ca "ca.pem" max-shrink 25% min-entries 10;
set a url "http://vendor.example/ip-ranges.json" insecure-http max-size 2M format json "prefixes[?service=='AMAZON'].ip_prefix";
set b url "https://vendor.example/g.json" format json "prefixes[].ipv4Prefix" format text;
rule m { allow udp 8801-8810; to @z, @a, @b; }
"""
for name, text in rules.items():
    open(os.path.join(out_r, name), "w").write(text)

def eth(et, payload, vlans=()):
    h = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
    for tpid in vlans:
        h += struct.pack("!HH", tpid, 100)
    return h + struct.pack("!H", et) + payload

def l4(proto, dport, icmp_type=8):
    if proto == 6:
        return struct.pack("!HHIIBBHHH", 40000, dport, 0, 0, 5 << 4, 2, 65535, 0, 0)
    if proto == 17:
        return struct.pack("!HHHH", 40000, dport, 8 + 16, 0) + b"\x5a" * 16
    if proto in (1, 58):
        return struct.pack("!BBHI", icmp_type, 0, 0, 0)
    return b"\x00" * 8

def ip4(dst, proto, dport=0, opts=b"", frag=0, icmp_type=8):
    body = l4(proto, dport, icmp_type) if (frag & 0x1fff) == 0 else b"\x5a" * 16
    ihl = 5 + len(opts) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(body), 1, frag, 64, proto, 0,
                    ipaddress.IPv4Address("192.0.2.1").packed, ipaddress.IPv4Address(dst).packed)
    return h + opts + body

def ip6(dst, proto, dport=0, exts=(), icmp_type=128, fragoff=None):
    chain = b""
    nh_list = [e[0] for e in exts] + [proto]
    for i, (t, hl) in enumerate(exts):
        nxt = nh_list[i + 1]
        if t == 44:
            off = (fragoff or 0) << 3 | 1
            chain += struct.pack("!BBHI", nxt, 0, off, 0xab)
        elif t == 51:
            chain += struct.pack("!BB", nxt, hl) + b"\0" * ((hl + 2) * 4 - 2)
        else:
            chain += struct.pack("!BB", nxt, hl) + b"\x01" * ((hl + 1) * 8 - 2)
    body = b"\x5a" * 16 if fragoff else l4(proto, dport, icmp_type)
    first = nh_list[0]
    h = struct.pack("!IHBB16s16s", 6 << 28, len(chain) + len(body), first, 64,
                    ipaddress.IPv6Address("2001:db8::1").packed, ipaddress.IPv6Address(dst).packed)
    return h + chain + body

frames = {
    "v4-udp-allow": eth(0x0800, ip4("192.0.2.7", 17, 8801)),
    "v4-tcp-allow": eth(0x0800, ip4("192.0.2.7", 6, 443)),
    "v4-tcp-nearmiss": eth(0x0800, ip4("192.0.2.7", 6, 22)),
    "v4-deny": eth(0x0800, ip4("203.0.113.9", 17, 53)),
    "v4-late": eth(0x0800, ip4("8.8.8.8", 17, 12345)),
    "v4-icmp": eth(0x0800, ip4("192.0.2.7", 1, icmp_type=8)),
    "v4-gre": eth(0x0800, ip4("198.51.100.15", 47)),
    "v4-opts": eth(0x0800, ip4("192.0.2.7", 6, 443, opts=b"\x01" * 40)),
    "v4-frag-first": eth(0x0800, ip4("192.0.2.7", 17, 8801, frag=0x2000)),
    "v4-frag-later": eth(0x0800, ip4("192.0.2.7", 17, frag=0x2000 | 185)),
    "v4-control": eth(0x0800, ip4("224.0.0.251", 17, 5353)),
    "v4-loopback": eth(0x0800, ip4("127.0.0.1", 6, 80)),
    "vlan1-v4": eth(0x0800, ip4("192.0.2.7", 17, 3478), vlans=(0x8100,)),
    "vlan2-v4": eth(0x0800, ip4("192.0.2.7", 17, 3478), vlans=(0x88a8, 0x8100)),
    "vlan3-v4": eth(0x0800, ip4("192.0.2.7", 17, 3478), vlans=(0x8100, 0x8100, 0x8100)),
    "v6-udp-allow": eth(0x86dd, ip6("2001:db8:1::7", 17, 8801)),
    "v6-dns": eth(0x86dd, ip6("2001:db8::53", 17, 53)),
    "v6-deny": eth(0x86dd, ip6("2001:db8:5::1", 6, 443)),
    "v6-icmpv6-ns": eth(0x86dd, ip6("ff02::1:ff00:1", 58, icmp_type=135)),
    "v6-icmpv6-echo": eth(0x86dd, ip6("2001:db8:1::7", 58, icmp_type=128)),
    "v6-ext3": eth(0x86dd, ip6("2001:db8:1::7", 17, 8801, exts=((0, 0), (60, 1), (43, 0)))),
    "v6-ah": eth(0x86dd, ip6("2001:db8:1::7", 6, 443, exts=((51, 4),))),
    "v6-frag-first": eth(0x86dd, ip6("2001:db8:1::7", 17, 8801, exts=((44, 0),))),
    "v6-frag-later": eth(0x86dd, ip6("2001:db8:1::7", 17, exts=((44, 0),), fragoff=100)),
    "v6-ext9": eth(0x86dd, ip6("2001:db8:1::7", 17, 8801, exts=tuple((60, 0) for _ in range(9)))),
    "arp": eth(0x0806, b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x11" * 20),
    "lldp": eth(0x88cc, b"\x02\x07\x04" + b"\x11" * 30),
}
frames["v4-cut-l4"] = frames["v4-udp-allow"][:14 + 20 + 2]
frames["v4-cut-ip"] = frames["v4-udp-allow"][:14 + 10]
frames["v6-cut-ext"] = frames["v6-ext3"][:14 + 40 + 12]
frames["eth-short"] = frames["arp"][:10]
frames["v4-bad-ihl"] = frames["v4-udp-allow"][:14] + bytes([0x44]) + frames["v4-udp-allow"][15:]
for name, f in frames.items():
    open(os.path.join(out_p, name), "wb").write(f)
print(len(rules), "rule seeds,", len(frames), "frame seeds")
