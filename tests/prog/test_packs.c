// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_packs.c - every entry of the SecureVideo firewall document is
 * enforced by rules/securevideo.rules.
 *
 * The expectations come from the vendor text itself
 * (tests/data/securevideo-firewall-settings.txt, a verbatim copy), read by
 * a small extractor of this file: the Zoom IPv4 list between "to (" and
 * ")", the IPv6 list, the One-Click "A - B" media ranges, the TCP/UDP ports
 * stated for each, and the host names.  Nothing here is a hand-made list of
 * addresses (VSee's ports are the exception: the document defers to VSee's
 * own page, see rules/securevideo/vsee.rules).
 *
 * For every range and every protocol/port the document lists for it:
 *   - the first and the last address pass on the first and last port of
 *     each listed port range;
 *   - the ports just outside each listed range (lo-1, hi+1) are judged as
 *     the document implies: dropped, unless another listed port covers them;
 *   - the addresses just below and just above the range are dropped, unless
 *     another entry of the document covers them.
 * Each probe is a crafted Ethernet frame run through the loaded BPF program
 * (BPF_PROG_TEST_RUN, nothing is sent anywhere), and its verdict, reason
 * and credited rule are compared with the expectation, with the reference
 * classifier (sl_classify_frame) and with the compiled tables
 * (sl_image_lookup, what `sluice lookup --rules` uses); a sample also runs
 * the real `sluice lookup --json --rules`.
 *
 * Structural checks (the pack holds each range as written, each port, each
 * host name) catch what no packet can: an entry nested in another.
 * Mutation checks delete an entry or a port from a copy of the pack and
 * require the probes above to fail.
 *
 *   build/tests/test_packs [-v]      (from the repository root; root for the
 *                                     kernel part, which is skipped otherwise)
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "tset.h"       /* run_prog, bpf_available, silence_libbpf, verbose; sl.h, test.h, pkt.h */

#define VENDOR_TEXT "tests/data/securevideo-firewall-settings.txt"
#define PACK        "rules/securevideo.rules"

/* ================================================================ vendor */

struct pspec {                  /* "UDP 8801-8810" */
	uint8_t proto;          /* 6 or 17 */
	uint16_t lo, hi;
};

struct vrange {                 /* one address entry of the document */
	uint8_t fam;            /* 4 or 6 */
	uint8_t lo[16], hi[16]; /* inclusive, network order (IPv4: first 4 bytes) */
	int plen;               /* CIDR length, or -1 for an "A - B" range */
	char text[96];          /* as written */
	int line;               /* in the vendor text */
};

struct vhost {
	char name[96];          /* as written, lower case: "*.zoom.us" */
};

#define MAXP 16
#define MAXH 16

/* A statement of the document: ports to ranges and/or host names. */
struct vgroup {
	int sys;                /* SYS_* */
	int line;
	struct pspec p[MAXP];
	int np;
	struct vrange *r;
	int nr;
	struct vhost h[MAXH];
	int nh;
};

enum { SYS_APP = 0, SYS_ZOOM, SYS_ONECLICK, SYS_VSEE, SYS_N };
static const char *const sys_name[SYS_N] = { "securevideo-app", "zoom", "one-click", "vsee" };
/* The rule of the pack expected to carry each system's address entries. */
static const char *const sys_rule[SYS_N] = { NULL, "zoom-media", "one-click-media", NULL };

static struct vgroup groups[32];
static int ngroups;
static int n_thousands;         /* "10,000" style numbers seen */
static int n_bad_tokens;
static char bad_token_msg[512];

static int alen(int fam) { return fam == 4 ? 4 : 16; }

static bool a_inc(int fam, uint8_t *a)
{
	for (int i = alen(fam) - 1; i >= 0; i--)
		if (++a[i] != 0)
			return true;
	return false;           /* wrapped: was the last address */
}

static bool a_dec(int fam, uint8_t *a)
{
	for (int i = alen(fam) - 1; i >= 0; i--)
		if (a[i]-- != 0)
			return true;
	return false;
}

static int a_cmp(int fam, const uint8_t *a, const uint8_t *b) { return memcmp(a, b, alen(fam)); }

static const char *a_str(int fam, const uint8_t *a)
{
	static char buf[8][INET6_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 8;
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, buf[i], sizeof(buf[i]));
	return buf[i];
}

/* "3.7.35.0/25" or "2407:30C0::/32" -> range.  0 ok, -1 not an address. */
static int parse_cidr(const char *s, size_t n, struct vrange *r)
{
	char tmp[96], *sl;
	int plen, fam, bits;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	memset(r, 0, sizeof(*r));
	snprintf(r->text, sizeof(r->text), "%s", tmp);
	sl = strchr(tmp, '/');
	if (sl)
		*sl = 0;
	if (inet_pton(AF_INET, tmp, r->lo) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, tmp, r->lo) == 1)
		fam = 6;
	else
		return -1;
	bits = fam == 4 ? 32 : 128;
	plen = bits;
	if (sl) {
		char *end;
		long v = strtol(sl + 1, &end, 10);

		if (*end || end == sl + 1 || v < 0 || v > bits)
			return -1;
		plen = (int)v;
	}
	r->fam = fam;
	r->plen = plen;
	memcpy(r->hi, r->lo, 16);
	for (int b = plen; b < bits; b++) {
		if (r->lo[b / 8] & (0x80 >> (b % 8)))
			return -1;      /* host bits set: not what the document means */
		r->hi[b / 8] |= 0x80 >> (b % 8);
	}
	return 0;
}

/* "34.203.254.0 - 34.203.254.255" -> range. */
static int parse_dash_range(const char *line, struct vrange *r)
{
	char a[64], b[64];
	struct vrange x, y;

	if (sscanf(line, " %63[0-9.] - %63[0-9.] ", a, b) != 2)
		return -1;
	if (parse_cidr(a, strlen(a), &x) || parse_cidr(b, strlen(b), &y) || x.fam != 4 || y.fam != 4)
		return -1;
	if (a_cmp(4, x.lo, y.lo) > 0)
		return -1;
	memset(r, 0, sizeof(*r));
	r->fam = 4;
	r->plen = -1;
	memcpy(r->lo, x.lo, 16);
	memcpy(r->hi, y.lo, 16);
	snprintf(r->text, sizeof(r->text), "%s - %s", a, b);
	return 0;
}

