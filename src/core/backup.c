/* Backups of a whole installation and their restore; see backup.h and
 * docs/backup.md. The archive is made and read by GNU tar (no shell). */
#include "core/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "lib/jsontext.h"
#include "lib/spawn.h"
#include "store/backup.h"
#include "store/store.h"
#include "vault/keyexport.h"
#include "vault/vault.h"
#include "lib/banned.h"

#define FORMAT "ferry-backup"
#define FORMAT_VERSION 1
#define TOP "ferry-backup"
#define REGISTRY_STORAGE "registry/storage"
#define BLOBS "docker/registry/v2/blobs/sha256"
#define REPOS "docker/registry/v2/repositories"
#define TAR_TIMEOUT_MS (60 * 60 * 1000)

/* ---- small helpers ---------------------------------------------------- */

/* snprintf for paths: a path too long for out becomes "" (which then fails
 * to open, with the caller's message) rather than a shorter, wrong path. */
__attribute__((format(printf, 3, 4)))
static void pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		out[0] = '\0';
}

static int sha256_file(const char *path, char hex[65], long long *ret_bytes, struct ferr *e)
{
	crypto_hash_sha256_state st;
	unsigned char buf[65536], out[crypto_hash_sha256_BYTES];
	long long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ferr_internal(e, "open %s: %s", path, strerror(errno));
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		total += n;
	}
	close(fd);
	if (n < 0)
		return ferr_internal(e, "read %s: %s", path, strerror(errno));
	crypto_hash_sha256_final(&st, out);
	sodium_bin2hex(hex, 65, out, sizeof(out));
	if (ret_bytes)
		*ret_bytes = total;
	return 0;
}

static int run_tool(const char *const *argv, const char *what, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT;
	int rc = spawn_capture(argv, NULL, NULL, &out, 64 * 1024, TAR_TIMEOUT_MS, e);

	if (rc > 0) {
		while (out.len && out.buf[out.len - 1] == '\n')
			strbuf_setlen(&out, out.len - 1);
		ferr_internal(e, "%s: %s exited with %d: %s", what, argv[0], rc, out.buf);
		rc = -1;
	} else if (rc < 0) {
		ferr_prefix(e, "%s", what);
	}
	strbuf_release(&out);
	return rc;
}

static int rm_rf(const char *path)
{
	const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
	struct ferr e = FERR_INIT;

	return run_tool(argv, "remove", &e);
}

static int write_file(const char *path, const char *text, size_t len, struct ferr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return ferr_internal(e, "create %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		ferr_internal(e, "write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int add_file_entry(json_t *files, const char *dir, const char *name, struct ferr *e)
{
	char path[PATH_MAX], hex[65];
	long long bytes;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	if (sha256_file(path, hex, &bytes, e) < 0)
		return -1;
	json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", name, "bytes", (json_int_t)bytes,
					       "sha256", hex));
	return 0;
}

/* ---- the registry's storage ------------------------------------------- */

/* nftw has no user pointer: one listing at a time (backups are rare and
 * serialised by the caller's lock). */
static struct {
	const char *root;   /* .../docker/registry/v2/repositories */
	json_t *repos;
	long long blobs, bytes;
} walk;

static int walk_repos(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	const char *tags = "/_manifests/tags";
	size_t n = strlen(path), rl = strlen(walk.root), tl = strlen(tags);
	DIR *d;
	struct dirent *de;
	json_t *list;

	(void)sb;
	(void)f;
	if (type != FTW_D || n <= rl + tl || strcmp(path + n - tl, tags))
		return 0;
	list = json_array();
	if ((d = opendir(path))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				json_array_append_new(list, json_text0(de->d_name));
		closedir(d);
	}
	json_array_append_new(walk.repos, json_pack("{s:o, s:o}", "name",
						     json_text(path + rl + 1, n - tl - rl - 1), "tags", list));
	return 0;
}

static int walk_blobs(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_F && !strcmp(path + strlen(path) - 5, "/data")) {
		walk.blobs++;
		walk.bytes += sb->st_size;
	}
	return 0;
}

