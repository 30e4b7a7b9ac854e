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
#include <unistd.h>

#include "front/files.h"

/*
 * Read a whole regular file of at most SL_FILE_MAX bytes.  0 or -errno:
 * -EINVAL for anything but a regular file (a device such as /dev/zero grows
 * without bound, a FIFO blocks forever or reads as empty), -EFBIG beyond the
 * cap; sl__file_strerror() says them.  Opened non-blocking, so a FIFO never
 * waits.
 */
int sl__read_file(const char *path, char **buf, size_t *len)
{
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
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

const char *sl__file_strerror(int err)
{
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
