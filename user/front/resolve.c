/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resolve.c - destinations: one word (or "A - B") of a rule, set or
 * address file becomes prefixes (ranges split into CIDRs), host names or
 * the expanded contents of an @set; address-list files are read here.
 * sl__finalize moves the built lists into the ruleset at the end.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "front/addr.h"
#include "front/files.h"
#include "front/resolve.h"


int sl__load_addr_file(struct pctx *c, struct lexer *lx, const struct tok *str,
		       struct dlist *dl)
{
	char *rel, *path, *buf = NULL;
	size_t len = 0;
	int err;

	if (str->len == 0 || memchr(str->s, 0, str->len)) {
		ERR(c, str->pos, NULL, "bad file name %s", TD(*str));
		return -1;
	}
	rel = strndup(str->s, str->len);
	path = rel ? sl__join_rel(lx->file, lx->is_buffer, rel) : NULL;
	free(rel);
	if (!path) {
		sl__oom(c);
		return -1;
	}
	err = sl__read_rec(c->reads, path, &buf, &len);
	if (err) {
		ERR(c, str->pos, "address files are relative to the file that names them",
		    "cannot read address file '%s': %s", path, sl__file_strerror(err));
		free(path);
		return -1;
	}
	sl__parse_addr_list(c, sl__intern(c, path), buf, len, dl);
	free(path);
	free(buf);
	return 0;
}

static int set_ref(struct pctx *c, const struct tok *t, struct dlist *dl)
{
	char name[SL_NAME_MAX + 2], hint[160];
	size_t n = t->len - 1;
	long id;

	if (n == 0 || n > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "bad set reference %s", TD(*t));
		return -1;
	}
	memcpy(name, t->s + 1, n);
	name[n] = 0;
	if (c->cur_set && !strcmp(c->cur_set, name)) {
		ERR(c, t->pos, NULL, "set '%s' cannot contain itself", name);
		return -1;
	}
	id = sl__nmap_get(&c->setmap, name);
	if (id < 0) {
		snprintf(hint, sizeof(hint),
			 "sets must be defined before they are used: set %s { ... };", name);
		ERR(c, t->pos, hint, "unknown set '@%s'", name);
		return -1;
	}
	for (size_t i = 0; i < dl->nrefs; i++) {
		if (dl->refs[i].id == (uint32_t)id) {
			struct sl_pos p = dl->refs[i].pos;

			WARN(c, t->pos, NULL, "@%s is listed twice; first at %s:%d:%d",
			     name, p.file, p.line, p.col);
			return 0;
		}
	}
	if (GROW(c, dl->refs, dl->crefs, dl->nrefs))
		return -1;
	dl->refs[dl->nrefs].id = (uint32_t)id;
	dl->refs[dl->nrefs].pos = t->pos;
	dl->nrefs++;

	const struct pset *s = &c->sets[id];
	for (size_t i = 0; i < s->d.nc; i++) {
		struct bcidr b = s->d.c[i];

		b.origin = (uint32_t)id + 1;
		if (sl__add_cidr(c, dl, &b))
			return -1;
	}
	for (size_t i = 0; i < s->d.nh; i++) {
		const struct bhost *h = &s->d.h[i];
		char *nm = strdup(h->h.name);

		if (!nm) {
			sl__oom(c);
			return -1;
		}
		if (sl__add_host(c, dl, nm, h->h.wildcard, h->h.pos, h->seq, (uint32_t)id + 1))
			return -1;
	}
	return 0;
}

static bool all_digits_dots(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(isdigit((unsigned char)s[i]) || s[i] == '.'))
			return false;
	return true;
}

/* Parse one address (no prefix) from a word, with an error if it is bad. */
int sl__addr_or_err(struct pctx *c, const char *s, size_t n, struct sl_pos pos,
		    uint8_t *fam, uint8_t *addr)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sl__addr(s, n, fam, addr) == 0) {
		if (*fam == AF_INET6 && !memcmp(addr, mapped, 12)) {
			char hint[64];

			snprintf(hint, sizeof(hint), "write the IPv4 address: %u.%u.%u.%u",
				 addr[12], addr[13], addr[14], addr[15]);
			WARN(c, pos, hint, "'%.*s' is an IPv4-mapped IPv6 address: it never matches "
			     "IPv4 traffic (packets carry 192.0.2.2, not ::ffff:192.0.2.2)", (int)n, s);
		}
		return 0;
	}
	if (memchr(s, ':', n))
		ERR(c, pos, NULL, "bad IPv6 address '%.*s'", (int)n, s);
	else
		ERR(c, pos, "an IPv4 address is four numbers 0-255: 192.0.2.1",
		    "bad IPv4 address '%.*s'", (int)n, s);
	return -1;
}

