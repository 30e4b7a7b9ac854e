// SPDX-License-Identifier: GPL-2.0-only
/* json.c - streaming JSON writer; see json.h. */
#include <inttypes.h>

#include "util/json.h"

void sl_json_init(struct sl_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = true;
	j->key_pending = false;
}

/* Separator before a value or key at the current level. */
static void sep(struct sl_json *j)
{
	if (j->key_pending) {
		j->key_pending = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
}

static void open(struct sl_json *j, char c)
{
	sep(j);
	fputc(c, j->out);
	if (j->depth < SL_JSON_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct sl_json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
}

void sl_json_obj_open(struct sl_json *j) { open(j, '{'); }
void sl_json_obj_close(struct sl_json *j) { close_(j, '}'); }
void sl_json_arr_open(struct sl_json *j) { open(j, '['); }
void sl_json_arr_close(struct sl_json *j) { close_(j, ']'); }

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void sl_json_key(struct sl_json *j, const char *key)
{
	sep(j);
	put_string(j->out, key);
	fputc(':', j->out);
	j->key_pending = true;
}

void sl_json_str(struct sl_json *j, const char *s)
{
	sep(j);
	if (s)
		put_string(j->out, s);
	else
		fputs("null", j->out);
}

void sl_json_u64(struct sl_json *j, uint64_t v) { sep(j); fprintf(j->out, "%" PRIu64, v); }
void sl_json_i64(struct sl_json *j, int64_t v) { sep(j); fprintf(j->out, "%" PRId64, v); }
void sl_json_bool(struct sl_json *j, bool v) { sep(j); fputs(v ? "true" : "false", j->out); }
void sl_json_null(struct sl_json *j) { sep(j); fputs("null", j->out); }

void sl_json_kstr(struct sl_json *j, const char *key, const char *s) { sl_json_key(j, key); sl_json_str(j, s); }
void sl_json_ku64(struct sl_json *j, const char *key, uint64_t v) { sl_json_key(j, key); sl_json_u64(j, v); }
void sl_json_kbool(struct sl_json *j, const char *key, bool v) { sl_json_key(j, key); sl_json_bool(j, v); }

void sl_json_kdouble(struct sl_json *j, const char *key, double v)
{
	sl_json_key(j, key);
	sep(j);
	fprintf(j->out, "%.3f", v);
}

void sl_json_end(struct sl_json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}
