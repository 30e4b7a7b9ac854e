// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsmsg.c - DNS messages in user space for `sluice run` (dnsmsg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dnsmsg.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint8_t lower(uint8_t b)
{
	return (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 32) : b;
}

/*
 * The name at *off of msg[0..n): lower-case wire format into out (root
 * label included), *olen its length; *off goes past the name where it is
 * written.  Returns 0, -EBADMSG (malformed) or -ENODATA (runs past n).
 * Pointers must point strictly backwards, as in the BPF walk.
 */
static int get_name(const uint8_t *msg, size_t n, size_t *off, uint8_t *out, uint8_t *olen)
{
	size_t o = *off, w = 0, end = 0;
	unsigned labels = 0, steps = 0;

	for (;;) {
		uint8_t c;

		if (++steps > SL_DNS_LABELS + 16)
			return -EBADMSG;
		if (o >= n)
			return -ENODATA;
		c = msg[o];
		if (c == 0) {
			if (w + 1 > SL_DNS_NAME_MAX)
				return -EBADMSG;
			out[w++] = 0;
			if (!end)
				end = o + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (o + 1 >= n)
				return -ENODATA;
			t = (size_t)(c & 0x3f) << 8 | msg[o + 1];
			if (t >= o)
				return -EBADMSG;
			if (!end)
				end = o + 2;
			o = t;
			continue;
		}
		if (c & 0xc0)
			return -EBADMSG;
		if (++labels >= SL_DNS_LABELS || w + 1 + c + 1 > SL_DNS_NAME_MAX)
			return -EBADMSG;
		if (o + 1 + c >= n)
			return -ENODATA;
		out[w++] = c;
		for (size_t i = 0; i < c; i++)
			out[w++] = lower(msg[o + 1 + i]);
		o += 1 + c;
	}
	*olen = (uint8_t)w;
	*off = end;
	return 0;
}

void sl_dnsm_free(struct sl_dnsm *m)
{
	free(m->rr);
	m->rr = NULL;
	m->nrr = 0;
}

int sl_dnsm_parse(const uint8_t *msg, size_t caplen, size_t len, struct sl_dnsm *m)
{
	size_t off = 12, cap = 0;
	int e;

	memset(m, 0, sizeof(*m));
	if (caplen > len)
		caplen = len;
	if (caplen < 12)
		return -EBADMSG;
	m->id = get16(msg);
	m->flags = get16(msg + 2);
	m->qdcount = get16(msg + 4);
	m->ancount = get16(msg + 6);
	if (m->qdcount != 1)
		return -EBADMSG;
	if (get_name(msg, caplen, &off, m->qname, &m->qlen) || off + 4 > caplen)
		return -EBADMSG;
	m->qtype = get16(msg + off);
	m->qclass = get16(msg + off + 2);
	off += 4;
	for (size_t i = 0; i < m->ancount; i++) {
		struct sl_dnsm_rr *r;
		size_t rd;

		if (m->nrr == cap) {
			size_t nc = cap ? cap * 2 : 16;
			void *nr = realloc(m->rr, nc * sizeof(*m->rr));

			if (!nr) {
				sl_dnsm_free(m);
				return -ENOMEM;
			}
			m->rr = nr;
			cap = nc;
		}
		r = &m->rr[m->nrr];
		memset(r, 0, sizeof(*r));
		e = get_name(msg, caplen, &off, r->owner, &r->olen);
		if (!e && off + 10 > caplen)
			e = -ENODATA;
		if (!e) {
			r->type = get16(msg + off);
			r->cls = get16(msg + off + 2);
			r->ttl = get32(msg + off + 4);
			r->rdlen = get16(msg + off + 8);
			rd = off + 10;
			if (rd + r->rdlen > caplen)
				e = -ENODATA;
		}
		if (e == -ENODATA && caplen < len) {
			m->cut = true;          /* the rest was not captured */
			break;
		}
		if (e) {
			m->bad = true;          /* past the message's own end, or malformed */
			break;
		}
		if (r->rdlen <= sizeof(r->rd))
			memcpy(r->rd, msg + rd, r->rdlen);
		if (r->type == 5) {
			size_t t = rd;

			/* a bad target matters only if the owner is in the chain (plan) */
			if (get_name(msg, rd + r->rdlen, &t, r->target, &r->tlen) || t != rd + r->rdlen)
				r->tlen = 0;
		}
		off = rd + r->rdlen;
		m->nrr++;
	}
	return 0;
}

