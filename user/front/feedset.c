/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * feedset.c - URL sets in the language (docs/feeds.md):
 *
 *   set NAME url "https://..." [refresh 6h] [ca "FILE"] [max-shrink 25%]
 *       [min-entries N] [max-size 16M] [format text | json "PATH"] [insecure-http];
 *
 * The front end never touches the network: the set's addresses are its last
 * good copy, DIR/KEY.list, an address list written by the fetcher
 * (user/feed/) after the body parsed and passed the guards.  A set without
 * one is a rule error that says to run `sluice fetch FILE` (unless
 * sl_feed_allow_missing(), which sluice fetch itself uses).  Also here: the
 * JSON path syntax, and address lists parsed from a buffer (the fetcher's
 * check of a text body).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "front/files.h"
#include "front/lint.h"
#include "front/parse.h"
#include "front/resolve.h"
#include "front/suggest.h"

static const char *feed_dir_opt;
static bool feed_missing_ok;

void sl_feed_dir_set(const char *dir)
{
	feed_dir_opt = dir && *dir ? dir : NULL;
}

const char *sl_feed_dir(void)
{
	const char *e = getenv("SLUICE_FEED_DIR");

	if (feed_dir_opt)
		return feed_dir_opt;
	return e && *e ? e : SL_FEED_DIR_DEFAULT;
}

void sl_feed_allow_missing(bool yes)
{
	feed_missing_ok = yes;
}

void sl_feed_free(struct sl_feed *f)
{
	free(f->name);
	free(f->url);
	free(f->ca);
	free(f->json_path);
	memset(f, 0, sizeof(*f));
}

/* FNV-1a 64 of what decides the list: URL, format, path. */
void sl_feed_make_key(struct sl_feed *f)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[3] = { f->url, f->format == SL_FEED_JSON ? "json" : "text",
				 f->json_path ? f->json_path : "" };

	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ull;
		}
		h ^= '\n';
		h *= 0x100000001b3ull;
	}
	snprintf(f->key, sizeof(f->key), "%s-%016llx", f->name ? f->name : "set",
		 (unsigned long long)h);
}

/* ------------------------------------------------------------ JSON path */

static int jp_word(const char **s, char *out, size_t cap, const char *what, char *why, size_t n)
{
	size_t k = 0;

	while (**s && (isalnum((unsigned char)**s) || **s == '_' || **s == '-')) {
		if (k + 1 >= cap) {
			snprintf(why, n, "%s is too long", what);
			return -EINVAL;
		}
		out[k++] = *(*s)++;
	}
	out[k] = 0;
	if (!k) {
		snprintf(why, n, "expected %s at '%.20s'", what, *s);
		return -EINVAL;
	}
	return 0;
}

