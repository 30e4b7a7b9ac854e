/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resolve.h - destinations (resolve.c).  Internal to user/front.
 */
#ifndef SL_FRONT_RESOLVE_H
#define SL_FRONT_RESOLVE_H

#include "front/lexer.h"

enum dst_where { W_RULE, W_SET, W_FILE };

/*
 * One destination starting at the consumed WORD @t: address, prefix,
 * range (A-B, A - B, A- B, A -B), host name, *.domain, and in rules and
 * sets also @set, any, file "x".  May consume more tokens.
 */
int sl__parse_dst(struct pctx *c, struct lexer *lx, const struct tok *t,
		  struct dlist *dl, enum dst_where where);
/* Move the builder lists into rs->rules[].dsts/hosts. */
/* Parse one address (no prefix) from a word, with an error if it is bad. */
int sl__addr_or_err(struct pctx *c, const char *s, size_t n, struct sl_pos pos,
		    uint8_t *fam, uint8_t *addr);
/* Read the address file named by the string token @str into @dl. */
int sl__load_addr_file(struct pctx *c, struct lexer *lx, const struct tok *str,
		       struct dlist *dl);
int sl__finalize(struct pctx *c);
/* An address-list buffer (a file's text, a URL set's copy) into @dl. */
void sl__parse_addr_list(struct pctx *c, const char *file, const char *buf,
			 size_t len, struct dlist *dl);

#endif
