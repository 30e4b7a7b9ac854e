/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kernel.h - the kernel side of sluice (user/kernel/, in libsluice.a), its
 * one public header: from an image to a running data path (open/size/load
 * the skeleton, fill the maps, pin under /sys/fs/bpf/sluice/<instance>/,
 * attach per hook, replace atomically, detach), reading an instance back,
 * host-name learning, and sluice_inject for `sluice run`.  The CLI, the
 * daemon, the tests and any other binary call these; none includes the
 * files' shared internals (kernel/internal.h).
 * Functions return 0 or a negative errno and print what went wrong, naming
 * the interface or path and what to do, on stderr.
 */
#ifndef SL_KERNEL_H
#define SL_KERNEL_H

#include "sl.h"
#include "util/evfmt.h"     /* struct sl_ev: a decoded event */

struct sluice_bpf;
struct ring_buffer;
struct sl_dnsm;

#define SL_PIN_ROOT     "/sys/fs/bpf/sluice"
/* The pin and map layout this sluice writes (the `layout` pin), the oldest it
 * takes over, and what an instance without the pin is (docs/upgrades.md). */
#define SL_LAYOUT_VERSION     5
#define SL_LAYOUT_MIN         3
#define SL_LAYOUT_UNVERSIONED 3
/* "1.1 (built against 1.1)": the libbpf this sluice runs with (layout.c). */
const char *sl_libbpf_version(void);
#define SL_INST_LEN     32

/* ------------------------------------------------------------ host-name learning (learn.c, docs/dns.md) */

/* Defaults (docs/dns.md "Defaults"). */
#define SL_LEARN_TTL_FLOOR_S  60        /* below: apps cache past tiny TTLs */
#define SL_LEARN_TTL_MAX_S    86400     /* above: a day, so a huge TTL cannot pin an address */
#define SL_LEARN_GRACE_S      120       /* reuse after expiry (connection pools, retries) */
#define SL_LEARN_PENDING_MS   10000     /* an answer later than this is unsolicited */
#define SL_LEARN_CAP_DEFAULT  16384     /* addresses in all ("learned" max_entries) */

/* File descriptors of the learning maps of one generation. */
struct sl_learn_fds {
	int names, wilds, nclass, name_ring, resolvers, learn_cfg, ports;
	int learned, learn_ctr;
};

struct sl_learn_opts {
	uint32_t ttl_floor_s, ttl_max_s, grace_s, pending_ms, name_cap, learned_cap;
	uint32_t class_cap;                     /* addresses per name class (SL_CLASS_CAP) */
	const struct sl_cidr *resolvers;        /* NULL: /etc/resolv.conf */
	size_t nresolvers;
	const char *resolv_conf;                /* NULL: /etc/resolv.conf */
};

void sl_learn_opts_default(struct sl_learn_opts *o);

/*
 * Write img's name classes (names, wilds, nclass, their "ports" entries,
 * a ring per class), the resolvers and learn_cfg (enabled iff the image
 * has host names).  Returns 0 or a negative errno (printed).
 */
int sl_learn_fill(const struct sl_image *img, const struct sl_learn_fds *fds,
		  const struct sl_learn_opts *o);

/* Nameservers of a resolv.conf as host routes; *n = how many (<= cap). */
int sl_resolv_conf(const char *path, struct sl_cidr *out, size_t cap, size_t *n);

/* One learned (address, name class) pair, for `sluice learned`. */
struct sl_learned_row {
	uint8_t family;                 /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	uint32_t ncls;
	int64_t remaining_ms;           /* until expiry incl. grace; < 0: expired */
	uint32_t ttl;                   /* the TTL the last answer carried */
};

/* Read every pair of "learned" (expired ones too); free *rows with free(). */
int sl_learned_read(int learned_fd, struct sl_learned_row **rows, size_t *n);
/* Sum one learner counter over CPUs. */
int sl_learn_ctr_read(int fd, uint32_t idx, uint64_t *out);
const char *sl_learn_ctr_name(uint32_t idx);    /* "queries", "learned", ... */

/* ------------------------------------------------------------ loading (load.c, fill.c) */

