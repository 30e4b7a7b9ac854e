// SPDX-License-Identifier: GPL-2.0-only
/*
 * snapshot.c - an instance's figures for the exposition (kernel/kernel.h "metrics"; docs/metrics.md).
 *
 * Nothing here takes the instance lock (apply holds it for the whole of a
 * load and switch) or writes a map: the data path never waits for a
 * scrape, and a scrape never waits for apply.  Arrays are read with
 * BPF_MAP_LOOKUP_BATCH (one syscall for 4096 rule slots), hash maps are
 * counted in batches too; a kernel without batch lookups gets one lookup
 * per key.  Buffers the kernel fills are zeroed first (valgrind does not
 * know what BPF_MAP_LOOKUP_BATCH writes).
 *
 * Consistency with apply (user/kernel/loader.c): apply pins the new
 * generation's maps as next-*, switches the programs, then renames
 * next-config, next-dst4, next-dst6, ... over the running pins.  A read
 * opens config, dst4 and dst6 first and reads everything; then it checks
 * that no commit is half done (next-dst6 left while next-config is gone)
 * and that the three pins are still the maps it opened.  Otherwise it
 * reads again (at most SNAP_TRIES times).  The kept maps (counters, rules,
 * attachments, ...) are shared by every generation.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"
#include "util/prom.h"

#define SNAP_TRIES   5
#define SNAP_PAUSE_US 20000
#define HASH_CHUNK   1024

static uint64_t n_reads, n_retries;

void sl_snapshot_stats(struct sl_snapshot_stats *st)
{
	st->reads = __atomic_load_n(&n_reads, __ATOMIC_RELAXED);
	st->retries = __atomic_load_n(&n_retries, __ATOMIC_RELAXED);
}

static int ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

static uint32_t fd_id(int fd, uint32_t *max_entries)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	if (max_entries)
		*max_entries = info.max_entries;
	return info.id;
}

static uint32_t pin_id(const char *inst, const char *name)
{
	char p[PATH_MAX];
	uint32_t id;
	int fd;

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	id = fd_id(fd, NULL);
	close(fd);
	return id;
}

static bool pin_exists(const char *inst, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	return access(p, F_OK) == 0;
}

/*
 * Keys 0..n-1 of an array map into @vals (stride bytes each: the value
 * size rounded to 8, times the CPUs for per-CPU maps), in batches.
 */
static int array_read(int fd, uint32_t n, size_t stride, void *vals)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys = calloc(n, sizeof(*keys));
	uint32_t done = 0, out = 0;
	int e = 0;

	if (!keys)
		return -ENOMEM;
	while (done < n) {
		__u32 cnt = n - done;

		e = bpf_map_lookup_batch(fd, done ? &out : NULL, &out, keys,
					 (char *)vals + (size_t)done * stride, &cnt, &opts);
		if (e && errno != ENOENT)
			break;
		done += cnt;
		e = 0;
		if (cnt == 0)
			break;
	}
	free(keys);
	if (e && (errno == EINVAL || errno == ENOTSUP || errno == 524 /* ENOTSUPP */)) {
		/* no batch ops: one key at a time */
		for (uint32_t k = 0; k < n; k++)
			if (bpf_map_lookup_elem(fd, &k, (char *)vals + (size_t)k * stride))
				return -errno;
		return 0;
	}
	if (e)
		return -errno;
	return done == n ? 0 : -EIO;
}

/* Entries of a hash map (0 if @fd < 0). */
static uint64_t hash_count(int fd)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	uint64_t total = 0, tok = 0;
	void *keys, *vals;
	bool first = true;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	keys = malloc((size_t)HASH_CHUNK * info.key_size);
	vals = malloc((size_t)HASH_CHUNK * ((info.value_size + 7) & ~7u));
	if (!keys || !vals)
		goto slow;
	for (;;) {
		__u32 cnt = HASH_CHUNK;
		int e = bpf_map_lookup_batch(fd, first ? NULL : &tok, &tok, keys, vals, &cnt, &opts);

		first = false;
		total += cnt;
		if (e && errno == ENOENT)
			goto done;
		if (e)
			break;
	}
slow:
	/* no batch ops (or no memory): walk the keys */
	total = 0;
	{
		unsigned char k[64], nk[64];
		void *prev = NULL;

		if (info.key_size > sizeof(k))
			goto done;
		while (bpf_map_get_next_key(fd, prev, nk) == 0 && total <= info.max_entries) {
			total++;
			memcpy(k, nk, info.key_size);
			prev = k;
		}
	}
