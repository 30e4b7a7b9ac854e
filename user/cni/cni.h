/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cni.h - sluice-cni, a chained CNI plugin over the engine library
 * (CNI specification 1.0, configurations 0.3.0 .. 1.1.0).  Containers whose
 * rules are the same share one sluice instance (one per ruleset, hook and
 * host network namespace), each an attachment of it; "share": false gives
 * each its own, as tc-egress does.  See README "Containers".
 *   cni_main.c    environment, dispatch, the error object
 *   cni_conf.c    the network configuration on stdin (jansson), versions
 *   cni_netlink.c the host-side peer of the container's veth
 *   cni_attach.c  ADD, DEL, CHECK of an instance per container (sl_apply / sl_owner_*)
 *   cni_share.c   ADD, DEL, CHECK, GC of shared instances (sl_attach_join / sl_owners_*)
 *   cni_select.c  the rules of a workload: "rulesBy" over CNI_ARGS, args, runtimeConfig
 *   cni_gc.c      GC and STATUS (CNI 1.1)
 */
#ifndef SL_CNI_H
#define SL_CNI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kernel/kernel.h"

/* The spec's well-known error codes, and ours (100+). */
enum {
	CNI_ERR_VERSION = 1,            /* incompatible CNI version */
	CNI_ERR_FIELD = 2,              /* unsupported field in the configuration */
	CNI_ERR_CONTAINER = 3,          /* container unknown or does not exist */
	CNI_ERR_ENV = 4,                /* invalid necessary environment variables */
	CNI_ERR_IO = 5,                 /* I/O failure */
	CNI_ERR_DECODE = 6,             /* failed to decode content */
	CNI_ERR_CONFIG = 7,             /* invalid network configuration */
	CNI_ERR_AGAIN = 11,             /* try again later */
	CNI_ERR_UNAVAILABLE = 50,       /* plugin not available (STATUS) */
	CNI_ERR_RULES = 100,            /* the rules file does not compile */
	CNI_ERR_ATTACH = 101,           /* the filter could not be attached */
	CNI_ERR_NOT_ATTACHED = 102,     /* CHECK: the filter is gone */
	CNI_ERR_RULES_DIFFER = 103,     /* CHECK: loaded rules differ from the file */
};

/* Environment of one call (CNI_*). */
struct cni_env {
	const char *command, *containerid, *netns, *ifname, *args, *path;
};

enum { CNI_HOST_FILTER = 0, CNI_HOST_PASS, CNI_HOST_RULES };

/* What a call says about its workload (CNI_ARGS, args, runtimeConfig): the
 * keys the mapping selects by. */
struct cni_who {
	char pod_ns[64], pod_name[128], profile[64];
};

/* The plugin's configuration (one entry of a conflist's "plugins"). */
struct cni_conf {
	json_t *root;                   /* the whole document (owned) */
	char version[16];               /* cniVersion, "" if absent */
	unsigned int vnum;              /* major*10000 + minor*100 + patch */
	const char *name;               /* network name */
	const char *rules;              /* rules file */
	enum sl_hook hook;              /* SL_HOOK_TC_INGRESS (default) or SL_HOOK_TC_EGRESS */
	int mode;                       /* -1: the file's; else enum sl_mode */
	const char *log;                /* append one line per call here (NULL: none) */
	int host;                       /* CNI_HOST_FILTER (default), _PASS, _RULES (the file's) */
	bool share;                     /* one instance per ruleset (default), or per container */
	json_t *rules_by;               /* "rulesBy": the mapping (cni_select.c), NULL if none (borrowed) */
	uint32_t events_kib;            /* "eventsKiB": the events ring of a new instance (0: default) */
	json_t *prev;                   /* prevResult, NULL if absent (borrowed) */
	json_t *valid;                  /* GC: cni.dev/valid-attachments (borrowed) */
};

#define CNI_V(a, b, c) ((a) * 10000u + (b) * 100u + (c))
#define CNI_LATEST "1.1.0"

/* Record the error to report (code, and a message that says what to do);
 * returns -1 for `return cni_fail(...)`. */
__attribute__((format(printf, 2, 3)))
int cni_fail(int code, const char *fmt, ...);
/* Library messages printed while capturing (cni_main.c) go to the error's details. */
void cni_capture_begin(void);
void cni_capture_end(void);

/* cni_conf.c */
int cni_conf_read(FILE *in, struct cni_conf *c);
void cni_conf_free(struct cni_conf *c);
bool cni_version_supported(const char *v);
void cni_print_versions(const char *v);
/* ADD's output: prevResult unchanged, in the configuration's version. */
int cni_print_prev(const struct cni_conf *c);
/* Host-side interface names of prevResult (no "sandbox"); n in/out. */
size_t cni_prev_host_ifaces(const struct cni_conf *c, const char **names, size_t max);

/* cni_select.c: the workload's keys, and the rules file the mapping gives it
 * (c->rules without a mapping or when no entry matches). */
int cni_who(const struct cni_env *env, const struct cni_conf *c, struct cni_who *w);
int cni_select_rules(const struct cni_conf *c, const struct cni_who *w, const char **rules);
int cni_select_check(const struct cni_conf *c);

/* cni_netlink.c: the host-side peer of veth @ifname in netns @netns (a path). */
int cni_veth_peer(const char *netns, const char *ifname, char peer[16]);

/* cni_attach.c */
void cni_instance_name(const char *network, const char *id, const char *ifname,
		       char out[SL_INST_LEN + 1]);
int cni_add(const struct cni_env *env, const struct cni_conf *c);
int cni_del(const struct cni_env *env, const struct cni_conf *c);
int cni_check(const struct cni_env *env, const struct cni_conf *c);
/* Remove an instance the plugin made (sl_owner_remove, messages captured). */
int cni_remove(const char *inst);

/* Load, override and compile the rules file @rules (CNI_ERR_RULES on failure). */
/* @check NULL: the stable read, settle wait included; else the files read and
 * stamped once, *@check what sl_ruleset_settled() verifies before anything is
 * attached (sl_settle_check, the apply's still_valid; NULL if settled already). */
int cni_load_rules(const struct cni_conf *c, const char *rules, struct sl_ruleset *rs, uint64_t *digest,
		   struct sl_rcheck **check);

int cni_need_env(const struct cni_env *env, bool netns);
int cni_need_prev(const struct cni_conf *c, const char *cmd);
int cni_find_dev(const struct cni_env *env, const struct cni_conf *c, char dev[16]);

/* cni_share.c; the shared instance a call used, for the log line ("" if none) */
extern char cni_shared_inst[SL_INST_LEN + 1];
int cni_share_add(const struct cni_env *env, const struct cni_conf *c);
/* DEL/CHECK of a container attached to a shared instance: 1 if it was not
 * (the caller tries the per-container instance), 0 done, -1 failed. */
int cni_share_del(const struct cni_env *env, const struct cni_conf *c);
int cni_share_check(const struct cni_env *env, const struct cni_conf *c);
int cni_share_gc(const struct cni_conf *c);

/* cni_gc.c */
int cni_gc(const struct cni_conf *c);
int cni_status(const struct cni_conf *c);

#endif
