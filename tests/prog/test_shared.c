// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_shared.c - a program shared by several attachments (user/kernel/
 * group.c): att_index = SL_ATT_BY_IFINDEX, the record looked up in the
 * group's table in att_ifx by the packet's interface (slot base + (ifindex
 * & mask), valid if it names that ifindex).  Under BPF_PROG_TEST_RUN (the
 * packet's interface is the loopback device, ifindex 1) through sluice_tc
 * and sluice_xdp: an interface att_ifx names is judged and counted on its
 * record; one it does not name (a slot of another ifindex with the same
 * low bits, a free slot, the slot of another group's table) is dropped,
 * fail closed, and counted in SL_G_UNKNOWN_IF, never passed unfiltered.
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN); otherwise prints SKIP and exits 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "sl.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"
#include "test.h"
#include "pkt.h"

#define BASE  16        /* the program's table: slots 16..23 */
#define MASK  7
#define REC   5
#define LO    1         /* test_run's interface: the loopback device */

static const char RULES[] =
	"policy drop;\n"
	"rule media { allow udp 5004; to 203.0.113.0/24; }\n";

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

/* The shared instance: tc and xdp, att_index SL_ATT_BY_IFINDEX, on @owner's maps. */
static int load_shared(const struct sl_image *img, struct sluice_bpf *owner, struct sluice_bpf **out)
{
	struct sluice_bpf *s = sluice_bpf__open();
	struct bpf_program *p;
	struct bpf_map *m;
	int e;

	*out = NULL;
	if (!s)
		return -errno;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, p == s->progs.sluice_tc || p == s->progs.sluice_xdp);
	s->rodata->cfg = img->cfg;
	s->rodata->att_index = SL_ATT_BY_IFINDEX;
	s->rodata->att_ifx_base = BASE;
	s->rodata->att_ifx_mask = MASK;
	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map *om;

		if (bpf_map__is_internal(m))
			continue;
		om = bpf_object__find_map_by_name(owner->obj, bpf_map__name(m));
		if (om && bpf_map__fd(om) >= 0 && (e = bpf_map__reuse_fd(m, bpf_map__fd(om)))) {
			sluice_bpf__destroy(s);
			return e;
		}
	}
	if ((e = sluice_bpf__load(s))) {
		sluice_bpf__destroy(s);
		return e;
	}
	*out = s;
	return 0;
}

static int run(struct bpf_program *prog, const uint8_t *frame, size_t len, int *rv)
{
	struct __sk_buff ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len, .repeat = 1);

	if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return -errno;
	*rv = (int)o.retval;
	return 0;
}

static int set_slot(int fd, __u32 slot, __u32 ifindex, __u32 rec)
{
	struct sl_ifx_val v = { .ifindex = ifindex, .att = rec };

	return bpf_map_update_elem(fd, &slot, &v, BPF_ANY) ? -errno : 0;
}

static void clear_map(int fd)
{
	for (__u32 s = 0; s < SL_IFX_SLOTS; s++)
		set_slot(fd, s, 0, 0);
}

struct counts { uint64_t att_pass, att_drop, unknown, policy_drop; };

static void counts(struct sluice_bpf *o, struct counts *c)
{
	struct sl_att_ctr a = {0};
	struct sl_global_ctr u = {0}, p = {0};

	sl_read_att_ctr(bpf_map__fd(o->maps.att_counters), REC, &a);
	sl_read_global_ctr(bpf_map__fd(o->maps.globals), SL_G_UNKNOWN_IF, &u);
	sl_read_global_ctr(bpf_map__fd(o->maps.globals), SL_G_POLICY_DROP, &p);
	c->att_pass = a.pass_packets;
	c->att_drop = a.drop_packets;
	c->unknown = u.packets;
	c->policy_drop = p.packets;
}

