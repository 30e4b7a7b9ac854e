// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_conf.c - the network configuration sluice-cni reads on stdin, and the
 * JSON it prints.  Keys of ours: "rules" (required for ADD, CHECK and
 * STATUS), "hook" ("tc-ingress", the default, or "tc-egress"), "mode"
 * ("enforce" or "audit", overriding the file's), "log" (a file that gets
 * one line per call: time, command, container, instance, outcome).  The runtime's keys
 * (cniVersion, name, type, prevResult, runtimeConfig, args, capabilities,
 * cni.dev/...) are read where they matter and otherwise ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"

static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; i < NVERSIONS; i++)
		if (v && !strcmp(v, versions[i]))
			return true;
	return false;
}

static unsigned int version_num(const char *v)
{
	unsigned int a = 0, b = 0, c = 0;

	if (!v || sscanf(v, "%u.%u.%u", &a, &b, &c) < 2)
		return 0;
	return CNI_V(a, b, c);
}

void cni_print_versions(const char *v)
{
	json_t *o = json_object(), *a = json_array();

	for (size_t i = 0; i < NVERSIONS; i++)
		json_array_append_new(a, json_string(versions[i]));
	json_object_set_new(o, "cniVersion", json_string(cni_version_supported(v) ? v : CNI_LATEST));
	json_object_set_new(o, "supportedVersions", a);
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}

/* An optional string key: NULL if absent; -1 (reported) if not a string. */
static int opt_str(json_t *root, const char *key, const char **out)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cni_fail(CNI_ERR_CONFIG, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	return 0;
}

/* "host": "filter" (the default: a container's traffic to its host is
 * judged by its rules), "pass" (to the host's addresses: passed) or
 * "rules" (the rules file's own `host` statement). */
static int conf_host(struct cni_conf *c)
{
	const char *h;

	if (opt_str(c->root, "host", &h))
		return -1;
	if (!h || !strcmp(h, "filter"))
		c->host = CNI_HOST_FILTER;
	else if (!strcmp(h, "pass"))
		c->host = CNI_HOST_PASS;
	else if (!strcmp(h, "rules"))
		c->host = CNI_HOST_RULES;
	else
		return cni_fail(CNI_ERR_CONFIG, "\"host\": \"%s\" is not a host mode; use \"filter\" "
				"(the default: traffic to the host is judged by the rules), \"pass\" or "
				"\"rules\" (the rules file's `host` statement)", h);
	return 0;
}

/* "share": true (the default: one instance per ruleset) or false (one per
 * container); "eventsKiB": the events ring of a new instance. */
static int conf_share(struct cni_conf *c)
{
	json_t *v = json_object_get(c->root, "share");
	json_t *ev = json_object_get(c->root, "eventsKiB");

	c->share = true;
	if (v && !json_is_boolean(v))
		return cni_fail(CNI_ERR_CONFIG, "\"share\" must be true (containers with the same rules "
				"share one instance, the default) or false (an instance per container)");
	if (v)
		c->share = json_is_true(v);
	if (ev) {
		json_int_t k = json_is_integer(ev) ? json_integer_value(ev) : 0;

		if (k < 4 || k > 65536 || (k & (k - 1)))
			return cni_fail(CNI_ERR_CONFIG, "\"eventsKiB\" must be a power of two from 4 to "
					"65536 (the events ring of an instance, in KiB)");
		c->events_kib = (uint32_t)k;
	}
	return 0;
}

int cni_conf_read(FILE *in, struct cni_conf *c)
{
	json_error_t je;
	const char *ver, *hook, *mode, *log;

	memset(c, 0, sizeof(*c));
	c->hook = SL_HOOK_TC_INGRESS;
	c->mode = -1;
	c->root = json_loadf(in, JSON_REJECT_DUPLICATES, &je);
	if (!c->root)
		return cni_fail(CNI_ERR_DECODE, "the network configuration on stdin is not JSON: "
				"line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(c->root))
		return cni_fail(CNI_ERR_DECODE, "the network configuration on stdin must be a JSON object");
	if (opt_str(c->root, "cniVersion", &ver) || opt_str(c->root, "name", &c->name) ||
	    opt_str(c->root, "rules", &c->rules) || opt_str(c->root, "hook", &hook) ||
	    opt_str(c->root, "mode", &mode))
		return -1;
	if (ver) {
		if (strlen(ver) >= sizeof(c->version))
			return cni_fail(CNI_ERR_VERSION, "cniVersion \"%.32s...\" is not a version", ver);
		snprintf(c->version, sizeof(c->version), "%s", ver);
		c->vnum = version_num(ver);
	}
	if (hook && !strcmp(hook, "tc-egress"))
		c->hook = SL_HOOK_TC_EGRESS;
	else if (hook && strcmp(hook, "tc-ingress"))
		return cni_fail(CNI_ERR_CONFIG, "\"hook\": \"%s\" is not a hook of sluice-cni; use "
				"\"tc-ingress\" (the host side of the veth, the default) or \"tc-egress\" "
				"(the container's interface)", hook);
	if (mode && !strcmp(mode, "audit"))
		c->mode = SL_MODE_AUDIT;
	else if (mode && !strcmp(mode, "enforce"))
		c->mode = SL_MODE_ENFORCE;
	else if (mode)
		return cni_fail(CNI_ERR_CONFIG, "\"mode\": \"%s\" is not a mode; use \"enforce\" or "
				"\"audit\" (or leave it out: the rules file's own mode)", mode);
	if (opt_str(c->root, "log", &log) || conf_host(c) || conf_share(c))
		return -1;
	if (log && log[0] != '/')
		return cni_fail(CNI_ERR_CONFIG, "\"log\": \"%s\" must be an absolute path (a file "
				"sluice-cni appends one line per call to)", log);
	c->log = log;           /* only once it is valid: main writes the line even on errors */
	c->prev = json_object_get(c->root, "prevResult");
	if (c->prev && !json_is_object(c->prev))
		return cni_fail(CNI_ERR_DECODE, "\"prevResult\" must be an object (the result of the "
				"previous plugin in the chain)");
	c->rules_by = json_object_get(c->root, "rulesBy");
	if (c->rules_by && cni_select_check(c))
		return -1;
	c->valid = json_object_get(c->root, "cni.dev/valid-attachments");
	if (c->valid && !json_is_array(c->valid))
		return cni_fail(CNI_ERR_DECODE, "\"cni.dev/valid-attachments\" must be an array");
	return 0;
}

void cni_conf_free(struct cni_conf *c)
{
	json_decref(c->root);
	c->root = NULL;
}

int cni_print_prev(const struct cni_conf *c)
{
	json_t *r = json_deep_copy(c->prev);

	if (!r)
		return cni_fail(CNI_ERR_IO, "out of memory");
	json_object_set_new(r, "cniVersion", json_string(c->version));
	if (json_dumpf(r, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF || fflush(stdout)) {
		json_decref(r);
		return cni_fail(CNI_ERR_IO, "cannot write the result to stdout");
	}
	json_decref(r);
	return 0;
}

size_t cni_prev_host_ifaces(const struct cni_conf *c, const char **names, size_t max)
{
	json_t *ifs = c->prev ? json_object_get(c->prev, "interfaces") : NULL, *i;
	size_t k, n = 0;

	if (!json_is_array(ifs))
		return 0;
	json_array_foreach(ifs, k, i) {
		const char *sb = json_string_value(json_object_get(i, "sandbox"));
		const char *nm = json_string_value(json_object_get(i, "name"));

		if (nm && (!sb || !sb[0]) && n < max)
			names[n++] = nm;
	}
	return n;
}
