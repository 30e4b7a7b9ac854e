// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-bench - the measuring half of `make bench` (scripts/bench drives it and
 * turns its output into bench/results.json and a Markdown table).  Every
 * subcommand prints one JSON object per line, every figure a median over
 * repeated runs, every comparison measured in the same process.
 *
 *   sl-bench pkt RULES [RUNS]          per-packet cost under BPF_PROG_TEST_RUN
 *                                      (repeat 1e6): empty TC program, parser
 *                                      only, sluice_tc on RULES, for a set of
 *                                      packets (SecureVideo pack cases)
 *   sl-bench gen DIR FAMILY N SEED [lab|doc|many]
 *                                      write DIR/synth.rules: N random prefixes
 *                                      of mixed lengths over four allow rules
 *                                      with different port sets (+ the
 *                                      documentation-range rules of the
 *                                      gateway lab: "lab"; IPv6 "doc": the
 *                                      prefixes inside 2001:db8::/33 and
 *                                      DIR/dsts.txt, random destinations
 *                                      inside them for sl-blast flood6;
 *                                      IPv4 "many": no /8../15, whose 5 %
 *                                      cover every /16 with one class and
 *                                      fold the table: /16../32 of many
 *                                      classes, the hard case)
 *   sl-bench scale RULES FAMILY [RUNS] parse/compile/load times, map memory
 *                                      (fdinfo memlock, what bpftool shows),
 *                                      hot ns/packet, random-destination cost
 *                                      of sluice's classifier vs a bare LPM
 *                                      trie of the same prefixes vs harness
 *   sl-bench free RULES READY GO [drain]
 *                                      load RULES, create READY, wait for GO,
 *                                      then release the maps (the kernel frees
 *                                      them); drain: empty the tries first as
 *                                      sluice apply does (sl_map_drain)
 *   sl-bench learn RULES [RUNS]        the DNS learner (sluice_learn) beside the
 *                                      empty program on non-DNS packets and on
 *                                      a DNS answer from a non-resolver
 *   sl-bench verify RULES [RUNS]       each program loaded alone on the maps of
 *                                      RULES: verifier time, instructions
 *                                      processed, wall time of the load
 *   sl-bench variant PROGPIN OBJ PROG OUTPIN, sl-bench tcx DEV PROGPIN LINKPIN
 *                                      the gateway benchmark's helpers
 *                                      (gateway.c)
 *   sl-bench gwrun PREFIX ROUNDS SLOT_MS HOT RAND ROW...
 *                                      its timed rounds (gwrun.c)
 *   sl-bench inpath PIN... -- CMD...   run CMD (traffic) with BPF run-time stats
 *                                      on; what each pinned program spent per
 *                                      run meanwhile (run_time_ns / run_cnt),
 *                                      and the machine's softirq time
 *   sl-bench export RULES nft|ipset NAME
 *                                      the IPv4 allow set of an allow-only
 *                                      ruleset as an nft interval set
 *                                      (flattened: nft refuses overlapping
 *                                      intervals) or as `ipset restore` lines
 *
 * Needs root for pkt and scale (BPF).  No packet leaves the machine.
 */
#include "bench.h"
#include "bench_lookup.skel.h"
#include "bench_lookup_lpm.skel.h"
#include "sluice_lpm.skel.h"

struct bench_dst {              /* as in bpf/bench_lookup.bpf.c */
	uint32_t addr[4];
	uint16_t port;
	uint8_t family;
	uint8_t proto;
};