int sl_jpath_parse(const char *s, struct sl_jpath *p, char *why, size_t n)
{
	memset(p, 0, sizeof(*p));
	for (;;) {
		struct sl_jseg *g;

		if (p->nseg >= SL_JPATH_SEGS) {
			snprintf(why, n, "more than %d keys", SL_JPATH_SEGS);
			return -EINVAL;
		}
		g = &p->seg[p->nseg++];
		if (jp_word(&s, g->key, sizeof(g->key), "a key", why, n))
			return -EINVAL;
		if (*s == '[') {
			g->array = true;
			s++;
			if (*s == '?') {
				char q;
				size_t k = 0;

				s++;
				if (jp_word(&s, g->fkey, sizeof(g->fkey), "a field name", why, n))
					return -EINVAL;
				if (strncmp(s, "==", 2)) {
					snprintf(why, n, "expected '==' after the field '%s'", g->fkey);
					return -EINVAL;
				}
				s += 2;
				q = *s == '\'' ? *s++ : 0;
				while (*s && (q ? *s != q : *s != ']') && k + 1 < sizeof(g->fval))
					g->fval[k++] = *s++;
				if (q && *s++ != q) {
					snprintf(why, n, "unterminated value of the filter on '%s'", g->fkey);
					return -EINVAL;
				}
				if (!k) {
					snprintf(why, n, "empty value of the filter on '%s'", g->fkey);
					return -EINVAL;
				}
			}
			if (*s++ != ']') {
				snprintf(why, n, "expected ']' after '%s['", g->key);
				return -EINVAL;
			}
		}
		if (!*s)
			break;
		if (*s++ != '.') {
			snprintf(why, n, "expected '.' or the end after '%s'", g->key);
			return -EINVAL;
		}
	}
	if (p->seg[p->nseg - 1].array) {
		snprintf(why, n, "the last key names the prefix field (a string), not an array");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------ address buffers */

int sl_addrs_parse(const char *name, const char *buf, size_t len,
		   struct sl_cidr **out, size_t *n, struct sl_diags *d)
{
	struct sl_ruleset rs;
	struct pctx c;
	struct dlist dl;
	int e = 0;

	memset(&rs, 0, sizeof(rs));
	memset(&c, 0, sizeof(c));
	memset(&dl, 0, sizeof(dl));
	c.rs = &rs;
	c.d = d;
	*out = NULL;
	*n = 0;
	sl__parse_addr_list(&c, sl__intern(&c, name), buf, len, &dl);
	for (size_t i = 0; i < dl.nh && !c.stop; i++)
		ERR(&c, dl.h[i].h.pos, "a URL set holds addresses, prefixes and ranges",
		    "host name '%s%s' in an address list", dl.h[i].h.wildcard ? "*." : "",
		    dl.h[i].h.name);
	if (c.nerr || c.stop) {
		e = c.stop && !c.nerr ? -ENOMEM : -EINVAL;
	} else if (dl.nc) {
		*out = malloc(dl.nc * sizeof(**out));
		if (!*out)
			e = -ENOMEM;
		for (size_t i = 0; *out && i < dl.nc; i++) {
			(*out)[i] = dl.c[i].c;
			(*out)[i].pos.file = NULL;      /* the interned names go below */
		}
		if (*out)
			*n = dl.nc;
	}
	sl__dlist_free(&dl);
	for (size_t i = 0; i < rs.nfiles; i++)
		free(rs.files[i]);
	free(rs.files);
	return e;
}

/* ------------------------------------------------------------ statement */

/* "6h", "30m", "2s", "1d" -> seconds; 0 if bad. */
static uint32_t duration(const struct tok *t)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < t->len && isdigit((unsigned char)t->s[i]) && v < 100000000)
		v = v * 10 + (uint64_t)(t->s[i++] - '0');
	if (i == 0 || i + 1 != t->len)
		return 0;
	switch (t->s[i]) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return 0;
	}
	return v > 0 && v <= 366 * 86400ull ? (uint32_t)v : 0;
}

/* N, N%, NK, NM: -1 if bad. */
static long long number(const struct tok *t, char suffix_ok)
{
	long long v = 0;
	size_t i = 0;

	while (i < t->len && isdigit((unsigned char)t->s[i]) && v < 100000000000ll)
		v = v * 10 + (t->s[i++] - '0');
	if (i == 0)
		return -1;
	if (i == t->len)
		return v;
	if (i + 1 != t->len)
		return -1;
	if (suffix_ok == '%' && t->s[i] == '%')
		return v;
	if (suffix_ok == 'M' && (t->s[i] == 'K' || t->s[i] == 'k'))
		return v << 10;
	if (suffix_ok == 'M' && (t->s[i] == 'M' || t->s[i] == 'm'))
		return v << 20;
	return -1;
}

static char *str_of(struct pctx *c, const struct tok *t)
{
	char *s = strndup(t->s, t->len);

	if (!s)
		sl__oom(c);
	return s;
}

