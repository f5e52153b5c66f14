/* ferry admin: operating the installation (backups, disk use). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define MAX_PASSPHRASE 4096

/* The passphrase file's first line, into pass. */
static int read_passphrase(const char *path, struct strbuf *pass, struct ferr *e)
{
	if (input_read_file(path, MAX_PASSPHRASE, pass, e) < 0)
		return -1;
	strbuf_setlen(pass, strcspn(pass->buf, "\r\n"));
	if (!pass->len)
		return usage_error(e, "--passphrase-file %s is empty", path);
	return 0;
}

/* ferry admin backup FILE [--include-registry] [--passphrase-file F]:
 * written to FILE.partial and renamed to FILE once complete, so FILE is
 * never a cut-off archive. */
int cmd_admin_backup(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "include-registry", 0, NULL }, { "passphrase-file", 1, NULL },
			      { NULL, 0, NULL } };
	struct strbuf pass = STRBUF_INIT;
	struct args a;
	char partial[4096];
	const char *file, *pf;
	json_t *body = NULL, *out;
	long long bytes = 0;
	int fd = -1, rc = -1;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "usage: ferry admin backup FILE [--include-registry] [--passphrase-file F]");
	file = a.pos[0];
	pf = opt_get(opts, "passphrase-file");
	if (access(file, F_OK) == 0)
		return ferr_conflict(e, "%s exists: give a new file name (a backup never overwrites)", file);
	if (snprintf(partial, sizeof(partial), "%s.partial", file) >= (int)sizeof(partial))
		return usage_error(e, "the file name is too long");
	if (cli_resolve(e) < 0 || (pf && read_passphrase(pf, &pass, e) < 0))
		goto out;
	body = json_pack("{s:b}", "include_registry", opt_get(opts, "include-registry") != NULL);
	if (pf)
		json_object_set_new(body, "master_key_passphrase", json_stringn(pass.buf, pass.len));
	fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ferr_invalid(e, "create %s: %s", partial, strerror(errno));
		goto out;
	}
	if (api_download("POST", "/api/v1/admin/backup", body, fd, &bytes, e) < 0)
		goto out;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		ferr_internal(e, "write %s: %s", partial, strerror(errno));
		goto out;
	}
	fd = -1;
	if (bytes < 1024) {
		ferr_internal(e, "ferryd sent %lld bytes: not a backup", bytes);
		goto out;
	}
	if (rename(partial, file) < 0) {
		ferr_internal(e, "rename %s to %s: %s", partial, file, strerror(errno));
		goto out;
	}
	out = json_pack("{s:s, s:I, s:b, s:b}", "file", file, "bytes", (json_int_t)bytes,
			"registry", opt_get(opts, "include-registry") != NULL, "master_key", pf != NULL);
	if (cli.json)
		print_json(out);
	else
		printf("backup written to %s (%lld bytes%s%s)\n", file, bytes,
		       opt_get(opts, "include-registry") ? ", with the registry" : "",
		       pf ? ", with the master key sealed by the passphrase" : "");
	json_decref(out);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(partial);
	json_decref(body);
	input_wipe(&pass);
	return rc;
}

/* 1.5 GiB, 20.0 MiB, 512 B */
static void size_str(long long n, char out[32])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%lld B", n);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
}

static void df_row(const char *what, json_t *bytes, json_t *reclaim, const char *note)
{
	char a[32], b[32] = "-";

	size_str((long long)json_integer_value(bytes), a);
	if (reclaim)
		size_str((long long)json_integer_value(reclaim), b);
	printf("%-22s %12s %12s  %s\n", what, a, b, note ? note : "");
}

/* The records kept in the store: counts, not bytes (they share the file). */
static void print_history(json_t *h)
{
	static const char *const kinds[] = { "builds", "deployments", "executions", "audit", NULL };

	if (!json_is_object(h))
		return;
	printf("\n%-22s %12s %12s  keeping the newest %lld per component (and environment), "
	       "%lld days; audit: %lld entries\n", "HISTORY", "RECORDS", "PAST RETENTION",
	       json_integer_value(json_object_get(h, "keep")),
	       json_integer_value(json_object_get(h, "max_age_days")),
	       json_integer_value(json_object_get(h, "audit_keep")));
	for (int i = 0; kinds[i]; i++) {
		json_t *k = json_object_get(h, kinds[i]);
		printf("%-22s %12lld %12lld\n", kinds[i], json_integer_value(json_object_get(k, "records")),
		       json_integer_value(json_object_get(k, "reclaimable")));
	}
}