/* Maps carried over from the running generation (-1 = create new). */
struct sl_reuse {
	int counters_fd;
	int globals_fd;
	int rules_fd;
	int attach_fd;
	int att_ctr_fd;
	/* host-name learning state, kept across applies */
	int learned_fd, name_ring_fd, pending_fd, learn_ctr_fd, learn_live_fd, learn_bloom_fd;
	int name_rings_fd;      /* per-name rings (kept) */
	int fallback_fd;        /* dns_fallback ring buffer (sluice run reads it) */
	int events_fd, ev_ctr_fd;       /* events ring buffer and its counters (kept) */
};

/*
 * Open the skeleton, set the config from img->cfg (record=true makes the
 * program write each result to the "last" map, for tests), size the
 * tries to the image, reuse the given maps (NULL: all new), load, and fill
 * dst4, dst6, ports and the rule names of img's slots.  Not attached.
 */
int sl_bpf_load(const struct sl_image *img, bool record,
		const struct sl_reuse *reuse, struct sluice_bpf **out);
/* Write the fast tables @f (user/image/fast.c, fast4.c) into loaded maps
 * classes, dir16 and dir8 (sized ncls, 256, >= max(1, nlines)). */
int sl_fast_fill(const struct sl_fast *f, int classes_fd, int dir16_fd, int dir8_fd);
/* Write the IPv6 fast table @f (user/image/fast6.c) into loaded maps dir6
 * and node6 (sized 256 and max(1, npool / 4)). */
int sl_fast6_fill(const struct sl_fast6 *f, int dir6_fd, int node6_fd);
/* The events ring of the next sl_bpf_load* that makes one, KiB (0: 1024). */
void sl_bpf_events_kib(uint32_t kib);
/* Counter slots (counters, rules) of the next sl_bpf_load* (0: SL_MAX_SLOTS). */
void sl_bpf_slots(uint32_t n);
/* The slots of an instance sized to its rules: room for a ruleset of the same size beside it. */
#define SL_SLOTS_FOR(nrules) ((nrules) < 8 ? 16u : 2u * (uint32_t)(nrules))
/* "learned" and "pending" of a ruleset without host names (nothing is learned). */
#define SL_LEARN_IDLE_ENTRIES 64
/* Learning options for the next sl_bpf_load* (NULL: defaults, resolvers from img->rs). */
void sl_bpf_learn_opts(const struct sl_learn_opts *o);
/* The same, loading only some of the programs (SL_PROG_* mask). */
#define SL_PROG_TC      0x1
#define SL_PROG_XDP     0x2
#define SL_PROG_CGROUP  0x4
#define SL_PROG_LEARN   0x8
#define SL_PROGS_ALL    0xf
int sl_bpf_load_progs(const struct sl_image *img, bool record, const struct sl_reuse *reuse,
		      unsigned int progs, struct sluice_bpf **out);
void sl_bpf_destroy(struct sluice_bpf *skel);

/* Sum a rule slot's per-CPU counters. */
int sl_read_rule_ctr(int counters_fd, uint32_t slot, struct sl_rule_ctr *out);
/* Sum one global counter over CPUs. */
int sl_read_global_ctr(int globals_fd, uint32_t idx, struct sl_global_ctr *out);

/* Silence or show libbpf's own messages (-v). */
void sl_loader_verbose(bool on);

/* ------------------------------------------------------------ instances */

enum sl_tc_mode { SL_TC_AUTO = 0, SL_TC_TCX, SL_TC_CLSACT };
enum sl_xdp_mode { SL_XDP_AUTO = 0, SL_XDP_NATIVE = 1, SL_XDP_GENERIC = 2 };
#define SL_MAX_DEVS 16