/* One option after the URL; false after an error (the statement is skipped). */
static bool url_opt(struct pctx *c, struct lexer *lx, const struct tok *o, struct sl_feed *f)
{
	struct tok v = lex_next(lx);
	long long x;

	if (weq(o, "insecure-http")) {
		f->insecure_http = true;
		lx->peek = v;
		lx->has_peek = true;
		return true;
	}
	if (weq(o, "refresh")) {
		f->refresh_s = duration(&v);
		if (f->refresh_s)
			return true;
		ERR(c, v.pos, "a duration is a number and s, m, h or d: refresh 6h",
		    "bad refresh interval %s", TD(v));
	} else if (weq(o, "ca")) {
		char *rel;

		if (v.type == T_STR && v.len && !memchr(v.s, 0, v.len)) {
			rel = str_of(c, &v);
			free(f->ca);
			f->ca = rel ? sl__join_rel(lx->file, lx->is_buffer, rel) : NULL;
			free(rel);
			return f->ca != NULL;
		}
		ERR(c, v.pos, "write ca \"vendor-ca.pem\" (relative to this file)",
		    "expected a quoted CA file after 'ca', found %s", TD(v));
	} else if (weq(o, "max-shrink")) {
		x = v.type == T_WORD ? number(&v, '%') : -1;
		if (x >= 0 && x <= 100) {
			f->max_shrink = (uint32_t)x;
			return true;
		}
		ERR(c, v.pos, "write max-shrink 25% (0% refuses any shrink, 100% allows all)",
		    "bad max-shrink %s", TD(v));
	} else if (weq(o, "min-entries")) {
		x = v.type == T_WORD ? number(&v, 0) : -1;
		if (x >= 1 && x <= 10000000) {
			f->min_entries = (uint32_t)x;
			return true;
		}
		ERR(c, v.pos, "write min-entries 10 (at least 1)", "bad min-entries %s", TD(v));
	} else if (weq(o, "max-size")) {
		x = v.type == T_WORD ? number(&v, 'M') : -1;
		if (x >= 1024 && x <= (256ll << 20)) {
			f->max_size = (uint32_t)x;
			return true;
		}
		ERR(c, v.pos, "write max-size 16M (1K to 256M)", "bad max-size %s", TD(v));
	} else if (weq(o, "format")) {
		if (weq(&v, "text")) {
			f->format = SL_FEED_TEXT;
			return true;
		}
		if (weq(&v, "json")) {
			struct tok p = lex_next(lx);
			struct sl_jpath jp;
			char why[128];

			f->format = SL_FEED_JSON;
			if (p.type != T_STR) {
				ERR(c, p.pos, "write format json \"prefixes[].ip_prefix\"",
				    "expected the quoted path of the prefixes after 'json', found %s",
				    TD(p));
				sl__recover_top(lx, &p);
				return false;
			}
			free(f->json_path);
			f->json_path = str_of(c, &p);
			if (!f->json_path)
				return false;
			if (!sl_jpath_parse(f->json_path, &jp, why, sizeof(why)))
				return true;
			ERR(c, p.pos, "a path is KEY.KEY[].FIELD, with at most one [?FIELD=='VALUE'] "
			    "per array: \"prefixes[?service=='AMAZON'].ip_prefix\"",
			    "bad JSON path \"%s\": %s", f->json_path, why);
			return false;
		}
		ERR(c, v.pos, "write format text (an address list) or format json \"PATH\"",
		    "expected 'text' or 'json' after 'format', found %s", TD(v));
	} else {
		static const char *const kw[] = { "refresh", "ca", "max-shrink", "min-entries",
						  "max-size", "format", "insecure-http", NULL };
		char sug[64];
		const char *hint = o->type == T_WORD ? sl__suggest(o->s, o->len, kw, sug, sizeof(sug))
						    : NULL;

		ERR(c, o->pos, hint ? hint : "options: refresh, ca, max-shrink, min-entries, max-size, "
		    "format, insecure-http", "expected an option of the URL set or ';', found %s", TD(*o));
	}
	sl__recover_top(lx, &v);
	return false;
}

