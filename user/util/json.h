/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * json.h - a streaming JSON writer (one document per command, as
 * bpftool's --json does).  Commas and nesting are tracked for the caller.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SL_JSON_DEPTH 16

struct sl_json {
	FILE *out;
	int depth;
	bool first[SL_JSON_DEPTH];  /* no element written yet at this level */
	bool key_pending;           /* a key was written, its value is next */
};

void sl_json_init(struct sl_json *j, FILE *out);
void sl_json_obj_open(struct sl_json *j);
void sl_json_obj_close(struct sl_json *j);
void sl_json_arr_open(struct sl_json *j);
void sl_json_arr_close(struct sl_json *j);
void sl_json_key(struct sl_json *j, const char *key);
void sl_json_str(struct sl_json *j, const char *s);     /* NULL -> null */
void sl_json_u64(struct sl_json *j, uint64_t v);
void sl_json_i64(struct sl_json *j, int64_t v);
void sl_json_bool(struct sl_json *j, bool v);
void sl_json_null(struct sl_json *j);
/* Shorthands: key + value. */
void sl_json_kstr(struct sl_json *j, const char *key, const char *s);
void sl_json_ku64(struct sl_json *j, const char *key, uint64_t v);
void sl_json_kbool(struct sl_json *j, const char *key, bool v);
void sl_json_kdouble(struct sl_json *j, const char *key, double v);   /* 3 decimals */
/* Ends the document with a newline. */
void sl_json_end(struct sl_json *j);

#endif
