// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_dns - libFuzzer target for the user-space DNS parser of `sluice run`
 * (user/util/dnsmsg.c), which reads answers from the network (the ring buffer of
 * answers too big for the BPF learner).  Every input is a DNS message: its
 * first byte picks how much of it counts as captured and how many answer
 * records the BPF walk is said to have taken.  The message is parsed,
 * planned and cut into chunks for sluice_inject; each chunk must parse back
 * whole (not cut, not malformed), keep the question, stay within
 * SL_DNS_MAX_RR records and SL_INJECT_MAX bytes, and the chunks together
 * must carry every planned address exactly once.
 *   build/fuzz/fuzz_dns tests/fuzz/corpus/fuzz_dns -max_total_time=30
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/dnsmsg.h"

struct acc {
	const struct sl_dnsm *m;
	size_t naddr;
};

static int emit(const uint8_t *msg, size_t n, size_t naddr, void *arg)
{
	struct acc *a = arg;
	struct sl_dnsm c;

	if (n > SL_INJECT_MAX) {
		fprintf(stderr, "fuzz_dns: chunk of %zu bytes > %d\n", n, SL_INJECT_MAX);
		abort();
	}
	if (sl_dnsm_parse(msg, n, n, &c)) {
		fprintf(stderr, "fuzz_dns: a chunk does not parse\n");
		abort();
	}
	if (c.cut || c.bad || c.ancount > SL_DNS_MAX_RR || c.nrr != c.ancount ||
	    c.qlen != a->m->qlen || memcmp(c.qname, a->m->qname, c.qlen)) {
		fprintf(stderr, "fuzz_dns: bad chunk (cut %d bad %d an %u rr %zu)\n", c.cut, c.bad,
			c.ancount, c.nrr);
		abort();
	}
	sl_dnsm_free(&c);
	a->naddr += naddr;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_dnsm m;
	struct sl_dnsm_plan p = { 0 };
	size_t caplen, walked;
	int n;

	if (size < 1)
		return 0;
	caplen = size - 1;
	walked = data[0] & 0x3f;
	if (data[0] & 0x40)
		caplen -= caplen / 4;                   /* part of it not captured */
	memset(&m, 0, sizeof(m));
	if (sl_dnsm_parse(data + 1, caplen, size - 1, &m))
		return 0;
	if (!sl_dnsm_plan(&m, walked, &p)) {
		struct acc a = { .m = &m };

		n = sl_dnsm_chunks(&m, &p, emit, &a);
		if (n >= 0 && a.naddr != p.naddr) {
			fprintf(stderr, "fuzz_dns: %zu of %zu planned addresses emitted\n", a.naddr,
				p.naddr);
			abort();
		}
		free(p.addr);
	}
	sl_dnsm_free(&m);
	return 0;
}