/* A number as the document writes it: "8801", "10,000" (thousands). */
static const char *parse_num(const char *p, long *v)
{
	long x = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	for (;;) {
		while (isdigit((unsigned char)*p))
			x = x * 10 + (*p++ - '0');
		if (p[0] == ',' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    isdigit((unsigned char)p[3]) && !isdigit((unsigned char)p[4])) {
			n_thousands++;
			p++;
			continue;
		}
		break;
	}
	*v = x;
	return p;
}

/* Every "TCP n" / "UDP n-m" in [s, e). */
static int parse_ports(const char *s, const char *e, struct pspec *out, int max)
{
	int n = 0;

	for (const char *p = s; p + 4 < e; p++) {
		uint8_t proto;
		long lo, hi;
		const char *q;

		if (p > s && isalnum((unsigned char)p[-1]))
			continue;
		if (!strncmp(p, "TCP ", 4))
			proto = 6;
		else if (!strncmp(p, "UDP ", 4))
			proto = 17;
		else
			continue;
		q = parse_num(p + 4, &lo);
		if (!q || q > e)
			continue;
		hi = lo;
		if (*q == '-' && isdigit((unsigned char)q[1]))
			q = parse_num(q + 1, &hi);
		if (lo < 0 || hi > 65535 || lo > hi || n >= max)
			continue;
		out[n].proto = proto;
		out[n].lo = (uint16_t)lo;
		out[n].hi = (uint16_t)hi;
		n++;
		p = q - 1;
	}
	return n;
}

static bool hostish(const char *t)
{
	if (!strchr(t, '.'))
		return false;
	for (const char *p = t; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '*'))
			return false;
	return true;
}

static void add_range(struct vgroup *g, const struct vrange *r)
{
	g->r = realloc(g->r, sizeof(*g->r) * (g->nr + 1));
	if (!g->r)
		abort();
	g->r[g->nr++] = *r;
}

static void add_host(struct vgroup *g, const char *t, size_t n)
{
	if (g->nh >= MAXH || n >= sizeof(g->h[0].name))
		return;
	for (size_t i = 0; i < n; i++)
		g->h[g->nh].name[i] = (char)tolower((unsigned char)t[i]);
	g->h[g->nh].name[n] = 0;
	g->nh++;
}

/*
 * The destinations after " to ": "(3.7.35.0/25, 3.21.137.128/25, ...)" or
 * "securevideo.com and *.securevideo.com" or "*.digicert.com.".  Separators
 * are commas, white space and parentheses, as a careful reader takes them
 * (the document misses a comma and a space once each).
 */
