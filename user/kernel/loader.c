// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c - images into kernels.
 *
 * Pin layout of an instance (DESIGN.md section 3), /sys/fs/bpf/sluice/<inst>/:
 *   prog-<k>               the program of attachment record k (one per attachment,
 *                          all sharing the maps; att_index = k selects its counters)
 *   config                 the generation's .rodata (struct sl_config)
 *   dst4, dst6, ports      its tables (replaced on every apply)
 *   counters, globals      per-CPU counters (kept across applies)
 *   rules                  slot -> rule name (kept)
 *   attachments            where the instance is attached (kept)
 *   att_counters           pass/drop per attachment record (kept)
 *   link-<hook>-<ifname>[@<netns>], link-cgroup-<id>   TCX, XDP, cgroup links
 *   next-*                 the generation being applied (renamed over the above)
 * (bpffs refuses '.' in names.)
 *
 * An apply loads a complete new generation next to the running one, points
 * every attachment at the new program (bpf_link_update for TCX, an in-place
 * filter replace for clsact: each atomic), then renames the new pins over the
 * old ones.  A packet sees the old program with the old maps or the new
 * program with the new maps, never a mix, never an empty table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <pthread.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/learn.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* Debian 12's uapi headers predate TCX (Linux 6.6). */
#define SL_BPF_TCX_INGRESS 46
#define SL_BPF_TCX_EGRESS  47
#define SL_ENOTSUPP        524  /* the kernel's internal ENOTSUPP */
#define SL_BPF_F_BEFORE    (1U << 3)    /* TCX: insert before (all, with no relative) */
#define SL_TC_HANDLE       0x51c3       /* clsact: sluice's filter handle */

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void sl_loader_verbose(bool on)
{
	verbose = on;
	libbpf_set_print(libbpf_print);
}

__attribute__((format(printf, 1, 2)))
static void err(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *sl_hook_name(enum sl_hook h)
{
	switch (h) {
	case SL_HOOK_TC_EGRESS:  return "tc-egress";
	case SL_HOOK_TC_INGRESS: return "tc-ingress";
	case SL_HOOK_XDP:        return "xdp";
	case SL_HOOK_CGROUP:     return "cgroup";
	case SL_HOOK_DNS:        return "dns-learn";
	default:                 return "none";
	}
}

const char *sl_att_kind_name(enum sl_att_kind k)
{
	switch (k) {
	case SL_ATT_TCX:    return "tcx";
	case SL_ATT_CLSACT: return "clsact";
	case SL_ATT_XDP:    return "xdp";
	case SL_ATT_CGROUP: return "cgroup";
	default:            return "?";
	}
}

/* ------------------------------------------------------------ loading */

static size_t max1(size_t n) { return n ? n : 1; }

#define SL_FILL_CHUNK 65536

/*
 * Write @cnt pairs (@keys[k], @vals[k]) into map @fd: one batched update,
 * or one by one where the kernel has no batch operation for the map type.
 * @first and @total only name the entries in the error message.
 */
static int update_chunk(int fd, const char *keys, const char *vals, __u32 cnt, size_t key_sz,
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
	err("map %s: cannot insert entry %zu of %zu: %s", name, first + done, total, strerror(-e));
	return e;
}

/* Fill a map from an array of (key, value) records, in chunks of 64k. */
static int fill_map(int fd, const void *recs, size_t n, size_t rec_sz,
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
		e = update_chunk(fd, keys, vals, cnt, key_sz, val_sz, name, i, n);
	}
	if (!keys || !vals)
		e = -ENOMEM;
	free(keys);
	free(vals);
	return e;
}

static const struct sl_learn_opts *learn_opts;

void sl_bpf_learn_opts(const struct sl_learn_opts *o)
{
	learn_opts = o;
}

int sl_bpf_load(const struct sl_image *img, bool record,
		const struct sl_reuse *reuse, struct sluice_bpf **out)
{
	return sl_bpf_load_progs(img, record, reuse, SL_PROGS_ALL, out);
}

/* Write @n values of @val_sz bytes to keys 0..n-1 of the array @fd, in chunks of 64k. */
static int fill_array(int fd, const void *vals, size_t n, size_t val_sz, const char *name)
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
		e = update_chunk(fd, (const char *)keys, (const char *)vals + i * val_sz, cnt,
				 sizeof(*keys), val_sz, name, i, n);
	}
	free(keys);
	return e;
}

int sl_fast_fill(const struct sl_fast *f, int fd, int dir16_fd, int dir8_fd, int small_fd)
{
	int e;

	if ((e = fill_array(fd, f->cls, f->ncls, sizeof(*f->cls), "classes")) ||
	    (e = fill_array(dir16_fd, f->dir16, SL_DIR16_SIZE / 256, sizeof(struct sl_dir_grp), "dir16")) ||
	    (e = fill_array(dir8_fd, f->dir8, f->ngroups, sizeof(struct sl_dir_grp), "dir8")) ||
	    (e = fill_array(small_fd, f->small, f->nsmall, sizeof(*f->small), "dir_small")))
		return e;
	return 0;
}

/*
 * A fresh bloom filter beside an existing "learned" map (an instance made
 * before the filter existed): set the bit of every learned address before
 * the new programs run, or they would skip those addresses.
 */
static int seed_bloom(struct sluice_bpf *skel, int learned_fd)
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

/* Build the fast tables on a second thread while the kernel verifies. */
struct fast_job {
	const struct sl_image *img;
	struct sl_fast fast;
	int err;
};

static void *fast_thread(void *arg)
{
	struct fast_job *j = arg;

	j->err = sl_fast_build(j->img, &j->fast);
	return NULL;
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

	j->err = fill_map(j->fd, j->img->dst4, j->img->ndst4, sizeof(*j->img->dst4),
			  sizeof(j->img->dst4->key), "dst4");
	return NULL;
}

