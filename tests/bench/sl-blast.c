// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-blast - multi-flow UDP load for `make bench` (scripts/bench), in the
 * benchmark's own network namespaces, to documentation-range addresses.
 *
 *   sl-blast flood DST NDST PORT NPORTS SECONDS [NSOCK] [SIZE]
 *       sendmmsg() batches of 64 datagrams for SECONDS, round robin over
 *       NDST consecutive IPv4 destinations from DST times NPORTS ports
 *       from PORT, from NSOCK sockets (NSOCK source ports): NDST*NPORTS*NSOCK
 *       flows.  Prints "sent N".  SL_RATE=PPS in the environment: at most
 *       PPS datagrams a second (a fixed offered rate).  Also prints
 *       "cpu_ns N": this process's CPU time, which on a kernel without
 *       IRQ time accounting includes the softirq work done in its context
 *       (on veth: the whole path to the server's socket layer).
 *   sl-blast floodf FILE SECONDS [NSOCK]
 *       the same over the "ADDR PORT" IPv4 destinations of FILE (one a line,
 *       in the file's order).
 *   sl-blast flood6 FILE PORT NPORTS SECONDS
 *       the same over the IPv6 addresses listed in FILE (one a line).
 *   sl-blast pace DST PORT COUNT GAP_US
 *       COUNT datagrams carrying a sequence number, one every GAP_US.
 *   sl-blast recv ADDR PORT IDLE_MS [READY_FILE]
 *       count datagrams until IDLE_MS of silence; prints
 *       "received N unique N max_gap_us G" (G: longest silence between two
 *       datagrams: a stall of the path shows here).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void addr4(const char *a, struct in_addr *out)
{
	if (inet_pton(AF_INET, a, out) != 1) {
		fprintf(stderr, "sl-blast: bad IPv4 address %s\n", a);
		exit(2);
	}
}

/* Sleep until @at seconds after @t0 (a fixed offered rate: SL_RATE pps). */
static void pace_to(double t0, double at)
{
	double d = t0 + at - now_s();

	if (d > 0) {
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static int flood(char **argv, int argc)
{
	struct in_addr base;
	int ndst = atoi(argv[3]), port = atoi(argv[4]), nports = atoi(argv[5]);
	double secs = atof(argv[6]);
	int nsock = argc > 7 ? atoi(argv[7]) : 8, size = argc > 8 ? atoi(argv[8]) : 64;
	static struct sockaddr_in to[BATCH];
	static struct mmsghdr m[BATCH];
	static struct iovec iov[BATCH];
	static char payload[2048];
	int fds[64];
	long sent = 0;
	unsigned long k = 0;
	double end, t0, rate = getenv("SL_RATE") ? atof(getenv("SL_RATE")) : 0;

	addr4(argv[2], &base);
	if (nsock < 1 || nsock > 64)
		nsock = 8;
	if (size < 8 || size > (int)sizeof(payload))
		size = 64;
	if (ndst < 1 || nports < 1)
		return 2;
	for (int s = 0; s < nsock; s++) {
		fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[s] < 0) {
			perror("sl-blast: socket");
			return 1;
		}
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = size;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to[i];
		m[i].msg_hdr.msg_namelen = sizeof(to[i]);
		to[i].sin_family = AF_INET;
	}
	t0 = now_s();
	end = t0 + secs;
	for (int it = 0;; it++) {
		int fd = fds[it % nsock], r;

		if (rate > 0)
			pace_to(t0, (double)sent / rate);
		if (!(it & 15) && now_s() >= end)
			break;
		for (int i = 0; i < BATCH; i++, k++) {
			unsigned long d = k % ndst, p = (k / ndst) % nports;

			to[i].sin_addr.s_addr = htonl(ntohl(base.s_addr) + d);
			to[i].sin_port = htons(port + p);
		}
		r = sendmmsg(fd, m, BATCH, 0);
		if (r > 0)
			sent += r;
	}
	printf("sent %ld cpu_ns %lld\n", sent, cpu_ns());
	return 0;
}

/* IPv4 over the "ADDR PORT" lines of FILE, in order, from NSOCK sockets. */
static int floodf(char **argv, int argc)
{
	static struct sockaddr_in to[BATCH];
	static struct mmsghdr m[BATCH];
	static struct iovec iov[BATCH];
	static char payload[64];
	struct sockaddr_in *dst = NULL;
	char line[128], a[64];
	int n = 0, cap = 0, port, fds[64], nsock = argc > 4 ? atoi(argv[4]) : 8;
	double secs = atof(argv[3]), end;
	unsigned long k = 0;
	long sent = 0;
	FILE *f = fopen(argv[2], "r");

	if (!f) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %d", a, &port) != 2)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			dst = realloc(dst, cap * sizeof(*dst));
			if (!dst)
				return 1;
		}
		memset(&dst[n], 0, sizeof(dst[n]));
		dst[n].sin_family = AF_INET;
		dst[n].sin_port = htons(port);
		addr4(a, &dst[n].sin_addr);
		n++;
	}
	fclose(f);
	if (nsock < 1 || nsock > 64)
		nsock = 8;
	if (!n) {
		fprintf(stderr, "sl-blast: no destination in %s\n", argv[2]);
		return 1;
	}
	for (int s = 0; s < nsock; s++)
		if ((fds[s] = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
			perror("sl-blast: socket");
			return 1;
		}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = sizeof(payload);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to[i];
		m[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}
	end = now_s() + secs;
	for (int it = 0;; it++) {
		int r;

		if (!(it & 15) && now_s() >= end)
			break;
		for (int i = 0; i < BATCH; i++, k++)
			to[i] = dst[k % n];
		r = sendmmsg(fds[it % nsock], m, BATCH, 0);
		if (r > 0)
			sent += r;
	}
	free(dst);
	printf("sent %ld cpu_ns %lld\n", sent, cpu_ns());
	return 0;
}

/* IPv6: round robin over the addresses of FILE (one a line) x NPORTS ports. */
static int flood6(char **argv, int argc)
{
	int port = atoi(argv[3]), nports = atoi(argv[4]), n = 0, cap = 0, fd;
	double secs = atof(argv[5]), t0, end, rate = getenv("SL_RATE") ? atof(getenv("SL_RATE")) : 0;
	static struct sockaddr_in6 to[BATCH];
	static struct mmsghdr m[BATCH];
	static struct iovec iov[BATCH];
	static char payload[64];
	struct in6_addr *dst = NULL;
	char line[128];
	unsigned long k = 0;
	long sent = 0;
	FILE *f = fopen(argv[2], "r");

	(void)argc;
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			dst = realloc(dst, cap * sizeof(*dst));
			if (!dst)
				return 1;
		}
		if (inet_pton(AF_INET6, line, &dst[n]) == 1)
			n++;
	}
	fclose(f);
	if (!n || nports < 1 || (fd = socket(AF_INET6, SOCK_DGRAM, 0)) < 0) {
		fprintf(stderr, "sl-blast: no address in %s or no socket\n", argv[2]);
		return 1;
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = sizeof(payload);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to[i];
		m[i].msg_hdr.msg_namelen = sizeof(to[i]);
		to[i].sin6_family = AF_INET6;
	}
	t0 = now_s();
	end = t0 + secs;
	for (int it = 0;; it++) {
		int r;

		if (rate > 0)
			pace_to(t0, (double)sent / rate);
		if (!(it & 15) && now_s() >= end)
			break;
		for (int i = 0; i < BATCH; i++, k++) {
			to[i].sin6_addr = dst[k % n];
			to[i].sin6_port = htons(port + (k / n) % nports);
		}
		r = sendmmsg(fd, m, BATCH, 0);
		if (r > 0)
			sent += r;
	}
	free(dst);
	printf("sent %ld cpu_ns %lld\n", sent, cpu_ns());
	return 0;
}