/* The registry's repositories, tags, blob count and bytes. */
static json_t *registry_listing(const char *storage)
{
	char path[PATH_MAX];
	json_t *out;

	walk.repos = json_array();
	walk.blobs = walk.bytes = 0;
	pathf(path, sizeof(path), "%s/" REPOS, storage);
	walk.root = path;
	nftw(path, walk_repos, 16, FTW_PHYS);
	pathf(path, sizeof(path), "%s/" BLOBS, storage);
	nftw(path, walk_blobs, 16, FTW_PHYS);
	out = json_pack("{s:o, s:I, s:I}", "repositories", walk.repos, "blobs", (json_int_t)walk.blobs,
			"bytes", (json_int_t)walk.bytes);
	walk.repos = NULL;
	return out;
}

/* Every blob's content must hash to its name (.../sha256/ab/<hex>/data). */
static int bad_blobs;
static char bad_blob[PATH_MAX];

static int walk_verify(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	struct ferr e = FERR_INIT;
	char hex[65];
	const char *end = path + strlen(path) - 5, *slash;

	(void)sb;
	(void)f;
	if (type != FTW_F || strcmp(end, "/data"))
		return 0;
	for (slash = end - 1; slash > path && *slash != '/'; slash--)
		;
	if (end - slash - 1 != 64 || sha256_file(path, hex, NULL, &e) < 0 ||
	    strncmp(hex, slash + 1, 64)) {
		if (!bad_blobs++)
			pathf(bad_blob, sizeof(bad_blob), "%s", path);
	}
	return 0;
}

/* ---- backup ------------------------------------------------------------ */

void backup_discard(const char *dir)
{
	if (dir && *dir)
		rm_rf(dir);
}

int backup_create(const struct backup_options *o, char *ret_dir, size_t dir_size, char *ret_file,
		  size_t file_size, struct ferr *e)
{
	char tmp[PATH_MAX], top[PATH_MAX + 16], path[PATH_MAX + 64], storage[PATH_MAX], now[32];
	char id[VAULT_KEY_ID_LEN + 1];
	struct strbuf sealed = STRBUF_INIT;
	json_t *manifest = NULL, *files = json_array(), *reg;
	char *text = NULL;
	struct stat st;
	int have_registry;

	pathf(tmp, sizeof(tmp), "%s/tmp", core.data_dir);
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
		json_decref(files);
		return ferr_internal(e, "create %s: %s", tmp, strerror(errno));
	}
	pathf(ret_dir, dir_size, "%s/backup-XXXXXX", tmp);
	if (!mkdtemp(ret_dir)) {
		json_decref(files);
		return ferr_internal(e, "create a directory in %s: %s", tmp, strerror(errno));
	}
	pathf(top, sizeof(top), "%s/" TOP, ret_dir);
	if (mkdir(top, 0700) < 0) {
		ferr_internal(e, "create %s: %s", top, strerror(errno));
		goto fail;
	}
	pathf(path, sizeof(path), "%s/ferry.db", top);
	if (store_backup_copy(path, e) < 0 || add_file_entry(files, top, "ferry.db", e) < 0)
		goto fail;
	if (o->passphrase) {
		pathf(path, sizeof(path), "%s/master.key.sealed", top);
		if (vault_export_master(core.vault, o->passphrase, &sealed, e) < 0 ||
		    write_file(path, sealed.buf, sealed.len, e) < 0 ||
		    add_file_entry(files, top, "master.key.sealed", e) < 0)
			goto fail;
	}
	pathf(storage, sizeof(storage), "%s/" REGISTRY_STORAGE, core.data_dir);
	have_registry = stat(storage, &st) == 0 && S_ISDIR(st.st_mode);
	reg = have_registry ? registry_listing(storage) : json_pack("{s:[], s:i, s:i}", "repositories",
								       "blobs", 0, "bytes", 0);
	json_object_set_new(reg, "included", json_boolean(o->include_registry && have_registry));
	json_object_set_new(reg, "path", json_string(REGISTRY_STORAGE));
	vault_key_id(core.vault, id);
	store_now(now);
	manifest = json_pack("{s:s, s:i, s:s, s:i, s:s, s:{s:s, s:b}, s:O, s:o}",
			     "format", FORMAT, "format_version", FORMAT_VERSION,
			     "ferry_version", o->ferry_version, "schema_version", store_schema_version(),
			     "created_at", now, "master_key", "id", id, "included", o->passphrase != NULL,
			     "files", files, "registry", reg);
	text = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
	pathf(path, sizeof(path), "%s/manifest.json", top);
	if (write_file(path, text, strlen(text), e) < 0)
		goto fail;

	pathf(ret_file, file_size, "%s/ferry-backup.tar", ret_dir);
	{
		/* DATA/registry/port goes along always: every image reference
		 * in the store names the registry by it. */
		const char *argv[16] = { "tar", "--create", "--file", ret_file, "--directory", ret_dir, TOP,
					 "--directory", core.data_dir,
					 "--transform", "s,^registry/,ferry-backup/registry/,", NULL };
		int n = 11;
		char port[PATH_MAX];

		pathf(port, sizeof(port), "%s/registry/port", core.data_dir);
		if (access(port, R_OK) == 0)
			argv[n++] = "registry/port";
		if (o->include_registry && have_registry)
			argv[n++] = REGISTRY_STORAGE;
		argv[n] = NULL;
		if (n == 11)
			argv[7] = NULL;
		if (run_tool(argv, "writing the backup", e) < 0)
			goto fail;
	}
	json_decref(files);
	json_decref(manifest);
	free(text);
	strbuf_release(&sealed);
	return 0;