static void parse_dests(struct vgroup *g, const char *s, const char *e, int line)
{
	const char *p = s;

	while (p < e) {
		const char *t;
		size_t n;
		struct vrange r;

		while (p < e && (isspace((unsigned char)*p) || *p == ',' || *p == '(' || *p == ')'))
			p++;
		t = p;
		while (p < e && !(isspace((unsigned char)*p) || *p == ',' || *p == '(' || *p == ')'))
			p++;
		n = (size_t)(p - t);
		if (n == 0)
			continue;
		if (parse_cidr(t, n, &r) == 0) {
			r.line = line;
			add_range(g, &r);
			continue;
		}
		if (n == 3 && !strncmp(t, "and", 3))
			continue;
		if (t[n - 1] == '.')            /* end of a sentence */
			n--;
		{
			char tmp[128];

			snprintf(tmp, sizeof(tmp), "%.*s", (int)n, t);
			if (hostish(tmp)) {
				add_host(g, t, n);
				continue;
			}
			if (!n_bad_tokens++)
				snprintf(bad_token_msg, sizeof(bad_token_msg), "line %d: '%s'", line, tmp);
		}
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		k = fread(buf + n, 1, 4096, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static struct vgroup *new_group(int sys, int line)
{
	struct vgroup *g = &groups[ngroups++];

	memset(g, 0, sizeof(*g));
	g->sys = sys;
	g->line = line;
	return g;
}

static const char *last_to(const char *s, const char *e)
{
	const char *best = NULL;

	for (const char *p = s; p + 4 <= e; p++)
		if (!strncmp(p, " to ", 4))
			best = p;
	return best;
}

/* Read the vendor text into groups[].  Returns 0, or -1 with @why. */
static int extract(const char *path, char *why, size_t cap)
{
	size_t len;
	char *text = slurp(path, &len), *save = NULL, *ln;
	int sec = -1, lineno = 0;
	struct vgroup *cur = NULL;      /* One-Click: hosts or ranges follow their ports */

	if (!text) {
		snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	for (ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(ln);
		const char *to;
		struct vrange r;

		lineno++;       /* strtok_r skips empty lines; the document has none */
		if (n && ln[n - 1] == '\r')
			ln[--n] = 0;
		if (!strcmp(ln, "SecureVideo Application Firewall Settings")) { sec = SYS_APP; cur = NULL; continue; }
		if (!strcmp(ln, "Video Engine Firewall Settings")) { sec = -1; cur = NULL; continue; }
		if (!strcmp(ln, "Zoom Firewall Settings")) { sec = SYS_ZOOM; cur = NULL; continue; }
		if (!strcmp(ln, "One-Click Firewall Settings")) { sec = SYS_ONECLICK; cur = NULL; continue; }
		if (!strcmp(ln, "VSee Firewall Settings")) { sec = SYS_VSEE; cur = NULL; continue; }
		if (sec == SYS_APP || sec == SYS_ZOOM) {
			/* "- Allow outbound TCP 443 to ...", "- allow (TCP 443, ...) to (...)",
			 * "... allow outbound TCP 80 to *.digicert.com." */
			struct pspec p[MAXP];
			int np;

			to = last_to(ln, ln + n);
			if (!to)
				continue;
			np = parse_ports(ln, to, p, MAXP);
			if (!np || !strstr(ln, "llow"))
				continue;
			cur = new_group(sec, lineno);
			memcpy(cur->p, p, sizeof(p));
			cur->np = np;
			parse_dests(cur, to + 4, ln + n, lineno);
			cur = NULL;
		} else if (sec == SYS_ONECLICK) {
			if (!strncmp(ln, "Signaling", 9) || !strncmp(ln, "Media", 5)) {
				cur = new_group(sec, lineno);
				cur->np = parse_ports(ln, ln + n, cur->p, MAXP);
			} else if (cur && parse_dash_range(ln, &r) == 0) {
				r.line = lineno;
				add_range(cur, &r);
			} else if (cur && !strchr(ln, ' ') && hostish(ln)) {
				add_host(cur, ln, n);
			} else {
				cur = NULL;
			}
		}
	}
	free(text);
	return 0;
}

/* ============================================================ the oracle */

struct expect {
	bool allow;
	int reason;             /* SL_R_RULE / SL_R_NEAR_MISS / SL_R_POLICY */
	const char *rule;       /* decided or credited rule, or NULL */
};

static bool in_range(const struct vrange *r, int fam, const uint8_t *a)
{
	return r->fam == fam && a_cmp(fam, r->lo, a) <= 0 && a_cmp(fam, a, r->hi) <= 0;
}

static bool port_ok(const struct vgroup *g, uint8_t proto, uint16_t port)
{
	for (int i = 0; i < g->np; i++)
		if (g->p[i].proto == proto && g->p[i].lo <= port && port <= g->p[i].hi)
			return true;
	return false;
}

/*
 * What the document asks for: allowed iff some address statement lists the
 * address with this protocol and port.  Statements in the pack's order
 * (Zoom, then One-Click), which is also the rules' order, so the first
 * statement that matches names the rule that must decide.  The pack's other
 * address rules (base.rules: DNS and NTP on documentation addresses) never
 * meet a probe: probes are the vendor ranges and their neighbours.
 */
static struct expect oracle(int fam, const uint8_t *a, uint8_t proto, uint16_t port)
{
	struct expect x = { false, SL_R_POLICY, NULL };
	const char *cover = NULL;

	for (int s = SYS_ZOOM; s <= SYS_ONECLICK; s++)
		for (int gi = 0; gi < ngroups; gi++) {
			const struct vgroup *g = &groups[gi];

			if (g->sys != s)
				continue;
			for (int i = 0; i < g->nr; i++) {
				if (!in_range(&g->r[i], fam, a))
					continue;
				if (!cover)
					cover = sys_rule[s];
				if (port_ok(g, proto, port)) {
					x.allow = true;
					x.reason = SL_R_RULE;
					x.rule = sys_rule[s];
					return x;
				}
			}
		}
	if (cover) {
		x.reason = SL_R_NEAR_MISS;
		x.rule = cover;
	}
	return x;
}

/* ============================================================= the probes */

struct probe {
	uint8_t fam;
	uint8_t addr[16];
	uint8_t proto;
	uint16_t port;
	const char *what;       /* "first", "last", "below", "above" + port kind */
	bool cli;               /* also run through `sluice lookup` */
};

struct loaded {
	struct sl_ruleset rs;
	struct sl_image img;
	struct sluice_bpf *skel;        /* NULL: kernel part skipped */
	int prog_fd, last_fd;
	const char *pack;               /* path, for `sluice lookup --rules` */
	struct sl_diags d;
};

static bool have_bpf;
static const char *sluice_bin;          /* NULL: the CLI part is skipped */
static long n_probes, n_kernel, n_cli, n_allow, n_drop;
static long n_kernel_bad;               /* probes the kernel got wrong (vs the document) */

static const char *rule_name(const struct sl_image *img, uint16_t slot)
{
	int i;

	if (slot == SL_NO_RULE)
		return NULL;
	i = sl_image_rule_of_slot(img, slot);
	return i < 0 ? "?" : img->rs->rules[i].name;
}

static const char *pname(uint8_t proto) { return proto == 6 ? "tcp" : proto == 17 ? "udp" : "?"; }

static const char *res_short(const struct sl_image *img, const struct sl_result *r)
{
	static char buf[4][96];
	static int i;
	const char *n = rule_name(img, r->rule);

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s/%s", r->verdict == SL_V_PASS ? "allow" : "drop",
		 sl_reason_name(r->reason), n ? n : "-");
	return buf[i];
}

/* `sluice lookup --json --rules PACK ADDR PROTO PORT` -> verdict, rule, reason. */
static int run_cli(const struct loaded *L, const struct probe *p, char *verdict, char *rule,
		   char *reason, size_t cap)
{
	char cmd[1024], out[2048], *v;
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' lookup --json --rules '%s' %s %s %u 2>/dev/null", sluice_bin,
		 L->pack, a_str(p->fam, p->addr), pname(p->proto), p->port);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	st = pclose(f);
	if (st != 0)
		return -EIO;
#define FIELD(key, dst) do { \
		v = strstr(out, "\"" key "\":"); \
		if (!v) return -EPROTO; \
		v += strlen(key) + 3; \
		if (*v == '"') { size_t k = strcspn(v + 1, "\""); \
			snprintf(dst, cap, "%.*s", (int)k, v + 1); } \
		else snprintf(dst, cap, "-"); \
	} while (0)
	FIELD("verdict", verdict);
	FIELD("rule", rule);
	FIELD("reason", reason);
#undef FIELD
	return 0;
}

/*
 * One probe through the kernel program, the reference classifier, the
 * compiled tables and (if p->cli) the CLI.  Returns true if everything
 * agrees with the oracle; else writes why.
 */
static bool run_probe(const struct loaded *L, const struct probe *p, char *why, size_t cap)
{
	struct pk_spec s = { .family = p->fam == 4 ? 4 : 6, .proto = p->proto, .dport = p->port };
	uint8_t frame[PK_MAX_FRAME];
	struct sl_result ref, tab, k;
	struct sl_pkt pk;
	struct expect x = oracle(p->fam, p->addr, p->proto, p->port);
	const char *exp_s;
	char exp_buf[96];
	size_t len;
	int rv = 0;

	n_probes++;
	x.allow ? n_allow++ : n_drop++;
	memcpy(s.dst, p->addr, 16);
	if (p->fam == 4)
		memset(s.dst + 4, 0, 12);
	len = pk_build(&s, frame, NULL);
	snprintf(exp_buf, sizeof(exp_buf), "%s/%s/%s", x.allow ? "allow" : "drop",
		 sl_reason_name((enum sl_reason)x.reason), x.rule ? x.rule : "-");
	exp_s = exp_buf;
	why[0] = 0;
	/* Every path is compared with the document on its own, and the kernel's
	 * record with the reference's, so a failure names every path that
	 * disagrees (a deleted entry shows up in all of them). */
#define WHY(...) do { size_t _k = strlen(why); \
		if (!_k) _k = (size_t)snprintf(why, cap, "%s %s/%u (%s), the document says %s:", \
			a_str(p->fam, p->addr), pname(p->proto), p->port, p->what, exp_s); \
		if (_k < cap) snprintf(why + _k, cap - _k, " " __VA_ARGS__); } while (0)

	sl_classify_frame(&L->img, frame, len, 1, &ref);
	if (sl_pkt_parse(frame, len, &pk))
		WHY("sl_pkt_parse failed;");
	sl_image_lookup(&L->img, &pk, &tab);
	if (L->skel) {
		int e = run_prog(L->prog_fd, L->last_fd, frame, len, 1, &k, &rv);

		if (e) {
			WHY("BPF_PROG_TEST_RUN: %s;", strerror(-e));
		} else {
			n_kernel++;
			bool kbad = false;

			if (rv != (x.allow ? TC_ACT_UNSPEC : TC_ACT_SHOT)) {
				WHY("kernel returned %d;", rv);
				kbad = true;
			}
			if (strcmp(res_short(&L->img, &k), exp_s)) {
				WHY("kernel recorded %s;", res_short(&L->img, &k));
				kbad = true;
			}
			n_kernel_bad += kbad;
			if (k.verdict != ref.verdict || k.reason != ref.reason || k.rule != ref.rule ||
			    k.port != p->port || k.proto != p->proto)
				WHY("kernel record %s port %u proto %u differs from the reference %s;",
				    res_short(&L->img, &k), k.port, k.proto, res_short(&L->img, &ref));
		}
	}
	if (strcmp(res_short(&L->img, &ref), exp_s))
		WHY("reference classifier %s;", res_short(&L->img, &ref));
	if (strcmp(res_short(&L->img, &tab), exp_s))
		WHY("compiled tables (lookup --rules) %s;", res_short(&L->img, &tab));
	if (p->cli && sluice_bin) {
		char v[32], r[64], re[32];
		int e = run_cli(L, p, v, r, re, 32);

		if (e) {
			WHY("sluice lookup failed (%s);", strerror(-e));
		} else {
			n_cli++;
			if (strcmp(v, x.allow ? "allow" : "drop") || strcmp(r, x.rule ? x.rule : "-") ||
			    strcmp(re, sl_reason_name((enum sl_reason)x.reason)))
				WHY("sluice lookup %s/%s/%s;", v, re, r);
		}
	}
#undef WHY
	if (why[0] && why[strlen(why) - 1] == ';')
		why[strlen(why) - 1] = 0;
	return why[0] == 0;
}

