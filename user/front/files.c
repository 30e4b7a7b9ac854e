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

/* Read a whole file.  0 or -errno. */
int sl__read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = NULL;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(b, cap * 2);

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
