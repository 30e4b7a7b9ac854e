/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.c - the rule language (DESIGN.md section 2, docs/rules.md): the
 * recursive-descent parser of statements (rule, set, include, policy,
 * mode, control, resolvers).  Tokens come from lexer.c, destinations are
 * resolved by resolve.c, allow/deny lines are parsed by ports.c, and the
 * lists of a set or rule are checked by lint.c when it closes.
 *
 * One pass: statements are resolved as they are read (a set must be
 * defined before it is used, includes expand in place), so the parser
 * fills the ruleset directly.  Errors are reported with file:line:col
 * and parsing resumes at the next ';' (or '}'), so one run reports
 * several errors; any error means the caller gets nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "front/addr.h"
#include "front/files.h"
#include "front/suggest.h"
#include "front/lint.h"
#include "front/parse.h"
#include "front/ports.h"
#include "front/resolve.h"

/* ------------------------------------------------------------------ names */

static char *take_name(struct pctx *c, const struct tok *t, const char *what,
		       const char *after)
{
	char hint[128];
	bool upper = false, ok = true;

	if (t->type != T_WORD) {
		ERR(c, t->pos, NULL, "expected a %s name after '%s', found %s",
		    what, after, TD(*t));
		return NULL;
	}
	if (t->len > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "%s name '%.40s...' is too long (%zu characters; at most %d)",
		    what, t->s, t->len, SL_NAME_MAX);
		return NULL;
	}
	for (size_t i = 0; i < t->len; i++) {
		unsigned char ch = (unsigned char)t->s[i];

		if (ch >= 'A' && ch <= 'Z')
			upper = true;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			   (i > 0 && (ch == '_' || ch == '-'))))
			ok = false;
	}
	if (upper || !ok) {
		if (upper && ok) {
			int n = snprintf(hint, sizeof(hint), "write '");
			for (size_t i = 0; i < t->len && n < (int)sizeof(hint) - 2; i++)
				hint[n++] = (char)tolower((unsigned char)t->s[i]);
			hint[n++] = '\'';
			hint[n] = 0;
		} else {
			snprintf(hint, sizeof(hint),
				 "names are lower-case letters, digits, '_' and '-', "
				 "starting with a letter or digit");
		}
		ERR(c, t->pos, hint, "bad %s name '%.*s'", what, (int)t->len, t->s);
		return NULL;
	}
	char *s = strndup(t->s, t->len);
	if (!s)
		sl__oom(c);
	return s;
}

/* ------------------------------------------------------------ statements */

/* policy / mode / control: KEYWORD VALUE ; */
static void parse_choice(struct pctx *c, struct lexer *lx, const struct tok *kw,
			 const char *a, const char *b, int *val, struct sl_pos *seen)
{
	struct tok t = lex_next(lx);
	int v;

	if (weq(&t, a))
		v = 0;
	else if (weq(&t, b))
		v = 1;
	else {
		ERR(c, t.pos, NULL, "expected '%s' or '%s' after '%.*s', found %s",
		    a, b, (int)kw->len, kw->s, TD(t));
		sl__recover_top(lx, &t);
		return;
	}
	struct tok u = lex_next(lx);
	if (u.type != T_SEMI) {
		ERR(c, u.pos, NULL, "expected ';' after '%.*s %.*s', found %s",
		    (int)kw->len, kw->s, (int)t.len, t.s, TD(u));
		sl__recover_top(lx, &u);
		return;
	}
	if (seen->line && *val != v) {
		ERR(c, kw->pos, "a ruleset has one such statement",
		    "'%.*s %.*s' conflicts with '%.*s %s' at %s:%d:%d",
		    (int)kw->len, kw->s, (int)t.len, t.s, (int)kw->len, kw->s,
		    *val ? b : a, seen->file, seen->line, seen->col);
		return;
	}
	*val = v;
	*seen = kw->pos;
}

