// SPDX-License-Identifier: GPL-2.0-only
/*
 * learn.c - user side of host-name learning (docs/dns.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"

void sl_learn_opts_default(struct sl_learn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl_floor_s = SL_LEARN_TTL_FLOOR_S;
	o->ttl_max_s = SL_LEARN_TTL_MAX_S;
	o->grace_s = SL_LEARN_GRACE_S;
	o->pending_ms = SL_LEARN_PENDING_MS;
	o->name_cap = SL_NAME_RING;
	o->class_cap = SL_CLASS_CAP;
	o->learned_cap = SL_LEARN_CAP_DEFAULT;
}

int sl_resolv_conf(const char *path, struct sl_cidr *out, size_t cap, size_t *n)
{
	FILE *f = fopen(path ? path : "/etc/resolv.conf", "r");
	char line[512];

	*n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && *n < cap) {
		char addr[128];
		struct sl_cidr *c = &out[*n];

		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		memset(c, 0, sizeof(*c));
		if (inet_pton(AF_INET, addr, c->addr) == 1) {
			c->family = AF_INET;
			c->plen = 32;
		} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
			c->family = AF_INET6;
			c->plen = 128;
		} else {
			continue;
		}
		(*n)++;
	}
	fclose(f);
	return 0;
}

static int upd(int fd, const void *k, const void *v, __u64 flags, const char *what)
{
	if (bpf_map_update_elem(fd, k, v, flags) && !(flags == BPF_NOEXIST && errno == EEXIST)) {
		int e = -errno;

		fprintf(stderr, "sluice: map %s: cannot insert: %s\n", what, strerror(-e));
		return e;
	}
	return 0;
}

int sl_learn_fill(const struct sl_image *img, const struct sl_learn_fds *fds,
		  const struct sl_learn_opts *o)
{
	struct sl_learn_cfg lc = { 0 };
	struct sl_cidr rbuf[64];
	const struct sl_cidr *res = o->resolvers;
	size_t nres = o->nresolvers;
	struct sl_name_ring *ring;
	int e;

	for (size_t i = 0; i < img->nnames; i++) {
		const struct sl_nameclass *c = &img->names[i];

		if ((e = upd(c->wild ? fds->wilds : fds->names, &c->hash, &c->nval, BPF_ANY,
			     c->wild ? "wilds" : "names")) ||
		    (e = upd(fds->nclass, &c->ncls, &c->val, BPF_ANY, "nclass")))
			return e;
	}
	for (size_t i = 0; i < img->nname_ports; i++)
		if ((e = upd(fds->ports, &img->name_ports[i].key, &img->name_ports[i].val, BPF_ANY,
			     "ports")))
			return e;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < img->nnames; i++)
		if ((e = upd(fds->name_ring, &img->names[i].ncls, ring, BPF_NOEXIST, "name_ring"))) {
			free(ring);
			return e;
		}
	free(ring);
	if (!res) {
		e = sl_resolv_conf(o->resolv_conf, rbuf, 64, &nres);
		if (e && img->nnames)
			fprintf(stderr, "sluice: cannot read %s: %s; host names learn nothing "
				"until a 'resolvers' statement names the DNS servers\n",
				o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf", strerror(-e));
		res = rbuf;
	}
	for (size_t i = 0; i < nres; i++) {
		struct sl_addr_key k = { 0 };
		__u32 one = 1;

		k.family = res[i].family == AF_INET ? 4 : 6;
		memcpy(k.addr, res[i].addr, res[i].family == AF_INET ? 4 : 16);
		if ((e = upd(fds->resolvers, &k, &one, BPF_ANY, "resolvers")))
			return e;
	}
	lc.enabled = img->nnames ? 1 : 0;
	lc.ttl_floor_s = o->ttl_floor_s;
	lc.ttl_max_s = o->ttl_max_s;
	lc.grace_s = o->grace_s;
	lc.pending_ms = o->pending_ms;
	lc.name_cap = o->name_cap && o->name_cap <= SL_NAME_RING ? o->name_cap : SL_NAME_RING;
	lc.learned_cap = o->learned_cap;
	lc.class_cap = o->class_cap ? o->class_cap : SL_CLASS_CAP;
	lc.max_wild_labels = img->max_wild_labels;
	return upd(fds->learn_cfg, &(__u32){ 0 }, &lc, BPF_ANY, "learn_cfg");
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int sl_learned_read(int fd, struct sl_learned_row **rows, size_t *n)
{
	struct sl_addr_key k, next;
	struct sl_learned_val v;
	struct sl_learned_row *r = NULL;
	size_t cnt = 0, cap = 0;
	void *prev = NULL;
	uint64_t now = mono_ns();      /* bpf_ktime_get_ns() is CLOCK_MONOTONIC */

	*rows = NULL;
	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		for (int i = 0; i < SL_LEARN_SLOTS; i++) {
			if (!v.s[i].expires_ns)
				continue;
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *nr = realloc(r, nc * sizeof(*r));

				if (!nr) {
					free(r);
					return -ENOMEM;
				}
				r = nr;
				cap = nc;
			}
			memset(&r[cnt], 0, sizeof(r[cnt]));
			r[cnt].family = k.family == 4 ? AF_INET : AF_INET6;
			memcpy(r[cnt].addr, k.addr, 16);
			r[cnt].ncls = v.s[i].ncls;
			r[cnt].remaining_ms = ((int64_t)v.s[i].expires_ns - (int64_t)now) / 1000000;
			r[cnt].ttl = v.ttl;
			cnt++;
		}
	}
	*rows = r;
	*n = cnt;
	return 0;
}

int sl_learn_ctr_read(int fd, uint32_t idx, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	*out = 0;
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		int e = -errno;

		free(v);
		return e;
	}
	for (int i = 0; i < ncpu; i++)
		*out += v[i];
	free(v);
	return 0;
}

const char *sl_learn_ctr_name(uint32_t idx)
{
	static const char *n[SL_L_MAX] = {
		"queries", "answers", "learned", "no_rule", "spoofed", "unsolicited",
		"malformed", "truncated", "cap_name", "cap_total", "slots_full", "fallback",
		"chain_long", "rcode", "injected", "pending_client", "cap_class", "rings_full",
	};

	return idx < SL_L_MAX ? n[idx] : "?";
}