/* The probes of one range of group g.  Returns how many; fills @out (cap). */
static int range_probes(const struct vgroup *g, const struct vrange *r, struct probe *out, int cap)
{
	int n = 0;
	uint8_t nb[16];

#define ADD(a, pr, po, w, c) do { if (n < cap) { struct probe *_p = &out[n++]; \
		memset(_p, 0, sizeof(*_p)); _p->fam = r->fam; memcpy(_p->addr, (a), 16); \
		_p->proto = (pr); _p->port = (po); _p->what = (w); _p->cli = (c); } } while (0)
	for (int end = 0; end < 2; end++) {
		const uint8_t *a = end ? r->hi : r->lo;

		for (int i = 0; i < g->np; i++) {
			const struct pspec *ps = &g->p[i];
			bool first = i == 0, last = i == g->np - 1;

			ADD(a, ps->proto, ps->lo, end ? "last address, first port" : "first address, first port",
			    first && !end);
			if (ps->hi != ps->lo)
				ADD(a, ps->proto, ps->hi, end ? "last address, last port" : "first address, last port",
				    last && end);
			if (ps->lo > 0)
				ADD(a, ps->proto, ps->lo - 1, "port below the listed range", first && !end);
			if (ps->hi < 65535)
				ADD(a, ps->proto, ps->hi + 1, "port above the listed range", last && end);
		}
	}
	memcpy(nb, r->lo, 16);
	if (a_dec(r->fam, nb))
		for (int i = 0; i < g->np; i++)
			ADD(nb, g->p[i].proto, g->p[i].lo, "address below the range", i == 0);
	memcpy(nb, r->hi, 16);
	if (a_inc(r->fam, nb))
		for (int i = 0; i < g->np; i++)
			ADD(nb, g->p[i].proto, g->p[i].hi, "address above the range", i == 0);
#undef ADD
	return n;
}

/* Run every probe of one range; returns the number of failures (first in @why). */
static int check_range(const struct loaded *L, const struct vgroup *g, const struct vrange *r,
		       int *nprobes, char *why, size_t cap)
{
	struct probe pr[256];
	int n = range_probes(g, r, pr, 256), bad = 0;
	char w[512];

	*nprobes = n;
	why[0] = 0;
	for (int i = 0; i < n; i++)
		if (!run_probe(L, &pr[i], w, sizeof(w))) {
			if (!bad++)
				snprintf(why, cap, "%s", w);
			if (verbose)
				printf("# %s\n", w);
		}
	return bad;
}

/* ========================================================= loading a pack */

static void unload(struct loaded *L)
{
	if (L->skel)
		sl_bpf_destroy(L->skel);
	sl_image_free(&L->img);
	sl_ruleset_free(&L->rs);
	sl_diag_free(&L->d);
	memset(L, 0, sizeof(*L));
}

static int load_pack(const char *path, struct loaded *L, char *why, size_t cap)
{
	int e;

	memset(L, 0, sizeof(*L));
	L->pack = path;
	e = sl_ruleset_load(path, &L->rs, &L->d);
	if (e) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		sl_diag_print(&L->d, f);
		fclose(f);
		snprintf(why, cap, "sl_ruleset_load %s: %s\n%s", path, strerror(-e), buf ? buf : "");
		free(buf);
		return e;
	}
	e = sl_compile(&L->rs, NULL, 1, &L->img);
	if (e) {
		snprintf(why, cap, "sl_compile: %s", strerror(-e));
		return e;
	}
	if (have_bpf) {
		e = sl_bpf_load(&L->img, true, NULL, &L->skel);
		if (e) {
			L->skel = NULL;
			snprintf(why, cap, "sl_bpf_load: %s", strerror(-e));
			return e;
		}
		L->prog_fd = bpf_program__fd(L->skel->progs.sluice_tc);
		L->last_fd = bpf_map__fd(L->skel->maps.last);
	}
	return 0;
}

