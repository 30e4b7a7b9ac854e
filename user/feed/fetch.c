// SPDX-License-Identifier: GPL-2.0-only
/*
 * fetch.c - one fetch of a URL set (feed.h): libcurl with the certificate
 * and host name verified (the system's CAs, or the set's `ca`), HTTPS only
 * (http:// with `insecure-http`), redirects followed to https:// only, the
 * body capped at max-size, If-None-Match / If-Modified-Since when there is
 * a copy; then the body parsed, the guards, the copy stored, the state.
 * Locked per set (DIR/.KEY.lock), so `sluice fetch` and `sluice run` never
 * interleave their writes.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "feed/feed.h"

#define FEED_CONNECT_S  10
#define FEED_TIMEOUT_S  60

struct xfer {
	char *body;
	size_t len, cap, max;
	bool too_large;
	char etag[256], last_modified[128], location[512];
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;

	if (x->len + n > x->max) {
		x->too_large = true;
		return 0;       /* CURLE_WRITE_ERROR */
	}
	if (x->len + n + 1 > x->cap) {
		size_t nc = x->cap ? x->cap : 65536;
		char *nb;

		while (nc < x->len + n + 1)
			nc *= 2;
		if (!(nb = realloc(x->body, nc)))
			return 0;
		x->body = nb;
		x->cap = nc;
	}
	memcpy(x->body + x->len, p, n);
	x->len += n;
	x->body[x->len] = 0;
	return n;
}

