/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * files.c - reading rule, include and address-list files, and paths
 * relative to the file that names them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "front/files.h"

/*
 * Read a whole regular file of at most SL_FILE_MAX bytes.  0 or -errno:
 * -EINVAL for anything but a regular file (a device such as /dev/zero grows
 * without bound, a FIFO blocks forever or reads as empty), -EFBIG beyond the
 * cap; sl__file_strerror() says them.  Opened non-blocking, so a FIFO never
 * waits.
 */
static void stamp_of(const struct stat *s, struct sl_fstamp *st)
{
	st->dev = (unsigned long long)s->st_dev;
	st->ino = (unsigned long long)s->st_ino;
	st->size = (unsigned long long)s->st_size;
	st->mtime_ns = (long long)s->st_mtim.tv_sec * 1000000000LL + s->st_mtim.tv_nsec;
	st->ctime_ns = (long long)s->st_ctim.tv_sec * 1000000000LL + s->st_ctim.tv_nsec;
}

static bool stamp_eq(const struct sl_fstamp *a, const struct sl_fstamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int sl__read_file(const char *path, char **buf, size_t *len)
{
	return sl__read_file_stamped(path, buf, len, NULL);
}

int sl__read_file_stamped(const char *path, char **buf, size_t *len, struct sl_fstamp *stamp)
{
	struct sl_fstamp before, after;
	size_t cap, n = 0;
	char *b = NULL;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if ((unsigned long long)st.st_size > SL_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	stamp_of(&st, &before);
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {         /* it grew while we read */
			char *nb;

			if (cap > SL_FILE_MAX) {
				err = -EFBIG;
				break;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!err && fstat(fd, &st))
		err = -errno;
	close(fd);
	if (!err) {
		stamp_of(&st, &after);
		/* a truncate or a write during the read: a mix of two versions */
		if (!stamp_eq(&before, &after) || n != after.size)
			err = -EAGAIN;
	}
	if (err) {
		free(b);
		return err;
	}
	if (stamp)
		*stamp = after;
	*buf = b;
	*len = n;
	return 0;
}

int sl__file_unchanged(const char *path, const struct sl_fstamp *st)
{
	struct sl_fstamp now;
	struct timespec ts;
	struct stat s;
	long long age_ns;

	if (stat(path, &s))
		return 0;
	stamp_of(&s, &now);
	if (!stamp_eq(&now, st))
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	age_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - st->ctime_ns;
	if (age_ns >= (long long)SL_YOUNG_MS * 1000000LL)
		return 1;
	/* young: a writer may be between its truncate and its write */
	if (age_ns < 0)
		age_ns = 0;
	long long wait = (long long)SL_YOUNG_MS * 1000000LL - age_ns;
	struct timespec d = { wait / 1000000000LL, wait % 1000000000LL };

	while (nanosleep(&d, &d) && errno == EINTR)
		;
	if (stat(path, &s))
		return 0;
	stamp_of(&s, &now);
	return stamp_eq(&now, st);
}

int sl__read_rec(struct sl_freads *fr, const char *path, char **buf, size_t *len)
{
	struct sl_fstamp st;
	int err = sl__read_file_stamped(path, buf, len, &st);

	if (!fr)
		return err;
	if (!fr->t0.tv_sec && !fr->t0.tv_nsec)
		clock_gettime(CLOCK_MONOTONIC, &fr->t0);
	if (err == -EAGAIN)
		fr->torn = true;
	if (err)
		return err;
	if (fr->n == fr->cap) {
		size_t nc = fr->cap ? fr->cap * 2 : 8;
		struct sl_fread *v = realloc(fr->v, nc * sizeof(*v));

		if (!v)
			goto oom;
		fr->v = v;
		fr->cap = nc;
	}
	fr->v[fr->n].path = strdup(path);
	if (!fr->v[fr->n].path)
		goto oom;
	fr->v[fr->n++].st = st;
	return 0;
oom:
	free(*buf);
	*buf = NULL;
	return -ENOMEM;
}

int sl__freads_stable(const struct sl_freads *fr)
{
	struct timespec now;
	long long left;

	if (fr->torn)
		return 0;
	if (!fr->n)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (long long)SL_SETTLE_MS * 1000000LL -
	       ((now.tv_sec - fr->t0.tv_sec) * 1000000000LL + (now.tv_nsec - fr->t0.tv_nsec));
	if (left > 0) {
		struct timespec d = { 0, left };

		while (nanosleep(&d, &d) && errno == EINTR)
			;
	}
	for (size_t i = 0; i < fr->n; i++)
		if (!sl__file_unchanged(fr->v[i].path, &fr->v[i].st))
			return 0;
	return 1;
}

void sl__freads_free(struct sl_freads *fr)
{
	for (size_t i = 0; i < fr->n; i++)
		free(fr->v[i].path);
	free(fr->v);
	memset(fr, 0, sizeof(*fr));
}

const char *sl__file_strerror(int err)
{
	if (err == -EAGAIN)
		return "it changed while it was read (a writer is rewriting it); try again "
		       "when the writer is done";
	if (err == -EINVAL)
		return "not a regular file (a device, FIFO or socket); sluice reads rules and "
		       "addresses only from regular files";
	if (err == -EFBIG)
		return "larger than 256 MiB; sluice refuses files this big";
	return strerror(-err);
}

/*
 * @rel relative to the directory of @from (a display path), or as is when
 * absolute or when @from has no directory part (or @from is a buffer).
 */
char *sl__join_rel(const char *from, bool from_is_buffer, const char *rel)
{
	const char *slash = from ? strrchr(from, '/') : NULL;
	char *out;

	if (rel[0] == '/' || from_is_buffer || !slash)
		return strdup(rel);
	if (asprintf(&out, "%.*s/%s", (int)(slash - from), from, rel) < 0)
		return NULL;
	return out;
}
