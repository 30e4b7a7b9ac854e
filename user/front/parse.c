/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.c - the rule language (DESIGN.md section 2, docs/rules.md):
 * lexer, recursive-descent parser, includes, sets, address-list files,
 * and the public sl_ruleset_* entry points.  Address arithmetic, port
 * normalization and the lints live in resolve.c.
 *
 * One pass: statements are resolved as they are read (a set must be
 * defined before it is used, includes expand in place), so the parser
 * fills the ruleset directly.  Errors are reported with file:line:col
 * and parsing resumes at the next ';' (or '}'), so one run reports
 * several errors; any error means the caller gets nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/parse_int.h"

const char *sl_proto_name(enum sl_proto p)
{
	switch (p) {
	case SL_PROTO_TCP:   return "tcp";
	case SL_PROTO_UDP:   return "udp";
	case SL_PROTO_ICMP:  return "icmp";
	case SL_PROTO_ICMP6: return "icmpv6";
	case SL_PROTO_ANY:   return "any";
	}
	return "?";
}

/* ------------------------------------------------------------ diagnostics */

void sl__diag(struct pctx *c, enum sl_sev sev, struct sl_pos pos,
	      const char *hint, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;

	if (c->stop)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	sl_diag_add(c->d, sev, pos, hint, "%s", m ? m : "(out of memory)");
	free(m);
	if (sev == SL_SEV_ERROR && ++c->nerr >= SL_MAX_ERRORS) {
		sl_diag_add(c->d, SL_SEV_NOTE, pos, NULL,
			    "too many errors (%d); stopping here", SL_MAX_ERRORS);
		c->stop = true;
	}
}

void sl__oom(struct pctx *c)
{
	struct sl_pos none = { 0 };

	if (!c->stop)
		sl_diag_add(c->d, SL_SEV_ERROR, none, NULL, "out of memory");
	c->nerr++;
	c->stop = true;
}

#define ERR(c, pos, hint, ...)  sl__diag((c), SL_SEV_ERROR, (pos), (hint), __VA_ARGS__)
#define WARN(c, pos, hint, ...) sl__diag((c), SL_SEV_WARNING, (pos), (hint), __VA_ARGS__)

/* ------------------------------------------------------------ small utils */

static const char *intern(struct pctx *c, const char *name)
{
	struct sl_ruleset *rs = c->rs;
	char *s;

	for (size_t i = rs->nfiles; i-- > 0;)
		if (!strcmp(rs->files[i], name))
			return rs->files[i];
	if (GROW(c, rs->files, c->cfiles, rs->nfiles))
		return "?";
	s = strdup(name);
	if (!s) {
		sl__oom(c);
		return "?";
	}
	rs->files[rs->nfiles++] = s;
	return s;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static long nmap_get(const struct nmap *m, const char *k)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->v[i].name)
			return -1;
		if (!strcmp(m->v[i].name, k))
			return (long)m->v[i].idx;
	}
}

static int nmap_put(struct pctx *c, struct nmap *m, const char *k, size_t idx)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct nent *v = calloc(nc, sizeof(*v));

		if (!v) {
			sl__oom(c);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].name)
				continue;
			size_t j = hash_str(m->v[i].name) & (nc - 1);
			while (v[j].name)
				j = (j + 1) & (nc - 1);
			v[j] = m->v[i];
		}
		free(m->v);
		m->v = v;
		m->cap = nc;
	}
	size_t j = hash_str(k) & (m->cap - 1);
	while (m->v[j].name)
		j = (j + 1) & (m->cap - 1);
	m->v[j].name = k;
	m->v[j].idx = idx;
	m->n++;
	return 0;
}

void sl__dlist_free(struct dlist *dl)
{
	for (size_t i = 0; i < dl->nh; i++)
		free(dl->h[i].h.name);
	free(dl->c);
	free(dl->h);
	free(dl->refs);
	memset(dl, 0, sizeof(*dl));
}

int sl__add_cidr(struct pctx *c, struct dlist *dl, const struct bcidr *b)
{
	if (GROW(c, dl->c, dl->cc, dl->nc))
		return -1;
	dl->c[dl->nc++] = *b;
	return 0;
}

static int add_host(struct pctx *c, struct dlist *dl, char *name, bool wild,
		    struct sl_pos pos, uint32_t seq, uint32_t origin)
{
	if (GROW(c, dl->h, dl->ch, dl->nh)) {
		free(name);
		return -1;
	}
	dl->h[dl->nh].h.name = name;
	dl->h[dl->nh].h.wildcard = wild;
	dl->h[dl->nh].h.pos = pos;
	dl->h[dl->nh].seq = seq;
	dl->h[dl->nh].origin = origin;
	dl->nh++;
	return 0;
}

/* Read a whole file.  0 or -errno. */
static int read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = NULL;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * @rel relative to the directory of @from (a display path), or as is when
 * absolute or when @from has no directory part (or @from is a buffer).
 */
static char *join_rel(const char *from, bool from_is_buffer, const char *rel)
{
	const char *slash = from ? strrchr(from, '/') : NULL;
	char *out;

	if (rel[0] == '/' || from_is_buffer || !slash)
		return strdup(rel);
	if (asprintf(&out, "%.*s/%s", (int)(slash - from), from, rel) < 0)
		return NULL;
	return out;
}

/* ------------------------------------------------------------------ lexer */

enum tok_type { T_EOF, T_WORD, T_STR, T_SEMI, T_COMMA, T_LBRACE, T_RBRACE, T_BAD };

struct tok {
	enum tok_type type;
	const char *s;          /* raw text; T_STR: the contents */
	size_t len;
	struct sl_pos pos;
	bool ws_before;
};

struct lexer {
	struct pctx *c;
	const char *file;       /* interned */
	bool is_buffer;         /* top-level buffer: includes relative to cwd */
	const char *buf, *p, *end, *lstart;
	int line;
	struct tok peek;
	bool has_peek;
};

static inline bool is_word(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == ':' || ch == '/' ||
	       ch == '*' || ch == '_' || ch == '-' || ch == '@';
}

static void lex_init(struct lexer *lx, struct pctx *c, const char *file,
		     bool is_buffer, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->c = c;
	lx->file = file;
	lx->is_buffer = is_buffer;
	lx->buf = lx->p = lx->lstart = buf;
	lx->end = buf + len;
	lx->line = 1;
}

static int col_of(const struct lexer *lx, const char *p)
{
	ptrdiff_t d = p - lx->lstart;

	return d >= INT_MAX ? INT_MAX : (int)d + 1;
}

static struct sl_pos pos_at(const struct lexer *lx, const char *p)
{
	struct sl_pos pos = { lx->file, lx->line, col_of(lx, p) };

	return pos;
}

static struct tok lex_scan(struct lexer *lx)
{
	const char *p = lx->p, *e = lx->end;
	struct tok t;
	bool ws = (p == lx->buf);