static void parse_include(struct pctx *c, struct lexer *lx, const struct tok *kw)
{
	struct tok t = lex_next(lx), u;
	char *rel = NULL, *path = NULL, *real = NULL, *buf = NULL;
	size_t len = 0;
	int err;

	if (t.type != T_STR) {
		ERR(c, t.pos, "write include \"other.rules\";",
		    "expected a quoted file name after 'include', found %s", TD(t));
		sl__recover_top(lx, &t);
		return;
	}
	u = lex_next(lx);
	if (u.type != T_SEMI) {
		ERR(c, u.pos, NULL, "expected ';' after the include file name, found %s", TD(u));
		sl__recover_top(lx, &u);
		return;
	}
	if (t.len == 0 || memchr(t.s, 0, t.len)) {
		ERR(c, t.pos, NULL, "bad file name %s", TD(t));
		return;
	}
	rel = strndup(t.s, t.len);
	path = rel ? sl__join_rel(lx->file, lx->is_buffer, rel) : NULL;
	free(rel);
	if (!path) {
		sl__oom(c);
		return;
	}
	if (c->depth >= SL_MAX_INCLUDE_DEPTH) {
		ERR(c, kw->pos, NULL, "includes nested too deeply (more than %d levels) at '%s'",
		    SL_MAX_INCLUDE_DEPTH, path);
		goto out;
	}
	real = realpath(path, NULL);
	if (!real) {
		ERR(c, t.pos, "include paths are relative to the including file",
		    "cannot read include file '%s': %s", path, strerror(errno));
		goto out;
	}
	for (int i = 0; i <= c->depth; i++) {
		if (c->stack_real[i] && !strcmp(c->stack_real[i], real)) {
			char chain[1024];
			int n = 0;

			for (int j = i; j <= c->depth && n < (int)sizeof(chain); j++)
				n += snprintf(chain + n, sizeof(chain) - (size_t)n, "%s -> ",
					      c->stack_disp[j]);
			if (n < (int)sizeof(chain))
				snprintf(chain + n, sizeof(chain) - (size_t)n, "%s", path);
			ERR(c, t.pos, NULL, "include cycle: %s", chain);
			goto out;
		}
	}
	err = sl__read_rec(c->reads, path, &buf, &len);
	if (err) {
		ERR(c, t.pos, NULL, "cannot read include file '%s': %s", path, sl__file_strerror(err));
		goto out;
	}
	const char *disp = sl__intern(c, path);
	c->depth++;
	c->stack_disp[c->depth] = disp;
	c->stack_real[c->depth] = real;
	real = NULL;
	sl__parse_buf(c, disp, false, buf, len);
	free(c->stack_real[c->depth]);
	c->stack_real[c->depth] = NULL;
	c->depth--;
out:
	free(real);
	free(path);
	free(buf);
}

/* Add one resolver address (a /32 or /128), warning about duplicates. */
static int add_resolver(struct pctx *c, const struct sl_cidr *r, const char *txt, int len)
{
	struct sl_ruleset *rs = c->rs;

	for (size_t i = 0; i < rs->nresolvers; i++) {
		const struct sl_cidr *o = &rs->resolvers[i];

		if (o->family == r->family && !memcmp(o->addr, r->addr, 16)) {
			WARN(c, r->pos, NULL, "resolver %.*s is listed twice; first at %s:%d:%d",
			     len, txt, o->pos.file, o->pos.line, o->pos.col);
			return 0;
		}
	}
	if (GROW(c, rs->resolvers, c->cresolvers, rs->nresolvers))
		return -1;
	rs->resolvers[rs->nresolvers++] = *r;
	return 0;
}

/* "resolvers @set;": the set's addresses, so they are written in one place. */
static void resolvers_from_set(struct pctx *c, const struct tok *t)
{
	char name[SL_NAME_MAX + 1];
	size_t n = t->len - 1;
	long id;

	if (n == 0 || n > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "bad set reference %s", TD(*t));
		return;
	}
	memcpy(name, t->s + 1, n);
	name[n] = 0;
	id = sl__nmap_get(&c->setmap, name);
	if (id < 0) {
		ERR(c, t->pos, NULL, "unknown set '@%s' (sets must be defined before they are used)", name);
		return;
	}
	for (size_t i = 0; i < c->sets[id].d.nc; i++) {
		struct sl_cidr r = c->sets[id].d.c[i].c;
		char a[64];

		inet_ntop(r.family, r.addr, a, sizeof(a));
		if (r.plen != (r.family == AF_INET ? 32 : 128)) {
			ERR(c, t->pos, "resolvers are addresses: give the set single addresses",
			    "set '@%s' holds the prefix %s/%u, not an address", name, a, r.plen);
			continue;
		}
		r.pos = t->pos;
		if (add_resolver(c, &r, a, (int)strlen(a)))
			return;
	}
}

