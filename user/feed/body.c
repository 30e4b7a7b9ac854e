// SPDX-License-Identifier: GPL-2.0-only
/*
 * body.c - a URL set's body -> a sorted list of prefixes (feed.h): the text
 * format through the front end's address-list parser (the format of
 * `file "x"`), the JSON format through jansson and a path (sl_jpath_parse);
 * the guards; the diff of two lists.  No I/O.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "feed/feed.h"

static const char *const reason_names[SL_FR__N] = {
	[SL_FR_NONE] = "none", [SL_FR_NETWORK] = "network", [SL_FR_TLS] = "tls",
	[SL_FR_HTTP] = "http_status", [SL_FR_REDIRECT] = "redirect",
	[SL_FR_TOO_LARGE] = "too_large", [SL_FR_EMPTY] = "empty", [SL_FR_PARSE] = "parse",
	[SL_FR_MIN_ENTRIES] = "min_entries", [SL_FR_SHRINK] = "shrink",
	[SL_FR_TOKEN] = "token_backwards", [SL_FR_STORE] = "store",
};

const char *sl_feed_reason_name(enum sl_feed_reason r)
{
	return (unsigned)r < SL_FR__N ? reason_names[r] : "?";
}

void sl_feed_list_free(struct sl_feed_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* CIDRs -> canonical strings, sorted, unique. */
static int list_of(const struct sl_cidr *c, size_t n, struct sl_feed_list *out)
{
	size_t k = 0;

	out->n = 0;
	out->v = n ? calloc(n, sizeof(*out->v)) : NULL;
	if (n && !out->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(c[i].family, c[i].addr, a, sizeof(a));
		if (asprintf(&out->v[i], "%s/%u", a, c[i].plen) < 0) {
			out->v[i] = NULL;
			out->n = n;
			sl_feed_list_free(out);
			return -ENOMEM;
		}
	}
	if (n)
		qsort(out->v, n, sizeof(*out->v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(out->v[k - 1], out->v[i])) {
			free(out->v[i]);
			continue;
		}
		out->v[k++] = out->v[i];
	}
	out->n = k;
	return 0;
}

/* An address-list text -> list; the first error in @why. */
static enum sl_feed_reason text_list(const struct sl_feed *f, const char *buf, size_t len,
				     struct sl_feed_list *out, char *why, size_t whycap)
{
	struct sl_diags d = {0};
	struct sl_cidr *c = NULL;
	size_t n = 0;
	int e = sl_addrs_parse(f->url, buf, len, &c, &n, &d);
	enum sl_feed_reason r = SL_FR_NONE;

	if (e) {
		const struct sl_diag *g = NULL;

		for (size_t i = 0; i < d.n && !g; i++)
			if (d.v[i].sev == SL_SEV_ERROR)
				g = &d.v[i];
		if (g)
			snprintf(why, whycap, "not an address list: line %d:%d: %s (%zu error%s)",
				 g->pos.line, g->pos.col, g->msg, d.nerrors, d.nerrors == 1 ? "" : "s");
		else
			snprintf(why, whycap, "cannot parse: %s", strerror(-e));
		r = SL_FR_PARSE;
	} else if (list_of(c, n, out)) {
		snprintf(why, whycap, "out of memory");
		r = SL_FR_PARSE;
	}
	free(c);
	sl_diag_free(&d);
	return r;
}

/* Append the strings that path segment @i onward names under @v to @b. */
static int jwalk(const struct sl_jpath *p, int i, json_t *v, char **b, size_t *bn,
		 char *why, size_t whycap)
{
	const struct sl_jseg *g = &p->seg[i];
	json_t *x = json_is_object(v) ? json_object_get(v, g->key) : NULL;

	if (!x)
		return 0;       /* absent here: nothing (a path that matches nothing is "empty") */
	if (!g->array) {
		if (i + 1 < p->nseg)
			return jwalk(p, i + 1, x, b, bn, why, whycap);
		if (!json_is_string(x)) {
			snprintf(why, whycap, "\"%s\" is not a string", g->key);
			return -EINVAL;
		}
		const char *s = json_string_value(x);
		size_t sl = strlen(s);
		char *nb = realloc(*b, *bn + sl + 2);

		if (!nb)
			return -ENOMEM;
		memcpy(nb + *bn, s, sl);
		nb[*bn + sl] = '\n';
		*bn += sl + 1;
		nb[*bn] = 0;
		*b = nb;
		return 0;
	}
	if (!json_is_array(x)) {
		snprintf(why, whycap, "\"%s\" is not an array", g->key);
		return -EINVAL;
	}
	size_t k;
	json_t *el;

	json_array_foreach(x, k, el) {
		if (g->fkey[0]) {
			json_t *fv = json_is_object(el) ? json_object_get(el, g->fkey) : NULL;

			if (!json_is_string(fv) || strcmp(json_string_value(fv), g->fval))
				continue;
		}
		int e = i + 1 < p->nseg ? jwalk(p, i + 1, el, b, bn, why, whycap) : 0;

		if (e)
			return e;
	}
	return 0;
}