static const struct sl_rule *find_rule(const struct sl_ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (!strcmp(rs->rules[i].name, name))
			return &rs->rules[i];
	return NULL;
}

/* ============================================================ structural */

/* Split [lo, hi] into CIDRs (as the document's range means). */
static int split_range(const struct vrange *r, struct vrange *out, int cap)
{
	int fam = r->fam, bits = fam == 4 ? 32 : 128, n = 0;
	uint8_t cur[16];

	memcpy(cur, r->lo, 16);
	for (;;) {
		int plen;
		uint8_t end[16];

		/* largest aligned block starting at cur that stays <= hi */
		for (plen = 0; plen <= bits; plen++) {
			bool aligned = true;

			for (int b = plen; b < bits; b++)
				if (cur[b / 8] & (0x80 >> (b % 8))) { aligned = false; break; }
			if (!aligned)
				continue;
			memcpy(end, cur, 16);
			for (int b = plen; b < bits; b++)
				end[b / 8] |= 0x80 >> (b % 8);
			if (a_cmp(fam, end, r->hi) <= 0)
				break;
		}
		if (n >= cap)
			return -1;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].fam = fam;
		out[n].plen = plen;
		memcpy(out[n].lo, cur, 16);
		memcpy(out[n].hi, end, 16);
		n++;
		if (!a_cmp(fam, end, r->hi))
			return n;
		memcpy(cur, end, 16);
		a_inc(fam, cur);
	}
}

static bool rule_has_cidr(const struct sl_rule *ru, const struct vrange *c)
{
	for (size_t i = 0; i < ru->ndsts; i++) {
		const struct sl_cidr *d = &ru->dsts[i];

		if (d->family == (c->fam == 4 ? AF_INET : AF_INET6) && d->plen == c->plen &&
		    !memcmp(d->addr, c->lo, alen(c->fam)))
			return true;
	}
	return false;
}

static bool rule_has_host(const struct sl_rule *ru, const char *written)
{
	bool wild = !strncmp(written, "*.", 2);
	const char *name = wild ? written + 2 : written;

	for (size_t i = 0; i < ru->nhosts; i++)
		if (ru->hosts[i].wildcard == wild && !strcmp(ru->hosts[i].name, name))
			return true;
	return false;
}

static enum sl_proto lang_proto(uint8_t p) { return p == 6 ? SL_PROTO_TCP : SL_PROTO_UDP; }

/* The rule's ports for @proto equal the union of @p's for it. */
static bool rule_ports_equal(const struct sl_rule *ru, uint8_t proto, const struct pspec *p, int np,
			     char *why, size_t cap)
{
	uint8_t want[65536 / 8] = {0}, have[65536 / 8] = {0};
	bool any_line = false;

	for (int i = 0; i < np; i++)
		if (p[i].proto == proto)
			for (uint32_t x = p[i].lo; x <= p[i].hi; x++)
				want[x / 8] |= 1 << (x % 8);
	for (size_t l = 0; l < ru->nlines; l++) {
		const struct sl_proto_line *pl = &ru->lines[l];

		if (pl->proto != lang_proto(proto))
			continue;
		any_line = true;
		if (pl->nports == 0)
			memset(have, 0xff, sizeof(have));
		for (size_t j = 0; j < pl->nports; j++)
			for (uint32_t x = pl->ports[j].lo; x <= pl->ports[j].hi; x++)
				have[x / 8] |= 1 << (x % 8);
	}
	if (!memcmp(want, have, sizeof(want)))
		return true;
	for (uint32_t x = 0; x < 65536; x++) {
		bool w = want[x / 8] & (1 << (x % 8)), h = have[x / 8] & (1 << (x % 8));

		if (w != h) {
			snprintf(why, cap, "rule %s: %s/%u is %s by the document but %s by the rule%s",
				 ru->name, pname(proto), x, w ? "listed" : "not listed",
				 h ? "allowed" : "not allowed", any_line ? "" : " (no such protocol line)");
			break;
		}
	}
	return false;
}

/*
 * Every address entry of every statement of @sys is in rule sys_rule[sys]
 * (as its CIDRs), with exactly the document's ports.  Returns the number of
 * entries missing; why names the first.
 */
static int structural_missing(const struct sl_ruleset *rs, int sys, char *why, size_t cap)
{
	const struct sl_rule *ru = find_rule(rs, sys_rule[sys]);
	int missing = 0;

	why[0] = 0;
	if (!ru) {
		snprintf(why, cap, "no rule %s in the pack", sys_rule[sys]);
		return INT_MAX;
	}
	for (int gi = 0; gi < ngroups; gi++) {
		const struct vgroup *g = &groups[gi];

		if (g->sys != sys || !g->nr)
			continue;
		for (int i = 0; i < g->nr; i++) {
			struct vrange c[300];
			int nc = split_range(&g->r[i], c, 300);

			for (int j = 0; j < nc; j++)
				if (!rule_has_cidr(ru, &c[j])) {
					if (!missing)
						snprintf(why, cap, "%s (line %d) is not a destination of rule %s",
							 g->r[i].text, g->r[i].line, ru->name);
					missing++;
					break;
				}
		}
	}
	return missing;
}

/* ==================================================================== main */

