// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.c - the sl-bench subcommands that measure at the floor (issue 16):
 * learn (the DNS learner beside the empty program), verify (the verifier
 * per program), inpath (kernel run-time statistics of attached programs
 * while traffic flows).  See sl-bench.c and bench/README.md.
 */
#include "bench.h"

/* -------------------------------------------------------------- learn */

/*
 * The DNS learner (sluice_learn, TC ingress: every packet coming back) on
 * RULES (which should have host names and resolvers), beside the empty
 * program, on packets that are not DNS and on a DNS answer from a server
 * that is not a resolver (read as far as the source check).
 */
int cmd_learn(const char *rules, int runs)
{
	static const struct { const char *id, *what; int fam; const char *dst; uint16_t sport; } cases[] = {
		{ "v4_udp", "IPv4 UDP 8801 (not DNS)", 4, "192.0.2.1", 8801 },
		{ "v6_udp", "IPv6 UDP 8801 (not DNS)", 6, "2001:db8::1", 8801 },
		{ "v4_tcp", "IPv4 TCP 443 (not DNS)", 4, "192.0.2.1", 443 },
		{ "v4_dns", "IPv4 DNS answer (UDP from port 53, not a resolver)", 4, "192.0.2.1", 53 },
	};
	struct bench_pkt_bpf *bp;
	struct loaded L;
	uint8_t frame[PK_MAX_FRAME];

	load_rules(rules, &L, SL_PROG_TC | SL_PROG_LEARN);
	if (!(bp = bench_pkt_bpf__open_and_load()))
		die("bench_pkt: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pk_spec sp = spec(cases[i].fam, cases[i].dst, i == 2 ? 6 : 17, 40000);
		struct pk_offs o;
		size_t len;
		int rv;
		double e, l;

		sp.payload = 64;
		len = pk_build(&sp, frame, &o);
		/* the source port (the frame is built as a packet to port 40000) */
		frame[o.l4] = cases[i].sport >> 8;
		frame[o.l4 + 1] = cases[i].sport & 0xff;
		if (cases[i].sport == 53)       /* a response header: QR, one question */
			memcpy(frame + o.l4 + 8, "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00", 12);
		e = run_pkt(bpf_program__fd(bp->progs.bench_empty), frame, len, runs, &rv);
		l = run_pkt(bpf_program__fd(L.skel->progs.sluice_learn), frame, len, runs, &rv);
		printf("{\"section\":\"learner\",\"case\":\"%s\",\"what\":\"%s\",\"empty_ns\":%.1f,"
		       "\"learn_ns\":%.1f,\"ratio\":%.2f,\"runs\":%d}\n",
		       cases[i].id, cases[i].what, e, l, e > 0 ? l / e : 0, runs);
	}
	bench_pkt_bpf__destroy(bp);
	unload(&L);
	return 0;
}

/* ------------------------------------------------------------- verify */

/*
 * What the kernel's verifier costs per program: each of sluice's programs
 * loaded alone (as `sluice apply` loads one per attachment) on the maps of
 * RULES, with the verifier's statistics (log level 4): verification time,
 * instructions processed, and the wall time of the load.
 */
/* SL_VLOG=DIR: the full verifier log (level 2) of each program in DIR/<prog>.log
 * (where the instructions go: count the lines per subprogram). */
#define SL_VLOG_SZ (512u << 20)

static void vlog_dump(const char *prog, const char *vlog)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.log", getenv("SL_VLOG"), prog);
	if (!(f = fopen(path, "w")))
		die("%s: %s", path, strerror(errno));
	fputs(vlog, f);
	fclose(f);
}

