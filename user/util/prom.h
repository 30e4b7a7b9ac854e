/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * prom.h - the Prometheus exposition (text format 0.0.4) of sluice's
 * counters (README "Monitoring").  Pure: a snapshot of each instance (plain
 * structs, filled by user/kernel/snapshot.c) in, text out.  Every family has
 * # HELP and # TYPE; labels are bounded (instance, rule, action, verdict,
 * hook, dev, family, map, reason, cap): never an address or a host name.
 */
#ifndef SL_PROM_H
#define SL_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

#define SL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A growing text buffer; a failed allocation sets err and drops the rest. */
struct sl_buf {
	char *p;
	size_t len, cap;
	int err;                /* 0 or -ENOMEM */
};

void sl_buf_printf(struct sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_buf_free(struct sl_buf *b);

/* One rule slot with a name (counters summed over CPUs). */
struct sl_prom_rule {
	char name[SL_NAME_LEN];
	uint8_t action;                 /* enum sl_action */
	uint64_t pass_packets, pass_bytes, drop_packets, drop_bytes, near_miss_packets;
};

/* One attachment record in use. */
struct sl_prom_att {
	uint8_t hook;                   /* enum sl_hook */
	uint8_t state;                  /* enum sl_att_state (kernel.h; 0 enforcing) */
	bool alive;
	char dev[SL_CGPATH_LEN + 1];    /* "eth0", "veth1@lab", or the cgroup path */
	char container[128];            /* sluice-cni: the container's id ("" otherwise) */
	char pod_ns[64], pod_name[128]; /* and its pod, if the runtime passed it */
	struct sl_att_ctr c;
};

/* A bounded map: how full it is. */
struct sl_prom_map {
	const char *name;               /* pin name: "learned", "pending", ... */
	uint64_t entries, capacity;
};

#define SL_PROM_MAPS 8

/* Everything the exposition says about one instance. */
struct sl_prom_inst {
	char name[33];
	struct sl_config cfg;
	double applied_s;               /* when its generation was pinned (Unix time) */
	bool has_digest;                /* the generation recorded its source (kernel/source.c) */
	uint64_t digest;                /* sl_image_digest() of the running ruleset */
	uint64_t prefixes4, prefixes6;
	size_t nrules;                  /* in first-match order */
	struct sl_prom_rule *rules;     /* SL_MAX_SLOTS entries (malloc'ed by the reader) */
	struct sl_global_ctr g[SL_G_MAX];
	size_t natt;
	struct sl_prom_att att[SL_MAX_ATTACH];
	bool learn;                     /* the learner's maps exist */
	uint64_t lctr[SL_L_MAX];
	uint64_t learned_live, learned_cap;
	bool events;                    /* the events counters exist (ev_ctr) */
	uint64_t ev[SL_EC_MAX];         /* events emitted, suppressed, lost (enum sl_ev_ctr) */
	size_t nmaps;
	struct sl_prom_map maps[SL_PROM_MAPS];
};

/*
 * Append the exposition of @n instances to @b (families in a fixed order,
 * the samples of every instance under each).  Returns 0 or b->err.
 */
int sl_prom_write(struct sl_buf *b, const struct sl_prom_inst *in, size_t n);

/* A label value escaped per the text format (\\, \", \n) into @out. */
void sl_prom_escape(const char *s, char *out, size_t sz);

#endif