int sl_bpf_load_progs(const struct sl_image *img, bool record, const struct sl_reuse *reuse,
		      unsigned int progs, struct sluice_bpf **out)
{
	struct fast_job job = { .img = img };
	struct fill_job fj = { .img = img };
	struct sl_fast *fast = &job.fast;
	struct sluice_bpf *skel;
	pthread_t th, th4;
	bool running = false, filling = false;
	uint32_t ngroups, nsmall;
	int e;

	*out = NULL;
	sl_fast_bounds(img, &ngroups, &nsmall);
	if (pthread_create(&th, NULL, fast_thread, &job) == 0)
		running = true;
	else
		fast_thread(&job);
	skel = sluice_bpf__open();
	if (!skel) {
		e = -errno;
		err("cannot open the BPF object: %s", strerror(-e));
		if (running)
			pthread_join(th, NULL);
		if (!job.err)
			sl_fast_free(fast);
		return e;
	}
	/* Verify only the programs the hooks in use need. */
	bpf_program__set_autoload(skel->progs.sluice_tc, !!(progs & SL_PROG_TC));
	bpf_program__set_autoload(skel->progs.sluice_xdp, !!(progs & SL_PROG_XDP));
	bpf_program__set_autoload(skel->progs.sluice_cgroup, !!(progs & SL_PROG_CGROUP));
	bpf_program__set_autoload(skel->progs.sluice_learn, !!(progs & SL_PROG_LEARN));
	skel->rodata->cfg = img->cfg;
	skel->rodata->cfg.record = record ? 1 : 0;

	if ((e = bpf_map__set_max_entries(skel->maps.dst4, max1(img->ndst4))) ||
	    (e = bpf_map__set_max_entries(skel->maps.dst6, max1(img->ndst6))) ||
	    (e = bpf_map__set_max_entries(skel->maps.ports, max1(img->nports + img->nname_ports))) ||
	    (e = bpf_map__set_max_entries(skel->maps.names, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.wilds, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.nclass, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.classes, max1(img->nclasses + img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.dir8, max1(ngroups))) ||
	    (e = bpf_map__set_max_entries(skel->maps.dir_small, max1(nsmall))))
		goto fail_msg;
	if (reuse) {
		if ((reuse->counters_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.counters, reuse->counters_fd))) ||
		    (reuse->globals_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.globals, reuse->globals_fd))) ||
		    (reuse->rules_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.rules, reuse->rules_fd))) ||
		    (reuse->attach_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.attachments, reuse->attach_fd))) ||
		    (reuse->att_ctr_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.att_counters, reuse->att_ctr_fd))) ||
		    (reuse->learned_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learned, reuse->learned_fd))) ||
		    (reuse->name_ring_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.name_ring, reuse->name_ring_fd))) ||
		    (reuse->pending_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.pending, reuse->pending_fd))) ||
		    (reuse->learn_ctr_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_ctr, reuse->learn_ctr_fd))) ||
		    (reuse->learn_live_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_live, reuse->learn_live_fd))) ||
		    (reuse->learn_bloom_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_bloom, reuse->learn_bloom_fd))) ||
		    (reuse->fallback_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.dns_fallback, reuse->fallback_fd))))
			goto fail_msg;
	}
	e = sluice_bpf__load(skel);
	if (running) {
		pthread_join(th, NULL);
		running = false;
	}
	if (job.err) {
		err("cannot build the IPv4 fast table and the class table: %s", strerror(-job.err));
		e = job.err;
		job.err = 1;            /* nothing to free */
		goto fail;
	}
	if (e) {
		err("the kernel refused the BPF program or its maps: %s (run with -v for the verifier log)",
		    strerror(-e));
		goto fail;
	}
	if (fast->ncls != img->nclasses + img->nnames || fast->ngroups > ngroups ||
	    fast->nsmall > nsmall) {
		err("internal error: the fast tables outgrew their bounds (%u/%u groups, %u/%u small)",
		    fast->ngroups, ngroups, fast->nsmall, nsmall);
		e = -EOVERFLOW;
		goto fail;
	}
	fj.fd = bpf_map__fd(skel->maps.dst4);
	if (pthread_create(&th4, NULL, dst4_thread, &fj) == 0)
		filling = true;
	else
		dst4_thread(&fj);
	if ((e = fill_map(bpf_map__fd(skel->maps.dst6), img->dst6, img->ndst6,
			  sizeof(*img->dst6), sizeof(img->dst6->key), "dst6")) ||
	    (e = fill_map(bpf_map__fd(skel->maps.ports), img->ports, img->nports,
			  sizeof(*img->ports), sizeof(img->ports->key), "ports")) ||
	    (e = sl_fast_fill(fast, bpf_map__fd(skel->maps.classes), bpf_map__fd(skel->maps.dir16),
			      bpf_map__fd(skel->maps.dir8), bpf_map__fd(skel->maps.dir_small))))
		goto fail;
	if (filling) {
		pthread_join(th4, NULL);
		filling = false;
	}
	if ((e = fj.err))
		goto fail;
	if (reuse && reuse->learned_fd >= 0 && reuse->learn_bloom_fd < 0 &&
	    (e = seed_bloom(skel, reuse->learned_fd))) {
		err("map learn_bloom: cannot seed it from the learned addresses: %s", strerror(-e));
		goto fail;
	}
	if (img->rs) {
		int rfd = bpf_map__fd(skel->maps.rules);

		for (size_t i = 0; i < img->rs->nrules; i++) {
			struct sl_rule_meta m = {0};
			__u32 slot = img->slot[i];

			snprintf(m.name, sizeof(m.name), "%s", img->rs->rules[i].name);
			m.action = img->rs->rules[i].action;
			m.index = i;
			m.generation = img->cfg.generation;
			if (bpf_map_update_elem(rfd, &slot, &m, BPF_ANY)) {
				e = -errno;
				err("map rules: cannot write slot %u: %s", slot, strerror(-e));
				goto fail;
			}
		}
	}
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
		if ((e = sl_learn_fill(img, &lf, &lo)))
			goto fail;
	}
	sl_fast_free(fast);
	*out = skel;
	return 0;
fail_msg:
	err("cannot prepare the BPF maps: %s", strerror(-e));
fail:
	if (running)
		pthread_join(th, NULL);
	if (filling)
		pthread_join(th4, NULL);
	if (!job.err)
		sl_fast_free(fast);
	sluice_bpf__destroy(skel);
	return e < 0 ? e : -EINVAL;
}

void sl_bpf_destroy(struct sluice_bpf *skel)
{
	sluice_bpf__destroy(skel);
}

static int ncpus(void)
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
static int percpu_sum(int fd, uint32_t key, size_t value_sz, size_t nwords, void *out,
		      void **vals)
{
	int n = ncpus();
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
	int e = percpu_sum(fd, slot, sizeof(*out), 6, out, (void **)&v);

	if (e)
		return e;
	/* the newest near miss of any CPU */
	for (int c = 0; c < ncpus(); c++)
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
	return percpu_sum(fd, idx, sizeof(*out), sizeof(*out) / 8, out, NULL);
}

/* Zero one slot of a per-CPU array on every CPU. */
static int zero_percpu(int fd, uint32_t key, size_t value_sz)
{
	size_t sz = ((value_sz + 7) & ~(size_t)7) * ncpus();
	void *z = calloc(1, sz);
	int e = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, z, BPF_ANY))
		e = -errno;
	free(z);
	return e;
}

/* ------------------------------------------------------------ pins */

static bool valid_instance(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SL_INST_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '-' || c == '_'))))
			return false;
	}
	return true;
}

/* Mount bpffs at /sys/fs/bpf if it is missing. */
static int ensure_bpffs(void)
{
	struct statfs st, pst;
	struct stat self, parent, ours, theirs;
	char pns[64], proot[64];
	bool private_ns;

	/*
	 * `ip netns exec` runs us in a mount namespace of our own whose /sys is
	 * a fresh sysfs (without bpffs, or with a private one): pins made there
	 * vanish with it, and the links and the filter with them.  Our parent
	 * (the shell that ran ip netns exec) still sees the host's mounts:
	 * if our mount namespace differs from our parent's, /sys/fs/bpf must be
	 * the very bpffs the parent sees.
	 */
	snprintf(pns, sizeof(pns), "/proc/%d/ns/mnt", (int)getppid());
	snprintf(proot, sizeof(proot), "/proc/%d/root/sys/fs/bpf", (int)getppid());
	private_ns = stat("/proc/self/ns/mnt", &self) == 0 && stat(pns, &parent) == 0 &&
		     self.st_ino != parent.st_ino;
	if (private_ns &&
	    (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC ||
	     statfs(proot, &pst) || pst.f_type != BPF_FS_MAGIC ||
	     stat("/sys/fs/bpf", &ours) || stat(proot, &theirs) || ours.st_dev != theirs.st_dev)) {
		err("/sys/fs/bpf: this mount namespace (under `ip netns exec`?) has no bpffs, or a "
		    "private one: pins made here would vanish with it and the filter with them; run "
		    "sluice from the host and name the namespace with --netns NAME");
		return -EPERM;
	}
	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		int e = -errno;
		err("/sys/fs/bpf: cannot create the bpffs mount point: %s", strerror(-e));
		return e;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int e = -errno;
		err("/sys/fs/bpf: cannot mount bpffs: %s (mount it: mount -t bpf bpf /sys/fs/bpf)",
		    strerror(-e));
		return e;
	}
	return 0;
}

static void pin_path(char *buf, size_t sz, const char *inst, const char *name)
{
	snprintf(buf, sz, SL_PIN_ROOT "/%s/%s", inst, name);
}

static int obj_get(const char *inst, const char *name)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), inst, name);
	return bpf_obj_get(p);
}

static int pin_fd(int fd, const char *inst, const char *name)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), inst, name);
	unlink(p);
	if (bpf_obj_pin(fd, p)) {
		int e = -errno;
		err("%s: cannot pin: %s", p, strerror(-e));
		return e;
	}
	return 0;
}

static int rename_pin(const char *inst, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	pin_path(a, sizeof(a), inst, from);
	pin_path(b, sizeof(b), inst, to);
	if (rename(a, b)) {
		int e = -errno;
		err("%s: cannot rename to %s: %s", a, b, strerror(-e));
		return e;
	}
	return 0;
}

