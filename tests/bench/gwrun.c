// SPDX-License-Identifier: GPL-2.0-only
/*
 * gwrun.c - the timed part of the gateway benchmark (scripts/bench-gateway):
 *
 *   sl-bench gwrun PREFIX ROUNDS SLOT_MS HOTFILE RANDFILE ROW...
 *       ROW = NAME,LAB,KIND,PIN: KIND none | tcx | clsact | xdp, PIN the
 *       pinned program ("-" for none), LAB the suffix of the lab's
 *       namespaces PREFIX-c<LAB> / PREFIX-g<LAB> ("-": the main lab).
 *
 * One process does it all, so that a row can follow another within
 * milliseconds and slow changes of the machine (other work, frequency,
 * steal) hit every row alike: per round, every row in a rotated order is
 * attached (a TCX link on g1, a clsact filter on g1, native XDP on g0, or
 * nothing), SLOT_MS of datagrams go to the hot destination and SLOT_MS to
 * the random ones from 8 sockets of the row's client namespace (sendmmsg,
 * batches of 64: veth forwards in the sender's context, so this thread
 * does the whole path), then the row is detached.  Each slot prints
 *   {"round","row","traffic","sent","wall_ns","cpu_ns","ksoftirqd_ns",
 *    "batches","batch_med_ns","batch_p25_ns"}
 * cpu_ns: this thread's CPU time over the slot (no IRQ time accounting
 * here: it includes the softirq work done in its context) plus the run time
 * of the ksoftirqd threads meanwhile (ksoftirqd_ns).  batch_med_ns: the
 * median over the slot's batches of the thread's CPU time per datagram of
 * one sendmmsg() of 64 (the whole path: send, forward, filter, deliver):
 * what other work on the machine adds to a batch (an interrupt, a cold
 * cache after a preemption, another agent's softirq) moves the median of
 * ~50 batches little, where it moves the slot's total.
 */
#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <linux/if_link.h>
#include "bench.h"

#define GW_TCX_EGRESS 47
#define GW_NSOCK 8
#define GW_BATCH 64
#define GW_MAXROW 16

struct gw_dsts { struct sockaddr_in *a; int n; };
struct gw_row {
	char name[32], lab[8], kind[8];
	int prog_fd, socks[GW_NSOCK], link_fd;
	unsigned int g0, g1;
	int gns;
};

static int ks_pid[64], ks_n;

static void ks_find(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char p[300], c[64];

	while (d && (e = readdir(d)) && ks_n < 64) {
		FILE *f;

		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		if (!(f = fopen(p, "r")))
			continue;
		if (fgets(c, sizeof(c), f) && !strncmp(c, "ksoftirqd/", 10))
			ks_pid[ks_n++] = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
}

static long long ks_ns(void)
{
	long long t = 0, v;
	char p[64];

	for (int i = 0; i < ks_n; i++) {
		FILE *f;

		snprintf(p, sizeof(p), "/proc/%d/schedstat", ks_pid[i]);
		if ((f = fopen(p, "r"))) {
			if (fscanf(f, "%lld", &v) == 1)
				t += v;
			fclose(f);
		}
	}
	return t;
}

static long long ns_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct gw_dsts gw_load(const char *path)
{
	struct gw_dsts d = {0};
	char line[128], a[64];
	int port, cap = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %d", a, &port) != 2)
			continue;
		if (d.n == cap && !(d.a = realloc(d.a, (cap = cap ? 2 * cap : 1024) * sizeof(*d.a))))
			die("out of memory");
		memset(&d.a[d.n], 0, sizeof(d.a[d.n]));
		d.a[d.n].sin_family = AF_INET;
		d.a[d.n].sin_port = htons(port);
		if (inet_pton(AF_INET, a, &d.a[d.n].sin_addr) != 1)
			die("%s: bad address %s", path, a);
		d.n++;
	}
	fclose(f);
	if (!d.n)
		die("%s: no destination", path);
	return d;
}

static int ns_open(const char *prefix, char which, const char *lab)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "/var/run/netns/%s-%c%s", prefix, which, strcmp(lab, "-") ? lab : "");
	if ((fd = open(p, O_RDONLY)) < 0)
		die("%s: %s", p, strerror(errno));
	return fd;
}

