// SPDX-License-Identifier: GPL-2.0-only
/*
 * blob.c - a resolved ruleset as bytes and back.  An instance records the
 * ruleset of each generation this way (kernel/source.c), so that `sluice
 * plan` diffs against what is loaded, and a rollback re-applies exactly
 * the previous rules, without the files they came from.  Native byte
 * order (the bytes never leave the host), every count bounds-checked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan/plan.h"

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	int err;
};

static inline void put(struct wbuf *b, const void *v, size_t n)
{
	if (b->err)
		return;
	if (__builtin_expect(b->n + n > b->cap, 0)) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *q;

		while (cap < b->n + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->err = -ENOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void put_u8(struct wbuf *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(struct wbuf *b, uint16_t v) { put(b, &v, 2); }
static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, 4); }

static void put_str(struct wbuf *b, const char *s)
{
	size_t n = strlen(s);

	put_u16(b, (uint16_t)n);
	put(b, s, n);
}

static void put_cidr(struct wbuf *b, const struct sl_cidr *c)
{
	put_u8(b, c->family);
	put_u8(b, c->plen);
	put(b, c->addr, 16);
}

/* The blob's size, to allocate it once (10^6 prefixes: 18 MB). */
static size_t blob_size(const struct sl_ruleset *rs)
{
	size_t n = 4 + 4 + 6 + 2 + 4 + 4 + rs->nresolvers * 18 + 4;

	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];

		n += 2 + strlen(r->name) + 2 + 4 + 4 + r->ndsts * 18 + 4;
		for (size_t l = 0; l < r->nlines; l++)
			n += 5 + r->lines[l].nports * 4;
		for (size_t k = 0; k < r->nhosts; k++)
			n += 3 + strlen(r->hosts[k].name);
	}
	return n;
}

int sl_plan_blob(const struct sl_ruleset *rs, uint8_t **out, size_t *len)
{
	struct wbuf b = { 0 };

	b.cap = blob_size(rs);
	if (!(b.p = malloc(b.cap)))
		return -ENOMEM;

	put_u32(&b, SL_BLOB_MAGIC);
	put_u32(&b, SL_BLOB_VERSION);
	put_u8(&b, (uint8_t)rs->policy);
	put_u8(&b, (uint8_t)rs->mode);
	put_u8(&b, rs->control_pass);
	put_u8(&b, rs->log_drops);
	put_u8(&b, rs->log_pass);
	put_u8(&b, rs->host_pass);
	put_u16(&b, rs->log_snap);
	put_u32(&b, rs->log_rate);
	put_u32(&b, (uint32_t)rs->nresolvers);
	for (size_t i = 0; i < rs->nresolvers; i++)
		put_cidr(&b, &rs->resolvers[i]);
	put_u32(&b, (uint32_t)rs->nrules);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];

		put_str(&b, r->name);
		put_u8(&b, (uint8_t)r->action);
		put_u8(&b, r->log);
		put_u32(&b, (uint32_t)r->nlines);
		for (size_t l = 0; l < r->nlines; l++) {
			put_u8(&b, (uint8_t)r->lines[l].proto);
			put_u32(&b, (uint32_t)r->lines[l].nports);
			for (size_t k = 0; k < r->lines[l].nports; k++) {
				put_u16(&b, r->lines[l].ports[k].lo);
				put_u16(&b, r->lines[l].ports[k].hi);
			}
		}
		put_u32(&b, (uint32_t)r->ndsts);
		for (size_t k = 0; k < r->ndsts; k++)
			put_cidr(&b, &r->dsts[k]);
		put_u32(&b, (uint32_t)r->nhosts);
		for (size_t k = 0; k < r->nhosts; k++) {
			put_u8(&b, r->hosts[k].wildcard);
			put_str(&b, r->hosts[k].name);
		}
	}
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static void get(struct rbuf *b, void *v, size_t n)
{
	if (b->bad || b->n - b->off < n) {
		b->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, b->p + b->off, n);
	b->off += n;
}

static uint8_t get_u8(struct rbuf *b) { uint8_t v; get(b, &v, 1); return v; }
static uint16_t get_u16(struct rbuf *b) { uint16_t v; get(b, &v, 2); return v; }
static uint32_t get_u32(struct rbuf *b) { uint32_t v; get(b, &v, 4); return v; }

/* A count of items of at least @min bytes each that the rest can hold. */
static size_t get_count(struct rbuf *b, size_t min)
{
	uint32_t n = get_u32(b);

	if (b->bad || (uint64_t)n * min > b->n - b->off) {
		b->bad = true;
		return 0;
	}
	return n;
}