static void json_token(json_t *root, char *token, size_t tokcap)
{
	static const char *const keys[] = { "syncToken", "createDate", NULL };

	token[0] = 0;
	for (int i = 0; keys[i]; i++) {
		json_t *t = json_object_get(root, keys[i]);

		if (json_is_string(t)) {
			snprintf(token, tokcap, "%s", json_string_value(t));
			return;
		}
		if (json_is_integer(t)) {
			snprintf(token, tokcap, "%lld", (long long)json_integer_value(t));
			return;
		}
	}
}

static enum sl_feed_reason json_list(const struct sl_feed *f, const char *body, size_t len,
				     struct sl_feed_list *out, char *token, size_t tokcap,
				     char *why, size_t whycap)
{
	struct sl_jpath p;
	json_error_t je;
	json_t *root;
	char *b = NULL, jwhy[160] = "";
	size_t bn = 0;
	enum sl_feed_reason r;
	int e;

	if (sl_jpath_parse(f->json_path ? f->json_path : "", &p, jwhy, sizeof(jwhy))) {
		snprintf(why, whycap, "bad JSON path: %s", jwhy);
		return SL_FR_PARSE;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(why, whycap, "not JSON: line %d:%d: %s", je.line, je.column, je.text);
		return SL_FR_PARSE;
	}
	json_token(root, token, tokcap);
	e = jwalk(&p, 0, root, &b, &bn, jwhy, sizeof(jwhy));
	json_decref(root);
	if (e) {
		snprintf(why, whycap, "JSON path \"%s\": %s", f->json_path,
			 e == -ENOMEM ? "out of memory" : jwhy);
		free(b);
		return SL_FR_PARSE;
	}
	r = text_list(f, b ? b : "", bn, out, why, whycap);
	free(b);
	return r;
}

enum sl_feed_reason sl_feed_body_parse(const struct sl_feed *f, const char *body, size_t len,
				       struct sl_feed_list *out, char *token, size_t tokcap,
				       char *why, size_t whycap)
{
	enum sl_feed_reason r;

	memset(out, 0, sizeof(*out));
	token[0] = 0;
	if (len == 0) {
		snprintf(why, whycap, "empty body");
		return SL_FR_EMPTY;
	}
	if (f->format == SL_FEED_JSON)
		r = json_list(f, body, len, out, token, tokcap, why, whycap);
	else
		r = text_list(f, body, len, out, why, whycap);
	if (r == SL_FR_NONE && out->n == 0) {
		snprintf(why, whycap, f->format == SL_FEED_JSON ? "no prefixes at \"%s\""
			 : "no addresses in the body%s", f->json_path ? f->json_path : "");
		return SL_FR_EMPTY;
	}
	if (r != SL_FR_NONE)
		sl_feed_list_free(out);
	return r;
}

int sl_feed_token_cmp(const char *a, const char *b)
{
	bool da = *a, db = *b;

	for (const char *p = a; *p; p++)
		da = da && isdigit((unsigned char)*p);
	for (const char *p = b; *p; p++)
		db = db && isdigit((unsigned char)*p);
	if (da && db) {
		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		if (strlen(a) != strlen(b))
			return strlen(a) < strlen(b) ? -1 : 1;
	}
	return strcmp(a, b);
}

enum sl_feed_reason sl_feed_guard(const struct sl_feed *f, const struct sl_feed_list *old,
				  const char *old_token, const struct sl_feed_list *neu,
				  const char *new_token, char *why, size_t whycap)
{
	if (neu->n < f->min_entries) {
		snprintf(why, whycap, "%zu entr%s, fewer than min-entries %u", neu->n,
			 neu->n == 1 ? "y" : "ies", f->min_entries);
		return SL_FR_MIN_ENTRIES;
	}
	if (old && old->n > neu->n) {
		uint64_t pct100 = (uint64_t)(old->n - neu->n) * 10000 / old->n;

		if (pct100 > (uint64_t)f->max_shrink * 100) {
			snprintf(why, whycap, "shrank from %zu to %zu entries (-%llu.%02llu%%), more than "
				 "max-shrink %u%%", old->n, neu->n, (unsigned long long)pct100 / 100,
				 (unsigned long long)pct100 % 100, f->max_shrink);
			return SL_FR_SHRINK;
		}
	}
	if (old_token && *old_token && new_token && *new_token &&
	    sl_feed_token_cmp(new_token, old_token) < 0) {
		snprintf(why, whycap, "token %s is older than the copy's %s (a stale mirror or a replay)",
			 new_token, old_token);
		return SL_FR_TOKEN;
	}
	return SL_FR_NONE;
}

void sl_feed_diff(const struct sl_feed_list *old, const struct sl_feed_list *neu,
		  size_t *added, size_t *removed)
{
	size_t i = 0, j = 0, on = old ? old->n : 0;

	*added = *removed = 0;
	while (i < on || j < neu->n) {
		int c = i >= on ? 1 : j >= neu->n ? -1 : strcmp(old->v[i], neu->v[j]);

		if (c < 0) {
			(*removed)++;
			i++;
		} else if (c > 0) {
			(*added)++;
			j++;
		} else {
			i++;
			j++;
		}
	}
}
