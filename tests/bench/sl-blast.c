// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-blast - multi-flow UDP load for `make bench` (scripts/bench), in the
 * benchmark's own network namespaces, to documentation-range addresses.
 *
 *   sl-blast flood DST NDST PORT NPORTS SECONDS [NSOCK] [SIZE]
 *       sendmmsg() batches of 64 datagrams for SECONDS, round robin over
 *       NDST consecutive IPv4 destinations from DST times NPORTS ports
 *       from PORT, from NSOCK sockets (NSOCK source ports): NDST*NPORTS*NSOCK
 *       flows.  Prints "sent N".
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

static void addr4(const char *a, struct in_addr *out)
{
	if (inet_pton(AF_INET, a, out) != 1) {
		fprintf(stderr, "sl-blast: bad IPv4 address %s\n", a);
		exit(2);
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
	double end;

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
	end = now_s() + secs;
	for (int it = 0;; it++) {
		int fd = fds[it % nsock], r;

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
	printf("sent %ld\n", sent);
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
	if (argc >= 6 && !strcmp(argv[1], "pace"))
		return pace(argv);
	if (argc >= 5 && !strcmp(argv[1], "recv"))
		return recv_mode(argv, argc);
	fprintf(stderr, "usage: sl-blast flood DST NDST PORT NPORTS SECONDS [NSOCK] [SIZE]\n"
		"       sl-blast pace DST PORT COUNT GAP_US\n"
		"       sl-blast recv ADDR PORT IDLE_MS [READY_FILE]\n");
	return 2;
}