/* The row's sockets (in its client namespace) and its gateway's devices. */
static void gw_row_open(struct gw_row *w, const char *prefix, const char *spec, int home)
{
	char pin[256] = "-";
	int c;

	if (sscanf(spec, "%31[^,],%7[^,],%7[^,],%255s", w->name, w->lab, w->kind, pin) != 4)
		die("row %s: NAME,LAB,KIND,PIN", spec);
	w->prog_fd = strcmp(pin, "-") ? bpf_obj_get(pin) : -1;
	if (strcmp(pin, "-") && w->prog_fd < 0)
		die("%s: %s", pin, strerror(errno));
	c = ns_open(prefix, 'c', w->lab);
	w->gns = ns_open(prefix, 'g', w->lab);
	if (setns(c, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	for (int s = 0; s < GW_NSOCK; s++)
		if ((w->socks[s] = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
			die("socket: %s", strerror(errno));
	if (setns(w->gns, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	w->g0 = if_nametoindex("g0");
	w->g1 = if_nametoindex("g1");
	if (setns(home, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	close(c);
	w->link_fd = -1;
}

static void gw_attach(struct gw_row *w, bool on)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = w->g1, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = w->prog_fd, .handle = 1, .priority = 1);
	int e = 0;

	if (!strcmp(w->kind, "none"))
		return;
	if (setns(w->gns, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	if (!strcmp(w->kind, "tcx")) {
		if (on && (w->link_fd = bpf_link_create(w->prog_fd, w->g1, GW_TCX_EGRESS, NULL)) < 0)
			e = -errno;
		if (!on) {
			close(w->link_fd);
			w->link_fd = -1;
		}
	} else if (!strcmp(w->kind, "clsact")) {
		if (on) {
			e = bpf_tc_hook_create(&th);
			e = e == -EEXIST ? 0 : e;
			if (!e)
				e = bpf_tc_attach(&th, &to);
		} else {
			th.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			e = bpf_tc_hook_destroy(&th);
		}
	} else if (!strcmp(w->kind, "xdp")) {
		e = on ? bpf_xdp_attach(w->g0, w->prog_fd, XDP_FLAGS_DRV_MODE, NULL)
		       : bpf_xdp_detach(w->g0, XDP_FLAGS_DRV_MODE, NULL);
	} else {
		die("row %s: kind %s?", w->name, w->kind);
	}
	if (e)
		die("row %s: %s %s: %s", w->name, on ? "attach" : "detach", w->kind, strerror(-e));
}

static void gw_slot(const struct gw_row *w, const struct gw_dsts *d, int ms, int round,
		    const char *traffic)
{
	static struct sockaddr_in to[GW_BATCH];
	static struct mmsghdr m[GW_BATCH];
	static struct iovec iov[GW_BATCH];
	static char payload[64];
	static double per[8192];        /* CPU ns per datagram of each full batch */
	long long w0, c0, k0, end, sent = 0, b0, b1;
	unsigned long k = 0;
	int nb = 0;

	for (int i = 0; i < GW_BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = sizeof(payload);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to[i];
		m[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}
	k0 = ks_ns();
	c0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
	w0 = ns_of(CLOCK_MONOTONIC);
	end = w0 + ms * 1000000LL;
	for (int it = 0; !(it & 7) ? ns_of(CLOCK_MONOTONIC) < end : 1; it++) {
		int r;

		for (int i = 0; i < GW_BATCH; i++, k++)
			to[i] = d->a[k % d->n];
		b0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
		r = sendmmsg(w->socks[it % GW_NSOCK], m, GW_BATCH, 0);
		b1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
		if (r > 0)
			sent += r;
		if (r == GW_BATCH && nb < (int)(sizeof(per) / sizeof(per[0])))
			per[nb++] = (double)(b1 - b0) / GW_BATCH;
	}
	long long wall = ns_of(CLOCK_MONOTONIC) - w0, cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - c0;
	long long ks = ks_ns() - k0;
	double med = nb ? median(per, nb) : 0;         /* sorts per[] */

	printf("{\"round\":%d,\"row\":\"%s\",\"traffic\":\"%s\",\"sent\":%lld,\"wall_ns\":%lld,"
	       "\"cpu_ns\":%lld,\"ksoftirqd_ns\":%lld,\"batches\":%d,\"batch_med_ns\":%.1f,"
	       "\"batch_p25_ns\":%.1f}\n", round, w->name, traffic, sent, wall, cpu + ks, ks, nb, med,
	       nb ? per[nb / 4] : 0);
}

int cmd_gwrun(int argc, char **argv)
{
	const char *prefix = argv[0];
	int rounds = atoi(argv[1]), ms = atoi(argv[2]), nrow = argc - 5;
	struct gw_dsts hot = gw_load(argv[3]), rnd_d = gw_load(argv[4]);
	struct gw_row rows[GW_MAXROW];
	int home = open("/proc/self/ns/net", O_RDONLY);

	if (nrow < 1 || nrow > GW_MAXROW || rounds < 1 || ms < 1 || home < 0)
		die("gwrun PREFIX ROUNDS SLOT_MS HOTFILE RANDFILE ROW... (1-%d rows)", GW_MAXROW);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ks_find();
	if (getenv("GW_CPU")) {         /* the whole path on one CPU: no migration between slots */
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(getenv("GW_CPU")), &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("GW_CPU=%s: %s", getenv("GW_CPU"), strerror(errno));
	}
	for (int i = 0; i < nrow; i++)
		gw_row_open(&rows[i], prefix, argv[5 + i], home);
	for (int r = 1; r <= rounds; r++)
		for (int i = 0; i < nrow; i++) {
			struct gw_row *w = &rows[(i + r) % nrow];

			gw_attach(w, true);
			gw_slot(w, &hot, ms, r, "hot");
			gw_slot(w, &rnd_d, ms, r, "rand");
			gw_attach(w, false);
		}
	if (setns(home, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	return 0;
}