static void unpin(const char *inst, const char *name)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), inst, name);
	unlink(p);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sl_instance_close(struct sl_instance *in)
{
	close_fd(&in->config_fd);
	close_fd(&in->dst4_fd);
	close_fd(&in->dst6_fd);
	close_fd(&in->ports_fd);
	close_fd(&in->counters_fd);
	close_fd(&in->globals_fd);
	close_fd(&in->rules_fd);
	close_fd(&in->attach_fd);
	close_fd(&in->att_ctr_fd);
	close_fd(&in->learned_fd);
	close_fd(&in->names_fd);
	close_fd(&in->wilds_fd);
	close_fd(&in->nclass_fd);
	close_fd(&in->learn_ctr_fd);
	close_fd(&in->name_ring_fd);
	close_fd(&in->pending_fd);
	close_fd(&in->learn_live_fd);
	close_fd(&in->learn_bloom_fd);
}

static int read_config(int fd, struct sl_config *cfg)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), k = 0;
	void *buf;
	int e = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.value_size < sizeof(*cfg))
		return -EINVAL;
	buf = calloc(1, info.value_size);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &k, buf))
		e = -errno;
	else
		memcpy(cfg, buf, sizeof(*cfg));
	free(buf);
	return e;
}

int sl_instance_open(const char *inst, struct sl_instance *in)
{
	char dir[PATH_MAX];
	struct stat st;

	memset(in, 0, sizeof(*in));
	in->config_fd = in->dst4_fd = in->dst6_fd = in->ports_fd = -1;
	in->counters_fd = in->globals_fd = in->rules_fd = in->attach_fd = in->att_ctr_fd = -1;
	in->learned_fd = in->names_fd = in->wilds_fd = in->nclass_fd = in->learn_ctr_fd = -1;
	in->name_ring_fd = in->pending_fd = in->learn_live_fd = in->learn_bloom_fd = -1;
	if (!valid_instance(inst)) {
		err("'%s' is not an instance name ([a-z0-9][a-z0-9_-]*, at most %d characters)",
		    inst, SL_INST_LEN);
		return -EINVAL;
	}
	snprintf(in->name, sizeof(in->name), "%s", inst);
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	if (stat(dir, &st))
		return -ENOENT;
	in->config_fd = obj_get(inst, "config");
	if (in->config_fd < 0 && errno == ENOENT)
		return -ENOENT;         /* not loaded (yet) */
	in->dst4_fd = obj_get(inst, "dst4");
	in->dst6_fd = obj_get(inst, "dst6");
	in->ports_fd = obj_get(inst, "ports");
	in->counters_fd = obj_get(inst, "counters");
	in->globals_fd = obj_get(inst, "globals");
	in->rules_fd = obj_get(inst, "rules");
	in->attach_fd = obj_get(inst, "attachments");
	in->att_ctr_fd = obj_get(inst, "att_counters");
	/* host-name learning (absent in instances made before it existed) */
	in->learned_fd = obj_get(inst, "learned");
	in->names_fd = obj_get(inst, "names");
	in->wilds_fd = obj_get(inst, "wilds");
	in->nclass_fd = obj_get(inst, "nclass");
	in->learn_ctr_fd = obj_get(inst, "learn_ctr");
	in->name_ring_fd = obj_get(inst, "name_ring");
	in->pending_fd = obj_get(inst, "pending");
	in->learn_live_fd = obj_get(inst, "learn_live");
	in->learn_bloom_fd = obj_get(inst, "learn_bloom");
	if (in->att_ctr_fd < 0 || in->config_fd < 0 || in->dst4_fd < 0 || in->dst6_fd < 0 ||
	    in->ports_fd < 0 || in->counters_fd < 0 || in->globals_fd < 0 ||
	    in->rules_fd < 0 || in->attach_fd < 0) {
		err("%s: the instance's pins are incomplete; remove it with: sluice detach --all --instance %s",
		    dir, inst);
		sl_instance_close(in);
		return -EIO;
	}
	if (read_config(in->config_fd, &in->cfg)) {
		err("%s/config: cannot read", dir);
		sl_instance_close(in);
		return -EIO;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sl_instance_list(char ***names, size_t *n)
{
	DIR *d = opendir(SL_PIN_ROOT);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (de->d_name[0] == '.' || !valid_instance(de->d_name))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[cnt] = strdup(de->d_name);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

int sl_read_rule_meta(int fd, struct sl_rule_meta *out)
{
	for (__u32 k = 0; k < SL_MAX_RULES; k++)
		if (bpf_map_lookup_elem(fd, &k, &out[k]))
			return -errno;
	return 0;
}

int sl_read_attach(int fd, struct sl_attach *out)
{
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (bpf_map_lookup_elem(fd, &k, &out[k]))
			return -errno;
	return 0;
}

/* Read every (key, value) of a map into a growing array of records. */
static int dump_map(int fd, size_t key_sz, size_t val_sz, void **recs, size_t *n)
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
	if ((e = dump_map(in->dst4_fd, sizeof(struct sl_lpm4_key), sizeof(struct sl_dst_val), &r, &img->ndst4)))
		goto fail;
	img->dst4 = r;
	if ((e = dump_map(in->dst6_fd, sizeof(struct sl_lpm6_key), sizeof(struct sl_dst_val), &r, &img->ndst6)))
		goto fail;
	img->dst6 = r;
	if ((e = dump_map(in->ports_fd, sizeof(struct sl_port_key), sizeof(struct sl_decision), &r, &img->nports)))
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
	img->slot_index = malloc(SL_MAX_RULES * sizeof(*img->slot_index));
	if (!img->slot_index) {
		e = -ENOMEM;
		goto fail;
	}
	for (__u32 k = 0; k < SL_MAX_RULES; k++) {
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

/* ------------------------------------------------------------ netns */

/*
 * Enter a named network namespace (as `ip -n NAME`: /run/netns/NAME) for
 * the interface work only; the mount namespace, and so the pins in the
 * host's bpffs, stay ours.  *saved gets the namespace to return to.
 */
static int netns_enter(const char *name, int *saved)
{
	char p[PATH_MAX];
	int fd;

	*saved = -1;
	if (!name || !name[0])
		return 0;
	snprintf(p, sizeof(p), "/run/netns/%s", name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		err("%s: no such network namespace (see: ip netns list)", p);
		return e;
	}
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0 || setns(fd, CLONE_NEWNET)) {
		int e = -errno;
		err("%s: cannot enter the network namespace: %s", p, strerror(-e));
		close(fd);
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		return e;
	}
	close(fd);
	return 0;
}

static void netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		err("cannot return to the original network namespace: %s", strerror(errno));
	close(saved);
}

/* ------------------------------------------------------------ attaching */

static void link_pin_name(char *buf, size_t sz, const struct sl_attach *a)
{
	if (a->hook == SL_HOOK_CGROUP)
		snprintf(buf, sz, "link-cgroup-%llu", (unsigned long long)a->cgroup_id);
	else if (a->netns[0])
		snprintf(buf, sz, "link-%s-%.*s@%.*s", sl_hook_name(a->hook), SL_IFNAME_LEN, a->ifname,
			 SL_IFNAME_LEN, a->netns);
	else
		snprintf(buf, sz, "link-%s-%.*s", sl_hook_name(a->hook), SL_IFNAME_LEN, a->ifname);
	/* bpffs refuses '.' in names: "eth0.100" is pinned as "eth0_100" */
	for (char *c = buf; *c; c++)
		if (*c == '.')
			*c = '_';
}

static void prog_pin_name(char *buf, size_t sz, const char *prefix, size_t k)
{
	snprintf(buf, sz, "%sprog-%zu", prefix, k);
}

/* bpf_link_info: type, id, prog_id, then (8-aligned) the per-type union; read
 * raw because Debian 12's uapi headers predate TCX. */
struct raw_link_info { __u32 type, id, prog_id, pad; __u32 u[28]; };

static int link_info(int lfd, struct raw_link_info *li)
{
	__u32 len = sizeof(*li);

	memset(li, 0, sizeof(*li));
	return bpf_obj_get_info_by_fd(lfd, li, &len) ? -errno : 0;
}

#define SL_LINK_TYPE_CGROUP 3
#define SL_LINK_TYPE_XDP    6
#define SL_LINK_TYPE_TCX    11

static bool hook_ingress(enum sl_hook h)
{
	return h == SL_HOOK_TC_INGRESS || h == SL_HOOK_DNS;
}

static enum bpf_tc_attach_point tc_point(enum sl_hook h)
{
	return hook_ingress(h) ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

bool sl_attach_alive(const struct sl_instance *in, const struct sl_attach *a)
{
	struct raw_link_info li;
	char name[96];
	bool alive;
	int fd, saved;

	if (a->hook == SL_HOOK_NONE)
		return false;
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->handle, .priority = a->priority);

		if (netns_enter(a->netns, &saved))
			return false;
		alive = bpf_tc_query(&hook, &opts) == 0;
		netns_leave(saved);
		return alive;
	}
	link_pin_name(name, sizeof(name), a);
	fd = obj_get(in->name, name);
	if (fd < 0)
		return false;
	alive = link_info(fd, &li) == 0;
	/* A TCX or XDP link whose device went away reports ifindex 0; a cgroup
	 * link whose cgroup was removed reports cgroup id 0. */
	if (alive && (li.type == SL_LINK_TYPE_TCX || li.type == SL_LINK_TYPE_XDP))
		alive = li.u[0] != 0;
	if (alive && li.type == SL_LINK_TYPE_CGROUP)
		alive = li.u[0] != 0 || li.u[1] != 0;
	close(fd);
	return alive;
}


static int pin_link(const char *inst, int lfd, struct sl_attach *a)
{
	struct raw_link_info li;
	char name[96];
	int e;

	if (link_info(lfd, &li) == 0)
		a->link_id = li.id;
	link_pin_name(name, sizeof(name), a);
	e = pin_fd(lfd, inst, name);
	close(lfd);             /* the pin holds the link */
	return e;
}

/* TC: TCX first (as the first program of the hook: nothing before sluice can
 * pass traffic around it), clsact on kernels without TCX. */
static int attach_tc_here(const char *inst, int prog_fd, const char *dev, enum sl_tc_mode mode,
			  struct sl_attach *a)
{
	int e;

	if (mode != SL_TC_CLSACT) {
		int type = hook_ingress(a->hook) ? SL_BPF_TCX_INGRESS : SL_BPF_TCX_EGRESS;
		DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = SL_BPF_F_BEFORE);
		int lfd = bpf_link_create(prog_fd, a->ifindex, type, &lo);

		if (lfd >= 0) {
			a->kind = SL_ATT_TCX;
			return pin_link(inst, lfd, a);
		}
		e = -errno;
		if (mode == SL_TC_TCX || (e != -EINVAL && e != -EOPNOTSUPP && e != -SL_ENOTSUPP)) {
			err("%s: cannot attach a TCX %s link: %s", dev, sl_hook_name(a->hook), strerror(-e));
			return e;
		}
	}
	{
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = prog_fd);

		e = bpf_tc_hook_create(&th);
		if (e && e != -EEXIST) {
			err("%s: cannot create a clsact qdisc: %s", dev, strerror(-e));
			return e;
		}
		a->qdisc_created = e == 0;
		/* First in line: priority 1 (the lowest number runs first) with
		 * sluice's own handle; if another filter holds priority 1, let
		 * the kernel choose, and say that others may run before. */
		to.priority = 1;
		to.handle = SL_TC_HANDLE;
		e = bpf_tc_attach(&th, &to);
		if (e == -EEXIST || e == -EINVAL || e == -EBUSY) {
			fprintf(stderr, "sluice: %s: warning: clsact priority 1 is taken; sluice's filter "
				"runs after the filters before it\n", dev);
			to.priority = 0;
			to.handle = 0;
			to.prog_id = 0;
			e = bpf_tc_attach(&th, &to);
		}
		if (e) {
			err("%s: cannot attach a clsact %s filter: %s", dev, sl_hook_name(a->hook), strerror(-e));
			if (a->qdisc_created) {
				th.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				bpf_tc_hook_destroy(&th);
			}
			return e;
		}
		a->kind = SL_ATT_CLSACT;
		a->handle = to.handle;
		a->priority = to.priority;
	}
	return 0;
}