	for (; p < e; p++) {
		char ch = *p;

		if (ch == '\n') {
			lx->line++;
			lx->lstart = p + 1;
		} else if (ch == '#') {
			while (p + 1 < e && p[1] != '\n')
				p++;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\f' && ch != '\v') {
			break;
		}
		ws = true;
	}
	memset(&t, 0, sizeof(t));
	t.ws_before = ws;
	t.pos = pos_at(lx, p);
	t.s = p;
	if (p >= e) {
		t.type = T_EOF;
		lx->p = p;
		return t;
	}
	switch (*p) {
	case ';': t.type = T_SEMI;   p++; break;
	case ',': t.type = T_COMMA;  p++; break;
	case '{': t.type = T_LBRACE; p++; break;
	case '}': t.type = T_RBRACE; p++; break;
	case '"': {
		const char *q = p + 1;

		while (q < e && *q != '"' && *q != '\n')
			q++;
		if (q >= e || *q != '"') {
			ERR(lx->c, t.pos, "write the file name as \"name\" on one line",
			    "unterminated string (missing closing '\"')");
			t.type = T_BAD;
			p = q;
		} else {
			t.type = T_STR;
			t.s = p + 1;
			t.len = (size_t)(q - (p + 1));
			p = q + 1;
		}
		lx->p = p;
		return t;
	}
	default:
		if (is_word((unsigned char)*p)) {
			while (p < e && is_word((unsigned char)*p))
				p++;
			t.type = T_WORD;
		} else {
			unsigned char ch = (unsigned char)*p;

			if (ch >= 0x21 && ch < 0x7f)
				ERR(lx->c, t.pos, NULL, "unexpected character '%c'", ch);
			else
				ERR(lx->c, t.pos, NULL, "unexpected byte 0x%02x", ch);
			t.type = T_BAD;
			p++;
		}
	}
	t.len = (size_t)(p - t.s);
	lx->p = p;
	return t;
}

static struct tok lex_peek(struct lexer *lx)
{
	if (!lx->has_peek) {
		lx->peek = lex_scan(lx);
		lx->has_peek = true;
	}
	return lx->peek;
}

static struct tok lex_next(struct lexer *lx)
{
	if (lx->has_peek) {
		lx->has_peek = false;
		return lx->peek;
	}
	return lex_scan(lx);
}

static bool weq(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->type == T_WORD && t->len == n && !memcmp(t->s, s, n);
}

/* Printable description of a token for "found X". */
static const char *tdesc(const struct tok *t, char *buf, size_t n)
{
	int max = 40;

	switch (t->type) {
	case T_EOF:    return "end of file";
	case T_SEMI:   return "';'";
	case T_COMMA:  return "','";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_BAD:    return "an invalid character";
	case T_STR:
		snprintf(buf, n, "\"%.*s%s\"", t->len > (size_t)max ? max : (int)t->len,
			 t->s, t->len > (size_t)max ? "..." : "");
		for (char *q = buf; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
				*q = '?';
		return buf;
	case T_WORD:
		snprintf(buf, n, "'%.*s%s'", t->len > (size_t)max ? max : (int)t->len,
			 t->s, t->len > (size_t)max ? "..." : "");
		return buf;
	}
	return "?";
}

#define TD(t) tdesc(&(t), (char[64]){ 0 }, 64)

/* Error recovery. */

/* Inside a block: skip to the next ';' (consumed) or '}' (left), or EOF. */
static void recover_block(struct lexer *lx)
{
	for (;;) {
		struct tok t = lex_peek(lx);

		if (t.type == T_EOF || t.type == T_RBRACE)
			return;
		lex_next(lx);
		if (t.type == T_SEMI)
			return;
	}
}

/* At top level, after the offending token @t has been consumed. */
static void recover_top(struct lexer *lx, const struct tok *t)
{
	int depth = 0;

	if (t->type == T_SEMI || t->type == T_EOF || t->type == T_RBRACE)
		return;
	if (t->type == T_LBRACE)
		depth = 1;
	for (;;) {
		struct tok u = lex_next(lx);

		if (u.type == T_EOF)
			return;
		if (u.type == T_LBRACE)
			depth++;
		else if (u.type == T_RBRACE) {
			if (depth <= 1)
				return;
			depth--;
		} else if (u.type == T_SEMI && depth == 0)
			return;
	}
}

/* Inside a rule/set after the offending token was consumed. */
static void recover_after(struct lexer *lx, const struct tok *t)
{
	if (t->type == T_SEMI || t->type == T_EOF)
		return;
	if (t->type == T_RBRACE) {
		/* Put nothing back: the caller sees the block as closed. */
		lx->peek = *t;
		lx->has_peek = true;
		return;
	}
	recover_block(lx);
}

/* ------------------------------------------------------------------ names */

static char *take_name(struct pctx *c, const struct tok *t, const char *what,
		       const char *after)
{
	char hint[128];
	bool upper = false, ok = true;

	if (t->type != T_WORD) {
		ERR(c, t->pos, NULL, "expected a %s name after '%s', found %s",
		    what, after, TD(*t));
		return NULL;
	}
	if (t->len > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "%s name '%.40s...' is too long (%zu characters; at most %d)",
		    what, t->s, t->len, SL_NAME_MAX);
		return NULL;
	}
	for (size_t i = 0; i < t->len; i++) {
		unsigned char ch = (unsigned char)t->s[i];

		if (ch >= 'A' && ch <= 'Z')
			upper = true;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			   (i > 0 && (ch == '_' || ch == '-'))))
			ok = false;
	}
	if (upper || !ok) {
		if (upper && ok) {
			int n = snprintf(hint, sizeof(hint), "write '");
			for (size_t i = 0; i < t->len && n < (int)sizeof(hint) - 2; i++)
				hint[n++] = (char)tolower((unsigned char)t->s[i]);
			hint[n++] = '\'';
			hint[n] = 0;
		} else {
			snprintf(hint, sizeof(hint),
				 "names are lower-case letters, digits, '_' and '-', "
				 "starting with a letter or digit");
		}
		ERR(c, t->pos, hint, "bad %s name '%.*s'", what, (int)t->len, t->s);
		return NULL;
	}
	char *s = strndup(t->s, t->len);
	if (!s)
		sl__oom(c);
	return s;
}

/* ----------------------------------------------------------- destinations */

enum dst_where { W_RULE, W_SET, W_FILE };

static void parse_addr_list(struct pctx *c, const char *file, const char *buf,
			    size_t len, struct dlist *dl);

static int load_addr_file(struct pctx *c, struct lexer *lx, const struct tok *str,
			  struct dlist *dl)
{
	char *rel, *path, *buf = NULL;
	size_t len = 0;
	int err;

	if (str->len == 0 || memchr(str->s, 0, str->len)) {
		ERR(c, str->pos, NULL, "bad file name %s", TD(*str));
		return -1;
	}
	rel = strndup(str->s, str->len);
	path = rel ? join_rel(lx->file, lx->is_buffer, rel) : NULL;
	free(rel);
	if (!path) {
		sl__oom(c);
		return -1;
	}
	err = read_file(path, &buf, &len);
	if (err) {
		ERR(c, str->pos, "address files are relative to the file that names them",
		    "cannot read address file '%s': %s", path, strerror(-err));
		free(path);
		return -1;
	}
	parse_addr_list(c, intern(c, path), buf, len, dl);
	free(path);
	free(buf);
	return 0;
}

