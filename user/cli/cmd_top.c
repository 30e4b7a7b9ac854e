// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_top.c - `sluice top` (docs/events.md, docs/hospital.md): the
 * would-be-drops report of an audit rollout.  Events (from the instance,
 * over a window, or from a log file of `sluice run --log-file`) grouped
 * by destination, protocol and port, with counts, first and last seen,
 * the rule that decided or nearly matched and the learned host name,
 * sorted by count; --suggest prints rules that would allow the top
 * entries, grouped by host name or destination network, for review.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/evsrc.h"
#include "util/json.h"

const char sl_top_args[] = "[--instance NAME | --from FILE] [--window SEC] [--verdict V] [--rule NAME] "
			   "[--dst CIDR] [--limit N] [--json] [--suggest]";
const char sl_top_summary[] = "the would-be drops of an audit rollout, by destination, protocol and port";
const char sl_top_help[] =
	"      --from FILE       read the events from a JSON-lines file (sluice run --log-file,\n"
	"                        sluice log --json); - is stdin\n"
	"  -w, --window SEC      read the instance's events for SEC more seconds (default 0: what is\n"
	"                        buffered, or sluice run's backlog)\n"
	"      --verdict V       count drop, audit-drop or pass events (default: drop and audit-drop)\n"
	"      --rule NAME       only events of this rule\n"
	"      --dst CIDR        only destinations in CIDR\n"
	"  -n, --limit N         print the N largest entries (default 20; 0: all)\n"
	"  -j, --json            {\"entries\": [{\"dst\", \"proto\", \"dport\", \"count\", \"first\", \"last\",\n"
	"                        \"rule\", \"reason\", \"name\", \"verdict\"}], \"events\"}\n"
	"      --suggest         print rule lines that would allow the listed entries, grouped by host\n"
	"                        name or destination network: to review, never applied by sluice\n"
	"  -i, --instance NAME   instance, default 'default'\n";

struct entry {
	char dst[48], rule[SL_NAME_LEN], reason[16], name[SL_DNS_NAME_MAX + 3];
	uint8_t family, proto, verdict;
	int32_t dport;          /* ICMP: type */
	uint64_t count, first, last;
};

struct top {
	struct sl_ev_filter f;
	bool any_verdict;
	struct entry *v;
	size_t n, cap;
	uint64_t events;
};

static void on_ev(void *arg, const struct sl_ev *e)
{
	struct top *t = arg;
	/* grouped by the remote end the rules judge: the destination of an
	 * outbound packet, the source of an inbound one */
	bool icmp = e->proto == 1 || e->proto == 58;
	int32_t port = icmp || e->inbound ? e->sport : e->dport;
	const char *remote = e->inbound ? e->src : e->dst;
	struct entry *x = NULL;

	if (!sl_ev_match(&t->f, e))
		return;
	if (t->f.verdict < 0 && e->verdict == SL_EV_PASS)
		return;
	t->events++;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].proto == e->proto && t->v[i].dport == port && !strcmp(t->v[i].dst, remote)) {
			x = &t->v[i];
			break;
		}
	if (!x) {
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 64;
			struct entry *q = realloc(t->v, nc * sizeof(*q));

			if (!q)
				return;
			t->v = q;
			t->cap = nc;
		}
		x = &t->v[t->n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->dst, sizeof(x->dst), "%s", remote);
		x->family = e->family;
		x->proto = e->proto;
		x->dport = port;
		x->first = e->time_ns;
	}
	x->count++;
	if (e->time_ns < x->first)
		x->first = e->time_ns;
	if (e->time_ns > x->last)
		x->last = e->time_ns;
	x->verdict = e->verdict;
	snprintf(x->reason, sizeof(x->reason), "%s", e->reason);
	if (e->rule[0])
		snprintf(x->rule, sizeof(x->rule), "%s", e->rule);
	if (e->name[0])
		snprintf(x->name, sizeof(x->name), "%s", e->name);
}

static int by_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->dst, y->dst);
}

