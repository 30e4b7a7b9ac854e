// SPDX-License-Identifier: GPL-2.0-only
/*
 * evserve.c - `sluice run` as its instance's event reader (evserve.h):
 * ring buffer -> backlog, socket clients, log file, syslog.
 *
 * Socket protocol (SOCK_SEQPACKET, one struct sl_ev per message): the
 * client sends one byte, 'B' (the backlog, then the server closes) or 'F'
 * (the backlog, then every new event until either side closes).  A client
 * whose socket buffer is full is cut off (logged): the stream it gets is
 * either complete or visibly ended, never silently gappy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/evserve.h"
#include "daemon/run.h"
#include "kernel/kernel.h"
#include "util/evfmt.h"

struct client {
	int fd;                 /* -1: free */
	bool follow;            /* asked for 'F' */
	bool started;           /* got its request byte */
};

struct sl_evd {
	char inst[SL_INST_LEN + 1];
	int ep;
	struct sl_ev_reader *rd;
	int rd_fd;              /* the reader's epoll fd in our epoll set */
	int lfd;                /* listening socket */
	char sock[108];
	FILE *log;
	struct sl_ev *ring;     /* SL_EVD_BACKLOG */
	size_t head, count;
	struct client cl[SL_EVD_CLIENTS];
	bool lock_warned;
	const char *log_file;   /* --log-file, or NULL */
	bool syslog;            /* --syslog */
};

static void client_close(struct sl_evd *d, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static bool client_send(struct sl_evd *d, struct client *c, const struct sl_ev *e, bool wait)
{
	if (send(c->fd, e, sizeof(*e), (wait ? 0 : MSG_DONTWAIT) | MSG_NOSIGNAL) == (ssize_t)sizeof(*e))
		return true;
	sl_run_log("events: a sluice log client fell behind (%s); cut off so that it sees the end of its "
	     "stream instead of a gap", errno == EAGAIN ? "its socket buffer is full" : strerror(errno));
	client_close(d, c);
	return false;
}

static void on_ev(void *arg, const struct sl_ev *e)
{
	struct sl_evd *d = arg;

	d->ring[(d->head + d->count) % SL_EVD_BACKLOG] = *e;
	if (d->count < SL_EVD_BACKLOG)
		d->count++;
	else
		d->head = (d->head + 1) % SL_EVD_BACKLOG;
	for (int i = 0; i < SL_EVD_CLIENTS; i++)
		if (d->cl[i].fd >= 0 && d->cl[i].started && d->cl[i].follow)
			client_send(d, &d->cl[i], e, false);
	if (d->log)
		sl_ev_json(e, d->log);
	if (d->syslog) {
		char *line = NULL;
		size_t n = 0;
		FILE *m = open_memstream(&line, &n);

		if (m) {
			sl_ev_text(e, m);
			fclose(m);
			if (n && line[n - 1] == '\n')
				line[n - 1] = 0;
			/* the time is syslog's own: skip ours (up to the first space) */
			syslog(e->verdict == SL_EV_PASS ? LOG_INFO : LOG_NOTICE, "%s %s",
			       e->instance, strchr(line, ' ') ? strchr(line, ' ') + 1 : line);
		}
		free(line);
	}
}

static int add_fd(struct sl_evd *d, int fd, uint64_t sub)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SL_EVD_TAG | sub };

	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Tags: SL_EVD_TAG | 0 the ring buffer, | 1 the listening socket, | 2 + i client i. */
static void reader_try(struct sl_evd *d)
{
	int e;

	if (d->rd)
		return;
	if (sl_ev_reader_open(d->inst, on_ev, d, &d->rd)) {
		if (!d->lock_warned)
			sl_run_log("events: not the reader of instance %s's events yet (see the message above); "
			     "retrying every second", d->inst);
		d->lock_warned = true;
		return;
	}
	if (d->lock_warned)
		sl_run_log("events: now the reader of instance %s's events", d->inst);
	d->lock_warned = false;
	d->rd_fd = sl_ev_reader_epoll_fd(d->rd);
	if (d->rd_fd >= 0 && (e = add_fd(d, d->rd_fd, 0)))
		sl_run_log("events: epoll: %s", strerror(-e));
	sl_ev_reader_consume(d->rd);
}