struct sl_apply_opts {
	const char *instance;           /* default "default" */
	const char *const *devs;        /* interfaces to attach to (may be 0) */
	size_t ndevs;
	enum sl_hook hook;              /* of every target of this call */
	enum sl_tc_mode tc_mode;
	enum sl_xdp_mode xdp_mode;
	const char *netns;              /* devs are in this named netns (ip -n) */
	const char *cgroup;             /* hook cgroup: path (absolute or below the mount) */
	uint32_t dns_floor_s, dns_grace_s;      /* 0: defaults (docs/dns.md) */
	enum sl_dir dir;                /* SL_DIR_IN: tc-ingress, xdp, cgroup (ingress) only */
	bool allow_stack;               /* attach where another instance already filters */
	bool allow_empty;               /* apply a ruleset without a rule (refused by default) */
	uint32_t events_kib;            /* the events ring of a new instance, KiB (0: the default) */
	bool size_to_rules;             /* a new instance's counters for SL_SLOTS_FOR(rules), not SL_MAX_SLOTS */
	bool join;                      /* every tc/xdp program finds its attachment by interface in
					 * a full att_ifx table, so that sl_attach_join can add more */
	const char *rules_path;         /* recorded in the source (status, plan); may be NULL */
	uint32_t confirm_s;             /* > 0: roll back unless confirmed within (confirm.c) */
	uint32_t rollback_of;           /* > 0: apply only if this generation still awaits confirmation */
	/* If set: called once everything is loaded and staged, before anything
	 * is attached or switched; 0 makes the apply undo its staging and fail
	 * with -ESTALE (the rules files changed since they were read: the
	 * caller reads them again, sl_ruleset_settled()). */
	int (*still_valid)(void *ctx);
	void *still_valid_ctx;
};

struct sl_apply_report {
	uint32_t generation;
	size_t nattached;               /* attachments now running it */
	size_t nnew;                    /* of which attached by this call */
	size_t nrestored;               /* BYPASSED ones this call put first again */
	size_t nbypassed;               /* BYPASSED ones it could not (clsact behind other filters) */
	double load_ms, switch_ms;      /* load+fill, switch of all attachments */
};

/*
 * Compile @rs with slots stable by rule name, load a new generation and
 * switch every attachment of the instance to it atomically; attach to the
 * devices in @o that are not attached yet.  On any failure the running
 * generation is untouched.
 */
int sl_apply(const struct sl_ruleset *rs, const struct sl_apply_opts *o,
	     struct sl_apply_report *rep);
/*
 * sl_apply() of rules read without their settle wait (st->check, from
 * sl_ruleset_load_unsettled): checked once the verifier is done, before
 * anything is attached; -ESTALE with st->changed if a file changed (read
 * it again).  Consumes st->check; leaves @o as it was.
 */
static inline int sl_apply_settled(const struct sl_ruleset *rs, struct sl_apply_opts *o,
				   struct sl_apply_report *rep, struct sl_settle *st)
{
	int e;

	o->still_valid = st->check ? sl_settle_check : NULL;
	o->still_valid_ctx = st;
	e = sl_apply(rs, o, rep);
	o->still_valid = NULL;
	o->still_valid_ctx = NULL;
	sl_rcheck_free(st->check);      /* an apply that failed before it checked */
	st->check = NULL;
	return e;
}

/*
 * Attach @o->devs[0] (one interface, tc or xdp) to running instance
 * @o->instance with the program its group of attachments already runs
 * (share.c): no new generation, no verifier run; *rec: its record.
 * -ENOENT: no such instance; -EAGAIN: no group it can join (made by an
 * apply without @o->join, or its table has no free slot for the
 * interface): sl_apply with @o->join instead.
 */
int sl_attach_join(const struct sl_apply_opts *o, uint32_t *rec);
/* Forget the attachments of @inst that are gone (interface removed, an
 * attach cut short); the instance goes if none is left. */
int sl_prune(const char *inst);
/* The record of the @hook attachment on @dev (-ENOENT: none). */
int sl_attach_record(const char *inst, enum sl_hook hook, const char *dev, uint32_t *rec);
/* ------------------------------------------------------------ source (source.c)
 * What an instance records of the ruleset it runs, pinned as "source" with
 * its generation (visible at the commit, never before): page 0 this
 * header, then the resolved ruleset (user/plan/plan.h blob).  `status`
 * shows it, `plan` diffs against it, a rollback re-applies "prev-source". */
