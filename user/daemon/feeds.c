// SPDX-License-Identifier: GPL-2.0-only
/*
 * feeds.c - URL sets in `sluice run` (feeds.h, docs/feeds.md).
 *
 * One schedule entry per set of the running ruleset.  A set is due
 * `refresh` after its last attempt (from its state file, so a restart does
 * not fetch again at once), with +-10 % jitter so that a fleet does not
 * poll a vendor in step; after a failure, again after min(refresh, 5 min).
 * Fetches run in a thread of their own, one at a time (user/feed/'s
 * timeouts: 10 s to connect, 60 s in all), so a slow vendor never delays
 * DNS work or events; the list of sets is shared with it and with the
 * metrics thread under a mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/feeds.h"
#include "daemon/run.h"
#include "feed/feed.h"

#define FEEDS_RETRY_S 300       /* after a failure: at most this long to the next try */

struct entry {
	struct sl_feed f;       /* owned copies of the strings */
	uint64_t due_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *ents;
static size_t nents;
static char inst_name[64] = "default";
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;   /* wakes the fetcher */
static pthread_t worker;
static bool worker_up, stopping, changed;       /* changed: a copy changed, re-apply */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* @s seconds +-10 %, in ms. */
static uint64_t jitter_ms(uint32_t s)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)mono_ms();
	return (uint64_t)s * 900 + (uint64_t)s * 200 * (r % 1001) / 1000;
}

static int feed_dup(struct sl_feed *d, const struct sl_feed *s)
{
	*d = *s;
	d->name = strdup(s->name);
	d->url = strdup(s->url);
	d->ca = s->ca ? strdup(s->ca) : NULL;
	d->json_path = s->json_path ? strdup(s->json_path) : NULL;
	if (!d->name || !d->url || (s->ca && !d->ca) || (s->json_path && !d->json_path)) {
		sl_feed_free(d);
		return -ENOMEM;
	}
	return 0;
}

/* When a set first joins: refresh after its last attempt (never: now). */
static uint64_t first_due(const struct sl_feed *f, uint64_t now)
{
	struct sl_feed_state st;
	double wall = (double)time(NULL), next;

	if (sl_feed_state_load(sl_feed_dir(), f->key, &st) || st.last_attempt <= 0)
		return now;
	next = st.last_attempt + (double)jitter_ms(f->refresh_s) / 1000.0;
	return next <= wall ? now : now + (uint64_t)((next - wall) * 1000);
}

int sl_run_feeds_set(const struct sl_ruleset *rs, const char *inst)
{
	struct entry *nv = rs->nfeeds ? calloc(rs->nfeeds, sizeof(*nv)) : NULL;
	uint64_t now = mono_ms();

	if (rs->nfeeds && !nv)
		return -ENOMEM;
	for (size_t i = 0; i < rs->nfeeds; i++) {
		if (feed_dup(&nv[i].f, &rs->feeds[i])) {
			while (i--)
				sl_feed_free(&nv[i].f);
			free(nv);
			return -ENOMEM;
		}
		nv[i].due_ms = 0;
	}
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < rs->nfeeds; i++) {
		for (size_t k = 0; k < nents; k++)
			if (!strcmp(ents[k].f.key, nv[i].f.key) &&
			    ents[k].f.refresh_s == nv[i].f.refresh_s)
				nv[i].due_ms = ents[k].due_ms;
		if (!nv[i].due_ms)
			nv[i].due_ms = first_due(&nv[i].f, now);
	}
	for (size_t k = 0; k < nents; k++)
		sl_feed_free(&ents[k].f);
	free(ents);
	ents = nv;
	nents = rs->nfeeds;
	snprintf(inst_name, sizeof(inst_name), "%s", inst);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

void sl_run_feeds_free(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;        /* the fetcher ends after its fetch, or at once if idle */
	pthread_cond_signal(&cv);
	if (worker_up) {        /* not joined: a fetch may take up to 60 s; the copy is atomic */
		pthread_detach(worker);
		worker_up = false;
	}
	for (size_t k = 0; k < nents; k++)
		sl_feed_free(&ents[k].f);
	free(ents);
	ents = NULL;
	nents = 0;
	pthread_mutex_unlock(&mu);
}

static bool fetch_one(const struct sl_feed *f)
{
	struct sl_feed_result r;
	char line[1200];
	int e = sl_feed_fetch(sl_feed_dir(), f, &r);

	if (e) {
		sl_run_log("set %s: cannot use the cache %s: %s", f->name, sl_feed_dir(), strerror(-e));
		return false;
	}
	sl_feed_result_line(f, &r, line, sizeof(line));
	if (r.reason != SL_FR_NONE || r.changed)       /* unchanged and 304 are not news */
		sl_run_log("%s", line);
	return r.reason == SL_FR_NONE && r.changed;
}

/* When the set @key fetched last: again after refresh, or sooner after a failure. */
static uint64_t next_due(const struct sl_feed *f)
{
	struct sl_feed_state st;
	uint32_t wait = f->refresh_s;

	if (!sl_feed_state_load(sl_feed_dir(), f->key, &st) && st.last_reason != SL_FR_NONE &&
	    wait > FEEDS_RETRY_S)
		wait = FEEDS_RETRY_S;
	return mono_ms() + jitter_ms(wait);
}

