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

struct lexer;
struct tok;
/* `rule NAME { ... }` after the keyword (parse.c); `require NAME { ... }` (require.c). */
void sl__parse_rule(struct pctx *c, struct lexer *lx);
void sl__parse_require(struct pctx *c, struct lexer *lx);
/* After sl__finalize: move the requirements out of rs->rules into rs->reqs (require.c). */
int sl__require_extract(struct pctx *c);

/* parse_log.c: `log drops|none|all;`, `log rate N;`, `log snap N;` (after the keyword @kw),
 * and `log;` inside rule @ri. */
void sl__parse_log(struct pctx *c, struct lexer *lx, const struct tok *kw);
void sl__parse_rule_log(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *kw);

/* feedset.c: after `set NAME url`, the rest of the statement; the set's
 * last good copy goes into @dl. */
struct dlist;
void sl__parse_url_set(struct pctx *c, struct lexer *lx, const char *name, struct sl_pos pos,
		       struct dlist *dl);

#endif
