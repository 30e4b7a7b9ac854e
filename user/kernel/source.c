// SPDX-License-Identifier: GPL-2.0-only
/*
 * source.c - what an instance records of the ruleset it runs: the pin
 * "source", a BPF array of pages (an mmap-able one: written and read with
 * one copy), page 0 a struct sl_source (rules file, digest of the compiled
 * image, applied time, generation, a pending confirmation), the pages after
 * it the resolved ruleset as user/plan/blob.c writes it.  An apply pins its
 * own as next-source before next-config, so the commit's renames make it
 * visible with the generation and never before (docs/operations.md §2);
 * an apply with --confirm also pins the running one as next-prev-source
 * (-> prev-source), what a rollback re-applies (kernel/confirm.c).
 */
#include <sys/mman.h>
#include <time.h>

#include "kernel/journal.h"
#include "plan/plan.h"

#define SRC_PAGE 4096u

_Static_assert(sizeof(struct sl_source) <= SRC_PAGE, "sl_source fits page 0");

/* A new source map holding @hdr and @blob. */
static int source_create(const struct sl_source *hdr, const uint8_t *blob, size_t len)
{
	size_t pages = 1 + (len + SRC_PAGE - 1) / SRC_PAGE;
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE);
	uint8_t *m;
	int fd;

	if (pages > UINT32_MAX / SRC_PAGE)
		return -E2BIG;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_source", 4, SRC_PAGE, (__u32)pages, &mo);
	if (fd < 0)
		return -errno;
	m = mmap(NULL, pages * SRC_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	memcpy(m, hdr, sizeof(*hdr));
	if (len)
		memcpy(m + SRC_PAGE, blob, len);
	munmap(m, pages * SRC_PAGE);
	return fd;
}

static int source_map_read(const char *inst, const char *name, struct sl_source *h,
			   uint8_t **blob);

int slk_source_stage(const char *inst, const struct sl_ruleset *rs, const struct sl_image *img,
		     const struct sl_apply_opts *o, bool have, const struct sl_attach *att,
		     const bool *is_new)
{
	struct sl_source h = { .magic = SL_SOURCE_MAGIC, .version = SL_SOURCE_VERSION };
	uint8_t *blob = NULL;
	size_t len = 0;
	int fd, e;

	if (o->rules_path)
		snprintf(h.path, sizeof(h.path), "%s", o->rules_path);
	h.digest = sl_image_digest(img);
	h.applied_at = (uint64_t)time(NULL);
	h.generation = img->cfg.generation;
	if (o->rollback_of) {
		h.rolled_back_of = o->rollback_of;
		h.rolled_back_at = h.applied_at;
	}
	if (o->confirm_s) {
		h.confirm_deadline = h.applied_at + o->confirm_s;
		h.confirm_have_prev = have;
		for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
			if (att[k].hook != SL_HOOK_NONE && !is_new[k])
				h.confirm_keep |= 1ull << k;
	}
	if (have && o->confirm_s) {
		/* the running generation's record, what a rollback re-applies */
		struct sl_source cur;
		int pfd = slk_obj_get(inst, "source");

		if (pfd >= 0 && (source_map_read(inst, "source", &cur, NULL) ||
				 cur.generation + 1 != img->cfg.generation)) {
			/* of another generation: an older sluice applied since */
			close(pfd);
			pfd = -1;
		}
		if (pfd < 0) {
			slk_err("%s/%s: the running ruleset has no recorded source of its own (applied by "
				"an older sluice), so there is nothing to roll back to: apply it once "
				"without --confirm, then again with it", SL_PIN_ROOT, inst);
			return -ENOENT;
		}
		e = slk_pin_fd(pfd, inst, "next-prev-source");
		close(pfd);
		if (e)
			return e;
	}
	if ((e = sl_plan_blob(rs, &blob, &len)))
		return e;
	h.blob_len = len;
	fd = source_create(&h, blob, len);
	free(blob);
	if (fd < 0) {
		slk_err("%s/%s/next-source: cannot create the source record: %s", SL_PIN_ROOT, inst,
			strerror(-fd));
		return fd;
	}
	e = slk_pin_fd(fd, inst, "next-source");
	close(fd);
	return e;
}

void slk_source_unstage(const char *inst)
{
	slk_unpin(inst, "next-source");
	slk_unpin(inst, "next-prev-source");
}

/* Map @name of @inst: its header, and its blob if @blob (malloc'ed). */
static int source_map_read(const char *inst, const char *name, struct sl_source *h,
			   uint8_t **blob)
{
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	size_t sz;
	uint8_t *m;
	int fd, e = 0;

	memset(h, 0, sizeof(*h));
	if (blob)
		*blob = NULL;
	fd = slk_obj_get(inst, name);
	if (fd < 0)
		return -ENOENT;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.value_size != SRC_PAGE || !info.max_entries || !(info.map_flags & BPF_F_MMAPABLE)) {
		close(fd);
		return -EPROTO;
	}
	sz = (size_t)info.max_entries * SRC_PAGE;
	m = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	memcpy(h, m, sizeof(*h));
	h->path[sizeof(h->path) - 1] = 0;
	if (h->magic != SL_SOURCE_MAGIC || h->version != SL_SOURCE_VERSION ||
	    h->blob_len > sz - SRC_PAGE)
		e = -EPROTO;
	else if (blob && !(*blob = malloc(h->blob_len ? h->blob_len : 1)))
		e = -ENOMEM;
	else if (blob)
		memcpy(*blob, m + SRC_PAGE, h->blob_len);
	munmap(m, sz);
	return e;
}

int slk_source_read_raw(const char *inst, bool prev, struct sl_source *h, struct sl_ruleset *rs)
{
	const char *name = prev ? "prev-source" : "source";
	uint8_t *blob = NULL;
	char origin[96];
	int e;

	if (rs)
		memset(rs, 0, sizeof(*rs));
	e = source_map_read(inst, name, h, rs ? &blob : NULL);
	if (e || !rs)
		return e;
	snprintf(origin, sizeof(origin), "%s/%s/%s", SL_PIN_ROOT, inst, name);
	e = sl_plan_unblob(blob, h->blob_len, origin, rs);
	free(blob);
	return e == -EINVAL ? -EPROTO : e;
}

int sl_source_read(const char *inst, bool prev, struct sl_source *h, struct sl_ruleset *rs)
{
	int lk = -1, e;

	/* shared: an apply's commit renames source and config under the exclusive lock */
	if (!slk_valid_instance(inst))
		return -EINVAL;
	if ((e = slk_lock_file(inst, false, &lk)))
		return e;
	e = slk_source_read_raw(inst, prev, h, rs);
	slk_lock_release(&lk);
	return e;
}

/* Page 0 of the running source rewritten (the pending confirmation cleared). */
int slk_source_set_deadline(const char *inst, uint64_t deadline)
{
	struct sl_source h;
	__u32 k = 0;
	uint8_t page[SRC_PAGE];
	int fd, e;

	if ((e = source_map_read(inst, "source", &h, NULL)))
		return e;
	fd = slk_obj_get(inst, "source");
	if (fd < 0)
		return -errno;
	h.confirm_deadline = deadline;
	memset(page, 0, sizeof(page));
	memcpy(page, &h, sizeof(h));
	e = bpf_map_update_elem(fd, &k, page, BPF_ANY) ? -errno : 0;
	close(fd);
	return e;
}
