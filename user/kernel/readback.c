// SPDX-License-Identifier: GPL-2.0-only
/*
 * readback.c - reading an instance back: per-CPU counters, rule metadata, attachment records, the image from the maps
 */
#include "kernel/internal.h"

static int slk_ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

/*
 * Read one key of a per-CPU map and add up its first @nwords u64 fields
 * over CPUs into @out (a struct of at least that many u64s).  If @vals is
 * not NULL the per-CPU values are handed back (free() them).
 */
static int slk_percpu_sum(int fd, uint32_t key, size_t value_sz, size_t nwords, void *out,
		      void **vals)
{
	int n = slk_ncpus();
	size_t stride = (value_sz + 7) & ~(size_t)7;
	unsigned char *v;
	uint64_t *o = out;

	if (n <= 0)
		return n ? n : -EINVAL;
	v = calloc(n, stride);
	if (!v)
		return -ENOMEM;
	memset(out, 0, value_sz);
	if (bpf_map_lookup_elem(fd, &key, v)) {
		int e = -errno;
		free(v);
		return e;
	}
	for (int c = 0; c < n; c++)
		for (size_t w = 0; w < nwords; w++)
			o[w] += ((const uint64_t *)(v + c * stride))[w];
	if (vals)
		*vals = v;
	else
		free(v);
	return 0;
}

int sl_read_rule_ctr(int fd, uint32_t slot, struct sl_rule_ctr *out)
{
	struct sl_rule_ctr *v;
	int e = slk_percpu_sum(fd, slot, sizeof(*out), 6, out, (void **)&v);

	if (e)
		return e;
	/* the newest near miss of any CPU */
	for (int c = 0; c < slk_ncpus(); c++)
		if (v[c].last_miss_proto && v[c].last_miss_ns >= out->last_miss_ns) {
			out->last_miss_ns = v[c].last_miss_ns;
			out->last_miss_proto = v[c].last_miss_proto;
			out->last_miss_port = v[c].last_miss_port;
		}
	free(v);
	return 0;
}

int sl_read_global_ctr(int fd, uint32_t idx, struct sl_global_ctr *out)
{
	return slk_percpu_sum(fd, idx, sizeof(*out), sizeof(*out) / 8, out, NULL);
}

/* Zero one slot of a per-CPU array on every CPU. */
int slk_zero_percpu(int fd, uint32_t key, size_t value_sz)
{
	size_t sz = ((value_sz + 7) & ~(size_t)7) * slk_ncpus();
	void *z = calloc(1, sz);
	int e = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, z, BPF_ANY))
		e = -errno;
	free(z);
	return e;
}

/* Keys 0..n-1 of the array @fd into @out: one batched lookup (4096 single
 * lookups were 10-50 ms of every apply), one by one if batches are refused. */
static int slk_read_array(int fd, void *out, __u32 n, size_t val_sz)
{
	__u32 *keys = calloc(n, sizeof(*keys)), cnt = n, out_batch = 0;
	int e = 0;

	memset(out, 0, (size_t)n * val_sz);     /* (valgrind does not know the batch writes it) */

	if (keys && !bpf_map_lookup_batch(fd, NULL, &out_batch, keys, out, &cnt, NULL) && cnt == n) {
		for (__u32 k = 0; k < n && !e; k++)   /* an array answers in key order */
			if (keys[k] != k)
				e = -EIO;
		free(keys);
		if (!e)
			return 0;
	} else {
		free(keys);
	}
	for (__u32 k = 0; k < n; k++)
		if (bpf_map_lookup_elem(fd, &k, (char *)out + (size_t)k * val_sz))
			return -errno;
	return 0;
}

/* Keys 0..@n-1 of an array that may have fewer entries (the rest zeroed):
 * an instance sized to its rules (rules, counters), or made before
 * SL_MAX_ATTACH grew (attachments). */
static int read_upto(int fd, void *out, __u32 n, size_t val_sz)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);

	if (bpf_obj_get_info_by_fd(fd, &mi, &len) == 0 && mi.max_entries && mi.max_entries < n) {
		memset((char *)out + (size_t)mi.max_entries * val_sz, 0, (size_t)(n - mi.max_entries) * val_sz);
		n = mi.max_entries;
	}
	return slk_read_array(fd, out, n, val_sz);
}

int sl_read_rule_meta(int fd, struct sl_rule_meta *out)
{
	return read_upto(fd, out, SL_MAX_SLOTS, sizeof(*out));
}

int sl_read_attach(int fd, struct sl_attach *out)
{
	return read_upto(fd, out, SL_MAX_ATTACH, sizeof(*out));
}

