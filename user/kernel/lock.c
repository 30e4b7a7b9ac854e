// SPDX-License-Identifier: GPL-2.0-only
/*
 * lock.c - the instance lock: /run/sluice/<instance>.lock, a file that is
 * never removed, so that a waiter can never hold a lock on something that
 * a detach deleted (docs/operations.md section 1).  Exclusive for apply,
 * detach and recovery; shared for the readers while they open the pins.
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
	*out = fd;
	return 0;
}

void slk_lock_release(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
