/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ports.c - one allow/deny line of a rule: the protocol (and sl_proto_name,
 * its name in messages), the ports and port ranges (normalized by addr.c),
 * and the hint for "1,024"-style thousands separators.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "front/addr.h"
#include "front/ports.h"

const char *sl_proto_name(enum sl_proto p)
{
	switch (p) {
	case SL_PROTO_TCP:   return "tcp";
	case SL_PROTO_UDP:   return "udp";
	case SL_PROTO_ICMP:  return "icmp";
	case SL_PROTO_ICMP6: return "icmpv6";
	case SL_PROTO_ANY:   return "any";
	}
	return "?";
}

static int parse_proto(struct pctx *c, const struct tok *t, const struct tok *act,
		       enum sl_proto *p)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "icmpv6", "any" };
	const char *hint = NULL;
	char buf[64];

	for (int i = 0; i < 5; i++) {
		if (weq(t, names[i])) {
			*p = (enum sl_proto)i;
			return 0;
		}
	}
	if (t->type == T_WORD) {
		if (t->len < 16) {
			size_t i;

			for (i = 0; i < t->len; i++)
				buf[i] = (char)tolower((unsigned char)t->s[i]);
			buf[i] = 0;
			for (int j = 0; j < 5; j++)
				if (!strcmp(buf, names[j]))
					hint = "protocols are written in lower case";
			if (!strcmp(buf, "icmp6") || !strcmp(buf, "ipv6-icmp"))
				hint = "write icmpv6";
		}
		if (isdigit((unsigned char)t->s[0]))
			hint = "the protocol comes first: allow tcp 443;";
	}
	ERR(c, t->pos, hint, "expected a protocol (tcp, udp, icmp, icmpv6 or any) after '%.*s', found %s",
	    (int)act->len, act->s, TD(*t));
	return -1;
}

