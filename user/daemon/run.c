// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - `sluice run` (run.h, docs/dns.md "sluice run").
 *
 * One thread, one epoll loop: a signalfd (HUP: re-apply, TERM/INT: exit),
 * the dns_fallback ring buffer, and one UDP socket per outstanding query.
 * Every insertion goes through the BPF learner (sluice_inject, run with
 * BPF_PROG_TEST_RUN), so caps, LRU, slots and counters are the learner's.
 *
 * Trust: the answers to its own queries come to a socket connected to a
 * configured resolver, with the transaction id (random) and the question
 * sent; fallback events are emitted by the learner only after its own
 * resolver, pending-query, rcode and name checks (bpf/learn.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sdnotify.h"
#include "daemon/diaglog.h"
#include "daemon/run.h"
#include "daemon/metrics.h"
#include "daemon/watch.h"
#include "daemon/guard.h"
#include "util/dnsmsg.h"
#include "daemon/evserve.h"
#include "daemon/feeds.h"

#define RUN_QUERY_MS    2000    /* a resolver that has not answered by then: the next one */
#define RUN_TCP_MS      3000
#define RUN_NEG_S       300     /* no such name / no address of the type: ask again after */
#define RUN_RETRY_MAX_S 300     /* back-off cap when no resolver answers */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ the daemon */

struct rq {                     /* an outstanding UDP query */
	int fd;                 /* -1: none */
	uint16_t id;
	size_t res;             /* resolver index */
	uint64_t deadline;
};

static const uint16_t qtypes[2] = { 1, 28 };
static const char *const qtname[2] = { "A", "AAAA" };

struct rname {
	char name[256];
	uint8_t wire[SL_DNSM_NAME];
	size_t wlen;
	uint64_t due[2];
	unsigned fails[2];
	long last[2];           /* addresses at the last resolution (-1: none yet) */
	struct rq q[2];
};

struct run {
	const char *file;
	struct sl_apply_opts ao;
	const char *inst;
	struct rname *names;
	size_t nnames;
	struct sockaddr_storage res[64];
	socklen_t reslen[64];
	size_t nres;
	char netns[SL_IFNAME_LEN];
	int ns_fd, self_ns;     /* the namespace to resolve from (-1: ours) */
	uint32_t floor_s, max_s;
	struct ring_buffer *rb;
	uint32_t rb_id;
	struct sluice_bpf *inj;
	uint32_t cfg_id;
	int ep, sfd;
	struct sl_evd *evd;     /* the events reader (daemon/evserve.c) */
	uint64_t checked_ms;
	bool rule_error;                /* the last run_apply failed on the rules file */
	uint64_t warn_fp;               /* the warnings the journal has already seen (warn_fp()) */
	int watch_fd;                   /* rtnetlink link and address events (watch.c), -1 */
	uint64_t reattach_ms;           /* last re-attach attempt */
	struct sl_guard guard;          /* what runs at the attachments (guard.c) */
	bool stop, hup, detached;
};

/* sluice_inject on the running generation's maps (reloaded after an apply). */
static int inject_fd(struct run *r)
{
	uint32_t id = sl_pin_map_id(r->inst, "learn_cfg");

	if (r->inj && id == r->cfg_id)
		return sl_inject_prog_fd(r->inj);
	if (r->inj)
		sl_bpf_destroy(r->inj);
	r->inj = NULL;
	if (sl_inject_load(r->inst, &r->inj, &r->cfg_id)) {
		sl_run_log("instance %s: cannot load sluice_inject: nothing can be learned until it loads "
		      "(see the message above)", r->inst);
		return -1;
	}
	return sl_inject_prog_fd(r->inj);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	const struct sl_dns_event *ev = data;
	struct sl_inject_res res;
	char q[256] = "?", src[INET6_ADDRSTRLEN] = "?";
	struct sl_dnsm m;
	int fd, e;

	if (size < sizeof(*ev))
		return 0;
	inet_ntop(ev->family == 4 ? AF_INET : AF_INET6, ev->saddr, src, sizeof(src));
	if (!sl_dnsm_parse(ev->msg, ev->caplen < SL_DNS_BUF ? ev->caplen : SL_DNS_BUF, ev->len, &m)) {
		sl_dnsm_dotted(m.qname, m.qlen, q, sizeof(q));
		sl_dnsm_free(&m);
	}
	if ((fd = inject_fd(r)) < 0)
		return 0;
	e = sl_fallback_learn(fd, ev, &res);
	if (e)
		sl_run_log("fallback: answer for %s from %s (%u bytes, %u captured): cannot learn: %s",
		      q, src, ev->len, ev->caplen, strerror(-e));
	else
		sl_run_log("fallback: answer for %s from %s (%u bytes, %u captured, %u records walked in BPF): "
		      "%zu more address records in %zu messages, %zu learned",
		      q, src, ev->len, ev->caplen, ev->walked, res.addrs, res.chunks, res.learned);
	return 0;
}

/* The dns_fallback ring buffer of the instance (reopened if an apply pinned another). */
static void ring_check(struct run *r)
{
	char p[256];
	uint32_t id = sl_pin_map_id(r->inst, "dns_fallback");

	if (id && id == r->rb_id)
		return;
	if (r->rb) {
		sl_ring_free(r->rb);       /* its epoll fd leaves our epoll set when closed */
		r->rb = NULL;
		r->rb_id = 0;
	}
	if (!id)
		return;
	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/dns_fallback", r->inst);
	r->rb = sl_ring_open(r->inst, "dns_fallback", on_event, r);
	if (!r->rb && !errno)
		return;
	if (!r->rb) {
		sl_run_log("%s: cannot read the ring buffer: %s; oversized answers are counted, not learned",
		      p, strerror(errno));
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, sl_ring_epoll_fd(r->rb), &ev)) {
		sl_run_log("%s: epoll: %s", p, strerror(errno));
		sl_ring_free(r->rb);
		r->rb = NULL;
		return;
	}
	r->rb_id = id;
}