/* Read the last good copy into @dl, or say why there is none. */
static void load_copy(struct pctx *c, struct sl_feed *f, struct dlist *dl)
{
	char *path = NULL, *buf = NULL, hint[512];
	const char *dir = sl_feed_dir();
	size_t len = 0, before = dl->nc;
	int err;

	if (asprintf(&path, "%s/%s.list", dir, f->key) < 0) {
		sl__oom(c);
		return;
	}
	err = sl__read_rec(c->reads, path, &buf, &len);     /* read stably, as every file */
	c->feed_missing |= err != 0;
	if (err == -ENOENT && feed_missing_ok) {
		free(path);
		return;
	}
	if (err) {
		snprintf(hint, sizeof(hint), "run `sluice fetch %s%s%s` to fetch it (the cache is %s)",
			 c->stack_disp[0] ? c->stack_disp[0] : "FILE",
			 feed_dir_opt ? " --feed-dir " : "", feed_dir_opt ? feed_dir_opt : "", dir);
		if (err == -ENOENT)
			ERR(c, f->url_pos, hint, "URL set '%s' has no good copy of %s yet", f->name,
			    f->url);
		else
			ERR(c, f->url_pos, hint, "URL set '%s': cannot read its last good copy '%s': %s",
			    f->name, path, sl__file_strerror(err));
		free(path);
		return;
	}
	sl__parse_addr_list(c, sl__intern(c, path), buf, len, dl);
	f->has_copy = true;
	f->nentries = dl->nc - before;
	free(buf);
	free(path);
}

/* After `set NAME url`: the URL, the options, ';'; the copy into @dl. */
void sl__parse_url_set(struct pctx *c, struct lexer *lx, const char *name, struct sl_pos pos,
		       struct dlist *dl)
{
	struct tok u = lex_next(lx);
	struct sl_feed f;

	memset(&f, 0, sizeof(f));
	f.refresh_s = SL_FEED_REFRESH_DEFAULT;
	f.max_shrink = SL_FEED_SHRINK_DEFAULT;
	f.min_entries = 1;
	f.max_size = SL_FEED_SIZE_DEFAULT;
	f.pos = pos;
	f.url_pos = u.pos;
	if (u.type != T_STR) {
		ERR(c, u.pos, "write set NAME url \"https://vendor.example/list.txt\";",
		    "expected a quoted URL after 'url', found %s", TD(u));
		sl__recover_top(lx, &u);
		return;
	}
	if (!(f.name = strdup(name)) || !(f.url = str_of(c, &u))) {
		sl__oom(c);
		goto bad;
	}
	for (;;) {
		struct tok o = lex_next(lx);

		if (o.type == T_SEMI)
			break;
		if (o.type == T_EOF) {
			ERR(c, o.pos, NULL, "expected ';' after the URL set '%s', found end of file", name);
			goto bad;
		}
		if (!url_opt(c, lx, &o, &f))
			goto bad;
	}
	bool https = !strncmp(f.url, "https://", 8), http = !strncmp(f.url, "http://", 7);

	if (!https && !(http && f.insecure_http)) {
		ERR(c, u.pos, http ? "sluice fetches over HTTPS; write insecure-http after the URL "
		    "only for a server you trust on a network you trust"
		    : "write the full URL: \"https://vendor.example/list.txt\"",
		    "URL set '%s': %s is not an https:// URL", name, TD(u));
		goto bad;
	}
	if (strlen(f.url) < (https ? 9u : 8u) || strpbrk(f.url, " \t\r\n")) {
		ERR(c, u.pos, NULL, "URL set '%s': bad URL %s", name, TD(u));
		goto bad;
	}
	if (f.refresh_s < 60)
		WARN(c, f.url_pos, "vendors ask for hourly polling or less; short intervals are for tests",
		     "URL set '%s' refreshes every %u s", name, f.refresh_s);
	sl_feed_make_key(&f);
	load_copy(c, &f, dl);
	if (GROW(c, c->rs->feeds, c->cfeeds, c->rs->nfeeds))
		goto bad;
	c->rs->feeds[c->rs->nfeeds++] = f;
	return;
bad:
	sl_feed_free(&f);
}
