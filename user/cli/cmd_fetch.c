// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_fetch.c - `sluice fetch FILE`: refresh every URL set FILE names into
 * the last-good cache now (user/feed/, docs/feeds.md); and the URL-set part
 * of `sluice status` (the state files of the cache).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"
#include "feed/feed.h"

static void when(double t, char *buf, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm))
		snprintf(buf, n, "never");
	else
		strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void json_result(struct sl_json *j, const struct sl_feed *f, const struct sl_feed_result *r)
{
	sl_json_obj_open(j);
	sl_json_kstr(j, "set", f->name);
	sl_json_kstr(j, "url", f->url);
	sl_json_kbool(j, "ok", r->reason == SL_FR_NONE);
	sl_json_kstr(j, "reason", r->reason == SL_FR_NONE ? NULL : sl_feed_reason_name(r->reason));
	sl_json_kstr(j, "error", r->reason == SL_FR_NONE ? NULL : r->why);
	sl_json_kbool(j, "not_modified", r->not_modified);
	sl_json_kbool(j, "changed", r->changed);
	sl_json_kbool(j, "has_copy", r->had_copy || r->changed);
	sl_json_ku64(j, "entries", r->entries);
	sl_json_ku64(j, "added", r->added);
	sl_json_ku64(j, "removed", r->removed);
	sl_json_obj_close(j);
}

int do_fetch(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("fetch");
	const char *inst = NULL, *dir = sl_feed_dir();
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_json j;
	int ch, e, rc = 0;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one rules file");
	sl_feed_allow_missing(true);    /* what we are here to fetch */
	e = cli_load_rules(argv[optind], &rs, &d);
	sl_feed_allow_missing(false);
	if (e) {
		sl_diag_free(&d);
		return EXIT_USAGE;
	}
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "file", argv[optind]);
		sl_json_kstr(&j, "feed_dir", dir);
		sl_json_key(&j, "sets");
		sl_json_arr_open(&j);
	} else if (rs.nfeeds == 0) {
		printf("%s: no URL sets (set NAME url \"https://...\";); nothing to fetch\n", argv[optind]);
	}
	for (size_t i = 0; i < rs.nfeeds; i++) {
		const struct sl_feed *f = &rs.feeds[i];
		struct sl_feed_result r;
		char line[1200];

		e = sl_feed_fetch(dir, f, &r);
		if (e) {
			fprintf(stderr, "sluice: %s: cannot use the cache for set %s: %s (--feed-dir or "
				"SLUICE_FEED_DIR choose another)\n", dir, f->name, strerror(-e));
			rc = EXIT_RUNTIME;
			continue;
		}
		if (r.reason != SL_FR_NONE)
			rc = EXIT_RUNTIME;
		sl_feed_result_line(f, &r, line, sizeof(line));
		if (cli_json)
			json_result(&j, f, &r);
		else
			fprintf(r.reason == SL_FR_NONE ? stdout : stderr, "%s\n", line);
	}
	if (cli_json) {
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	return rc;
}

/* `status`: every URL set of the cache, from its state file. */
void cli_feeds_status(struct sl_json *j)
{
	const char *dir = sl_feed_dir();
	struct sl_feed_state *v = NULL;
	size_t n = 0;

	sl_feed_states(dir, &v, &n);
	if (j) {
		sl_json_kstr(j, "feed_dir", dir);
		sl_json_key(j, "feeds");
		sl_json_arr_open(j);
	} else if (n) {
		printf("URL sets (cache %s):\n", dir);
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_feed_state *s = &v[i];
		char ok[32], ch[32], er[32];
		bool failing = s->last_reason != SL_FR_NONE;

		when(s->last_success, ok, sizeof(ok));
		when(s->last_change, ch, sizeof(ch));
		when(s->last_error_at, er, sizeof(er));
		if (j) {
			sl_json_obj_open(j);
			sl_json_kstr(j, "set", s->set);
			sl_json_kstr(j, "url", s->url);
			sl_json_kstr(j, "key", s->key);
			sl_json_kdouble(j, "last_success", s->last_success);
			sl_json_kdouble(j, "last_change", s->last_change);
			sl_json_kdouble(j, "last_attempt", s->last_attempt);
			sl_json_ku64(j, "entries", s->entries);
			sl_json_ku64(j, "added", s->added);
			sl_json_ku64(j, "removed", s->removed);
			sl_json_kstr(j, "token", s->token[0] ? s->token : NULL);
			sl_json_kstr(j, "etag", s->etag[0] ? s->etag : NULL);
			sl_json_kstr(j, "sha256", s->sha256[0] ? s->sha256 : NULL);
			sl_json_kbool(j, "failing", failing);
			sl_json_kstr(j, "last_error", s->last_error[0] ? s->last_error : NULL);
			sl_json_kdouble(j, "last_error_at", s->last_error_at);
			sl_json_key(j, "failures");
			sl_json_obj_open(j);
			for (int r = 1; r < SL_FR__N; r++)
				sl_json_ku64(j, sl_feed_reason_name(r), s->failures[r]);
			sl_json_obj_close(j);
			sl_json_obj_close(j);
			continue;
		}
		printf("  set %s  %s\n    %llu entries, last success %s, last change %s (+%llu -%llu)%s%s\n",
		       s->set, s->url, (unsigned long long)s->entries, ok, ch,
		       (unsigned long long)s->added, (unsigned long long)s->removed,
		       s->token[0] ? ", token " : "", s->token);
		if (s->last_error[0])
			printf("    %s %s: %s\n", failing ? "FAILING, last attempt" : "last error", er, s->last_error);
	}
	if (j)
		sl_json_arr_close(j);
	free(v);
}
