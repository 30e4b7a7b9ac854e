/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * internal.h - what the files of the kernel side (user/kernel/) share.
 * Nothing outside user/kernel/ includes it: the CLI, the daemon and the
 * tests use kernel/kernel.h only.
 *
 * Pin layout of an instance (DESIGN.md section 3), /sys/fs/bpf/sluice/<inst>/:
 *   prog-<k>               the program of attachment record k: one program per hook,
 *                          direction, flags and network namespace, pinned once per record
 *                          it serves (all sharing the maps; att_index = k, or att_ifx
 *                          slot of its interface, selects its counters)
 *   config                 the generation's .rodata (struct sl_config)
 *   dst4, dst6, ports      its tables (replaced on every apply)
 *   counters, globals      per-CPU counters (kept across applies)
 *   rules                  slot -> rule name (the generation's; replaced)
 *   attachments            where the instance is attached (kept)
 *   att_counters           pass/drop per attachment record (kept)
 *   owner                  sluice-cni's instances: whose they are (owner.c; kept)
 *   layout                 the pin layout version (layout.c; committed with each generation)
 *   source                 the generation's rules file, digest, applied time, pending
 *                          confirmation and resolved ruleset (source.c; replaced)
 *   prev-source            the previous generation's, while a confirmation is pending
 *   link-<hook>-<ifname>[@<netns>], link-cgroup-[in-]<id>   TCX, XDP, cgroup links
 *   next-*                 the generation being applied (renamed over the above)
 * (bpffs refuses '.' in names.)
 *
 * An apply loads a complete new generation next to the running one, points
 * every attachment at the new program (bpf_link_update for TCX, an in-place
 * filter replace for clsact: each atomic), then renames the new pins over the
 * old ones.  A packet sees the old program with the old maps or the new
 * program with the new maps, never a mix, never an empty table (apply.c).
 *
 * Files: instance.c (names, bpffs, pins, locks, open/list), load.c (a
 * generation into the kernel), fill.c (its maps), attach.c + attach_tc.c,
 * attach_xdp.c, attach_cgroup.c (one struct slk_hook_ops per hook), netns.c,
 * apply.c, group.c (attachments sharing a program), share.c (joining one), detach.c, drain.c,
 * readback.c, inject.c, learn.c, live.c (what the kernel runs at each attachment: the one live
 * read) and restore.c (what an apply does about it).  readback.c reads maps only; what concerns
 * the hooks (the program of a record included) is in live.c, so readback no longer depends on attach.
 */
#ifndef SL_KERNEL_INTERNAL_H
#define SL_KERNEL_INTERNAL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <pthread.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"
#include "sluice.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* Debian 12's uapi headers predate TCX (Linux 6.6). */
#define SL_BPF_TCX_INGRESS 46
#define SL_BPF_TCX_EGRESS  47
#define SL_ENOTSUPP        524  /* the kernel's internal ENOTSUPP */
#define SL_BPF_F_BEFORE    (1U << 3)    /* TCX: insert before (all, with no relative) */

/* ---------------------------------------------------------- common.c */

/* "sluice: <message>\n" on stderr. */
__attribute__((format(printf, 1, 2)))
void slk_err(const char *fmt, ...);
double slk_now_ms(void);

/* ---------------------------------------------------------- instance.c */

struct slk_lock { int fd; };

bool slk_valid_instance(const char *s);
int slk_ensure_bpffs(void);             /* mount bpffs at /sys/fs/bpf if missing */
int slk_mkdir_instance(const char *inst);
int slk_lock_instance(const char *inst, struct slk_lock *l);
void slk_unlock_instance(struct slk_lock *l);
void slk_remove_instance(const char *inst);     /* every pin, the directory */
/* SL_PIN_ROOT/<inst>/<name>: open (-1 and errno), pin (replacing), rename, unpin. */
int slk_obj_get(const char *inst, const char *name);
int slk_pin_fd(int fd, const char *inst, const char *name);
int slk_rename_pin(const char *inst, const char *from, const char *to);
void slk_unpin(const char *inst, const char *name);
/* An sl_instance with every fd -1 (a fresh instance). */
void slk_instance_init(struct sl_instance *in);

/* ---------------------------------------------------------- layout.c */

/* The instance's pin layout (SL_LAYOUT_UNVERSIONED without the pin). */
int slk_layout_read(const char *inst, __u32 *version);
/* -EPROTO, said why, if this sluice must not touch @inst (a newer or too
 * old layout); its layout in *version (may be NULL). */
int slk_layout_check(const char *inst, __u32 *version);
/* slk_layout_check, and every pinned map of @inst compared with the map of
 * that name in this sluice's BPF object (type, key, value, flags). */
int slk_layout_compat(const char *inst);
/* Pin next-layout (SL_LAYOUT_VERSION), renamed over layout by the commit. */
int slk_layout_pin_next(const char *inst);
const char *slk_map_type_name(__u32 type);

/* ---------------------------------------------------------- migrate.c */

/* Kept maps whose shape layout SLK_MIG_LAYOUT changed: globals, learn_ctr,
 * name_ring.  An apply over an older instance makes them fresh. */
#define SLK_MIG_LAYOUT 5
#define SLK_MIG_N      3
struct slk_mig {
	int old_fd[SLK_MIG_N];  /* the running instance's map, -1: reused or absent */
};
/* Whether pin @name of a layout-@layout instance is replaced, not reused. */
bool slk_mig_replaced(const char *name, __u32 layout);
/* Take the replaced maps out of @r (their old fds into @m, still owned by @cur). */
void slk_mig_plan(const struct sl_instance *cur, bool have, struct sl_reuse *r, struct slk_mig *m);
/* Pin the new ones as next-<name> (the commit renames them over the old). */
int slk_mig_pin(const char *inst, struct sluice_bpf *skel, const struct slk_mig *m);
void slk_mig_unpin(const char *inst, const struct slk_mig *m);
/* After the switch: add the old counters into the new maps. */
int slk_mig_carry(const char *inst, struct sluice_bpf *skel, const struct slk_mig *m);

/* ---------------------------------------------------------- load.c, fill.c */

int slk_skel_prog_fd(struct sluice_bpf *s, const struct sl_attach *a);
/* One program for a group of attachment records (@a: one of them): its hook's
 * program, att_index = @k (the record, or SL_ATT_BY_IFINDEX: looked up in
 * att_ifx at @base + (ifindex & @mask)), att_dir = a->dir, att_flags = @flags
 * (SL_AF_*), every map shared with @owner (the generation's maps). */
int slk_load_att_prog(const struct sl_image *img, struct sluice_bpf *owner, __u32 k, __u32 base,
		      __u32 mask, const struct sl_attach *a, __u32 flags, struct sluice_bpf **out);
/* Fill a loaded generation's maps from @img (and its fast tables @fast);
 * @lo: learning options (NULL: defaults, resolvers from img->rs). */
int slk_fill_generation(struct sluice_bpf *skel, const struct sl_image *img,
			const struct sl_fast *fast, const struct sl_reuse *reuse,
			const struct sl_learn_opts *lo);

/* ---------------------------------------------------------- group.c */

/* The records of an apply grouped by the program they share. */
struct slk_groups {
	__u32 ngrp;
	__u16 of[SL_MAX_ATTACH];        /* record -> its group + 1 (0: a free record) */
	__u32 first[SL_MAX_ATTACH];     /* group -> its first record */
	__u32 size[SL_MAX_ATTACH];      /* group -> its records */
	__u32 ifindex[SL_MAX_ATTACH];   /* record -> the interface its att_ifx slot names */
	__u32 base[SL_MAX_ATTACH];      /* shared group -> its table in att_ifx: first slot */
	__u32 mask[SL_MAX_ATTACH];      /* ... and size - 1 (a power of two) */
	bool split[SL_MAX_ATTACH];      /* group -> split into groups of one (no table found) */
	bool join;                      /* sl_apply_opts.join: groups of one by interface too */
};

/* Group the records of @att (@flags: SL_AF_* of each record), size the
 * shared groups' tables (a new record's interface resolved now). */
void slk_group_records(const struct sl_attach *att, const __u32 *flags, bool join, struct slk_groups *g);
/* att_index of group @n's program: its record, or SL_ATT_BY_IFINDEX (shared). */
__u32 slk_group_index(const struct slk_groups *g, const struct sl_attach *att, __u32 n);
/* att_ifx (@fd): a slot per record of a shared group (before any attach). */
int slk_ifx_fill(int fd, const struct sl_attach *att, const struct slk_groups *g);
/* After new record @k's attach: its slot moved if the interface changed
 * (-EAGAIN if its new slot is taken). */
int slk_ifx_attached(int fd, const struct sl_attach *att, const struct slk_groups *g, __u32 k);

/* ---------------------------------------------------------- readback.c */

/* Zero one slot of a per-CPU array on every CPU. */
int slk_zero_percpu(int fd, uint32_t key, size_t value_sz);

/* ---------------------------------------------------------- netns.c */

/* sl_netns_enter_path of /run/netns/@name, with a message; "" or NULL: stay. */
int slk_netns_enter(const char *name, int *saved);
/* Enter a->netns and set a->ifindex from @dev (message if there is none);
 * on success the caller runs its attach there and calls sl_netns_leave(*saved). */
int slk_dev_enter(const char *dev, struct sl_attach *a, int *saved);

/* ---------------------------------------------------------- attach*.c */

/*
 * One hook's way to attach, switch, detach and check an attachment.  attach
 * fills @a (kind, ids, handle) and pins what holds the attachment (a link);
 * update points it at @prog_fd atomically; detach removes it; alive says
 * whether the kernel still has it.
 */
struct slk_hook_ops {
	int (*attach)(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a);
	int (*update)(const char *inst, const struct sl_attach *a, int prog_fd);
	int (*detach)(const char *inst, const struct sl_attach *a);
	bool (*alive)(const struct sl_instance *in, const struct sl_attach *a);
};
extern const struct slk_hook_ops slk_tc_ops, slk_xdp_ops, slk_cgroup_ops;
const struct slk_hook_ops *slk_hook_ops(enum sl_hook h);

/* Through the hook's ops. */
int slk_attach(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a);
int slk_switch_attach(const char *inst, const struct sl_attach *a, int prog_fd);
int slk_detach_one(const char *inst, const struct sl_attach *a);
/* Forget attachment record @k: its program pin, record and counters. */
void slk_forget_record(const char *inst, int attach_fd, int att_ctr_fd, __u32 k);

/* What the link-based hooks (TCX, XDP, cgroup) share (attach.c). */
void slk_prog_pin_name(char *buf, size_t sz, const char *prefix, size_t k);
int slk_pin_link(const char *inst, int lfd, struct sl_attach *a);
int slk_link_update(const char *inst, const struct sl_attach *a, int prog_fd);
int slk_link_detach(const char *inst, const struct sl_attach *a);
bool slk_link_alive(const struct sl_instance *in, const struct sl_attach *a);

/* attach_tc.c: a TCX attachment in first place again, without a gap (live.c). */
int slk_tcx_restore(const char *inst, struct sl_attach *a, int prog_fd);

/* restore.c: before the switch of running record @k of @cur to @prog_fd, what
 * the live read finds: a TCX link behind another program is attached again in
 * first place (*done: nothing left to switch); counted in @rep. */
int slk_restore_one(const char *inst, const struct sl_instance *cur, __u32 k, struct sl_attach *a,
		    int attach_fd, int prog_fd, struct sl_apply_report *rep, bool *done);
/* A record of @cur's whose interface @want names by its new name takes that
 * name (record and link pin). */
int slk_adopt_renamed(const char *inst, const struct sl_instance *cur, struct sl_attach *att,
		      const struct sl_attach *want, int attach_fd);

/* Resolve a --cgroup argument (absolute, or relative to the cgroup2 mount). */
int slk_cgroup_resolve(const char *arg, char *abs, size_t sz, char *rel, size_t relsz);

/* ---------------------------------------------------------- source.c */

/* Pin next-source (and, with o->confirm_s, the running source as
 * next-prev-source) for the generation @img of @rs; @att/@is_new: the
 * records after the apply's plan.  Unstage: remove both. */
int slk_source_stage(const char *inst, const struct sl_ruleset *rs, const struct sl_image *img,
		     const struct sl_apply_opts *o, bool have, const struct sl_attach *att,
		     const bool *is_new);
void slk_source_unstage(const char *inst);
/* sl_source_read without the lock (apply and confirm hold it). */
int slk_source_read_raw(const char *inst, bool prev, struct sl_source *h, struct sl_ruleset *rs);
/* Rewrite the running source's confirmation deadline (0: confirmed). */
int slk_source_set_deadline(const char *inst, uint64_t deadline);

/* ---------------------------------------------------------- drain.c */

/* Drain the old generation's tries in a detached child if they are big. */
void slk_drain_old(struct sl_instance *cur);

#endif
