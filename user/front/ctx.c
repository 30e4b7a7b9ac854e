/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctx.c - the parse context every front-end stage works on: diagnostics
 * with the error limit, out of memory, the interned file names, the name
 * tables of sets and rules, and the destination lists being built.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "front/ctx.h"

/* ------------------------------------------------------------ diagnostics */

void sl__diag(struct pctx *c, enum sl_sev sev, struct sl_pos pos,
	      const char *hint, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;

	if (c->stop)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	sl_diag_add(c->d, sev, pos, hint, "%s", m ? m : "(out of memory)");
	free(m);
	if (sev == SL_SEV_ERROR && ++c->nerr >= SL_MAX_ERRORS) {
		sl_diag_add(c->d, SL_SEV_NOTE, pos, NULL,
			    "too many errors (%d); stopping here", SL_MAX_ERRORS);
		c->stop = true;
	}
}

void sl__oom(struct pctx *c)
{
	struct sl_pos none = { 0 };

	if (!c->stop)
		sl_diag_add(c->d, SL_SEV_ERROR, none, NULL, "out of memory");
	c->nerr++;
	c->stop = true;
}


/* ------------------------------------------------------------ small utils */

const char *sl__intern(struct pctx *c, const char *name)
{
	struct sl_ruleset *rs = c->rs;
	char *s;

	for (size_t i = rs->nfiles; i-- > 0;)
		if (!strcmp(rs->files[i], name))
			return rs->files[i];
	if (GROW(c, rs->files, c->cfiles, rs->nfiles))
		return "?";
	s = strdup(name);
	if (!s) {
		sl__oom(c);
		return "?";
	}
	rs->files[rs->nfiles++] = s;
	return s;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

long sl__nmap_get(const struct nmap *m, const char *k)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->v[i].name)
			return -1;
		if (!strcmp(m->v[i].name, k))
			return (long)m->v[i].idx;
	}
}

int sl__nmap_put(struct pctx *c, struct nmap *m, const char *k, size_t idx)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct nent *v = calloc(nc, sizeof(*v));

		if (!v) {
			sl__oom(c);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].name)
				continue;
			size_t j = hash_str(m->v[i].name) & (nc - 1);
			while (v[j].name)
				j = (j + 1) & (nc - 1);
			v[j] = m->v[i];
		}
		free(m->v);
		m->v = v;
		m->cap = nc;
	}
	size_t j = hash_str(k) & (m->cap - 1);
	while (m->v[j].name)
		j = (j + 1) & (m->cap - 1);
	m->v[j].name = k;
	m->v[j].idx = idx;
	m->n++;
	return 0;
}

void sl__dlist_free(struct dlist *dl)
{
	for (size_t i = 0; i < dl->nh; i++)
		free(dl->h[i].h.name);
	free(dl->c);
	free(dl->h);
	free(dl->refs);
	memset(dl, 0, sizeof(*dl));
}

int sl__add_cidr(struct pctx *c, struct dlist *dl, const struct bcidr *b)
{
	if (GROW(c, dl->c, dl->cc, dl->nc))
		return -1;
	dl->c[dl->nc++] = *b;
	return 0;
}

int sl__add_host(struct pctx *c, struct dlist *dl, char *name, bool wild,
		 struct sl_pos pos, uint32_t seq, uint32_t origin)
{
	if (GROW(c, dl->h, dl->ch, dl->nh)) {
		free(name);
		return -1;
	}
	dl->h[dl->nh].h.name = name;
	dl->h[dl->nh].h.wildcard = wild;
	dl->h[dl->nh].h.pos = pos;
	dl->h[dl->nh].seq = seq;
	dl->h[dl->nh].origin = origin;
	dl->nh++;
	return 0;
}

