// SPDX-License-Identifier: GPL-2.0-only
/*
 * cache.c - the last-good cache of URL sets (feed.h, docs/feeds.md):
 *   DIR/KEY.list  the copy: an address list (what the front end reads),
 *                 a '#' header naming the set, URL, time, token, SHA-256
 *   DIR/KEY.json  the state: the copy's metadata and the fetch history
 *                 (last success, change, error, failures by reason)
 * Each written to a temporary file in DIR, fsync'ed, renamed over the old
 * one and DIR fsync'ed: a crash leaves the old file or the new, never half.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feed/feed.h"

void sl_feed_sha256(const void *buf, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	hex[0] = 0;
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL))
		return;
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int sl_feed_dir_make(const char *dir)
{
	char *p = strdup(dir);
	int e = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			e = -errno;
		*s = '/';
	}
	if (!e && mkdir(p, 0755) && errno != EEXIST)
		e = -errno;
	free(p);
	return e;
}

/* Write @len bytes to DIR/NAME atomically. */
static int write_atomic(const char *dir, const char *name, const char *buf, size_t len)
{
	char *tmp = NULL, *dst = NULL;
	int fd = -1, e = 0, dfd;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	if (asprintf(&dst, "%s/%s", dir, name) < 0) {
		free(tmp);
		return -ENOMEM;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) || fsync(fd) || close(fd)) {
		e = -errno;
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst)) {
		e = -errno;
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (e)
		unlink(tmp);
	free(tmp);
	free(dst);
	return e;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *b = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			char *nb = realloc(b, cap = cap * 2 + 8192);

			if (!nb)
				break;
			b = nb;
		}
		size_t r = fread(b + *len, 1, cap - *len - 1, f);

		*len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (b)
		b[*len] = 0;
	else
		errno = ENOMEM;
	return b;
}

int sl_feed_copy_load(const char *dir, const char *key, struct sl_feed_list *l)
{
	char *path = NULL, *b, *save = NULL;
	size_t len, cap = 0;
	int e = 0;

	memset(l, 0, sizeof(*l));
	if (asprintf(&path, "%s/%s.list", dir, key) < 0)
		return -ENOMEM;
	b = slurp(path, &len);
	free(path);
	if (!b)
		return -errno;
	for (char *ln = strtok_r(b, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		if (ln[0] == '#' || !ln[0])
			continue;
		if (l->n == cap) {
			char **nv = realloc(l->v, (cap = cap * 2 + 64) * sizeof(*nv));

			if (!nv) {
				e = -ENOMEM;
				break;
			}
			l->v = nv;
		}
		if (!(l->v[l->n] = strdup(ln))) {
			e = -ENOMEM;
			break;
		}
		l->n++;
	}
	free(b);
	if (e)
		sl_feed_list_free(l);
	return e;
}

static void iso(double t, char *buf, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm))
		snprintf(buf, n, "never");
	else
		strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int sl_feed_copy_store(const char *dir, const struct sl_feed *f, const struct sl_feed_list *l,
		       const struct sl_feed_state *st)
{
	char when[32], *buf = NULL, name[SL_FEED_KEY_LEN + 8];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int e;

	if (!m)
		return -ENOMEM;
	iso(st->last_success, when, sizeof(when));
	fprintf(m, "# sluice URL set '%s': the last good copy of\n# %s\n# fetched %s, %zu entries, "
		"token %s, sha256 %s\n# written by sluice fetch / sluice run; do not edit\n",
		f->name, f->url, when, l->n, st->token[0] ? st->token : "-",
		st->sha256[0] ? st->sha256 : "-");
	for (size_t i = 0; i < l->n; i++)
		fprintf(m, "%s\n", l->v[i]);
	if (fclose(m) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "%s.list", f->key);
	e = write_atomic(dir, name, buf, len);
	free(buf);
	return e;
}

/* ------------------------------------------------------------ state */