#define SL_SOURCE_MAGIC   0x534c5343u   /* "SLSC" */
#define SL_SOURCE_VERSION 1
struct sl_source {
	uint32_t magic, version;
	char path[256];                 /* the rules file applied ("" if not given) */
	uint64_t digest;                /* sl_image_digest() of the compiled generation */
	uint64_t applied_at;            /* seconds since the epoch */
	uint32_t generation;
	uint8_t confirm_have_prev;      /* a previous generation to roll back to (prev-source) */
	uint8_t pad[3];
	uint64_t confirm_deadline;      /* 0: nothing pending; else seconds since the epoch */
	uint64_t confirm_keep[SL_MAX_ATTACH / 64];      /* bit k: attachment record k is older than the apply */
	uint64_t blob_len;              /* bytes of the ruleset after page 0 */
	uint32_t rolled_back_of;        /* this generation rolled back that unconfirmed one ... */
	uint32_t pad2;
	uint64_t rolled_back_at;        /* ... at this time (0: not a rollback) */
};
/* The running ruleset's record (@prev: the one a pending confirmation rolls
 * back to), and, if @rs, the ruleset itself (free with sl_ruleset_free).
 * -ENOENT: none recorded; -EPROTO: not a record this sluice reads. */
int sl_source_read(const char *inst, bool prev, struct sl_source *h, struct sl_ruleset *rs);

/* ------------------------------------------------------------ confirm (confirm.c)
 * `apply --confirm D`: the generation stays only if confirmed before its
 * deadline; else the previous generation is applied again (prev-source;
 * the attachments the unconfirmed apply added are detached), or, if there
 * was none, the instance is detached.  Any of the watchdog the CLI forks,
 * `sluice run`, or a late `sluice confirm` performs a due rollback. */
/* Confirm the pending generation: 0; -ENOENT nothing pending; -ETIME the
 * window had lapsed (nothing confirmed); *h: the record read. */
int sl_confirm(const char *inst, struct sl_source *h);
/* Roll back if a confirmation is pending and its deadline has passed:
 * 1 rolled back (*gen: the generation now running, 0 if detached),
 * 0 nothing due, or -errno.  Logs what it does on stderr. */
int sl_rollback_due(const char *inst, uint32_t *gen);

struct sl_instance;
/* ------------------------------------------------------------ verify (testrun.c) */
/* The program attachment record @k (@a) runs (the kernel's link's program,
 * or for clsact its prog-<k> pin): an fd, or -errno; *id: its id. */
int sl_record_prog_fd(const struct sl_instance *in, uint32_t k, const struct sl_attach *a,
		      uint32_t *id);
/* Run @frame (as the hook of @a sees it) through program @fd with
 * BPF_PROG_TEST_RUN; *pass: whether it let it through.  0 or -errno. */
int sl_prog_verdict(int fd, const struct sl_attach *a, const void *frame, size_t len, bool *pass);

struct sl_detach_opts {
	const char *dev;                /* an interface ... */
	const char *netns;              /* ... in this named netns */
	enum sl_hook hook;              /* SL_HOOK_NONE: every hook on dev */
	const char *cgroup;             /* or a cgroup */
	bool all;                       /* or everything, and the instance's pins */
};

/* Detach the instance from a target.  The instance's pins go when its last
 * attachment goes. */
int sl_detach(const char *instance, const struct sl_detach_opts *o);

/* An instance's pinned objects, opened read-only for status/stats/lookup. */
struct sl_instance {
	char name[SL_INST_LEN + 1];
	int config_fd, dst4_fd, dst6_fd, ports_fd;
	int counters_fd, globals_fd, rules_fd, attach_fd, att_ctr_fd;
	int learned_fd, names_fd, wilds_fd, nclass_fd, learn_ctr_fd;  /* -1 if absent */
	int name_ring_fd, pending_fd, learn_live_fd, learn_bloom_fd, name_rings_fd;
	struct sl_config cfg;
	__u32 layout;           /* its pin layout (SL_LAYOUT_*) */
};

