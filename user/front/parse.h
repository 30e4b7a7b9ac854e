/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.h - the statement parser (parse.c).  Internal to user/front.
 */
#ifndef SL_FRONT_PARSE_H
#define SL_FRONT_PARSE_H

#include "front/ctx.h"

/* Parse one file's text (@is_buffer: the top-level buffer of sl_ruleset_parse). */
void sl__parse_buf(struct pctx *c, const char *file, bool is_buffer,
		   const char *buf, size_t len);

/* parse_log.c: `log drops|none|all;`, `log rate N;`, `log snap N;` (after the keyword @kw),
 * and `log;` inside rule @ri. */
struct lexer;
struct tok;
void sl__parse_log(struct pctx *c, struct lexer *lx, const struct tok *kw);
void sl__parse_rule_log(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *kw);

/* feedset.c: after `set NAME url`, the rest of the statement; the set's
 * last good copy goes into @dl. */
struct dlist;
void sl__parse_url_set(struct pctx *c, struct lexer *lx, const char *name, struct sl_pos pos,
		       struct dlist *dl);

#endif