/* A socket in the namespace the instance's interfaces are in. */
static int ns_socket(struct run *r, int family, int type)
{
	int fd, e;

	if (r->ns_fd < 0)
		return socket(family, type | SOCK_CLOEXEC, 0);
	if (setns(r->ns_fd, CLONE_NEWNET))
		return -1;
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	e = errno;
	if (setns(r->self_ns, CLONE_NEWNET)) {
		sl_run_log("cannot return to sluice's own network namespace: %s; exiting", strerror(errno));
		exit(1);
	}
	errno = e;
	return fd;
}

static void res_name(const struct run *r, size_t i, char *buf, size_t sz)
{
	const struct sockaddr_storage *s = &r->res[i];

	if (s->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)s)->sin_addr, buf, sz);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)s)->sin6_addr, buf, sz);
}

static void q_close(struct run *r, struct rq *q)
{
	if (q->fd >= 0) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, q->fd, NULL);
		close(q->fd);
	}
	q->fd = -1;
}

static uint32_t clamp_ttl(const struct run *r, uint32_t ttl)
{
	if (ttl > 0x7fffffff)
		ttl = 0;
	if (ttl < r->floor_s)
		ttl = r->floor_s;
	if (r->max_s && ttl > r->max_s)
		ttl = r->max_s;
	return ttl ? ttl : 1;
}

static void give_up(struct run *r, size_t i, int t, const char *why)
{
	struct rname *n = &r->names[i];
	uint32_t s = 5u << (n->fails[t] < 6 ? n->fails[t] : 6);

	if (s > RUN_RETRY_MAX_S)
		s = RUN_RETRY_MAX_S;
	n->fails[t]++;
	sl_run_log("resolve %s %s: %s; trying again in %u s", n->name, qtname[t], why, s);
	n->due[t] = now_ms() + (uint64_t)s * 1000;
}

static int q_start(struct run *r, size_t i, int t, size_t res);