/* ------------------------------------------------------------ helpers */

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t rng_s;
uint64_t rnd(void)        /* splitmix64 */
{
	uint64_t z = (rng_s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sl-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

int quiet_libbpf(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

/* Kernel memory of a map as the kernel accounts it (bpftool's "memlock"). */
long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}


void load_rules(const char *path, struct loaded *L, unsigned int progs)
{
	struct sl_diags d = {0};
	double t0;
	int e;

	memset(L, 0, sizeof(*L));
	t0 = now_ms();
	e = sl_ruleset_load(path, &L->rs, &d);
	L->parse_ms = now_ms() - t0;
	if (e) {
		sl_diag_print(&d, stderr);
		die("%s: %s", path, strerror(-e));
	}
	sl_diag_free(&d);
	t0 = now_ms();
	if ((e = sl_compile(&L->rs, NULL, 1, &L->img)))
		die("compile %s: %s", path, strerror(-e));
	L->compile_ms = now_ms() - t0;
	t0 = now_ms();
	if ((e = sl_bpf_load_progs(&L->img, false, NULL, progs, &L->skel)))
		die("load %s: %s", path, strerror(-e));
	L->load_ms = now_ms() - t0;
}

void unload(struct loaded *L)
{
	sl_bpf_destroy(L->skel);
	sl_image_free(&L->img);
	sl_ruleset_free(&L->rs);
}

/*
 * Before loading @obj, make each of its maps share the same-named map of
 * @from (the internal .rodata/.bss/.data maps excepted): a second program
 * object then runs on exactly the maps sluice loaded.
 */
void reuse_maps(struct bpf_object *obj, struct bpf_object *from)
{
	struct bpf_map *m, *src;
	int e;

	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m))
			continue;
		src = bpf_object__find_map_by_name(from, bpf_map__name(m));
		if (!src)
			continue;
		if ((e = bpf_map__reuse_fd(m, bpf_map__fd(src))))
			die("reuse map %s: %s", bpf_map__name(m), strerror(-e));
	}
}

/* The "before" data path (bpf/sluice_lpm.bpf.c) on the maps of @L. */
static struct sluice_lpm_bpf *load_before(const struct loaded *L)
{
	struct sluice_lpm_bpf *b = sluice_lpm_bpf__open();
	int e;

	if (!b)
		die("sluice_lpm open: %s", strerror(errno));
	b->rodata->cfg = L->img.cfg;
	b->rodata->cfg.record = 0;
	bpf_program__set_autoload(b->progs.sluice_xdp, false);
	bpf_program__set_autoload(b->progs.sluice_cgroup, false);
	bpf_program__set_autoload(b->progs.sluice_learn, false);
	reuse_maps(b->obj, L->skel->obj);
	if ((e = sluice_lpm_bpf__load(b)))
		die("sluice_lpm load: %s", strerror(-e));
	return b;
}

/* Median ns/packet of @prog_fd on a frame, repeat 1e6, @runs times. */
double run_pkt(int prog_fd, const void *frame, size_t len, int runs, int *retval)
{
	double v[32];

	if (runs > 32)
		runs = 32;
	for (int i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .repeat = 1000000);
		if (bpf_prog_test_run_opts(prog_fd, &o))
			die("test_run: %s", strerror(errno));
		v[i] = o.duration;
		*retval = (int)o.retval;
	}
	return median(v, runs);
}

/* ---------------------------------------------------------------- pkt */

struct pk_spec spec(int fam, const char *dst, uint8_t proto, uint16_t port)
{
	struct pk_spec s = { .family = fam, .proto = proto, .dport = port, .payload = 64 };

	if (fam == 4)
		pk_ip4(s.dst, dst);
	else
		pk_ip6(s.dst, dst);
	return s;
}

/*
 * The cost of sharing one program among several attachments (user/kernel/
 * group.c): sluice_tc with its record a constant (one attachment) against
 * the same program looking it up in att_ifx by the packet's interface (the
 * loopback device under test_run), IPv4 Zoom media, interleaved rounds.
 */