static void parse_resolvers(struct pctx *c, struct lexer *lx)
{
	for (;;) {
		struct tok t = lex_next(lx);
		struct sl_cidr r;

		memset(&r, 0, sizeof(r));
		if (t.type == T_WORD && t.len > 1 && t.s[0] == '@') {
			resolvers_from_set(c, &t);
		} else if (t.type != T_WORD) {
			ERR(c, t.pos, NULL, "expected a DNS server address, found %s", TD(t));
			sl__recover_top(lx, &t);
			return;
		} else if (memchr(t.s, '/', t.len)) {
			ERR(c, t.pos, "write the server's address, e.g. 192.0.2.53",
			    "resolvers are addresses, not prefixes: '%.*s'", (int)t.len, t.s);
		} else if (sl__addr_or_err(c, t.s, t.len, t.pos, &r.family, r.addr) == 0) {
			r.plen = r.family == AF_INET ? 32 : 128;
			r.pos = t.pos;
			if (add_resolver(c, &r, t.s, (int)t.len))
				return;
		}
		struct tok u = lex_next(lx);
		if (u.type == T_COMMA)
			continue;
		if (u.type == T_SEMI)
			return;
		ERR(c, u.pos, u.type == T_WORD ? "separate addresses with ','" : NULL,
		    "expected ',' or ';' after the resolver address, found %s", TD(u));
		sl__recover_top(lx, &u);
		return;
	}
}

static void parse_set(struct pctx *c, struct lexer *lx)
{
	struct tok t = lex_next(lx);
	char *name = take_name(c, &t, "set", "set");
	struct pset s;
	long prev;

	memset(&s, 0, sizeof(s));
	if (!name) {
		sl__recover_top(lx, &t);
		return;
	}
	s.name = name;
	s.pos = t.pos;
	prev = sl__nmap_get(&c->setmap, name);
	if (prev >= 0) {
		struct sl_pos p = c->sets[prev].pos;

		ERR(c, t.pos, "set names are unique", "set '%s' is already defined at %s:%d:%d",
		    name, p.file, p.line, p.col);
	}
	c->cur_set = name;

	struct tok o = lex_next(lx);
	if (weq(&o, "url")) {
		sl__parse_url_set(c, lx, name, t.pos, &s.d);
	} else if (weq(&o, "file")) {
		struct tok f = lex_next(lx), u;

		if (f.type != T_STR) {
			ERR(c, f.pos, "write set NAME file \"addresses.txt\";",
			    "expected a quoted file name after 'file', found %s", TD(f));
			sl__recover_top(lx, &f);
			goto done;
		}
		sl__load_addr_file(c, lx, &f, &s.d);
		u = lex_next(lx);
		if (u.type != T_SEMI) {
			ERR(c, u.pos, NULL, "expected ';' after the file name, found %s", TD(u));
			sl__recover_top(lx, &u);
		}
	} else if (o.type == T_LBRACE) {
		for (;;) {
			struct tok e = lex_next(lx);

			if (e.type == T_RBRACE)
				break;
			if (e.type == T_COMMA || e.type == T_BAD)
				continue;
			if (e.type == T_WORD) {
				sl__parse_dst(c, lx, &e, &s.d, W_SET);
				if (c->stop)
					break;
				continue;
			}
			if (e.type == T_STR) {
				ERR(c, e.pos, "write file \"name\" to read addresses from a file",
				    "unexpected string %s in set '%s'", TD(e), name);
				continue;
			}
			ERR(c, e.pos, NULL, "expected '}' to close set '%s' (opened at %d:%d), found %s",
			    name, o.pos.line, o.pos.col, TD(e));
			break;
		}
		if (lex_peek(lx).type == T_SEMI)
			lex_next(lx);
	} else {
		ERR(c, o.pos, "write set NAME { 192.0.2.0/24, ... };, set NAME file \"list.txt\"; "
		    "or set NAME url \"https://...\";",
		    "expected '{', 'file' or 'url' after the set name, found %s", TD(o));
		sl__recover_top(lx, &o);
	}
done:
	c->cur_set = NULL;
	sl__lint_list(c, &s.d, "set", name, t.pos);
	if (prev >= 0 || GROW(c, c->sets, c->csets, c->nsets) ||
	    sl__nmap_put(c, &c->setmap, name, c->nsets)) {
		sl__dlist_free(&s.d);
		free(name);
		return;
	}
	c->sets[c->nsets++] = s;
}

