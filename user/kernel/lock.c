// SPDX-License-Identifier: GPL-2.0-only
/*
 * lock.c - the instance lock: /run/sluice/<instance>.lock.  Exclusive for
 * apply, detach and recovery; shared for the readers while they open the
 * pins (docs/operations.md section 1).  The holder of the exclusive lock
 * that removed the instance removes the file too (slk_lock_unlink); a
 * waiter that then gets the lock on the removed file sees that the path
 * names another file (or none) and locks again, so no two processes ever
 * hold the lock of one instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/journal.h"

#define SL_LOCK_DIR "/run/sluice"

/* Whether @path still names the file open as @fd. */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int slk_lock_file(const char *inst, bool exclusive, int *out)
{
	char p[PATH_MAX];
	int fd;

	*out = -1;
	if (mkdir(SL_LOCK_DIR, 0700) && errno != EEXIST) {
		int e = -errno;
		slk_err("%s: cannot create the lock directory: %s", SL_LOCK_DIR, strerror(-e));
		return e;
	}
	snprintf(p, sizeof(p), SL_LOCK_DIR "/%s.lock", inst);
again:
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = -errno;
		slk_err("%s: cannot open the instance lock: %s", p, strerror(-e));
		return e;
	}
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH)) {
		int e = -errno;

		if (e == -EINTR)
			continue;
		slk_err("%s: cannot lock: %s", p, strerror(-e));
		close(fd);
		return e;
	}
	if (!same_file(fd, p)) {
		close(fd);      /* removed by the holder before us: lock the new one */
		goto again;
	}
	*out = fd;
	return 0;
}

void slk_lock_unlink(const char *inst)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), SL_LOCK_DIR "/%s.lock", inst);
	unlink(p);
}

void slk_lock_release(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