int sl_dnsm_wire(const char *name, uint8_t *wire, size_t cap)
{
	size_t w = 0;
	const char *s = name;

	if (!*s || !strcmp(s, "."))
		return -EINVAL;
	while (*s) {
		const char *d = strchr(s, '.');
		size_t l = d ? (size_t)(d - s) : strlen(s);

		if (l == 0 || l > 63 || w + 1 + l + 1 > cap || w + 1 + l + 1 > SL_DNS_NAME_MAX)
			return -EINVAL;
		wire[w++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++)
			wire[w++] = lower((uint8_t)s[i]);
		s += l;
		if (*s == '.')
			s++;
	}
	wire[w++] = 0;
	return (int)w;
}

void sl_dnsm_dotted(const uint8_t *wire, size_t wlen, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (!cap)
		return;
	while (i < wlen && wire[i] && o + 1 < cap) {
		size_t l = wire[i++];

		if (o && o + 1 < cap)
			out[o++] = '.';
		for (size_t k = 0; k < l && i < wlen && o + 1 < cap; k++, i++)
			out[o++] = (wire[i] > 32 && wire[i] < 127) ? (char)wire[i] : '?';
	}
	if (!o && o + 1 < cap)
		out[o++] = '.';
	out[o] = '\0';
}

size_t sl_dnsm_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qwire, size_t qlen,
		     uint16_t qtype)
{
	size_t n = 12;

	if (cap < 12 + qlen + 4 + 11)
		return 0;
	memset(buf, 0, 12);
	put16(buf, id);
	put16(buf + 2, 0x0100);         /* RD */
	put16(buf + 4, 1);
	put16(buf + 10, 1);             /* the OPT record */
	memcpy(buf + n, qwire, qlen);
	n += qlen;
	put16(buf + n, qtype);
	put16(buf + n + 2, 1);
	n += 4;
	buf[n++] = 0;                   /* OPT: root owner, type 41, UDP size 1232 */
	put16(buf + n, 41);
	put16(buf + n + 2, 1232);
	put32(buf + n + 4, 0);
	put16(buf + n + 8, 0);
	return n + 10;
}

int sl_dnsm_matches(const struct sl_dnsm *m, uint16_t id, const uint8_t *qwire, size_t qlen,
		    uint16_t qtype)
{
	if (m->id != id || !(m->flags & 0x8000) || (m->flags & 0x7800) || m->qdcount != 1 ||
	    m->qlen != qlen || memcmp(m->qname, qwire, qlen) || m->qtype != qtype || m->qclass != 1)
		return -EPROTO;
	return 0;
}

static bool name_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && !memcmp(a, b, al);
}

int sl_dnsm_plan(const struct sl_dnsm *m, size_t walked, struct sl_dnsm_plan *p)
{
	const uint8_t *chain[SL_DNS_CHAIN];
	size_t clen[SL_DNS_CHAIN], nchain = 1;

	memset(p, 0, sizeof(*p));
	p->min_ttl = UINT32_MAX;
	p->addr = calloc(m->nrr ? m->nrr : 1, sizeof(*p->addr));
	if (!p->addr)
		return -ENOMEM;
	chain[0] = m->qname;
	clen[0] = m->qlen;
	for (size_t i = 0; i < m->nrr; i++) {
		const struct sl_dnsm_rr *r = &m->rr[i];
		bool in = false;

		if (r->cls != 1 || (r->type != 1 && r->type != 28 && r->type != 5))
			continue;
		for (size_t c = 0; c < nchain && !in; c++)
			in = name_eq(r->owner, r->olen, chain[c], clen[c]);
		if (!in)
			continue;
		if (r->type == 5) {
			if (!r->tlen)
				break;          /* malformed target: the BPF walk stops here */
			if (nchain >= SL_DNS_CHAIN) {
				p->chain_long = true;
				continue;
			}
			chain[nchain] = r->target;
			clen[nchain++] = r->tlen;
			p->cn[p->ncn++] = i;
			if (r->ttl < p->min_ttl)
				p->min_ttl = r->ttl;
			continue;
		}
		if ((r->type == 1 && r->rdlen != 4) || (r->type == 28 && r->rdlen != 16))
			break;                  /* the BPF walk stops at a bad address record */
		if (i < walked)
			continue;               /* the BPF walk learned it already */
		p->addr[p->naddr++] = i;
		if (r->ttl < p->min_ttl)
			p->min_ttl = r->ttl;
	}
	return 0;
}