/* Header value of "Name: value\r\n" into @dst if @line is that header. */
static void header(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t k = strlen(name);

	if (n <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	snprintf(dst, cap, "%.*s", (int)n, line);
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;

	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {      /* a new response (after a redirect) */
		x->etag[0] = 0;
		x->last_modified[0] = 0;
		x->location[0] = 0;
	}
	header(p, n, "ETag", x->etag, sizeof(x->etag));
	header(p, n, "Last-Modified", x->last_modified, sizeof(x->last_modified));
	header(p, n, "Location", x->location, sizeof(x->location));
	return n;
}

static enum sl_feed_reason curl_reason(CURLcode c, const struct xfer *x)
{
	if (x->too_large || c == CURLE_FILESIZE_EXCEEDED)
		return SL_FR_TOO_LARGE;
	switch (c) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_TOO_MANY_REDIRECTS:
		return SL_FR_REDIRECT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return SL_FR_TLS;
	default:
		return SL_FR_NETWORK;
	}
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* GET @f->url into @x; the HTTP status in @code.  SL_FR_NONE or the reason. */
static enum sl_feed_reason get(const struct sl_feed *f, const struct sl_feed_state *st,
			       bool conditional, struct xfer *x, long *code, char *why, size_t n)
{
	char err[CURL_ERROR_SIZE] = "", h1[300], h2[160];
	struct curl_slist *hdrs = NULL;
	enum sl_feed_reason r = SL_FR_NONE;
	CURL *c;
	CURLcode cc;

	pthread_once(&curl_once, curl_init);
	if (!(c = curl_easy_init())) {
		snprintf(why, n, "cannot start libcurl");
		return SL_FR_NETWORK;
	}
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, f->insecure_http ? "https,http" : "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_size);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)FEED_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FEED_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-fetch/1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (conditional && st->etag[0]) {
		snprintf(h1, sizeof(h1), "If-None-Match: %s", st->etag);
		hdrs = curl_slist_append(hdrs, h1);
	}
	if (conditional && st->last_modified[0]) {
		snprintf(h2, sizeof(h2), "If-Modified-Since: %s", st->last_modified);
		hdrs = curl_slist_append(hdrs, h2);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (cc != CURLE_OK) {
		r = curl_reason(cc, x);
		if (r == SL_FR_TOO_LARGE)
			snprintf(why, n, "body larger than max-size %u bytes", f->max_size);
		else if (r == SL_FR_REDIRECT && cc == CURLE_UNSUPPORTED_PROTOCOL)
			snprintf(why, n, "redirected to %.300s; sluice follows redirects to https:// only",
				 x->location[0] ? x->location : "a URL that is not https://");
		else
			snprintf(why, n, "%s", err[0] ? err : curl_easy_strerror(cc));
	} else if (*code != 200 && !(*code == 304 && conditional)) {
		r = SL_FR_HTTP;
		snprintf(why, n, "HTTP status %ld (expected 200%s)", *code, conditional ? " or 304" : "");
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

static int lock_set(const char *dir, const char *key)
{
	char *p = NULL;
	int fd;

	if (asprintf(&p, "%s/.%s.lock", dir, key) < 0)
		return -ENOMEM;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fetched body (status 200) -> parsed, guarded, stored.  res->reason. */
static void take(const char *dir, const struct sl_feed *f, struct sl_feed_state *st,
		 const struct sl_feed_list *old, const struct xfer *x, struct sl_feed_result *res)
{
	struct sl_feed_list neu = {0};
	char token[sizeof(st->token)];
	size_t added, removed;
	int e;

	res->reason = sl_feed_body_parse(f, x->body ? x->body : "", x->len, &neu, token,
					 sizeof(token), res->why, sizeof(res->why));
	if (res->reason == SL_FR_NONE)
		res->reason = sl_feed_guard(f, res->had_copy ? old : NULL, st->token, &neu, token,
					    res->why, sizeof(res->why));
	if (res->reason != SL_FR_NONE)
		goto out;
	sl_feed_diff(res->had_copy ? old : NULL, &neu, &added, &removed);
	res->entries = neu.n;
	snprintf(st->token, sizeof(st->token), "%s", token);
	snprintf(st->etag, sizeof(st->etag), "%s", x->etag);
	snprintf(st->last_modified, sizeof(st->last_modified), "%s", x->last_modified);
	sl_feed_sha256(x->body ? x->body : "", x->len, st->sha256);
	st->last_success = now_s();
	if (!res->had_copy || added || removed) {
		e = sl_feed_copy_store(dir, f, &neu, st);
		if (e) {
			res->reason = SL_FR_STORE;
			snprintf(res->why, sizeof(res->why), "cannot write the copy in %s: %s", dir,
				 strerror(-e));
			goto out;
		}
		res->changed = true;
		res->added = added;
		res->removed = removed;
		st->added = added;
		st->removed = removed;
		st->last_change = st->last_success;
		st->changes++;
	}
	st->entries = neu.n;
out:
	sl_feed_list_free(&neu);
}

int sl_feed_fetch(const char *dir, const struct sl_feed *f, struct sl_feed_result *res)
{
	struct sl_feed_list old = {0};
	struct sl_feed_state st;
	struct xfer x = { .max = f->max_size ? f->max_size : SL_FEED_SIZE_DEFAULT };
	long code = 0;
	int lk, e;

	memset(res, 0, sizeof(*res));
	if ((e = sl_feed_dir_make(dir)))
		return e;
	if ((lk = lock_set(dir, f->key)) < 0)
		return lk;
	if (sl_feed_state_load(dir, f->key, &st))
		memset(&st, 0, sizeof(st));
	snprintf(st.set, sizeof(st.set), "%s", f->name);
	snprintf(st.key, sizeof(st.key), "%s", f->key);
	snprintf(st.url, sizeof(st.url), "%s", f->url);
	res->had_copy = sl_feed_copy_load(dir, f->key, &old) == 0;
	if (!res->had_copy)             /* the copy is gone: the metadata describes nothing */
		st.etag[0] = st.last_modified[0] = st.token[0] = 0;
	st.last_attempt = now_s();
	st.fetches++;
	res->reason = get(f, &st, res->had_copy, &x, &code, res->why, sizeof(res->why));
	if (res->reason == SL_FR_NONE && code == 304) {
		res->not_modified = true;
		st.not_modified++;
		st.last_success = now_s();
		res->entries = old.n;
	} else if (res->reason == SL_FR_NONE) {
		take(dir, f, &st, &old, &x, res);
	}
	st.last_reason = res->reason;
	if (res->reason != SL_FR_NONE) {
		st.failures[res->reason]++;
		snprintf(st.last_error, sizeof(st.last_error), "%s: %s",
			 sl_feed_reason_name(res->reason), res->why);
		st.last_error_at = st.last_attempt;
		res->entries = old.n;
	}
	e = sl_feed_state_save(dir, &st);
	sl_feed_list_free(&old);
	free(x.body);
	close(lk);
	return e;
}

void sl_feed_result_line(const struct sl_feed *f, const struct sl_feed_result *r,
			 char *buf, size_t n)
{
	if (r->reason != SL_FR_NONE)
		snprintf(buf, n, "set %s: %s: %s; %s", f->name, sl_feed_reason_name(r->reason), r->why,
			 r->had_copy ? "kept the last good copy" : "no good copy yet: the set cannot be applied");
	else if (r->not_modified)
		snprintf(buf, n, "set %s: not modified (304); %llu entries", f->name,
			 (unsigned long long)r->entries);
	else if (r->changed)
		snprintf(buf, n, "set %s: %s: %llu entries (+%llu -%llu)", f->name,
			 r->had_copy ? "changed" : "first copy", (unsigned long long)r->entries,
			 (unsigned long long)r->added, (unsigned long long)r->removed);
	else
		snprintf(buf, n, "set %s: unchanged; %llu entries", f->name,
			 (unsigned long long)r->entries);
}
