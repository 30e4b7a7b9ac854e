// SPDX-License-Identifier: GPL-2.0-only
/*
 * diaglog.c - sluice run's log: its lines (sl_run_log, run.h) and a rules
 * file's diagnostics (diaglog.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "daemon/diaglog.h"
#include "daemon/run.h"

void sl_run_log(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* Severity and text, not position: a warning that moved down a line is the same warning. */
static uint64_t warn_fp(const struct sl_diags *d)
{
	uint64_t h = 1469598103934665603ULL;    /* FNV-1a */

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].sev != SL_SEV_WARNING)
			continue;
		for (const char *p = d->v[i].msg; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

void sl_run_log_diags(const char *file, const struct sl_diags *d, uint64_t *fp)
{
	bool quiet = d->nwarnings && warn_fp(d) == *fp;

	if (quiet)
		sl_run_log("%s: %zu warning%s, as at the last load (sluice check %s lists them)", file,
			   d->nwarnings, d->nwarnings == 1 ? "" : "s", file);
	else
		*fp = warn_fp(d);
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_diag *g = &d->v[i];
		char at[32] = "";

		if (g->sev == SL_SEV_NOTE || (quiet && g->sev == SL_SEV_WARNING))
			continue;
		if (g->pos.line > 0)    /* no position: a file that cannot be read */
			snprintf(at, sizeof(at), ":%d:%d", g->pos.line, g->pos.col);
		sl_run_log("%s%s: %s: %s%s%s%s", g->pos.file ? g->pos.file : file, at,
			   g->sev == SL_SEV_ERROR ? "error" : "warning", g->msg,
			   g->hint ? " (" : "", g->hint ? g->hint : "", g->hint ? ")" : "");
	}
}