static void shared_cost(const struct loaded *L, int runs)
{
	struct pk_spec s = spec(4, "3.7.35.1", 17, 8801);
	struct sl_ifx_val v = { .ifindex = 1, .att = 0 };       /* slot 1 & mask of a table at 0 */
	struct sluice_bpf *sh = sluice_bpf__open();
	uint8_t frame[PK_MAX_FRAME];
	size_t len = pk_build(&s, frame, NULL);
	double a[32], b[32];
	__u32 slot = 1;
	int rv_a = 0, rv_b = 0, e;

	if (!sh)
		die("open: %s", strerror(errno));
	struct bpf_program *pg;

	bpf_object__for_each_program(pg, sh->obj)
		bpf_program__set_autoload(pg, pg == sh->progs.sluice_tc);
	sh->rodata->cfg = L->img.cfg;
	sh->rodata->cfg_names = L->img.nnames > 0;
	sh->rodata->att_index = SL_ATT_BY_IFINDEX;
	sh->rodata->att_ifx_mask = 7;
	reuse_maps(sh->obj, L->skel->obj);
	if ((e = sluice_bpf__load(sh)))
		die("load the shared sluice_tc: %s", strerror(-e));
	if (bpf_map_update_elem(bpf_map__fd(L->skel->maps.att_ifx), &slot, &v, BPF_ANY))
		die("att_ifx: %s", strerror(errno));
	if (runs > 32)
		runs = 32;
	for (int r = 0; r < runs; r++) {
		a[r] = run_pkt(bpf_program__fd(L->skel->progs.sluice_tc), frame, len, 1, &rv_a);
		b[r] = run_pkt(bpf_program__fd(sh->progs.sluice_tc), frame, len, 1, &rv_b);
	}
	if (rv_a != rv_b)
		die("shared: the verdicts differ (%d vs %d)", rv_a, rv_b);
	printf("{\"section\":\"shared\",\"case\":\"v4_zoom\",\"alone_ns\":%.1f,\"shared_ns\":%.1f,"
	       "\"runs\":%d,\"repeat\":1000000}\n", median(a, runs), median(b, runs), runs);
	sluice_bpf__destroy(sh);
}

static int cmd_pkt(const char *rules, int runs)
{
	static const struct { const char *id, *what; int fam; const char *dst; uint8_t proto; uint16_t port; }
	cases[] = {
		{ "v4_zoom", "IPv4 Zoom media allowed (udp 8801 to 3.7.35.1)", 4, "3.7.35.1", 17, 8801 },
		{ "v4_twilio", "IPv4 Twilio media allowed (udp 10000 to 34.203.254.1)", 4, "34.203.254.1", 17, 10000 },
		{ "v4_policy_drop", "IPv4 dropped by policy (udp 443 to 8.8.8.8)", 4, "8.8.8.8", 17, 443 },
		{ "v4_near_miss", "IPv4 dropped, near miss (udp 9999 to 3.7.35.1)", 4, "3.7.35.1", 17, 9999 },
		{ "v6_zoom", "IPv6 Zoom media allowed (udp 8801 to 2407:30c0::1)", 6, "2407:30c0::1", 17, 8801 },
		{ "v6_policy_drop", "IPv6 dropped by policy (udp 443 to 2a00:1450::1)", 6, "2a00:1450::1", 17, 443 },
	};
	struct bench_pkt_bpf *bp;
	struct sluice_lpm_bpf *before;
	struct loaded L;
	uint8_t frame[PK_MAX_FRAME];

	load_rules(rules, &L, SL_PROG_TC);
	before = load_before(&L);
	if (!(bp = bench_pkt_bpf__open_and_load()))
		die("bench_pkt: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pk_spec s = spec(cases[i].fam, cases[i].dst, cases[i].proto, cases[i].port);
		size_t len = pk_build(&s, frame, NULL);
		int rv_e, rv_p, rv_s, rv_b;
		double e = run_pkt(bpf_program__fd(bp->progs.bench_empty), frame, len, runs, &rv_e);
		double p = run_pkt(bpf_program__fd(bp->progs.bench_parse), frame, len, runs, &rv_p);
		double c = run_pkt(bpf_program__fd(L.skel->progs.sluice_tc), frame, len, runs, &rv_s);
		double b = run_pkt(bpf_program__fd(before->progs.sluice_tc), frame, len, runs, &rv_b);

		if (rv_b != rv_s)
			die("%s: the before and after data paths disagree (%d vs %d)", cases[i].id,
			    rv_b, rv_s);
		printf("{\"section\":\"pkt\",\"case\":\"%s\",\"what\":\"%s\",\"empty_ns\":%.1f,"
		       "\"parse_ns\":%.1f,\"sluice_ns\":%.1f,\"before_ns\":%.1f,\"verdict\":\"%s\","
		       "\"runs\":%d,\"repeat\":1000000}\n",
		       cases[i].id, cases[i].what, e, p, c, b, rv_s == 2 ? "drop" : "pass", runs);
	}
	shared_cost(&L, runs);
	bench_pkt_bpf__destroy(bp);
	sluice_lpm_bpf__destroy(before);
	unload(&L);
	return 0;
}

