/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * feed.h - URL sets: the fetcher and its last-good cache (docs/feeds.md).
 *
 * The only code in sluice that touches the network for rules, and the only
 * user of libcurl; used by `sluice fetch` (cli/cmd_fetch.c), `sluice run`
 * (daemon/feeds.c) and `sluice status`.  Every other command reads the
 * cached copy through the front end (front/feedset.c).
 *
 *   body.c   a body (text or JSON) -> a sorted list of prefixes, its token;
 *            the guards; the diff of two lists.  No I/O: unit-tested.
 *   cache.c  DIR/KEY.list (the copy, an address list) and DIR/KEY.json
 *            (what status and metrics show), each written atomically.
 *   fetch.c  one fetch: HTTPS (libcurl), conditional, capped; then body,
 *            guards, cache, state.
 *
 * A fetch replaces the copy only when the body parsed, passed every guard
 * and was stored; otherwise the copy stays and the reason (one of a bounded
 * set, a metric label) is logged, counted and kept in the state file.
 */
#ifndef SL_FEED_H
#define SL_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl.h"

enum sl_feed_reason {
	SL_FR_NONE = 0,
	SL_FR_NETWORK,          /* cannot connect, timeout, reset, DNS */
	SL_FR_TLS,              /* certificate or host name not verified */
	SL_FR_HTTP,             /* a status other than 200 or 304 */
	SL_FR_REDIRECT,         /* a redirect to a URL that is not https:// */
	SL_FR_TOO_LARGE,        /* body over max-size */
	SL_FR_EMPTY,            /* no entries (an empty 200) */
	SL_FR_PARSE,            /* not an address list / not JSON / path not found */
	SL_FR_MIN_ENTRIES,      /* fewer than min-entries */
	SL_FR_SHRINK,           /* lost more than max-shrink of the entries */
	SL_FR_TOKEN,            /* syncToken / createDate older than the copy's */
	SL_FR_STORE,            /* cannot write the cache */
	SL_FR__N
};
/* "network", "tls", ... (metric label values). */
const char *sl_feed_reason_name(enum sl_feed_reason r);

/* Prefixes in canonical text ("198.51.100.0/24"), sorted, unique. */
struct sl_feed_list {
	char **v;
	size_t n;
};
void sl_feed_list_free(struct sl_feed_list *l);

/* ---------------------------------------------------------------- body.c */

/*
 * Parse a body of @f's format into @out and its token (JSON: "syncToken",
 * else "createDate"; "" for none).  SL_FR_NONE, or the reason (SL_FR_EMPTY,
 * SL_FR_PARSE) with why in @why.  -ENOMEM is SL_FR_PARSE with "out of memory".
 */
enum sl_feed_reason sl_feed_body_parse(const struct sl_feed *f, const char *body, size_t len,
				       struct sl_feed_list *out, char *token, size_t tokcap,
				       char *why, size_t whycap);
/* <0, 0, >0 as tokens @a and @b order (numbers by value, else as strings). */
int sl_feed_token_cmp(const char *a, const char *b);
/*
 * The guards of a parsed list against the last good copy (@old NULL: none):
 * min-entries, max-shrink, token not backwards.  SL_FR_NONE or the reason.
 */
enum sl_feed_reason sl_feed_guard(const struct sl_feed *f, const struct sl_feed_list *old,
				  const char *old_token, const struct sl_feed_list *neu,
				  const char *new_token, char *why, size_t whycap);
/* Entries of @neu not in @old, and of @old not in @neu. */
void sl_feed_diff(const struct sl_feed_list *old, const struct sl_feed_list *neu,
		  size_t *added, size_t *removed);

/* --------------------------------------------------------------- cache.c */

/* What DIR/KEY.json holds: the copy's metadata and the set's fetch history. */
struct sl_feed_state {
	char set[SL_NAME_LEN];
	char key[SL_FEED_KEY_LEN];
	char url[1024];
	double last_attempt, last_success, last_change;        /* Unix time, 0: never */
	uint64_t entries, added, removed;                       /* of the copy; by its last change */
	char etag[256], last_modified[128], token[128];
	char sha256[65];                                        /* of the body of the copy */
	enum sl_feed_reason last_reason;                        /* of the last attempt */
	char last_error[600];                                   /* the last failure, kept */
	double last_error_at;
	uint64_t fetches, not_modified, changes;
	uint64_t failures[SL_FR__N];
};

/* 0, -ENOENT (never fetched) or -errno/-EINVAL. */
int sl_feed_state_load(const char *dir, const char *key, struct sl_feed_state *st);
int sl_feed_state_save(const char *dir, const struct sl_feed_state *st);
/* The copy DIR/KEY.list: 0, -ENOENT or -errno. */
int sl_feed_copy_load(const char *dir, const char *key, struct sl_feed_list *l);
/* Write the copy atomically (temporary file, fsync, rename, fsync of DIR). */
int sl_feed_copy_store(const char *dir, const struct sl_feed *f, const struct sl_feed_list *l,
		       const struct sl_feed_state *st);
/* Every state file of DIR, sorted by set name (status): 0 or -errno. */
int sl_feed_states(const char *dir, struct sl_feed_state **v, size_t *n);
/* Create DIR (and its parents) if needed. */
int sl_feed_dir_make(const char *dir);
/* The SHA-256 of @buf in hex. */
void sl_feed_sha256(const void *buf, size_t len, char hex[65]);

/* --------------------------------------------------------------- fetch.c */

struct sl_feed_result {
	enum sl_feed_reason reason;     /* SL_FR_NONE: the copy is current */
	char why[512];
	bool not_modified;              /* 304 */
	bool changed;                   /* a new copy was stored */
	bool had_copy;
	uint64_t entries, added, removed;
};

/*
 * Fetch @f now into the cache of DIR: conditional (ETag, Last-Modified),
 * HTTPS with the certificate and host name verified, at most f->max_size
 * bytes, redirects to https:// only; then parse, guards, store, state.
 * 0 with @res filled (res->reason says whether the copy was replaced or
 * kept), or -errno when the cache cannot even be locked.
 */
int sl_feed_fetch(const char *dir, const struct sl_feed *f, struct sl_feed_result *res);
/* One line for the log: "set zoom: 312 entries (+3 -1) from https://...". */
void sl_feed_result_line(const struct sl_feed *f, const struct sl_feed_result *r,
			 char *buf, size_t n);

#endif
