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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kernel/journal.h"

#define SL_LOCK_DIR "/run/sluice"

/* Whether @path still names the file open as @fd. */
bool slk_same_file(int fd, const char *path)
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
	if (!slk_same_file(fd, p)) {
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
	/* an events reader of the instance that was killed left its lock */
	snprintf(p, sizeof(p), SL_LOCK_DIR "/%s.events.lock", inst);
	slk_lock_path_sweep(p);
}

/*
 * Remove the lock file @path if no process holds it: locked without
 * waiting, removed while locked.  A process that opened it before sees,
 * once it has the lock, that the path names another file or none
 * (slk_same_file) and locks again, as with the instance lock.  @gone: only
 * while that instance has no directory; @dry: only say whether it could go.
 * 1: removed (or could be); 0: held, or not there; -errno.
 */
static int sweep_lock(const char *path, const char *gone, bool dry)
{
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), e = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB))
		e = errno == EWOULDBLOCK ? 0 : -errno;
	else if (slk_same_file(fd, path) && !(gone && slk_instance_dir_exists(gone)))
		e = dry ? 1 : unlink(path) ? -errno : 1;
	close(fd);
	return e;
}

int slk_lock_path_sweep(const char *path)
{
	return sweep_lock(path, NULL, false);
}

/* Whether a `sluice run` listens on the socket @path. */
static bool sock_alive(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return true;            /* cannot tell: keep it */
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	alive = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return alive;
}

/*
 * What processes left in /run/sluice that nothing will use again: the
 * instance lock of an instance that is gone (a CNI call or an apply killed
 * between its lock and its pins), an events lock no reader holds (a `sluice
 * log` killed), the confirm log and the dead socket of an instance that is
 * gone.  Files of a live instance other than unheld events locks stay.
 * @cb (may be NULL) is told each file removed (or, @dry, that would be).
 * The number of files, or -errno.
 */
int sl_run_dir_sweep(bool dry, void (*cb)(const char *path, void *arg), void *arg)
{
	static const char *const sfx[] = { ".events.lock", ".lock", ".confirm.log", ".sock" };
	DIR *d = opendir(SL_LOCK_DIR);
	struct dirent *de;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char inst[SL_INST_LEN + 1], p[PATH_MAX];
		size_t len = strlen(de->d_name), k;
		int r = 0;

		for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++)
			if (len > strlen(sfx[k]) && !strcmp(de->d_name + len - strlen(sfx[k]), sfx[k]))
				break;
		if (k == sizeof(sfx) / sizeof(sfx[0]) || len - strlen(sfx[k]) > SL_INST_LEN)
			continue;
		snprintf(inst, sizeof(inst), "%.*s", (int)(len - strlen(sfx[k])), de->d_name);
		if (!slk_valid_instance(inst))
			continue;
		snprintf(p, sizeof(p), SL_LOCK_DIR "/%s", de->d_name);
		if (k == 0)                             /* an events lock: held or not */
			r = sweep_lock(p, NULL, dry);
		else if (slk_instance_dir_exists(inst))
			continue;
		else if (k == 1)                        /* an instance lock: taken, then removed */
			r = sweep_lock(p, inst, dry);
		else if (k == 2 || !sock_alive(p))
			r = dry || unlink(p) == 0;
		if (r > 0) {
			n++;
			if (cb)
				cb(p, arg);
		}
	}
	closedir(d);
	return n;
}

void slk_lock_release(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
