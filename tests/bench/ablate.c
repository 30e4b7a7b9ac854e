// SPDX-License-Identifier: GPL-2.0-only
/*
 * ablate.c - side-by-side per-packet cost of variants of sluice_tc
 * (bench/README.md "What changed in the data path"):
 *
 *   sl-bench ablate PROGPIN ROUNDS PINDIR OBJ...
 *       load sluice_tc of every BPF object OBJ on the maps (and the
 *       read-only configuration) of the program pinned at PROGPIN (an
 *       applied instance's prog-0), pin each at PINDIR/<n> (n = its
 *       position, from 1; 0 is the truly empty program) for in-path use,
 *       then run ROUNDS interleaved rounds of BPF_PROG_TEST_RUN (repeat
 *       1e6) of the empty program, PROGPIN itself and every variant on
 *       a few frames, and print per frame and program the median ns and
 *       the median of the same-round ratios to the empty program and to
 *       PROGPIN.  The verdicts must agree with PROGPIN's, or it says so.
 */
#include "bench.h"

#define AB_MAX_PROGS 16
#define AB_MAX_ROUNDS 64

static int ab_load(const char *path, const struct slb_map *maps, int n, struct bpf_object **objp)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p, *want = NULL;
	struct bpf_map *m;
	int e;

	if (!obj)
		die("%s: %s", path, strerror(errno));
	bpf_object__for_each_program(p, obj) {
		bool me = !strcmp(bpf_program__name(p), "sluice_tc");

		bpf_program__set_autoload(p, me);
		if (me)
			want = p;
	}
	if (!want)
		die("%s: no program sluice_tc", path);
	bpf_object__for_each_map(m, obj)
		for (int i = 0; i < n; i++)
			if (slb_same_map(m, &maps[i])) {
				if ((e = bpf_map__reuse_fd(m, maps[i].fd)))
					die("reuse map %s: %s", bpf_map__name(m), strerror(-e));
				break;
			}
	if ((e = bpf_object__load(obj)))
		die("%s: load: %s", path, strerror(-e));
	*objp = obj;
	return bpf_program__fd(want);
}

int cmd_ablate(const char *pin, int rounds, const char *pindir, int nobj, char **objs)
{
	static const struct { const char *id; int fam; const char *dst; uint8_t proto; uint16_t port; }
	cases[] = {
		{ "v4_doc_allowed", 4, "203.0.113.10", 17, 8801 },
		{ "v4_zoom", 4, "3.7.35.1", 17, 8801 },
		{ "v4_twilio", 4, "34.203.254.1", 17, 10000 },
		{ "v4_near_miss", 4, "3.7.35.1", 17, 9999 },
		{ "v4_policy_drop", 4, "8.8.8.8", 17, 443 },
		{ "v6_zoom", 6, "2407:30c0::1", 17, 8801 },
	};
	struct bpf_object *obj[AB_MAX_PROGS] = {0};
	struct slb_map maps[SLB_MAX_MAPS];
	struct bench_pkt_bpf *bp;
	int fd[AB_MAX_PROGS], np, n, pfd = bpf_obj_get(pin);
	static double v[AB_MAX_PROGS][AB_MAX_ROUNDS], re[AB_MAX_PROGS][AB_MAX_ROUNDS],
		rb[AB_MAX_PROGS][AB_MAX_ROUNDS];
	uint8_t frame[PK_MAX_FRAME];
	char path[4096];

	if (pfd < 0)
		die("%s: %s", pin, strerror(errno));
	if (nobj + 2 > AB_MAX_PROGS)
		die("ablate: at most %d objects", AB_MAX_PROGS - 2);
	if (rounds > AB_MAX_ROUNDS)
		rounds = AB_MAX_ROUNDS;
	if (!(bp = bench_pkt_bpf__open_and_load()))
		die("bench_pkt: %s", strerror(errno));
	n = slb_prog_maps(pfd, maps);
	fd[0] = bpf_program__fd(bp->progs.bench_empty);
	fd[1] = pfd;
	for (int i = 0; i < nobj; i++) {
		fd[i + 2] = ab_load(objs[i], maps, n, &obj[i + 2]);
		snprintf(path, sizeof(path), "%s/%d", pindir, i + 1);
		unlink(path);
		if (bpf_obj_pin(fd[i + 2], path))
			die("%s: %s", path, strerror(errno));
	}
	np = nobj + 2;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pk_spec s = spec(cases[c].fam, cases[c].dst, cases[c].proto, cases[c].port);
		size_t len = pk_build(&s, frame, NULL);
		int rv[AB_MAX_PROGS];

		for (int r = 0; r < rounds; r++) {
			for (int k = 0; k < np; k++) {
				int q = (k + r) % np;   /* rotate the order */

				v[q][r] = run_pkt(fd[q], frame, len, 1, &rv[q]);
			}
			for (int k = 0; k < np; k++) {
				re[k][r] = v[k][r] / v[0][r];
				rb[k][r] = v[k][r] - v[1][r];
			}
		}
		for (int k = 0; k < np; k++) {
			printf("{\"section\":\"ablate\",\"case\":\"%s\",\"prog\":\"%s\",\"ns\":%.1f,"
			       "\"per_empty\":%.3f,\"minus_orig_ns\":%.1f,\"same_verdict\":%s}\n",
			       cases[c].id, k == 0 ? "empty" : k == 1 ? pin : objs[k - 2],
			       median(v[k], rounds), median(re[k], rounds), median(rb[k], rounds),
			       k == 0 || rv[k] == rv[1] ? "true" : "false");
		}
	}
	for (int i = 2; i < np; i++)
		bpf_object__close(obj[i]);
	for (int i = 0; i < n; i++)
		close(maps[i].fd);
	bench_pkt_bpf__destroy(bp);
	close(pfd);
	return 0;
}
