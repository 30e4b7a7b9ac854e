// SPDX-License-Identifier: GPL-2.0-only
/*
 * inject.c - sluice_inject (`sluice run`): the learner run by BPF_PROG_TEST_RUN on the running generation's maps
 */
#include "kernel/internal.h"
#include "util/dnsmsg.h"

int sl_inject_load(const char *inst, struct sluice_bpf **out, uint32_t *cfg_id)
{
	struct sluice_bpf *skel;
	struct bpf_map *m;
	struct slk_lock lk = { -1 };
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	int e;

	*out = NULL;
	if ((e = slk_lock_instance(inst, &lk)))
		return e;
	skel = sluice_bpf__open();
	if (!skel) {
		e = -errno;
		slk_err("cannot open the BPF object: %s", strerror(-e));
		goto out;
	}
	bpf_program__set_autoload(skel->progs.sluice_tc, false);
	bpf_program__set_autoload(skel->progs.sluice_xdp, false);
	bpf_program__set_autoload(skel->progs.sluice_cgroup, false);
	bpf_program__set_autoload(skel->progs.sluice_learn, false);
	bpf_program__set_autoload(skel->progs.sluice_inject, true);
	/* every map the instance pins, by name: the running generation's */
	bpf_object__for_each_map(m, skel->obj) {
		int fd = slk_obj_get(inst, bpf_map__name(m));

		if (fd < 0)
			continue;
		e = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (e) {
			slk_err("%s/%s/%s: cannot use: %s", SL_PIN_ROOT, inst, bpf_map__name(m), strerror(-e));
			goto fail;
		}
	}
	if (bpf_map__fd(skel->maps.learn_cfg) < 0 || bpf_map__fd(skel->maps.learned) < 0) {
		e = -ENOENT;
		slk_err("%s/%s: the instance has no host-name learning maps; apply a ruleset with host names",
		    SL_PIN_ROOT, inst);
		goto fail;
	}
	if ((e = sluice_bpf__load(skel))) {
		slk_err("the kernel refused the sluice_inject program: %s (run with -v for the verifier log)",
		    strerror(-e));
		goto fail;
	}
	if (bpf_obj_get_info_by_fd(bpf_map__fd(skel->maps.learn_cfg), &info, &ilen)) {
		e = -errno;
		goto fail;
	}
	*cfg_id = info.id;
	*out = skel;
	goto out;
fail:
	sluice_bpf__destroy(skel);
out:
	slk_unlock_instance(&lk);
	return e;
}

int sl_inject_prog_fd(struct sluice_bpf *skel)
{
	return bpf_program__fd(skel->progs.sluice_inject);
}

int sl_inject_msg(int prog_fd, const uint8_t *msg, size_t n, int *ret, uint32_t *ns)
{
	uint8_t buf[14 + SL_INJECT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1);

	if (n < 12 || n > SL_INJECT_MAX)
		return -EINVAL;
	memset(buf, 0, 14);             /* a dummy Ethernet header: the program skips it */
	memcpy(buf + 14, msg, n);
	o.data_size_in = (__u32)(14 + n);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*ret = (int)o.retval;
	if (ns)
		*ns = o.duration;
	return 0;
}

struct emit_ctx {
	int fd;
	struct sl_inject_res *r;
};

static int emit_chunk(const uint8_t *msg, size_t n, size_t naddr, void *arg)
{
	struct emit_ctx *x = arg;
	uint32_t ns = 0;
	int ret, e;

	if ((e = sl_inject_msg(x->fd, msg, n, &ret, &ns)))
		return e;
	x->r->chunks++;
	x->r->addrs += naddr;
	x->r->ns += ns;
	if (ret >= 0)
		x->r->learned += (size_t)ret;
	else
		x->r->refused++;
	return 0;
}

int sl_inject_answer(int prog_fd, const struct sl_dnsm *m, size_t walked, struct sl_inject_res *r)
{
	struct sl_dnsm_plan p;
	struct emit_ctx x = { prog_fd, r };
	int e;

	if ((e = sl_dnsm_plan(m, walked, &p)))
		return e;
	if (p.naddr)
		e = sl_dnsm_chunks(m, &p, emit_chunk, &x);
	free(p.addr);
	return e < 0 ? e : 0;
}

int sl_fallback_learn(int prog_fd, const struct sl_dns_event *ev, struct sl_inject_res *r)
{
	struct sl_dnsm m;
	size_t cap = ev->caplen < SL_DNS_BUF ? ev->caplen : SL_DNS_BUF;
	int e;

	memset(r, 0, sizeof(*r));
	if ((e = sl_dnsm_parse(ev->msg, cap, ev->len, &m)))
		return e;
	e = sl_inject_answer(prog_fd, &m, ev->walked, r);
	sl_dnsm_free(&m);
	return e;
}

uint32_t sl_pin_map_id(const char *inst, const char *name)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char p[256];
	uint32_t id;
	int fd;

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	id = bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
	close(fd);
	return id;
}

struct ring_buffer *sl_ring_open(const char *inst, const char *name, sl_ring_fn fn, void *ctx)
{
	struct ring_buffer *rb;
	char p[256];
	int fd, e;

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	fd = bpf_obj_get(p);
	if (fd < 0) {
		errno = 0;      /* no pin: nothing to read, nothing to say */
		return NULL;
	}
	rb = ring_buffer__new(fd, fn, ctx, NULL);
	e = errno;
	close(fd);                      /* the ring buffer keeps its own mapping */
	errno = rb ? 0 : e;
	return rb;
}

int sl_ring_epoll_fd(struct ring_buffer *rb)
{
	return ring_buffer__epoll_fd(rb);
}

int sl_ring_consume(struct ring_buffer *rb)
{
	return ring_buffer__consume(rb);
}

void sl_ring_free(struct ring_buffer *rb)
{
	ring_buffer__free(rb);
}