/* An answer to our query: learn it, schedule the next resolution. */
static void q_answer(struct run *r, size_t i, int t, const uint8_t *buf, size_t n, size_t res)
{
	struct rname *nm = &r->names[i];
	struct sl_dnsm m;
	struct sl_dnsm_plan p = { 0 };
	struct sl_inject_res ir = { 0 };
	int rcode, fd, e;
	char rs[INET6_ADDRSTRLEN];

	res_name(r, res, rs, sizeof(rs));
	if (sl_dnsm_parse(buf, n, n, &m)) {
		if (res + 1 < r->nres && !q_start(r, i, t, res + 1))
			return;
		give_up(r, i, t, "malformed answer");
		return;
	}
	rcode = m.flags & 0x0f;
	if (rcode != 0 && rcode != 3) {         /* SERVFAIL, REFUSED, ...: another resolver */
		sl_dnsm_free(&m);
		if (res + 1 < r->nres && !q_start(r, i, t, res + 1))
			return;
		{
			static const char *const rn[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
							  "NOTIMP", "REFUSED" };
			char why[96];

			snprintf(why, sizeof(why), "error answer (rcode %d%s%s) from every resolver", rcode,
				 rcode < 6 ? " " : "", rcode < 6 ? rn[rcode] : "");
			give_up(r, i, t, why);
		}
		return;
	}
	nm->fails[t] = 0;
	if (rcode == 3 || sl_dnsm_plan(&m, 0, &p) || !p.naddr) {
		free(p.addr);
		if (nm->last[t] != 0)
			sl_run_log("resolve %s %s: %s (resolver %s); asking again in %u s", nm->name, qtname[t],
			      rcode == 3 ? "no such name" : "no address", rs, clamp_ttl(r, RUN_NEG_S));
		nm->last[t] = 0;
		nm->due[t] = now_ms() + (uint64_t)clamp_ttl(r, RUN_NEG_S) * 1000;
		sl_dnsm_free(&m);
		return;
	}
	{
		uint32_t ttl = clamp_ttl(r, p.min_ttl);

		if ((fd = inject_fd(r)) < 0)
			e = -ENOENT;
		else
			e = sl_inject_answer(fd, &m, 0, &ir);   /* the plan p, in chunks */
		if (e < 0)
			sl_run_log("resolve %s %s: cannot hand the answer to the learner: %s", nm->name, qtname[t],
			      strerror(-e));
		else if ((long)p.naddr != nm->last[t] || ir.refused)
			sl_run_log("resolve %s %s: %zu address%s (resolver %s, ttl %u s), %zu learned%s; "
			      "refreshed every %u s", nm->name, qtname[t], p.naddr, p.naddr == 1 ? "" : "es",
			      rs, p.min_ttl, ir.learned,
			      ir.refused ? " (the learner refused some: see sluice learned's counters)" : "", ttl);
		nm->last[t] = (long)p.naddr;
		/* again when the TTL (at least the floor) runs out */
		nm->due[t] = now_ms() + (uint64_t)ttl * 1000;
		free(p.addr);
	}
	sl_dnsm_free(&m);
}

/* Over TCP (the UDP answer had the TC bit): blocking, bounded by RUN_TCP_MS. */
static int q_tcp(struct run *r, size_t res, const uint8_t *q, size_t qn, uint8_t *ans, size_t *n)
{
	struct timeval tv = { RUN_TCP_MS / 1000, (RUN_TCP_MS % 1000) * 1000 };
	uint8_t hdr[2], out[2 + 600];
	size_t got = 0, want;
	int fd = ns_socket(r, r->res[res].ss_family, SOCK_STREAM);
	int e = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	out[0] = (uint8_t)(qn >> 8);
	out[1] = (uint8_t)qn;
	memcpy(out + 2, q, qn);
	if (connect(fd, (struct sockaddr *)&r->res[res], r->reslen[res]) ||
	    send(fd, out, qn + 2, MSG_NOSIGNAL) != (ssize_t)(qn + 2) ||
	    recv(fd, hdr, 2, MSG_WAITALL) != 2) {
		e = errno ? -errno : -EIO;
		goto out;
	}
	want = (size_t)hdr[0] << 8 | hdr[1];
	while (got < want) {
		ssize_t k = recv(fd, ans + got, want - got, 0);

		if (k <= 0) {
			e = k ? -errno : -ECONNRESET;
			goto out;
		}
		got += (size_t)k;
	}
	*n = got;
out:
	close(fd);
	return e;
}

