// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_feed.c - URL sets without the network (docs/feeds.md): the set
 * statement and its errors, the copy read from the cache directory, the
 * bodies (text, JSON with a path and a filter), the guards, the diff, the
 * token order (user/front/feedset.c, user/feed/body.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "sl.h"
#include "feed/feed.h"

static struct sl_feed feed(enum sl_feed_format fmt, const char *path)
{
	struct sl_feed f;

	memset(&f, 0, sizeof(f));
	f.name = (char *)"t";
	f.url = (char *)"https://vendor.example/list";
	f.format = fmt;
	f.json_path = (char *)path;
	f.min_entries = 1;
	f.max_shrink = 25;
	return f;
}

static bool has(const struct sl_feed_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* A rules text's first error message ("" if none), and whether it parsed. */
static int parse(const char *text, char *first, size_t n, struct sl_ruleset *rs)
{
	struct sl_diags d = {0};
	int e = sl_ruleset_parse("t.rules", text, strlen(text), rs, &d);

	first[0] = 0;
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].sev == SL_SEV_ERROR) {
			snprintf(first, n, "%d:%d: %s | %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg,
				 d.v[i].hint ? d.v[i].hint : "");
			break;
		}
	sl_diag_free(&d);
	return e;
}

static void test_bodies(void)
{
	struct sl_feed t = feed(SL_FEED_TEXT, NULL);
	struct sl_feed_list l;
	char tok[64], why[256];
	enum sl_feed_reason r;

	const char *txt = "# Zoom.txt\n198.51.100.0/24\n203.0.113.0/25, 203.0.113.128/25\n"
			  "2001:db8::/32\n192.0.2.10 - 192.0.2.11\n198.51.100.0/24\n";
	r = sl_feed_body_parse(&t, txt, strlen(txt), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: text body parses", r == SL_FR_NONE, "reason %s: %s", sl_feed_reason_name(r), why);
	T_CHECK("feed: text body: sorted, unique, ranges split", l.n == 5 &&
		has(&l, "192.0.2.10/31") && has(&l, "2001:db8::/32") && has(&l, "203.0.113.128/25"),
		"%zu entries", l.n);
	sl_feed_list_free(&l);

	r = sl_feed_body_parse(&t, "", 0, &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: empty 200 is 'empty'", r == SL_FR_EMPTY, "%s", sl_feed_reason_name(r));
	r = sl_feed_body_parse(&t, "# nothing\n\n", 11, &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: comments only is 'empty'", r == SL_FR_EMPTY, "%s", sl_feed_reason_name(r));
	const char *html = "<html><body>Sign in to the Wi-Fi</body></html>\n";
	r = sl_feed_body_parse(&t, html, strlen(html), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: an HTML page is 'parse' with the line", r == SL_FR_PARSE &&
		strstr(why, "line 1:"), "%s: %s", sl_feed_reason_name(r), why);
	const char *host = "198.51.100.0/24\nzoom.us\n";
	r = sl_feed_body_parse(&t, host, strlen(host), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: host names are refused in a URL set", r == SL_FR_PARSE && strstr(why, "zoom.us"),
		"%s: %s", sl_feed_reason_name(r), why);
	const char *hb = "198.51.100.1/24\n";
	r = sl_feed_body_parse(&t, hb, strlen(hb), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: host bits are a parse error", r == SL_FR_PARSE, "%s", sl_feed_reason_name(r));

	/* AWS-like JSON with a filter, Google-like JSON */
	const char *aws = "{\"syncToken\": \"1700000100\", \"createDate\": \"2023-11-14-22-15-00\","
			  " \"prefixes\": [{\"ip_prefix\": \"198.51.100.0/24\", \"service\": \"AMAZON\"},"
			  " {\"ip_prefix\": \"203.0.113.0/24\", \"service\": \"EC2\"},"
			  " {\"ip_prefix\": \"192.0.2.0/24\", \"service\": \"AMAZON\"}],"
			  " \"ipv6_prefixes\": [{\"ipv6_prefix\": \"2001:db8::/32\", \"service\": \"AMAZON\"}]}";
	struct sl_feed j = feed(SL_FEED_JSON, "prefixes[?service=='AMAZON'].ip_prefix");
	r = sl_feed_body_parse(&j, aws, strlen(aws), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: JSON path with a filter", r == SL_FR_NONE && l.n == 2 &&
		has(&l, "198.51.100.0/24") && has(&l, "192.0.2.0/24") && !has(&l, "203.0.113.0/24"),
		"%s: %s (%zu)", sl_feed_reason_name(r), why, l.n);
	T_CHECK("feed: JSON syncToken is the token", !strcmp(tok, "1700000100"), "'%s'", tok);
	sl_feed_list_free(&l);
	j.json_path = (char *)"prefixes[].ip_prefix";
	r = sl_feed_body_parse(&j, aws, strlen(aws), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: JSON path without a filter", r == SL_FR_NONE && l.n == 3, "%zu", l.n);
	sl_feed_list_free(&l);
	const char *goog = "{\"syncToken\": \"1700000000000\", \"creationTime\": \"x\", \"prefixes\":"
			   " [{\"ipv4Prefix\": \"198.51.100.0/24\"}, {\"ipv6Prefix\": \"2001:db8::/32\"}]}";
	j.json_path = (char *)"prefixes[].ipv4Prefix";
	r = sl_feed_body_parse(&j, goog, strlen(goog), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: Google-like JSON, elements without the key skipped",
		r == SL_FR_NONE && l.n == 1 && has(&l, "198.51.100.0/24"), "%zu", l.n);
	sl_feed_list_free(&l);
	r = sl_feed_body_parse(&j, "{\"prefixes\": [", 14, &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: truncated JSON is 'parse'", r == SL_FR_PARSE && strstr(why, "not JSON"),
		"%s: %s", sl_feed_reason_name(r), why);
	j.json_path = (char *)"nothing[].here";
	r = sl_feed_body_parse(&j, goog, strlen(goog), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: a path that matches nothing is 'empty'", r == SL_FR_EMPTY, "%s",
		sl_feed_reason_name(r));
	j.json_path = (char *)"syncToken";
	const char *num = "{\"syncToken\": 5}";
	r = sl_feed_body_parse(&j, num, strlen(num), &l, tok, sizeof(tok), why, sizeof(why));
	T_CHECK("feed: a non-string prefix is 'parse'", r == SL_FR_PARSE, "%s", sl_feed_reason_name(r));
	T_CHECK("feed: a numeric syncToken is read", !strcmp(tok, "5"), "'%s'", tok);
}

static struct sl_feed_list mk(size_t n, size_t off)
{
	struct sl_feed_list l = { calloc(n, sizeof(char *)), n };

	for (size_t i = 0; i < n; i++)
		if (asprintf(&l.v[i], "10.%zu.0.0/16", i + off) < 0)
			abort();
	/* sorted as strings for the diff */
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(l.v[b - 1], l.v[b]) > 0; b--) {
			char *t = l.v[b];
			l.v[b] = l.v[b - 1];
			l.v[b - 1] = t;
		}
	return l;
}

static void test_guards(void)
{
	struct sl_feed f = feed(SL_FEED_TEXT, NULL);
	struct sl_feed_list old = mk(100, 0), n75 = mk(75, 0), n74 = mk(74, 0), shifted = mk(100, 3);
	char why[256];
	size_t a, r;

	T_CHECK("guard: first copy passes", sl_feed_guard(&f, NULL, "", &n74, "", why, sizeof(why)) ==
		SL_FR_NONE, "%s", why);
	T_CHECK("guard: shrink of exactly max-shrink passes",
		sl_feed_guard(&f, &old, "", &n75, "", why, sizeof(why)) == SL_FR_NONE, "%s", why);
	T_CHECK("guard: shrink over max-shrink is 'shrink'",
		sl_feed_guard(&f, &old, "", &n74, "", why, sizeof(why)) == SL_FR_SHRINK &&
		strstr(why, "100 to 74"), "%s", why);
	f.max_shrink = 0;
	T_CHECK("guard: max-shrink 0% refuses any shrink",
		sl_feed_guard(&f, &old, "", &n75, "", why, sizeof(why)) == SL_FR_SHRINK, "%s", why);
	T_CHECK("guard: max-shrink 0% allows a same-size change",
		sl_feed_guard(&f, &old, "", &shifted, "", why, sizeof(why)) == SL_FR_NONE, "%s", why);
	f.max_shrink = 25;
	f.min_entries = 80;
	T_CHECK("guard: fewer than min-entries",
		sl_feed_guard(&f, NULL, "", &n75, "", why, sizeof(why)) == SL_FR_MIN_ENTRIES, "%s", why);
	f.min_entries = 1;
	T_CHECK("guard: token backwards",
		sl_feed_guard(&f, &old, "1700000100", &old, "1700000099", why, sizeof(why)) == SL_FR_TOKEN,
		"%s", why);
	T_CHECK("guard: same token passes",
		sl_feed_guard(&f, &old, "1700000100", &old, "1700000100", why, sizeof(why)) == SL_FR_NONE,
		"%s", why);
	T_CHECK("guard: numeric tokens by value (999 < 1000)", sl_feed_token_cmp("999", "1000") < 0 &&
		sl_feed_token_cmp("2023-11-14-22-15-00", "2023-11-14-22-13-30") > 0, "order");
	sl_feed_diff(&old, &shifted, &a, &r);
	T_CHECK("diff: added and removed", a == 3 && r == 3, "+%zu -%zu", a, r);
	sl_feed_diff(NULL, &n75, &a, &r);
	T_CHECK("diff: against nothing", a == 75 && r == 0, "+%zu -%zu", a, r);
	sl_feed_list_free(&old);
	sl_feed_list_free(&n75);
	sl_feed_list_free(&n74);
	sl_feed_list_free(&shifted);
}

static void test_statement(void)
{
	struct sl_ruleset rs;
	char e[512], dir[] = "/tmp/sl-feedtest-XXXXXX", path[600];
	static const struct { const char *name, *text, *want; } bad[] = {
		{ "http refused", "set z url \"http://vendor.example/z.txt\";", "not an https:// URL" },
		{ "no URL", "set z url zoom.txt;", "expected a quoted URL" },
		{ "bad refresh", "set z url \"https://v.example/z\" refresh 6x;", "bad refresh interval" },
		{ "bad max-shrink", "set z url \"https://v.example/z\" max-shrink 120%;", "bad max-shrink" },
		{ "bad option", "set z url \"https://v.example/z\" refesh 6h;", "expected an option" },
		{ "bad format", "set z url \"https://v.example/z\" format xml;", "expected 'text' or 'json'" },
		{ "bad JSON path", "set z url \"https://v.example/z\" format json \"a[?x=1\";", "bad JSON path" },
		{ "path ends in array", "set z url \"https://v.example/z\" format json \"prefixes[]\";",
		  "the last key names" },
		{ "no copy", "set z url \"https://v.example/z\";", "has no good copy" },
	};

	T_CHECK("feed: temp dir", mkdtemp(dir) != NULL, "mkdtemp");
	sl_feed_dir_set(dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[96];
		int r = parse(bad[i].text, e, sizeof(e), &rs);

		snprintf(name, sizeof(name), "set url: %s", bad[i].name);
		T_CHECK(name, r == -EINVAL && strstr(e, bad[i].want) && !strncmp(e, "1:", 2),
			"rc %d, first error '%s'", r, e);
	}
	parse("set z url \"https://v.example/z\";", e, sizeof(e), &rs);
	T_CHECK("set url: no copy says run sluice fetch", strstr(e, "run `sluice fetch t.rules"), "%s", e);

	/* allowed over http with insecure-http; missing copy tolerated for fetch */
	sl_feed_allow_missing(true);
	int r = parse("set z url \"http://v.example/z\" insecure-http refresh 1h max-shrink 10% "
		      "min-entries 3 max-size 2M format json \"p[?s=='A'].ip\";\n"
		      "rule x { allow tcp 443; to @z, 192.0.2.1; }", e, sizeof(e), &rs);
	T_CHECK("set url: every option", r == 0 && rs.nfeeds == 1 && rs.feeds[0].insecure_http &&
		rs.feeds[0].refresh_s == 3600 && rs.feeds[0].max_shrink == 10 &&
		rs.feeds[0].min_entries == 3 && rs.feeds[0].max_size == 2u << 20 &&
		rs.feeds[0].format == SL_FEED_JSON && !rs.feeds[0].has_copy, "rc %d: %s", r, e);
	char key[SL_FEED_KEY_LEN];
	snprintf(key, sizeof(key), "%s", r == 0 ? rs.feeds[0].key : "");
	if (r == 0)
		sl_ruleset_free(&rs);
	sl_feed_allow_missing(false);

	/* with a copy in the cache: its prefixes are the set's */
	snprintf(path, sizeof(path), "%s/%s.list", dir, key);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("# copy\n198.51.100.0/24\n203.0.113.0/24\n", f);
		fclose(f);
	}
	r = parse("set z url \"http://v.example/z\" insecure-http format json \"p[?s=='A'].ip\";\n"
		  "rule x { allow tcp 443; to @z; }", e, sizeof(e), &rs);
	T_CHECK("set url: the copy is read", r == 0 && rs.nrules == 1 && rs.rules[0].ndsts == 2 &&
		rs.feeds[0].has_copy && rs.feeds[0].nentries == 2, "rc %d: %s", r, e);
	if (r == 0)
		sl_ruleset_free(&rs);
	r = parse("set z url \"http://v.example/z\" insecure-http format json \"p[].ip\";\n"
		  "rule x { allow tcp 443; to @z; }", e, sizeof(e), &rs);
	T_CHECK("set url: another path is another copy", r == -EINVAL && strstr(e, "no good copy"),
		"rc %d: %s", r, e);
	unlink(path);
	rmdir(dir);
	sl_feed_dir_set(NULL);
}

int main(void)
{
	(void)t_skipped;
	test_bodies();
	test_guards();
	test_statement();
	return T_DONE();
}
