/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ruleset.c - the public sl_ruleset_* entry points (parse a buffer, load
 * a file, free): set up the context, parse, move the lists into the
 * ruleset, run the cross-rule lints, and give the caller everything or
 * nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/files.h"
#include "front/lint.h"
#include "front/parse.h"
#include "front/resolve.h"

static void ctx_free(struct pctx *c)
{
	for (size_t i = 0; i < c->nsets; i++) {
		free(c->sets[i].name);
		sl__dlist_free(&c->sets[i].d);
	}
	free(c->sets);
	for (size_t i = 0; i < c->rs->nrules && c->pr; i++)
		sl__dlist_free(&c->pr[i].d);
	free(c->pr);
	free(c->setmap.v);
	free(c->rulemap.v);
	for (int i = 0; i <= SL_MAX_INCLUDE_DEPTH + 1; i++)
		free(c->stack_real[i]);
}

static void ctx_init(struct pctx *c, struct sl_ruleset *rs, struct sl_diags *d)
{
	memset(rs, 0, sizeof(*rs));
	rs->policy = SL_POLICY_DROP;
	rs->mode = SL_MODE_ENFORCE;
	rs->control_pass = true;
	rs->log_drops = 1;
	rs->log_snap = SL_SNAP_DEFAULT;
	rs->log_rate = SL_LOG_RATE_DEFAULT;
	rs->host_pass = true;
	memset(c, 0, sizeof(*c));
	c->rs = rs;
	c->d = d;
}

static int finish(struct pctx *c)
{
	if (!c->nerr && !c->stop) {
		if (sl__finalize(c) == 0 && sl__require_extract(c) == 0)
			sl__lint_rules(c);
	}
	ctx_free(c);
	if (c->nerr || c->stop) {
		sl_ruleset_free(c->rs);
		return -EINVAL;
	}
	return 0;
}

struct src {                    /* the top of a ruleset: a file, or a buffer */
	const char *path, *name, *text;
	size_t len;
};

/* One parse of @s.  0, -EINVAL (rule errors), or a read's -errno. */
static int parse_once(const struct src *s, struct sl_ruleset *rs, struct sl_diags *d,
		      struct sl_freads *fr)
{
	struct pctx c;
	char *buf = NULL;
	size_t len = 0;
	int err;

	ctx_init(&c, rs, d);
	c.reads = fr;
	if (!s->path) {
		const char *file = sl__intern(&c, s->name ? s->name : "<input>");

		c.stack_disp[0] = file;
		sl__parse_buf(&c, file, true, s->text ? s->text : "", s->text ? s->len : 0);
		return finish(&c);
	}
	err = sl__read_rec(fr, s->path, &buf, &len);
	if (err) {
		struct sl_pos pos = { s->path, 0, 0 };

		sl_diag_add(d, SL_SEV_ERROR, pos, NULL, "cannot read rules file: %s", sl__file_strerror(err));
		ctx_free(&c);
		sl_ruleset_free(rs);
		return err;
	}
	const char *file = sl__intern(&c, s->path);
	c.stack_disp[0] = file;
	c.stack_real[0] = realpath(s->path, NULL);
	sl__parse_buf(&c, file, false, buf, len);
	free(buf);
	return finish(&c);
}

/*
 * A ruleset is read stably or not at all: a writer that rewrites one of its
 * files while it is read (`cat new > site.rules` truncates, then writes)
 * would give half a file, or an empty one, that parses without an error.
 * So every file read is stamped (size, times, inode), and the parse is
 * repeated until no file changed during it and none is younger than
 * SL_YOUNG_MS, looked at no sooner than SL_SETTLE_MS after the first read
 * (files.h); after SL_READ_TRIES it is refused.
 */
