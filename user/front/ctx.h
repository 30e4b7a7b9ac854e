/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctx.h - the bottom of user/front (ctx.c): limits, the parse context and
 * the destination lists every stage builds, diagnostics and the name
 * tables.  Internal to user/front; the public API is sl.h.
 *
 * Who calls whom inside user/front (checked with nm; no cycles), top down:
 *   ruleset.c -> parse.c, resolve.c (sl__finalize), lint_rules.c, files.c
 *   parse.c   -> ports.c, resolve.c, lint.c, files.c, lexer.c
 *   ports.c   -> lexer.c, addr.c
 *   resolve.c -> lexer.c, files.c, addr.c
 *   lint.c, lint_rules.c -> addr.c
 *   every file -> ctx.c -> diag.c;   files.c, names.c: leaves
 * Each X.c includes X.h and the headers of what it calls; every header
 * includes at most ctx.h or lexer.h (lexer.h -> ctx.h -> sl.h).
 */
#ifndef SL_FRONT_CTX_H
#define SL_FRONT_CTX_H

#include "sl.h"

#define SL_MAX_INCLUDE_DEPTH 16    /* include nesting below the top file */
#define SL_MAX_ERRORS        50    /* then "too many errors", stop */
#define SL_LINT_MAX          20    /* warnings of one kind per rule/set */
#define SL_NAME_MAX          (SL_NAME_LEN - 1)
#define SL_WORD_MAX          255   /* longest address / host name word */
#define SL_WALK_MAX          512   /* enclosing prefixes looked at per prefix */

/* A resolved address with bookkeeping for the lints. */
struct bcidr {
	struct sl_cidr c;
	uint32_t seq;           /* order of appearance (first = smallest) */
	uint32_t origin;        /* 0: written in this rule/set; else set id + 1 */
};

struct bhost {
	struct sl_host h;       /* h.name owned */
	uint32_t seq;
	uint32_t origin;
};

struct dref {                   /* an @set reference in a list */
	uint32_t id;
	struct sl_pos pos;
};

/* The destinations of one rule or set while it is being built. */
struct dlist {
	struct bcidr *c;  size_t nc, cc;
	struct bhost *h;  size_t nh, ch;
	struct dref *refs; size_t nrefs, crefs;
};

struct pset {
	char *name;
	struct sl_pos pos;
	struct dlist d;
};

struct prule {                  /* builder side of rs->rules[i] */
	struct dlist d;
	size_t clines;          /* capacity of rs->rules[i].lines */
	struct sl_pos act_pos;  /* first allow/deny line */
	bool bad;               /* had an error: skip the end-of-rule checks */
	bool has_to;
	bool is_req;            /* a `require` statement (require.c), not a rule */
};

struct nent { const char *name; size_t idx; };
struct nmap { struct nent *v; size_t cap, n; };

struct pctx {
	struct sl_ruleset *rs;
	struct sl_diags *d;
	size_t nerr;
	bool stop;              /* too many errors or out of memory */
	uint32_t seq;
	struct pset *sets; size_t nsets, csets;
	struct nmap setmap;
	struct prule *pr; size_t crules, cpr;   /* capacity of rs->rules, pr */
	struct nmap rulemap;
	bool too_many_rules;
	size_t cfiles, cresolvers, cfeeds;
	bool feed_missing;      /* a URL set had no copy (feedset.c): empty rules are expected */
	/* include stack: display names and real paths (NULL for a buffer) */
	const char *stack_disp[SL_MAX_INCLUDE_DEPTH + 2];
	char *stack_real[SL_MAX_INCLUDE_DEPTH + 2];
	int depth;
	const char *cur_set;    /* name of the set being defined */
	struct sl_pos policy_pos, mode_pos, control_pos, host_pos;
	struct sl_pos log_pos, log_rate_pos, log_snap_pos;      /* `log ...;` (parse_log.c) */
	struct sl_freads *reads;        /* every file read, for the stable-read check (files.h) */
};

/* ctx.c */
void sl__diag(struct pctx *c, enum sl_sev sev, struct sl_pos pos,
	      const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void sl__oom(struct pctx *c);
/* diag.c: drop the diagnostics after the first @n (a parse that is retried). */
void sl__diag_truncate(struct sl_diags *d, size_t n, size_t nerrors, size_t nwarnings);

#define ERR(c, pos, hint, ...)  sl__diag((c), SL_SEV_ERROR, (pos), (hint), __VA_ARGS__)
#define WARN(c, pos, hint, ...) sl__diag((c), SL_SEV_WARNING, (pos), (hint), __VA_ARGS__)

#define GROW(ctx, p, cap, n) __extension__ ({                                 \
	int _r = 0;                                                           \
	if ((n) >= (cap)) {                                                   \
		size_t _nc = (cap) ? (cap) * 2 : 8;                           \
		while (_nc <= (n))                                            \
			_nc *= 2;                                             \
		__typeof__(p) _q = realloc((p), _nc * sizeof(*(p)));          \
		if (_q) { (p) = _q; (cap) = _nc; }                            \
		else { sl__oom(ctx); _r = -1; }                               \
	}                                                                     \
	_r; })

/* The file name interned in rs->files ("?" when out of memory). */
const char *sl__intern(struct pctx *c, const char *name);
/* Name tables (set and rule names): index or -1; 0 or -1 (out of memory). */
long sl__nmap_get(const struct nmap *m, const char *k);
int sl__nmap_put(struct pctx *c, struct nmap *m, const char *k, size_t idx);
void sl__dlist_free(struct dlist *dl);
int sl__add_cidr(struct pctx *c, struct dlist *dl, const struct bcidr *b);
/* Takes @name (malloc'd) also on failure. */
int sl__add_host(struct pctx *c, struct dlist *dl, char *name, bool wild,
		 struct sl_pos pos, uint32_t seq, uint32_t origin);

#endif
