/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - `sluice run` (docs/dns.md "sluice run"): apply a rules file, then
 * stay in the foreground: read the learner's dns_fallback ring buffer and
 * learn those answers through sluice_inject, resolve every exact host name
 * of the running ruleset through the configured resolvers and refresh it
 * when its TTL (at least the floor) runs out; SIGHUP re-applies the file,
 * SIGTERM/SIGINT exit and leave the filter in place.
 */
#ifndef SL_RUN_H
#define SL_RUN_H

#include "daemon/dnsmsg.h"
#include "kernel/kernel.h"

/* What handing one answer to the learner did. */
struct sl_inject_res {
	size_t chunks;          /* messages run through sluice_inject */
	size_t addrs;           /* address records in them */
	size_t learned;         /* addresses sluice_inject learned (sum of its return values) */
	size_t refused;         /* chunks it refused (a negative return: rcode, no rule, ...) */
	uint64_t ns;            /* BPF run time, summed (BPF_PROG_TEST_RUN duration) */
};

/* Run one DNS message (<= SL_INJECT_MAX bytes) through sluice_inject @prog_fd;
 * returns its return value (>= 0 learned, < 0: -1 - counter) or -errno in *err. */
int sl_inject_msg(int prog_fd, const uint8_t *msg, size_t n, int *ret, uint32_t *ns);

/* Teach the learner the answer records of @m from index @walked on, in chunks. */
int sl_inject_answer(int prog_fd, const struct sl_dnsm *m, size_t walked, struct sl_inject_res *r);

/* A dns_fallback event: parse what was captured, inject the records the BPF walk did not take. */
int sl_fallback_learn(int prog_fd, const struct sl_dns_event *ev, struct sl_inject_res *r);

/* `sluice run FILE [apply options]`: returns the exit status. */
int sl_run(const char *file, const struct sl_apply_opts *ao);

#endif
