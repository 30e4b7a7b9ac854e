/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn.h - user side of host-name learning (docs/dns.md): fill the name
 * maps of a generation from an image, configure the learner, read back
 * learned addresses and counters for `sluice learned` / `stats`.
 */
#ifndef SL_LEARN_USER_H
#define SL_LEARN_USER_H

#include "sl.h"

/* Defaults (docs/dns.md "Defaults"). */
#define SL_LEARN_TTL_FLOOR_S  60        /* below: apps cache past tiny TTLs */
#define SL_LEARN_TTL_MAX_S    86400     /* above: a day, so a huge TTL cannot pin an address */
#define SL_LEARN_GRACE_S      120       /* reuse after expiry (connection pools, retries) */
#define SL_LEARN_PENDING_MS   10000     /* an answer later than this is unsolicited */
#define SL_LEARN_CAP_DEFAULT  16384     /* addresses in all ("learned" max_entries) */

/* File descriptors of the learning maps of one generation. */
struct sl_learn_fds {
	int names, wilds, nclass, name_ring, resolvers, learn_cfg, ports;
	int learned, learn_ctr;
};

struct sl_learn_opts {
	uint32_t ttl_floor_s, ttl_max_s, grace_s, pending_ms, name_cap, learned_cap;
	const struct sl_cidr *resolvers;        /* NULL: /etc/resolv.conf */
	size_t nresolvers;
	const char *resolv_conf;                /* NULL: /etc/resolv.conf */
};

void sl_learn_opts_default(struct sl_learn_opts *o);

/*
 * Write img's name classes (names, wilds, nclass, their "ports" entries,
 * a ring per class), the resolvers and learn_cfg (enabled iff the image
 * has host names).  Returns 0 or a negative errno (printed).
 */
int sl_learn_fill(const struct sl_image *img, const struct sl_learn_fds *fds,
		  const struct sl_learn_opts *o);

/* Nameservers of a resolv.conf as host routes; *n = how many (<= cap). */
int sl_resolv_conf(const char *path, struct sl_cidr *out, size_t cap, size_t *n);

/* One learned (address, name class) pair, for `sluice learned`. */
struct sl_learned_row {
	uint8_t family;                 /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	uint32_t ncls;
	int64_t remaining_ms;           /* until expiry incl. grace; < 0: expired */
	uint32_t ttl;                   /* the TTL the last answer carried */
};

/* Read every pair of "learned" (expired ones too); free *rows with free(). */
int sl_learned_read(int learned_fd, struct sl_learned_row **rows, size_t *n);
/* Sum one learner counter over CPUs. */
int sl_learn_ctr_read(int fd, uint32_t idx, uint64_t *out);
const char *sl_learn_ctr_name(uint32_t idx);    /* "queries", "learned", ... */

#endif