/* XDP: native (driver) mode where the driver has it, generic otherwise.
 * Never replaces an XDP program sluice did not attach. */
static int attach_xdp_here(const char *inst, int prog_fd, const char *dev, enum sl_xdp_mode mode,
			   struct sl_attach *a)
{
	static const struct { enum sl_xdp_mode m; __u32 flags; } tries[] = {
		{ SL_XDP_NATIVE, XDP_FLAGS_DRV_MODE }, { SL_XDP_GENERIC, XDP_FLAGS_SKB_MODE },
	};
	int e = -EINVAL;

	for (size_t i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = tries[i].flags);
		int lfd;

		if (mode != SL_XDP_AUTO && mode != tries[i].m)
			continue;
		lfd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &lo);
		if (lfd >= 0) {
			a->kind = SL_ATT_XDP;
			a->xdp_mode = tries[i].m;
			return pin_link(inst, lfd, a);
		}
		e = -errno;
		if (e == -EBUSY || e == -EEXIST) {
			err("%s: another XDP program is attached; sluice does not replace programs it did "
			    "not attach (see: ip link show dev %s; use --hook tc-ingress instead)", dev, dev);
			return e;
		}
	}
	err("%s: cannot attach XDP (%s): %s", dev,
	    mode == SL_XDP_NATIVE ? "native" : mode == SL_XDP_GENERIC ? "generic" : "native or generic",
	    strerror(-e));
	return e;
}

/* Attach @prog_fd to the interface target @t; fills @a. */
static int attach_dev(const char *inst, int prog_fd, const struct sl_apply_opts *o, const char *dev,
		      struct sl_attach *a)
{
	int saved, e;

	if ((e = netns_enter(a->netns, &saved)))
		return e;
	a->ifindex = if_nametoindex(dev);
	if (!a->ifindex) {
		if (a->netns[0])
			err("%s: no such interface in network namespace %s (see: ip -n %s link show)",
			    dev, a->netns, a->netns);
		else
			err("%s: no such interface (see: ip link show)", dev);
		e = -ENODEV;
	} else if (a->hook == SL_HOOK_XDP) {
		e = attach_xdp_here(inst, prog_fd, dev, o->xdp_mode, a);
	} else {
		e = attach_tc_here(inst, prog_fd, dev, o->tc_mode, a);
	}
	netns_leave(saved);
	return e;
}

/* The cgroup v2 mount point, from /proc/self/mountinfo (not assumed). */
int sl_cgroup2_mount(char *buf, size_t sz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int e = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64];

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(buf, sz, "%s", mnt);
		e = 0;
		break;
	}
	fclose(f);
	return e;
}

/* Resolve a --cgroup argument (absolute, or relative to the cgroup2 mount). */
static int cgroup_resolve(const char *arg, char *abs, size_t sz, char *rel, size_t relsz)
{
	char mnt[PATH_MAX];
	size_t n;

	if (sl_cgroup2_mount(mnt, sizeof(mnt))) {
		err("no cgroup v2 hierarchy is mounted (see: mount -t cgroup2)");
		return -ENOENT;
	}
	n = strlen(mnt);
	if (arg[0] == '/') {
		if (strncmp(arg, mnt, n) || (arg[n] && arg[n] != '/')) {
			err("%s: not below the cgroup v2 mount %s", arg, mnt);
			return -EINVAL;
		}
		snprintf(abs, sz, "%s", arg);
		snprintf(rel, relsz, "%s", arg[n] ? arg + n + 1 : "");
	} else {
		if (snprintf(abs, sz, "%s/%s", mnt, arg) >= (int)sz)
			return -ENAMETOOLONG;
		snprintf(rel, relsz, "%s", arg);
	}
	if (strlen(rel) >= relsz - 1)
		err("note: %s: the cgroup path is recorded truncated to %zu characters", arg, relsz - 1);
	return 0;
}