/*
 * Empty map @fd entry by entry, SL_DRAIN_BATCH at a time with a pause of SL_DRAIN_PAUSE_US
 * between, after waiting for running programs (an RCU grace period):
 * freeing an empty trie costs nothing, freeing a 10^6-node one stalls a CPU.
 * sl_apply drains the old generation's tries this way when they hold more
 * than SL_DRAIN_MIN entries.
 */
#define SL_DRAIN_MIN      100000
#define SL_DRAIN_BATCH    256
#define SL_DRAIN_PAUSE_US 2000
int sl_map_drain(int fd, size_t key_sz);

int sl_instance_open(const char *instance, struct sl_instance *in);
void sl_instance_close(struct sl_instance *in);
/* Names of every instance under SL_PIN_ROOT (sorted); free with free(). */
int sl_instance_list(char ***names, size_t *n);
/* Read the loaded tables back into an image (img->rs is NULL). */
int sl_image_from_maps(const struct sl_instance *in, struct sl_image *img);
/* Rule metadata by slot; out must hold SL_MAX_SLOTS entries. */
int sl_read_rule_meta(int rules_fd, struct sl_rule_meta *out);
/* Attachment records; out must hold SL_MAX_ATTACH entries. */
int sl_read_attach(int attach_fd, struct sl_attach *out);
/* Program id of attachment record k (0 if none). */
uint32_t sl_attach_prog_id(const struct sl_instance *in, uint32_t k);
/* Sum attachment record k's per-CPU counters. */
int sl_read_att_ctr(int att_ctr_fd, uint32_t k, struct sl_att_ctr *out);
/* The cgroup v2 mount point (from /proc/self/mountinfo). */
int sl_cgroup2_mount(char *buf, size_t sz);
/*
 * The live read (live.c): what the kernel runs at attachment record @k
 * compared with the record (docs/operations.md "Co-resident BPF programs").
 * status, metrics, apply, sluice run, detach and sluice-cni CHECK all use it.
 */
enum sl_att_state {
	SL_ST_ENFORCING = 0,    /* sluice's program runs, nothing before it can end the chain */
	SL_ST_BYPASSED,         /* another program runs in its place, or before it and can end the chain */
	SL_ST_GONE,             /* interface, cgroup, link or filter removed */
	SL_ST_UNATTACHED,       /* named by an apply that was killed before it attached there */
};
struct sl_att_live {
	enum sl_att_state state;
	uint32_t prog_id;               /* sluice's program for the record (pin prog-<k>) */
	uint32_t running_id;            /* what runs at sluice's link or filter (0: unknown) */
	uint32_t position;              /* place in the hook's chain (0: first) */
	uint32_t nahead;                /* programs/filters before it that are not sluice's */
	uint32_t ahead_id;              /* the first of them (0: a filter without program) */
	char ahead_name[24];
	char dev[SL_IFNAME_LEN];        /* the interface's name now (by ifindex) */
	bool renamed;                   /* ... and it differs from the record's */
	bool elsewhere;                 /* in a namespace this process does not see: link only */
	bool moved;                     /* the interface moved to another namespace ... */
	char netns_now[SL_IFNAME_LEN];  /* ... this one ("": the host's) */
	char why[160];                  /* not enforcing: why, one line */
};
const char *sl_att_state_name(enum sl_att_state s);     /* "enforcing", "BYPASSED", ... */
int sl_attach_live(const struct sl_instance *in, uint32_t k, const struct sl_attach *a,
		   struct sl_att_live *l);
/* Every record (@att, SL_MAX_ATTACH) and its state (@live, SL_MAX_ATTACH);
 * records that are not enforcing are read again under the shared lock, so a
 * concurrent apply or detach is waited for.  Records in use, or -ENOENT when
 * the instance was detached meanwhile, or -EIO. */
int sl_live_read(const struct sl_instance *in, struct sl_attach *att, struct sl_att_live *live);
/* Whether an attachment record is still live in the kernel. */
bool sl_attach_alive(const struct sl_instance *in, const struct sl_attach *a);
/* The "learned" entry of an address (-ENOENT: none, or no such map). */
int sl_learned_get(const struct sl_instance *in, const struct sl_addr_key *k,
		   struct sl_learned_val *v);