#define SL_READ_TRIES 5
static int parse_stable(const struct src *s, struct sl_ruleset *rs, struct sl_diags *d)
{
	size_t n0 = d ? d->n : 0, e0 = d ? d->nerrors : 0, w0 = d ? d->nwarnings : 0;
	int err = 0;

	for (int try = 1; ; try++) {
		struct sl_freads fr = {0};

		err = parse_once(s, rs, d, &fr);
		int stable = sl__freads_stable(&fr);

		sl__freads_free(&fr);
		if (stable)
			return err;
		if (!err)
			sl_ruleset_free(rs);
		sl__diag_truncate(d, n0, e0, w0);
		if (try == SL_READ_TRIES) {
			struct sl_pos pos = { s->path ? s->path : s->name, 0, 0 };

			sl_diag_add(d, SL_SEV_ERROR, pos,
				    "a writer is rewriting it (or one of its includes or address files) "
				    "in place; apply again when it is done, or have it write a new "
				    "file and rename it into place",
				    "the ruleset changed while it was read, %d times in a row: "
				    "nothing was applied", SL_READ_TRIES);
			memset(rs, 0, sizeof(*rs));
			return -EAGAIN;
		}
		struct timespec ts = { 0, 50000000L * try };

		nanosleep(&ts, NULL);
	}
}

int sl_ruleset_parse(const char *name, const char *text, size_t len,
		     struct sl_ruleset *rs, struct sl_diags *d)
{
	struct src s = { NULL, name, text, len };

	return parse_stable(&s, rs, d);
}

struct sl_rcheck {
	struct sl_freads fr;
};

int sl_ruleset_load_unsettled(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			      struct sl_rcheck **check)
{
	struct src s = { path, path, NULL, 0 };
	size_t n0 = d ? d->n : 0, e0 = d ? d->nerrors : 0, w0 = d ? d->nwarnings : 0;
	struct sl_rcheck *c = calloc(1, sizeof(*c));
	int err;

	*check = NULL;
	if (!c)
		return parse_stable(&s, rs, d);
	err = parse_once(&s, rs, d, &c->fr);
	if (!err && !c->fr.torn) {
		*check = c;
		return 0;
	}
	/* an error (maybe of a torn read) or a torn read: the whole stable read */
	sl__freads_free(&c->fr);
	free(c);
	if (!err)
		sl_ruleset_free(rs);
	sl__diag_truncate(d, n0, e0, w0);
	return parse_stable(&s, rs, d);
}

int sl_ruleset_settled(struct sl_rcheck *c)
{
	int ok;

	if (!c)
		return 1;
	ok = sl__freads_stable(&c->fr);
	sl__freads_free(&c->fr);
	free(c);
	return ok;
}

int sl_settle_check(void *settle)
{
	struct sl_settle *st = settle;

	st->changed = !sl_ruleset_settled(st->check);
	st->check = NULL;
	return !st->changed;
}

void sl_rcheck_free(struct sl_rcheck *c)
{
	if (c) {
		sl__freads_free(&c->fr);
		free(c);
	}
}

int sl_ruleset_load(const char *path, struct sl_ruleset *rs, struct sl_diags *d)
{
	struct src s = { path, path, NULL, 0 };

	return parse_stable(&s, rs, d);
}

static void rules_free(struct sl_rule *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_rule *r = &v[i];

		free(r->name);
		for (size_t j = 0; j < r->nlines; j++)
			free(r->lines[j].ports);
		free(r->lines);
		free(r->dsts);
		for (size_t j = 0; j < r->nhosts; j++)
			free(r->hosts[j].name);
		free(r->hosts);
	}
	free(v);
}

void sl_ruleset_free(struct sl_ruleset *rs)
{
	if (!rs)
		return;
	rules_free(rs->rules, rs->nrules);
	rules_free(rs->reqs, rs->nreqs);
	free(rs->resolvers);
	for (size_t i = 0; i < rs->nfeeds; i++)
		sl_feed_free(&rs->feeds[i]);
	free(rs->feeds);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	memset(rs, 0, sizeof(*rs));
}