static int attach_cgroup(const char *inst, int prog_fd, const char *path, struct sl_attach *a)
{
	char abs[PATH_MAX];
	struct stat st;
	int cfd, lfd, e;

	if ((e = cgroup_resolve(path, abs, sizeof(abs), a->cgroup, sizeof(a->cgroup))))
		return e;
	cfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0 || fstat(cfd, &st)) {
		e = -errno;
		err("%s: cannot open the cgroup: %s", abs, strerror(-e));
		if (cfd >= 0)
			close(cfd);
		return e;
	}
	a->cgroup_id = st.st_ino;       /* a cgroup v2 id is its directory's inode */
	lfd = bpf_link_create(prog_fd, cfd, BPF_CGROUP_INET_EGRESS, NULL);
	e = -errno;
	close(cfd);
	if (lfd < 0) {
		err("%s: cannot attach cgroup_skb/egress: %s", abs, strerror(-e));
		return e;
	}
	a->kind = SL_ATT_CGROUP;
	return pin_link(inst, lfd, a);
}

/* Point an existing attachment at @prog_fd, atomically. */
static int switch_attach(const char *inst, const struct sl_attach *a, int prog_fd)
{
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE,
				    .handle = a->handle, .priority = a->priority);
		int saved, e = netns_enter(a->netns, &saved);

		if (e)
			return e;
		e = bpf_tc_attach(&th, &to);
		netns_leave(saved);
		if (e)
			err("%s: cannot replace the clsact filter (handle %u, prio %u): %s",
			    a->ifname, a->handle, a->priority, strerror(-e));
		return e;
	} else {
		char name[96];
		int lfd, e = 0;

		link_pin_name(name, sizeof(name), a);
		lfd = obj_get(inst, name);
		if (lfd < 0) {
			e = -errno;
			err("%s/%s/%s: link pin missing: %s", SL_PIN_ROOT, inst, name, strerror(-e));
			return e;
		}
		if (bpf_link_update(lfd, prog_fd, NULL)) {
			e = -errno;
			err("%s: cannot switch the %s link to the new program: %s",
			    a->hook == SL_HOOK_CGROUP ? a->cgroup : a->ifname, sl_hook_name(a->hook),
			    strerror(-e));
		}
		close(lfd);
		return e;
	}
}

static int detach_one(const char *inst, const struct sl_attach *a)
{
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .handle = a->handle, .priority = a->priority);
		int saved, e = netns_enter(a->netns, &saved);

		if (e)
			return e;
		e = bpf_tc_detach(&th, &to);
		netns_leave(saved);
		if (e && e != -ENOENT && e != -ENODEV && e != -EINVAL) {
			err("%s: cannot remove the clsact filter (handle %u, prio %u): %s",
			    a->ifname, a->handle, a->priority, strerror(-e));
			return e;
		}
		/* The qdisc stays: other filters may have joined it since. */
		return 0;
	} else {
		char name[96];

		link_pin_name(name, sizeof(name), a);
		unpin(inst, name);      /* last reference: the link goes */
		return 0;
	}
}

/* Forget attachment record @k: its program pin, record and counters. */
static void forget_record(const char *inst, int attach_fd, int att_ctr_fd, __u32 k)
{
	struct sl_attach z = {0};
	char name[32];

	prog_pin_name(name, sizeof(name), "", k);
	unpin(inst, name);
	bpf_map_update_elem(attach_fd, &k, &z, BPF_ANY);
	if (att_ctr_fd >= 0)
		zero_percpu(att_ctr_fd, k, sizeof(struct sl_att_ctr));
}

/* ------------------------------------------------------------ apply */

struct lock { int fd; };

/* ------------------------------------------------- draining old tries */

/* Entries of a map, from its fdinfo (0 if unknown). */
static long map_entries(int fd)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;        /* sized to the image: about its entries */
}

int sl_map_drain(int fd, size_t key_sz)
{
	unsigned char key[64];
	long n = 0;

	if (key_sz > sizeof(key))
		return -EINVAL;
	/* every old program has finished: TC/XDP/cgroup programs run inside
	 * RCU read-side sections, and this waits for a grace period */
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	while (!bpf_map_get_next_key(fd, NULL, key)) {
		if (bpf_map_delete_elem(fd, key))
			return -errno;
		if (++n % SL_DRAIN_BATCH == 0)
			usleep(SL_DRAIN_PAUSE_US);
	}
	return 0;
}

/*
 * The old generation's tries, once no program uses them: freeing a trie of
 * 10^6 nodes is one long loop in a kernel worker (50-70 ms here, during
 * which a CPU runs nothing else: a stall for whatever that CPU was
 * forwarding; `make bench` section 6).  Big ones are emptied instead, 256
 * entries every 2 ms, by a detached child process, so the final free is of
 * an empty trie (1e6 entries: ~9 s in the background, no gap over the
 * baseline).  The command returns at once; the child exits when done.
 */
static void drain_old(struct sl_instance *cur)
{
	int fds[3] = { cur->dst4_fd, cur->dst6_fd, cur->ports_fd };
	size_t ksz[3] = { sizeof(struct sl_lpm4_key), sizeof(struct sl_lpm6_key),
			  sizeof(struct sl_port_key) };
	long total = 0;
	pid_t pid;

	for (int i = 0; i < 3; i++)
		total += map_entries(fds[i]);
	if (total < SL_DRAIN_MIN)
		return;
	pid = fork();
	if (pid > 0)
		waitpid(pid, NULL, 0);  /* the child forks the drainer and exits */
	if (pid != 0)
		return;                 /* parent (or fork failed: freed at once) */
	/* child: keep only the three maps, detached from the caller's
	 * terminal, pipes and instance lock */
	setsid();
	if (fork() != 0)
		_exit(0);               /* the grandchild is reparented, never a zombie */
	for (int i = 0; i < 3; i++)
		fds[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 1000) : -1;
	close_range(3, 999, 0);
	close_range(1003, ~0U, 0);
	{
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			sl_map_drain(fds[i], ksz[i]);
	_exit(0);
}

static int lock_instance(const char *inst, struct lock *l)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	l->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->fd < 0) {
		int e = -errno;
		err("%s: cannot open: %s", dir, strerror(-e));
		return e;
	}
	if (flock(l->fd, LOCK_EX)) {
		int e = -errno;
		close(l->fd);
		return e;
	}
	return 0;
}

static void unlock_instance(struct lock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Stable slots: a rule keeps the slot its name had; new names take slots
 * that are free in the running generation (so the running program never
 * counts into a slot that now means another rule).
 */
static int assign_slots(const struct sl_ruleset *rs, const struct sl_rule_meta *meta,
			uint16_t *slots)
{
	static unsigned char used[SL_MAX_RULES];
	size_t next = 0;

	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < rs->nrules; i++) {
		slots[i] = SL_NO_RULE;
		if (!meta)
			continue;
		for (size_t s = 0; s < SL_MAX_RULES; s++) {
			if (meta[s].action != SL_ACT_NONE &&
			    strncmp(meta[s].name, rs->rules[i].name, SL_NAME_LEN) == 0) {
				slots[i] = s;
				used[s] = 1;
				break;
			}
		}
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		if (slots[i] != SL_NO_RULE)
			continue;
		while (next < SL_MAX_RULES && (used[next] || (meta && meta[next].action != SL_ACT_NONE)))
			next++;
		if (next >= SL_MAX_RULES) {
			err("no free counter slot for rule '%s': the running ruleset and the new one "
			    "together name more than %d rules; detach and apply again",
			    rs->rules[i].name, SL_MAX_RULES);
			return -ENOSPC;
		}
		slots[i] = next;
		used[next] = 1;
	}
	return 0;
}

static int mkdir_instance(const char *inst)
{
	char dir[PATH_MAX];

	if (mkdir(SL_PIN_ROOT, 0700) && errno != EEXIST) {
		int e = -errno;
		err("%s: cannot create: %s", SL_PIN_ROOT, strerror(-e));
		return e;
	}
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		int e = -errno;
		err("%s: cannot create: %s", dir, strerror(-e));
		return e;
	}
	return 0;
}

