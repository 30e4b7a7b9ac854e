// SPDX-License-Identifier: GPL-2.0-only
/*
 * suggest.c - "did you mean": the keyword of @list nearest to a mistyped
 * word (Damerau-Levenshtein distance 1, or 2 for words of 6 letters and more).
 */
#include <stdio.h>
#include <string.h>

#include "front/suggest.h"

static size_t dist(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), d[34][34];

	if (n > 32 || m > 32)
		return 99;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[n][m];
}

const char *sl__suggest(const char *word, size_t n, const char *const *list, char *buf, size_t sz)
{
	const char *best = NULL;
	size_t bd = n >= 6 ? 3 : 2;

	for (size_t i = 0; list[i]; i++) {
		size_t d = dist(word, n, list[i]);

		if (d < bd) {
			bd = d;
			best = list[i];
		}
	}
	if (!best)
		return NULL;
	snprintf(buf, sz, "did you mean '%s'?", best);
	return buf;
}