static void q_readable(struct run *r, size_t i, int t)
{
	struct rname *nm = &r->names[i];
	struct rq *q = &nm->q[t];
	static uint8_t buf[65536];
	ssize_t k;

	while ((k = recv(q->fd, buf, sizeof(buf), 0)) >= 0) {
		struct sl_dnsm m;
		size_t res = q->res, n = (size_t)k;
		int ok;

		if (sl_dnsm_parse(buf, n, n, &m))
			continue;
		ok = !sl_dnsm_matches(&m, q->id, nm->wire, nm->wlen, qtypes[t]);
		sl_dnsm_free(&m);
		if (!ok)
			continue;       /* not the answer to our question: keep waiting */
		q_close(r, q);
		if (buf[2] & 0x02) {    /* truncated: the same question over TCP */
			uint8_t qb[600];
			size_t qn = sl_dnsm_query(qb, sizeof(qb), q->id, nm->wire, nm->wlen, qtypes[t]);
			int e = q_tcp(r, res, qb, qn, buf, &n);

			if (e) {
				char rs[INET6_ADDRSTRLEN];

				res_name(r, res, rs, sizeof(rs));
				if (res + 1 < r->nres && !q_start(r, i, t, res + 1))
					return;
				sl_run_log("resolve %s %s: truncated over UDP and no TCP answer from %s: %s",
				      nm->name, qtname[t], rs, strerror(-e));
				give_up(r, i, t, "no answer over TCP");
				return;
			}
			if (sl_dnsm_parse(buf, n, n, &m) == 0) {
				ok = !sl_dnsm_matches(&m, q->id, nm->wire, nm->wlen, qtypes[t]);
				sl_dnsm_free(&m);
				if (!ok) {
					give_up(r, i, t, "the TCP answer does not match the question");
					return;
				}
			}
		}
		q_answer(r, i, t, buf, n, res);
		return;
	}
}

static int q_start(struct run *r, size_t i, int t, size_t res)
{
	struct rname *nm = &r->names[i];
	struct rq *q = &nm->q[t];
	uint8_t buf[600];
	size_t n;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 2 + i * 2 + (size_t)t };
	char rs[INET6_ADDRSTRLEN];

	q_close(r, q);
	for (; res < r->nres; res++) {
		res_name(r, res, rs, sizeof(rs));
		if (getrandom(&q->id, sizeof(q->id), 0) != sizeof(q->id))
			q->id = (uint16_t)(now_ms() * 2654435761u >> 16);
		n = sl_dnsm_query(buf, sizeof(buf), q->id, nm->wire, nm->wlen, qtypes[t]);
		q->fd = ns_socket(r, r->res[res].ss_family, SOCK_DGRAM | SOCK_NONBLOCK);
		if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&r->res[res], r->reslen[res]) ||
		    send(q->fd, buf, n, 0) != (ssize_t)n || epoll_ctl(r->ep, EPOLL_CTL_ADD, q->fd, &ev)) {
			sl_run_log("resolve %s %s: cannot ask %s: %s", nm->name, qtname[t], rs, strerror(errno));
			q_close(r, q);
			continue;
		}
		q->res = res;
		q->deadline = now_ms() + RUN_QUERY_MS;
		return 0;
	}
	give_up(r, i, t, r->nres ? "no resolver could be asked" :
		"no resolver configured (a 'resolvers' statement, or nameserver lines in /etc/resolv.conf)");
	return -EHOSTUNREACH;
}

static void names_free(struct run *r)
{
	for (size_t i = 0; i < r->nnames; i++)
		for (int t = 0; t < 2; t++)
			q_close(r, &r->names[i].q[t]);
	free(r->names);
	r->names = NULL;
	r->nnames = 0;
}

