// SPDX-License-Identifier: GPL-2.0-only
/*
 * load.c - loading a generation: open the skeleton, size and share its maps, load, fill; one program per group of attachments
 */
#include "kernel/internal.h"

static const struct sl_learn_opts *learn_opts;
static uint32_t events_kib, nslots;

void sl_bpf_events_kib(uint32_t kib)
{
	events_kib = kib;
}

void sl_bpf_slots(uint32_t n)
{
	nslots = n;
}

void sl_bpf_learn_opts(const struct sl_learn_opts *o)
{
	learn_opts = o;
}

int sl_bpf_load(const struct sl_image *img, bool record,
		const struct sl_reuse *reuse, struct sluice_bpf **out)
{
	return sl_bpf_load_progs(img, record, reuse, SL_PROGS_ALL, out);
}

static size_t max1(size_t n) { return n ? n : 1; }

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

/* Verify only the programs the hooks in use need. */
static void set_progs(struct sluice_bpf *skel, unsigned int progs)
{
	bpf_program__set_autoload(skel->progs.sluice_tc, !!(progs & SL_PROG_TC));
	bpf_program__set_autoload(skel->progs.sluice_xdp, !!(progs & SL_PROG_XDP));
	bpf_program__set_autoload(skel->progs.sluice_cgroup, !!(progs & SL_PROG_CGROUP));
	bpf_program__set_autoload(skel->progs.sluice_learn, !!(progs & SL_PROG_LEARN));
}

/* The tries and tables sized to the image. */
static int size_maps(struct sluice_bpf *skel, const struct sl_image *img, uint32_t nlines,
		     const struct sl_fast6 *f6)
{
	int e;

	if ((e = bpf_map__set_max_entries(skel->maps.dst4, max1(img->ndst4))) ||
	    (e = bpf_map__set_max_entries(skel->maps.dst6, max1(img->ndst6))) ||
	    (e = bpf_map__set_max_entries(skel->maps.ports, max1(img->nports + img->nname_ports))) ||
	    (e = bpf_map__set_max_entries(skel->maps.names, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.wilds, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.nclass, max1(img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.classes, max1(img->nclasses + img->nnames))) ||
	    (e = bpf_map__set_max_entries(skel->maps.dir8, max1(nlines))) ||
	    (e = bpf_map__set_max_entries(skel->maps.node6, max1(f6->npool / 4))))
		return e;
	/* Without host names nothing is learned: the learning state is kept
	 * across applies, so an apply that brings names makes it anew (apply.c) */
	if (!img->nnames &&
	    ((e = bpf_map__set_max_entries(skel->maps.learned, SL_LEARN_IDLE_ENTRIES)) ||
	     (e = bpf_map__set_max_entries(skel->maps.pending, SL_LEARN_IDLE_ENTRIES)) ||
	     (e = bpf_map__set_max_entries(skel->maps.name_ring, 1)) ||
	     (e = bpf_map__set_max_entries(skel->maps.name_rings, 1)) ||
	     (e = bpf_map__set_max_entries(skel->maps.pending_cl, 1)) ||
	     (e = bpf_map__set_max_entries(skel->maps.learn_bloom, 1)) ||
	     (e = bpf_map__set_max_entries(skel->maps.dns_fallback, 4096))))
		return e;
	if (events_kib && (e = bpf_map__set_max_entries(skel->maps.events, events_kib * 1024)))
		return e;
	if (nslots && ((e = bpf_map__set_max_entries(skel->maps.counters, nslots)) ||
		       (e = bpf_map__set_max_entries(skel->maps.rules, nslots))))
		return e;
	/* Above 32 KB the kernel allocates an array with vmalloc in 4 KiB pages
	 * anyway, and its values start 16 bytes into a cache line; mmapable,
	 * they start on a page, so a node of a line is one cache line.  Below,
	 * plain: kmalloc'ed in the direct map (huge pages, no TLB misses). */
	if ((size_t)f6->npool * sizeof(struct sl_n6unit) > 32768 &&
	    (e = bpf_map__set_map_flags(skel->maps.node6, BPF_F_MMAPABLE)))
		return e;
	return 0;
}

/* A kept map made with fewer entries (an instance made before
 * SL_MAX_ATTACH grew): the new generation takes it as it is. */
static int same_size(struct bpf_map *m, int fd)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &len) || mi.max_entries == bpf_map__max_entries(m))
		return 0;
	return bpf_map__set_max_entries(m, mi.max_entries);
}