done:
	free(keys);
	free(vals);
	return total;
}

/* Prefixes of a trie sized to its image (the loader's max1(n)): its
 * max_entries, unless that is 1, which may also mean none. */
static uint64_t trie_prefixes(int fd, uint32_t max_entries)
{
	unsigned char k[32];

	if (max_entries != 1)
		return max_entries;
	return bpf_map_get_next_key(fd, NULL, k) == 0 ? 1 : 0;
}

static int cmp_index(const void *a, const void *b, void *meta)
{
	const struct sl_rule_meta *m = meta;
	uint16_t x = m[*(const uint16_t *)a].index, y = m[*(const uint16_t *)b].index;

	return (x > y) - (x < y);
}

static void add_map(struct sl_prom_inst *s, const char *name, uint64_t entries, uint64_t cap)
{
	if (s->nmaps < SL_PROM_MAPS)
		s->maps[s->nmaps++] = (struct sl_prom_map){ name, entries, cap };
}

/*
 * Whether a named slot is a rule of the running generation @gen.  Every
 * apply rewrites the metadata of all its rules (generation = its own)
 * while it loads, before its commit, and clears the slots of removed rules
 * after the commit: so a slot of an older generation is a removed rule not
 * cleared yet (left out), and a slot of a newer one a rule of an apply
 * still loading: a kept rule, or a new one at zero (slots are zeroed when
 * freed), shown a little early rather than leave a gap in the kept one.
 */
static bool rule_live(const struct sl_rule_meta *m, uint32_t gen)
{
	return m->generation >= gen;
}

/* The entries of a slot-indexed map: SL_MAX_SLOTS, or fewer if it was made smaller. */
static uint32_t slots_of(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries || info.max_entries > SL_MAX_SLOTS)
		return SL_MAX_SLOTS;
	return info.max_entries;
}

/* Rules: names from "rules", counters from "counters", in first-match order. */
static int read_rules(const struct sl_instance *in, struct sl_prom_inst *s)
{
	size_t cstride = sizeof(struct sl_rule_ctr) * (size_t)ncpus();
	struct sl_rule_meta *meta = calloc(SL_MAX_SLOTS, sizeof(*meta));
	unsigned char *ctr = calloc(SL_MAX_SLOTS, cstride);
	uint16_t *order = malloc(SL_MAX_SLOTS * sizeof(*order));
	size_t n = 0;
	int e;

	if (!meta || !ctr || !order) {
		e = -ENOMEM;
		goto out;
	}
	/* an instance sized to its rules (sluice-cni) has fewer slots */
	if ((e = array_read(in->rules_fd, slots_of(in->rules_fd), sizeof(*meta), meta)) ||
	    (e = array_read(in->counters_fd, slots_of(in->counters_fd), cstride, ctr)))
		goto out;
	for (uint32_t k = 0; k < SL_MAX_SLOTS; k++)
		if (meta[k].action != SL_ACT_NONE && rule_live(&meta[k], s->cfg.generation))
			order[n++] = (uint16_t)k;
	qsort_r(order, n, sizeof(*order), cmp_index, meta);
	for (size_t i = 0; i < n; i++) {
		struct sl_prom_rule *r = &s->rules[i];

		memset(r, 0, sizeof(*r));
		memcpy(r->name, meta[order[i]].name, SL_NAME_LEN);
		r->name[SL_NAME_LEN - 1] = '\0';
		r->action = meta[order[i]].action;
		for (int c = 0; c < ncpus(); c++) {
			const struct sl_rule_ctr *v = (const void *)(ctr + order[i] * cstride +
								       c * sizeof(struct sl_rule_ctr));

			r->pass_packets += v->pass_packets;
			r->pass_bytes += v->pass_bytes;
			r->drop_packets += v->drop_packets;
			r->drop_bytes += v->drop_bytes;
			r->near_miss_packets += v->near_miss_packets;
		}
	}
	s->nrules = n;
	add_map(s, "rules", n, SL_MAX_RULES);
out:
	free(meta);
	free(ctr);
	free(order);
	return e;
}

