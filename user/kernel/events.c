// SPDX-License-Identifier: GPL-2.0-only
/*
 * events.c - the events of an instance from user space (events.h): the
 * counters, the decoding of raw records, and the single reader of the
 * ring buffer.
 *
 * One reader: a ring buffer hands each record to whoever consumes it
 * first, so two readers would each see part of the stream.  The reader
 * holds an exclusive flock on SL_RUN_DIR/<instance>.events.lock (holding
 * its pid) for as long as it reads; `sluice run` holds it for its
 * lifetime and serves the stream to `sluice log` over a socket, and
 * `sluice log` reads the ring buffer itself only when it gets the lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"
#include "kernel/journal.h"         /* slk_same_file */
#include "util/dnsmsg.h"
#include "image/event.h"
#include "sl.h"

static int pin_get(const char *inst, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	return bpf_obj_get(p);
}

static uint32_t fd_id(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int sl_events_counters(const char *inst, uint64_t out[SL_EC_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd, e = 0;
	uint64_t *v;

	memset(out, 0, SL_EC_MAX * sizeof(*out));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	fd = pin_get(inst, "ev_ctr");
	if (fd < 0)
		return -errno;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 k = 0; k < SL_EC_MAX && !e; k++) {
		if (bpf_map_lookup_elem(fd, &k, v)) {
			e = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	close(fd);
	return e;
}

/* ------------------------------------------------------------- names */

struct ncname {
	uint32_t ncls;
	char name[SL_DNS_NAME_MAX + 3];
};

struct sl_ev_names {
	char inst[SL_INST_LEN + 1];
	struct sl_rule_meta *meta;              /* SL_MAX_SLOTS */
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_att_owner *own;               /* sluice-cni's containers by record, or NULL */
	struct ncname *nc;
	size_t nnc;
	int64_t mono2real;                      /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t loaded_ns;                     /* CLOCK_MONOTONIC */
};

static uint64_t ts_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Every (name class, name) of a names / wilds map. */
static void names_of(struct sl_ev_names *n, const char *inst, const char *map, bool wild)
{
	int fd = pin_get(inst, map);
	__u64 key, next, *kp = NULL;
	struct sl_name_val v;

	if (fd < 0)
		return;
	while (bpf_map_get_next_key(fd, kp, &next) == 0) {
		struct ncname *q;
		char dotted[SL_DNS_NAME_MAX + 1];

		key = next;
		kp = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		q = realloc(n->nc, (n->nnc + 1) * sizeof(*n->nc));
		if (!q)
			break;
		n->nc = q;
		sl_dnsm_dotted(v.wire, v.wlen, dotted, sizeof(dotted));
		q[n->nnc].ncls = v.ncls;
		snprintf(q[n->nnc].name, sizeof(q[n->nnc].name), "%s%s", wild ? "*." : "", dotted);
		n->nnc++;
	}
	close(fd);
}

static int names_fill(struct sl_ev_names *n)
{
	int rfd = pin_get(n->inst, "rules"), afd = pin_get(n->inst, "attachments"), e = 0;

	memset(n->meta, 0, SL_MAX_SLOTS * sizeof(*n->meta));
	memset(n->att, 0, sizeof(n->att));
	if (rfd >= 0)
		e = sl_read_rule_meta(rfd, n->meta);
	if (afd >= 0 && !e)
		e = sl_read_attach(afd, n->att);
	if (rfd >= 0)
		close(rfd);
	if (afd >= 0)
		close(afd);
	free(n->nc);
	n->nc = NULL;
	n->nnc = 0;
	free(n->own);
	if (sl_owners_table(n->inst, &n->own))
		n->own = NULL;
	names_of(n, n->inst, "names", false);
	names_of(n, n->inst, "wilds", true);
	n->mono2real = (int64_t)ts_ns(CLOCK_REALTIME) - (int64_t)ts_ns(CLOCK_MONOTONIC);
	n->loaded_ns = ts_ns(CLOCK_MONOTONIC);
	return e;
}

int sl_ev_names_load(const char *inst, struct sl_ev_names **out)
{
	struct sl_ev_names *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (!n || !(n->meta = calloc(SL_MAX_SLOTS, sizeof(*n->meta)))) {
		free(n);
		return -ENOMEM;
	}
	snprintf(n->inst, sizeof(n->inst), "%s", inst);
	names_fill(n);
	*out = n;
	return 0;
}

void sl_ev_names_free(struct sl_ev_names *n)
{
	if (!n)
		return;
	free(n->meta);
	free(n->nc);
	free(n->own);
	free(n);
}

static const char *nc_name(const struct sl_ev_names *n, uint32_t ncls)
{
	for (size_t i = 0; i < n->nnc; i++)
		if (n->nc[i].ncls == ncls)
			return n->nc[i].name;
	return NULL;
}

static bool names_stale(const struct sl_ev_names *n, const struct sl_event *raw)
{
	if (raw->rule != SL_NO_RULE && raw->rule < SL_MAX_SLOTS && n->meta[raw->rule].action == SL_ACT_NONE)
		return true;
	if (raw->ncls && !nc_name(n, raw->ncls))
		return true;
	if (raw->att >= SL_MAX_ATTACH)
		return false;
	/* a free record, or one taken by another interface (sluice-cni's
	 * containers come and go) since the names were read */
	return n->att[raw->att].hook == SL_HOOK_NONE ||
	       (raw->ifindex && n->att[raw->att].ifindex && raw->ifindex != n->att[raw->att].ifindex);
}

static void where(const struct sl_ev_names *n, const struct sl_event *raw, struct sl_ev *e)
{
	const struct sl_attach *a = raw->att < SL_MAX_ATTACH ? &n->att[raw->att] : NULL;
	char ifn[IF_NAMESIZE];

	if (a && a->hook != SL_HOOK_NONE) {
		snprintf(e->hook, sizeof(e->hook), "%s", sl_hook_name(a->hook));
		if (a->hook == SL_HOOK_CGROUP)
			snprintf(e->dev, sizeof(e->dev), "%s", a->cgroup);
		else
			snprintf(e->dev, sizeof(e->dev), "%.*s", SL_IFNAME_LEN, a->ifname);
		const struct sl_att_owner *o = sl_owner_of(n->own, raw->att, a->ifname);
		if (o) {
			snprintf(e->container, sizeof(e->container), "%s", o->id);
			snprintf(e->pod_ns, sizeof(e->pod_ns), "%s", o->pod_ns);
			snprintf(e->pod_name, sizeof(e->pod_name), "%s", o->pod_name);
		}
		return;
	}
	/* not an attachment record of the instance (a test run, a detached program) */
	snprintf(e->hook, sizeof(e->hook), "%s", raw->prog == SL_EVP_XDP ? "xdp" :
		 raw->prog == SL_EVP_CGROUP ? "cgroup" : "tc");
	if (raw->ifindex && if_indextoname(raw->ifindex, ifn))
		snprintf(e->dev, sizeof(e->dev), "%s", ifn);
	else if (raw->ifindex)
		snprintf(e->dev, sizeof(e->dev), "if%u", raw->ifindex);
}

void sl_ev_decode(struct sl_ev_names *n, const struct sl_event *raw, struct sl_ev *e)
{
	struct sl_ev_hdr h;
	const char *nm;

	if (names_stale(n, raw) && ts_ns(CLOCK_MONOTONIC) - n->loaded_ns > 1000000000ULL)
		names_fill(n);
	memset(e, 0, sizeof(*e));
	e->magic = SL_EV_MAGIC;
	e->size = sizeof(*e);
	e->time_ns = (uint64_t)((int64_t)raw->ts_ns + n->mono2real);
	snprintf(e->instance, sizeof(e->instance), "%s", n->inst);
	where(n, raw, e);
	e->verdict = raw->verdict;
	snprintf(e->reason, sizeof(e->reason), "%s", sl_event_reason(raw->verdict, raw->reason, raw->flags));
	if (raw->rule != SL_NO_RULE && raw->rule < SL_MAX_SLOTS && n->meta[raw->rule].action != SL_ACT_NONE)
		snprintf(e->rule, sizeof(e->rule), "%s", n->meta[raw->rule].name);
	e->family = raw->family;
	e->proto = raw->proto;
	e->len = raw->len;
	e->sport = e->dport = -1;
	e->l3 = raw->prog == SL_EVP_CGROUP;
	e->inbound = raw->dir == SL_DIR_IN;
	/* the remote end the rule judged: the destination outbound, the source
	 * inbound; the packet's own header (below) gives both ends when captured */
	if (raw->family == 4 || raw->family == 6)
		inet_ntop(raw->family == 4 ? AF_INET : AF_INET6, raw->daddr,
			  e->inbound ? e->src : e->dst, sizeof(e->dst));
	e->caplen = raw->caplen <= SL_SNAP_MAX ? raw->caplen : SL_SNAP_MAX;
	e->snap = raw->snap < e->caplen ? raw->snap : e->caplen;
	memcpy(e->data, raw->data, e->caplen);
	if (sl_event_hdr(e->data, e->caplen, e->l3, &h) == 0 && h.family == raw->family) {
		int af = h.family == 4 ? AF_INET : AF_INET6;

		inet_ntop(af, h.saddr, e->src, sizeof(e->src));
		inet_ntop(af, h.daddr, e->dst, sizeof(e->dst));
		if (raw->proto == 1 || raw->proto == 58) {
			e->sport = raw->dport;          /* ICMP type */
			e->dport = h.icmp_code;         /* and code */
		} else if ((raw->proto == 6 || raw->proto == 17) && !(raw->flags & SL_RF_FRAGMENT)) {
			e->sport = h.sport;
			e->dport = h.dport;
		}
	}
	/* the judged remote port when the header was not captured */
	if ((raw->proto == 6 || raw->proto == 17) && !(raw->flags & SL_RF_FRAGMENT)) {
		if (e->inbound && e->sport < 0)
			e->sport = raw->dport;
		else if (!e->inbound && e->dport < 0)
			e->dport = raw->dport;
	}
	else if ((raw->proto == 1 || raw->proto == 58) && e->sport < 0)
		e->sport = raw->dport;
	if (raw->ncls && (nm = nc_name(n, raw->ncls)))
		snprintf(e->name, sizeof(e->name), "%s", nm);
}

void sl_ev_sock_path(const char *inst, char *buf, size_t n)
{
	snprintf(buf, n, SL_RUN_DIR "/%s.sock", inst);
}

/* ------------------------------------------------------------ reader */

struct sl_ev_reader {
	char inst[SL_INST_LEN + 1];
	int lock_fd;
	bool locked;                    /* lock_fd is ours: flock taken */
	struct ring_buffer *rb;
	uint32_t rb_id;
	struct sl_ev_names *names;
	sl_ev_cb cb;
	void *arg;
	int count;
};

static int on_raw(void *ctx, void *data, size_t size)
{
	struct sl_ev_reader *r = ctx;
	struct sl_ev e;

	if (size < sizeof(struct sl_event))
		return 0;
	sl_ev_decode(r->names, data, &e);
	r->count++;
	r->cb(r->arg, &e);
	return 0;
}

static int take_lock(struct sl_ev_reader *r)
{
	char p[PATH_MAX], pid[32] = "";
	ssize_t k;

	if (mkdir(SL_RUN_DIR, 0755) && errno != EEXIST) {
		fprintf(stderr, "sluice: %s: cannot create: %s\n", SL_RUN_DIR, strerror(errno));
		return -errno;
	}
	snprintf(p, sizeof(p), SL_RUN_DIR "/%s.events.lock", r->inst);
again:
	r->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (r->lock_fd < 0) {
		fprintf(stderr, "sluice: %s: cannot open: %s\n", p, strerror(errno));
		return -errno;
	}
	if (flock(r->lock_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		k = pread(r->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[k > 0 ? k : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK) {
			fprintf(stderr, "sluice: instance %s: its events are read by process %s (%s holds the "
				"lock); a ring buffer has one reader: stop that process, or start `sluice run` "
				"so that every `sluice log` gets the stream from it\n", r->inst,
				pid[0] ? pid : "?", p);
			return -EBUSY;
		}
		fprintf(stderr, "sluice: %s: cannot lock: %s\n", p, strerror(e));
		return -e;
	}
	if (!slk_same_file(r->lock_fd, p)) {
		close(r->lock_fd);      /* its reader removed it as it stopped: lock the new one */
		goto again;
	}
	r->locked = true;
	if (ftruncate(r->lock_fd, 0) == 0) {
		k = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (pwrite(r->lock_fd, pid, (size_t)k, 0) != k)
			return 0;       /* the lock holds; the pid is only for the message */
	}
	return 0;
}

static int ring_open(struct sl_ev_reader *r)
{
	int fd = pin_get(r->inst, "events"), e;

	if (fd < 0) {
		e = -errno;
		if (e == -ENOENT)
			fprintf(stderr, "sluice: instance %s has no events ring buffer (%s/%s/events): apply "
				"a ruleset first (see: sluice status)\n", r->inst, SL_PIN_ROOT, r->inst);
		else
			fprintf(stderr, "sluice: %s/%s/events: %s\n", SL_PIN_ROOT, r->inst, strerror(-e));
		return e;
	}
	r->rb_id = fd_id(fd);
	r->rb = ring_buffer__new(fd, on_raw, r, NULL);
	e = r->rb ? 0 : -errno;
	close(fd);
	if (e)
		fprintf(stderr, "sluice: %s/%s/events: cannot map the ring buffer: %s\n", SL_PIN_ROOT,
			r->inst, strerror(-e));
	return e;
}

int sl_ev_reader_open(const char *inst, sl_ev_cb cb, void *arg, struct sl_ev_reader **out)
{
	struct sl_ev_reader *r = calloc(1, sizeof(*r));
	int e;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	snprintf(r->inst, sizeof(r->inst), "%s", inst);
	r->lock_fd = -1;
	r->cb = cb;
	r->arg = arg;
	if ((e = take_lock(r)) || (e = ring_open(r)) || (e = sl_ev_names_load(inst, &r->names))) {
		sl_ev_reader_close(r);
		return e;
	}
	*out = r;
	return 0;
}

int sl_ev_reader_epoll_fd(struct sl_ev_reader *r)
{
	return r->rb ? ring_buffer__epoll_fd(r->rb) : -1;
}

int sl_ev_reader_consume(struct sl_ev_reader *r)
{
	int e;

	if (!r->rb)
		return 0;
	r->count = 0;
	e = ring_buffer__consume(r->rb);
	return e < 0 ? e : r->count;
}

int sl_ev_reader_check(struct sl_ev_reader *r)
{
	int fd = pin_get(r->inst, "events");
	uint32_t id = fd >= 0 ? fd_id(fd) : 0;

	if (fd >= 0)
		close(fd);
	if (id && id == r->rb_id)
		return 0;
	if (r->rb) {
		ring_buffer__consume(r->rb);
		ring_buffer__free(r->rb);
		r->rb = NULL;
		r->rb_id = 0;
	}
	if (!id)
		return 1;
	return ring_open(r) ? -EIO : 1;
}

void sl_ev_reader_close(struct sl_ev_reader *r)
{
	if (!r)
		return;
	if (r->rb)
		ring_buffer__free(r->rb);
	sl_ev_names_free(r->names);
	if (r->lock_fd >= 0) {
		char p[PATH_MAX];

		/* removed while held: no file is left behind (a reader that opened
		 * it meanwhile sees that and locks a new one, take_lock) */
		snprintf(p, sizeof(p), SL_RUN_DIR "/%s.events.lock", r->inst);
		if (r->locked && slk_same_file(r->lock_fd, p))
			unlink(p);
		close(r->lock_fd);
	}
	free(r);
}
