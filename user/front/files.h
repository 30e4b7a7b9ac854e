/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * files.h - reading files (files.c).  Internal to user/front.
 */
#ifndef SL_FRONT_FILES_H
#define SL_FRONT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Read a whole regular file of at most SL_FILE_MAX bytes.  0 or -errno
 * (-EINVAL: not a regular file; -EFBIG: too big); never blocks on a FIFO. */
#define SL_FILE_MAX (256u << 20)
int sl__read_file(const char *path, char **buf, size_t *len);

/*
 * What identifies one version of a file: a writer that rewrites it in place
 * (`cat new > f`, truncate then write) changes size, mtime or ctime; one that
 * renames a new file over it changes the inode.
 */
struct sl_fstamp {
	unsigned long long dev, ino, size;
	long long mtime_ns, ctime_ns;
};
/*
 * sl__read_file() that also says which version it read: -EAGAIN when the
 * file changed while it was read (size, times or inode differ between the
 * open and the end of the read).
 */
int sl__read_file_stamped(const char *path, char **buf, size_t *len, struct sl_fstamp *st);
/*
 * Is @path still the version @st describes?  1 yes, 0 no (changed, replaced,
 * gone).  A version younger than SL_YOUNG_MS (by its ctime) may still be half written (a
 * truncate whose write has not come yet): then it waits until it is that old
 * and looks again.
 */
#define SL_YOUNG_MS 100
int sl__file_unchanged(const char *path, const struct sl_fstamp *st);

/*
 * Every file one parse of a ruleset read, with the version it read, so the
 * whole ruleset can be checked for a writer that came in between (a rules
 * file rewritten after its include was read is as torn as a file rewritten
 * during its own read).
 */
struct sl_freads {
	struct sl_fread { char *path; struct sl_fstamp st; } *v;
	size_t n, cap;
	bool torn;              /* a read saw its file change (-EAGAIN) */
	struct timespec t0;     /* the first read (CLOCK_MONOTONIC) */
};
/*
 * The files are looked at again no sooner than SL_SETTLE_MS after the first
 * read: a file's ctime does not always move when it is truncated (seen on
 * 6.x with coarse timestamps), so a young ctime cannot be the only sign of a
 * writer between its truncate and its write.
 */
#define SL_SETTLE_MS 25
/* sl__read_file() that records what it read in @fr (if not NULL). */
int sl__read_rec(struct sl_freads *fr, const char *path, char **buf, size_t *len);
/* 1 when no file of @fr changed since it was read (sl__file_unchanged). */
int sl__freads_stable(const struct sl_freads *fr);
void sl__freads_free(struct sl_freads *fr);
/* sl__read_file()'s errors in words. */
const char *sl__file_strerror(int err);
/*
 * @rel relative to the directory of @from (a display path), or as is when
 * absolute or when @from has no directory part (or @from is a buffer).
 * malloc'd, NULL when out of memory.
 */
char *sl__join_rel(const char *from, bool from_is_buffer, const char *rel);

#endif
