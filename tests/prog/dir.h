/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dir.h - the inbound programs of a loaded ruleset, for program tests: a
 * second instance of the BPF object with att_dir = SL_DIR_IN (tc, xdp)
 * and sluice_cgroup_in, sharing every map of @owner (as the loader's
 * per-attachment instances do), so counters and "last" are the same.
 */
#ifndef SL_TEST_DIR_H
#define SL_TEST_DIR_H

#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "sl.h"
#include "sluice.skel.h"

static inline int dir_load_inbound(const struct sl_image *img, struct sluice_bpf *owner,
				   struct sluice_bpf **out)
{
	struct sluice_bpf *s = sluice_bpf__open();
	struct bpf_program *p;
	struct bpf_map *m;
	int e;

	*out = NULL;
	if (!s)
		return -errno;
	bpf_object__for_each_program(p, s->obj) {
		const char *n = bpf_program__name(p);

		bpf_program__set_autoload(p, !strcmp(n, "sluice_tc") || !strcmp(n, "sluice_xdp") ||
					     !strcmp(n, "sluice_cgroup_in"));
	}
	s->rodata->cfg = img->cfg;
	s->rodata->cfg.record = 1;
	s->rodata->att_dir = SL_DIR_IN;
	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map *om;

		if (bpf_map__is_internal(m))
			continue;
		om = bpf_object__find_map_by_name(owner->obj, bpf_map__name(m));
		if (!om || bpf_map__fd(om) < 0)
			continue;       /* a map the owner did not create (never used here) */
		if ((e = bpf_map__reuse_fd(m, bpf_map__fd(om)))) {
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

#endif /* SL_TEST_DIR_H */