static int pace(char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
	long n = atol(argv[4]), gap = atol(argv[5]), sent = 0;
	char buf[64] = {0};
	double t0 = now_s();
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	addr4(argv[2], &to.sin_addr);
	for (long i = 0; i < n; i++) {
		uint64_t seq = i;

		/* absolute schedule: a late wakeup does not stretch the run */
		while (now_s() < t0 + i * gap / 1e6)
			;
		memcpy(buf, &seq, sizeof(seq));
		if (sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(buf))
			sent++;
	}
	printf("sent %ld\n", sent);
	return sent == n ? 0 : 1;
}

static int recv_mode(char **argv, int argc)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
	int idle = atoi(argv[4]), one = 1, rcvbuf = 16 << 20;
	unsigned char *seen = calloc(1 << 24, 1);
	long got = 0, uniq = 0;
	double last = 0, max_gap = 0;
	char buf[2048];
	struct pollfd p;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	addr4(argv[2], &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("sl-blast: bind");
		return 1;
	}
	if (argc > 5) {
		FILE *f = fopen(argv[5], "w");
		if (f)
			fclose(f);
	}
	p.fd = fd;
	p.events = POLLIN;
	for (;;) {
		int r = poll(&p, 1, got ? idle : 30000);
		ssize_t k;

		if (r <= 0)
			break;
		k = recv(fd, buf, sizeof(buf), 0);
		if (k >= 8) {
			uint64_t seq;
			double t = now_s();

			if (got && t - last > max_gap)
				max_gap = t - last;
			last = t;
			memcpy(&seq, buf, sizeof(seq));
			got++;
			if (seq < (1u << 24) && !seen[seq]) {
				seen[seq] = 1;
				uniq++;
			}
		}
	}
	printf("received %ld unique %ld max_gap_us %.0f\n", got, uniq, max_gap * 1e6);
	free(seen);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 7 && !strcmp(argv[1], "flood"))
		return flood(argv, argc);
	if (argc >= 4 && !strcmp(argv[1], "floodf"))
		return floodf(argv, argc);
	if (argc >= 6 && !strcmp(argv[1], "flood6"))
		return flood6(argv, argc);
	if (argc >= 6 && !strcmp(argv[1], "pace"))
		return pace(argv);
	if (argc >= 5 && !strcmp(argv[1], "recv"))
		return recv_mode(argv, argc);
	fprintf(stderr, "usage: sl-blast flood DST NDST PORT NPORTS SECONDS [NSOCK] [SIZE]\n"
		"       sl-blast floodf FILE SECONDS [NSOCK]\n"
		"       sl-blast flood6 FILE PORT NPORTS SECONDS\n"
		"       sl-blast pace DST PORT COUNT GAP_US\n"
		"       sl-blast recv ADDR PORT IDLE_MS [READY_FILE]\n");
	return 2;
}
