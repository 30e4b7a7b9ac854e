/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * suggest.h - "did you mean 'policy'?" for a mistyped keyword (suggest.c).
 * Internal to user/front.
 */
#ifndef SL_FRONT_SUGGEST_H
#define SL_FRONT_SUGGEST_H

#include <stddef.h>

/* The hint for the @n bytes at @word, the nearest of the NULL-ended @list,
 * written to @buf; NULL if none is near. */
const char *sl__suggest(const char *word, size_t n, const char *const *list, char *buf, size_t sz);

#endif