int cmd_verify(const char *rules, int runs)
{
	char *vlog = getenv("SL_VLOG") ? malloc(SL_VLOG_SZ) : NULL;

	static const char *const names[] = { "sluice_tc", "sluice_xdp", "sluice_cgroup", "sluice_learn" };
	static char log[1 << 16];
	struct loaded L;

	if (runs > 32)
		runs = 32;
	load_rules(rules, &L, 0);
	for (size_t p = 0; p < sizeof(names) / sizeof(names[0]); p++) {
		double us[32], wall[32];
		long insns = 0;

		for (int r = 0; r < runs; r++) {
			struct sluice_bpf *s = sluice_bpf__open();
			struct bpf_program *pg;
			const char *t;
			double t0;
			int e;

			if (!s)
				die("open: %s", strerror(errno));
			bpf_object__for_each_program(pg, s->obj)
				bpf_program__set_autoload(pg, !strcmp(bpf_program__name(pg), names[p]));
			pg = bpf_object__find_program_by_name(s->obj, names[p]);
			s->rodata->cfg = L.img.cfg;
			s->rodata->cfg_names = L.img.nnames > 0;      /* as the loader sets it */
			reuse_maps(s->obj, L.skel->obj);
			log[0] = 0;
			bpf_program__set_log_buf(pg, vlog ? vlog : log, vlog ? SL_VLOG_SZ : sizeof(log));
			bpf_program__set_log_level(pg, vlog ? 2 | 4 : 4);
			t0 = now_ms();
			if ((e = sluice_bpf__load(s)))
				die("load %s: %s", names[p], strerror(-e));
			wall[r] = now_ms() - t0;
			if (vlog)
				vlog_dump(names[p], vlog);
			us[r] = (t = strstr(vlog ? vlog : log, "verification time ")) ? atof(t + 18) : -1;
			if ((t = strstr(vlog ? vlog : log, "processed ")))
				insns = atol(t + 10);
			sluice_bpf__destroy(s);
		}
		printf("{\"section\":\"verify\",\"prog\":\"%s\",\"verify_ms\":%.1f,\"load_ms\":%.1f,"
		       "\"insns_processed\":%ld,\"runs\":%d}\n",
		       names[p], median(us, runs) / 1000, median(wall, runs), insns, runs);
	}
	unload(&L);
	free(vlog);
	return 0;
}

/* ------------------------------------------------------------- inpath */

struct pstat { unsigned long long ns, cnt; };

static struct pstat prog_stat(int fd)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return (struct pstat){ 0, 0 };
	return (struct pstat){ info.run_time_ns, info.run_cnt };
}

/* Softirq time of every CPU so far (/proc/stat, USER_HZ ticks), in ns. */
static unsigned long long softirq_ns(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6]) != 7)
		v[6] = 0;
	fclose(f);
	return v[6] * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/*
 * In-path cost: run CMD (the traffic) with the kernel's run-time statistics
 * on (BPF_ENABLE_STATS: on while this process holds the fd, whatever
 * kernel.bpf_stats_enabled says, and off again after), and print what each
 * pinned program (PIN, or "-") spent per run meanwhile: run_time_ns /
 * run_cnt, the counters bpftool shows.  Also the softirq time of the machine
 * across CMD.
 */
int cmd_inpath(int npins, char **pins, char **cmd)
{
	struct pstat a[8], b[8];
	int fds[8], sfd, st;
	unsigned long long s0, s1;
	double t0, t1;
	pid_t pid;

	if (npins > 8)
		npins = 8;
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0)
		die("BPF_ENABLE_STATS: %s", strerror(errno));
	for (int i = 0; i < npins; i++) {
		fds[i] = strcmp(pins[i], "-") ? bpf_obj_get(pins[i]) : -1;
		if (strcmp(pins[i], "-") && fds[i] < 0)
			die("%s: %s", pins[i], strerror(errno));
		a[i] = prog_stat(fds[i]);
	}
	s0 = softirq_ns();
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);

		if (dn >= 0)
			dup2(dn, 1);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		die("%s failed", cmd[0]);
	t1 = now_ms();
	s1 = softirq_ns();
	printf("{\"section\":\"inpath_raw\",\"wall_ms\":%.1f,\"softirq_ns\":%llu,\"progs\":[", t1 - t0,
	       s1 - s0);
	for (int i = 0; i < npins; i++) {
		b[i] = prog_stat(fds[i]);
		unsigned long long dn = b[i].ns - a[i].ns, dc = b[i].cnt - a[i].cnt;

		printf("%s{\"pin\":\"%s\",\"run_ns\":%llu,\"runs\":%llu,\"ns_per_run\":%.1f}", i ? "," : "",
		       pins[i], dn, dc, dc ? (double)dn / dc : 0.0);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	printf("]}\n");
	close(sfd);
	return 0;
}

