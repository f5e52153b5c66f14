/* ferry admin: operating the installation (backups). */
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
