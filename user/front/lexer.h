/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lexer.h - tokens of the rule language (lexer.c).  Internal to user/front.
 * The per-token helpers are inline: the parser calls them for every token.
 */
#ifndef SL_FRONT_LEXER_H
#define SL_FRONT_LEXER_H

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "front/ctx.h"

enum tok_type { T_EOF, T_WORD, T_STR, T_SEMI, T_COMMA, T_LBRACE, T_RBRACE, T_BAD };

struct tok {
	enum tok_type type;
	const char *s;          /* raw text; T_STR: the contents */
	size_t len;
	struct sl_pos pos;
	bool ws_before;
};

struct lexer {
	struct pctx *c;
	const char *file;       /* interned */
	bool is_buffer;         /* top-level buffer: includes relative to cwd */
	const char *buf, *p, *end, *lstart;
	int line;
	struct tok peek;
	bool has_peek;
};

static inline bool is_word(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == ':' || ch == '/' ||
	       ch == '*' || ch == '_' || ch == '-' || ch == '@' || ch == '%';
}

void sl__lex_init(struct lexer *lx, struct pctx *c, const char *file,
		  bool is_buffer, const char *buf, size_t len);
struct tok sl__lex_scan(struct lexer *lx);
/* Printable description of a token for "found X". */
const char *sl__tdesc(const struct tok *t, char *buf, size_t n);
#define TD(t) sl__tdesc(&(t), (char[64]){ 0 }, 64)
/* Error recovery: inside a block, skip to the next ';' (consumed) or '}' (left). */
void sl__recover_block(struct lexer *lx);
/* At top level, after the offending token @t has been consumed. */
void sl__recover_top(struct lexer *lx, const struct tok *t);
/* Inside a rule/set after the offending token was consumed. */
void sl__recover_after(struct lexer *lx, const struct tok *t);

static inline int col_of(const struct lexer *lx, const char *p)
{
	ptrdiff_t d = p - lx->lstart;

	return d >= INT_MAX ? INT_MAX : (int)d + 1;
}

static inline struct sl_pos pos_at(const struct lexer *lx, const char *p)
{
	struct sl_pos pos = { lx->file, lx->line, col_of(lx, p) };

	return pos;
}

static inline struct tok lex_peek(struct lexer *lx)
{
	if (!lx->has_peek) {
		lx->peek = sl__lex_scan(lx);
		lx->has_peek = true;
	}
	return lx->peek;
}

static inline struct tok lex_next(struct lexer *lx)
{
	if (lx->has_peek) {
		lx->has_peek = false;
		return lx->peek;
	}
	return sl__lex_scan(lx);
}

static inline bool weq(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->type == T_WORD && t->len == n && !memcmp(t->s, s, n);
}


#endif
