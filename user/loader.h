/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loader.h - from an image to a running data path: open/size/load the
 * skeleton, fill the maps, pin, attach (TCX or clsact), replace atomically.
 */
#ifndef SL_LOADER_H
#define SL_LOADER_H

#include "sl.h"

struct sluice_bpf;

/* Maps carried over from the running generation (-1 = create new). */
struct sl_reuse {
	int counters_fd;
	int globals_fd;
	int rules_fd;
};

/*
 * Open the skeleton, set the config from img->cfg (record=true makes the
 * program write each result to the "last" map, for tests), size the
 * tries to the image, reuse the given maps, load, and fill dst4, dst6,
 * ports and the rule names of img's slots.  The program is not attached.
 */
int sl_bpf_load(const struct sl_image *img, bool record,
		const struct sl_reuse *reuse, struct sluice_bpf **out);
void sl_bpf_destroy(struct sluice_bpf *skel);

/* Sum a rule slot's per-CPU counters. */
int sl_read_rule_ctr(int counters_fd, uint32_t slot, struct sl_rule_ctr *out);
/* Sum one global counter over CPUs. */
int sl_read_global_ctr(int globals_fd, uint32_t idx, struct sl_global_ctr *out);

#endif
