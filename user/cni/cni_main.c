// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_main.c - sluice-cni's entry: read CNI_* and the configuration, check
 * the version against the command, run it, and on failure print the
 * spec's error object ({"cniVersion", "code", "msg", "details"}) on stdout
 * and exit 1.  What the engine library prints on stderr while it works is
 * captured into "details" (and still written to stderr).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cni/cni.h"

char cni_shared_inst[SL_INST_LEN + 1];
static int err_code;
static char err_msg[1024];
static char details[8192];
static size_t ndetails;
static int cap_fd = -1, saved_stderr = -1;

int cni_fail(int code, const char *fmt, ...)
{
	va_list ap;

	if (err_code)
		return -1;      /* the first failure is the cause */
	err_code = code;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return -1;
}

void cni_capture_begin(void)
{
	fflush(stderr);
	cap_fd = memfd_create("sluice-cni-stderr", MFD_CLOEXEC);
	saved_stderr = cap_fd >= 0 ? dup(STDERR_FILENO) : -1;
	if (saved_stderr < 0 || dup2(cap_fd, STDERR_FILENO) < 0) {
		if (cap_fd >= 0)
			close(cap_fd);
		if (saved_stderr >= 0)
			close(saved_stderr);
		cap_fd = saved_stderr = -1;
	}
}

void cni_capture_end(void)
{
	char buf[4096];
	ssize_t n;

	if (cap_fd < 0)
		return;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	lseek(cap_fd, 0, SEEK_SET);
	while ((n = read(cap_fd, buf, sizeof(buf))) > 0) {
		size_t room = sizeof(details) - 1 - ndetails;

		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
		memcpy(details + ndetails, buf, (size_t)n < room ? (size_t)n : room);
		ndetails += (size_t)n < room ? (size_t)n : room;
	}
	details[ndetails] = 0;
	close(cap_fd);
	cap_fd = saved_stderr = -1;
}

static void print_error(const struct cni_conf *c)
{
	json_t *o = json_object();

	while (ndetails && details[ndetails - 1] == '\n')
		details[--ndetails] = 0;
	json_object_set_new(o, "cniVersion", json_string(c && cni_version_supported(c->version) ?
							  c->version : CNI_LATEST));
	json_object_set_new(o, "code", json_integer(err_code));
	json_object_set_new(o, "msg", json_string(err_msg));
	if (ndetails)
		json_object_set_new(o, "details", json_string(details));
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
	fprintf(stderr, "sluice-cni: %s\n", err_msg);
}

/* One line per call in the configuration's "log" file. */
static void log_call(const struct cni_env *env, const struct cni_conf *c, int rc, double ms)
{
	char inst[SL_INST_LEN + 1] = "-", ts[32];
	time_t t = time(NULL);
	FILE *f;

	if (!c->log || !(f = fopen(c->log, "ae")))
		return;
	if (cni_shared_inst[0])
		snprintf(inst, sizeof(inst), "%s", cni_shared_inst);
	else if (env->containerid && env->ifname)
		cni_instance_name(c->name, env->containerid, env->ifname, inst);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(f, "%s %s network=%s container=%.12s ifname=%s instance=%s %s", ts, env->command,
		c->name ? c->name : "-", env->containerid ? env->containerid : "-",
		env->ifname ? env->ifname : "-", inst, rc ? "error" : "ok");
	fprintf(f, " ms=%.1f", ms);
	if (rc)
		fprintf(f, " code=%d: %s", err_code, err_msg);
	fputc('\n', f);
	fclose(f);
}

static int check_version(const char *cmd, const struct cni_conf *c)
{
	if (!cni_version_supported(c->version))
		return cni_fail(CNI_ERR_VERSION, "cniVersion \"%s\" is not supported by sluice-cni; use "
				"0.3.0, 0.3.1, 0.4.0, 1.0.0 or 1.1.0", c->version[0] ? c->version : "(none)");
	if (!strcmp(cmd, "CHECK") && c->vnum < CNI_V(0, 4, 0))
		return cni_fail(CNI_ERR_VERSION, "CHECK is not defined for cniVersion %s (it came with "
				"0.4.0)", c->version);
	if ((!strcmp(cmd, "GC") || !strcmp(cmd, "STATUS")) && c->vnum < CNI_V(1, 1, 0))
		return cni_fail(CNI_ERR_VERSION, "%s is not defined for cniVersion %s (it came with "
				"1.1.0)", cmd, c->version);
	return 0;
}

int main(void)
{
	struct cni_env env = {
		.command = getenv("CNI_COMMAND"), .containerid = getenv("CNI_CONTAINERID"),
		.netns = getenv("CNI_NETNS"), .ifname = getenv("CNI_IFNAME"),
		.args = getenv("CNI_ARGS"), .path = getenv("CNI_PATH"),
	};
	struct cni_conf c = { 0 };
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sl_loader_verbose(false);
	if (!env.command || !env.command[0]) {
		fprintf(stderr, "sluice-cni: a CNI plugin: container runtimes run it with CNI_COMMAND "
			"and the network configuration on stdin (see README, Containers)\n");
		cni_fail(CNI_ERR_ENV, "CNI_COMMAND is not set (ADD, DEL, CHECK, VERSION, GC, STATUS)");
		print_error(NULL);
		return 1;
	}
	if (!strcmp(env.command, "VERSION")) {
		/* stdin, if any, holds {"cniVersion": ...} */
		if (!isatty(STDIN_FILENO) && cni_conf_read(stdin, &c) == 0)
			cni_print_versions(c.version);
		else
			cni_print_versions(NULL);
		cni_conf_free(&c);
		return 0;
	}
	if (strcmp(env.command, "ADD") && strcmp(env.command, "DEL") && strcmp(env.command, "CHECK") &&
	    strcmp(env.command, "GC") && strcmp(env.command, "STATUS"))
		rc = cni_fail(CNI_ERR_ENV, "CNI_COMMAND \"%s\" is not a CNI command (ADD, DEL, "
			      "CHECK, VERSION, GC, STATUS)", env.command);
	else
		rc = cni_conf_read(stdin, &c);
	if (!rc)
		rc = check_version(env.command, &c);
	if (!rc && strcmp(env.command, "STATUS") && (!c.name || !c.name[0]))
		rc = cni_fail(CNI_ERR_CONFIG, "the configuration has no \"name\" (the network's name: "
			      "runtimes copy the conflist's into each plugin's configuration)");
	if (!rc) {
		if (!strcmp(env.command, "ADD"))
			rc = cni_add(&env, &c);
		else if (!strcmp(env.command, "DEL"))
			rc = cni_del(&env, &c);
		else if (!strcmp(env.command, "CHECK"))
			rc = cni_check(&env, &c);
		else if (!strcmp(env.command, "GC"))
			rc = cni_gc(&c);
		else
			rc = cni_status(&c);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_call(&env, &c, rc, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (rc)
		print_error(&c);
	cni_conf_free(&c);
	return rc ? 1 : 0;
}