static int add_range(struct pctx *c, struct dlist *dl, const char *a, size_t an,
		     struct sl_pos apos, const char *b, size_t bn, struct sl_pos bpos,
		     uint32_t seq)
{
	uint8_t fa, fb, la[16], lb[16];

	if (memchr(a, '/', an) || memchr(b, '/', bn)) {
		ERR(c, memchr(a, '/', an) ? apos : bpos,
		    "write a range as two addresses (A - B), or list the prefixes",
		    "a range takes addresses, not prefixes: '%.*s - %.*s'",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	if (sl__addr_or_err(c, a, an, apos, &fa, la) || sl__addr_or_err(c, b, bn, bpos, &fb, lb))
		return -1;
	if (fa != fb) {
		ERR(c, apos, NULL, "range '%.*s - %.*s' mixes IPv4 and IPv6",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	if (sl__cmp_addr(fa, la, lb) > 0) {
		char hint[160];

		snprintf(hint, sizeof(hint), "write %.*s - %.*s", (int)bn, b, (int)an, a);
		ERR(c, apos, hint, "range '%.*s - %.*s' is reversed (start > end)",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	return sl__range_split(c, dl, fa, la, lb, apos, seq, 0);
}

static int add_cidr_word(struct pctx *c, struct dlist *dl, const char *w, size_t n,
			 struct sl_pos pos, uint32_t seq)
{
	const char *slash = memchr(w, '/', n);
	struct bcidr b;
	size_t an = (size_t)(slash - w), pn = n - an - 1;
	unsigned plen = 0, max;

	memset(&b, 0, sizeof(b));
	if (sl__addr_or_err(c, w, an, pos, &b.c.family, b.c.addr))
		return -1;
	max = b.c.family == AF_INET ? 32 : 128;
	for (size_t i = 0; i < pn; i++) {
		if (!isdigit((unsigned char)slash[1 + i]) || i >= 3) {
			pn = 0;
			break;
		}
		plen = plen * 10 + (unsigned)(slash[1 + i] - '0');
	}
	if (pn == 0 || plen > max) {
		ERR(c, pos, NULL, "bad prefix length '/%.*s' (%s allows /0 to /%u)",
		    (int)(n - an - 1), slash + 1, max == 32 ? "IPv4" : "IPv6", max);
		return -1;
	}
	b.c.plen = (uint8_t)plen;
	b.c.pos = pos;
	b.seq = seq;
	if (sl__host_bits(&b.c)) {
		char net[64], hint[96];

		sl__mask(&b.c);
		snprintf(hint, sizeof(hint), "did you mean %s?",
			 sl__fmt_cidr(&b.c, net, sizeof(net)));
		ERR(c, pos, hint, "%.*s has host bits set", (int)n, w);
		return -1;
	}
	return sl__add_cidr(c, dl, &b);
}

/*
 * One destination starting at the consumed WORD @t: address, prefix,
 * range (A-B, A - B, A- B, A -B), host name, *.domain, and in rules and
 * sets also @set, any, file "x".  May consume more tokens.
 */
int sl__parse_dst(struct pctx *c, struct lexer *lx, const struct tok *t,
		  struct dlist *dl, enum dst_where where)
{
	const char *w = t->s;
	size_t n = t->len;
	uint32_t seq = c->seq++;

	if (n > SL_WORD_MAX) {
		ERR(c, t->pos, NULL, "'%.40s...' is too long for an address or host name", w);
		return -1;
	}
	if (w[0] == '@') {
		if (where == W_FILE) {
			ERR(c, t->pos, NULL, "set references (%s) are not allowed in address files",
			    TD(*t));
			return -1;
		}
		return set_ref(c, t, dl);
	}
	if (weq(t, "any")) {
		struct bcidr b;

		if (where == W_FILE) {
			ERR(c, t->pos, "write 0.0.0.0/0 and ::/0",
			    "'any' is not allowed in address files");
			return -1;
		}
		memset(&b, 0, sizeof(b));
		b.c.family = AF_INET;
		b.c.pos = t->pos;
		b.seq = seq;
		if (sl__add_cidr(c, dl, &b))
			return -1;
		b.c.family = AF_INET6;
		return sl__add_cidr(c, dl, &b);
	}
	if (weq(t, "file")) {
		struct tok s;

		if (where == W_FILE) {
			ERR(c, t->pos, NULL, "'file' is not allowed inside address files");
			return -1;
		}
		s = lex_peek(lx);
		if (s.type != T_STR) {
			ERR(c, s.pos, "write file \"addresses.txt\"",
			    "expected a quoted file name after 'file', found %s", TD(s));
			return -1;
		}
		lex_next(lx);
		return sl__load_addr_file(c, lx, &s, dl);
	}
	if (w[0] == '-') {
		ERR(c, t->pos, "a range is written A - B", "expected a destination, found %s",
		    TD(*t));
		return -1;
	}

	/* Ranges: the part before the first '-' is an address. */
	const char *dash = memchr(w, '-', n);
	uint8_t fam, addr[16];

	if (dash && sl__addr(w, (size_t)(dash - w), &fam, addr) == 0) {
		size_t an = (size_t)(dash - w);
		struct sl_pos bpos = t->pos;
		const char *b = dash + 1;
		size_t bn = n - an - 1;

		bpos.col += (int)(an + 1);
		if (bn == 0) {          /* "A- B" */
			struct tok u = lex_peek(lx);

			if (u.type != T_WORD) {
				ERR(c, u.pos, NULL, "expected the end of the range after '%.*s', found %s",
				    (int)n, w, TD(u));
				return -1;
			}
			lex_next(lx);
			b = u.s;
			bn = u.len;
			bpos = u.pos;
		}
		return add_range(c, dl, w, an, t->pos, b, bn, bpos, seq);
	}
	if (memchr(w, '/', n))
		return add_cidr_word(c, dl, w, n, t->pos, seq);
	if (memchr(w, ':', n) || all_digits_dots(w, n)) {
		struct tok u = lex_peek(lx);
		struct bcidr b;

		if (u.type == T_WORD && u.s[0] == '-') {        /* "A - B", "A -B" */
			const char *e;
			size_t en;
			struct sl_pos epos;

			lex_next(lx);
			if (u.len == 1) {
				struct tok v = lex_peek(lx);

				if (v.type != T_WORD) {
					ERR(c, v.pos, NULL,
					    "expected the end of the range after '%.*s -', found %s",
					    (int)n, w, TD(v));
					return -1;
				}
				lex_next(lx);
				e = v.s;
				en = v.len;
				epos = v.pos;
			} else {
				e = u.s + 1;
				en = u.len - 1;
				epos = u.pos;
				epos.col++;
			}
			return add_range(c, dl, w, n, t->pos, e, en, epos, seq);
		}
		memset(&b, 0, sizeof(b));
		if (sl__addr_or_err(c, w, n, t->pos, &b.c.family, b.c.addr))
			return -1;
		b.c.plen = b.c.family == AF_INET ? 32 : 128;
		b.c.pos = t->pos;
		b.seq = seq;
		return sl__add_cidr(c, dl, &b);
	}

	/* Host name. */
	char why[160], *name = NULL;
	bool wild = false;

	if (sl__host(w, n, &name, &wild, why, sizeof(why))) {
		const char *hint = NULL;

		if (!memchr(w, '.', n) && where != W_FILE)
			hint = "a destination is an address, prefix, range, host name, "
			       "*.domain, @set, file \"name\" or any";
		ERR(c, t->pos, hint, "bad destination '%.*s': %s", (int)n, w, why);
		return -1;
	}
	return sl__add_host(c, dl, name, wild, t->pos, seq, 0);
}

/* An address-list file: destinations separated by ',' or white space. */
void sl__parse_addr_list(struct pctx *c, const char *file, const char *buf,
			 size_t len, struct dlist *dl)
{
	struct lexer lx;

	sl__lex_init(&lx, c, file, false, buf, len);
	while (!c->stop) {
		struct tok t = lex_next(&lx);

		if (t.type == T_EOF)
			break;
		if (t.type == T_COMMA || t.type == T_BAD)
			continue;
		if (t.type != T_WORD) {
			ERR(c, t.pos, "an address file holds addresses, prefixes, ranges and host "
			    "names, separated by ',' or white space",
			    "expected an address, prefix, range or host name, found %s", TD(t));
			continue;
		}
		sl__parse_dst(c, &lx, &t, dl, W_FILE);
	}
}

int sl__finalize(struct pctx *c)
{
	struct sl_ruleset *rs = c->rs;

	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];
		struct dlist *dl = &c->pr[i].d;

		if (dl->nc) {
			r->dsts = malloc(dl->nc * sizeof(*r->dsts));
			if (!r->dsts) {
				sl__oom(c);
				return -1;
			}
			for (size_t j = 0; j < dl->nc; j++)
				r->dsts[j] = dl->c[j].c;
			r->ndsts = dl->nc;
		}
		if (dl->nh) {
			r->hosts = malloc(dl->nh * sizeof(*r->hosts));
			if (!r->hosts) {
				sl__oom(c);
				return -1;
			}
			for (size_t j = 0; j < dl->nh; j++) {
				r->hosts[j] = dl->h[j].h;
				dl->h[j].h.name = NULL;
			}
			r->nhosts = dl->nh;
		}
		sl__dlist_free(dl);
	}
	return 0;
}