/* The maps carried over from the running generation. */
static int reuse_maps(struct sluice_bpf *skel, const struct sl_reuse *reuse)
{
	int e = 0;

	if ((e = same_size(skel->maps.attachments, reuse->attach_fd)) ||
	    (e = same_size(skel->maps.att_counters, reuse->att_ctr_fd)) ||
	    (e = same_size(skel->maps.counters, reuse->counters_fd)))
		return e;

	if ((reuse->counters_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.counters, reuse->counters_fd))) ||
	    (reuse->globals_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.globals, reuse->globals_fd))) ||
	    (reuse->rules_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.rules, reuse->rules_fd))) ||
	    (reuse->attach_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.attachments, reuse->attach_fd))) ||
	    (reuse->att_ctr_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.att_counters, reuse->att_ctr_fd))) ||
	    (reuse->learned_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learned, reuse->learned_fd))) ||
	    (reuse->name_ring_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.name_ring, reuse->name_ring_fd))) ||
	    (reuse->name_rings_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.name_rings, reuse->name_rings_fd))) ||
	    (reuse->pending_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.pending, reuse->pending_fd))) ||
	    (reuse->learn_ctr_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_ctr, reuse->learn_ctr_fd))) ||
	    (reuse->learn_live_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_live, reuse->learn_live_fd))) ||
	    (reuse->learn_bloom_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.learn_bloom, reuse->learn_bloom_fd))) ||
	    (reuse->fallback_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.dns_fallback, reuse->fallback_fd))) ||
	    (reuse->events_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.events, reuse->events_fd))) ||
	    (reuse->ev_ctr_fd >= 0 && (e = bpf_map__reuse_fd(skel->maps.ev_ctr, reuse->ev_ctr_fd))))
		return e;
	return 0;
}

int sl_bpf_load_progs(const struct sl_image *img, bool record, const struct sl_reuse *reuse,
		      unsigned int progs, struct sluice_bpf **out)
{
	struct fast_job job = { .img = img };
	struct sl_fast *fast = &job.fast;
	struct sl_fast6 f6;
	struct sluice_bpf *skel;
	pthread_t th;
	bool running = false;
	uint32_t nlines;
	int e;

	*out = NULL;
	/* the IPv6 table first (its sizes are known only once built; fast) */
	if ((e = sl_fast6_build(img, &f6))) {
		slk_err("cannot build the IPv6 fast table: %s", strerror(-e));
		return e;
	}
	nlines = sl_fast_bounds(img);
	if (pthread_create(&th, NULL, fast_thread, &job) == 0)
		running = true;
	else
		fast_thread(&job);
	skel = sluice_bpf__open();
	if (!skel) {
		e = -errno;
		slk_err("cannot open the BPF object: %s", strerror(-e));
		if (running)
			pthread_join(th, NULL);
		if (!job.err)
			sl_fast_free(fast);
		sl_fast6_free(&f6);
		return e;
	}
	set_progs(skel, progs);
	skel->rodata->cfg = img->cfg;
	skel->rodata->cfg.record = record ? 1 : 0;
	skel->rodata->cfg_names = img->nnames > 0;
	if ((e = size_maps(skel, img, nlines, &f6)) || (reuse && (e = reuse_maps(skel, reuse))))
		goto fail_msg;
	e = sluice_bpf__load(skel);
	if (running) {
		pthread_join(th, NULL);
		running = false;
	}
	if (job.err) {
		slk_err("cannot build the IPv4 fast table and the class table: %s", strerror(-job.err));
		e = job.err;
		job.err = 1;            /* nothing to free */
		goto fail;
	}
	if (e) {
		slk_err("the kernel refused the BPF program or its maps: %s (run with -v for the verifier log)",
			strerror(-e));
		goto fail;
	}
	if (fast->ncls != img->nclasses + img->nnames || fast->nlines > nlines) {
		slk_err("internal error: the fast tables outgrew their bounds (%u/%u lines of dir8)",
			fast->nlines, nlines);
		e = -EOVERFLOW;
		goto fail;
	}
	if ((e = slk_fill_generation(skel, img, fast, reuse, learn_opts)) ||
	    (e = sl_fast6_fill(&f6, bpf_map__fd(skel->maps.dir6), bpf_map__fd(skel->maps.node6))))
		goto fail;
	sl_fast_free(fast);
	sl_fast6_free(&f6);
	*out = skel;
	return 0;
fail_msg:
	slk_err("cannot prepare the BPF maps: %s", strerror(-e));
fail:
	if (running)
		pthread_join(th, NULL);
	if (!job.err)
		sl_fast_free(fast);
	sl_fast6_free(&f6);
	sluice_bpf__destroy(skel);
	return e < 0 ? e : -EINVAL;
}

