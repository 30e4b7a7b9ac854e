// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_prog_events.c - drop events of the data path (bpf/events.h) under
 * BPF_PROG_TEST_RUN, every hook (sluice_tc, sluice_xdp, sluice_cgroup) and
 * every reason (deny, policy, near-miss, malformed, fragment, and passes of
 * rules with `log;`): the events in the ring buffer must be exactly the
 * ones the reference classifier and image/event.c decide, field by field;
 * then the learned host name's class, the rate limit (emitted +
 * suppressed = packets, emitted <= the bucket), a full ring buffer (lost
 * counted), `log none`, `log all`, the snap length.
 *
 * Needs root; otherwise prints SKIP and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sl.h"
#include "image/event.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"
#include "test.h"
#include "pkt.h"
#include "dir.h"

#define MAXEV 8192

struct evs {
	struct sl_event v[64];
	size_t n, total;
};

struct set {
	struct sl_ruleset rs;
	struct sl_image img;
	struct sluice_bpf *skel;
	struct ring_buffer *rb;
	struct evs got;
	int ok;
};

static int on_ev(void *ctx, void *data, size_t size)
{
	struct evs *e = ctx;

	if (size >= sizeof(struct sl_event) && e->n < sizeof(e->v) / sizeof(e->v[0]))
		memcpy(&e->v[e->n++], data, sizeof(struct sl_event));
	e->total++;
	return 0;
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static int set_open(struct set *s, const char *text)
{
	struct sl_diags d = { 0 };
	int e;

	memset(s, 0, sizeof(*s));
	e = sl_ruleset_parse("events.rules", text, strlen(text), &s->rs, &d);
	if (e) {
		sl_diag_print(&d, stdout);
		sl_diag_free(&d);
		return e;
	}
	sl_diag_free(&d);
	if ((e = sl_compile(&s->rs, NULL, 1, &s->img)))
		return e;
	if ((e = sl_bpf_load(&s->img, true, NULL, &s->skel)))
		return e;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_ev, &s->got, NULL);
	if (!s->rb)
		return -errno;
	s->ok = 1;
	return 0;
}

static void set_close(struct set *s)
{
	if (s->rb)
		ring_buffer__free(s->rb);
	if (s->skel)
		sl_bpf_destroy(s->skel);
	if (s->ok)
		sl_image_free(&s->img);
	sl_ruleset_free(&s->rs);
	memset(s, 0, sizeof(*s));
}

static uint64_t evctr(struct set *s, uint32_t k)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[512] = { 0 }, sum = 0;

	if (ncpu > 512 || bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.ev_ctr), &k, v))
		return ~0ULL;
	for (int c = 0; c < ncpu; c++)
		sum += v[c];
	return sum;
}

enum { H_TC, H_XDP, H_CG };
static const char *hname[] = { "tc", "xdp", "cgroup" };

/* Run @frame through hook @h once (or @repeat times); 0 or -errno. */
static int run(struct set *s, int h, const uint8_t *frame, size_t len, uint32_t repeat)
{
	struct __sk_buff ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = repeat ? repeat : 1);
	int fd = bpf_program__fd(h == H_TC ? s->skel->progs.sluice_tc :
				 h == H_XDP ? s->skel->progs.sluice_xdp : s->skel->progs.sluice_cgroup);

	if (h != H_XDP) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	s->got.n = s->got.total = 0;
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	ring_buffer__consume(s->rb);
	return 0;
}