static unsigned int hook_prog(enum sl_hook h)
{
	return h == SL_HOOK_XDP ? SL_PROG_XDP : h == SL_HOOK_CGROUP ? SL_PROG_CGROUP :
	       h == SL_HOOK_DNS ? SL_PROG_LEARN : SL_PROG_TC;
}

static int skel_prog_fd(struct sluice_bpf *s, enum sl_hook h)
{
	return bpf_program__fd(h == SL_HOOK_XDP ? s->progs.sluice_xdp :
			       h == SL_HOOK_CGROUP ? s->progs.sluice_cgroup :
			       h == SL_HOOK_DNS ? s->progs.sluice_learn : s->progs.sluice_tc);
}

/*
 * One program instance for attachment record @k: the hook's program only,
 * att_index = k, every map shared with @owner (the generation's maps).
 */
static int load_att_prog(const struct sl_image *img, struct sluice_bpf *owner, __u32 k,
			 enum sl_hook hook, struct sluice_bpf **out)
{
	struct sluice_bpf *s = sluice_bpf__open();
	struct bpf_map *m;
	int e;

	*out = NULL;
	if (!s) {
		e = -errno;
		err("cannot open the BPF object: %s", strerror(-e));
		return e;
	}
	bpf_program__set_autoload(s->progs.sluice_tc, hook_prog(hook) == SL_PROG_TC);
	bpf_program__set_autoload(s->progs.sluice_xdp, hook_prog(hook) == SL_PROG_XDP);
	bpf_program__set_autoload(s->progs.sluice_cgroup, hook_prog(hook) == SL_PROG_CGROUP);
	bpf_program__set_autoload(s->progs.sluice_learn, hook_prog(hook) == SL_PROG_LEARN);
	s->rodata->cfg = img->cfg;
	s->rodata->att_index = k;
	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map *om;

		if (bpf_map__is_internal(m))
			continue;
		om = bpf_object__find_map_by_name(owner->obj, bpf_map__name(m));
		if (!om || (e = bpf_map__reuse_fd(m, bpf_map__fd(om)))) {
			e = om ? e : -ENOENT;
			err("cannot share map %s with the program of attachment %u: %s",
			    bpf_map__name(m), k, strerror(-e));
			sluice_bpf__destroy(s);
			return e;
		}
	}
	e = sluice_bpf__load(s);
	if (e) {
		err("the kernel refused the %s program: %s (run with -v for the verifier log)",
		    sl_hook_name(hook), strerror(-e));
		sluice_bpf__destroy(s);
		return e;
	}
	*out = s;
	return 0;
}

/* The named targets of this apply, as attachment records to look for. */
static size_t targets(const struct sl_apply_opts *o, struct sl_attach *t, size_t max)
{
	size_t n = 0;

	if (o->hook == SL_HOOK_CGROUP) {
		char abs[PATH_MAX];

		if (o->cgroup && n < max) {
			memset(&t[n], 0, sizeof(t[n]));
			t[n].hook = SL_HOOK_CGROUP;
			if (cgroup_resolve(o->cgroup, abs, sizeof(abs), t[n].cgroup, sizeof(t[n].cgroup)) == 0)
				n++;
		}
		return n;
	}
	for (size_t d = 0; d < o->ndevs && n < max; d++) {
		memset(&t[n], 0, sizeof(t[n]));
		t[n].hook = o->hook;
		snprintf(t[n].ifname, sizeof(t[n].ifname), "%s", o->devs[d]);
		snprintf(t[n].netns, sizeof(t[n].netns), "%s", o->netns ? o->netns : "");
		n++;
	}
	return n;
}

static bool same_target(const struct sl_attach *a, const struct sl_attach *t)
{
	if (a->hook != t->hook)
		return false;
	if (a->hook == SL_HOOK_CGROUP)
		return strncmp(a->cgroup, t->cgroup, SL_CGPATH_LEN) == 0;
	return strncmp(a->ifname, t->ifname, SL_IFNAME_LEN) == 0 &&
	       strncmp(a->netns, t->netns, SL_IFNAME_LEN) == 0;
}

static const char *const gen_maps[] = {
	"config", "dst4", "dst6", "ports", "names", "wilds", "nclass", "resolvers", "learn_cfg",
	"classes", "dir16", "dir8", "dir_small",
};

int sl_apply(const struct sl_ruleset *rs, const struct sl_apply_opts *o,
	     struct sl_apply_report *rep)
{
	const char *inst = o->instance ? o->instance : "default";
	struct sl_instance cur;
	bool have = false;
	struct sl_rule_meta *meta = NULL;
	struct sl_attach att[SL_MAX_ATTACH], want[2 * SL_MAX_DEVS];
	struct sl_learn_opts lopt;
	struct sluice_bpf *progs[SL_MAX_ATTACH] = {0};
	bool is_new[SL_MAX_ATTACH] = {0}, switched[SL_MAX_ATTACH] = {0};
	uint16_t *slots = NULL;
	struct sl_image img = {0};
	struct sluice_bpf *skel = NULL;
	struct sl_reuse reuse = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	struct lock lk = { -1 };
	size_t nwant;
	int attach_fd, actr_fd;
	char name[96];
	double t0;
	int e;

	memset(rep, 0, sizeof(*rep));
	memset(att, 0, sizeof(att));
	if (!valid_instance(inst)) {
		err("'%s' is not an instance name ([a-z0-9][a-z0-9_-]*, at most %d characters)",
		    inst, SL_INST_LEN);
		return -EINVAL;
	}
	if (o->ndevs > SL_MAX_DEVS) {
		err("at most %d --dev per apply", SL_MAX_DEVS);
		return -E2BIG;
	}
	for (size_t d = 0; d < o->ndevs; d++)
		if (strlen(o->devs[d]) >= SL_IFNAME_LEN) {
			err("%s: no such interface (names are at most %d characters)", o->devs[d],
			    SL_IFNAME_LEN - 1);
			return -ENODEV;
		}
	if (o->netns && strlen(o->netns) >= SL_IFNAME_LEN) {
		err("%s: network namespace names used with sluice are at most %d characters",
		    o->netns, SL_IFNAME_LEN - 1);
		return -EINVAL;
	}
	nwant = targets(o, want, SL_MAX_DEVS);
	if (o->hook == SL_HOOK_CGROUP && o->cgroup && nwant == 0)
		return -EINVAL;
	if ((e = ensure_bpffs()) || (e = mkdir_instance(inst)) || (e = lock_instance(inst, &lk)))
		return e;

	e = sl_instance_open(inst, &cur);
	if (e == 0) {
		have = true;
	} else if (e == -EIO) {
		goto out;
	} else {
		/* A fresh instance; leftovers of a crashed first apply are harmless. */
		memset(&cur, 0, sizeof(cur));
		cur.config_fd = cur.dst4_fd = cur.dst6_fd = cur.ports_fd = -1;
		cur.counters_fd = cur.globals_fd = cur.rules_fd = cur.attach_fd = cur.att_ctr_fd = -1;
		cur.learned_fd = cur.names_fd = cur.wilds_fd = cur.nclass_fd = cur.learn_ctr_fd = -1;
		cur.name_ring_fd = cur.pending_fd = cur.learn_live_fd = cur.learn_bloom_fd = -1;
	}

	slots = calloc(rs->nrules ? rs->nrules : 1, sizeof(*slots));
	meta = calloc(SL_MAX_RULES, sizeof(*meta));
	if (!slots || !meta) {
		e = -ENOMEM;
		goto out;
	}
	if (have) {
		if ((e = sl_read_rule_meta(cur.rules_fd, meta)) || (e = sl_read_attach(cur.attach_fd, att))) {
			err("%s/%s: cannot read the running instance: %s", SL_PIN_ROOT, inst, strerror(-e));
			goto out;
		}
		reuse.counters_fd = cur.counters_fd;
		reuse.globals_fd = cur.globals_fd;
		reuse.rules_fd = cur.rules_fd;
		reuse.attach_fd = cur.attach_fd;
		reuse.att_ctr_fd = cur.att_ctr_fd;
		reuse.learned_fd = cur.learned_fd;
		reuse.name_ring_fd = cur.name_ring_fd;
		reuse.pending_fd = cur.pending_fd;
		reuse.learn_ctr_fd = cur.learn_ctr_fd;
		reuse.learn_live_fd = cur.learn_live_fd;
		reuse.learn_bloom_fd = cur.learn_bloom_fd;
		reuse.fallback_fd = obj_get(inst, "dns_fallback");     /* kept, like learned */
	}
	if ((e = assign_slots(rs, have ? meta : NULL, slots)))
		goto out;
	e = sl_compile(rs, slots, have ? cur.cfg.generation + 1 : 1, &img);
	if (e) {
		err("cannot compile the ruleset: %s", strerror(-e));
		goto out;
	}
	rep->generation = img.cfg.generation;