/*
 * The fetcher thread: the earliest due set is copied out under the lock and
 * fetched without it, so a slow server never holds the daemon's loop (DNS,
 * events) or the metrics thread.  A changed copy raises `changed`, which the
 * loop reads within a second (sl_run_feeds_tick) and re-applies.
 */

static void *fetcher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		uint64_t now = mono_ms(), next = now + 1000;
		struct entry *due = NULL;
		struct sl_feed f;

		for (size_t i = 0; i < nents; i++) {
			if (ents[i].due_ms <= now && (!due || ents[i].due_ms < due->due_ms))
				due = &ents[i];
			if (ents[i].due_ms < next)
				next = ents[i].due_ms;
		}
		if (!due) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);     /* the condvar's clock */
			ts.tv_nsec += (long)((next - now) % 1000) * 1000000;
			ts.tv_sec += (time_t)((next - now) / 1000) + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&cv, &mu, &ts);
			continue;
		}
		if (feed_dup(&f, &due->f)) {
			due->due_ms = now + 1000;
			continue;
		}
		due->due_ms = UINT64_MAX;       /* in flight */
		pthread_mutex_unlock(&mu);
		bool ch = fetch_one(&f);
		uint64_t nd = next_due(&f);
		pthread_mutex_lock(&mu);
		changed |= ch;
		for (size_t i = 0; i < nents; i++)      /* the list may have been replaced */
			if (!strcmp(ents[i].f.key, f.key) && ents[i].due_ms == UINT64_MAX)
				ents[i].due_ms = nd;
		sl_feed_free(&f);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

bool sl_run_feeds_tick(uint64_t now_ms, uint64_t *next_ms)
{
	bool ch;

	(void)now_ms;
	(void)next_ms;          /* the fetcher keeps its own time; the loop wakes every second */
	pthread_mutex_lock(&mu);
	if (!worker_up && nents && !stopping)
		worker_up = pthread_create(&worker, NULL, fetcher, NULL) == 0;
	ch = changed;
	changed = false;
	pthread_mutex_unlock(&mu);
	return ch;
}

void sl_run_feeds_prime(const char *file)
{
	struct sl_ruleset rs;
	struct sl_diags d = {0};

	sl_feed_allow_missing(true);
	int e = sl_ruleset_load(file, &rs, &d);

	sl_feed_allow_missing(false);
	sl_diag_free(&d);
	if (e)
		return;         /* the apply reports the errors */
	for (size_t i = 0; i < rs.nfeeds; i++)
		if (!rs.feeds[i].has_copy) {
			sl_run_log("set %s: no good copy yet: fetching %s", rs.feeds[i].name,
				   rs.feeds[i].url);
			fetch_one(&rs.feeds[i]);
		}
	sl_ruleset_free(&rs);
}

/* ---------------------------------------------------------------- metrics */

static void family(struct sl_buf *b, const char *name, const char *type, const char *help)
{
	sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sl_run_feeds_prom(struct sl_buf *b)
{
	struct sl_feed_state *st;
	size_t n;
	char inst[64];

	pthread_mutex_lock(&mu);
	n = nents;
	st = n ? calloc(n, sizeof(*st)) : NULL;
	for (size_t i = 0; st && i < n; i++) {
		if (sl_feed_state_load(sl_feed_dir(), ents[i].f.key, &st[i])) {
			memset(&st[i], 0, sizeof(st[i]));
			snprintf(st[i].key, sizeof(st[i].key), "%s", ents[i].f.key);
		}
		snprintf(st[i].set, sizeof(st[i].set), "%s", ents[i].f.name);
	}
	snprintf(inst, sizeof(inst), "%s", inst_name);
	pthread_mutex_unlock(&mu);
	if (!st)
		return;
	family(b, "sluice_feed_last_success_timestamp_seconds", "gauge",
	       "When a URL set last fetched successfully (200 or 304), Unix time; 0: never");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_feed_last_success_timestamp_seconds{sluice_instance=\"%s\","
			      "set=\"%s\"} %.3f\n", inst, st[i].set, st[i].last_success);
	family(b, "sluice_feed_last_change_timestamp_seconds", "gauge",
	       "When a URL set's last good copy last changed, Unix time; 0: never");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_feed_last_change_timestamp_seconds{sluice_instance=\"%s\","
			      "set=\"%s\"} %.3f\n", inst, st[i].set, st[i].last_change);
	family(b, "sluice_feed_entries", "gauge", "Prefixes in a URL set's last good copy");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_feed_entries{sluice_instance=\"%s\",set=\"%s\"} %llu\n", inst,
			      st[i].set, (unsigned long long)st[i].entries);
	family(b, "sluice_feed_failing", "gauge",
	       "1 if a URL set's last fetch failed and its last good copy is in force");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_feed_failing{sluice_instance=\"%s\",set=\"%s\"} %d\n", inst,
			      st[i].set, st[i].last_reason != SL_FR_NONE);
	family(b, "sluice_feed_fetch_failures_total", "counter",
	       "Fetches of a URL set that kept the last good copy, by reason");
	for (size_t i = 0; i < n; i++)
		for (int r = 1; r < SL_FR__N; r++)
			sl_buf_printf(b, "sluice_feed_fetch_failures_total{sluice_instance=\"%s\",set=\"%s\","
				      "reason=\"%s\"} %llu\n", inst, st[i].set, sl_feed_reason_name(r),
				      (unsigned long long)st[i].failures[r]);
	free(st);
}
