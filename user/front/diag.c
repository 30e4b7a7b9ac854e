/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * diag.c - diagnostics: errors, warnings and notes with a source position
 * and an optional hint line.
 *
 * A diagnostic owns a copy of its position's file name, so the list stays
 * printable after the ruleset that produced it has been freed (a failed
 * sl_ruleset_load frees everything but the diagnostics).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "front/ctx.h"

void sl_diag_add(struct sl_diags *d, enum sl_sev sev, struct sl_pos pos,
		 const char *hint, const char *fmt, ...)
{
	struct sl_diag *g;
	char *msg = NULL;
	va_list ap;

	if (!d)
		return;
	/* Count first: an error must count even if we cannot store it. */
	if (sev == SL_SEV_ERROR)
		d->nerrors++;
	else if (sev == SL_SEV_WARNING)
		d->nwarnings++;

	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 16;
		struct sl_diag *v = realloc(d->v, nc * sizeof(*v));

		if (!v)
			return;
		d->v = v;
		d->cap = nc;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;

	g = &d->v[d->n];
	g->sev = sev;
	g->pos = pos;
	g->pos.file = pos.file ? strdup(pos.file) : NULL;
	g->msg = msg;
	g->hint = hint ? strdup(hint) : NULL;
	d->n++;
}

void sl__diag_truncate(struct sl_diags *d, size_t n, size_t nerrors, size_t nwarnings)
{
	if (!d)
		return;
	for (size_t i = n; i < d->n; i++) {
		free((char *)d->v[i].pos.file);
		free(d->v[i].msg);
		free(d->v[i].hint);
	}
	if (n < d->n)
		d->n = n;
	d->nerrors = nerrors;
	d->nwarnings = nwarnings;
}

static const char *sev_name(enum sl_sev s)
{
	switch (s) {
	case SL_SEV_ERROR:   return "error";
	case SL_SEV_WARNING: return "warning";
	default:             return "note";
	}
}

void sl_diag_print(const struct sl_diags *d, FILE *out)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_diag *g = &d->v[i];

		if (g->pos.file && g->pos.line > 0)
			fprintf(out, "%s:%d:%d: ", g->pos.file, g->pos.line, g->pos.col);
		else if (g->pos.file)
			fprintf(out, "%s: ", g->pos.file);
		fprintf(out, "%s: %s\n", sev_name(g->sev), g->msg);
		if (g->hint)
			fprintf(out, "  hint: %s\n", g->hint);
	}
}

void sl_diag_free(struct sl_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free((char *)d->v[i].pos.file);
		free(d->v[i].msg);
		free(d->v[i].hint);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