/* The exact host names and resolvers of @rs; names already known keep their schedule. */
static int names_set(struct run *r, const struct sl_ruleset *rs)
{
	struct rname *v = NULL;
	size_t n = 0, cap = 0;
	struct sl_cidr rb[64];
	const struct sl_cidr *res = rs->resolvers;
	size_t nres = rs->nresolvers;

	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t h = 0; h < rs->rules[i].nhosts; h++) {
			const struct sl_host *hs = &rs->rules[i].hosts[h];
			bool dup = false;

			if (hs->wildcard)
				continue;
			for (size_t k = 0; k < n && !dup; k++)
				dup = !strcmp(v[k].name, hs->name);
			if (dup)
				continue;
			if (n == cap) {
				void *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
			}
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].name, sizeof(v[n].name), "%s", hs->name);
			int wl = sl_dnsm_wire(hs->name, v[n].wire, sizeof(v[n].wire));
			if (wl < 0)
				continue;
			v[n].wlen = (size_t)wl;
			for (int t = 0; t < 2; t++) {
				v[n].q[t].fd = -1;
				v[n].last[t] = -1;
			}
			for (size_t k = 0; k < r->nnames; k++)
				if (!strcmp(r->names[k].name, v[n].name)) {
					memcpy(v[n].due, r->names[k].due, sizeof(v[n].due));
					memcpy(v[n].last, r->names[k].last, sizeof(v[n].last));
				}
			n++;
		}
	names_free(r);
	r->names = v;
	r->nnames = n;

	if (!res) {
		if (sl_resolv_conf(NULL, rb, 64, &nres))
			nres = 0;
		res = rb;
	}
	r->nres = 0;
	for (size_t i = 0; i < nres && r->nres < 64; i++) {
		struct sockaddr_storage *s = &r->res[r->nres];

		memset(s, 0, sizeof(*s));
		if (res[i].family == AF_INET && res[i].plen == 32) {
			struct sockaddr_in *a = (struct sockaddr_in *)s;

			a->sin_family = AF_INET;
			a->sin_port = htons(53);
			memcpy(&a->sin_addr, res[i].addr, 4);
			r->reslen[r->nres++] = sizeof(*a);
		} else if (res[i].family == AF_INET6 && res[i].plen == 128) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)s;

			a->sin6_family = AF_INET6;
			a->sin6_port = htons(53);
			memcpy(&a->sin6_addr, res[i].addr, 16);
			r->reslen[r->nres++] = sizeof(*a);
		}
	}
	return 0;
}

/* Where to resolve from: --netns, else the namespace of the instance's TC attachments. */
static void pick_netns(struct run *r)
{
	char p[64 + SL_IFNAME_LEN];
	const char *ns = r->ao.netns;
	struct sl_instance in;
	static struct sl_attach att[SL_MAX_ATTACH];
	char found[SL_IFNAME_LEN] = "";

	if (!ns && sl_instance_open(r->inst, &in) == 0) {
		if (sl_read_attach(in.attach_fd, att) == 0)
			for (size_t k = 0; k < SL_MAX_ATTACH && !found[0]; k++)
				if ((att[k].hook == SL_HOOK_TC_EGRESS || att[k].hook == SL_HOOK_DNS) &&
				    att[k].netns[0])
					snprintf(found, sizeof(found), "%.*s", SL_IFNAME_LEN - 1, att[k].netns);
		sl_instance_close(&in);
		ns = found[0] ? found : NULL;
	}
	if (ns && !strcmp(ns, r->netns) && r->ns_fd >= 0)
		return;
	if (r->ns_fd >= 0)
		close(r->ns_fd);
	r->ns_fd = -1;
	r->netns[0] = '\0';
	if (!ns)
		return;
	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	r->ns_fd = open(p, O_RDONLY | O_CLOEXEC);
	if (r->ns_fd < 0) {
		sl_run_log("%s: cannot open: %s; resolving from sluice's own network namespace", p,
		      strerror(errno));
		return;
	}
	snprintf(r->netns, sizeof(r->netns), "%s", ns);
}

/* Load and apply the file; on any error the running ruleset stays.  The
 * file's settle wait runs beside the verifier (sl_settle_check); a file
 * that changed meanwhile is read again, the whole stable read. */