static int set_ref(struct pctx *c, const struct tok *t, struct dlist *dl)
{
	char name[SL_NAME_MAX + 2], hint[160];
	size_t n = t->len - 1;
	long id;

	if (n == 0 || n > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "bad set reference %s", TD(*t));
		return -1;
	}
	memcpy(name, t->s + 1, n);
	name[n] = 0;
	if (c->cur_set && !strcmp(c->cur_set, name)) {
		ERR(c, t->pos, NULL, "set '%s' cannot contain itself", name);
		return -1;
	}
	id = nmap_get(&c->setmap, name);
	if (id < 0) {
		snprintf(hint, sizeof(hint),
			 "sets must be defined before they are used: set %s { ... };", name);
		ERR(c, t->pos, hint, "unknown set '@%s'", name);
		return -1;
	}
	for (size_t i = 0; i < dl->nrefs; i++) {
		if (dl->refs[i].id == (uint32_t)id) {
			struct sl_pos p = dl->refs[i].pos;

			WARN(c, t->pos, NULL, "@%s is listed twice; first at %s:%d:%d",
			     name, p.file, p.line, p.col);
			return 0;
		}
	}
	if (GROW(c, dl->refs, dl->crefs, dl->nrefs))
		return -1;
	dl->refs[dl->nrefs].id = (uint32_t)id;
	dl->refs[dl->nrefs].pos = t->pos;
	dl->nrefs++;

	const struct pset *s = &c->sets[id];
	for (size_t i = 0; i < s->d.nc; i++) {
		struct bcidr b = s->d.c[i];

		b.origin = (uint32_t)id + 1;
		if (sl__add_cidr(c, dl, &b))
			return -1;
	}
	for (size_t i = 0; i < s->d.nh; i++) {
		const struct bhost *h = &s->d.h[i];
		char *nm = strdup(h->h.name);

		if (!nm) {
			sl__oom(c);
			return -1;
		}
		if (add_host(c, dl, nm, h->h.wildcard, h->h.pos, h->seq, (uint32_t)id + 1))
			return -1;
	}
	return 0;
}

static bool all_digits_dots(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(isdigit((unsigned char)s[i]) || s[i] == '.'))
			return false;
	return true;
}

/* Parse one address (no prefix) from a word, with an error if it is bad. */
static int addr_or_err(struct pctx *c, const char *s, size_t n, struct sl_pos pos,
		       uint8_t *fam, uint8_t *addr)
{
	if (sl__addr(s, n, fam, addr) == 0)
		return 0;
	if (memchr(s, ':', n))
		ERR(c, pos, NULL, "bad IPv6 address '%.*s'", (int)n, s);
	else
		ERR(c, pos, "an IPv4 address is four numbers 0-255: 192.0.2.1",
		    "bad IPv4 address '%.*s'", (int)n, s);
	return -1;
}