static int copy_pack(char *dir, size_t cap)
{
	char cmd[512];

	snprintf(dir, cap, "/tmp/sluice-packs-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(cmd, sizeof(cmd), "cp -r rules/base.rules rules/securevideo.rules rules/securevideo '%s'/", dir);
	return system(cmd) == 0 ? 0 : -EIO;
}

/* Replace the one occurrence of @from in @path by @to; -1 unless exactly one. */
static int replace_once(const char *path, const char *from, const char *to)
{
	size_t len;
	char *t = slurp(path, &len), *p, *q;
	FILE *f;

	if (!t)
		return -1;
	p = strstr(t, from);
	if (!p || strstr(p + 1, from)) {
		free(t);
		return -1;
	}
	q = p + strlen(from);
	f = fopen(path, "w");
	if (!f) {
		free(t);
		return -1;
	}
	fprintf(f, "%.*s%s%s", (int)(p - t), t, to, q);
	fclose(f);
	free(t);
	return 0;
}

static const struct vrange *find_entry(const char *text, const struct vgroup **gout)
{
	for (int gi = 0; gi < ngroups; gi++)
		for (int i = 0; i < groups[gi].nr; i++)
			if (!strcmp(groups[gi].r[i].text, text)) {
				*gout = &groups[gi];
				return &groups[gi].r[i];
			}
	return NULL;
}

struct mutation {
	const char *file;       /* in the copy of rules/ */
	const char *from, *to;
	const char *entry;      /* the range whose probes must now fail */
	bool nested;            /* covered by another entry: only the structural check sees it */
	const char *what;
};

static void mutations(void)
{
	static const struct mutation M[] = {
		{ "securevideo/zoom-ips.txt", "3.7.35.0/25, ", "", "3.7.35.0/25", false,
		  "Zoom IPv4 3.7.35.0/25 deleted from zoom-ips.txt" },
		{ "securevideo/zoom-ips.txt", "221.123.139.192/27", "", "221.123.139.192/27", false,
		  "Zoom IPv4 221.123.139.192/27 (last of the list) deleted" },
		{ "securevideo/zoom-ips.txt", "2620:123:2000::/40, ", "", "2620:123:2000::/40", false,
		  "Zoom IPv6 2620:123:2000::/40 deleted" },
		{ "securevideo/one-click-media.txt", "44.234.69.0 - 44.234.69.127\n", "",
		  "44.234.69.0 - 44.234.69.127", false, "One-Click range 44.234.69.0 - 44.234.69.127 deleted" },
		{ "securevideo/zoom.rules", "8801-8810;", "8801-8809;", "3.7.35.0/25", false,
		  "zoom-media udp 8801-8810 narrowed to 8801-8809" },
		{ "securevideo/zoom.rules", "allow tcp 443, 8801-8802;", "allow tcp 8801-8802;", "2407:30C0::/32",
		  false, "zoom-media tcp 443 deleted" },
		{ "securevideo/one-click.rules", "10000-60000;", "10000-59999;", "34.203.254.0 - 34.203.254.255",
		  false, "one-click-media udp 10000-60000 narrowed to 10000-59999" },
		{ "securevideo/one-click.rules", "allow tcp 443, 3478, 5349;", "allow tcp 443, 5349;",
		  "54.172.60.0 - 54.172.61.255", false, "one-click-media tcp 3478 deleted" },
		{ "securevideo/zoom-ips.txt", "193.122.36.0/22, ", "", "193.122.36.0/22", true,
		  "Zoom 193.122.36.0/22 (nested in 193.122.32.0/21) deleted" },
	};
	char dir[64], path[256], why[1024];

	for (size_t m = 0; m < sizeof(M) / sizeof(M[0]); m++) {
		struct loaded L;
		const struct vgroup *g = NULL;
		const struct vrange *r = find_entry(M[m].entry, &g);
		char name[256];
		int np = 0, bad, miss, sys;
		long kbad0, kbad;

		snprintf(name, sizeof(name), M[m].nested ?
			 "mutation: %s -> the structural check fails (no packet can tell: the enclosing entry covers it)" :
			 "mutation: %s -> the probes (kernel, reference, tables, CLI) and the structural check fail",
			 M[m].what);
		if (!r || !g) {
			T_FAIL(name, "entry %s not found in the document", M[m].entry);
			continue;
		}
		if (copy_pack(dir, sizeof(dir))) {
			T_FAIL(name, "cannot copy the pack to a temporary directory");
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, M[m].file);
		if (replace_once(path, M[m].from, M[m].to)) {
			T_FAIL(name, "'%s' does not occur exactly once in %s", M[m].from, M[m].file);
			goto rm;
		}
		snprintf(path, sizeof(path), "%s/securevideo.rules", dir);
		if (load_pack(path, &L, why, sizeof(why))) {
			T_FAIL(name, "%s", why);
			unload(&L);
			goto rm;
		}
		kbad0 = n_kernel_bad;
		bad = check_range(&L, g, r, &np, why, sizeof(why));
		kbad = n_kernel_bad - kbad0;
		sys = g->sys;
		{
			char w2[512];

			miss = structural_missing(&L.rs, sys, w2, sizeof(w2));
			if (!miss) {
				/* a port mutation: the structural port check must see it */
				const struct sl_rule *ru = find_rule(&L.rs, sys_rule[sys]);

				for (int proto = 6; ru && proto <= 17; proto += 11)
					if (!rule_ports_equal(ru, (uint8_t)proto, g->p, g->np, w2, sizeof(w2)))
						miss++;
			}
			if (M[m].nested)
				T_CHECK(name, bad == 0 && miss > 0,
					"want packet probes all passing (the entry is covered by another) and the "
					"structural check failing; got %d of %d probes failing, structural %d", bad, np,
					miss);
			else
				T_CHECK(name, bad > 0 && miss > 0 && (kbad > 0 || !have_bpf),
					"%d of %d probes fail (%ld in the kernel), structural %d", bad, np, kbad, miss);
			printf("#   %s: %d of %d probes of %s fail (%ld in the kernel)%s%s; structural: %s\n", M[m].what,
			       bad, np, r->text, kbad, bad ? ", e.g. " : "", bad ? why : "", miss ? w2 : "sees nothing");
		}
		unload(&L);
rm:
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path)) { /* nothing to do */ }
	}
}