static int run_apply(struct run *r)
{
	struct sl_settle st = { NULL, false };
	struct sl_ruleset rs;
	struct sl_diags d = { 0 };
	struct sl_apply_report rep;
	bool stable = false;
	int e;

again:
	memset(&rs, 0, sizeof(rs));
	e = stable ? sl_ruleset_load(r->file, &rs, &d) : sl_ruleset_load_unsettled(r->file, &rs, &d, &st.check);
	sl_run_log_diags(r->file, &d, &r->warn_fp);
	if (e) {
		sl_run_log("%s: %zu error%s; nothing was loaded, the running ruleset is unchanged", r->file,
		      d.nerrors, d.nerrors == 1 ? "" : "s");
		sl_diag_free(&d);
		r->rule_error = true;
		return e;
	}
	sl_diag_free(&d);
	e = sl_apply_settled(&rs, &r->ao, &rep, &st);
	if (e == -ESTALE && st.changed && !stable) {
		sl_run_log("%s changed while it was applied (nothing was attached or switched); "
			   "reading it again", r->file);
		sl_ruleset_free(&rs);
		stable = true;
		goto again;
	}
	if (e) {
		sl_run_log("%s: cannot apply (see above); the running ruleset is unchanged", r->file);
		sl_ruleset_free(&rs);
		return e;
	}
	if ((e = names_set(r, &rs)) || (e = sl_run_feeds_set(&rs, r->inst))) {
		sl_ruleset_free(&rs);
		return e;
	}
	pick_netns(r);
	sl_run_log("instance %s: generation %u (%zu rules) running on %zu attachment%s; %zu exact host "
	      "name%s to resolve through %zu resolver%s%s%s", r->inst, rep.generation, rs.nrules,
	      rep.nattached, rep.nattached == 1 ? "" : "s", r->nnames, r->nnames == 1 ? "" : "s",
	      r->nres, r->nres == 1 ? "" : "s", r->netns[0] ? " from network namespace " : "",
	      r->netns);
	sl_ruleset_free(&rs);
	ring_check(r);
	return 0;
}

/*
 * The host's addresses kept current for the ingress hooks, and a target that
 * came back (deleted and created again) re-attached by an apply; at most
 * every 5 s while that fails (docs/operations.md section 6).
 */
#define SL_WATCH_TAG UINT64_MAX        /* tested before sl_evd_owns(): it has SL_EVD_TAG's bit */

static void run_watch(struct run *r, uint64_t now)
{
	enum sl_guard_verdict v;
	char what[64];

	sl_host_addrs_refresh(r->inst);
	sl_run_rollback_check(r->inst);
	v = sl_guard_check(&r->guard, r->inst, now);   /* what runs there (guard.c) */
	if (v != SL_GUARD_OK) {
		r->detached = r->stop = v == SL_GUARD_DETACHED;
		if (v == SL_GUARD_RESTORE)
			run_apply(r);   /* puts BYPASSED attachments first again (kernel/restore.c) */
		return;
	}
	if (now - r->reattach_ms < 5000 || !sl_target_lost(r->inst, &r->ao, what, sizeof(what)))
		return;
	r->reattach_ms = now;
	sl_run_log("%s exists but is not filtered (deleted and created again?): re-attaching", what);
	if (run_apply(r) == 0)
		r->reattach_ms = 0;
}

static void on_signal(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1)
			sl_evd_reopen(r->evd);  /* --log-file: rotated */
		if (si.ssi_signo == SIGHUP)
			r->hup = true;
		else if (si.ssi_signo != SIGUSR1)
			r->stop = true;
	}
}

