/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse_int.h - internals shared by parse.c (lexer, parser, public API)
 * and resolve.c (addresses, ranges, ports, lints).  Not a public API.
 */
#ifndef SL_PARSE_INT_H
#define SL_PARSE_INT_H

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
	size_t cfiles, cresolvers;
	/* include stack: display names and real paths (NULL for a buffer) */
	const char *stack_disp[SL_MAX_INCLUDE_DEPTH + 2];
	char *stack_real[SL_MAX_INCLUDE_DEPTH + 2];
	int depth;
	const char *cur_set;    /* name of the set being defined */
	struct sl_pos policy_pos, mode_pos, control_pos;
};

/* parse.c */
void sl__diag(struct pctx *c, enum sl_sev sev, struct sl_pos pos,
	      const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void sl__oom(struct pctx *c);
void sl__dlist_free(struct dlist *dl);
int sl__add_cidr(struct pctx *c, struct dlist *dl, const struct bcidr *b);

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

/* resolve.c */
/* Parse an IPv4 or IPv6 address (no prefix).  0 or -1. */
int sl__addr(const char *s, size_t n, uint8_t *fam, uint8_t addr[16]);
/* "a.b.c.d/nn" for messages; buf >= 64. */
const char *sl__fmt_cidr(const struct sl_cidr *c, char *buf, size_t n);
const char *sl__fmt_addr(uint8_t fam, const uint8_t *addr, char *buf, size_t n);
bool sl__host_bits(const struct sl_cidr *c);
void sl__mask(struct sl_cidr *c);
int sl__cmp_addr(uint8_t fam, const uint8_t *a, const uint8_t *b);
/* Split [lo, hi] (same family, lo <= hi) into the minimal set of CIDRs. */
int sl__range_split(struct pctx *c, struct dlist *dl, uint8_t fam,
		    const uint8_t lo[16], const uint8_t hi[16],
		    struct sl_pos pos, uint32_t seq, uint32_t origin);
/*
 * Check a host name ("zoom.us", "*.zoom.us", trailing dot allowed) and
 * return it lower-cased without "*." / trailing dot in @out (malloc'd).
 * On error returns -1 and a reason in @why.
 */
int sl__host(const char *s, size_t n, char **out, bool *wildcard,
	     char *why, size_t whylen);
/* Sort, merge; returns the new count (0 if the list covers every port). */
size_t sl__ports_normalize(struct sl_port_range *v, size_t n);
/* Sort @dl, drop exact duplicates (warning), warn on nested prefixes. */
void sl__lint_list(struct pctx *c, struct dlist *dl, const char *kind,
		   const char *name, struct sl_pos pos);
/* Move the builder lists into rs->rules[].dsts/hosts. */
int sl__finalize(struct pctx *c);
/* Cross-rule lints: overlaps, shadowed rules, host-name notice. */
void sl__lint_rules(struct pctx *c);

#endif
