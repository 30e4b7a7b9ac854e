// SPDX-License-Identifier: GPL-2.0-only
/*
 * fill.c - filling a loaded generation's maps: the tries, ports, the fast tables, rule names, the learner's maps
 */
#include "kernel/internal.h"

#define SL_FILL_CHUNK 65536

/*
 * Write @cnt pairs (@keys[k], @vals[k]) into map @fd: one batched update,
 * or one by one where the kernel has no batch operation for the map type.
 * @first and @total only name the entries in the error message.
 */
static int slk_update_chunk(int fd, const char *keys, const char *vals, __u32 cnt, size_t key_sz,
			size_t val_sz, const char *name, size_t first, size_t total)
{
	__u32 done = cnt;
	int e;

	if (!bpf_map_update_batch(fd, keys, vals, &done, NULL))
		return 0;
	if (errno == EINVAL || errno == ENOTSUP || errno == SL_ENOTSUPP) {
		/* done = elements written before the error */
		for (; done < cnt; done++)
			if (bpf_map_update_elem(fd, keys + done * key_sz, vals + done * val_sz, BPF_ANY))
				break;
		if (done == cnt)
			return 0;
	}
	e = -errno;
	slk_err("map %s: cannot insert entry %zu of %zu: %s", name, first + done, total, strerror(-e));
	return e;
}

/* Fill a map from an array of (key, value) records, in chunks of 64k. */
static int slk_fill_map(int fd, const void *recs, size_t n, size_t rec_sz,
		    size_t key_sz, const char *name)
{
	const size_t val_sz = rec_sz - key_sz, chunk = n < SL_FILL_CHUNK ? n : SL_FILL_CHUNK;
	const char *p = recs;
	char *keys, *vals;
	int e = 0;

	if (!n)
		return 0;
	keys = malloc(chunk * key_sz);
	vals = malloc(chunk * val_sz);
	for (size_t i = 0; keys && vals && i < n && !e; i += chunk) {
		__u32 cnt = n - i < chunk ? (__u32)(n - i) : (__u32)chunk;

		for (__u32 k = 0; k < cnt; k++) {
			memcpy(keys + k * key_sz, p + (i + k) * rec_sz, key_sz);
			memcpy(vals + k * val_sz, p + (i + k) * rec_sz + key_sz, val_sz);
		}
		e = slk_update_chunk(fd, keys, vals, cnt, key_sz, val_sz, name, i, n);
	}
	if (!keys || !vals)
		e = -ENOMEM;
	free(keys);
	free(vals);
	return e;
}

/* Write @n values of @val_sz bytes to keys 0..n-1 of the array @fd, in chunks of 64k. */
static int slk_fill_array(int fd, const void *vals, size_t n, size_t val_sz, const char *name)
{
	const size_t chunk = n < SL_FILL_CHUNK ? n : SL_FILL_CHUNK;
	__u32 *keys;
	int e = 0;

	if (!n)
		return 0;
	keys = malloc(chunk * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n && !e; i += chunk) {
		__u32 cnt = n - i < chunk ? (__u32)(n - i) : (__u32)chunk;

		for (__u32 k = 0; k < cnt; k++)
			keys[k] = (__u32)(i + k);
		e = slk_update_chunk(fd, (const char *)keys, (const char *)vals + i * val_sz, cnt,
				 sizeof(*keys), val_sz, name, i, n);
	}
	free(keys);
	return e;
}

int sl_fast_fill(const struct sl_fast *f, int fd, int dir16_fd, int dir8_fd)
{
	int e;

	if ((e = slk_fill_array(fd, f->cls, f->ncls, sizeof(*f->cls), "classes")) ||
	    (e = slk_fill_array(dir16_fd, f->dir16, SL_DIR16_SIZE / 256, sizeof(struct sl_dir_grp), "dir16")) ||
	    (e = slk_fill_array(dir8_fd, f->dir8, f->nlines, sizeof(*f->dir8), "dir8")))
		return e;
	return 0;
}

int sl_fast6_fill(const struct sl_fast6 *f, int dir6_fd, int node6_fd)
{
	int e;

	if ((e = slk_fill_array(dir6_fd, f->dir6, SL_DIR16_SIZE / 256, sizeof(struct sl_dir_grp), "dir6")) ||
	    (e = slk_fill_array(node6_fd, f->pool, f->npool / 4, sizeof(struct sl_node6), "node6")))
		return e;
	return 0;
}

/*
 * A fresh bloom filter beside an existing "learned" map (an instance made
 * before the filter existed): set the bit of every learned address before
 * the new programs run, or they would skip those addresses.
 */