static void print_df(json_t *r)
{
	json_t *img = json_object_get(r, "images"), *reg = json_object_get(r, "registry");
	json_t *bc = json_object_get(r, "build_cache"), *logs = json_object_get(r, "logs");
	json_t *disk = json_object_get(r, "disk");
	static const char *const kinds[] = { "build", "deployment", "execution", NULL };
	char note[200], fr[32], tot[32];

	printf("%-22s %12s %12s  %s\n", "WHAT", "SIZE", "RECLAIMABLE", "NOTE");
	snprintf(note, sizeof(note), "%lld images, %lld removable (keeping the last %lld per environment)",
		 json_integer_value(json_object_get(img, "count")),
		 json_integer_value(json_object_get(img, "reclaimable_count")),
		 json_integer_value(json_object_get(img, "keep_per_environment")));
	df_row("runtime images", json_object_get(img, "bytes"), json_object_get(img, "reclaimable_bytes"), note);
	snprintf(note, sizeof(note), "%lld images, %lld removable (keeping the newest %lld builds); "
		 "freed by the GC (schedule \"%s\", next %s)",
		 json_integer_value(json_object_get(reg, "images")),
		 json_integer_value(json_object_get(reg, "reclaimable_images")),
		 json_integer_value(json_object_get(reg, "keep_builds")),
		 json_string_value(json_object_get(reg, "schedule")),
		 json_is_string(json_object_get(reg, "next_gc")) ?
		 json_string_value(json_object_get(reg, "next_gc")) : "never");
	df_row("registry", json_object_get(reg, "bytes"), json_object_get(reg, "reclaimable_bytes"), note);
	df_row("build cache", json_object_get(bc, "bytes"), NULL, "ferry's build image store");
	df_row("build workspaces", json_object_get(bc, "workspaces_bytes"), NULL, NULL);
	df_row("store", json_object_get(json_object_get(r, "store"), "bytes"), NULL, "SQLite");
	for (int i = 0; kinds[i]; i++) {
		json_t *k = json_object_get(logs, kinds[i]);
		char what[40];
		snprintf(what, sizeof(what), "%s logs", kinds[i]);
		snprintf(note, sizeof(note), "%lld logs, %lld past retention",
			 json_integer_value(json_object_get(k, "logs")),
			 json_integer_value(json_object_get(k, "reclaimable_logs")));
		df_row(what, json_object_get(k, "bytes"), json_object_get(k, "reclaimable_bytes"), note);
	}
	print_history(json_object_get(r, "history"));
	size_str((long long)json_integer_value(json_object_get(r, "reclaimable_bytes")), fr);
	printf("\nreclaimable now: %s (ferry admin prune)\n", fr);
	if (json_is_object(disk)) {
		size_str((long long)json_integer_value(json_object_get(disk, "free_bytes")), fr);
		size_str((long long)json_integer_value(json_object_get(disk, "total_bytes")), tot);
		printf("disk: %s free of %s on %s%s\n", fr, tot,
		       json_string_value(json_object_get(disk, "path")),
		       json_is_true(json_object_get(disk, "low")) ? " (LOW: builds are refused)" : "");
	}
}

/* ferry admin df: what uses the disk and what would be freed. */
int cmd_admin_df(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos)
		return usage_error(e, "usage: ferry admin df");
	if (cli_resolve(e) < 0)
		return -1;
	return api_call_print("GET", "/api/v1/admin/df", NULL, print_df, e);
}

static void print_prune(json_t *r)
{
	char a[32], b[32];

	size_str((long long)json_integer_value(json_object_get(r, "images_freed_bytes")), a);
	size_str((long long)json_integer_value(json_object_get(r, "logs_freed_bytes")), b);
	printf("removed %lld runtime images (%s), %s of logs, %lld build leftovers; "
	       "deleted %lld images from the registry\n",
	       json_integer_value(json_object_get(r, "images_removed")), a, b,
	       json_integer_value(json_object_get(r, "build_leftovers_removed")),
	       json_integer_value(json_object_get(r, "registry_images_deleted")));
	{
		json_t *h = json_object_get(r, "history_deleted");
		printf("deleted history: %lld builds, %lld deployments, %lld executions, %lld jobs, "
		       "%lld configuration snapshots, %lld audit entries\n",
		       json_integer_value(json_object_get(h, "builds")),
		       json_integer_value(json_object_get(h, "deployments")),
		       json_integer_value(json_object_get(h, "executions")),
		       json_integer_value(json_object_get(h, "jobs")),
		       json_integer_value(json_object_get(h, "snapshots")),
		       json_integer_value(json_object_get(h, "audit")));
	}
	if (json_object_get(r, "registry_freed_bytes")) {
		size_str((long long)json_integer_value(json_object_get(r, "registry_freed_bytes")), a);
		printf("registry garbage-collected: %s freed\n", a);
	}
}

/* ferry admin prune [--registry-gc]: what housekeeping does, now. */
int cmd_admin_prune(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "registry-gc", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	json_t *body;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos)
		return usage_error(e, "usage: ferry admin prune [--registry-gc]");
	if (cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:b}", "registry_gc", opt_get(opts, "registry-gc") != NULL);
	rc = api_call_print("POST", "/api/v1/admin/prune", body, print_prune, e);
	return rc;
}