static void parse_to(struct pctx *c, struct lexer *lx, size_t ri)
{
	struct prule *pr = &c->pr[ri];
	bool first = true;

	pr->has_to = true;
	for (;;) {
		struct tok t = lex_next(lx);

		if (t.type != T_WORD) {
			ERR(c, t.pos, first ? "write `to any;` to match every destination" : NULL,
			    "expected a destination after '%s', found %s", first ? "to" : ",", TD(t));
			pr->bad = true;
			sl__recover_after(lx, &t);
			return;
		}
		first = false;
		if (sl__parse_dst(c, lx, &t, &pr->d, W_RULE))
			pr->bad = true;
		if (c->stop)
			return;
		struct tok u = lex_next(lx);
		if (u.type == T_COMMA)
			continue;
		if (u.type == T_SEMI)
			return;
		ERR(c, u.pos, u.type == T_WORD ? "separate destinations with ','" : NULL,
		    "expected ',' or ';' after the destination, found %s", TD(u));
		pr->bad = true;
		sl__recover_after(lx, &u);
		return;
	}
}

void sl__parse_rule(struct pctx *c, struct lexer *lx)
{
	struct sl_ruleset *rs = c->rs;
	struct tok t = lex_next(lx);
	char *name = take_name(c, &t, "rule", "rule");
	size_t ri;
	long prev;

	if (!name) {
		sl__recover_top(lx, &t);
		return;
	}
	prev = sl__nmap_get(&c->rulemap, name);
	if (prev >= 0) {
		struct sl_pos p = rs->rules[prev].pos;

		ERR(c, t.pos, "rule names are unique", "rule '%s' is already defined at %s:%d:%d",
		    name, p.file, p.line, p.col);
	}
	if (rs->nrules >= SL_MAX_RULES && !c->too_many_rules) {
		ERR(c, t.pos, NULL, "too many rules: sluice holds at most %d", SL_MAX_RULES);
		c->too_many_rules = true;
	}
	if (GROW(c, rs->rules, c->crules, rs->nrules) || GROW(c, c->pr, c->cpr, rs->nrules)) {
		free(name);
		return;
	}
	ri = rs->nrules++;
	memset(&rs->rules[ri], 0, sizeof(rs->rules[ri]));
	memset(&c->pr[ri], 0, sizeof(c->pr[ri]));
	rs->rules[ri].name = name;
	rs->rules[ri].pos = t.pos;
	if (prev < 0 && sl__nmap_put(c, &c->rulemap, name, ri))
		return;

	struct tok o = lex_next(lx);
	struct prule *pr;
	if (o.type != T_LBRACE) {
		ERR(c, o.pos, "write rule NAME { allow tcp 443; to 192.0.2.0/24; }",
		    "expected '{' after the rule name, found %s", TD(o));
		c->pr[ri].bad = true;
		sl__recover_top(lx, &o);
		return;
	}
	for (;;) {
		struct tok s = lex_next(lx);

		if (c->stop)
			return;
		if (s.type == T_RBRACE)
			break;
		if (s.type == T_EOF) {
			ERR(c, s.pos, NULL, "expected '}' to close rule '%s' (opened at %d:%d), found end of file",
			    name, o.pos.line, o.pos.col);
			c->pr[ri].bad = true;
			return;
		}
		if (weq(&s, "allow") || weq(&s, "deny")) {
			sl__parse_line(c, lx, ri, &s);
		} else if (weq(&s, "to")) {
			parse_to(c, lx, ri);
		} else if (weq(&s, "log")) {
			sl__parse_rule_log(c, lx, ri, &s);
		} else if (s.type == T_SEMI) {
			continue;
		} else {
			const char *hint = NULL;

			static const char *const kw[] = { "allow", "deny", "to", NULL };
			char sug[64];

			if (weq(&s, "rule") || weq(&s, "set") || weq(&s, "include"))
				hint = "is a '}' missing before it?";
			else if (weq(&s, "from") || weq(&s, "dst") || weq(&s, "dest"))
				hint = "destinations are written `to A, B;`";
			else if (s.type == T_WORD)
				hint = sl__suggest(s.s, s.len, kw, sug, sizeof(sug));
			if (s.type != T_BAD)
				ERR(c, s.pos, hint, "expected 'allow', 'deny', 'to', 'log' or '}' in rule '%s', found %s",
				    name, TD(s));
			c->pr[ri].bad = true;
			sl__recover_after(lx, &s);
		}
	}
	if (lex_peek(lx).type == T_SEMI)
		lex_next(lx);

	pr = &c->pr[ri];
	struct sl_rule *r = &rs->rules[ri];
	sl__lint_list(c, &pr->d, "rule", name, t.pos);
	if (pr->bad)
		return;
	if (r->nlines == 0)
		ERR(c, t.pos, "add a line such as `allow tcp 443;` or `deny any;`",
		    "rule '%s' has no allow or deny line", name);
	if (!pr->has_to)
		ERR(c, t.pos, "write `to any;` to match every destination",
		    "rule '%s' has no destinations (no `to` line)", name);
	else if (pr->d.nc == 0 && pr->d.nh == 0 && !c->feed_missing)
		WARN(c, t.pos, NULL, "rule '%s' matches nothing: its destination sets and files are empty",
		     name);
}