static void fmt_t(uint64_t ns, char *buf, size_t n)
{
	time_t s = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int from_file(const char *path, struct top *t)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0;
	struct sl_ev e;

	if (!f) {
		fprintf(stderr, "sluice: %s: cannot read: %s\n", path, strerror(errno));
		return 1;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == 0)
			continue;
		if (sl_ev_parse_json(line, &e)) {
			if (!bad++)
				fprintf(stderr, "sluice: %s:%zu: not an event (a JSON object per line, as sluice log "
					"--json writes); skipped\n", path, lineno);
			continue;
		}
		on_ev(t, &e);
	}
	if (bad > 1)
		fprintf(stderr, "sluice: %s: %zu lines skipped in all\n", path, bad);
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}

/* The group of an entry in --suggest: its host name, else its /24 (IPv4) or /48 (IPv6). */
static void group_of(const struct entry *x, char *buf, size_t n)
{
	uint8_t a[16] = { 0 };

	if (x->name[0]) {
		snprintf(buf, n, "%s", x->name);
		return;
	}
	if (x->family == 4 && inet_pton(AF_INET, x->dst, a) == 1) {
		snprintf(buf, n, "%u.%u.%u.0/24", a[0], a[1], a[2]);
	} else if (x->family == 6 && inet_pton(AF_INET6, x->dst, a) == 1) {
		char s[INET6_ADDRSTRLEN];

		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, s, sizeof(s));
		snprintf(buf, n, "%s/48", s);
	} else {
		snprintf(buf, n, "%s", x->dst);
	}
}

static const char *lang_proto(const struct entry *x)
{
	switch (x->proto) {
	case 6:  return "tcp";
	case 17: return "udp";
	case 1:  return "icmp";
	case 58: return "icmpv6";
	default: return "any";
	}
}

/*
 * What was seen of one destination (a host name, or an address): the
 * protocols and ports, as the lines of a rule would allow them.  A protocol
 * seen without a port (a fragment) is "any port" of it.
 */
struct seen {
	const struct entry *first;      /* the destination's top entry */
	char key[SL_DNS_NAME_MAX + 8];  /* its name or address */
	char grp[SL_DNS_NAME_MAX + 8];  /* group_of() */
	char lines[640];                /* "    allow udp 443, 5000;\n..." */
	uint64_t count;
	bool done;
};

static void seen_lines(const struct entry *v, size_t n, const char *key, char *out, size_t cap)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 0 };
	size_t ol = 0;

	out[0] = '\0';
	for (size_t p = 0; p < sizeof(protos); p++) {
		bool any = false, anyport = false;
		int ports[64];
		size_t np = 0;

		for (size_t j = 0; j < n; j++) {
			const char *k = v[j].name[0] ? v[j].name : v[j].dst;
			bool known = v[j].proto == 6 || v[j].proto == 17 || v[j].proto == 1 || v[j].proto == 58;

			if (strcmp(k, key) || (protos[p] ? v[j].proto != protos[p] : known))
				continue;
			any = true;
			if ((v[j].proto == 6 || v[j].proto == 17) && v[j].dport > 0) {
				size_t q = 0;

				while (q < np && ports[q] != v[j].dport)
					q++;
				if (q == np && np < 64)
					ports[np++] = v[j].dport;
				else if (q == np)
					anyport = true;         /* more than 64 ports: the protocol */
			} else {
				anyport = true;
			}
		}
		if (!any)
			continue;
		if (protos[p] == 6 || protos[p] == 17) {
			/* sorted, so that two destinations seen on the same ports compare equal */
			for (size_t a = 1; a < np; a++)
				for (size_t b = a; b > 0 && ports[b - 1] > ports[b]; b--) {
					int t = ports[b];

					ports[b] = ports[b - 1];
					ports[b - 1] = t;
				}
			ol += (size_t)snprintf(out + ol, ol < cap ? cap - ol : 0, "    allow %s",
					       protos[p] == 6 ? "tcp" : "udp");
			for (size_t q = 0; !anyport && q < np; q++)
				ol += (size_t)snprintf(out + ol, ol < cap ? cap - ol : 0, "%s%d", q ? ", " : " ",
						       ports[q]);
			ol += (size_t)snprintf(out + ol, ol < cap ? cap - ol : 0, ";\n");
		} else {
			ol += (size_t)snprintf(out + ol, ol < cap ? cap - ol : 0, "    allow %s;\n",
					       protos[p] ? lang_proto(&(struct entry){ .proto = protos[p] }) : "any");
		}
	}
}

