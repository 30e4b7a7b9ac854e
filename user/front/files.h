/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * files.h - reading files (files.c).  Internal to user/front.
 */
#ifndef SL_FRONT_FILES_H
#define SL_FRONT_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Read a whole regular file of at most SL_FILE_MAX bytes.  0 or -errno
 * (-EINVAL: not a regular file; -EFBIG: too big); never blocks on a FIFO. */
#define SL_FILE_MAX (256u << 20)
int sl__read_file(const char *path, char **buf, size_t *len);
/* sl__read_file()'s errors in words. */
const char *sl__file_strerror(int err);
/*
 * @rel relative to the directory of @from (a display path), or as is when
 * absolute or when @from has no directory part (or @from is a buffer).
 * malloc'd, NULL when out of memory.
 */
char *sl__join_rel(const char *from, bool from_is_buffer, const char *rel);

#endif