/*
 * The event log holds destinations: created 0600 (as the events socket), and
 * a file that others can read is named, not silently kept so.
 */
static int open_log(struct sl_evd *d)
{
	struct stat st;
	FILE *f;
	int fd;

	if (!d->log_file)
		return 0;
	fd = open(d->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			sl_run_log("--log-file %s: its directory does not exist: create it (mkdir -p -m 0750 "
				   "DIR; the shipped unit's LogsDirectory= makes /var/log/sluice)", d->log_file);
		else
			sl_run_log("--log-file %s: cannot open for appending: %s", d->log_file, strerror(e));
		return -e;
	}
	if (!fstat(fd, &st) && (st.st_mode & 0077))
		sl_run_log("--log-file %s: warning: other users can read it (mode %04o): the events name "
			   "destinations; chmod 600 %s", d->log_file, (unsigned)(st.st_mode & 07777), d->log_file);
	f = fdopen(fd, "a");
	if (!f) {
		int e = errno;

		close(fd);
		sl_run_log("--log-file %s: %s", d->log_file, strerror(e));
		return -e;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (d->log)
		fclose(d->log);
	d->log = f;
	return 0;
}

/*
 * syslog(3) drops every line without a word when nothing listens on its
 * socket (no journald, no syslog daemon, a container): say so once, loudly.
 */
static void syslog_probe(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, ok = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", _PATH_LOG);
	for (int type = SOCK_DGRAM; !ok && type; type = type == SOCK_DGRAM ? SOCK_STREAM : 0) {
		fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
			close(fd);
		}
	}
	if (!ok)
		sl_run_log("--syslog: nothing listens on %s (no journald or syslog daemon here): events "
			   "will NOT reach syslog; use --log-file FILE, or run sluice under systemd",
			   _PATH_LOG);
}

