// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-udp - a UDP sender and counting receiver for the end-to-end tests and
 * the benchmarks.  Datagrams carry a sequence number so loss is exact.
 *
 *   sl-udp send ADDR PORT COUNT [GAP_US] [SIZE]   send COUNT datagrams
 *   sl-udp recv ADDR PORT IDLE_MS [READY_FILE]   count until IDLE_MS of silence
 *                                                (2 s before the first datagram);
 *                                                prints "received N unique N"
 * Only for addresses the caller owns (tests use documentation ranges in
 * their own namespaces).
 */
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

static int mkaddr(const char *a, const char *p, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int port = atoi(p);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "sl-udp: bad address %s\n", a);
	exit(2);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, fam;

	if (argc >= 5 && !strcmp(argv[1], "send")) {
		long n = atol(argv[4]), gap = argc > 5 ? atol(argv[5]) : 0;
		size_t size = argc > 6 ? (size_t)atol(argv[6]) : 16;
		char buf[65536] = {0};
		long sent = 0;

		if (size < 8 || size > sizeof(buf))
			size = 16;
		fam = mkaddr(argv[2], argv[3], &ss, &len);
		fd = socket(fam, SOCK_DGRAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &(int){ 1 }, sizeof(int));   /* 255.255.255.255 */
		for (long i = 0; i < n; i++) {
			uint64_t seq = i;
			memcpy(buf, &seq, sizeof(seq));
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&ss, len) == (ssize_t)size)
				sent++;
			if (gap)
				sleep_us(gap);
		}
		printf("sent %ld\n", sent);
		return sent == n ? 0 : 1;
	}
	if (argc >= 5 && !strcmp(argv[1], "recv")) {
		int idle = atoi(argv[4]), one = 1, rcvbuf = 8 << 20;
		unsigned char *seen = calloc(1 << 24, 1);
		long got = 0, uniq = 0;
		char buf[65536];
		struct pollfd p;

		fam = mkaddr(argv[2], argv[3], &ss, &len);
		fd = socket(fam, SOCK_DGRAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
		if (bind(fd, (struct sockaddr *)&ss, len)) {
			perror("sl-udp: bind");
			return 1;
		}
		if (argc > 5) {
			FILE *f = fopen(argv[5], "w");
			if (f)
				fclose(f);
		}
		p.fd = fd;
		p.events = POLLIN;
		/* The sender starts once READY_FILE exists: its first datagram
		 * comes within milliseconds, or not at all (dropped). */
		for (;;) {
			int r = poll(&p, 1, got ? idle : (idle > 2000 ? idle : 2000));
			ssize_t k;

			if (r <= 0)
				break;
			k = recv(fd, buf, sizeof(buf), 0);
			if (k >= 8) {
				uint64_t seq;
				memcpy(&seq, buf, sizeof(seq));
				got++;
				if (seq < (1u << 24) && !seen[seq]) {
					seen[seq] = 1;
					uniq++;
				}
			}
		}
		printf("received %ld unique %ld\n", got, uniq);
		{
			/* the first gaps, for diagnosis (stderr) */
			long maxseq = -1, shown = 0;

			for (long i = (1 << 24) - 1; i >= 0; i--)
				if (seen[i]) {
					maxseq = i;
					break;
				}
			for (long i = 0; i <= maxseq && shown < 8; i++)
				if (!seen[i]) {
					long j = i;

					while (j + 1 <= maxseq && !seen[j + 1])
						j++;
					fprintf(stderr, "missing %ld-%ld\n", i, j);
					shown++;
					i = j;
				}
		}
		free(seen);
		return 0;
	}
	fprintf(stderr, "usage: sl-udp send ADDR PORT COUNT [GAP_US] [SIZE]\n"
		"       sl-udp recv ADDR PORT IDLE_MS [READY_FILE]\n");
	return 2;
}