fail:
	json_decref(files);
	json_decref(manifest);
	free(text);
	if (sealed.len)
		sodium_memzero(sealed.buf, sealed.len);
	strbuf_release(&sealed);
	backup_discard(ret_dir);
	ret_dir[0] = ret_file[0] = '\0';
	return -1;
}

/* ---- restore ----------------------------------------------------------- */

/* Lists the archive and refuses anything a backup never holds: links,
 * devices, absolute names, "..", members outside ferry-backup/. */
static int archive_safe(const char *archive, struct ferr *e)
{
	const char *argv[] = { "tar", "--list", "--verbose", "--file", archive, NULL };
	struct strbuf out = STRBUF_INIT;
	int rc = spawn_capture(argv, NULL, NULL, &out, 64 << 20, TAR_TIMEOUT_MS, e);
	int n = 0;

	if (rc != 0) {
		if (rc > 0)
			ferr_invalid(e, "%s is not a tar archive (tar: %.200s)", archive, out.buf);
		strbuf_release(&out);
		return -1;
	}
	for (char *line = out.buf; *line;) {
		char *nl = strchr(line, '\n'), *name;
		if (nl)
			*nl = '\0';
		/* "-rw------- root/root 123 2026-12-03 08:00 ferry-backup/x" */
		name = line;
		for (int field = 0; field < 5 && name; field++) {
			name = strchr(name, ' ');
			while (name && *name == ' ')
				name++;
		}
		if (*line && (!name || (line[0] != '-' && line[0] != 'd') ||
			      strncmp(name, TOP "/", sizeof(TOP)) || strstr(name, "/../") ||
			      strstr(name, " -> ") || strstr(name, " link to "))) {
			ferr_invalid(e, "%s is not a ferry backup: it holds \"%.200s\"", archive, line);
			strbuf_release(&out);
			return -1;
		}
		n += *line != '\0';
		line = nl ? nl + 1 : line + strlen(line);
	}
	strbuf_release(&out);
	if (!n)
		return ferr_invalid(e, "%s is an empty archive", archive);
	return 0;
}

static int dir_empty_or_absent(const char *dir, int *ret_created, struct ferr *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	*ret_created = 0;
	if (!d) {
		if (errno != ENOENT)
			return ferr_invalid(e, "--data %s: %s", dir, strerror(errno));
		if (mkdir(dir, 0700) < 0)
			return ferr_invalid(e, "create --data %s: %s", dir, strerror(errno));
		*ret_created = 1;
		return 0;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			return ferr_conflict(e, "--data %s is not empty (it holds %s): restore goes onto an "
					     "empty data dir only, so that nothing is overwritten", dir, de->d_name);
		}
	closedir(d);
	return 0;
}