/* One hook: a known interface is judged on record REC, an unknown one dropped. */
static void cases(const char *hook, struct sluice_bpf *own, struct bpf_program *prog, int pass_rv,
		  int drop_rv)
{
	struct pk_spec ok = { .family = 4, .dst = { 203, 0, 113, 7 }, .proto = 17, .dport = 5004 };
	struct pk_spec no = ok;
	int fd = bpf_map__fd(own->maps.att_ifx), rv = -1, e;
	uint8_t f_ok[PK_MAX_FRAME], f_no[PK_MAX_FRAME];
	size_t n_ok = pk_build(&ok, f_ok, NULL), n_no;
	struct counts c0, c1;
	char name[160];

	no.dport = 5005;
	n_no = pk_build(&no, f_no, NULL);

	/* the interface is in att_ifx: judged, counted on its record */
	clear_map(fd);
	set_slot(fd, BASE + (LO & MASK), LO, REC);
	counts(own, &c0);
	e = run(prog, f_ok, n_ok, &rv);
	counts(own, &c1);
	snprintf(name, sizeof(name), "%s shared: a known interface's allowed packet passes, counted on its record", hook);
	T_CHECK(name, !e && rv == pass_rv && c1.att_pass == c0.att_pass + 1 && c1.unknown == c0.unknown,
		"e=%d rv=%d att pass %llu -> %llu, unknown %llu -> %llu", e, rv,
		(unsigned long long)c0.att_pass, (unsigned long long)c1.att_pass,
		(unsigned long long)c0.unknown, (unsigned long long)c1.unknown);
	counts(own, &c0);
	e = run(prog, f_no, n_no, &rv);
	counts(own, &c1);
	snprintf(name, sizeof(name), "%s shared: a known interface's disallowed packet is dropped by the policy", hook);
	T_CHECK(name, !e && rv == drop_rv && c1.att_drop == c0.att_drop + 1 &&
		c1.policy_drop == c0.policy_drop + 1 && c1.unknown == c0.unknown,
		"e=%d rv=%d att drop %llu -> %llu", e, rv, (unsigned long long)c0.att_drop,
		(unsigned long long)c1.att_drop);

	/* its slot names another interface; the packet's is in another table: unknown */
	clear_map(fd);
	set_slot(fd, BASE + (LO & MASK), LO + 8 * 1000, REC);
	set_slot(fd, 0 + (LO & MASK), LO, REC);
	set_slot(fd, BASE + 8 + (LO & MASK), LO, REC);
	counts(own, &c0);
	e = run(prog, f_ok, n_ok, &rv);
	counts(own, &c1);
	snprintf(name, sizeof(name), "%s shared: an interface att_ifx does not name is dropped (fail closed), "
		 "counted in unknown_if", hook);
	T_CHECK(name, !e && rv == drop_rv && c1.unknown == c0.unknown + 1 && c1.att_pass == c0.att_pass &&
		c1.att_drop == c0.att_drop && c1.policy_drop == c0.policy_drop,
		"e=%d rv=%d (want %d) unknown %llu -> %llu, att pass %llu -> %llu", e, rv, drop_rv,
		(unsigned long long)c0.unknown, (unsigned long long)c1.unknown,
		(unsigned long long)c0.att_pass, (unsigned long long)c1.att_pass);
	clear_map(fd);
	counts(own, &c0);
	e = run(prog, f_ok, n_ok, &rv);
	counts(own, &c1);
	snprintf(name, sizeof(name), "%s shared: a free slot drops the packet", hook);
	T_CHECK(name, !e && rv == drop_rv && c1.unknown == c0.unknown + 1, "e=%d rv=%d", e, rv);
}

int main(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_diags d = {0};
	struct sluice_bpf *own = NULL, *sh = NULL;
	int e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(quiet);
	if (geteuid() != 0) {
		T_SKIP("test_shared", "needs root (CAP_BPF, CAP_NET_ADMIN)");
		return T_DONE();
	}
	if ((e = sl_ruleset_parse("shared", RULES, strlen(RULES), &rs, &d))) {
		sl_diag_print(&d, stdout);
		T_FAIL("shared: parse", "%s", strerror(-e));
		sl_diag_free(&d);
		return T_DONE();
	}
	sl_diag_free(&d);
	if ((e = sl_compile(&rs, NULL, 1, &img))) {
		T_FAIL("shared: compile", "%s", strerror(-e));
		sl_ruleset_free(&rs);
		return T_DONE();
	}
	if ((e = sl_bpf_load_progs(&img, false, NULL, 0, &own)) || (e = load_shared(&img, own, &sh))) {
		T_FAIL("shared: load", "%s", strerror(-e));
	} else {
		cases("tc", own, sh->progs.sluice_tc, TC_ACT_UNSPEC, TC_ACT_SHOT);
		cases("xdp", own, sh->progs.sluice_xdp, XDP_PASS, XDP_DROP);
	}
	if (sh)
		sluice_bpf__destroy(sh);
	if (own)
		sl_bpf_destroy(own);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	return T_DONE();
}