static int listen_sock(struct sl_evd *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, e;

	if (mkdir(SL_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	sl_ev_sock_path(d->inst, a.sun_path, sizeof(a.sun_path));
	snprintf(d->sock, sizeof(d->sock), "%s", a.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(a.sun_path);     /* we hold the reader lock: a socket file left there is stale */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || chmod(a.sun_path, 0600) || listen(fd, 8) ||
	    (e = add_fd(d, fd, 1)) < 0) {
		e = -errno;
		close(fd);
		unlink(a.sun_path);
		d->sock[0] = 0;
		return e;
	}
	d->lfd = fd;
	return 0;
}

int sl_evd_open(const char *inst, int ep, const struct sl_run_opts *ro, struct sl_evd **out)
{
	struct sl_evd *d = calloc(1, sizeof(*d));
	int e;

	*out = NULL;
	if (!d || !(d->ring = calloc(SL_EVD_BACKLOG, sizeof(*d->ring)))) {
		free(d);
		return -ENOMEM;
	}
	snprintf(d->inst, sizeof(d->inst), "%s", inst);
	d->ep = ep;
	d->lfd = d->rd_fd = -1;
	d->log_file = ro ? ro->log_file : NULL;
	d->syslog = ro && ro->syslog;
	for (int i = 0; i < SL_EVD_CLIENTS; i++)
		d->cl[i].fd = -1;
	if ((e = open_log(d))) {
		sl_evd_close(d);
		return e;
	}
	if (d->syslog) {
		openlog("sluice", LOG_PID, LOG_DAEMON);
		syslog_probe();
	}
	reader_try(d);
	if (d->rd && (e = listen_sock(d)))
		sl_run_log("events: %s/%s.sock: cannot listen: %s; sluice log cannot attach to this run",
		     SL_RUN_DIR, inst, strerror(-e));
	else if (d->rd)
		sl_run_log("events: reading instance %s's events; sluice log attaches at %s%s%s", inst, d->sock,
		     d->log_file ? ", appending JSON lines to " : "", d->log_file ? d->log_file : "");
	*out = d;
	return 0;
}

static void on_accept(struct sl_evd *d)
{
	for (;;) {
		int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC), i, sz = 4 << 20;
		struct timeval tmo = { .tv_sec = 2 };   /* the backlog: blocking sends, 2 s at most each */

		if (fd < 0)
			return;
		for (i = 0; i < SL_EVD_CLIENTS && d->cl[i].fd >= 0; i++)
			;
		if (i == SL_EVD_CLIENTS || add_fd(d, fd, 2 + (uint64_t)i)) {
			sl_run_log("events: more than %d sluice log clients; refused one", SL_EVD_CLIENTS);
			close(fd);
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		d->cl[i] = (struct client){ .fd = fd };
	}
}

static void on_client(struct sl_evd *d, struct client *c)
{
	char b;
	ssize_t k = recv(c->fd, &b, 1, MSG_DONTWAIT);

	if (k <= 0 || c->started || (b != 'B' && b != 'F')) {
		if (k < 0 && errno == EAGAIN)
			return;
		client_close(d, c);     /* it closed, or said something we do not know */
		return;
	}
	c->started = true;
	c->follow = b == 'F';
	for (size_t i = 0; i < d->count; i++)
		if (!client_send(d, c, &d->ring[(d->head + i) % SL_EVD_BACKLOG], true))
			return;
	if (!c->follow)
		client_close(d, c);
}

void sl_evd_on(struct sl_evd *d, uint64_t tag)
{
	uint64_t sub = tag & ~SL_EVD_TAG;

	if (!d)
		return;
	if (sub == 0 && d->rd)
		sl_ev_reader_consume(d->rd);
	else if (sub == 1 && d->lfd >= 0)
		on_accept(d);
	else if (sub >= 2 && sub - 2 < SL_EVD_CLIENTS && d->cl[sub - 2].fd >= 0)
		on_client(d, &d->cl[sub - 2]);
}

void sl_evd_tick(struct sl_evd *d)
{
	int e;

	if (!d)
		return;
	if (!d->rd) {
		reader_try(d);
		if (d->rd && d->lfd < 0 && (e = listen_sock(d)))
			sl_run_log("events: %s/%s.sock: cannot listen: %s", SL_RUN_DIR, d->inst, strerror(-e));
		return;
	}
	e = sl_ev_reader_check(d->rd);
	if (e == 1) {           /* a new ring buffer (detach --all, then apply) */
		if (d->rd_fd >= 0)
			epoll_ctl(d->ep, EPOLL_CTL_DEL, d->rd_fd, NULL);
		d->rd_fd = sl_ev_reader_epoll_fd(d->rd);
		if (d->rd_fd >= 0 && (e = add_fd(d, d->rd_fd, 0)))
			sl_run_log("events: epoll: %s", strerror(-e));
	}
	sl_ev_reader_consume(d->rd);
}

void sl_evd_reopen(struct sl_evd *d)
{
	if (d && d->log_file && open_log(d) == 0)
		sl_run_log("events: reopened %s", d->log_file);
}

void sl_evd_close(struct sl_evd *d)
{
	if (!d)
		return;
	if (d->rd)
		sl_ev_reader_consume(d->rd);
	for (int i = 0; i < SL_EVD_CLIENTS; i++)
		client_close(d, &d->cl[i]);
	if (d->lfd >= 0) {
		close(d->lfd);
		if (d->sock[0])
			unlink(d->sock);
	}
	sl_ev_reader_close(d->rd);
	if (d->log)
		fclose(d->log);
	if (d->syslog)
		closelog();
	free(d->ring);
	free(d);
}