static int check_files(json_t *manifest, const char *top, struct ferr *e)
{
	json_t *files = json_object_get(manifest, "files"), *f;
	size_t i;

	if (!json_is_array(files))
		return ferr_invalid(e, "the manifest lists no files");
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "path"));
		const char *want = json_string_value(json_object_get(f, "sha256"));
		char hex[65];
		long long bytes;
		struct ferr e2 = FERR_INIT;

		if (!name || !want || strchr(name, '/'))
			return ferr_invalid(e, "the manifest's file %zu is malformed", i);
		{
			char path[PATH_MAX];
			pathf(path, sizeof(path), "%s/%s", top, name);
			if (sha256_file(path, hex, &bytes, &e2) < 0)
				return ferr_invalid(e, "the backup lacks %s, which its manifest lists", name);
		}
		if (strcmp(hex, want) || bytes != json_integer_value(json_object_get(f, "bytes")))
			return ferr_invalid(e, "%s does not match its checksum in the manifest: the backup is "
					    "damaged", name);
	}
	return 0;
}

/* Unpacks archive into staging and reads the manifest of the backup at
 * top in it into *ret_manifest (the caller frees it, also on failure):
 * its format, every file's checksum, and its store's schema version
 * (into *ret_version), which must not be newer than this ferryd's. 0, or
 * -1 with e set. */
static int restore_unpack(const char *archive, const char *staging, const char *top,
			  json_t **ret_manifest, int *ret_version, struct ferr *e)
{
	const char *argv[] = { "tar", "--extract", "--file", archive, "--directory", staging,
			       "--no-same-owner", "--no-same-permissions", NULL };
	char path[PATH_MAX + 64];
	json_t *manifest;
	json_error_t je;

	if (run_tool(argv, "reading the backup", e) < 0)
		return -1;
	pathf(path, sizeof(path), "%s/manifest.json", top);
	manifest = *ret_manifest = json_load_file(path, 0, &je);
	if (!manifest)
		return ferr_invalid(e, "the backup has no readable manifest.json: %s", je.text);
	if (strcmp(json_string_value(json_object_get(manifest, "format")) ?: "", FORMAT) ||
	    json_integer_value(json_object_get(manifest, "format_version")) != FORMAT_VERSION)
		return ferr_invalid(e, "%s is not a ferry backup of format %d", archive, FORMAT_VERSION);
	if (check_files(manifest, top, e) < 0)
		return -1;
	pathf(path, sizeof(path), "%s/ferry.db", top);
	if (store_file_check(path, ret_version, e) < 0)
		return -1;
	if (*ret_version > store_schema_latest())
		return ferr_conflict(e, "the backup's store has schema version %d, newer than this ferryd "
				     "knows (%d): restore it with the ferry version that made it (%s)",
				     *ret_version, store_schema_latest(),
				     json_string_value(json_object_get(manifest, "ferry_version")));
	return 0;
}

/* The master key of the backup at top (manifest's "master_key"): unsealed
 * with passphrase and written to data_dir's master.key (*ret_written set),
 * or, with allow_no_key, left for ferryd's start to be given. 0, or -1
 * with e set. */
static int restore_master_key(const json_t *manifest, const char *top, const char *data_dir,
			      const char *passphrase, int allow_no_key, int *ret_written,
			      struct ferr *e)
{
	const json_t *mk = json_object_get(manifest, "master_key");
	const char *key_id = json_string_value(json_object_get(mk, "id"));
	char path[PATH_MAX + 64], dest[PATH_MAX + 64];

	pathf(path, sizeof(path), "%s/master.key.sealed", top);
	if (json_is_true(json_object_get(mk, "included")) && passphrase) {
		uint8_t key[MASTER_KEY_BYTES];
		char id[MASTER_KEY_ID_LEN + 1];
		struct strbuf text = STRBUF_INIT;
		FILE *f = fopen(path, "re");
		char buf[1024];
		size_t n;

		if (!f)
			return ferr_invalid(e, "the backup lacks master.key.sealed");
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		strbuf_add(&text, buf, n);
		if (master_key_unseal_passphrase(text.buf, text.len, passphrase, key, e) < 0) {
			strbuf_release(&text);
			return -1;
		}
		strbuf_release(&text);
		master_key_id(key, id);
		pathf(dest, sizeof(dest), "%s/master.key", data_dir);
		if (key_id && strcmp(id, key_id)) {
			sodium_memzero(key, sizeof(key));
			return ferr_invalid(e, "the sealed master key (id %s) is not the one the store uses (%s)",
					    id, key_id);
		}
		if (master_key_write_file(dest, key, e) < 0) {
			sodium_memzero(key, sizeof(key));
			return -1;
		}
		sodium_memzero(key, sizeof(key));
		*ret_written = 1;
	} else if (json_is_true(json_object_get(mk, "included"))) {
		if (!allow_no_key)
			return ferr_invalid(e, "the backup holds the master key sealed with a passphrase: give "
					    "--passphrase-file FILE (or --no-master-key, and the key with "
					    "--master-key-file at start)");
	} else if (!allow_no_key) {
		return ferr_invalid(e, "the backup does not hold the master key (id %s): without it no secret "
				    "decrypts; restore with --no-master-key and start ferryd with that key "
				    "(--master-key-file or --master-key-command)", key_id ? key_id : "?");
	}
	return 0;
}