/* One packet, one hook: the events must be what the oracle says, field by field. */
static void check(struct set *s, const char *what, const struct pk_spec *sp, int h)
{
	static uint8_t frame[PK_SCRATCH];
	char name[256], why[512] = "";
	size_t len = pk_build(sp, frame, NULL), wire = h == H_CG ? len - 14 : len;
	struct sl_result o = { 0 };
	struct sl_pkt p;
	struct sl_ev_hdr hd;
	uint8_t v = 0xff;
	bool want;
	int e;

	snprintf(name, sizeof(name), "%s/%s", hname[h], what);
	sl_classify_frame(&s->img, frame, len, 1, &o);
	sl_pkt_parse(frame, len, &p);
	want = sl_event_expect(&s->img, &o, &v);
	if ((e = run(s, h, frame, len, 1))) {
		T_FAIL(name, "test_run: %s", strerror(-e));
		return;
	}
	if (s->got.n != (want ? 1u : 0u)) {
		T_FAIL(name, "%zu events, the oracle wants %d (verdict %u reason %s rule %u)", s->got.n, want,
		       o.verdict, sl_reason_name(o.reason), o.rule);
		return;
	}
	if (!want) {
		T_PASS(name);
		return;
	}
	const struct sl_event *ev = &s->got.v[0];
	int l = 0;
#define W(...) (l += snprintf(why + l, sizeof(why) - (size_t)l, __VA_ARGS__))
	if (ev->verdict != v)
		W(" verdict %u want %u;", ev->verdict, v);
	if (ev->reason != o.reason || ev->rule != o.rule || (ev->flags & SL_RF_FRAGMENT) != (o.flags & SL_RF_FRAGMENT))
		W(" reason/rule/flags %u/%u/%u want %u/%u/%u;", ev->reason, ev->rule, ev->flags, o.reason, o.rule,
		  o.flags & SL_RF_FRAGMENT);
	if (ev->len != wire)
		W(" len %u want %zu;", ev->len, wire);
	if (ev->att != 0 || ev->prog != (h == H_TC ? SL_EVP_TC : h == H_XDP ? SL_EVP_XDP : SL_EVP_CGROUP))
		W(" att %u prog %u;", ev->att, ev->prog);
	if (o.reason != SL_R_MALFORMED) {
		uint16_t port = o.proto == 1 || o.proto == 58 ? p.icmp_type : o.port;

		if (ev->family != (p.family == AF_INET ? 4 : 6) || ev->proto != o.proto ||
		    memcmp(ev->daddr, p.dst, p.family == AF_INET ? 4 : 16) || ev->dport != port)
			W(" family/proto/dport %u/%u/%u want %u/%u/%u or daddr;", ev->family, ev->proto, ev->dport,
			  p.family == AF_INET ? 4 : 6, o.proto, port);
		if (sl_event_hdr(ev->data, ev->caplen, h == H_CG, &hd) || hd.family != ev->family ||
		    (hd.family == 4 && memcmp(hd.saddr, "\xc0\x00\x02\x01", 4)) ||
		    ((o.proto == 6 || o.proto == 17) && !sp->frag && hd.sport != 40000))
			W(" source from the bytes: family %u sport %d;", hd.family, hd.sport);
	} else if (ev->family != 0) {
		W(" malformed with family %u;", ev->family);
	}
	if (ev->caplen != (wire < SL_SNAP_DEFAULT ? wire : SL_SNAP_DEFAULT) ||
	    memcmp(ev->data, frame + (h == H_CG ? 14 : 0), ev->caplen) || ev->snap != ev->caplen)
		W(" caplen %u snap %u (len %zu) or bytes differ;", ev->caplen, ev->snap, wire);
#undef W
	if (l)
		T_FAIL(name, "%s", why);
	else
		T_PASS(name);
}

static const char *RULES =
	"policy drop;\n"
	"rule web { allow tcp 443; allow udp 6000; log; to 192.0.2.0/24, 2001:db8:1::/48; }\n"
	"rule mail { allow tcp 25; to 192.0.2.25; }\n"
	"rule bad { deny any; to 203.0.113.0/24, 2001:db8:bad::/48; }\n"
	"rule icmp { allow icmp; allow icmpv6; to 198.51.100.0/24; }\n"
	"rule zoom { allow tcp 443; to zoom.us, *.zoom.us; }\n";

static void cases_reasons(int h)
{
	struct set s;
	struct pk_spec sp;
	int e;

	if ((e = set_open(&s, RULES))) {
		T_FAIL(hname[h], "ruleset: %s", strerror(-e));
		set_close(&s);
		return;
	}
#define P4(d, pr, pt) ({ struct pk_spec _s = { .family = 4, .proto = (pr), .dport = (pt), .payload = 200 }; \
	pk_ip4(_s.dst, d); if ((pr) == 1) _s.icmp_type = 8; _s; })
