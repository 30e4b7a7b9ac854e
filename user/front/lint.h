/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lint.h - the lints (lint.c: one list as it closes; lint_rules.c: across
 * rules once the ruleset is whole).  Internal to user/front.
 */
#ifndef SL_FRONT_LINT_H
#define SL_FRONT_LINT_H

#include "front/ctx.h"

/* Sort @dl, drop exact duplicates (warning), warn on nested prefixes. */
void sl__lint_list(struct pctx *c, struct dlist *dl, const char *kind,
		   const char *name, struct sl_pos pos);
/* Cross-rule lints: overlaps, shadowed rules, host-name notice. */
void sl__lint_rules(struct pctx *c);


#endif
