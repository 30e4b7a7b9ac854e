// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate.c - kept maps whose shape a newer pin layout changed (layout.c,
 * docs/upgrades.md).  Layout 5 grew `globals` (nd_pass) and `learn_ctr`
 * (pending_client, cap_class, rings_full), and made `name_ring` the per-class
 * state of the learner's caps (its per-name rings are the new `name_rings`).
 * An apply that takes over an older instance does not reuse these three: it
 * makes them fresh, pins them as next-<name> (the commit renames them over
 * the old pins with the generation), and after the switch adds the old
 * counters into the new maps (counted by the old programs until then: the
 * totals carry over).  The old name_ring's rings are dropped: the addresses
 * they tracked stay learned until they expire, outside the caps.
 * (`learn_cfg` grew too; it is the generation's, replaced by every apply.)
 */
#include "kernel/internal.h"

static const char *const mig_name[SLK_MIG_N] = { "globals", "learn_ctr", "name_ring" };

static struct bpf_map *mig_map(struct sluice_bpf *skel, int i)
{
	return i == 0 ? skel->maps.globals : i == 1 ? skel->maps.learn_ctr : skel->maps.name_ring;
}

bool slk_mig_replaced(const char *name, __u32 layout)
{
	if (layout >= SLK_MIG_LAYOUT)
		return false;
	if (!strcmp(name, "learn_cfg"))
		return true;    /* a generation's map (replaced by every apply), grown by 8 bytes */
	for (int i = 0; i < SLK_MIG_N; i++)
		if (!strcmp(name, mig_name[i]))
			return true;
	return false;
}

void slk_mig_plan(const struct sl_instance *cur, bool have, struct sl_reuse *r, struct slk_mig *m)
{
	int *fd[SLK_MIG_N] = { &r->globals_fd, &r->learn_ctr_fd, &r->name_ring_fd };

	for (int i = 0; i < SLK_MIG_N; i++) {
		m->old_fd[i] = -1;
		if (!have || cur->layout >= SLK_MIG_LAYOUT || *fd[i] < 0)
			continue;
		m->old_fd[i] = *fd[i];  /* owned by cur */
		*fd[i] = -1;
	}
}

int slk_mig_pin(const char *inst, struct sluice_bpf *skel, const struct slk_mig *m)
{
	char name[64];
	int e;

	for (int i = 0; i < SLK_MIG_N; i++) {
		if (m->old_fd[i] < 0)
			continue;
		snprintf(name, sizeof(name), "next-%s", mig_name[i]);
		if ((e = slk_pin_fd(bpf_map__fd(mig_map(skel, i)), inst, name)))
			return e;
	}
	return 0;
}

void slk_mig_unpin(const char *inst, const struct slk_mig *m)
{
	char name[64];

	for (int i = 0; i < SLK_MIG_N; i++)
		if (m->old_fd[i] >= 0) {
			snprintf(name, sizeof(name), "next-%s", mig_name[i]);
			slk_unpin(inst, name);
		}
}

/* Add the per-CPU u64 words of @ofd's entries into @nfd's (entries of @vsz bytes). */
static int add_percpu(int ofd, int nfd, size_t vsz)
{
	struct bpf_map_info oi = {0}, ni = {0};
	__u32 ol = sizeof(oi), nl = sizeof(ni);
	int ncpu = libbpf_num_possible_cpus(), e = 0;
	size_t stride = (vsz + 7) / 8 * 8, words = stride / 8 * (size_t)ncpu;
	uint64_t *o, *n;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (bpf_obj_get_info_by_fd(ofd, &oi, &ol) || bpf_obj_get_info_by_fd(nfd, &ni, &nl))
		return -errno;
	o = calloc(words, 8);
	n = calloc(words, 8);
	if (!o || !n) {
		free(o);
		free(n);
		return -ENOMEM;
	}
	for (__u32 k = 0; k < oi.max_entries && k < ni.max_entries && !e; k++) {
		if (bpf_map_lookup_elem(ofd, &k, o) || bpf_map_lookup_elem(nfd, &k, n))
			continue;
		for (size_t w = 0; w < words; w++)
			n[w] += o[w];
		if (bpf_map_update_elem(nfd, &k, n, BPF_EXIST))
			e = -errno;
	}
	free(o);
	free(n);
	return e;
}

int slk_mig_carry(const char *inst, struct sluice_bpf *skel, const struct slk_mig *m)
{
	int e = 0;

	if (m->old_fd[0] >= 0)
		e = add_percpu(m->old_fd[0], bpf_map__fd(skel->maps.globals),
			       sizeof(struct sl_global_ctr));
	if (!e && m->old_fd[1] >= 0)
		e = add_percpu(m->old_fd[1], bpf_map__fd(skel->maps.learn_ctr), sizeof(__u64));
	if (e)  /* counters only: the takeover stands */
		slk_err("%s/%s: note: the counters of the older layout were not all carried over: %s",
			SL_PIN_ROOT, inst, strerror(-e));
	return 0;
}