	/* The generation's maps (no program: each attachment gets its own). */
	t0 = now_ms();
	sl_learn_opts_default(&lopt);
	if (rs->nresolvers) {
		lopt.resolvers = rs->resolvers;
		lopt.nresolvers = rs->nresolvers;
	}
	if (o->dns_floor_s)
		lopt.ttl_floor_s = o->dns_floor_s;
	if (o->dns_grace_s)
		lopt.grace_s = o->dns_grace_s;
	sl_bpf_learn_opts(&lopt);
	e = sl_bpf_load_progs(&img, false, &reuse, 0, &skel);
	sl_bpf_learn_opts(NULL);
	if (e)
		goto out;
	/* Host names: the DNS learner goes on TC ingress of every TC egress
	 * interface (where the answers to its queries come back). */
	if (img.nnames) {
		size_t nw = nwant;

		for (size_t w = 0; w < nw; w++)
			if (want[w].hook == SL_HOOK_TC_EGRESS) {
				want[nwant] = want[w];
				want[nwant++].hook = SL_HOOK_DNS;
			}
		for (size_t k = 0; k < SL_MAX_ATTACH && nwant < 2 * SL_MAX_DEVS; k++) {
			struct sl_attach t;

			if (att[k].hook != SL_HOOK_TC_EGRESS)
				continue;
			t = att[k];
			t.hook = SL_HOOK_DNS;
			want[nwant] = t;
			memset(&want[nwant].kind, 0, sizeof(want[nwant]) - offsetof(struct sl_attach, kind));
			snprintf(want[nwant].ifname, SL_IFNAME_LEN, "%s", att[k].ifname);
			snprintf(want[nwant].netns, SL_IFNAME_LEN, "%s", att[k].netns);
			nwant++;
		}
	}
	attach_fd = bpf_map__fd(skel->maps.attachments);
	actr_fd = bpf_map__fd(skel->maps.att_counters);

	/* Records whose interface, cgroup or link went away are forgotten. */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (att[k].hook != SL_HOOK_NONE && !sl_attach_alive(&cur, &att[k])) {
			forget_record(inst, attach_fd, actr_fd, k);
			memset(&att[k], 0, sizeof(att[k]));
		}
	/* New targets take free records. */
	for (size_t w = 0; w < nwant; w++) {
		size_t k;
		bool found = false;

		for (k = 0; k < SL_MAX_ATTACH && !found; k++)
			found = att[k].hook != SL_HOOK_NONE && same_target(&att[k], &want[w]);
		if (found)
			continue;
		for (k = 0; k < SL_MAX_ATTACH && att[k].hook != SL_HOOK_NONE; k++)
			;
		if (k == SL_MAX_ATTACH) {
			err("instance %s already has %d attachments", inst, SL_MAX_ATTACH);
			e = -ENOSPC;
			goto out_unpin_new;
		}
		att[k] = want[w];
		att[k].since = time(NULL);
		is_new[k] = true;
	}
	/* One program instance per attachment, sharing the maps. */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (att[k].hook == SL_HOOK_NONE)
			continue;
		if ((e = load_att_prog(&img, skel, k, att[k].hook, &progs[k])))
			goto out_unpin_new;
		prog_pin_name(name, sizeof(name), "next-", k);
		if ((e = pin_fd(skel_prog_fd(progs[k], att[k].hook), inst, name)))
			goto out_unpin_new;
	}
	rep->load_ms = now_ms() - t0;

	/* Pin the new generation's maps beside the running ones. */
	{
		int fds[] = {
			bpf_map__fd(skel->maps.rodata), bpf_map__fd(skel->maps.dst4),
			bpf_map__fd(skel->maps.dst6), bpf_map__fd(skel->maps.ports),
			bpf_map__fd(skel->maps.names), bpf_map__fd(skel->maps.wilds),
			bpf_map__fd(skel->maps.nclass), bpf_map__fd(skel->maps.resolvers),
			bpf_map__fd(skel->maps.learn_cfg), bpf_map__fd(skel->maps.classes),
			bpf_map__fd(skel->maps.dir16), bpf_map__fd(skel->maps.dir8),
			bpf_map__fd(skel->maps.dir_small),
		};

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
			snprintf(name, sizeof(name), "next-%s", gen_maps[i]);
			if ((e = pin_fd(fds[i], inst, name)))
				goto out_unpin_new;
		}
		if (!have &&
		    ((e = pin_fd(bpf_map__fd(skel->maps.counters), inst, "counters")) ||
		     (e = pin_fd(bpf_map__fd(skel->maps.globals), inst, "globals")) ||
		     (e = pin_fd(bpf_map__fd(skel->maps.rules), inst, "rules")) ||
		     (e = pin_fd(attach_fd, inst, "attachments")) ||
		     (e = pin_fd(actr_fd, inst, "att_counters"))))
			goto out_unpin_new;
		/* learning state: kept; pinned by the first apply that has it */
		if ((cur.learned_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.learned), inst, "learned"))) ||
		    (cur.name_ring_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.name_ring), inst, "name_ring"))) ||
		    (cur.pending_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.pending), inst, "pending"))) ||
		    (cur.learn_ctr_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.learn_ctr), inst, "learn_ctr"))) ||
		    (cur.learn_live_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.learn_live), inst, "learn_live"))) ||
		    (cur.learn_bloom_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.learn_bloom), inst, "learn_bloom"))) ||
		    (reuse.fallback_fd < 0 && (e = pin_fd(bpf_map__fd(skel->maps.dns_fallback), inst, "dns_fallback"))))
			goto out_unpin_new;
	}

	/* New attachments first: if one fails, nothing that ran has changed. */
	t0 = now_ms();
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		int pfd;

		if (!is_new[k])
			continue;
		pfd = skel_prog_fd(progs[k], att[k].hook);
		zero_percpu(actr_fd, k, sizeof(struct sl_att_ctr));
		e = att[k].hook == SL_HOOK_CGROUP ? attach_cgroup(inst, pfd, o->cgroup, &att[k])
						  : attach_dev(inst, pfd, o, att[k].ifname, &att[k]);
		if (e) {
			is_new[k] = false;      /* nothing to undo for this one */
			memset(&att[k], 0, sizeof(att[k]));
			goto out_detach_new;
		}
		if (bpf_map_update_elem(attach_fd, &k, &att[k], BPF_ANY)) {
			e = -errno;
			goto out_detach_new;
		}
		rep->nnew++;
	}
	/* The switch: every running attachment to its new program, each atomic. */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (att[k].hook == SL_HOOK_NONE || is_new[k])
			continue;
		if ((e = switch_attach(inst, &att[k], skel_prog_fd(progs[k], att[k].hook))))
			goto out_switch_back;
		switched[k] = true;
	}
	rep->switch_ms = now_ms() - t0;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		rep->nattached += att[k].hook != SL_HOOK_NONE;

	/* Committed: the new pins replace the old ones. */
	for (size_t i = 0; i < sizeof(gen_maps) / sizeof(gen_maps[0]); i++) {
		char from[32];
		snprintf(from, sizeof(from), "next-%s", gen_maps[i]);
		rename_pin(inst, from, gen_maps[i]);
	}
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		char from[32];

		if (att[k].hook == SL_HOOK_NONE)
			continue;
		prog_pin_name(from, sizeof(from), "next-", k);
		prog_pin_name(name, sizeof(name), "", k);
		rename_pin(inst, from, name);
	}
	/* Slots of rules that are gone: zero them now that no program counts there. */
	if (have) {
		int rfd = bpf_map__fd(skel->maps.rules);
		int cfd = bpf_map__fd(skel->maps.counters);

		for (__u32 s = 0; s < SL_MAX_RULES; s++) {
			bool kept = false;

			if (meta[s].action == SL_ACT_NONE)
				continue;
			for (size_t i = 0; i < rs->nrules && !kept; i++)
				kept = slots[i] == s;
			if (kept)
				continue;
			struct sl_rule_meta z = {0};
			zero_percpu(cfd, s, sizeof(struct sl_rule_ctr));
			bpf_map_update_elem(rfd, &s, &z, BPF_ANY);
		}
	}
	e = 0;
	goto out;