int backup_restore(const char *archive, const char *data_dir, const char *passphrase, int allow_no_key,
		   json_t **ret, struct ferr *e)
{
	char staging[PATH_MAX], top[PATH_MAX + 32], path[PATH_MAX + 64], dest[PATH_MAX + 64];
	json_t *manifest = NULL, *reg;
	int created, version = 0, key_written = 0, reg_included;
	const char *key_id;
	struct stat st;

	if (stat(archive, &st) < 0 || !S_ISREG(st.st_mode))
		return ferr_invalid(e, "%s: %s", archive, errno ? strerror(errno) : "not a regular file");
	if (archive_safe(archive, e) < 0 || dir_empty_or_absent(data_dir, &created, e) < 0)
		return -1;
	pathf(staging, sizeof(staging), "%s/.restore", data_dir);
	if (mkdir(staging, 0700) < 0) {
		ferr_internal(e, "create %s: %s", staging, strerror(errno));
		goto fail;
	}
	pathf(top, sizeof(top), "%s/" TOP, staging);
	if (restore_unpack(archive, staging, top, &manifest, &version, e) < 0 ||
	    restore_master_key(manifest, top, data_dir, passphrase, allow_no_key, &key_written, e) < 0)
		goto fail;
	key_id = json_string_value(json_object_get(json_object_get(manifest, "master_key"), "id"));

	reg = json_object_get(manifest, "registry");
	reg_included = json_is_true(json_object_get(reg, "included"));
	if (reg_included) {
		pathf(path, sizeof(path), "%s/" REGISTRY_STORAGE "/" BLOBS, top);
		bad_blobs = 0;
		nftw(path, walk_verify, 16, FTW_PHYS);
		if (bad_blobs) {
			ferr_invalid(e, "%d registry blobs do not match their digests (first: %s): the backup "
				     "is damaged", bad_blobs, bad_blob + strlen(top) + 1);
			goto fail;
		}
	}
	/* the registry's port (always, when it had one) and its storage */
	pathf(path, sizeof(path), "%s/registry", top);
	pathf(dest, sizeof(dest), "%s/registry", data_dir);
	if (access(path, F_OK) == 0 && rename(path, dest) < 0) {
		ferr_internal(e, "move the registry storage into %s: %s", dest, strerror(errno));
		goto fail;
	}
	pathf(path, sizeof(path), "%s/ferry.db", top);
	pathf(dest, sizeof(dest), "%s/ferry.db", data_dir);
	if (rename(path, dest) < 0) {
		ferr_internal(e, "move the store into %s: %s", dest, strerror(errno));
		goto fail;
	}
	rm_rf(staging);
	*ret = json_pack("{s:s, s:s, s:O, s:i, s:O, s:{s:s?, s:b}, s:{s:b, s:O, s:O}}",
			 "data", data_dir, "archive", archive,
			 "ferry_version", json_object_get(manifest, "ferry_version"),
			 "schema_version", version, "created_at", json_object_get(manifest, "created_at"),
			 "master_key", "id", key_id, "restored", key_written,
			 "registry", "restored", reg_included, "blobs", json_object_get(reg, "blobs"),
			 "repositories", json_object_get(reg, "repositories"));
	json_decref(manifest);
	return 0;
fail:
	json_decref(manifest);
	if (created) {
		rm_rf(data_dir);
	} else {
		/* what this call put into the empty dir */
		rm_rf(staging);
		pathf(dest, sizeof(dest), "%s/master.key", data_dir);
		if (key_written)
			unlink(dest);
		pathf(dest, sizeof(dest), "%s/registry", data_dir);
		rm_rf(dest);
		pathf(dest, sizeof(dest), "%s/ferry.db", data_dir);
		unlink(dest);
	}
	return -1;
}