/*
 * Rules that allow exactly what was seen: per destination, the protocols and
 * ports it was seen on.  Destinations of one group (a host name, a /24, a
 * /48) share a rule only when they were seen on the same protocols and
 * ports, so no rule allows a destination on a port that only another one
 * used (no cross product of destinations and ports).
 */
static void suggest(const struct entry *v, size_t n)
{
	struct seen *d = calloc(n ? n : 1, sizeof(*d));
	size_t nd = 0;
	int k = 0;

	printf("# sluice top --suggest: rules that would allow the entries above, each destination\n"
	       "# on the protocols and ports it was seen on.  Review them: they allow what was seen,\n"
	       "# not what the vendor documents; sluice never applies them itself.\n");
	for (size_t i = 0; d && i < n; i++) {
		const char *key = v[i].name[0] ? v[i].name : v[i].dst;
		size_t j = 0;

		while (j < nd && strcmp(d[j].key, key))
			j++;
		if (j == nd) {
			d[nd].first = &v[i];
			snprintf(d[nd].key, sizeof(d[nd].key), "%s", key);
			group_of(&v[i], d[nd].grp, sizeof(d[nd].grp));
			seen_lines(v, n, key, d[nd].lines, sizeof(d[nd].lines));
			nd++;
		}
		d[j].count += v[i].count;
	}
	for (size_t i = 0; i < nd; i++) {
		uint64_t cnt = 0;
		int m = 0;

		if (d[i].done)
			continue;
		for (size_t j = i; j < nd; j++)
			if (!d[j].done && !strcmp(d[j].grp, d[i].grp) && !strcmp(d[j].lines, d[i].lines))
				cnt += d[j].count;
		printf("\nrule suggested-%d {      # %s: %llu would-be drop%s%s%s\n%s    to ", ++k, d[i].grp,
		       (unsigned long long)cnt, cnt == 1 ? "" : "s", d[i].first->rule[0] ? ", near rule " : "",
		       d[i].first->rule, d[i].lines);
		for (size_t j = i; j < nd; j++)
			if (!d[j].done && !strcmp(d[j].grp, d[i].grp) && !strcmp(d[j].lines, d[i].lines)) {
				printf("%s%s", m++ ? ", " : "", d[j].key);
				d[j].done = true;
			}
		printf(";\n}\n");
	}
	free(d);
}

static void print_report(const struct top *t, size_t lim, bool json)
{
	char a[32], b[32], pb[8];

	if (json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_ku64(&j, "events", t->events);
		sl_json_key(&j, "entries");
		sl_json_arr_open(&j);
		for (size_t i = 0; i < lim; i++) {
			const struct entry *x = &t->v[i];

			fmt_t(x->first, a, sizeof(a));
			fmt_t(x->last, b, sizeof(b));
			sl_json_obj_open(&j);
			sl_json_kstr(&j, "dst", x->dst[0] ? x->dst : NULL);
			sl_json_kstr(&j, "proto", x->family ? sl_ev_proto_name(x->proto, pb, sizeof(pb)) : NULL);
			sl_json_key(&j, "dport");
			if (x->dport < 0)
				sl_json_null(&j);
			else
				sl_json_i64(&j, x->dport);
			sl_json_ku64(&j, "count", x->count);
			sl_json_kstr(&j, "first", a);
			sl_json_kstr(&j, "last", b);
			sl_json_kstr(&j, "rule", x->rule[0] ? x->rule : NULL);
			sl_json_kstr(&j, "reason", x->reason);
			sl_json_kstr(&j, "name", x->name[0] ? x->name : NULL);
			sl_json_kstr(&j, "verdict", sl_event_verdict(x->verdict));
			sl_json_obj_close(&j);
		}
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
		return;
	}
	printf("%-8s %-40s %-6s %-6s %-20s %-9s %-20s %-20s %s\n", "COUNT", "DESTINATION", "PROTO", "PORT",
	       "RULE", "REASON", "FIRST", "LAST", "NAME");
	for (size_t i = 0; i < lim; i++) {
		const struct entry *x = &t->v[i];
		char port[16] = "-";

		if (x->dport >= 0)
			snprintf(port, sizeof(port), "%d", x->dport);
		fmt_t(x->first, a, sizeof(a));
		fmt_t(x->last, b, sizeof(b));
		printf("%-8llu %-40s %-6s %-6s %-20s %-9s %-20s %-20s %s\n", (unsigned long long)x->count,
		       x->dst[0] ? x->dst : "-", x->family ? sl_ev_proto_name(x->proto, pb, sizeof(pb)) : "-",
		       port, x->rule[0] ? x->rule : "-", x->reason, a, b, x->name[0] ? x->name : "-");
	}
	printf("%llu events in %zu entries%s\n", (unsigned long long)t->events, t->n,
	       lim < t->n ? " (the largest shown: --limit 0 shows all)" : "");
}