static int slk_seed_bloom(struct sluice_bpf *skel, int learned_fd)
{
	int bfd = bpf_map__fd(skel->maps.learn_bloom);
	struct sl_addr_key k, *prev = NULL;

	while (!bpf_map_get_next_key(learned_fd, prev, &k)) {
		__u32 w[4], bit, idx;
		__u64 word;

		memcpy(w, k.addr, 16);
		bit = sl_bloom_bit(w[0], w[1], w[2], w[3]);
		idx = bit >> 6;
		if (bpf_map_lookup_elem(bfd, &idx, &word))
			return -errno;
		word |= 1ULL << (bit & 63);
		if (bpf_map_update_elem(bfd, &idx, &word, BPF_ANY))
			return -errno;
		prev = &k;
	}
	return 0;
}

/* Fill dst4 (the biggest trie by far) on a second thread meanwhile. */
struct fill_job {
	int fd;
	const struct sl_image *img;
	int err;
};

static void *dst4_thread(void *arg)
{
	struct fill_job *j = arg;

	j->err = slk_fill_map(j->fd, j->img->dst4, j->img->ndst4, sizeof(*j->img->dst4),
			  sizeof(j->img->dst4->key), "dst4");
	return NULL;
}

/* Rule names, actions and order by slot (the "rules" map). */
static int fill_rules(struct sluice_bpf *skel, const struct sl_image *img)
{
	int rfd = bpf_map__fd(skel->maps.rules);

	for (size_t i = 0; i < img->rs->nrules; i++) {
		struct sl_rule_meta m = {0};
		__u32 slot = img->slot[i];

		snprintf(m.name, sizeof(m.name), "%s", img->rs->rules[i].name);
		m.action = img->rs->rules[i].action;
		m.flags = img->rs->rules[i].log ? SL_RMF_LOG : 0;
		m.index = i;
		m.generation = img->cfg.generation;
		if (bpf_map_update_elem(rfd, &slot, &m, BPF_ANY)) {
			int e = -errno;
			slk_err("map rules: cannot write slot %u: %s", slot, strerror(-e));
			return e;
		}
	}
	return 0;
}

/* The learner's maps (learn.c). */
static int fill_learn(struct sluice_bpf *skel, const struct sl_image *img,
		      const struct sl_learn_opts *learn_opts)
{
	struct sl_learn_fds lf = {
		.names = bpf_map__fd(skel->maps.names),
		.wilds = bpf_map__fd(skel->maps.wilds),
		.nclass = bpf_map__fd(skel->maps.nclass),
		.name_ring = bpf_map__fd(skel->maps.name_ring),
		.resolvers = bpf_map__fd(skel->maps.resolvers),
		.learn_cfg = bpf_map__fd(skel->maps.learn_cfg),
		.ports = bpf_map__fd(skel->maps.ports),
		.learned = bpf_map__fd(skel->maps.learned),
		.learn_ctr = bpf_map__fd(skel->maps.learn_ctr),
	};
	struct sl_learn_opts lo;

	if (learn_opts) {
		lo = *learn_opts;
	} else {
		sl_learn_opts_default(&lo);
		if (img->rs && img->rs->nresolvers) {
			lo.resolvers = img->rs->resolvers;
			lo.nresolvers = img->rs->nresolvers;
		}
	}
	return sl_learn_fill(img, &lf, &lo);
}

int slk_fill_generation(struct sluice_bpf *skel, const struct sl_image *img,
			const struct sl_fast *fast, const struct sl_reuse *reuse,
			const struct sl_learn_opts *lo)
{
	struct fill_job fj = { .img = img };
	bool filling = false;
	pthread_t th4;
	int e;

	fj.fd = bpf_map__fd(skel->maps.dst4);
	if (pthread_create(&th4, NULL, dst4_thread, &fj) == 0)
		filling = true;
	else
		dst4_thread(&fj);
	e = slk_fill_map(bpf_map__fd(skel->maps.dst6), img->dst6, img->ndst6,
			 sizeof(*img->dst6), sizeof(img->dst6->key), "dst6");
	if (!e)
		e = slk_fill_map(bpf_map__fd(skel->maps.ports), img->ports, img->nports,
				 sizeof(*img->ports), sizeof(img->ports->key), "ports");
	if (!e)
		e = sl_fast_fill(fast, bpf_map__fd(skel->maps.classes), bpf_map__fd(skel->maps.dir16),
				 bpf_map__fd(skel->maps.dir8));
	if (filling)
		pthread_join(th4, NULL);
	if (e || (e = fj.err))
		return e;
	/* without names the bloom is minimal and unread (load.c); the first
	 * apply with names makes it anew and seeds it (apply.c learn_anew) */
	if (img->nnames && reuse && reuse->learned_fd >= 0 && reuse->learn_bloom_fd < 0 &&
	    (e = slk_seed_bloom(skel, reuse->learned_fd))) {
		slk_err("map learn_bloom: cannot seed it from the learned addresses: %s", strerror(-e));
		return e;
	}
	if (img->rs && (e = fill_rules(skel, img)))
		return e;
	return fill_learn(skel, img, lo);
}