void sl_bpf_destroy(struct sluice_bpf *skel)
{
	sluice_bpf__destroy(skel);
}

/* The program of attachment @a in @s (cgroup: by direction, egress or ingress). */
static struct bpf_program *slk_att_prog(struct sluice_bpf *s, const struct sl_attach *a)
{
	enum sl_hook h = a->hook;

	if (h == SL_HOOK_CGROUP)
		return a->dir == SL_DIR_IN ? s->progs.sluice_cgroup_in : s->progs.sluice_cgroup;
	return h == SL_HOOK_XDP ? s->progs.sluice_xdp :
	       h == SL_HOOK_DNS ? s->progs.sluice_learn : s->progs.sluice_tc;
}

int slk_skel_prog_fd(struct sluice_bpf *s, const struct sl_attach *a)
{
	return bpf_program__fd(slk_att_prog(s, a));
}

/*
 * One program instance for a group of attachment records of one hook,
 * direction, flags and network namespace (@a: one of them): the hook's
 * program only, att_index = @k (a record, or SL_ATT_BY_IFINDEX: looked up
 * in att_ifx at @base + (ifindex & @mask)), every map shared with @owner
 * (the generation's).
 */
int slk_load_att_prog(const struct sl_image *img, struct sluice_bpf *owner, __u32 k, __u32 base,
		      __u32 mask, const struct sl_attach *a, __u32 flags, struct sluice_bpf **out)
{
	struct sluice_bpf *s = sluice_bpf__open();
	enum sl_hook hook = a->hook;
	struct bpf_program *p;
	struct bpf_map *m;
	int e;

	*out = NULL;
	if (!s) {
		e = -errno;
		slk_err("cannot open the BPF object: %s", strerror(-e));
		return e;
	}
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, p == slk_att_prog(s, a));      /* its program only */
	s->rodata->cfg = img->cfg;
	s->rodata->cfg_names = img->nnames > 0;
	s->rodata->att_index = k;
	s->rodata->att_ifx_base = base;
	s->rodata->att_ifx_mask = mask;
	s->rodata->att_dir = a->dir;
	s->rodata->att_flags = flags;
	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map *om;

		if (bpf_map__is_internal(m))
			continue;
		om = bpf_object__find_map_by_name(owner->obj, bpf_map__name(m));
		if (!om || (e = bpf_map__reuse_fd(m, bpf_map__fd(om)))) {
			e = om ? e : -ENOENT;
			slk_err("cannot share map %s with the program of attachment %u: %s",
			    bpf_map__name(m), k, strerror(-e));
			sluice_bpf__destroy(s);
			return e;
		}
	}
	e = sluice_bpf__load(s);
	if (e) {
		slk_err("the kernel refused the %s program: %s (run with -v for the verifier log)",
		    sl_hook_name(hook), strerror(-e));
		sluice_bpf__destroy(s);
		return e;
	}
	*out = s;
	return 0;
}