/* The "nclass" entry of name class @ncls (-ENOENT: none, or no such map). */
int sl_nclass_get(const struct sl_instance *in, uint32_t ncls, struct sl_dst_val *v);
/* Call @fn for every entry of "names" (exact host names) or "wilds" (*.
 * patterns) until it returns non-zero.  No such map: nothing. */
typedef int (*sl_name_fn)(const struct sl_name_val *v, void *ctx);
void sl_names_each(const struct sl_instance *in, bool wild, sl_name_fn fn, void *ctx);

/*
 * sluice_inject (bpf/learn.h) loaded on the maps of the instance's running
 * generation (`sluice run` hands it DNS answers through BPF_PROG_TEST_RUN);
 * *cfg_id: the id of that generation's learn_cfg map (a new apply pins
 * another).  Destroy with sl_bpf_destroy().
 */
int sl_inject_load(const char *inst, struct sluice_bpf **out, uint32_t *cfg_id);
int sl_inject_prog_fd(struct sluice_bpf *skel);

/* What handing one answer to the learner did. */
struct sl_inject_res {
	size_t chunks;          /* messages run through sluice_inject */
	size_t addrs;           /* address records in them */
	size_t learned;         /* addresses sluice_inject learned (sum of its return values) */
	size_t refused;         /* chunks it refused (a negative return: rcode, no rule, ...) */
	uint64_t ns;            /* BPF run time, summed (BPF_PROG_TEST_RUN duration) */
};

/* Run one DNS message (<= SL_INJECT_MAX bytes) through sluice_inject @prog_fd;
 * returns its return value (>= 0 learned, < 0: -1 - counter) or -errno in *err. */
int sl_inject_msg(int prog_fd, const uint8_t *msg, size_t n, int *ret, uint32_t *ns);

/* Teach the learner the answer records of @m (util/dnsmsg.h) from index @walked on, in chunks. */
int sl_inject_answer(int prog_fd, const struct sl_dnsm *m, size_t walked, struct sl_inject_res *r);

/* A dns_fallback event: parse what was captured, inject the records the BPF walk did not take. */
int sl_fallback_learn(int prog_fd, const struct sl_dns_event *ev, struct sl_inject_res *r);

/* The kernel id of the map pinned as SL_PIN_ROOT/<inst>/<name> (0: none);
 * a new apply that pins another map under the name changes it. */
uint32_t sl_pin_map_id(const char *inst, const char *name);

/* The ring buffer pinned as SL_PIN_ROOT/<inst>/<name> (dns_fallback), @fn
 * called per record by sl_ring_consume.  NULL with errno 0: no such pin;
 * NULL with errno set: it cannot be read. */
typedef int (*sl_ring_fn)(void *ctx, void *data, size_t size);
struct ring_buffer *sl_ring_open(const char *inst, const char *name, sl_ring_fn fn, void *ctx);
int sl_ring_epoll_fd(struct ring_buffer *rb);   /* readable: records to consume */
int sl_ring_consume(struct ring_buffer *rb);
void sl_ring_free(struct ring_buffer *rb);

/* ------------------------------------------------------------ owners (owner.c) */

/*
 * Who an instance was made for (the CNI plugin records one per container
 * attachment): pinned as "owner" in the instance's directory, so it goes
 * with the instance.  Strings are NUL-terminated.
 */
#define SL_OWNER_ID_LEN 128
struct sl_owner {
	char kind[8];                   /* "cni" */
	char id[SL_OWNER_ID_LEN];       /* container id (CNI_CONTAINERID) */
	char network[64];               /* CNI network name */
	char ifname[16];                /* interface in the container (CNI_IFNAME) */
	char netns[256];                /* its network namespace (CNI_NETNS) */
	char rules[256];                /* the rules file applied */
	char hook[16];                  /* "tc-ingress" or "tc-egress" */
	char dev[16];                   /* interface the program is attached to */
	uint64_t digest;                /* sl_image_digest() of the compiled rules */
	uint64_t since;                 /* seconds since the epoch */
};