static int read_globals(const struct sl_instance *in, struct sl_prom_inst *s)
{
	size_t stride = sizeof(struct sl_global_ctr) * (size_t)ncpus();
	unsigned char *v = calloc(SL_G_MAX, stride);
	int e;

	if (!v)
		return -ENOMEM;
	if (!(e = array_read(in->globals_fd, SL_G_MAX, stride, v)))
		for (int g = 0; g < SL_G_MAX; g++)
			for (int c = 0; c < ncpus(); c++) {
				const struct sl_global_ctr *p = (const void *)(v + g * stride +
									     c * sizeof(*p));

				s->g[g].packets += p->packets;
				s->g[g].bytes += p->bytes;
			}
	free(v);
	return e;
}

static int read_attach(const struct sl_instance *in, struct sl_prom_inst *s)
{
	size_t stride = sizeof(struct sl_att_ctr) * (size_t)ncpus();
	struct sl_attach *att = calloc(SL_MAX_ATTACH, sizeof(*att));
	struct sl_att_live *live = calloc(SL_MAX_ATTACH, sizeof(*live));
	unsigned char *ctr = calloc(SL_MAX_ATTACH, stride);
	struct sl_att_owner *own = NULL;
	int e;

	if (!att || !ctr) {
		e = -ENOMEM;
		goto out;
	}
	if (!live) {
		e = -ENOMEM;
		goto out;
	}
	/* the records and what the kernel runs there (live.c) */
	if ((e = sl_live_read(in, att, live)) < 0 ||
	    (e = array_read(in->att_ctr_fd, SL_MAX_ATTACH, stride, ctr)))
		goto out;
	if (sl_owners_table(s->name, &own))
		own = NULL;     /* the containers' names only: counters still go out */
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
		const struct sl_attach *a = &att[k];
		struct sl_prom_att *p;

		if (a->hook == SL_HOOK_NONE)
			continue;
		p = &s->att[s->natt++];
		memset(p, 0, sizeof(*p));
		p->hook = a->hook;
		if (a->hook == SL_HOOK_CGROUP)
			snprintf(p->dev, sizeof(p->dev), "%.64s", a->cgroup[0] ? a->cgroup : "/");
		else
			snprintf(p->dev, sizeof(p->dev), "%.16s%s%.16s", live[k].dev, a->netns[0] ? "@" : "",
				 a->netns);
		const struct sl_att_owner *o = sl_owner_of(own, k, a->ifname);
		if (o) {
			snprintf(p->container, sizeof(p->container), "%s", o->id);
			snprintf(p->pod_ns, sizeof(p->pod_ns), "%s", o->pod_ns);
			snprintf(p->pod_name, sizeof(p->pod_name), "%s", o->pod_name);
		}
		p->state = (uint8_t)live[k].state;
		p->alive = live[k].state == SL_ST_ENFORCING || live[k].state == SL_ST_BYPASSED;
		for (int c = 0; c < ncpus(); c++) {
			const struct sl_att_ctr *v = (const void *)(ctr + k * stride + c * sizeof(*v));

			p->c.pass_packets += v->pass_packets;
			p->c.pass_bytes += v->pass_bytes;
			p->c.drop_packets += v->drop_packets;
			p->c.drop_bytes += v->drop_bytes;
		}
	}
	add_map(s, "attachments", s->natt, SL_MAX_ATTACH);
out:
	free(own);
	free(att);
	free(live);
	free(ctr);
	return e;
}

static int read_learner(const struct sl_instance *in, struct sl_prom_inst *s)
{
	size_t stride = 8 * (size_t)ncpus();
	uint32_t cap = 0, k0 = 0;
	unsigned char *v;
	int e;

	if (in->learn_ctr_fd < 0)
		return 0;
	v = calloc(SL_L_MAX, stride);
	if (!v)
		return -ENOMEM;
	if ((e = array_read(in->learn_ctr_fd, SL_L_MAX, stride, v))) {
		free(v);
		return e;
	}
	for (int k = 0; k < SL_L_MAX; k++)
		for (int c = 0; c < ncpus(); c++)
			s->lctr[k] += ((const uint64_t *)(v + k * stride))[c];
	free(v);
	s->learn = true;
	if (in->learn_live_fd >= 0)
		bpf_map_lookup_elem(in->learn_live_fd, &k0, &s->learned_live);
	if (fd_id(in->learned_fd, &cap)) {
		s->learned_cap = cap;
		add_map(s, "learned", hash_count(in->learned_fd), cap);
	}
	if (fd_id(in->name_ring_fd, &cap))
		add_map(s, "name_ring", hash_count(in->name_ring_fd), cap);
	if (fd_id(in->name_rings_fd, &cap))
		add_map(s, "name_rings", hash_count(in->name_rings_fd), cap);
	if (fd_id(in->pending_fd, &cap))
		add_map(s, "pending", hash_count(in->pending_fd), cap);
	return 0;
}

