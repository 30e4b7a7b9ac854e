/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_common.h - shared by the libFuzzer targets: the differential check
 * between the reference classifier (the rule semantics, sl_classify_pkt)
 * and the compiled tables (sl_image_lookup, what the data path does).
 * A disagreement is a bug in the compiler or the oracle: abort() so that
 * libFuzzer keeps the input.
 */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include "sl.h"

static inline void fz_compare(const struct sl_image *img, const struct sl_pkt *p)
{
	struct sl_result a, b;

	sl_classify_pkt(img, p, 1, &a);
	sl_image_lookup(img, p, &b);
	if (a.verdict != b.verdict || a.reason != b.reason || a.rule != b.rule) {
		fprintf(stderr, "fuzz: oracle and compiled tables differ: oracle verdict %u reason %s "
			"rule %u, tables verdict %u reason %s rule %u (family %u proto %u port %u frag %d)\n",
			a.verdict, sl_reason_name(a.reason), a.rule, b.verdict, sl_reason_name(b.reason),
			b.rule, p->family, p->proto, p->port, p->fragment);
		abort();
	}
}

#endif
