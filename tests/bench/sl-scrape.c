// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-scrape - the cost of one metrics scrape (make bench, section 7):
 * sl_prom_collect() of one instance, as `sluice run --metrics` does it per
 * request, N times; prints one JSON line with the median and 90th
 * percentile time, the heap allocations and bytes of one scrape (malloc,
 * calloc, realloc counted by interposing them over glibc's), the size of
 * the text and the retries the consistency check needed.
 *
 *   sl-scrape INSTANCE N
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernel.h"
#include "util/prom.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static int counting;
static uint64_t n_alloc, n_bytes;

void *malloc(size_t n)
{
	if (counting) {
		n_alloc++;
		n_bytes += n;
	}
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (counting) {
		n_alloc++;
		n_bytes += a * b;
	}
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (counting) {
		n_alloc++;
		n_bytes += n;
	}
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct sl_snapshot_stats st;
	double *t;
	uint64_t allocs = 0, bytes = 0;
	size_t text = 0;
	int n;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: sl-scrape INSTANCE N\n");
		return 2;
	}
	t = __libc_calloc(n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		struct sl_buf b = {0};
		double t0;
		int e;

		n_alloc = n_bytes = 0;
		counting = 1;
		t0 = now_us();
		e = sl_prom_collect(argv[1], &b);
		t[i] = now_us() - t0;
		counting = 0;
		if (e) {
			fprintf(stderr, "sl-scrape: %s: %s\n", argv[1], strerror(-e));
			return 1;
		}
		allocs = n_alloc;       /* every scrape does the same */
		bytes = n_bytes;
		text = b.len;
		sl_buf_free(&b);
	}
	qsort(t, n, sizeof(*t), cmp_d);
	sl_snapshot_stats(&st);
	printf("{\"scrapes\":%d,\"median_us\":%.0f,\"p90_us\":%.0f,\"allocs\":%llu,\"alloc_bytes\":%llu,"
	       "\"text_bytes\":%zu,\"retries\":%llu}\n", n, t[n / 2], t[(n * 9) / 10],
	       (unsigned long long)allocs, (unsigned long long)bytes, text,
	       (unsigned long long)st.retries);
	return 0;
}
