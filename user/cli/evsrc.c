// SPDX-License-Identifier: GPL-2.0-only
/*
 * evsrc.c - events for `sluice log` and `sluice top` (evsrc.h): from the
 * socket of `sluice run` if it listens for the instance, else from the
 * ring buffer (then this process is its one reader: kernel/events.c).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/evsrc.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/*
 * Events are never lost silently: the data path counts the records it could
 * not write (the ring buffer was full: no reader, or one too slow), and a
 * reader says so on stderr as the count grows (at most once a second), and,
 * when it prints what was buffered, how many were lost before it came.
 */
struct loss {
	const char *inst;
	uint64_t lost, at_ms;
	bool known;
};

static void loss_start(struct loss *l, const char *inst)
{
	uint64_t v[SL_EC_MAX];

	l->inst = inst;
	l->at_ms = now_ms();
	l->known = sl_events_counters(inst, v) == 0;
	l->lost = l->known ? v[SL_EC_LOST] : 0;
	if (l->lost)
		fprintf(stderr, "sluice: instance %s: %llu events were lost before this reader came (the ring "
			"buffer was full: nothing read it, or its reader fell behind); `sluice stats` counts "
			"them\n", inst, (unsigned long long)l->lost);
}

static void loss_check(struct loss *l, bool now)
{
	uint64_t v[SL_EC_MAX];

	if (!l->known || (!now && now_ms() - l->at_ms < 1000))
		return;
	l->at_ms = now_ms();
	if (sl_events_counters(l->inst, v) || v[SL_EC_LOST] <= l->lost)
		return;
	fprintf(stderr, "sluice: instance %s: %llu events lost (the ring buffer was full: this reader, or "
		"sluice run's, fell behind); these drops happened but are not shown\n", l->inst,
		(unsigned long long)(v[SL_EC_LOST] - l->lost));
	l->lost = v[SL_EC_LOST];
}

/* The socket of `sluice run`, or -1 if nobody listens there. */
static int run_socket(const char *inst)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	sl_ev_sock_path(inst, a.sun_path, sizeof(a.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Time left (ms, -1: forever) for poll; 0 when the window is over. */
static int wait_ms(const struct sl_evsrc_opts *o, uint64_t end)
{
	uint64_t now = now_ms();

	if (o->follow)
		return 1000;
	if (now >= end)
		return 0;
	return end - now > 1000 ? 1000 : (int)(end - now);
}

static int from_socket(const struct sl_evsrc_opts *o, int fd, sl_ev_cb cb, void *arg,
		       struct loss *l)
{
	char mode = o->follow || o->window_s ? 'F' : 'B';
	uint64_t end = now_ms() + (uint64_t)o->window_s * 1000;
	struct sl_ev ev;

	if (send(fd, &mode, 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "sluice: instance %s: sluice run's socket: %s\n", o->inst, strerror(errno));
		return 1;
	}
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int t = mode == 'B' ? 5000 : wait_ms(o, end), n;
		ssize_t k;

		if (mode == 'F' && t == 0)
			break;
		n = poll(&p, 1, t);
		loss_check(l, false);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			if (mode == 'B') {
				fprintf(stderr, "sluice: instance %s: sluice run did not answer in 5 s\n", o->inst);
				return 1;
			}
			continue;
		}
		k = recv(fd, &ev, sizeof(ev), 0);
		if (k == 0) {
			if (o->follow)
				fprintf(stderr, "sluice: instance %s: sluice run closed the stream (it stopped, or "
					"this reader fell behind and was cut off: see its log)\n", o->inst);
			return o->follow ? 1 : 0;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sluice: instance %s: sluice run's socket: %s\n", o->inst, strerror(errno));
			return 1;
		}
		if ((size_t)k != sizeof(ev) || ev.magic != SL_EV_MAGIC || ev.size != sizeof(ev)) {
			fprintf(stderr, "sluice: instance %s: sluice run sends records of another version "
				"(%zd bytes): run the same sluice binary for both\n", o->inst, k);
			return 1;
		}
		cb(arg, &ev);
	}
	return 0;
}

static int from_ring(const struct sl_evsrc_opts *o, sl_ev_cb cb, void *arg, struct loss *l)
{
	uint64_t end = now_ms() + (uint64_t)o->window_s * 1000, checked = now_ms();
	struct sl_ev_reader *r;
	int ep, e, rc = 0;

	if (sl_ev_reader_open(o->inst, cb, arg, &r))
		return 1;
	if (sl_ev_reader_consume(r) < 0 || (!o->follow && !o->window_s)) {
		sl_ev_reader_close(r);
		return 0;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ee = { .events = EPOLLIN };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sl_ev_reader_epoll_fd(r), &ee)) {
		fprintf(stderr, "sluice: epoll: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	while (!stop) {
		int t = wait_ms(o, end);
		struct epoll_event evs[1];

		if (t == 0)
			break;
		if (epoll_wait(ep, evs, 1, t) < 0 && errno != EINTR)
			break;
		sl_ev_reader_consume(r);
		loss_check(l, false);
		if (now_ms() - checked >= 1000) {
			checked = now_ms();
			e = sl_ev_reader_check(r);      /* detached and applied again: a new ring buffer */
			if (e == 1 && sl_ev_reader_epoll_fd(r) >= 0) {
				close(ep);
				ep = epoll_create1(EPOLL_CLOEXEC);
				if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sl_ev_reader_epoll_fd(r), &ee))
					break;
			}
		}
	}
	sl_ev_reader_consume(r);
out:
	if (ep >= 0)
		close(ep);
	sl_ev_reader_close(r);
	return rc;
}

int sl_evsrc_run(const struct sl_evsrc_opts *o, sl_ev_cb cb, void *arg)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct loss l;
	int fd, rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	loss_start(&l, o->inst);
	fd = run_socket(o->inst);
	if (fd >= 0) {
		rc = from_socket(o, fd, cb, arg, &l);
		close(fd);
	} else {
		rc = from_ring(o, cb, arg, &l);
	}
	loss_check(&l, true);
	return rc;
}