/* Where a name was written in the chunk under construction. */
struct wrote { const uint8_t *name; size_t len; size_t off; };

static int put_owner(uint8_t *b, size_t *n, const struct wrote *w, size_t nw, const uint8_t *name,
		     size_t len)
{
	for (size_t i = 0; i < nw; i++)
		if (name_eq(w[i].name, w[i].len, name, len)) {
			put16(b + *n, (uint16_t)(0xc000 | w[i].off));
			*n += 2;
			return 0;
		}
	return -EINVAL;                 /* cannot happen: owners are chain names */
}

static void put_rr_fixed(uint8_t *b, size_t *n, const struct sl_dnsm_rr *r, uint16_t rdlen)
{
	put16(b + *n, r->type);
	put16(b + *n + 2, 1);
	put32(b + *n + 4, r->ttl);
	put16(b + *n + 8, rdlen);
	*n += 10;
}

int sl_dnsm_chunks(const struct sl_dnsm *m, const struct sl_dnsm_plan *p,
		   int (*emit)(const uint8_t *msg, size_t n, size_t naddr, void *arg), void *arg)
{
	uint8_t b[SL_INJECT_MAX];
	struct wrote w[SL_DNS_CHAIN];
	size_t nw, next = 0;
	int chunks = 0, e;

	do {
		size_t n = 12, nrec = 0, nad = 0;

		memset(b, 0, 12);
		put16(b, m->id);
		put16(b + 2, 0x8180);           /* QR RD RA, rcode 0 */
		put16(b + 4, 1);
		if (n + m->qlen + 4 > sizeof(b))
			return -E2BIG;
		memcpy(b + n, m->qname, m->qlen);
		w[0] = (struct wrote){ m->qname, m->qlen, n };
		nw = 1;
		n += m->qlen;
		put16(b + n, m->qtype);
		put16(b + n + 2, 1);
		n += 4;
		for (size_t c = 0; c < p->ncn; c++) {
			const struct sl_dnsm_rr *r = &m->rr[p->cn[c]];

			if (n + 2 + 10 + r->tlen > sizeof(b))
				return -E2BIG;
			if ((e = put_owner(b, &n, w, nw, r->owner, r->olen)))
				return e;
			put_rr_fixed(b, &n, r, r->tlen);
			memcpy(b + n, r->target, r->tlen);
			if (n < 0x4000 && nw < SL_DNS_CHAIN)
				w[nw++] = (struct wrote){ r->target, r->tlen, n };
			n += r->tlen;
			nrec++;
		}
		while (next < p->naddr && nrec < SL_DNS_MAX_RR) {
			const struct sl_dnsm_rr *r = &m->rr[p->addr[next]];

			if (n + 2 + 10 + r->rdlen > sizeof(b))
				break;
			if ((e = put_owner(b, &n, w, nw, r->owner, r->olen)))
				return e;
			put_rr_fixed(b, &n, r, r->rdlen);
			memcpy(b + n, r->rd, r->rdlen);
			n += r->rdlen;
			nrec++;
			nad++;
			next++;
		}
		if (nad == 0 && next < p->naddr)
			return -E2BIG;          /* the chain leaves no room for an address */
		put16(b + 6, (uint16_t)nrec);
		if ((e = emit(b, n, nad, arg)) < 0)
			return e;
		chunks++;
	} while (next < p->naddr);
	return chunks;
}