int sl_run(const char *file, const struct sl_apply_opts *ao, const struct sl_run_opts *ro)
{
	struct run r = { .file = file, .ao = *ao, .ns_fd = -1, .self_ns = -1, .ep = -1, .sfd = -1,
			 .watch_fd = -1 };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	sigset_t ss;
	int rc = 1;

	r.inst = ao->instance ? ao->instance : "default";
	r.ao.rules_path = realpath(file, NULL);         /* recorded with each generation */
	r.floor_s = ao->dns_floor_s ? ao->dns_floor_s : SL_LEARN_TTL_FLOOR_S;
	r.max_s = SL_LEARN_TTL_MAX_S;
	sigemptyset(&ss);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) ||
	    (r.sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (r.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(r.ep, EPOLL_CTL_ADD, r.sfd, &ev) ||
	    (r.self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		sl_run_log("cannot set up signals, epoll or /proc/self/ns/net: %s", strerror(errno));
		goto out;
	}
	if (sl_metrics_start())         /* before the apply: a port in use changes nothing */
		goto out;
	sl_run_feeds_prime(file);       /* URL sets without a copy yet: daemon/feeds.c */
	if (run_apply(&r)) {
		rc = r.rule_error ? 2 : 1;      /* as apply: 2 for a rule error */
		goto out;
	}
	if (sl_evd_open(r.inst, r.ep, ro, &r.evd))
		goto out;
	r.watch_fd = sl_watch_open(ao);
	if (r.watch_fd >= 0) {
		struct epoll_event wev = { .events = EPOLLIN, .data.u64 = SL_WATCH_TAG };

		if (epoll_ctl(r.ep, EPOLL_CTL_ADD, r.watch_fd, &wev))
			sl_run_log("epoll: link events: %s (checked once a second instead)", strerror(errno));
	}
	if (r.nnames && inject_fd(&r) < 0)
		sl_run_log("exact names will be resolved but not learned until sluice_inject loads");
	sl_sd_notify("READY=1");
	sl_run_log("running (pid %d): SIGHUP re-applies %s, SIGTERM stops sluice run and leaves the "
	      "filter in place", (int)getpid(), file);
	rc = 0;
	while (!r.stop) {
		struct epoll_event evs[32];
		uint64_t now = now_ms(), next = now + 60000;
		int n, timeout;

		if (r.hup) {
			r.hup = false;
			sl_sd_notify("RELOADING=1");
			sl_run_log("SIGHUP: re-applying %s", file);
			sl_run_feeds_prime(file);       /* a new URL set: its first copy */
			run_apply(&r);
			sl_sd_notify("READY=1");
		}
		if (now - r.checked_ms >= 1000) {
			r.checked_ms = now;
			ring_check(&r);         /* a detach --all and a new apply make a new one */
			sl_evd_tick(r.evd);
			run_watch(&r, now);
		}
		for (size_t i = 0; i < r.nnames; i++)
			for (int t = 0; t < 2; t++) {
				struct rq *q = &r.names[i].q[t];

				if (q->fd >= 0 && q->deadline <= now) {
					size_t res = q->res;

					q_close(&r, q);
					if (res + 1 < r.nres)
						q_start(&r, i, t, res + 1);     /* gives up itself */
					else
						give_up(&r, i, t, "no answer from any resolver");
				} else if (q->fd < 0 && r.names[i].due[t] <= now) {
					q_start(&r, i, t, 0);
				}
				if (q->fd >= 0 && q->deadline < next)
					next = q->deadline;
				else if (q->fd < 0 && r.names[i].due[t] < next)
					next = r.names[i].due[t];
			}
		if (sl_run_feeds_tick(now, &next))     /* a URL set changed: re-apply */
			run_apply(&r);
		now = now_ms();
		timeout = next > now ? (int)(next - now) : 0;
		if (timeout > 1000)
			timeout = 1000;
		n = epoll_wait(r.ep, evs, 32, timeout);
		if (n < 0 && errno != EINTR) {
			sl_run_log("epoll_wait: %s", strerror(errno));
			rc = 1;
			break;
		}
		for (int k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;

			if (tag == 0)
				on_signal(&r);
			else if (tag == SL_WATCH_TAG) {
				sl_watch_drain(r.watch_fd);
				run_watch(&r, now_ms());
			}
			else if (sl_evd_owns(tag))
				sl_evd_on(r.evd, tag);
			else if (tag == 1 && r.rb)
				sl_ring_consume(r.rb);
			else if (tag >= 2 && (tag - 2) / 2 < r.nnames)
				if (r.names[(tag - 2) / 2].q[(tag - 2) % 2].fd >= 0)
					q_readable(&r, (tag - 2) / 2, (int)((tag - 2) % 2));
		}
	}
	if (r.detached) {
		sl_sd_notify("STATUS=instance detached from outside: nothing is filtered");
		rc = 1;
	} else if (r.stop) {
		sl_sd_notify("STOPPING=1");
		sl_run_log("stopping; the filter stays in place (remove it with: sluice detach --all "
		      "--instance %s)", r.inst);
	}
out:
	sl_metrics_stop();
	sl_run_feeds_free();
	sl_evd_close(r.evd);
	names_free(&r);
	if (r.rb)
		sl_ring_free(r.rb);
	if (r.inj)
		sl_bpf_destroy(r.inj);
	if (r.ns_fd >= 0)
		close(r.ns_fd);
	if (r.self_ns >= 0)
		close(r.self_ns);
	if (r.sfd >= 0)
		close(r.sfd);
	if (r.watch_fd >= 0)
		close(r.watch_fd);
	if (r.ep >= 0)
		close(r.ep);
	free((char *)r.ao.rules_path);
	return rc;
}