static char *get_str(struct rbuf *b)
{
	uint16_t n = get_u16(b);
	char *s;

	if (b->bad || b->n - b->off < n) {
		b->bad = true;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		b->bad = true;
		return NULL;
	}
	memcpy(s, b->p + b->off, n);
	s[n] = 0;
	b->off += n;
	return s;
}

static void get_cidr(struct rbuf *b, struct sl_cidr *c, struct sl_pos pos)
{
	c->family = get_u8(b);
	c->plen = get_u8(b);
	get(b, c->addr, 16);
	c->pos = pos;
	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    c->plen > (c->family == AF_INET ? 32 : 128))
		b->bad = true;
}

static void *alloc_n(struct rbuf *b, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		b->bad = true;
	return p;
}

static void get_rule(struct rbuf *b, struct sl_rule *r, struct sl_pos pos)
{
	r->pos = pos;
	r->name = get_str(b);
	r->action = (enum sl_action)get_u8(b);
	r->log = get_u8(b);
	r->nlines = get_count(b, 5);
	r->lines = alloc_n(b, r->nlines, sizeof(*r->lines));
	for (size_t l = 0; l < r->nlines && !b->bad; l++) {
		struct sl_proto_line *pl = &r->lines[l];

		pl->pos = pos;
		pl->proto = (enum sl_proto)get_u8(b);
		pl->nports = get_count(b, 4);
		pl->ports = pl->nports ? alloc_n(b, pl->nports, sizeof(*pl->ports)) : NULL;
		for (size_t k = 0; k < pl->nports && !b->bad; k++) {
			pl->ports[k].lo = get_u16(b);
			pl->ports[k].hi = get_u16(b);
		}
	}
	r->ndsts = get_count(b, 18);
	r->dsts = alloc_n(b, r->ndsts, sizeof(*r->dsts));
	for (size_t k = 0; k < r->ndsts && !b->bad; k++)
		get_cidr(b, &r->dsts[k], pos);
	r->nhosts = get_count(b, 3);
	r->hosts = alloc_n(b, r->nhosts, sizeof(*r->hosts));
	for (size_t k = 0; k < r->nhosts && !b->bad; k++) {
		r->hosts[k].wildcard = get_u8(b);
		r->hosts[k].name = get_str(b);
		r->hosts[k].pos = pos;
	}
	if (r->action != SL_ACT_ALLOW && r->action != SL_ACT_DENY)
		b->bad = true;
}

int sl_plan_unblob(const void *buf, size_t len, const char *origin, struct sl_ruleset *rs)
{
	struct rbuf b = { .p = buf, .n = len };
	struct sl_pos pos = { 0 };

	memset(rs, 0, sizeof(*rs));
	if (get_u32(&b) != SL_BLOB_MAGIC || get_u32(&b) != SL_BLOB_VERSION)
		return -EINVAL;
	rs->files = calloc(1, sizeof(*rs->files));
	if (!rs->files || !(rs->files[0] = strdup(origin ? origin : "(loaded)"))) {
		sl_ruleset_free(rs);
		return -ENOMEM;
	}
	rs->nfiles = 1;
	pos.file = rs->files[0];
	rs->policy = (enum sl_policy)get_u8(&b);
	rs->mode = (enum sl_mode)get_u8(&b);
	rs->control_pass = get_u8(&b);
	rs->log_drops = get_u8(&b);
	rs->log_pass = get_u8(&b);
	rs->host_pass = get_u8(&b);
	rs->log_snap = get_u16(&b);
	rs->log_rate = get_u32(&b);
	rs->nresolvers = get_count(&b, 18);
	rs->resolvers = alloc_n(&b, rs->nresolvers, sizeof(*rs->resolvers));
	for (size_t i = 0; i < rs->nresolvers && !b.bad; i++)
		get_cidr(&b, &rs->resolvers[i], pos);
	rs->nrules = get_count(&b, 2 + 2 + 12);
	if (rs->nrules > SL_MAX_RULES)
		b.bad = true;
	rs->rules = b.bad ? NULL : alloc_n(&b, rs->nrules, sizeof(*rs->rules));
	if (b.bad)
		rs->nrules = 0;
	for (size_t i = 0; i < rs->nrules && !b.bad; i++)
		get_rule(&b, &rs->rules[i], pos);
	if (b.bad || b.off != b.n) {
		sl_ruleset_free(rs);
		return -EINVAL;
	}
	return 0;
}