/* ---------------------------------------------------------------- gen */

static bool gen_many;          /* gen ... many: no /8../15 */

static void rand_prefix4(uint8_t *a, int *plen)
{
	uint32_t x, r = rnd() % 100;
	int l;

	if (gen_many && r < 5)
		r = 5 + rnd() % 95;
	if (r < 5)        l = 8 + rnd() % 8;        /* /8../15   5% */
	else if (r < 20)  l = 16 + rnd() % 8;       /* /16../23 15% */
	else if (r < 75)  l = 24;                   /* /24      55% */
	else              l = 25 + rnd() % 8;       /* /25../32 25% */
	for (;;) {
		x = (uint32_t)rnd();
		uint8_t o = x >> 24;
		if (o == 0 || o == 10 || o == 127 || o >= 224)
			continue;               /* not routable or special */
		if ((x >> 8) == 0xc00002 || (x >> 8) == 0xc63364 || (x >> 8) == 0xcb0071)
			continue;               /* the documentation ranges: the lab's */
		if (l < 24 && ((x >> 24) == 192 || (x >> 24) == 198 || (x >> 24) == 203))
			continue;               /* nor anything that would contain them */
		break;
	}
	x &= l ? ~0u << (32 - l) : 0;
	x = htonl(x);
	memcpy(a, &x, 4);
	*plen = l;
}

/* A prefix inside 2001:db8::/33 (the documentation range, the lower half:
 * the IPv6 gateway lab's links are in 2001:db8:ffff::/48), /52../64 (1e5
 * shorter ones would cover the /33 many times over: one class). */
static void rand_prefix6_doc(uint8_t *a, int *plen)
{
	uint32_t r = rnd() % 100;
	int l = r < 20 ? 52 + rnd() % 4 : r < 70 ? 56 : 57 + rnd() % 8;
	uint64_t hi = 0x20010db800000000ULL | (rnd() & 0x7fffffffULL), lo = rnd();

	for (int i = 0; i < 8; i++) {
		a[i] = hi >> (56 - 8 * i);
		a[8 + i] = lo >> (56 - 8 * i);
	}
	for (int b = l; b < 128; b++)
		a[b / 8] &= ~(0x80 >> (b % 8));
	*plen = l;
}

static void rand_prefix6(uint8_t *a, int *plen)
{
	uint32_t r = rnd() % 100;
	int l;

	if (r < 10)       l = 24 + rnd() % 9;       /* /24../32 */
	else if (r < 40)  l = 33 + rnd() % 15;      /* /33../47 */
	else if (r < 80)  l = 48;
	else              l = 49 + rnd() % 16;      /* /49../64 */
	for (;;) {
		uint64_t hi = rnd(), lo = rnd();

		hi = (hi & ~(7ULL << 61)) | (1ULL << 61);       /* 2000::/3 */
		if ((hi >> 32) == 0x20010db8)
			continue;
		for (int i = 0; i < 8; i++) {
			a[i] = hi >> (56 - 8 * i);
			a[8 + i] = lo >> (56 - 8 * i);
		}
		break;
	}
	for (int b = l; b < 128; b++)
		a[b / 8] &= ~(0x80 >> (b % 8));
	*plen = l;
}

static const char *const port_sets[4][2] = {
	{ "allow tcp 443, 8801-8802;", "allow udp 3478-3479, 8801-8810;" },     /* media */
	{ "allow tcp 443, 3478, 5349;", "allow udp 3478, 5004-5010;" },         /* turn */
	{ "allow tcp 80, 443;", NULL },                                          /* web */
	{ "allow udp 53, 123;", "allow tcp 53;" },                               /* infra */
};

