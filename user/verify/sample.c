// SPDX-License-Identifier: GPL-2.0-only
/*
 * sample.c - requirement -> sample flows -> crafted frames (verify.h).
 * The local side of every frame is a documentation address (192.0.2.1,
 * 2001:db8::1, port 40000): only the remote side is judged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "verify/verify.h"

typedef unsigned __int128 u128;

static u128 to128(const uint8_t *a, uint8_t family)
{
	u128 v = 0;

	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
		v = v << 8 | a[i];
	return v;
}

static void from128(u128 v, uint8_t family, uint8_t *a)
{
	int n = family == AF_INET ? 4 : 16;

	memset(a, 0, 16);
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		a[i] = (uint8_t)v;
}

struct acc {
	struct sl_vsample *v;
	size_t n, cap;
};

static int add(struct acc *a, uint8_t family, u128 addr, uint8_t proto, uint16_t port)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct sl_vsample *q = realloc(a->v, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		a->v = q;
		a->cap = cap;
	}
	a->v[a->n].family = family;
	from128(addr, family, a->v[a->n].addr);
	a->v[a->n].proto = proto;
	a->v[a->n].port = port;
	a->n++;
	return 0;
}

/* The ports of a line: each range's ends and middle; every port: 1, 443, 65535. */
static size_t line_ports(const struct sl_proto_line *l, uint16_t *out, size_t cap)
{
	size_t n = 0;

	if (!l->nports) {
		out[n++] = 1;
		out[n++] = 443;
		out[n++] = 65535;
		return n;
	}
	for (size_t i = 0; i < l->nports && n + 3 <= cap; i++) {
		uint16_t lo = l->ports[i].lo, hi = l->ports[i].hi, mid = (uint16_t)(lo + (hi - lo) / 2);

		out[n++] = lo;
		if (mid != lo && mid != hi)
			out[n++] = mid;
		if (hi != lo)
			out[n++] = hi;
	}
	return n;
}

static int add_line(struct acc *a, const struct sl_proto_line *l, uint8_t family, u128 addr)
{
	static uint16_t ports[3 * 1024];
	size_t np;
	int e = 0;

	switch (l->proto) {
	case SL_PROTO_ICMP:
		return family == AF_INET ? add(a, family, addr, 1, 0) : 0;
	case SL_PROTO_ICMP6:
		return family == AF_INET6 ? add(a, family, addr, 58, 0) : 0;
	case SL_PROTO_ANY:
		if ((e = add(a, family, addr, 6, 443)) || (e = add(a, family, addr, 17, 443)))
			return e;
		return add(a, family, addr, family == AF_INET ? 1 : 58, 0);
	default:
		np = line_ports(l, ports, sizeof(ports) / sizeof(ports[0]));
		for (size_t i = 0; i < np && !e; i++)
			e = add(a, family, addr, l->proto == SL_PROTO_TCP ? 6 : 17, ports[i]);
		return e;
	}
}

int sl_verify_samples(const struct sl_rule *req, struct sl_vsample **out, size_t *n)
{
	struct acc a = { 0 };
	int e = 0;

	for (size_t d = 0; d < req->ndsts && !e; d++) {
		const struct sl_cidr *c = &req->dsts[d];
		unsigned bits = (c->family == AF_INET ? 32 : 128) - c->plen;
		u128 lo = to128(c->addr, c->family);
		u128 hi = bits ? lo | (bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1)) : lo;
		u128 pts[3] = { lo, lo + (hi - lo) / 2, hi };
		size_t np = bits == 0 ? 1 : bits == 1 ? 2 : 3;

		if (bits == 1)
			pts[1] = hi;
		for (size_t p = 0; p < np && !e; p++)
			for (size_t l = 0; l < req->nlines && !e; l++)
				e = add_line(&a, &req->lines[l], c->family, pts[p]);
	}
	if (e) {
		free(a.v);
		return e;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static uint16_t csum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

size_t sl_verify_frame(const struct sl_vsample *s, bool inbound, bool eth, uint8_t *buf)
{
	static const uint8_t local4[4] = { 192, 0, 2, 1 };
	static const uint8_t local6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	bool v4 = s->family == AF_INET;
	size_t off = 0, ip, l4, l4len;
	uint16_t rport = s->port, lport = 40000;

	memset(buf, 0, SL_VFRAME_MAX);
	if (eth) {
		static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

		memcpy(buf, mac, sizeof(mac));
		put16(buf + 12, v4 ? 0x0800 : 0x86dd);
		off = 14;
	}
	ip = off;
	l4 = ip + (v4 ? 20 : 40);
	l4len = s->proto == 6 ? 20 : 8;
	if (v4) {
		buf[ip] = 0x45;
		put16(buf + ip + 2, (uint16_t)(20 + l4len));
		buf[ip + 8] = 64;
		buf[ip + 9] = s->proto;
		memcpy(buf + ip + 12, inbound ? s->addr : local4, 4);
		memcpy(buf + ip + 16, inbound ? local4 : s->addr, 4);
		put16(buf + ip + 10, csum(buf + ip, 20, 0));
	} else {
		buf[ip] = 0x60;
		put16(buf + ip + 4, (uint16_t)l4len);
		buf[ip + 6] = s->proto;
		buf[ip + 7] = 64;
		memcpy(buf + ip + 8, inbound ? s->addr : local6, 16);
		memcpy(buf + ip + 24, inbound ? local6 : s->addr, 16);
	}
	switch (s->proto) {
	case 6:
	case 17:
		put16(buf + l4, inbound ? rport : lport);
		put16(buf + l4 + 2, inbound ? lport : rport);
		if (s->proto == 6) {
			buf[l4 + 12] = 0x50;
			buf[l4 + 13] = 0x02;    /* SYN */
			put16(buf + l4 + 14, 65535);
		} else {
			put16(buf + l4 + 4, (uint16_t)l4len);
		}
		break;
	default:
		buf[l4] = inbound ? (v4 ? 0 : 129) : (v4 ? 8 : 128);   /* echo reply / request */
		break;
	}
	return l4 + l4len;
}

void sl_verify_sample_str(const struct sl_vsample *s, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];
	const char *p = s->proto == 6 ? "tcp" : s->proto == 17 ? "udp" : s->proto == 1 ? "icmp" : "icmpv6";

	inet_ntop(s->family, s->addr, a, sizeof(a));
	if (s->proto == 6 || s->proto == 17)
		snprintf(buf, sz, s->family == AF_INET ? "%s %s:%u" : "%s [%s]:%u", p, a, s->port);
	else
		snprintf(buf, sz, "%s %s", p, a);
}
