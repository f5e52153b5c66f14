/* ferryd restore FILE --data DIR: see restore.h and docs/backup.md. */
#include "ferryd/restore.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/backup.h"
#include "lib/banned.h"

static void usage(FILE *f)
{
	fputs("usage: ferryd restore FILE --data DIR [--passphrase-file FILE] [--no-master-key] [--json]\n", f);
}

/* The passphrase file's first line (malloc'd, sodium_memzero before free). */
static char *read_passphrase(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		perror(path);
		return NULL;
	}
	buf = calloc(1, 4097);
	if (!buf)
		abort();
	n = fread(buf, 1, 4096, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	*ret_len = 4097;
	return buf;
}

int ferryd_restore(int argc, char **argv)
{
	enum { O_DATA = 256, O_PASS, O_NOKEY, O_JSON, O_HELP };
	static const struct option opts[] = {
		{ "data", required_argument, NULL, O_DATA },
		{ "passphrase-file", required_argument, NULL, O_PASS },
		{ "no-master-key", no_argument, NULL, O_NOKEY },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *pass_file = NULL, *archive;
	struct ferr e = FERR_INIT;
	char *pass = NULL;
	size_t pass_len = 0;
	int o, no_key = 0, json = 0, rc;
	json_t *out = NULL;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_DATA: data = optarg; break;
		case O_PASS: pass_file = optarg; break;
		case O_NOKEY: no_key = 1; break;
		case O_JSON: json = 1; break;
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || !data) {
		fprintf(stderr, "ferryd restore: give the backup FILE and --data DIR\n");
		usage(stderr);
		return 2;
	}
	archive = argv[optind];
	umask(077); /* what is restored is ferry's alone, as ferryd makes it */
	if (sodium_init() < 0)
		return 1;
	if (pass_file && !(pass = read_passphrase(pass_file, &pass_len)))
		return 1;
	rc = backup_restore(archive, data, pass, no_key, &out, &e);
	if (pass) {
		sodium_memzero(pass, pass_len);
		free(pass);
	}
	if (rc < 0) {
		if (json) {
			json_t *j = json_pack("{s:s, s:s}", "error", e.msg, "code", e.code);
			json_dumpf(j, stderr, JSON_COMPACT);
			fputc('\n', stderr);
			json_decref(j);
		} else {
			fprintf(stderr, "ferryd restore: %s\n", e.msg);
		}
		return 1;
	}
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		printf("restored %s into %s (ferry %s, schema %lld, made %s)\n", archive, data,
		       json_string_value(json_object_get(out, "ferry_version")),
		       json_integer_value(json_object_get(out, "schema_version")),
		       json_string_value(json_object_get(out, "created_at")));
		if (!json_is_true(json_object_get(json_object_get(out, "master_key"), "restored")))
			printf("the master key is not restored: start ferryd with --master-key-file or "
			       "--master-key-command giving key %s\n",
			       json_string_value(json_object_get(json_object_get(out, "master_key"), "id")));
		printf("registry storage: %s\n", json_is_true(json_object_get(json_object_get(out, "registry"),
									  "restored")) ? "restored" : "not in the backup");
		printf("start ferryd with --data %s: it redeploys what was active\n", data);
	}
	json_decref(out);
	return 0;
}