/* Record (or replace) the owner of an instance (creating its directory:
 * the owner may be recorded before sl_apply makes the instance). */
int sl_owner_set(const char *instance, const struct sl_owner *o);
/* Read it: 0, -ENOENT if the instance has none, or another -errno. */
int sl_owner_get(const char *instance, struct sl_owner *o);
/* Enter the network namespace at @path (/run/netns/NAME, /proc/PID/ns/net, a
 * CNI_NETNS path) on the calling thread; *saved: the namespace to return to
 * with sl_netns_leave() (-1 if none).  0 or -errno, prints nothing. */
int sl_netns_enter_path(const char *path, int *saved);
void sl_netns_leave(int saved);
/* Whether @path is a live network namespace (an nsfs file). */
bool sl_netns_alive(const char *path);
/* Remove the owner record (and the instance directory if that leaves it empty). */
void sl_owner_clear(const char *instance);
/* 1 if the instance was made for a container that is gone (its netns is
 * not alive and none of its attachments is), 0 if not, -ENOENT without owner. */
int sl_owner_stale(const char *instance, struct sl_owner *o);
/* Detach everything of the instance and remove its pins and owner record
 * (a tc-egress owner's attachment from inside its netns, or from an empty
 * one if that is gone). */
int sl_owner_remove(const char *instance);
/*
 * The owners of a shared instance's attachments (owners.c): sluice-cni
 * records one per container it attached, keyed by container id and
 * interface.  Strings are NUL-terminated.
 */
struct sl_att_owner {
	char id[SL_OWNER_ID_LEN];       /* container id (CNI_CONTAINERID) */
	char ifname[16];                /* interface in the container (CNI_IFNAME) */
	char netns[256];                /* its network namespace (CNI_NETNS) */
	char pod_ns[64];                /* K8S_POD_NAMESPACE ("" if not passed) */
	char pod_name[128];             /* K8S_POD_NAME ("" if not passed) */
	char dev[16];                   /* the interface the program is attached to */
	uint32_t rec;                   /* its attachment record; SL_OWNER_NO_REC while attaching */
	uint32_t pad;
	uint64_t since;                 /* seconds since the epoch */
};
#define SL_OWNER_NO_REC 0xffffffffu
uint64_t sl_owners_key(const char *id, const char *ifname);
/* Record (or replace) an attachment's owner, creating the map if needed. */
int sl_owners_set(const char *instance, const struct sl_att_owner *o);
/* 0, -ENOENT (no such owner, or no owners map), or another -errno. */
int sl_owners_get(const char *instance, const char *id, const char *ifname, struct sl_att_owner *o);
int sl_owners_del(const char *instance, const char *id, const char *ifname);
/* Call @fn for every owner until it returns non-zero (which is returned). */
typedef int (*sl_owners_fn)(const struct sl_att_owner *o, void *ctx);
int sl_owners_each(const char *instance, sl_owners_fn fn, void *ctx);
/* Every owner by attachment record (calloc'ed, SL_MAX_ATTACH entries; free()),
 * or *out NULL and 0 if the instance has none (not made by sluice-cni). */
int sl_owners_table(const char *instance, struct sl_att_owner **out);
/* The owner of record @rec in @t, or NULL; @dev (the record's interface, may
 * be NULL) must be the owner's, or the table is older than the record. */
const struct sl_att_owner *sl_owner_of(const struct sl_att_owner *t, uint32_t rec, const char *dev);
/* What made a shared instance, as sluice-cni's hash of its rules file's
 * identity and configuration ("cni_stamp"); -ENOENT if none. */
int sl_owners_stamp_set(const char *instance, uint64_t stamp);
int sl_owners_stamp_get(const char *instance, uint64_t *stamp);

/* ------------------------------------------------------------ events
 * The events of an instance (docs/events.md, kernel/events.c): the one
 * reader of its "events" ring buffer (a lock file makes it one), decoding
 * raw records into struct sl_ev (rule, attachment and learned host names),
 * and the emitted / suppressed / lost counters.
 */