out_switch_back:
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		int ofd;

		if (!switched[k])
			continue;
		prog_pin_name(name, sizeof(name), "", k);
		ofd = obj_get(inst, name);
		if (ofd >= 0) {
			switch_attach(inst, &att[k], ofd);
			close(ofd);
		}
	}
out_detach_new:
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		struct sl_attach z = {0};

		if (!is_new[k])
			continue;
		detach_one(inst, &att[k]);
		bpf_map_update_elem(attach_fd, &k, &z, BPF_ANY);
	}
out_unpin_new:
	for (size_t i = 0; i < sizeof(gen_maps) / sizeof(gen_maps[0]); i++) {
		snprintf(name, sizeof(name), "next-%s", gen_maps[i]);
		unpin(inst, name);
	}
	for (size_t k = 0; k < SL_MAX_ATTACH; k++) {
		prog_pin_name(name, sizeof(name), "next-", k);
		if (progs[k])
			unpin(inst, name);
	}
	if (!have) {
		unpin(inst, "counters");
		unpin(inst, "globals");
		unpin(inst, "rules");
		unpin(inst, "attachments");
		unpin(inst, "att_counters");
	}
	/* learning state this apply pinned for the first time */
	if (cur.learned_fd < 0)
		unpin(inst, "learned");
	if (cur.name_ring_fd < 0)
		unpin(inst, "name_ring");
	if (cur.pending_fd < 0)
		unpin(inst, "pending");
	if (cur.learn_ctr_fd < 0)
		unpin(inst, "learn_ctr");
	if (cur.learn_live_fd < 0)
		unpin(inst, "learn_live");
	if (cur.learn_bloom_fd < 0)
		unpin(inst, "learn_bloom");
	if (reuse.fallback_fd < 0)
		unpin(inst, "dns_fallback");
out:
	if (reuse.fallback_fd >= 0)
		close(reuse.fallback_fd);
	for (size_t k = 0; k < SL_MAX_ATTACH; k++)
		if (progs[k])
			sluice_bpf__destroy(progs[k]);
	if (skel)
		sluice_bpf__destroy(skel);
	sl_image_free(&img);
	if (have && !e)
		drain_old(&cur);
	if (have)
		sl_instance_close(&cur);
	free(slots);
	free(meta);
	if (e && !have) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
		rmdir(dir);
	}
	unlock_instance(&lk);
	return e;
}

/* ------------------------------------------------------------ detach */

static void remove_instance(const char *inst)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unpin(inst, de->d_name);
		closedir(d);
	}
	rmdir(dir);
	rmdir(SL_PIN_ROOT);     /* only if empty */
}

int sl_detach(const char *inst, const struct sl_detach_opts *o)
{
	struct sl_instance in;
	struct sl_attach att[SL_MAX_ATTACH], t;
	struct lock lk = { -1 };
	size_t removed = 0, left = 0;
	int e;

	inst = inst ? inst : "default";
	memset(&t, 0, sizeof(t));
	if (!valid_instance(inst)) {
		err("'%s' is not an instance name", inst);
		return -EINVAL;
	}
	if (o->cgroup) {
		char abs[PATH_MAX];

		if ((e = cgroup_resolve(o->cgroup, abs, sizeof(abs), t.cgroup, sizeof(t.cgroup))))
			return e;
	}
	e = sl_instance_open(inst, &in);
	if (e == -ENOENT) {
		err("%s/%s: no such instance (see: sluice status)", SL_PIN_ROOT, inst);
		return e;
	}
	if (e == -EIO && o->all) {
		remove_instance(inst);
		return 0;
	}
	if (e)
		return e;
	if ((e = lock_instance(inst, &lk)))
		goto out;
	if ((e = sl_read_attach(in.attach_fd, att)))
		goto out;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		bool match;

		if (att[k].hook == SL_HOOK_NONE)
			continue;
		if (o->cgroup)
			match = att[k].hook == SL_HOOK_CGROUP &&
				strncmp(att[k].cgroup, t.cgroup, SL_CGPATH_LEN) == 0;
		else
			match = o->dev && att[k].hook != SL_HOOK_CGROUP &&
				strncmp(att[k].ifname, o->dev, SL_IFNAME_LEN) == 0 &&
				strncmp(att[k].netns, o->netns ? o->netns : "", SL_IFNAME_LEN) == 0 &&
				(o->hook == SL_HOOK_NONE || att[k].hook == o->hook);
		if (o->all || match) {
			if ((e = detach_one(inst, &att[k])))
				goto out;
			forget_record(inst, in.attach_fd, in.att_ctr_fd, k);
			removed++;
		} else {
			left++;
		}
	}
	if (!o->all && !removed) {
		err("%s: instance '%s' is not attached there (see: sluice status)",
		    o->cgroup ? o->cgroup : o->dev, inst);
		e = -ENOENT;
		goto out;
	}
	if (left == 0) {
		sl_instance_close(&in);
		remove_instance(inst);
	}
	e = 0;
out:
	sl_instance_close(&in);
	unlock_instance(&lk);
	return e;
}

/* ------------------------------------------------------------ reading */

uint32_t sl_attach_prog_id(const struct sl_instance *in, uint32_t k)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char name[32];
	int fd;

	prog_pin_name(name, sizeof(name), "", k);
	fd = obj_get(in->name, name);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

int sl_read_att_ctr(int fd, uint32_t k, struct sl_att_ctr *out)
{
	return percpu_sum(fd, k, sizeof(*out), sizeof(*out) / 8, out, NULL);
}

/* ------------------------------------------------------------ inject (sluice run) */

int sl_inject_load(const char *inst, struct sluice_bpf **out, uint32_t *cfg_id)
{
	struct sluice_bpf *skel;
	struct bpf_map *m;
	struct lock lk = { -1 };
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	int e;

	*out = NULL;
	if ((e = lock_instance(inst, &lk)))
		return e;
	skel = sluice_bpf__open();
	if (!skel) {
		e = -errno;
		err("cannot open the BPF object: %s", strerror(-e));
		goto out;
	}
	bpf_program__set_autoload(skel->progs.sluice_tc, false);
	bpf_program__set_autoload(skel->progs.sluice_xdp, false);
	bpf_program__set_autoload(skel->progs.sluice_cgroup, false);
	bpf_program__set_autoload(skel->progs.sluice_learn, false);
	bpf_program__set_autoload(skel->progs.sluice_inject, true);
	/* every map the instance pins, by name: the running generation's */
	bpf_object__for_each_map(m, skel->obj) {
		int fd = obj_get(inst, bpf_map__name(m));

		if (fd < 0)
			continue;
		e = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (e) {
			err("%s/%s/%s: cannot use: %s", SL_PIN_ROOT, inst, bpf_map__name(m), strerror(-e));
			goto fail;
		}
	}
	if (bpf_map__fd(skel->maps.learn_cfg) < 0 || bpf_map__fd(skel->maps.learned) < 0) {
		e = -ENOENT;
		err("%s/%s: the instance has no host-name learning maps; apply a ruleset with host names",
		    SL_PIN_ROOT, inst);
		goto fail;
	}
	if ((e = sluice_bpf__load(skel))) {
		err("the kernel refused the sluice_inject program: %s (run with -v for the verifier log)",
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
	unlock_instance(&lk);
	return e;
}

int sl_inject_prog_fd(struct sluice_bpf *skel)
{
	return bpf_program__fd(skel->progs.sluice_inject);
}
