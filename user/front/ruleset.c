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
		if (sl__finalize(c) == 0)
			sl__lint_rules(c);
	}
	ctx_free(c);
	if (c->nerr || c->stop) {
		sl_ruleset_free(c->rs);
		return -EINVAL;
	}
	return 0;
}

int sl_ruleset_parse(const char *name, const char *text, size_t len,
		     struct sl_ruleset *rs, struct sl_diags *d)
{
	struct pctx c;
	const char *file;

	ctx_init(&c, rs, d);
	file = sl__intern(&c, name ? name : "<input>");
	c.stack_disp[0] = file;
	sl__parse_buf(&c, file, true, text ? text : "", text ? len : 0);
	return finish(&c);
}

int sl_ruleset_load(const char *path, struct sl_ruleset *rs, struct sl_diags *d)
{
	struct sl_pos pos = { path, 0, 0 };
	struct pctx c;
	char *buf = NULL;
	size_t len = 0;
	int err;

	ctx_init(&c, rs, d);
	err = sl__read_file(path, &buf, &len);
	if (err) {
		sl_diag_add(d, SL_SEV_ERROR, pos, NULL, "cannot read rules file: %s", sl__file_strerror(err));
		memset(rs, 0, sizeof(*rs));
		return err;
	}
	const char *file = sl__intern(&c, path);
	c.stack_disp[0] = file;
	c.stack_real[0] = realpath(path, NULL);
	sl__parse_buf(&c, file, false, buf, len);
	free(buf);
	return finish(&c);
}

void sl_ruleset_free(struct sl_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];

		free(r->name);
		for (size_t j = 0; j < r->nlines; j++)
			free(r->lines[j].ports);
		free(r->lines);
		free(r->dsts);
		for (size_t j = 0; j < r->nhosts; j++)
			free(r->hosts[j].name);
		free(r->hosts);
	}
	free(rs->rules);
	free(rs->resolvers);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	memset(rs, 0, sizeof(*rs));
}