void sl__parse_buf(struct pctx *c, const char *file, bool is_buffer,
		   const char *buf, size_t len)
{
	struct lexer lx;
	int v;

	sl__lex_init(&lx, c, file, is_buffer, buf, len);
	while (!c->stop) {
		struct tok t = lex_next(&lx);

		if (t.type == T_EOF)
			break;
		if (t.type == T_SEMI)
			continue;
		if (weq(&t, "rule")) {
			sl__parse_rule(c, &lx);
		} else if (weq(&t, "require")) {
			sl__parse_require(c, &lx);
		} else if (weq(&t, "set")) {
			parse_set(c, &lx);
		} else if (weq(&t, "include")) {
			parse_include(c, &lx, &t);
		} else if (weq(&t, "resolvers")) {
			parse_resolvers(c, &lx);
		} else if (weq(&t, "policy")) {
			v = c->rs->policy == SL_POLICY_ALLOW;
			parse_choice(c, &lx, &t, "drop", "allow", &v, &c->policy_pos);
			c->rs->policy = v ? SL_POLICY_ALLOW : SL_POLICY_DROP;
		} else if (weq(&t, "mode")) {
			v = c->rs->mode == SL_MODE_AUDIT;
			parse_choice(c, &lx, &t, "enforce", "audit", &v, &c->mode_pos);
			c->rs->mode = v ? SL_MODE_AUDIT : SL_MODE_ENFORCE;
		} else if (weq(&t, "log")) {
			sl__parse_log(c, &lx, &t);
		} else if (weq(&t, "control")) {
			v = !c->rs->control_pass;
			parse_choice(c, &lx, &t, "pass", "filter", &v, &c->control_pos);
			c->rs->control_pass = !v;
		} else if (weq(&t, "host")) {
			v = !c->rs->host_pass;
			parse_choice(c, &lx, &t, "pass", "filter", &v, &c->host_pos);
			c->rs->host_pass = !v;
		} else {
			const char *hint = NULL;

			static const char *const kw[] = { "rule", "set", "include", "policy", "mode",
							  "control", "host", "resolvers", "require", NULL };
			char sug[64];

			if (weq(&t, "allow") || weq(&t, "deny") || weq(&t, "to"))
				hint = "allow, deny and to lines go inside rule NAME { ... }";
			else if (t.type == T_WORD)
				hint = sl__suggest(t.s, t.len, kw, sug, sizeof(sug));
			if (t.type != T_BAD)
				ERR(c, t.pos, hint, "expected a statement (rule, set, include, policy, "
				    "mode, control, host, log or resolvers), found %s", TD(t));
			sl__recover_top(&lx, &t);
		}
	}
}

/* ------------------------------------------------------------ public API */