/* Read every (key, value) of a map into a growing array of records. */
static int slk_dump_map(int fd, size_t key_sz, size_t val_sz, void **recs, size_t *n)
{
	size_t rec = key_sz + val_sz, cap = 0, cnt = 0;
	unsigned char key[64], next[64];
	char *v = NULL;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (cnt == cap) {
			char *nv;
			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * rec);
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		memcpy(v + cnt * rec, next, key_sz);
		if (bpf_map_lookup_elem(fd, next, v + cnt * rec + key_sz) == 0)
			cnt++;
		memcpy(key, next, key_sz);
		prev = key;
	}
	*recs = v;
	*n = cnt;
	return 0;
}

int sl_image_from_maps(const struct sl_instance *in, struct sl_image *img)
{
	void *r;
	int e;

	memset(img, 0, sizeof(*img));
	img->cfg = in->cfg;
	if ((e = slk_dump_map(in->dst4_fd, sizeof(struct sl_lpm4_key), sizeof(struct sl_dst_val), &r, &img->ndst4)))
		goto fail;
	img->dst4 = r;
	if ((e = slk_dump_map(in->dst6_fd, sizeof(struct sl_lpm6_key), sizeof(struct sl_dst_val), &r, &img->ndst6)))
		goto fail;
	img->dst6 = r;
	if ((e = slk_dump_map(in->ports_fd, sizeof(struct sl_port_key), sizeof(struct sl_decision), &r, &img->nports)))
		goto fail;
	img->ports = r;
	sl_image_sort(img);
	/* Name classes' port entries sort after the static ones (ids >= SL_NCLS_BASE). */
	{
		size_t k = 0;

		while (k < img->nports && ((uint32_t)img->ports[k].key.class_be[0] << 24) < SL_NCLS_BASE)
			k++;
		if (k < img->nports) {
			img->nname_ports = img->nports - k;
			img->name_ports = malloc(img->nname_ports * sizeof(*img->name_ports));
			if (!img->name_ports) {
				e = -ENOMEM;
				goto fail;
			}
			memcpy(img->name_ports, img->ports + k, img->nname_ports * sizeof(*img->ports));
			img->nports = k;
		}
	}
	/* Name classes (near rule, fragments) and rule order, for learned addresses. */
	if (in->nclass_fd >= 0) {
		__u32 key, next, *prev = NULL;
		struct sl_dst_val v;

		while (bpf_map_get_next_key(in->nclass_fd, prev, &next) == 0) {
			struct sl_nameclass *nn;

			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(in->nclass_fd, &key, &v))
				continue;
			nn = realloc(img->names, (img->nnames + 1) * sizeof(*nn));
			if (!nn) {
				e = -ENOMEM;
				goto fail;
			}
			img->names = nn;
			memset(&nn[img->nnames], 0, sizeof(*nn));
			nn[img->nnames].ncls = key;
			nn[img->nnames].val = v;
			img->nnames++;
		}
	}
	img->slot_index = malloc(SL_MAX_SLOTS * sizeof(*img->slot_index));
	if (!img->slot_index) {
		e = -ENOMEM;
		goto fail;
	}
	for (__u32 k = 0; k < SL_MAX_SLOTS; k++) {
		struct sl_rule_meta m;

		img->slot_index[k] = bpf_map_lookup_elem(in->rules_fd, &k, &m) == 0 &&
				     m.action != SL_ACT_NONE ? m.index : -1;
	}
	for (size_t i = 0; i < img->ndst4; i++)
		if (img->dst4[i].val.class_id >= img->nclasses)
			img->nclasses = img->dst4[i].val.class_id + 1;
	for (size_t i = 0; i < img->ndst6; i++)
		if (img->dst6[i].val.class_id >= img->nclasses)
			img->nclasses = img->dst6[i].val.class_id + 1;
	return 0;
fail:
	sl_image_free(img);
	return e;
}

int sl_read_att_ctr(int fd, uint32_t k, struct sl_att_ctr *out)
{
	return slk_percpu_sum(fd, k, sizeof(*out), sizeof(*out) / 8, out, NULL);
}

int sl_learned_get(const struct sl_instance *in, const struct sl_addr_key *k,
		   struct sl_learned_val *v)
{
	if (in->learned_fd < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(in->learned_fd, k, v) ? -errno : 0;
}

int sl_nclass_get(const struct sl_instance *in, uint32_t ncls, struct sl_dst_val *v)
{
	if (in->nclass_fd < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(in->nclass_fd, &ncls, v) ? -errno : 0;
}

void sl_names_each(const struct sl_instance *in, bool wild, sl_name_fn fn, void *ctx)
{
	int fd = wild ? in->wilds_fd : in->names_fd;
	__u64 key, next, *prev = NULL;
	struct sl_name_val nv;

	if (fd < 0)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &nv))
			continue;
		if (fn(&nv, ctx))
			break;
	}
}