static int port_num(struct pctx *c, const char *s, size_t n, struct sl_pos pos, long *out)
{
	long v = 0;

	if (n == 0) {
		ERR(c, pos, NULL, "expected a port number");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			ERR(c, pos, "ports are numbers 0-65535, ranges are written lo-hi",
			    "expected a port number, found '%.*s'", (int)n, s);
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (s[i] - '0');
	}
	if (v > 65535) {
		ERR(c, pos, NULL, "port %.*s is out of range (0-65535)", (int)n, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* One port or range starting at the consumed WORD @t. */
static int port_item(struct pctx *c, struct lexer *lx, const struct tok *t,
		     struct sl_port_range *out)
{
	const char *s = t->s, *dash = memchr(s, '-', t->len);
	const char *hs = NULL;
	size_t ln, hn = 0;
	struct sl_pos hpos = t->pos;
	long lo, hi;

	if (dash == s) {
		ERR(c, t->pos, NULL, "expected a port number, found %s", TD(*t));
		return -1;
	}
	if (dash) {
		ln = (size_t)(dash - s);
		hs = dash + 1;
		hn = t->len - ln - 1;
		hpos.col += (int)(ln + 1);
		if (hn == 0) {
			struct tok u = lex_peek(lx);

			if (u.type != T_WORD) {
				ERR(c, u.pos, NULL, "expected the end of the port range, found %s", TD(u));
				return -1;
			}
			lex_next(lx);
			hs = u.s;
			hn = u.len;
			hpos = u.pos;
		}
	} else {
		struct tok u = lex_peek(lx);

		ln = t->len;
		if (u.type == T_WORD && u.s[0] == '-') {
			lex_next(lx);
			if (u.len == 1) {
				struct tok v = lex_peek(lx);

				if (v.type != T_WORD) {
					ERR(c, v.pos, NULL, "expected the end of the port range, found %s",
					    TD(v));
					return -1;
				}
				lex_next(lx);
				hs = v.s;
				hn = v.len;
				hpos = v.pos;
			} else {
				hs = u.s + 1;
				hn = u.len - 1;
				hpos = u.pos;
				hpos.col++;
			}
		}
	}
	if (port_num(c, s, ln, t->pos, &lo))
		return -1;
	hi = lo;
	if (hs && port_num(c, hs, hn, hpos, &hi))
		return -1;
	if (lo > hi) {
		char hint[64];

		snprintf(hint, sizeof(hint), "write %ld-%ld", hi, lo);
		ERR(c, t->pos, hint, "port range %ld-%ld is reversed", lo, hi);
		return -1;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

/*
 * Is the ',' at @cm a thousands separator ("10,000-60,000")?  It is when
 * it sits between 1-3 digits and exactly 3 digits with no space around,
 * the joined number is a port (<= 65535), and the group is clearly not a
 * list: it starts with 0 ("10,000"), or it touches a range ("8,801-8,810").
 * "80,443" (80443 > 65535) and "53,123" stay lists.
 */
static bool thousands_at(const struct lexer *lx, const char *cm, const char **numstart)
{
	const char *b = lx->buf, *e = lx->end, *q = cm, *r = cm + 1;
	int nb = 0, na = 0;
	long v = 0;

	while (q > b && isdigit((unsigned char)q[-1]) && nb < 4) {
		q--;
		nb++;
	}
	if (nb < 1 || nb > 3)
		return false;
	bool dash_before = q > b && q[-1] == '-';
	if (q > b && is_word((unsigned char)q[-1]) && !dash_before)
		return false;
	while (r < e && isdigit((unsigned char)*r) && na < 4) {
		r++;
		na++;
	}
	if (na != 3)
		return false;
	bool dash_after = r < e && *r == '-';
	if (r < e && is_word((unsigned char)*r) && !dash_after)
		return false;
	for (const char *p = q; p < r; p++)
		if (p != cm)
			v = v * 10 + (*p - '0');
	if (v > 65535)
		return false;
	*numstart = q;
	return cm[1] == '0' || dash_before || dash_after;
}

/* "write 10000-60000": the text around @cm with the separators removed. */
static void thousands_hint(const struct lexer *lx, const char *cm, char *out, size_t n)
{
	const char *b = lx->buf, *e = lx->end, *s = cm, *t = cm;
	char tmp[80];
	size_t k = 0;

#define SPANCH(ch) (!isspace((unsigned char)(ch)) && (ch) != ';' && (ch) != '{' && \
		    (ch) != '}' && (ch) != '#' && (ch) != '"')
	while (s > b && SPANCH(s[-1]) && cm - s < 30)
		s--;
	while (t < e && SPANCH(*t) && t - cm < 30)
		t++;
#undef SPANCH
	for (const char *p = s; p < t && k < sizeof(tmp) - 1; p++) {
		if (*p == ',' && p > b && isdigit((unsigned char)p[-1]) && t - p > 3 &&
		    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    isdigit((unsigned char)p[3]) && (p + 4 >= t || !isdigit((unsigned char)p[4])))
			continue;
		tmp[k++] = *p;
	}
	tmp[k] = 0;
	snprintf(out, n, "write %s", tmp);
}

void sl__parse_line(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *act)
{
	struct sl_rule *r = &c->rs->rules[ri];
	struct prule *pr = &c->pr[ri];
	enum sl_action a = weq(act, "allow") ? SL_ACT_ALLOW : SL_ACT_DENY;
	struct sl_port_range *v = NULL;
	size_t nv = 0, cv = 0;
	enum sl_proto p;
	struct tok t = lex_next(lx);

	if (parse_proto(c, &t, act, &p)) {
		pr->bad = true;
		sl__recover_after(lx, &t);
		return;
	}
	if (r->action == SL_ACT_NONE) {
		r->action = a;
		pr->act_pos = act->pos;
	} else if (r->action != a) {
		ERR(c, act->pos, "a rule is all allow lines or all deny lines; split it into two rules",
		    "rule '%s' mixes allow and deny: '%s' at %s:%d:%d, '%s' here", r->name,
		    a == SL_ACT_ALLOW ? "deny" : "allow", pr->act_pos.file, pr->act_pos.line,
		    pr->act_pos.col, a == SL_ACT_ALLOW ? "allow" : "deny");
		pr->bad = true;
	}
	for (size_t i = 0; i < r->nlines; i++) {
		if (r->lines[i].proto == p) {
			ERR(c, t.pos, "write one line per protocol and merge the port lists",
			    "rule '%s' already has a %s line at %s:%d:%d", r->name, sl_proto_name(p),
			    r->lines[i].pos.file, r->lines[i].pos.line, r->lines[i].pos.col);
			pr->bad = true;
			break;
		}
	}

	struct tok u = lex_peek(lx);
	if (u.type == T_SEMI) {
		lex_next(lx);
		goto add;
	}
	if (p != SL_PROTO_TCP && p != SL_PROTO_UDP) {
		lex_next(lx);
		if (u.type == T_WORD && isdigit((unsigned char)u.s[0]))
			ERR(c, u.pos, "ports need tcp or udp; write one line for each",
			    "%s takes no ports, found %s", sl_proto_name(p), TD(u));
		else
			ERR(c, u.pos, NULL, "expected ';' after '%s', found %s",
			    sl_proto_name(p), TD(u));
		pr->bad = true;
		sl__recover_after(lx, &u);
		return;
	}
	for (;;) {
		struct tok w = lex_next(lx);
		const char *numstart;

		if (w.type != T_WORD) {
			ERR(c, w.pos, NULL, "expected a port or port range after %s, found %s",
			    nv ? "','" : sl_proto_name(p), TD(w));
			goto fail_after;
		}
		if (GROW(c, v, cv, nv))
			goto fail;
		if (port_item(c, lx, &w, &v[nv])) {
			sl__recover_block(lx);
			goto fail;
		}
		nv++;
		u = lex_peek(lx);
		if (u.type == T_COMMA) {
			if (!u.ws_before && thousands_at(lx, u.s, &numstart)) {
				char hint[128];
				struct sl_pos np = u.pos;

				np.col -= (int)(u.s - numstart);
				thousands_hint(lx, u.s, hint, sizeof(hint));
				ERR(c, np, hint, "'%.*s' reads as a number with a thousands separator; "
				    "port lists use ',' only between ports",
				    (int)(u.s - numstart) + 4, numstart);
				sl__recover_block(lx);
				goto fail;
			}
			lex_next(lx);
			continue;
		}
		if (u.type == T_SEMI) {
			lex_next(lx);
			break;
		}
		lex_next(lx);
		ERR(c, u.pos, u.type == T_WORD && isdigit((unsigned char)u.s[0]) ?
		    "separate ports with ','" : NULL,
		    "expected ';' after the port list, found %s", TD(u));
		w = u;
fail_after:
		sl__recover_after(lx, &w);
		goto fail;
	}
	nv = sl__ports_normalize(v, nv);
add:
	if (GROW(c, r->lines, pr->clines, r->nlines))
		goto fail;
	r->lines[r->nlines].proto = p;
	r->lines[r->nlines].ports = nv ? v : NULL;
	r->lines[r->nlines].nports = nv;
	r->lines[r->nlines].pos = t.pos;
	r->nlines++;
	if (!nv)
		free(v);
	return;
fail:
	pr->bad = true;
	free(v);
}