#define P6(d, pr, pt) ({ struct pk_spec _s = { .family = 6, .proto = (pr), .dport = (pt), .payload = 16 }; \
	pk_ip6(_s.dst, d); if ((pr) == 58) _s.icmp_type = 128; _s; })
	sp = P4("203.0.113.9", 6, 80);
	check(&s, "deny: tcp to a deny rule's address", &sp, h);
	sp = P6("2001:db8:bad::1", 17, 53);
	check(&s, "deny: IPv6 udp", &sp, h);
	sp = P4("198.18.0.1", 17, 53);
	check(&s, "policy: no rule's address", &sp, h);
	sp = P6("2001:db8:9::1", 58, 0);
	check(&s, "policy: IPv6 icmpv6 echo", &sp, h);
	sp = P4("192.0.2.25", 6, 26);
	check(&s, "near-miss: mail's address, port 26", &sp, h);
	sp = P4("198.51.100.7", 17, 6000);
	check(&s, "near-miss: icmp rule's address, udp", &sp, h);
	sp = P4("198.51.100.7", 1, 0);
	check(&s, "pass of a rule without log: no event", &sp, h);
	sp = P4("192.0.2.9", 6, 443);
	check(&s, "pass of a rule with log: a pass event", &sp, h);
	sp = P4("203.0.113.9", 17, 53);
	sp.frag = PK_FRAG_LATER;
	check(&s, "fragment: a later fragment to a deny rule", &sp, h);
	sp = P6("2001:db8:7::1", 17, 53);
	sp.nexts = 1;
	sp.ext_type[0] = 44;
	sp.ext_fragoff[0] = 100;
	sp.frag = PK_FRAG_LATER;
	check(&s, "fragment: an IPv6 later fragment, no rule", &sp, h);
	sp = P4("203.0.113.9", 6, 80);
	sp.bad_ihl = 4;
	check(&s, "malformed: IPv4 ihl 4", &sp, h);
	sp = P4("192.0.2.9", 17, 6000);
	sp.payload = 10;
	check(&s, "pass event of a short packet: caplen = len", &sp, h);
#undef P4
#undef P6
	set_close(&s);
}

/* A learned address: the event names the name class it was learned for. */
static void cases_learned(void)
{
	struct set s;
	struct pk_spec sp = { .family = 6, .proto = 6, .dport = 8443, .payload = 16 };
	static uint8_t frame[PK_SCRATCH];
	struct sl_addr_key k = { .family = 6 };
	uint32_t a[4];
	struct sl_learned_val lv = { 0 };
	const struct sl_nameclass *nc = NULL;
	struct timespec t;
	uint32_t bit, w;
	uint64_t word = 0;
	size_t len;
	int e;

	if ((e = set_open(&s, RULES))) {
		T_FAIL("learned: ruleset", "%s", strerror(-e));
		set_close(&s);
		return;
	}
	for (size_t i = 0; i < s.img.nnames; i++)
		if (s.img.names[i].wild && !strcmp(s.img.names[i].name, "zoom.us"))
			nc = &s.img.names[i];
	if (!nc) {
		T_FAIL("learned: the name class of *.zoom.us", "not in the image");
		set_close(&s);
		return;
	}
	pk_ip6(sp.dst, "2001:db8:5::80");
	memcpy(k.addr, sp.dst, 16);
	memcpy(a, sp.dst, 16);
	clock_gettime(CLOCK_MONOTONIC, &t);
	lv.s[0].ncls = nc->ncls;
	lv.s[0].expires_ns = (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec + 60000000000ULL;
	bit = sl_bloom_bit(a[0], a[1], a[2], a[3]);
	w = bit >> 6;
	bpf_map_lookup_elem(bpf_map__fd(s.skel->maps.learn_bloom), &w, &word);
	word |= 1ULL << (bit & 63);
	if (bpf_map_update_elem(bpf_map__fd(s.skel->maps.learned), &k, &lv, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s.skel->maps.learn_bloom), &w, &word, BPF_ANY)) {
		T_FAIL("learned: teach 2001:db8:5::80 as www.zoom.us", "%s", strerror(errno));
		set_close(&s);
		return;
	}
	len = pk_build(&sp, frame, NULL);
	e = run(&s, H_TC, frame, len, 1);
	T_CHECK("learned: a near miss to an address learned for www.zoom.us carries *.zoom.us's class",
		!e && s.got.n == 1 && s.got.v[0].ncls == nc->ncls && s.got.v[0].reason == SL_R_NEAR_MISS &&
		s.got.v[0].rule == s.img.slot[4], "e %d n %zu ncls %#x want %#x reason %u rule %u",
		e, s.got.n, s.got.n ? s.got.v[0].ncls : 0, nc->ncls, s.got.n ? s.got.v[0].reason : 0,
		s.got.n ? s.got.v[0].rule : 0);
	pk_ip6(sp.dst, "2001:db8:5::81");
	len = pk_build(&sp, frame, NULL);
	e = run(&s, H_TC, frame, len, 1);
	T_CHECK("learned: an address not learned carries no class", !e && s.got.n == 1 && s.got.v[0].ncls == 0,
		"e %d n %zu ncls %#x", e, s.got.n, s.got.n ? s.got.v[0].ncls : 0);
	set_close(&s);
}