int sl_cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "instance", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "from", required_argument, NULL, 'F' },
		{ "window", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'n' },
		{ "rule", required_argument, NULL, 'R' },
		{ "verdict", required_argument, NULL, 'V' },
		{ "dst", required_argument, NULL, 'D' },
		{ "suggest", no_argument, NULL, 'S' },
		{ 0 }
	};
	struct top t = { .f = { .verdict = -1 } };
	struct sl_evsrc_opts o = { .inst = "default" };
	const char *from = NULL;
	unsigned long lim = 20, w;
	bool json = false, sug = false, inst_set = false;
	char *end;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jhi:vw:n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'i': o.inst = optarg; inst_set = true; break;
		case 'v': break;
		case 'F': from = optarg; break;
		case 'S': sug = true; break;
		case 'R': t.f.rule = optarg; break;
		case 'w':
		case 'n':
			w = strtoul(optarg, &end, 10);
			if (!*optarg || *end || w > 86400 * 365) {
				fprintf(stderr, "sluice: --%s takes a number, not '%s'\n",
					ch == 'w' ? "window" : "limit", optarg);
				return 2;
			}
			if (ch == 'w')
				o.window_s = (unsigned)w;
			else
				lim = w;
			break;
		case 'V':
			t.f.verdict = sl_ev_verdict_parse(optarg);
			if (t.f.verdict < 0) {
				fprintf(stderr, "sluice: --verdict takes drop, audit-drop or pass, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'D':
			if (sl_ev_filter_dst(&t.f, optarg)) {
				fprintf(stderr, "sluice: --dst takes an address or a prefix, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: sluice top %s\n%s\noptions:\n%s", sl_top_args, sl_top_summary, sl_top_help);
			return 0;
		default:
			fprintf(stderr, "usage: sluice top %s\n(see: sluice top --help)\n", sl_top_args);
			return 2;
		}
	}
	if (optind != argc || (from && (inst_set || o.window_s))) {
		fprintf(stderr, "sluice: top reads --from FILE or an instance (--instance, --window), not both, "
			"and takes no arguments\nusage: sluice top %s\n", sl_top_args);
		return 2;
	}
	if (from) {
		rc = from_file(from, &t);
	} else {
		if (geteuid() != 0) {
			fprintf(stderr, "sluice: reading an instance's events needs root (CAP_BPF); run it with "
				"sudo, or read a log file with --from FILE\n");
			return 1;
		}
		rc = sl_evsrc_run(&o, on_ev, &t);
	}
	if (rc) {
		free(t.v);
		return rc;
	}
	qsort(t.v, t.n, sizeof(*t.v), by_count);
	if (!lim || lim > t.n)
		lim = t.n;
	print_report(&t, lim, json && !sug);
	if (sug)
		suggest(t.v, lim);
	free(t.v);
	return 0;
}
