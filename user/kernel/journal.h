/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * journal.h - internal to user/kernel: crash consistency (docs/operations.md).
 * The instance lock file (lock.c), recovery of an interrupted apply or
 * detach from the pins (intent.c), sluice's own clsact filters found
 * without the pins and hooks another instance holds (discover.c), the
 * host's addresses for the ingress hooks (hostaddr.c).
 */
#ifndef SL_KERNEL_JOURNAL_H
#define SL_KERNEL_JOURNAL_H

#include "kernel/internal.h"
#include "kernel/fault.h"

/* lock.c: /run/sluice/<inst>.lock, exclusive or shared; *fd for slk_lock_release. */
int slk_lock_file(const char *inst, bool exclusive, int *fd);
void slk_lock_release(int *fd);
/* Remove the lock file; only while holding it exclusively, with the instance
 * gone.  An unheld <inst>.events.lock goes too. */
void slk_lock_unlink(const char *inst);
bool slk_same_file(int fd, const char *path);
bool slk_instance_dir_exists(const char *inst);

/* intent.c */
bool slk_pin_exists(const char *inst, const char *name);
/* Under the exclusive lock: finish (next-config pinned) or undo (other
 * next-* pinned) an interrupted apply; remove an instance that never
 * committed a generation.  0 or -errno. */
int slk_recover(const char *inst);
/* Whether the pins show an interrupted apply or detach. */
bool slk_needs_recovery(const char *inst);
/* The commit of an apply whose every attachment runs next-prog-<k>: zero
 * the counters of the slots it freed, rename next-X over X, config last. */
int slk_commit(const char *inst);
/* Everything of the instance: what its records name, its clsact filters
 * found by handle, every pin, the directory.  Attachments removed, or -errno. */
int slk_remove_all(const char *inst);
/* The record of the attachment being made, written to the attachments map
 * before each attach call: slk_record_to() sets where (fd -1: nowhere). */
void slk_record_to(int attach_fd, __u32 k);
void slk_note_record(const struct sl_attach *a);

/* discover.c */
#define SL_TC_PRIO_MAX 8        /* clsact priorities sluice uses: 1..8 */
uint32_t slk_tc_handle(const char *inst);
/* Remove (or count) the clsact filters with @inst's handle on every
 * interface of the host's and every named network namespace. */
int slk_clsact_sweep(const char *inst, bool remove);
/* Another instance on target @t: 0 if none, 1 with a description in @who. */
int slk_hook_taken(const char *inst, const struct sl_attach *t, char *who, size_t sz);

/* hostaddr.c: @fd (host_addrs) := the addresses of the namespaces of @att's
 * ingress attachments (@fresh: the map is new and empty). */
int slk_host_addrs_fill(int fd, const struct sl_attach *att, size_t natt, bool fresh);

/* live.c: whether program @id is pinned by instance @inst (NULL: by any instance) */
bool slk_prog_ours(const char *inst, uint32_t id);

/* attach.c */
void slk_link_pin_name(char *buf, size_t sz, const struct sl_attach *a);
/* instance.c: sl_instance_open without the lock and recovery (apply holds both). */
int slk_instance_open_raw(const char *inst, struct sl_instance *in);

#endif