/* log rate, a full ring buffer, log none / all, snap. */
static void cases_limits(void)
{
	struct set s;
	struct pk_spec sp = { .family = 4, .proto = 17, .dport = 53, .payload = 400 };
	static uint8_t frame[PK_SCRATCH];
	size_t len;
	uint64_t em, su, lo;
	int e;

	pk_ip4(sp.dst, "203.0.113.9");
	len = pk_build(&sp, frame, NULL);
	if (!(e = set_open(&s, "log rate 5; log snap 200;\nrule bad { deny any; to 203.0.113.0/24; }"))) {
		e = run(&s, H_TC, frame, len, 1000);
		em = evctr(&s, SL_EC_EMITTED);
		su = evctr(&s, SL_EC_SUPPRESSED);
		lo = evctr(&s, SL_EC_LOST);
		T_CHECK("rate: log rate 5, 1000 drops at once: emitted + suppressed = 1000, emitted <= 5 + 1",
			!e && em + su + lo == 1000 && em >= 5 && em <= 6 && lo == 0 && s.got.total == em,
			"e %d emitted %llu suppressed %llu lost %llu read %zu", e, (unsigned long long)em,
			(unsigned long long)su, (unsigned long long)lo, s.got.total);
		T_CHECK("snap: log snap 200 copies 200 bytes", s.got.n && s.got.v[0].caplen == 200 &&
			s.got.v[0].snap == 200, "caplen %u snap %u", s.got.n ? s.got.v[0].caplen : 0,
			s.got.n ? s.got.v[0].snap : 0);
	} else {
		T_FAIL("rate: ruleset", "%s", strerror(-e));
	}
	set_close(&s);

	if (!(e = set_open(&s, "log rate 1000000;\nrule bad { deny any; to 203.0.113.0/24; }"))) {
		/* 1 MiB of 320-byte records (312 + 8 header): about 3270 fit; run() reads after the run */
		e = run(&s, H_TC, frame, len, 5000);
		em = evctr(&s, SL_EC_EMITTED);
		su = evctr(&s, SL_EC_SUPPRESSED);
		lo = evctr(&s, SL_EC_LOST);
		T_CHECK("lost: 5000 events into a ring buffer nobody reads: the rest counted lost, "
			"emitted = what the reader gets", !e && em + su + lo == 5000 && lo > 0 && su == 0 &&
			s.got.total == em, "e %d emitted %llu suppressed %llu lost %llu read %zu", e,
			(unsigned long long)em, (unsigned long long)su, (unsigned long long)lo, s.got.total);
	} else {
		T_FAIL("lost: ruleset", "%s", strerror(-e));
	}
	set_close(&s);

	if (!(e = set_open(&s, "log none; log snap 0;\nrule bad { deny any; to 203.0.113.0/24; }"))) {
		e = run(&s, H_TC, frame, len, 10);
		T_CHECK("log none: no events, nothing counted", !e && s.got.total == 0 && evctr(&s, SL_EC_EMITTED) == 0 &&
			evctr(&s, SL_EC_SUPPRESSED) == 0, "e %d read %zu", e, s.got.total);
	} else {
		T_FAIL("log none: ruleset", "%s", strerror(-e));
	}
	set_close(&s);

	if (!(e = set_open(&s, "log all; log snap 0; policy allow;\nrule bad { deny any; to 203.0.113.0/24; }"))) {
		pk_ip4(sp.dst, "198.51.100.9");
		len = pk_build(&sp, frame, NULL);
		e = run(&s, H_XDP, frame, len, 1);
		T_CHECK("log all: a policy pass is an event; snap 0 still copies the headers",
			!e && s.got.n == 1 && s.got.v[0].verdict == SL_EV_PASS && s.got.v[0].reason == SL_R_POLICY &&
			s.got.v[0].snap == 0 && s.got.v[0].caplen == SL_SNAP_HDR,
			"e %d n %zu verdict %u reason %u snap %u caplen %u", e, s.got.n, s.got.n ? s.got.v[0].verdict : 0,
			s.got.n ? s.got.v[0].reason : 0, s.got.n ? s.got.v[0].snap : 0, s.got.n ? s.got.v[0].caplen : 0);
	} else {
		T_FAIL("log all: ruleset", "%s", strerror(-e));
	}
	set_close(&s);

	if (!(e = set_open(&s, "mode audit;\nrule bad { deny any; to 203.0.113.0/24; }"))) {
		pk_ip4(sp.dst, "203.0.113.9");
		len = pk_build(&sp, frame, NULL);
		for (int h = H_TC; h <= H_CG; h++)
			check(&s, "audit mode: a deny is an audit-drop event", &sp, h);
	} else {
		T_FAIL("audit: ruleset", "%s", strerror(-e));
	}
	set_close(&s);
}

