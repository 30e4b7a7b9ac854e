/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench.h - what the files of sl-bench share: sl-bench.c (main, pkt, gen,
 * scale, free), floor.c (learn, verify, inpath), export.c (export),
 * gateway.c (variant, tcx), gwrun.c (gwrun), ablate.c (ablate).
 */
#ifndef SL_BENCH_H
#define SL_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sl.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"
#include "bench_pkt.skel.h"
#include "../prog/pkt.h"


struct loaded {
	struct sl_ruleset rs;
	struct sl_image img;
	struct sluice_bpf *skel;
	double parse_ms, compile_ms, load_ms;
};

extern uint64_t rng_s;
uint64_t rnd(void);
double now_ms(void);
double median(double *v, int n);
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
int quiet_libbpf(enum libbpf_print_level l, const char *f, va_list ap);
long long map_memlock(int fd);
void load_rules(const char *path, struct loaded *L, unsigned int progs);
void unload(struct loaded *L);
void reuse_maps(struct bpf_object *obj, struct bpf_object *from);
double run_pkt(int prog_fd, const void *frame, size_t len, int runs, int *retval);
struct pk_spec spec(int fam, const char *dst, uint8_t proto, uint16_t port);

int cmd_learn(const char *rules, int runs);
int cmd_verify(const char *rules, int runs);
int cmd_inpath(int npins, char **pins, char **cmd);
int cmd_export(const char *rules, const char *what, const char *name);
/* A map of a loaded program, to load another object on the same maps (gateway.c). */
#define SLB_MAX_MAPS 64
struct slb_map {
	int fd;
	char name[BPF_OBJ_NAME_LEN];
	__u32 value_size;
};
int slb_prog_maps(int pfd, struct slb_map *out);        /* the program's maps; returns how many */
/* @m of an object is the loaded @k: by name; internal maps by section and value size. */
bool slb_same_map(const struct bpf_map *m, const struct slb_map *k);
int cmd_variant(const char *pin, const char *path, const char *prog, const char *outpin);
int cmd_tcx(const char *dev, const char *pin, const char *linkpin);
int cmd_gwrun(int argc, char **argv);
int cmd_ablate(const char *pin, int rounds, const char *pindir, int nobj, char **objs);

#endif /* SL_BENCH_H */