/* One read; *raced: a commit ran meanwhile (read again). */
static int read_once(const char *inst, struct sl_prom_inst *s, bool *raced)
{
	struct sl_prom_rule *rules = s->rules;
	struct sl_instance in;
	uint32_t id[3], max4 = 0, max6 = 0;
	char p[PATH_MAX];
	struct stat st;
	int e;

	*raced = false;
	memset(s, 0, sizeof(*s));
	s->rules = rules;
	if ((e = sl_instance_open(inst, &in)))
		return e;
	snprintf(s->name, sizeof(s->name), "%s", inst);
	s->cfg = in.cfg;
	id[0] = fd_id(in.config_fd, NULL);
	id[1] = fd_id(in.dst4_fd, &max4);
	id[2] = fd_id(in.dst6_fd, &max6);
	s->prefixes4 = trie_prefixes(in.dst4_fd, max4);
	s->prefixes6 = trie_prefixes(in.dst6_fd, max6);
	/* the commit renames next-config over config: its ctime is the apply's */
	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/config", inst);
	if (stat(p, &st) == 0)
		s->applied_s = (double)st.st_ctim.tv_sec + st.st_ctim.tv_nsec / 1e9;
	if ((e = read_rules(&in, s)) || (e = read_globals(&in, s)) || (e = read_attach(&in, s)) ||
	    (e = read_learner(&in, s)))
		goto out;
	s->events = sl_events_counters(inst, s->ev) == 0;      /* events.c; absent before issue 12 */
	{
		struct sl_source h;     /* the digest status shows (source.c) */

		if (sl_source_read(inst, false, &h, NULL) == 0) {
			s->has_digest = true;
			s->digest = h.digest;
		}
	}
	if (pin_exists(inst, "next-dst6") && !pin_exists(inst, "next-config"))
		*raced = true;          /* half-way through a commit */
	else if (pin_id(inst, "config") != id[0] || pin_id(inst, "dst4") != id[1] ||
		 pin_id(inst, "dst6") != id[2])
		*raced = true;          /* a commit ran during the read */
out:
	sl_instance_close(&in);
	return e;
}

int sl_snapshot_read(const char *inst, struct sl_prom_inst *s)
{
	bool raced = false;
	int e;

	memset(s, 0, sizeof(*s));
	s->rules = malloc(SL_MAX_SLOTS * sizeof(*s->rules));
	if (!s->rules)
		return -ENOMEM;
	__atomic_add_fetch(&n_reads, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < SNAP_TRIES; t++) {
		if (t) {
			__atomic_add_fetch(&n_retries, 1, __ATOMIC_RELAXED);
			usleep(SNAP_PAUSE_US);
		}
		e = read_once(inst, s, &raced);
		if (e || !raced)
			break;
	}
	/* still racing after SNAP_TRIES: a commit left half done by a killed
	 * apply is stable, and what was read is what is pinned */
	if (e)
		sl_snapshot_free(s);
	return e;
}

void sl_snapshot_free(struct sl_prom_inst *s)
{
	free(s->rules);
	s->rules = NULL;
	s->nrules = 0;
}

int sl_prom_collect(const char *inst, struct sl_buf *b)
{
	struct sl_prom_inst *snap;
	char **names = NULL;
	size_t n = 0, got = 0;
	int e = 0;

	if (inst) {
		names = malloc(sizeof(*names));
		if (!names || !(names[0] = strdup(inst))) {
			free(names);
			return -ENOMEM;
		}
		n = 1;
	} else if ((e = sl_instance_list(&names, &n))) {
		return e;
	}
	snap = calloc(n ? n : 1, sizeof(*snap));
	if (!snap) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = sl_snapshot_read(names[i], &snap[got]);

		if (r == 0)
			got++;
		else if (inst || r != -ENOENT)
			e = e ? e : r;
	}
	if (!e || !inst)
		e = sl_prom_write(b, snap, got) ? -ENOMEM : (inst ? e : 0);
	for (size_t i = 0; i < got; i++)
		sl_snapshot_free(&snap[i]);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(snap);
	return e;
}