/*
 * Inbound attachments judge the source: the event says so (dir), carries the
 * remote end the rule judged (the source and its port) where an outbound
 * event carries the destination, and its bytes give both ends as sent.
 */
static void cases_inbound(void)
{
	static uint8_t frame[PK_SCRATCH];
	struct sluice_bpf *in = NULL;
	struct sl_result o = { 0 };
	struct sl_ev_hdr hd;
	struct set s;
	struct pk_spec sp = { .family = 4, .proto = 6, .dport = 40000, .sport = 80, .payload = 64,
			      .inbound = 1 };
	uint8_t v = 0xff;
	size_t len;
	int e;

	if ((e = set_open(&s, RULES)) || (e = dir_load_inbound(&s.img, s.skel, &in))) {
		T_FAIL("inbound", "ruleset: %s", strerror(-e));
		set_close(&s);
		return;
	}
	pk_ip4(sp.src, "203.0.113.9");          /* the deny rule's network, sending from port 80 */
	pk_ip4(sp.dst, "192.0.2.1");
	len = pk_build(&sp, frame, NULL);
	sl_classify_frame_dir(&s.img, frame, len, SL_DIR_IN, 0, &o);
	T_CHECK("inbound/the oracle: a deny of bad, an event", sl_event_expect(&s.img, &o, &v) &&
		o.reason == SL_R_RULE && o.verdict == SL_V_DROP, "reason %s", sl_reason_name(o.reason));
	for (int h = H_TC; h <= H_XDP; h++) {
		struct __sk_buff ctx = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frame, .data_size_in = (__u32)len, .repeat = 1);
		char name[96];

		snprintf(name, sizeof(name), "inbound/%s: the event carries the source as the remote end", hname[h]);
		if (h == H_TC) {
			ro.ctx_in = &ctx;
			ro.ctx_size_in = sizeof(ctx);
		}
		s.got.n = s.got.total = 0;
		if (bpf_prog_test_run_opts(bpf_program__fd(h == H_TC ? in->progs.sluice_tc : in->progs.sluice_xdp),
					   &ro)) {
			T_FAIL(name, "test_run: %s", strerror(errno));
			continue;
		}
		ring_buffer__consume(s.rb);
		if (s.got.n != 1) {
			T_FAIL(name, "%zu events, want 1", s.got.n);
			continue;
		}
		const struct sl_event *ev = &s.got.v[0];

		T_CHECK(name, ev->dir == SL_DIR_IN && ev->reason == o.reason && ev->rule == o.rule &&
			!memcmp(ev->daddr, sp.src, 4) && ev->dport == 80 && ev->verdict == v,
			"dir %u reason %u rule %u dport %u", ev->dir, ev->reason, ev->rule, ev->dport);
		snprintf(name, sizeof(name), "inbound/%s: the bytes give both ends", hname[h]);
		T_CHECK(name, sl_event_hdr(ev->data, ev->caplen, false, &hd) == 0 && !memcmp(hd.saddr, sp.src, 4) &&
			!memcmp(hd.daddr, sp.dst, 4) && hd.sport == 80 && hd.dport == 40000,
			"sport %d dport %d", hd.sport, hd.dport);
	}
	sl_bpf_destroy(in);
	set_close(&s);
}

int main(void)
{
	struct sluice_bpf *probe;

	libbpf_set_print(quiet);
	if (geteuid() != 0) {
		T_SKIP("test_prog_events", "not root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN)");
		return T_DONE();
	}
	probe = sluice_bpf__open_and_load();
	if (!probe) {
		T_SKIP("test_prog_events", "cannot load the BPF object: %s", strerror(errno));
		return T_DONE();
	}
	sluice_bpf__destroy(probe);
	for (int h = H_TC; h <= H_CG; h++)
		cases_reasons(h);
	cases_inbound();
	cases_learned();
	cases_limits();
	printf("# test_prog_events: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