#define SL_RUN_DIR      "/run/sluice"   /* lock files and `sluice run`'s sockets */
/* Remove the lock file @path if no process holds it (lock.c): 1 removed, 0 held or absent. */
int slk_lock_path_sweep(const char *path);
/* `sluice gc`: remove what killed processes left in SL_RUN_DIR (lock.c):
 * unheld events locks; the instance lock, confirm log and dead socket of an
 * instance that is gone.  @cb is told each path.  The count, or -errno. */
int sl_run_dir_sweep(bool dry, void (*cb)(const char *path, void *arg), void *arg);

/* Sum the per-CPU event counters of @inst (enum sl_ev_ctr); 0 or -errno. */
int sl_events_counters(const char *inst, uint64_t out[SL_EC_MAX]);

/* Names for decoding: rule slots, attachments, name classes of @inst. */
struct sl_ev_names;
int sl_ev_names_load(const char *inst, struct sl_ev_names **out);
void sl_ev_names_free(struct sl_ev_names *n);
/* Decode @raw (reloads the names at most once a second if it names an unknown rule or class). */
void sl_ev_decode(struct sl_ev_names *n, const struct sl_event *raw, struct sl_ev *out);

/* "/run/sluice/<inst>.sock": where `sluice run` serves the events. */
void sl_ev_sock_path(const char *inst, char *buf, size_t n);

/* The reader: the lock (SL_RUN_DIR/<inst>.events.lock) and the ring buffer.
 * -EBUSY (with a message naming the holder) if another process reads it. */
typedef void (*sl_ev_cb)(void *arg, const struct sl_ev *ev);
struct sl_ev_reader;
int sl_ev_reader_open(const char *inst, sl_ev_cb cb, void *arg, struct sl_ev_reader **out);
int sl_ev_reader_epoll_fd(struct sl_ev_reader *r);
/* Hand every buffered event to the callback; returns how many, or -errno. */
int sl_ev_reader_consume(struct sl_ev_reader *r);
/* The instance may have been detached and applied again: reopen its ring buffer if the pin changed.
 * Returns 1 if it was reopened (the epoll fd changed), 0, or -errno. */
int sl_ev_reader_check(struct sl_ev_reader *r);
void sl_ev_reader_close(struct sl_ev_reader *r);

/* The instance's host_addrs from the namespaces of its ingress attachments now
 * (`sluice run` calls it as addresses change; hostaddr.c). */
int sl_host_addrs_refresh(const char *inst);
/* Whether a target named in @ao (an interface, a cgroup) exists now but
 * instance @inst has no live attachment there (deleted and created again);
 * @what names it.  `sluice run` then applies again (reattach.c). */
bool sl_target_lost(const char *inst, const struct sl_apply_opts *ao, char *what, size_t sz);

const char *sl_hook_name(enum sl_hook h);       /* "tc-egress", ... */
const char *sl_att_kind_name(enum sl_att_kind k); /* "tcx", "clsact", ... */

/* ------------------------------------------------------------ metrics (snapshot.c)
 * An instance's counters, ruleset figures and map fill for the Prometheus
 * exposition (util/prom.h), read-only and without the instance lock that
 * apply holds: pins opened, maps read in batches, the result checked
 * against the pins again, so that a re-apply during a read gives the old
 * generation's figures or the new one's, never a mix (a read that raced a
 * commit is read again; docs/metrics.md). */
struct sl_buf;
struct sl_prom_inst;

/* Snapshot instance @inst into @out (out->rules is allocated: free with
 * sl_snapshot_free).  Returns 0 or a negative errno (-ENOENT: not loaded). */
int sl_snapshot_read(const char *inst, struct sl_prom_inst *out);
void sl_snapshot_free(struct sl_prom_inst *s);

/* The exposition of instance @inst, or of every instance when @inst is
 * NULL (one that goes away meanwhile is left out), appended to @b.
 * Returns 0 or a negative errno. */
int sl_prom_collect(const char *inst, struct sl_buf *b);

/* Reads so far in this process, and how many were read again (make bench). */
struct sl_snapshot_stats {
	uint64_t reads, retries;
};
void sl_snapshot_stats(struct sl_snapshot_stats *st);

#endif