static void check_diags(const struct loaded *L)
{
	/* Duplicates and nesting the document's lists contain, found here by
	 * comparing every pair; each must be among check's warnings. */
	int ndup = 0, nnest = 0, found = 0, errors = 0;
	char missing[512] = "";

	for (size_t i = 0; i < L->d.n; i++)
		if (L->d.v[i].sev == SL_SEV_ERROR)
			errors++;
	T_CHECK("pack: loads with no error", errors == 0, "%d errors", errors);
	for (int gi = 0; gi < ngroups; gi++) {
		const struct vgroup *g = &groups[gi];

		for (int i = 0; i < g->nr; i++)
			for (int j = 0; j < g->nr; j++) {
				const struct vrange *a = &g->r[i], *b = &g->r[j];
				char needle[256];
				bool dup, hit = false;

				if (i == j || a->fam != b->fam)
					continue;
				dup = !a_cmp(a->fam, a->lo, b->lo) && !a_cmp(a->fam, a->hi, b->hi);
				if (dup && j > i)
					continue;       /* report the later copy once */
				if (!dup && !(in_range(b, a->fam, a->lo) && in_range(b, a->fam, a->hi)))
					continue;       /* a not inside b */
				dup ? ndup++ : nnest++;
				snprintf(needle, sizeof(needle), dup ? "%s is listed twice" : "%s is inside %s",
					 a->text, b->text);
				for (size_t k = 0; k < L->d.n && !hit; k++)
					if (L->d.v[k].sev == SL_SEV_WARNING && strstr(L->d.v[k].msg, needle))
						hit = true;
				if (hit)
					found++;
				else if (!missing[0])
					snprintf(missing, sizeof(missing), "no warning \"%s\"", needle);
				printf("#   the document lists %s %s %s\n", a->text, dup ? "twice:" : "inside",
				       dup ? "warned" : b->text);
			}
	}
	T_CHECK("pack: every duplicate and nested entry of the document is warned about",
		found == ndup + nnest && ndup >= 1 && nnest >= 1, "%d duplicates, %d nested, %d warned; %s",
		ndup, nnest, found, missing);
	printf("# document defects: %d duplicate(s), %d nested prefix(es); %d number(s) with thousands "
	       "separators in port lists\n", ndup, nnest, n_thousands);
}

/* zoom-ips.txt and one-click-media.txt are the document's lists, entry for entry. */
static void check_paste(void)
{
	struct vgroup tmp;
	size_t len;
	char *t;
	int want = 0, bad = 0;

	for (int f = 0; f < 2; f++) {
		const char *path = f ? "rules/securevideo/one-click-media.txt" : "rules/securevideo/zoom-ips.txt";
		int sys = f ? SYS_ONECLICK : SYS_ZOOM, k = 0;
		char name[128], why[256] = "";
		char *line, *save = NULL;

		memset(&tmp, 0, sizeof(tmp));
		t = slurp(path, &len);
		if (!t) {
			snprintf(name, sizeof(name), "%s readable", path);
			T_FAIL(name, "%s", strerror(errno));
			continue;
		}
		for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *h = strchr(line, '#');
			struct vrange r;

			if (h)
				*h = 0;
			if (f && parse_dash_range(line, &r) == 0)
				add_range(&tmp, &r);
			else if (!f)
				parse_dests(&tmp, line, line + strlen(line), 0);
		}
		free(t);
		want = 0;
		bad = 0;
		for (int gi = 0; gi < ngroups; gi++) {
			if (groups[gi].sys != sys)
				continue;
			for (int i = 0; i < groups[gi].nr; i++, k++) {
				want++;
				if (k >= tmp.nr || strcmp(tmp.r[k].text, groups[gi].r[i].text)) {
					if (!bad++)
						snprintf(why, sizeof(why), "entry %d: file has '%s', document '%s'", k + 1,
							 k < tmp.nr ? tmp.r[k].text : "(nothing)", groups[gi].r[i].text);
				}
			}
		}
		if (tmp.nr != want && !bad++)
			snprintf(why, sizeof(why), "file has %d entries, document %d", tmp.nr, want);
		snprintf(name, sizeof(name), "%s is the document's list as published (%d entries, in order)",
			 path, want);
		T_CHECK(name, !bad, "%s", why);
		free(tmp.r);
	}
}

static void check_hosts_and_ports(const struct sl_ruleset *rs)
{
	/* Host names: every one the document lists, in some rule with its ports. */
	for (int gi = 0; gi < ngroups; gi++) {
		const struct vgroup *g = &groups[gi];

		for (int i = 0; i < g->nh; i++) {
			const struct sl_rule *ru = NULL;
			char name[256], why[256] = "no rule has it";
			bool ok = false;

			for (size_t k = 0; k < rs->nrules && !ok; k++)
				if (rule_has_host(&rs->rules[k], g->h[i].name)) {
					ru = &rs->rules[k];
					ok = rule_ports_equal(ru, 6, g->p, g->np, why, sizeof(why)) &&
					     rule_ports_equal(ru, 17, g->p, g->np, why, sizeof(why));
				}
			snprintf(name, sizeof(name), "%s host %s (line %d): in rule %s with the document's ports",
				 sys_name[g->sys], g->h[i].name, g->line, ru ? ru->name : "?");
			T_CHECK(name, ok, "%s", why);
		}
	}
	/* Address statements: the rule's ports are exactly the document's. */
	for (int gi = 0; gi < ngroups; gi++) {
		const struct vgroup *g = &groups[gi];
		const struct sl_rule *ru;
		char name[256], why[256] = "";

		if (!g->nr)
			continue;
		ru = find_rule(rs, sys_rule[g->sys]);
		snprintf(name, sizeof(name), "%s ports (line %d): rule %s allows exactly the document's %d port entries",
			 sys_name[g->sys], g->line, sys_rule[g->sys], g->np);
		T_CHECK(name, ru && rule_ports_equal(ru, 6, g->p, g->np, why, sizeof(why)) &&
			rule_ports_equal(ru, 17, g->p, g->np, why, sizeof(why)), "%s", ru ? why : "no such rule");
	}
	/* VSee: the document defers to VSee's page; its Simplified Rules. */
	{
		static const struct pspec vsee[] = {
			{ 6, 80, 80 }, { 6, 443, 443 }, { 6, 3478, 3478 }, { 6, 5222, 5222 },
			{ 17, 1853, 1853 }, { 17, 3478, 3478 }, { 17, 6000, 6001 }, { 17, 6256, 6256 },
			{ 17, 10000, 10000 }, { 17, 49152, 65535 },
		};
		const struct sl_rule *ru = NULL;
		char why[256] = "no rule has *.vsee.com";

		for (size_t k = 0; k < rs->nrules; k++)
			if (rule_has_host(&rs->rules[k], "*.vsee.com"))
				ru = &rs->rules[k];
		T_CHECK("vsee host *.vsee.com: VSee's simplified rules (TCP 80, 443, 3478, 5222; UDP 1853, 3478, "
			"6000, 6001, 6256, 10000, 49152-65535)",
			ru && rule_ports_equal(ru, 6, vsee, 10, why, sizeof(why)) &&
			rule_ports_equal(ru, 17, vsee, 10, why, sizeof(why)), "%s", why);
	}
}

