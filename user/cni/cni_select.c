// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_select.c - which rules file a container gets: the plugin
 * configuration's "rulesBy", a list of entries tried in order, each with
 * patterns (shell globs) for some of
 *   "namespace"  the pod's namespace  (CNI_ARGS K8S_POD_NAMESPACE)
 *   "name"       the pod's name       (CNI_ARGS K8S_POD_NAME; podman: the container's name)
 *   "profile"    a profile name       (CNI_ARGS SLUICE_PROFILE, or "sluice/profile" in the
 *                                      configuration's "args": {"cni": {...}} or "runtimeConfig")
 * and the "rules" file the first matching entry gives; "rules" at the top
 * level is the default.  A container that matches nothing and has no
 * default fails ADD (it never starts unfiltered).  README "Containers".
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"

static const char *const keys[] = { "namespace", "name", "profile", "rules" };

int cni_select_check(const struct cni_conf *c)
{
	size_t i;
	json_t *e;

	if (!json_is_array(c->rules_by))
		return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\" must be a list of entries like "
				"{\"namespace\": \"telehealth-*\", \"rules\": \"/etc/sluice/telehealth.rules\"}");
	json_array_foreach(c->rules_by, i, e) {
		const char *k;
		json_t *v;
		bool sel = false;

		if (!json_is_object(e))
			return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\"[%zu] must be an object", i);
		json_object_foreach(e, k, v) {
			size_t n;

			for (n = 0; n < sizeof(keys) / sizeof(keys[0]) && strcmp(k, keys[n]); n++)
				;
			if (n == sizeof(keys) / sizeof(keys[0]))
				return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\"[%zu]: \"%s\" is not a key of an "
						"entry; use \"namespace\", \"name\", \"profile\" (patterns) "
						"and \"rules\" (a file)", i, k);
			if (!json_is_string(v))
				return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\"[%zu].%s must be a string", i, k);
			sel |= strcmp(k, "rules") != 0;
		}
		if (!json_is_string(json_object_get(e, "rules")) || !json_string_value(json_object_get(e, "rules"))[0])
			return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\"[%zu] has no \"rules\" (the rules file "
					"of the containers it selects)", i);
		if (!sel)
			return cni_fail(CNI_ERR_CONFIG, "\"rulesBy\"[%zu] selects nothing: give \"namespace\", "
					"\"name\" or \"profile\" (or make it the default: the top-level \"rules\")", i);
	}
	return 0;
}

/* KEY=VALUE of CNI_ARGS ("K=V;K=V"), into @out. */
static void cni_arg(const char *args, const char *key, char *out, size_t sz)
{
	size_t kl = strlen(key);

	for (const char *p = args; p && *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, sz, "%.*s", (int)(len - kl - 1), p + kl + 1);
			return;
		}
		p = end ? end + 1 : NULL;
	}
}

int cni_who(const struct cni_env *env, const struct cni_conf *c, struct cni_who *w)
{
	json_t *a = json_object_get(json_object_get(c->root, "args"), "cni");
	json_t *rc = json_object_get(c->root, "runtimeConfig");
	const char *p;

	memset(w, 0, sizeof(*w));
	cni_arg(env->args, "K8S_POD_NAMESPACE", w->pod_ns, sizeof(w->pod_ns));
	cni_arg(env->args, "K8S_POD_NAME", w->pod_name, sizeof(w->pod_name));
	cni_arg(env->args, "SLUICE_PROFILE", w->profile, sizeof(w->profile));
	if ((p = json_string_value(json_object_get(a, "sluice/profile"))) ||
	    (p = json_string_value(json_object_get(rc, "sluice/profile"))))
		snprintf(w->profile, sizeof(w->profile), "%s", p);
	return 0;
}

static bool match(json_t *e, const char *key, const char *val)
{
	const char *pat = json_string_value(json_object_get(e, key));

	return !pat || fnmatch(pat, val, 0) == 0;
}

int cni_select_rules(const struct cni_conf *c, const struct cni_who *w, const char **rules)
{
	size_t i;
	json_t *e;

	*rules = c->rules;
	if (c->rules_by)
		json_array_foreach(c->rules_by, i, e)
			if (match(e, "namespace", w->pod_ns) && match(e, "name", w->pod_name) &&
			    match(e, "profile", w->profile)) {
				*rules = json_string_value(json_object_get(e, "rules"));
				return 0;
			}
	if (!*rules || !(*rules)[0])
		return cni_fail(CNI_ERR_CONFIG, "no rules for this container (namespace \"%s\", name "
				"\"%s\", profile \"%s\"): no \"rulesBy\" entry matches and there is no "
				"default \"rules\"; add one (the container was not started)",
				w->pod_ns, w->pod_name, w->profile);
	return 0;
}