static int add_range(struct pctx *c, struct dlist *dl, const char *a, size_t an,
		     struct sl_pos apos, const char *b, size_t bn, struct sl_pos bpos,
		     uint32_t seq)
{
	uint8_t fa, fb, la[16], lb[16];

	if (memchr(a, '/', an) || memchr(b, '/', bn)) {
		ERR(c, memchr(a, '/', an) ? apos : bpos,
		    "write a range as two addresses (A - B), or list the prefixes",
		    "a range takes addresses, not prefixes: '%.*s - %.*s'",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	if (addr_or_err(c, a, an, apos, &fa, la) || addr_or_err(c, b, bn, bpos, &fb, lb))
		return -1;
	if (fa != fb) {
		ERR(c, apos, NULL, "range '%.*s - %.*s' mixes IPv4 and IPv6",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	if (sl__cmp_addr(fa, la, lb) > 0) {
		char hint[160];

		snprintf(hint, sizeof(hint), "write %.*s - %.*s", (int)bn, b, (int)an, a);
		ERR(c, apos, hint, "range '%.*s - %.*s' is reversed (start > end)",
		    (int)an, a, (int)bn, b);
		return -1;
	}
	return sl__range_split(c, dl, fa, la, lb, apos, seq, 0);
}

static int add_cidr_word(struct pctx *c, struct dlist *dl, const char *w, size_t n,
			 struct sl_pos pos, uint32_t seq)
{
	const char *slash = memchr(w, '/', n);
	struct bcidr b;
	size_t an = (size_t)(slash - w), pn = n - an - 1;
	unsigned plen = 0, max;

	memset(&b, 0, sizeof(b));
	if (addr_or_err(c, w, an, pos, &b.c.family, b.c.addr))
		return -1;
	max = b.c.family == AF_INET ? 32 : 128;
	for (size_t i = 0; i < pn; i++) {
		if (!isdigit((unsigned char)slash[1 + i]) || i >= 3) {
			pn = 0;
			break;
		}
		plen = plen * 10 + (unsigned)(slash[1 + i] - '0');
	}
	if (pn == 0 || plen > max) {
		ERR(c, pos, NULL, "bad prefix length '/%.*s' (%s allows /0 to /%u)",
		    (int)(n - an - 1), slash + 1, max == 32 ? "IPv4" : "IPv6", max);
		return -1;
	}
	b.c.plen = (uint8_t)plen;
	b.c.pos = pos;
	b.seq = seq;
	if (sl__host_bits(&b.c)) {
		char net[64], hint[96];

		sl__mask(&b.c);
		snprintf(hint, sizeof(hint), "did you mean %s?",
			 sl__fmt_cidr(&b.c, net, sizeof(net)));
		ERR(c, pos, hint, "%.*s has host bits set", (int)n, w);
		return -1;
	}
	return sl__add_cidr(c, dl, &b);
}

/*
 * One destination starting at the consumed WORD @t: address, prefix,
 * range (A-B, A - B, A- B, A -B), host name, *.domain, and in rules and
 * sets also @set, any, file "x".  May consume more tokens.
 */
static int parse_dst(struct pctx *c, struct lexer *lx, const struct tok *t,
		     struct dlist *dl, enum dst_where where)
{
	const char *w = t->s;
	size_t n = t->len;
	uint32_t seq = c->seq++;

	if (n > SL_WORD_MAX) {
		ERR(c, t->pos, NULL, "'%.40s...' is too long for an address or host name", w);
		return -1;
	}
	if (w[0] == '@') {
		if (where == W_FILE) {
			ERR(c, t->pos, NULL, "set references (%s) are not allowed in address files",
			    TD(*t));
			return -1;
		}
		return set_ref(c, t, dl);
	}
	if (weq(t, "any")) {
		struct bcidr b;

		if (where == W_FILE) {
			ERR(c, t->pos, "write 0.0.0.0/0 and ::/0",
			    "'any' is not allowed in address files");
			return -1;
		}
		memset(&b, 0, sizeof(b));
		b.c.family = AF_INET;
		b.c.pos = t->pos;
		b.seq = seq;
		if (sl__add_cidr(c, dl, &b))
			return -1;
		b.c.family = AF_INET6;
		return sl__add_cidr(c, dl, &b);
	}
	if (weq(t, "file")) {
		struct tok s;

		if (where == W_FILE) {
			ERR(c, t->pos, NULL, "'file' is not allowed inside address files");
			return -1;
		}
		s = lex_peek(lx);
		if (s.type != T_STR) {
			ERR(c, s.pos, "write file \"addresses.txt\"",
			    "expected a quoted file name after 'file', found %s", TD(s));
			return -1;
		}
		lex_next(lx);
		return load_addr_file(c, lx, &s, dl);
	}
	if (w[0] == '-') {
		ERR(c, t->pos, "a range is written A - B", "expected a destination, found %s",
		    TD(*t));
		return -1;
	}

	/* Ranges: the part before the first '-' is an address. */
	const char *dash = memchr(w, '-', n);
	uint8_t fam, addr[16];

	if (dash && sl__addr(w, (size_t)(dash - w), &fam, addr) == 0) {
		size_t an = (size_t)(dash - w);
		struct sl_pos bpos = t->pos;
		const char *b = dash + 1;
		size_t bn = n - an - 1;

		bpos.col += (int)(an + 1);
		if (bn == 0) {          /* "A- B" */
			struct tok u = lex_peek(lx);

			if (u.type != T_WORD) {
				ERR(c, u.pos, NULL, "expected the end of the range after '%.*s', found %s",
				    (int)n, w, TD(u));
				return -1;
			}
			lex_next(lx);
			b = u.s;
			bn = u.len;
			bpos = u.pos;
		}
		return add_range(c, dl, w, an, t->pos, b, bn, bpos, seq);
	}
	if (memchr(w, '/', n))
		return add_cidr_word(c, dl, w, n, t->pos, seq);
	if (memchr(w, ':', n) || all_digits_dots(w, n)) {
		struct tok u = lex_peek(lx);
		struct bcidr b;

		if (u.type == T_WORD && u.s[0] == '-') {        /* "A - B", "A -B" */
			const char *e;
			size_t en;
			struct sl_pos epos;

			lex_next(lx);
			if (u.len == 1) {
				struct tok v = lex_peek(lx);

				if (v.type != T_WORD) {
					ERR(c, v.pos, NULL,
					    "expected the end of the range after '%.*s -', found %s",
					    (int)n, w, TD(v));
					return -1;
				}
				lex_next(lx);
				e = v.s;
				en = v.len;
				epos = v.pos;
			} else {
				e = u.s + 1;
				en = u.len - 1;
				epos = u.pos;
				epos.col++;
			}
			return add_range(c, dl, w, n, t->pos, e, en, epos, seq);
		}
		memset(&b, 0, sizeof(b));
		if (addr_or_err(c, w, n, t->pos, &b.c.family, b.c.addr))
			return -1;
		b.c.plen = b.c.family == AF_INET ? 32 : 128;
		b.c.pos = t->pos;
		b.seq = seq;
		return sl__add_cidr(c, dl, &b);
	}

	/* Host name. */
	char why[160], *name = NULL;
	bool wild = false;

	if (sl__host(w, n, &name, &wild, why, sizeof(why))) {
		const char *hint = NULL;

		if (!memchr(w, '.', n) && where != W_FILE)
			hint = "a destination is an address, prefix, range, host name, "
			       "*.domain, @set, file \"name\" or any";
		ERR(c, t->pos, hint, "bad destination '%.*s': %s", (int)n, w, why);
		return -1;
	}
	return add_host(c, dl, name, wild, t->pos, seq, 0);
}

/* An address-list file: destinations separated by ',' or white space. */
static void parse_addr_list(struct pctx *c, const char *file, const char *buf,
			    size_t len, struct dlist *dl)
{
	struct lexer lx;

	lex_init(&lx, c, file, false, buf, len);
	while (!c->stop) {
		struct tok t = lex_next(&lx);

		if (t.type == T_EOF)
			break;
		if (t.type == T_COMMA || t.type == T_BAD)
			continue;
		if (t.type != T_WORD) {
			ERR(c, t.pos, "an address file holds addresses, prefixes, ranges and host "
			    "names, separated by ',' or white space",
			    "expected an address, prefix, range or host name, found %s", TD(t));
			continue;
		}
		parse_dst(c, &lx, &t, dl, W_FILE);
	}
}

/* ------------------------------------------------------------ statements */

static void parse_buf(struct pctx *c, const char *file, bool is_buffer,
		      const char *buf, size_t len);

/* policy / mode / control: KEYWORD VALUE ; */
static void parse_choice(struct pctx *c, struct lexer *lx, const struct tok *kw,
			 const char *a, const char *b, int *val, struct sl_pos *seen)
{
	struct tok t = lex_next(lx);
	int v;

	if (weq(&t, a))
		v = 0;
	else if (weq(&t, b))
		v = 1;
	else {
		ERR(c, t.pos, NULL, "expected '%s' or '%s' after '%.*s', found %s",
		    a, b, (int)kw->len, kw->s, TD(t));
		recover_top(lx, &t);
		return;
	}
	struct tok u = lex_next(lx);
	if (u.type != T_SEMI) {
		ERR(c, u.pos, NULL, "expected ';' after '%.*s %.*s', found %s",
		    (int)kw->len, kw->s, (int)t.len, t.s, TD(u));
		recover_top(lx, &u);
		return;
	}
	if (seen->line && *val != v) {
		ERR(c, kw->pos, "a ruleset has one such statement",
		    "'%.*s %.*s' conflicts with '%.*s %s' at %s:%d:%d",
		    (int)kw->len, kw->s, (int)t.len, t.s, (int)kw->len, kw->s,
		    *val ? b : a, seen->file, seen->line, seen->col);
		return;
	}
	*val = v;
	*seen = kw->pos;
}

static void parse_include(struct pctx *c, struct lexer *lx, const struct tok *kw)
{
	struct tok t = lex_next(lx), u;
	char *rel = NULL, *path = NULL, *real = NULL, *buf = NULL;
	size_t len = 0;
	int err;

	if (t.type != T_STR) {
		ERR(c, t.pos, "write include \"other.rules\";",
		    "expected a quoted file name after 'include', found %s", TD(t));
		recover_top(lx, &t);
		return;
	}
	u = lex_next(lx);
	if (u.type != T_SEMI) {
		ERR(c, u.pos, NULL, "expected ';' after the include file name, found %s", TD(u));
		recover_top(lx, &u);
		return;
	}
	if (t.len == 0 || memchr(t.s, 0, t.len)) {
		ERR(c, t.pos, NULL, "bad file name %s", TD(t));
		return;
	}
	rel = strndup(t.s, t.len);
	path = rel ? join_rel(lx->file, lx->is_buffer, rel) : NULL;
	free(rel);
	if (!path) {
		sl__oom(c);
		return;
	}
	if (c->depth >= SL_MAX_INCLUDE_DEPTH) {
		ERR(c, kw->pos, NULL, "includes nested too deeply (more than %d levels) at '%s'",
		    SL_MAX_INCLUDE_DEPTH, path);
		goto out;
	}
	real = realpath(path, NULL);
	if (!real) {
		ERR(c, t.pos, "include paths are relative to the including file",
		    "cannot read include file '%s': %s", path, strerror(errno));
		goto out;
	}
	for (int i = 0; i <= c->depth; i++) {
		if (c->stack_real[i] && !strcmp(c->stack_real[i], real)) {
			char chain[1024];
			int n = 0;

			for (int j = i; j <= c->depth && n < (int)sizeof(chain); j++)
				n += snprintf(chain + n, sizeof(chain) - (size_t)n, "%s -> ",
					      c->stack_disp[j]);
			if (n < (int)sizeof(chain))
				snprintf(chain + n, sizeof(chain) - (size_t)n, "%s", path);
			ERR(c, t.pos, NULL, "include cycle: %s", chain);
			goto out;
		}
	}
	err = read_file(path, &buf, &len);
	if (err) {
		ERR(c, t.pos, NULL, "cannot read include file '%s': %s", path, strerror(-err));
		goto out;
	}
	const char *disp = intern(c, path);
	c->depth++;
	c->stack_disp[c->depth] = disp;
	c->stack_real[c->depth] = real;
	real = NULL;
	parse_buf(c, disp, false, buf, len);
	free(c->stack_real[c->depth]);
	c->stack_real[c->depth] = NULL;
	c->depth--;
out:
	free(real);
	free(path);
	free(buf);
}

/* Add one resolver address (a /32 or /128), warning about duplicates. */
static int add_resolver(struct pctx *c, const struct sl_cidr *r, const char *txt, int len)
{
	struct sl_ruleset *rs = c->rs;

	for (size_t i = 0; i < rs->nresolvers; i++) {
		const struct sl_cidr *o = &rs->resolvers[i];

		if (o->family == r->family && !memcmp(o->addr, r->addr, 16)) {
			WARN(c, r->pos, NULL, "resolver %.*s is listed twice; first at %s:%d:%d",
			     len, txt, o->pos.file, o->pos.line, o->pos.col);
			return 0;
		}
	}
	if (GROW(c, rs->resolvers, c->cresolvers, rs->nresolvers))
		return -1;
	rs->resolvers[rs->nresolvers++] = *r;
	return 0;
}

/* "resolvers @set;": the set's addresses, so they are written in one place. */
static void resolvers_from_set(struct pctx *c, const struct tok *t)
{
	char name[SL_NAME_MAX + 1];
	size_t n = t->len - 1;
	long id;

	if (n == 0 || n > SL_NAME_MAX) {
		ERR(c, t->pos, NULL, "bad set reference %s", TD(*t));
		return;
	}
	memcpy(name, t->s + 1, n);
	name[n] = 0;
	id = nmap_get(&c->setmap, name);
	if (id < 0) {
		ERR(c, t->pos, NULL, "unknown set '@%s' (sets must be defined before they are used)", name);
		return;
	}
	for (size_t i = 0; i < c->sets[id].d.nc; i++) {
		struct sl_cidr r = c->sets[id].d.c[i].c;
		char a[64];

		inet_ntop(r.family, r.addr, a, sizeof(a));
		if (r.plen != (r.family == AF_INET ? 32 : 128)) {
			ERR(c, t->pos, "resolvers are addresses: give the set single addresses",
			    "set '@%s' holds the prefix %s/%u, not an address", name, a, r.plen);
			continue;
		}
		r.pos = t->pos;
		if (add_resolver(c, &r, a, (int)strlen(a)))
			return;
	}
}

static void parse_resolvers(struct pctx *c, struct lexer *lx)
{
	for (;;) {
		struct tok t = lex_next(lx);
		struct sl_cidr r;

		memset(&r, 0, sizeof(r));
		if (t.type == T_WORD && t.len > 1 && t.s[0] == '@') {
			resolvers_from_set(c, &t);
		} else if (t.type != T_WORD) {
			ERR(c, t.pos, NULL, "expected a DNS server address, found %s", TD(t));
			recover_top(lx, &t);
			return;
		} else if (memchr(t.s, '/', t.len)) {
			ERR(c, t.pos, "write the server's address, e.g. 192.0.2.53",
			    "resolvers are addresses, not prefixes: '%.*s'", (int)t.len, t.s);
		} else if (addr_or_err(c, t.s, t.len, t.pos, &r.family, r.addr) == 0) {
			r.plen = r.family == AF_INET ? 32 : 128;
			r.pos = t.pos;
			if (add_resolver(c, &r, t.s, (int)t.len))
				return;
		}
		struct tok u = lex_next(lx);
		if (u.type == T_COMMA)
			continue;
		if (u.type == T_SEMI)
			return;
		ERR(c, u.pos, u.type == T_WORD ? "separate addresses with ','" : NULL,
		    "expected ',' or ';' after the resolver address, found %s", TD(u));
		recover_top(lx, &u);
		return;
	}
}

static void parse_set(struct pctx *c, struct lexer *lx)
{
	struct tok t = lex_next(lx);
	char *name = take_name(c, &t, "set", "set");
	struct pset s;
	long prev;

	memset(&s, 0, sizeof(s));
	if (!name) {
		recover_top(lx, &t);
		return;
	}
	s.name = name;
	s.pos = t.pos;
	prev = nmap_get(&c->setmap, name);
	if (prev >= 0) {
		struct sl_pos p = c->sets[prev].pos;

		ERR(c, t.pos, "set names are unique", "set '%s' is already defined at %s:%d:%d",
		    name, p.file, p.line, p.col);
	}
	c->cur_set = name;

	struct tok o = lex_next(lx);
	if (weq(&o, "file")) {
		struct tok f = lex_next(lx), u;

		if (f.type != T_STR) {
			ERR(c, f.pos, "write set NAME file \"addresses.txt\";",
			    "expected a quoted file name after 'file', found %s", TD(f));
			recover_top(lx, &f);
			goto done;
		}
		load_addr_file(c, lx, &f, &s.d);
		u = lex_next(lx);
		if (u.type != T_SEMI) {
			ERR(c, u.pos, NULL, "expected ';' after the file name, found %s", TD(u));
			recover_top(lx, &u);
		}
	} else if (o.type == T_LBRACE) {
		for (;;) {
			struct tok e = lex_next(lx);

			if (e.type == T_RBRACE)
				break;
			if (e.type == T_COMMA || e.type == T_BAD)
				continue;
			if (e.type == T_WORD) {
				parse_dst(c, lx, &e, &s.d, W_SET);
				if (c->stop)
					break;
				continue;
			}
			if (e.type == T_STR) {
				ERR(c, e.pos, "write file \"name\" to read addresses from a file",
				    "unexpected string %s in set '%s'", TD(e), name);
				continue;
			}
			ERR(c, e.pos, NULL, "expected '}' to close set '%s' (opened at %d:%d), found %s",
			    name, o.pos.line, o.pos.col, TD(e));
			break;
		}
		if (lex_peek(lx).type == T_SEMI)
			lex_next(lx);
	} else {
		ERR(c, o.pos, "write set NAME { 192.0.2.0/24, ... }; or set NAME file \"list.txt\";",
		    "expected '{' or 'file' after the set name, found %s", TD(o));
		recover_top(lx, &o);
	}
done:
	c->cur_set = NULL;
	sl__lint_list(c, &s.d, "set", name, t.pos);
	if (prev >= 0 || GROW(c, c->sets, c->csets, c->nsets) ||
	    nmap_put(c, &c->setmap, name, c->nsets)) {
		sl__dlist_free(&s.d);
		free(name);
		return;
	}
	c->sets[c->nsets++] = s;
}

static int parse_proto(struct pctx *c, const struct tok *t, const struct tok *act,
		       enum sl_proto *p)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "icmpv6", "any" };
	const char *hint = NULL;
	char buf[64];

	for (int i = 0; i < 5; i++) {
		if (weq(t, names[i])) {
			*p = (enum sl_proto)i;
			return 0;
		}
	}
	if (t->type == T_WORD) {
		if (t->len < 16) {
			size_t i;

			for (i = 0; i < t->len; i++)
				buf[i] = (char)tolower((unsigned char)t->s[i]);
			buf[i] = 0;
			for (int j = 0; j < 5; j++)
				if (!strcmp(buf, names[j]))
					hint = "protocols are written in lower case";
			if (!strcmp(buf, "icmp6") || !strcmp(buf, "ipv6-icmp"))
				hint = "write icmpv6";
		}
		if (isdigit((unsigned char)t->s[0]))
			hint = "the protocol comes first: allow tcp 443;";
	}
	ERR(c, t->pos, hint, "expected a protocol (tcp, udp, icmp, icmpv6 or any) after '%.*s', found %s",
	    (int)act->len, act->s, TD(*t));
	return -1;
}

static int port_num(struct pctx *c, const char *s, size_t n, struct sl_pos pos, long *out)
{
	long v = 0;

	if (n == 0) {
		ERR(c, pos, NULL, "expected a port number");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			ERR(c, pos, "ports are numbers 0-65535, ranges are written lo-hi",
			    "expected a port number, found '%.*s'", (int)n, s);
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (s[i] - '0');
	}
	if (v > 65535) {
		ERR(c, pos, NULL, "port %.*s is out of range (0-65535)", (int)n, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* One port or range starting at the consumed WORD @t. */
static int port_item(struct pctx *c, struct lexer *lx, const struct tok *t,
		     struct sl_port_range *out)
{
	const char *s = t->s, *dash = memchr(s, '-', t->len);
	const char *hs = NULL;
	size_t ln, hn = 0;
	struct sl_pos hpos = t->pos;
	long lo, hi;

	if (dash == s) {
		ERR(c, t->pos, NULL, "expected a port number, found %s", TD(*t));
		return -1;
	}
	if (dash) {
		ln = (size_t)(dash - s);
		hs = dash + 1;
		hn = t->len - ln - 1;
		hpos.col += (int)(ln + 1);
		if (hn == 0) {
			struct tok u = lex_peek(lx);

			if (u.type != T_WORD) {
				ERR(c, u.pos, NULL, "expected the end of the port range, found %s", TD(u));
				return -1;
			}
			lex_next(lx);
			hs = u.s;
			hn = u.len;
			hpos = u.pos;
		}
	} else {
		struct tok u = lex_peek(lx);

		ln = t->len;
		if (u.type == T_WORD && u.s[0] == '-') {
			lex_next(lx);
			if (u.len == 1) {
				struct tok v = lex_peek(lx);

				if (v.type != T_WORD) {
					ERR(c, v.pos, NULL, "expected the end of the port range, found %s",
					    TD(v));
					return -1;
				}
				lex_next(lx);
				hs = v.s;
				hn = v.len;
				hpos = v.pos;
			} else {
				hs = u.s + 1;
				hn = u.len - 1;
				hpos = u.pos;
				hpos.col++;
			}
		}
	}
	if (port_num(c, s, ln, t->pos, &lo))
		return -1;
	hi = lo;
	if (hs && port_num(c, hs, hn, hpos, &hi))
		return -1;
	if (lo > hi) {
		char hint[64];

		snprintf(hint, sizeof(hint), "write %ld-%ld", hi, lo);
		ERR(c, t->pos, hint, "port range %ld-%ld is reversed", lo, hi);
		return -1;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

/*
 * Is the ',' at @cm a thousands separator ("10,000-60,000")?  It is when
 * it sits between 1-3 digits and exactly 3 digits with no space around,
 * the joined number is a port (<= 65535), and the group is clearly not a
 * list: it starts with 0 ("10,000"), or it touches a range ("8,801-8,810").
 * "80,443" (80443 > 65535) and "53,123" stay lists.
 */
static bool thousands_at(const struct lexer *lx, const char *cm, const char **numstart)
{
	const char *b = lx->buf, *e = lx->end, *q = cm, *r = cm + 1;
	int nb = 0, na = 0;
	long v = 0;

	while (q > b && isdigit((unsigned char)q[-1]) && nb < 4) {
		q--;
		nb++;
	}
	if (nb < 1 || nb > 3)
		return false;
	bool dash_before = q > b && q[-1] == '-';
	if (q > b && is_word((unsigned char)q[-1]) && !dash_before)
		return false;
	while (r < e && isdigit((unsigned char)*r) && na < 4) {
		r++;
		na++;
	}
	if (na != 3)
		return false;
	bool dash_after = r < e && *r == '-';
	if (r < e && is_word((unsigned char)*r) && !dash_after)
		return false;
	for (const char *p = q; p < r; p++)
		if (p != cm)
			v = v * 10 + (*p - '0');
	if (v > 65535)
		return false;
	*numstart = q;
	return cm[1] == '0' || dash_before || dash_after;
}

/* "write 10000-60000": the text around @cm with the separators removed. */
static void thousands_hint(const struct lexer *lx, const char *cm, char *out, size_t n)
{
	const char *b = lx->buf, *e = lx->end, *s = cm, *t = cm;
	char tmp[80];
	size_t k = 0;

#define SPANCH(ch) (!isspace((unsigned char)(ch)) && (ch) != ';' && (ch) != '{' && \
		    (ch) != '}' && (ch) != '#' && (ch) != '"')
	while (s > b && SPANCH(s[-1]) && cm - s < 30)
		s--;
	while (t < e && SPANCH(*t) && t - cm < 30)
		t++;
#undef SPANCH
	for (const char *p = s; p < t && k < sizeof(tmp) - 1; p++) {
		if (*p == ',' && p > b && isdigit((unsigned char)p[-1]) && t - p > 3 &&
		    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    isdigit((unsigned char)p[3]) && (p + 4 >= t || !isdigit((unsigned char)p[4])))
			continue;
		tmp[k++] = *p;
	}
	tmp[k] = 0;
	snprintf(out, n, "write %s", tmp);
}

static void parse_line(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *act)
{
	struct sl_rule *r = &c->rs->rules[ri];
	struct prule *pr = &c->pr[ri];
	enum sl_action a = weq(act, "allow") ? SL_ACT_ALLOW : SL_ACT_DENY;
	struct sl_port_range *v = NULL;
	size_t nv = 0, cv = 0;
	enum sl_proto p;
	struct tok t = lex_next(lx);

	if (parse_proto(c, &t, act, &p)) {
		pr->bad = true;
		recover_after(lx, &t);
		return;
	}
	if (r->action == SL_ACT_NONE) {
		r->action = a;
		pr->act_pos = act->pos;
	} else if (r->action != a) {
		ERR(c, act->pos, "a rule is all allow lines or all deny lines; split it into two rules",
		    "rule '%s' mixes allow and deny: '%s' at %s:%d:%d, '%s' here", r->name,
		    a == SL_ACT_ALLOW ? "deny" : "allow", pr->act_pos.file, pr->act_pos.line,
		    pr->act_pos.col, a == SL_ACT_ALLOW ? "allow" : "deny");
		pr->bad = true;
	}
	for (size_t i = 0; i < r->nlines; i++) {
		if (r->lines[i].proto == p) {
			ERR(c, t.pos, "write one line per protocol and merge the port lists",
			    "rule '%s' already has a %s line at %s:%d:%d", r->name, sl_proto_name(p),
			    r->lines[i].pos.file, r->lines[i].pos.line, r->lines[i].pos.col);
			pr->bad = true;
			break;
		}
	}

	struct tok u = lex_peek(lx);
	if (u.type == T_SEMI) {
		lex_next(lx);
		goto add;
	}
	if (p != SL_PROTO_TCP && p != SL_PROTO_UDP) {
		lex_next(lx);
		if (u.type == T_WORD && isdigit((unsigned char)u.s[0]))
			ERR(c, u.pos, "ports need tcp or udp; write one line for each",
			    "%s takes no ports, found %s", sl_proto_name(p), TD(u));
		else
			ERR(c, u.pos, NULL, "expected ';' after '%s', found %s",
			    sl_proto_name(p), TD(u));
		pr->bad = true;
		recover_after(lx, &u);
		return;
	}
	for (;;) {
		struct tok w = lex_next(lx);
		const char *numstart;

		if (w.type != T_WORD) {
			ERR(c, w.pos, NULL, "expected a port or port range after %s, found %s",
			    nv ? "','" : sl_proto_name(p), TD(w));
			goto fail_after;
		}
		if (GROW(c, v, cv, nv))
			goto fail;
		if (port_item(c, lx, &w, &v[nv])) {
			recover_block(lx);
			goto fail;
		}
		nv++;
		u = lex_peek(lx);
		if (u.type == T_COMMA) {
			if (!u.ws_before && thousands_at(lx, u.s, &numstart)) {
				char hint[128];
				struct sl_pos np = u.pos;

				np.col -= (int)(u.s - numstart);
				thousands_hint(lx, u.s, hint, sizeof(hint));
				ERR(c, np, hint, "'%.*s' reads as a number with a thousands separator; "
				    "port lists use ',' only between ports",
				    (int)(u.s - numstart) + 4, numstart);
				recover_block(lx);
				goto fail;
			}
			lex_next(lx);
			continue;
		}
		if (u.type == T_SEMI) {
			lex_next(lx);
			break;
		}
		lex_next(lx);
		ERR(c, u.pos, u.type == T_WORD && isdigit((unsigned char)u.s[0]) ?
		    "separate ports with ','" : NULL,
		    "expected ';' after the port list, found %s", TD(u));
		w = u;
fail_after:
		recover_after(lx, &w);
		goto fail;
	}
	nv = sl__ports_normalize(v, nv);
add:
	if (GROW(c, r->lines, pr->clines, r->nlines))
		goto fail;
	r->lines[r->nlines].proto = p;
	r->lines[r->nlines].ports = nv ? v : NULL;
	r->lines[r->nlines].nports = nv;
	r->lines[r->nlines].pos = t.pos;
	r->nlines++;
	if (!nv)
		free(v);
	return;
fail:
	pr->bad = true;
	free(v);
}

static void parse_to(struct pctx *c, struct lexer *lx, size_t ri)
{
	struct prule *pr = &c->pr[ri];
	bool first = true;

	pr->has_to = true;
	for (;;) {
		struct tok t = lex_next(lx);

		if (t.type != T_WORD) {
			ERR(c, t.pos, first ? "write `to any;` to match every destination" : NULL,
			    "expected a destination after '%s', found %s", first ? "to" : ",", TD(t));
			pr->bad = true;
			recover_after(lx, &t);
			return;
		}
		first = false;
		if (parse_dst(c, lx, &t, &pr->d, W_RULE))
			pr->bad = true;
		if (c->stop)
			return;
		struct tok u = lex_next(lx);
		if (u.type == T_COMMA)
			continue;
		if (u.type == T_SEMI)
			return;
		ERR(c, u.pos, u.type == T_WORD ? "separate destinations with ','" : NULL,
		    "expected ',' or ';' after the destination, found %s", TD(u));
		pr->bad = true;
		recover_after(lx, &u);
		return;
	}
}

static void parse_rule(struct pctx *c, struct lexer *lx)
{
	struct sl_ruleset *rs = c->rs;
	struct tok t = lex_next(lx);
	char *name = take_name(c, &t, "rule", "rule");
	size_t ri;
	long prev;

	if (!name) {
		recover_top(lx, &t);
		return;
	}
	prev = nmap_get(&c->rulemap, name);
	if (prev >= 0) {
		struct sl_pos p = rs->rules[prev].pos;

		ERR(c, t.pos, "rule names are unique", "rule '%s' is already defined at %s:%d:%d",
		    name, p.file, p.line, p.col);
	}
	if (rs->nrules >= SL_MAX_RULES && !c->too_many_rules) {
		ERR(c, t.pos, NULL, "too many rules: sluice holds at most %d", SL_MAX_RULES);
		c->too_many_rules = true;
	}
	if (GROW(c, rs->rules, c->crules, rs->nrules) || GROW(c, c->pr, c->cpr, rs->nrules)) {
		free(name);
		return;
	}
	ri = rs->nrules++;
	memset(&rs->rules[ri], 0, sizeof(rs->rules[ri]));
	memset(&c->pr[ri], 0, sizeof(c->pr[ri]));
	rs->rules[ri].name = name;
	rs->rules[ri].pos = t.pos;
	if (prev < 0 && nmap_put(c, &c->rulemap, name, ri))
		return;

	struct tok o = lex_next(lx);
	struct prule *pr;
	if (o.type != T_LBRACE) {
		ERR(c, o.pos, "write rule NAME { allow tcp 443; to 192.0.2.0/24; }",
		    "expected '{' after the rule name, found %s", TD(o));
		c->pr[ri].bad = true;
		recover_top(lx, &o);
		return;
	}
	for (;;) {
		struct tok s = lex_next(lx);

		if (c->stop)
			return;
		if (s.type == T_RBRACE)
			break;
		if (s.type == T_EOF) {
			ERR(c, s.pos, NULL, "expected '}' to close rule '%s' (opened at %d:%d), found end of file",
			    name, o.pos.line, o.pos.col);
			c->pr[ri].bad = true;
			return;
		}
		if (weq(&s, "allow") || weq(&s, "deny")) {
			parse_line(c, lx, ri, &s);
		} else if (weq(&s, "to")) {
			parse_to(c, lx, ri);
		} else if (s.type == T_SEMI) {
			continue;
		} else {
			const char *hint = NULL;

			if (weq(&s, "rule") || weq(&s, "set") || weq(&s, "include"))
				hint = "is a '}' missing before it?";
			else if (weq(&s, "from") || weq(&s, "dst") || weq(&s, "dest"))
				hint = "destinations are written `to A, B;`";
			if (s.type != T_BAD)
				ERR(c, s.pos, hint, "expected 'allow', 'deny', 'to' or '}' in rule '%s', found %s",
				    name, TD(s));
			c->pr[ri].bad = true;
			recover_after(lx, &s);
		}
	}
	if (lex_peek(lx).type == T_SEMI)
		lex_next(lx);

	pr = &c->pr[ri];
	struct sl_rule *r = &rs->rules[ri];
	sl__lint_list(c, &pr->d, "rule", name, t.pos);
	if (pr->bad)
		return;
	if (r->nlines == 0)
		ERR(c, t.pos, "add a line such as `allow tcp 443;` or `deny any;`",
		    "rule '%s' has no allow or deny line", name);
	if (!pr->has_to)
		ERR(c, t.pos, "write `to any;` to match every destination",
		    "rule '%s' has no destinations (no `to` line)", name);
	else if (pr->d.nc == 0 && pr->d.nh == 0)
		WARN(c, t.pos, NULL, "rule '%s' matches nothing: its destination sets and files are empty",
		     name);
}

static void parse_buf(struct pctx *c, const char *file, bool is_buffer,
		      const char *buf, size_t len)
{
	struct lexer lx;
	int v;

	lex_init(&lx, c, file, is_buffer, buf, len);
	while (!c->stop) {
		struct tok t = lex_next(&lx);

		if (t.type == T_EOF)
			break;
		if (t.type == T_SEMI)
			continue;
		if (weq(&t, "rule")) {
			parse_rule(c, &lx);
		} else if (weq(&t, "set")) {
			parse_set(c, &lx);
		} else if (weq(&t, "include")) {
			parse_include(c, &lx, &t);
		} else if (weq(&t, "resolvers")) {
			parse_resolvers(c, &lx);
		} else if (weq(&t, "policy")) {
			v = c->rs->policy == SL_POLICY_ALLOW;
			parse_choice(c, &lx, &t, "drop", "allow", &v, &c->policy_pos);
			c->rs->policy = v ? SL_POLICY_ALLOW : SL_POLICY_DROP;
		} else if (weq(&t, "mode")) {
			v = c->rs->mode == SL_MODE_AUDIT;
			parse_choice(c, &lx, &t, "enforce", "audit", &v, &c->mode_pos);
			c->rs->mode = v ? SL_MODE_AUDIT : SL_MODE_ENFORCE;
		} else if (weq(&t, "control")) {
			v = !c->rs->control_pass;
			parse_choice(c, &lx, &t, "pass", "filter", &v, &c->control_pos);
			c->rs->control_pass = !v;
		} else {
			const char *hint = NULL;

			if (weq(&t, "allow") || weq(&t, "deny") || weq(&t, "to"))
				hint = "allow, deny and to lines go inside rule NAME { ... }";
			if (t.type != T_BAD)
				ERR(c, t.pos, hint, "expected a statement (rule, set, include, policy, "
				    "mode, control or resolvers), found %s", TD(t));
			recover_top(&lx, &t);
		}
	}
}

/* ------------------------------------------------------------ public API */

static void ctx_free(struct pctx *c)
{
	for (size_t i = 0; i < c->nsets; i++) {
		free(c->sets[i].name);
		sl__dlist_free(&c->sets[i].d);
	}
	free(c->sets);
	for (size_t i = 0; i < c->rs->nrules && c->pr; i++)
		sl__dlist_free(&c->pr[i].d);
	free(c->pr);
	free(c->setmap.v);
	free(c->rulemap.v);
	for (int i = 0; i <= SL_MAX_INCLUDE_DEPTH + 1; i++)
		free(c->stack_real[i]);
}

static void ctx_init(struct pctx *c, struct sl_ruleset *rs, struct sl_diags *d)
{
	memset(rs, 0, sizeof(*rs));
	rs->policy = SL_POLICY_DROP;
	rs->mode = SL_MODE_ENFORCE;
	rs->control_pass = true;
	memset(c, 0, sizeof(*c));
	c->rs = rs;
	c->d = d;
}

static int finish(struct pctx *c)
{
	if (!c->nerr && !c->stop) {
		if (sl__finalize(c) == 0)
			sl__lint_rules(c);
	}
	ctx_free(c);
	if (c->nerr || c->stop) {
		sl_ruleset_free(c->rs);
		return -EINVAL;
	}
	return 0;
}

int sl_ruleset_parse(const char *name, const char *text, size_t len,
		     struct sl_ruleset *rs, struct sl_diags *d)
{
	struct pctx c;
	const char *file;

	ctx_init(&c, rs, d);
	file = intern(&c, name ? name : "<input>");
	c.stack_disp[0] = file;
	parse_buf(&c, file, true, text ? text : "", text ? len : 0);
	return finish(&c);
}

int sl_ruleset_load(const char *path, struct sl_ruleset *rs, struct sl_diags *d)
{
	struct sl_pos pos = { path, 0, 0 };
	struct pctx c;
	char *buf = NULL;
	size_t len = 0;
	int err;

	ctx_init(&c, rs, d);
	err = read_file(path, &buf, &len);
	if (err) {
		sl_diag_add(d, SL_SEV_ERROR, pos, NULL, "cannot read rules file: %s", strerror(-err));
		memset(rs, 0, sizeof(*rs));
		return err;
	}
	const char *file = intern(&c, path);
	c.stack_disp[0] = file;
	c.stack_real[0] = realpath(path, NULL);
	parse_buf(&c, file, false, buf, len);
	free(buf);
	return finish(&c);
}

void sl_ruleset_free(struct sl_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];

		free(r->name);
		for (size_t j = 0; j < r->nlines; j++)
			free(r->lines[j].ports);
		free(r->lines);
		free(r->dsts);
		for (size_t j = 0; j < r->nhosts; j++)
			free(r->hosts[j].name);
		free(r->hosts);
	}
	free(rs->rules);
	free(rs->resolvers);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	memset(rs, 0, sizeof(*rs));
}
