// SPDX-License-Identifier: GPL-2.0-only
/*
 * connguard.c - the metrics endpoint's connections, oldest first (connguard.h).
 *
 * libmicrohttpd bounds connections (and idle time), but a bound alone is a
 * denial of service: 1,000 idle connections, or 300 that send one header
 * byte every few seconds, fill every slot, and each scrape is refused for as
 * long as they stay.  So the endpoint admits more connections than it lets
 * wait: every connection that has no request in is on a list, oldest first;
 * a new connection beyond SL_CG_WAITING closes the oldest waiting one that
 * has nothing unread (a request that came but is not read yet stays), and a
 * sweep closes those that waited longer than SL_CG_REQUEST_MS.  A scraper
 * connects and sends its request in the same breath: it is the newest, its
 * request is in before anyone can push it out, and it is served.
 *
 * Closing is shutdown(2) of the socket from outside MHD's thread: MHD sees
 * the end of the stream and closes the connection itself.  One mutex covers
 * the list and the sockets on it: MHD calls sl_cg_closed (under the mutex)
 * before it closes a socket, so a shutdown never reaches a reused number.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/connguard.h"

struct sl_cg_conn {
	struct sl_cg_conn *prev, *next;         /* on the waiting list, oldest first */
	int fd;
	bool waiting;
	uint64_t since_ms;                      /* accepted, or idle since */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct sl_cg_conn *head, *tail;
static size_t nwaiting;
static struct sl_cg_stats st;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void unlink_waiting(struct sl_cg_conn *k)
{
	if (!k->waiting)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		tail = k->prev;
	k->prev = k->next = NULL;
	k->waiting = false;
	nwaiting--;
}

static void link_waiting(struct sl_cg_conn *k)
{
	k->since_ms = now_ms();
	k->prev = tail;
	k->next = NULL;
	if (tail)
		tail->next = k;
	else
		head = k;
	tail = k;
	k->waiting = true;
	nwaiting++;
}

/* Close @k (under mu): it leaves the list now, its socket when MHD sees it. */
static void push_out(struct sl_cg_conn *k)
{
	unlink_waiting(k);
	shutdown(k->fd, SHUT_RDWR);
}

/*
 * The longest-waiting connection with nothing unread on its socket: one
 * whose request has arrived but not yet been read by a busy MHD thread (a
 * scraper, under a storm of connects) is not pushed out.  The scan is
 * bounded; NULL if none of the first SL_CG_SCAN qualifies.
 */
#define SL_CG_SCAN 64
static struct sl_cg_conn *oldest_silent(void)
{
	struct sl_cg_conn *k = head;

	for (int i = 0; k && i < SL_CG_SCAN; i++, k = k->next) {
		int unread = 0;

		if (ioctl(k->fd, FIONREAD, &unread) || unread == 0)
			return k;
	}
	return NULL;
}

struct sl_cg_conn *sl_cg_started(int fd)
{
	struct sl_cg_conn *k = calloc(1, sizeof(*k));

	if (!k) {
		shutdown(fd, SHUT_RDWR);
		return NULL;
	}
	k->fd = fd;
	pthread_mutex_lock(&mu);
	st.open++;
	while (nwaiting >= SL_CG_WAITING) {
		struct sl_cg_conn *v = oldest_silent();

		if (!v)
			break;
		push_out(v);
		st.closed_full++;
	}
	link_waiting(k);
	pthread_mutex_unlock(&mu);
	return k;
}

void sl_cg_busy(struct sl_cg_conn *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&mu);
	unlink_waiting(k);
	pthread_mutex_unlock(&mu);
}

void sl_cg_done(struct sl_cg_conn *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&mu);
	if (!k->waiting)
		link_waiting(k);
	pthread_mutex_unlock(&mu);
}

void sl_cg_closed(struct sl_cg_conn *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&mu);
	unlink_waiting(k);
	st.open--;
	pthread_mutex_unlock(&mu);
	free(k);
}

void sl_cg_sweep(void)
{
	uint64_t now = now_ms();

	pthread_mutex_lock(&mu);
	while (head && now - head->since_ms >= SL_CG_REQUEST_MS) {
		push_out(head);
		st.closed_slow++;
	}
	pthread_mutex_unlock(&mu);
}

void sl_cg_stats(struct sl_cg_stats *s)
{
	pthread_mutex_lock(&mu);
	*s = st;
	pthread_mutex_unlock(&mu);
}