static void jstr(json_t *o, const char *k, char *dst, size_t n)
{
	json_t *v = json_object_get(o, k);

	snprintf(dst, n, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : 0;
}

int sl_feed_state_load(const char *dir, const char *key, struct sl_feed_state *st)
{
	char *path = NULL, reason[32];
	json_error_t je;
	json_t *o, *fl;

	memset(st, 0, sizeof(*st));
	if (asprintf(&path, "%s/%s.json", dir, key) < 0)
		return -ENOMEM;
	o = json_load_file(path, 0, &je);
	if (!o) {
		int e = access(path, F_OK) ? -errno : -EINVAL;

		free(path);
		return e;
	}
	free(path);
	jstr(o, "set", st->set, sizeof(st->set));
	jstr(o, "key", st->key, sizeof(st->key));
	jstr(o, "url", st->url, sizeof(st->url));
	st->last_attempt = jnum(o, "last_attempt");
	st->last_success = jnum(o, "last_success");
	st->last_change = jnum(o, "last_change");
	st->entries = (uint64_t)jnum(o, "entries");
	st->added = (uint64_t)jnum(o, "added");
	st->removed = (uint64_t)jnum(o, "removed");
	jstr(o, "etag", st->etag, sizeof(st->etag));
	jstr(o, "last_modified", st->last_modified, sizeof(st->last_modified));
	jstr(o, "token", st->token, sizeof(st->token));
	jstr(o, "sha256", st->sha256, sizeof(st->sha256));
	jstr(o, "last_reason", reason, sizeof(reason));
	for (int r = 0; r < SL_FR__N; r++)
		if (!strcmp(reason, sl_feed_reason_name(r)))
			st->last_reason = r;
	jstr(o, "last_error", st->last_error, sizeof(st->last_error));
	st->last_error_at = jnum(o, "last_error_at");
	st->fetches = (uint64_t)jnum(o, "fetches");
	st->not_modified = (uint64_t)jnum(o, "not_modified");
	st->changes = (uint64_t)jnum(o, "changes");
	fl = json_object_get(o, "failures");
	for (int r = 1; r < SL_FR__N; r++)
		st->failures[r] = (uint64_t)jnum(fl, sl_feed_reason_name(r));
	json_decref(o);
	return 0;
}

int sl_feed_state_save(const char *dir, const struct sl_feed_state *st)
{
	json_t *o = json_object(), *fl = json_object();
	char name[SL_FEED_KEY_LEN + 8], *s;
	int e;

	if (!o || !fl) {
		json_decref(o);
		json_decref(fl);
		return -ENOMEM;
	}
	json_object_set_new(o, "set", json_string(st->set));
	json_object_set_new(o, "key", json_string(st->key));
	json_object_set_new(o, "url", json_string(st->url));
	json_object_set_new(o, "last_attempt", json_real(st->last_attempt));
	json_object_set_new(o, "last_success", json_real(st->last_success));
	json_object_set_new(o, "last_change", json_real(st->last_change));
	json_object_set_new(o, "entries", json_integer((json_int_t)st->entries));
	json_object_set_new(o, "added", json_integer((json_int_t)st->added));
	json_object_set_new(o, "removed", json_integer((json_int_t)st->removed));
	json_object_set_new(o, "etag", json_string(st->etag));
	json_object_set_new(o, "last_modified", json_string(st->last_modified));
	json_object_set_new(o, "token", json_string(st->token));
	json_object_set_new(o, "sha256", json_string(st->sha256));
	json_object_set_new(o, "last_reason", json_string(sl_feed_reason_name(st->last_reason)));
	json_object_set_new(o, "last_error", json_string(st->last_error));
	json_object_set_new(o, "last_error_at", json_real(st->last_error_at));
	json_object_set_new(o, "fetches", json_integer((json_int_t)st->fetches));
	json_object_set_new(o, "not_modified", json_integer((json_int_t)st->not_modified));
	json_object_set_new(o, "changes", json_integer((json_int_t)st->changes));
	for (int r = 1; r < SL_FR__N; r++)
		json_object_set_new(fl, sl_feed_reason_name(r), json_integer((json_int_t)st->failures[r]));
	json_object_set_new(o, "failures", fl);
	s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s.json", st->key);
	e = write_atomic(dir, name, s, strlen(s));
	free(s);
	return e;
}

static int cmp_state(const void *a, const void *b)
{
	const struct sl_feed_state *x = a, *y = b;
	int c = strcmp(x->set, y->set);

	return c ? c : strcmp(x->url, y->url);
}

int sl_feed_states(const char *dir, struct sl_feed_state **v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*v = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char key[SL_FEED_KEY_LEN];

		if (de->d_name[0] == '.' || l < 6 || l - 5 >= sizeof(key) ||
		    strcmp(de->d_name + l - 5, ".json"))
			continue;
		memcpy(key, de->d_name, l - 5);
		key[l - 5] = 0;
		if (*n == cap) {
			struct sl_feed_state *nv = realloc(*v, (cap = cap * 2 + 8) * sizeof(*nv));

			if (!nv)
				break;
			*v = nv;
		}
		if (sl_feed_state_load(dir, key, &(*v)[*n]) == 0)
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*v, *n, sizeof(**v), cmp_state);
	return 0;
}