static int cmd_gen(const char *dir, int fam, long n, uint64_t seed, const char *extra)
{
	char path[4096], a[INET6_ADDRSTRLEN];
	FILE *rf, *af[4];
	uint8_t addr[16] = {0};
	int plen;

	rng_s = seed;
	for (int r = 0; r < 4; r++) {
		snprintf(path, sizeof(path), "%s/r%d.txt", dir, r);
		if (!(af[r] = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
		fprintf(af[r], "# sl-bench gen: family %d, seed %llu\n", fam, (unsigned long long)seed);
	}
	bool doc = extra && !strcmp(extra, "doc") && fam == 6;

	gen_many = extra && !strcmp(extra, "many") && fam == 4;
	long every = (n + 4095) / 4096;         /* ~4096 destinations: 4 of every 4 * every */
	FILE *df = NULL;

	if (doc) {
		snprintf(path, sizeof(path), "%s/dsts.txt", dir);
		if (!(df = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
	}
	for (long i = 0; i < n; i++) {
		int r = rnd() % 4;

		memset(addr, 0, sizeof(addr));
		if (fam == 4)
			rand_prefix4(addr, &plen);
		else if (doc)
			rand_prefix6_doc(addr, &plen);
		else
			rand_prefix6(addr, &plen);
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
		fprintf(af[r], "%s/%d\n", a, plen);
		/* doc: 4096 destinations, each a random address inside a prefix of
		 * synth-0 (first in the file: udp 8801-8810 allowed) */
		if (df && r == 0 && i % every < 4) {
			for (int b = plen; b < 128; b++)
				if (rnd() & 1)
					addr[b / 8] |= 0x80 >> (b % 8);
			inet_ntop(AF_INET6, addr, a, sizeof(a));
			fprintf(df, "%s\n", a);
		}
	}
	if (df)
		fclose(df);
	for (int r = 0; r < 4; r++)
		fclose(af[r]);
	snprintf(path, sizeof(path), "%s/synth.rules", dir);
	if (!(rf = fopen(path, "w")))
		die("%s: %s", path, strerror(errno));
	fprintf(rf, "# sl-bench gen: %ld random IPv%d prefixes, seed %llu\npolicy drop;\n", n, fam,
		(unsigned long long)seed);
	if (extra && !strcmp(extra, "lab")) {
		/* The gateway lab's destinations (documentation range, nested). */
		fprintf(rf, "rule lab-turn { allow udp 3478, 5004-5010; to 203.0.113.0/25, 203.0.113.128/26; }\n"
			    "rule lab-media { allow udp 8801-8810; allow tcp 443; to 203.0.113.160/27; }\n");
	}
	for (int r = 0; r < 4; r++) {
		fprintf(rf, "rule synth-%d {\n", r);
		for (int k = 0; k < 2; k++)
			if (port_sets[r][k])
				fprintf(rf, "    %s\n", port_sets[r][k]);
		fprintf(rf, "    to file \"r%d.txt\";\n}\n", r);
	}
	fclose(rf);
	printf("{\"section\":\"gen\",\"path\":\"%s\",\"family\":%d,\"prefixes\":%ld}\n", path, fam, n);
	return 0;
}

/* -------------------------------------------------------------- scale */

/* Random destinations inside random prefixes of the image. */
static void fill_dsts(const struct sl_image *img, int fam, struct bench_dst *d, size_t n)
{
	static const uint16_t ports[] = { 8801, 3478, 443, 53, 5004, 9999, 80, 123 };

	for (size_t i = 0; i < n; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].family = fam;
		d[i].proto = rnd() % 4 ? 17 : 6;
		d[i].port = ports[rnd() % 8];
		if (fam == 4) {
			const struct sl_dst4_entry *e = &img->dst4[rnd() % img->ndst4];
			uint32_t a, host = e->key.prefixlen == 32 ? 0 : (uint32_t)rnd() & (~0u >> e->key.prefixlen);

			memcpy(&a, e->key.addr, 4);
			a = htonl(ntohl(a) | host);
			d[i].addr[0] = a;
		} else {
			const struct sl_dst6_entry *e = &img->dst6[rnd() % img->ndst6];
			uint8_t b[16];

			memcpy(b, e->key.addr, 16);
			for (int k = e->key.prefixlen; k < 128; k++)
				if (rnd() & 1)
					b[k / 8] |= 0x80 >> (k % 8);
			memcpy(d[i].addr, b, 16);
		}
	}
}

/* The globals of bench_lookup.bpf.c, the same in both of its builds. */
struct bl_vars {
	__u32 *op, *nloops, *mask;
	__u64 *hits;
};
#define BL_VARS(skel) ((struct bl_vars){ &(skel)->bss->op, &(skel)->bss->nloops, \
					 &(skel)->bss->mask, &(skel)->bss->hits })

static int cmd_scale(const char *rules, int fam, int runs)
{
	struct bench_lookup_bpf *bl;
	struct bench_lookup_lpm_bpf *bb;
	struct sluice_lpm_bpf *before;
	struct bl_vars bss[2];
	struct loaded L;
	const size_t ndsts = 1 << 16;
	struct bench_dst *dsts;
	uint8_t frame[PK_MAX_FRAME];
	double v[4][32], res[4], hot, hot_before;
	int e, rv, rvb;
	uint32_t nloops = 1 << 17;
	long long mem4, mem6, memp, memc, memd16, memd8, memd6, memn6;
	size_t nbare;
	struct bpf_object *objs[2];

	if (runs > 32)
		runs = 32;
	load_rules(rules, &L, SL_PROG_TC);
	if ((fam == 4 && !L.img.ndst4) || (fam == 6 && !L.img.ndst6))
		die("%s: no IPv%d prefix", rules, fam);
	mem4 = map_memlock(bpf_map__fd(L.skel->maps.dst4));
	mem6 = map_memlock(bpf_map__fd(L.skel->maps.dst6));
	memp = map_memlock(bpf_map__fd(L.skel->maps.ports));
	memc = map_memlock(bpf_map__fd(L.skel->maps.classes));
	memd16 = map_memlock(bpf_map__fd(L.skel->maps.dir16));
	memd8 = map_memlock(bpf_map__fd(L.skel->maps.dir8));
	memd6 = map_memlock(bpf_map__fd(L.skel->maps.dir6));
	memn6 = map_memlock(bpf_map__fd(L.skel->maps.node6));
	before = load_before(&L);

	rng_s = 12345;
	dsts = calloc(ndsts, sizeof(*dsts));
	fill_dsts(&L.img, fam, dsts, ndsts);

	/* hot: one packet to the first random destination, repeat 1e6 */
	{
		struct pk_spec s = { .family = fam, .proto = dsts[0].proto, .dport = dsts[0].port,
				     .payload = 64 };
		size_t len;

		memcpy(s.dst, dsts[0].addr, fam == 4 ? 4 : 16);
		len = pk_build(&s, frame, NULL);
		hot = run_pkt(bpf_program__fd(L.skel->progs.sluice_tc), frame, len, runs, &rv);
		hot_before = run_pkt(bpf_program__fd(before->progs.sluice_tc), frame, len, runs, &rvb);
		if (rv != rvb)
			die("hot packet: the before and after data paths disagree");
	}

	/* the random-destination programs (after, before), on sluice's maps + a bare trie */
	nbare = fam == 4 ? L.img.ndst4 : L.img.ndst6;
	if (!(bl = bench_lookup_bpf__open()) || !(bb = bench_lookup_lpm_bpf__open()))
		die("bench_lookup open: %s", strerror(errno));
	bl->rodata->cfg = L.img.cfg;
	bl->rodata->cfg.record = 0;
	bb->rodata->cfg = bl->rodata->cfg;
	objs[0] = bl->obj;
	objs[1] = bb->obj;
	bpf_map__set_max_entries(bl->maps.dsts, ndsts);
	bpf_map__set_max_entries(bl->maps.bare4, fam == 4 ? nbare : 1);
	bpf_map__set_max_entries(bl->maps.bare6, fam == 6 ? nbare : 1);
	reuse_maps(bl->obj, L.skel->obj);
	if ((e = bench_lookup_bpf__load(bl)))
		die("bench_lookup load: %s", strerror(-e));
	reuse_maps(bb->obj, L.skel->obj);
	reuse_maps(bb->obj, bl->obj);           /* dsts, bare4, bare6 */
	if ((e = bench_lookup_lpm_bpf__load(bb)))
		die("bench_lookup_lpm load: %s", strerror(-e));
	{
		int fd = bpf_map__fd(bl->maps.dsts);
		uint32_t *keys = malloc(ndsts * sizeof(*keys)), cnt = ndsts;

		for (uint32_t i = 0; i < ndsts; i++)
			keys[i] = i;
		if (bpf_map_update_batch(fd, keys, dsts, &cnt, NULL))
			die("dsts: %s", strerror(errno));
		free(keys);
	}
	{
		int fd = bpf_map__fd(fam == 4 ? bl->maps.bare4 : bl->maps.bare6);
		size_t ksz = fam == 4 ? sizeof(struct sl_lpm4_key) : sizeof(struct sl_lpm6_key);
		char *keys = malloc(nbare * ksz);
		uint32_t *vals = malloc(nbare * sizeof(*vals));

		for (size_t i = 0; i < nbare; i++) {
			if (fam == 4) {
				memcpy(keys + i * ksz, &L.img.dst4[i].key, ksz);
				vals[i] = L.img.dst4[i].val.class_id;
			} else {
				memcpy(keys + i * ksz, &L.img.dst6[i].key, ksz);
				vals[i] = L.img.dst6[i].val.class_id;
			}
		}
		for (size_t i = 0; i < nbare; ) {
			uint32_t cnt = nbare - i < 65536 ? nbare - i : 65536;

			if (bpf_map_update_batch(fd, keys + i * ksz, vals + i, &cnt, NULL))
				die("bare trie: %s", strerror(errno));
			i += cnt;
		}
		free(keys);
		free(vals);
	}
	bss[0] = BL_VARS(bl);
	bss[1] = BL_VARS(bb);
	for (int k = 0; k < 2; k++) {
		*bss[k].mask = ndsts - 1;
		*bss[k].nloops = nloops;
	}
	/* interleave the ops run by run, so drift hits them all alike:
	 * harness, bare trie, sluice (after), sluice (before) */
	uint64_t hits[2] = { 0, 0 };

	for (int r = 0; r < runs; r++) {
		for (int op = 0; op < 4; op++) {
			LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = 64, .repeat = 1);
			int k = op == 3;
			struct bpf_program *pg = bpf_object__find_program_by_name(objs[k], "bench_loop");

			*bss[k].op = op == 0 ? 0 : op == 1 ? (fam == 4 ? 1 : 2) : 3;
			*bss[k].hits = 0;
			if (bpf_prog_test_run_opts(bpf_program__fd(pg), &t))
				die("test_run bench_loop: %s", strerror(errno));
			v[op][r] = (double)t.duration / nloops;
			if (op >= 2)
				hits[k] += *bss[k].hits;
		}
	}
	if (hits[0] == 0 || hits[0] * 10 < hits[1] * 9 || hits[1] * 10 < hits[0] * 9)
		die("random destinations: passes after %llu, before %llu: the data paths disagree",
		    (unsigned long long)hits[0], (unsigned long long)hits[1]);
	for (int op = 0; op < 4; op++)
		res[op] = median(v[op], runs);
	printf("{\"section\":\"scale\",\"rules\":\"%s\",\"family\":%d,\"prefixes\":%zu,"
	       "\"classes\":%u,\"port_entries\":%zu,\"parse_ms\":%.1f,\"compile_ms\":%.1f,"
	       "\"load_ms\":%.1f,\"mem_dst4\":%lld,\"mem_dst6\":%lld,\"mem_ports\":%lld,"
	       "\"mem_classes\":%lld,\"mem_dir16\":%lld,\"mem_dir8\":%lld,"
	       "\"mem_dir6\":%lld,\"mem_node6\":%lld,"
	       "\"hot_ns\":%.1f,\"hot_before_ns\":%.1f,\"rand_harness_ns\":%.1f,\"rand_bare_ns\":%.1f,"
	       "\"rand_sluice_ns\":%.1f,\"rand_before_ns\":%.1f,"
	       "\"rand_hits\":%llu,\"runs\":%d,\"nloops\":%u,\"ndsts\":%zu}\n",
	       rules, fam, nbare, L.img.nclasses, L.img.nports, L.parse_ms, L.compile_ms, L.load_ms,
	       mem4, mem6, memp, memc, memd16, memd8, memd6, memn6, hot, hot_before, res[0], res[1], res[2], res[3],
	       (unsigned long long)hits[0], runs, nloops, ndsts);
	bench_lookup_lpm_bpf__destroy(bb);
	bench_lookup_bpf__destroy(bl);
	sluice_lpm_bpf__destroy(before);
	free(dsts);
	unload(&L);
	return 0;
}

