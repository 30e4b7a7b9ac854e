/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lexer.c - tokens of the rule language with their file:line:col, the
 * printable description of a token for messages, and error recovery
 * (skip to the next ';' or '}').
 */
#include <string.h>

#include "front/lexer.h"

void sl__lex_init(struct lexer *lx, struct pctx *c, const char *file,
		  bool is_buffer, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->c = c;
	lx->file = file;
	lx->is_buffer = is_buffer;
	lx->buf = lx->p = lx->lstart = buf;
	lx->end = buf + len;
	lx->line = 1;
}

struct tok sl__lex_scan(struct lexer *lx)
{
	const char *p = lx->p, *e = lx->end;
	struct tok t;
	bool ws = (p == lx->buf);

	for (; p < e; p++) {
		char ch = *p;

		if (ch == '\n') {
			lx->line++;
			lx->lstart = p + 1;
		} else if (ch == '#') {
			while (p + 1 < e && p[1] != '\n')
				p++;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\f' && ch != '\v') {
			break;
		}
		ws = true;
	}
	memset(&t, 0, sizeof(t));
	t.ws_before = ws;
	t.pos = pos_at(lx, p);
	t.s = p;
	if (p >= e) {
		t.type = T_EOF;
		lx->p = p;
		return t;
	}
	switch (*p) {
	case ';': t.type = T_SEMI;   p++; break;
	case ',': t.type = T_COMMA;  p++; break;
	case '{': t.type = T_LBRACE; p++; break;
	case '}': t.type = T_RBRACE; p++; break;
	case '"': {
		const char *q = p + 1;

		while (q < e && *q != '"' && *q != '\n')
			q++;
		if (q >= e || *q != '"') {
			ERR(lx->c, t.pos, "write the file name as \"name\" on one line",
			    "unterminated string (missing closing '\"')");
			t.type = T_BAD;
			p = q;
		} else {
			t.type = T_STR;
			t.s = p + 1;
			t.len = (size_t)(q - (p + 1));
			p = q + 1;
		}
		lx->p = p;
		return t;
	}
	default:
		if (is_word((unsigned char)*p)) {
			while (p < e && is_word((unsigned char)*p))
				p++;
			t.type = T_WORD;
		} else {
			unsigned char ch = (unsigned char)*p;

			if (ch >= 0x21 && ch < 0x7f)
				ERR(lx->c, t.pos, NULL, "unexpected character '%c'", ch);
			else if (ch == 0xef && e - p >= 3 && (unsigned char)p[1] == 0xbb &&
				 (unsigned char)p[2] == 0xbf) {
				ERR(lx->c, t.pos, "save the file as UTF-8 without a BOM (or plain ASCII)",
				    "a UTF-8 byte-order mark (EF BB BF)");
				p += 2;
			} else
				ERR(lx->c, t.pos, NULL, "unexpected byte 0x%02x", ch);
			t.type = T_BAD;
			p++;
		}
	}
	t.len = (size_t)(p - t.s);
	lx->p = p;
	return t;
}


/* Printable description of a token for "found X". */
const char *sl__tdesc(const struct tok *t, char *buf, size_t n)
{
	int max = 40;

	switch (t->type) {
	case T_EOF:    return "end of file";
	case T_SEMI:   return "';'";
	case T_COMMA:  return "','";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_BAD:    return "an invalid character";
	case T_STR:
		snprintf(buf, n, "\"%.*s%s\"", t->len > (size_t)max ? max : (int)t->len,
			 t->s, t->len > (size_t)max ? "..." : "");
		for (char *q = buf; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
				*q = '?';
		return buf;
	case T_WORD:
		snprintf(buf, n, "'%.*s%s'", t->len > (size_t)max ? max : (int)t->len,
			 t->s, t->len > (size_t)max ? "..." : "");
		return buf;
	}
	return "?";
}


/* Error recovery. */

/* Inside a block: skip to the next ';' (consumed) or '}' (left), or EOF. */
void sl__recover_block(struct lexer *lx)
{
	for (;;) {
		struct tok t = lex_peek(lx);

		if (t.type == T_EOF || t.type == T_RBRACE)
			return;
		lex_next(lx);
		if (t.type == T_SEMI)
			return;
	}
}

/* At top level, after the offending token @t has been consumed. */
void sl__recover_top(struct lexer *lx, const struct tok *t)
{
	int depth = 0;

	if (t->type == T_SEMI || t->type == T_EOF || t->type == T_RBRACE)
		return;
	if (t->type == T_LBRACE)
		depth = 1;
	for (;;) {
		struct tok u = lex_next(lx);

		if (u.type == T_EOF)
			return;
		if (u.type == T_LBRACE)
			depth++;
		else if (u.type == T_RBRACE) {
			if (depth <= 1)
				return;
			depth--;
		} else if (u.type == T_SEMI && depth == 0)
			return;
	}
}

/* Inside a rule/set after the offending token was consumed. */
void sl__recover_after(struct lexer *lx, const struct tok *t)
{
	if (t->type == T_SEMI || t->type == T_EOF)
		return;
	if (t->type == T_RBRACE) {
		/* Put nothing back: the caller sees the block as closed. */
		lx->peek = *t;
		lx->has_peek = true;
		return;
	}
	sl__recover_block(lx);
}