static void summary_counts(void)
{
	for (int s = 0; s < SYS_N; s++) {
		int v4 = 0, v6 = 0, dash = 0, hosts = 0, tcp = 0, udp = 0, stm = 0;

		for (int gi = 0; gi < ngroups; gi++) {
			const struct vgroup *g = &groups[gi];

			if (g->sys != s)
				continue;
			stm++;
			for (int i = 0; i < g->nr; i++)
				g->r[i].plen < 0 ? dash++ : g->r[i].fam == 4 ? v4++ : v6++;
			hosts += g->nh;
			for (int i = 0; i < g->np; i++)
				g->p[i].proto == 6 ? tcp++ : udp++;
		}
		printf("# document, %s: %d statement(s); %d IPv4 CIDRs, %d IPv6 CIDRs, %d start-end ranges, "
		       "%d host names; port entries (summed over statements): %d TCP, %d UDP\n",
		       sys_name[s], stm, v4, v6, dash, hosts, tcp, udp);
	}
}

/* Run from anywhere: find the repository from the binary (build/tests/). */
static void to_repo_root(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (access(VENDOR_TEXT, R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	for (int up = 0; up < 3; up++)
		dirname(exe);
	if (chdir(exe)) { /* reported below */ }
}

int main(int argc, char **argv)
{
	struct loaded L;
	char why[4096], name[512];
	struct timespec t0, t1;
	int c, total_bad = 0, nranges = 0;
	static char bin[PATH_MAX];

	while ((c = getopt(argc, argv, "v")) != -1) {
		if (c == 'v')
			verbose = 1;
		else {
			fprintf(stderr, "usage: %s [-v]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(silence_libbpf);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	to_repo_root();

	/* 1. the document */
	if (extract(VENDOR_TEXT, why, sizeof(why))) {
		T_FAIL("vendor text", "%s", why);
		return T_DONE();
	}
	T_CHECK("vendor text: every destination token is an address or a host name", n_bad_tokens == 0,
		"%d unrecognised, first %s", n_bad_tokens, bad_token_msg);
	{
		int per[SYS_N] = {0}, ranges[SYS_N] = {0};

		for (int gi = 0; gi < ngroups; gi++) {
			per[groups[gi].sys]++;
			ranges[groups[gi].sys] += groups[gi].nr;
		}
		T_CHECK("vendor text: statements found (app 3, zoom 3, one-click 2) with ranges for zoom and one-click",
			per[SYS_APP] == 3 && per[SYS_ZOOM] == 3 && per[SYS_ONECLICK] == 2 && ranges[SYS_ZOOM] > 300 &&
			ranges[SYS_ONECLICK] == 7, "app %d, zoom %d (%d ranges), one-click %d (%d ranges)",
			per[SYS_APP], per[SYS_ZOOM], ranges[SYS_ZOOM], per[SYS_ONECLICK], ranges[SYS_ONECLICK]);
	}
	summary_counts();
	check_paste();

	/* 2. the pack */
	have_bpf = bpf_available(why, sizeof(why));    /* a verifier error: the load below fails */
	if (!have_bpf)
		T_SKIP("kernel program (BPF_PROG_TEST_RUN)", "%s; the reference classifier, the compiled tables "
		       "and sluice lookup are still checked", why);
	{
		const char *env = getenv("SLUICE");

		snprintf(bin, sizeof(bin), "%s", env && *env ? env : "build/sluice");
		if (access(bin, X_OK) == 0)
			sluice_bin = bin;
		else
			T_SKIP("sluice lookup --rules", "%s not built (make build/sluice)", bin);
	}
	if (load_pack(PACK, &L, why, sizeof(why))) {
		T_FAIL("pack: " PACK " loads", "%s", why);
		unload(&L);
		return T_DONE();
	}
	T_PASS(have_bpf ? "pack: " PACK " parses, compiles and loads into the kernel"
			: "pack: " PACK " parses and compiles");
	check_diags(&L);
	check_hosts_and_ports(&L.rs);
	for (int s = SYS_ZOOM; s <= SYS_ONECLICK; s++) {
		int miss = structural_missing(&L.rs, s, why, sizeof(why));

		snprintf(name, sizeof(name), "%s: every address entry of the document is a destination of rule %s",
			 sys_name[s], sys_rule[s]);
		T_CHECK(name, miss == 0, "%d missing; first: %s", miss, why);
	}

	/* 3. every range, through the kernel, the oracle, the tables, the CLI */
	for (int gi = 0; gi < ngroups; gi++) {
		const struct vgroup *g = &groups[gi];

		for (int i = 0; i < g->nr; i++) {
			const struct vrange *r = &g->r[i];
			int np, bad = check_range(&L, g, r, &np, why, sizeof(why));

			nranges++;
			total_bad += bad;
			snprintf(name, sizeof(name), "%s %s (line %d): %d probes", sys_name[g->sys], r->text, r->line, np);
			T_CHECK(name, bad == 0, "%d failed; first: %s", bad, why);
		}
	}
	printf("# %d ranges, %ld probes (%ld expected allowed, %ld expected dropped); %ld through the kernel "
	       "program, %ld through sluice lookup --rules\n", nranges, n_probes, n_allow, n_drop, n_kernel, n_cli);
	T_CHECK("every probe was judged by the kernel program", !have_bpf || n_kernel == n_probes,
		"%ld of %ld", n_kernel, n_probes);
	T_CHECK("sluice lookup --rules checked a sample of at least 300 probes", !sluice_bin || n_cli >= 300,
		"only %ld", n_cli);
	unload(&L);

	/* 4. the checks can fail */
	mutations();

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int gi = 0; gi < ngroups; gi++)
		free(groups[gi].r);
	return T_DONE();
}