/* --------------------------------------------------------------- free */

/*
 * Load RULES (its maps, like an old generation), create READY, wait for GO,
 * then drop every reference.  scripts/bench runs a paced flow across the
 * gateway meanwhile and compares its longest gap with a run without the
 * free: the load's own CPU time is outside the window, the free inside.
 */
static int cmd_free(const char *rules, const char *ready, const char *go, bool drain)
{
	struct loaded L;
	double t0;
	FILE *f;

	load_rules(rules, &L, SL_PROG_TC);
	if (!(f = fopen(ready, "w")))
		die("%s: %s", ready, strerror(errno));
	fclose(f);
	while (access(go, F_OK))
		usleep(10000);
	/* the last references go: the kernel frees the maps (and their
	 * 1e6-node tries) from a work queue, not in this process */
	t0 = now_ms();
	if (drain &&
	    (sl_map_drain(bpf_map__fd(L.skel->maps.dst4), sizeof(struct sl_lpm4_key)) ||
	     sl_map_drain(bpf_map__fd(L.skel->maps.dst6), sizeof(struct sl_lpm6_key)) ||
	     sl_map_drain(bpf_map__fd(L.skel->maps.ports), sizeof(struct sl_port_key))))
		die("drain: %s", strerror(errno));
	unload(&L);
	printf("{\"section\":\"free\",\"rules\":\"%s\",\"release_ms\":%.1f}\n", rules, now_ms() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	libbpf_set_print(quiet_libbpf);
	if (argc >= 3 && !strcmp(argv[1], "pkt"))
		return cmd_pkt(argv[2], argc > 3 ? atoi(argv[3]) : 5);
	if (argc >= 6 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv[2], atoi(argv[3]), atol(argv[4]), strtoull(argv[5], NULL, 0),
			       argc > 6 ? argv[6] : NULL);
	if (argc >= 4 && !strcmp(argv[1], "scale"))
		return cmd_scale(argv[2], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 5);
	if (argc == 6 && !strcmp(argv[1], "variant"))
		return cmd_variant(argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 8 && !strcmp(argv[1], "gwrun"))
		return cmd_gwrun(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "tcx"))
		return cmd_tcx(argv[2], argv[3], argv[4]);
	if (argc >= 4 && !strcmp(argv[1], "inpath")) {
		int k = 2;

		while (k < argc && strcmp(argv[k], "--"))
			k++;
		if (k + 1 >= argc)
			die("inpath PIN... -- CMD...");
		return cmd_inpath(k - 2, argv + 2, argv + k + 1);
	}
	if (argc >= 6 && !strcmp(argv[1], "ablate"))
		return cmd_ablate(argv[2], atoi(argv[3]), argv[4], argc - 5, argv + 5);
	if (argc >= 3 && !strcmp(argv[1], "learn"))
		return cmd_learn(argv[2], argc > 3 ? atoi(argv[3]) : 5);
	if (argc >= 3 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2], argc > 3 ? atoi(argv[3]) : 5);
	if (argc >= 5 && !strcmp(argv[1], "export"))
		return cmd_export(argv[2], argv[3], argv[4]);
	if (argc >= 5 && !strcmp(argv[1], "free"))
		return cmd_free(argv[2], argv[3], argv[4], argc > 5 && !strcmp(argv[5], "drain"));
	fprintf(stderr, "usage: sl-bench pkt RULES [RUNS] | gen DIR FAMILY N SEED [lab|doc|many] |\n"
		"       scale RULES FAMILY [RUNS] | export RULES nft|ipset NAME |\n"
		"       free RULES READY GO [drain] | verify RULES [RUNS] |\n"
		"       inpath PIN... -- CMD... | learn RULES [RUNS]\n"
		"       ablate PROGPIN ROUNDS PINDIR OBJ...\n"
		"       variant PROGPIN OBJ PROG OUTPIN | tcx DEV PROGPIN LINKPIN |\n"
		"       gwrun PREFIX ROUNDS SLOT_MS HOT RAND NAME,LAB,KIND,PIN...\n");
	return 2;
}
