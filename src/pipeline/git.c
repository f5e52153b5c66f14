/* git: bare mirrors, commits and tree export with libgit2. See git.h. */
#include "pipeline/git.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "lib/strbuf.h"

#include "lib/banned.h"

#define URL_MAX 2048
#define REV_MAX 255
/* Deeper trees than this are refused rather than recursed into. */
#define EXPORT_MAX_DEPTH 512

/* libgit2's last error message for this thread, never NULL. */
static const char *lg2_msg(void)
{
	const git_error *ge = git_error_last();

	return ge && ge->message && *ge->message ? ge->message : "unknown libgit2 error";
}

static pthread_once_t lg2_once = PTHREAD_ONCE_INIT;
static int lg2_init_rc;

static void lg2_init_once(void)
{
	lg2_init_rc = git_libgit2_init();
	if (lg2_init_rc < 0)
		return;
	/* A mirror must not depend on who runs ferryd: ignore the system,
	 * global and XDG git config files (url.insteadOf, credential helpers,
	 * safe.directory ...). The mirror's own config still applies. */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
}

static int lg2_init(struct ferr *e)
{
	pthread_once(&lg2_once, lg2_init_once);
	if (lg2_init_rc < 0)
		return ferr_internal(e, "libgit2 failed to initialise: %s", lg2_msg());
	return 0;
}

/* ---- URLs and paths ---------------------------------------------------- */

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int git_url_check(const char *url, struct ferr *e)
{
	const char *rest, *end, *at, *colon;
	size_t len;

	if (!url || !*url)
		return ferr_invalid(e, "repository URL is empty");
	len = strlen(url);
	if (len > URL_MAX)
		return ferr_invalid(e, "repository URL is longer than %d bytes", URL_MAX);
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return ferr_invalid(e, "repository URL holds a space or control character");

	if (has_prefix(url, "http://") || has_prefix(url, "https://")) {
		rest = strstr(url, "://") + 3;
		end = rest + strcspn(rest, "/?#");
		at = memchr(rest, '@', (size_t)(end - rest));
		if (at && memchr(rest, ':', (size_t)(at - rest)))
			return ferr_invalid(e, "repository URL holds a password; give the component "
					       "an HTTPS token instead of putting it in the URL");
		if (end == rest || (at && at + 1 == end))
			return ferr_invalid(e, "repository URL %s has no host", url);
		return 0;
	}
	if (has_prefix(url, "ssh://") || has_prefix(url, "git://")) {
		rest = strstr(url, "://") + 3;
		if (!*rest || *rest == '/')
			return ferr_invalid(e, "repository URL %s has no host", url);
		return 0;
	}
	if (has_prefix(url, "file://")) {
		if (url[7] != '/')
			return ferr_invalid(e, "file URL %s must hold an absolute path (file:///path)", url);
		return 0;
	}
	/* scp-like user@host:path, as git and libgit2 read it: a colon before
	 * any slash, and no "://". */
	colon = strchr(url, ':');
	if (!strstr(url, "://") && colon && colon != url && colon[1] &&
	    !memchr(url, '/', (size_t)(colon - url)) && url[0] != '-')
		return 0;
	return ferr_invalid(e, "unsupported repository URL %s: use file://, git://, http://, "
			       "https://, ssh:// or user@host:path", url);
}

int git_mirror_path(const char *data_dir, const char *url, char **ret_path, struct ferr *e)
{
	char hex[GIT_SHA_SIZE];
	struct strbuf sb = STRBUF_INIT;
	git_oid oid;

	if (git_url_check(url, e) < 0 || lg2_init(e) < 0)
		return -1;
	/* The blob hash of the URL: anyone can recompute it with
	 * `printf %s URL | git hash-object --stdin` to find a mirror. */
	if (git_odb_hash(&oid, url, strlen(url), GIT_OBJECT_BLOB) < 0)
		return ferr_internal(e, "hash repository URL: %s", lg2_msg());
	git_oid_tostr(hex, sizeof(hex), &oid);
	strbuf_addf(&sb, "%s/git/%s.git", data_dir, hex);
	*ret_path = strbuf_detach(&sb, NULL);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_entry_keep_root(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return rm_entry(path, st, flag, ftw);
}

/* Removes path and everything under it (symlinks are removed, never
 * followed). A missing path is not an error. */
static int rm_rf(const char *path, int keep_root)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, keep_root ? rm_entry_keep_root : rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- fetch --------------------------------------------------------------- */

struct fetch_ctx {
	const char *url;
	const struct git_fetch_opts *opts;
	const struct git_creds *creds;
	int gave_userpass;
	int gave_sshkey;
	int cancelled;
	int key_fd;            /* memfd holding an SSH key, or -1 */
	char msg[512];         /* our own reason, when a callback failed */
	char msg_code[32];
};

static int fetch_cancelled(struct fetch_ctx *c)
{
	if (c->opts && c->opts->cancel && atomic_load(c->opts->cancel)) {
		c->cancelled = 1;
		return 1;
	}
	return 0;
}

static void fetch_progress(struct fetch_ctx *c, const char *text, size_t len)
{
	if (c->opts && c->opts->progress && len)
		c->opts->progress(c->opts->progress_ctx, text, len);
}

static int fetch_fail(struct fetch_ctx *c, const char *code, const char *msg)
{
	snprintf(c->msg_code, sizeof(c->msg_code), "%s", code);
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	git_error_set_str(GIT_ERROR_CALLBACK, msg);
	return GIT_EUSER;
}

/* libssh2 reads keys from a path when libgit2 was built without in-memory
 * key support: hand it /proc/self/fd/N of a memfd, so the key still never
 * reaches a disk. */
static int ssh_key_via_memfd(struct fetch_ctx *c, git_credential **out, const char *user)
{
	char path[64];
	const char *key = c->creds->ssh_private_key;
	size_t len = strlen(key), off = 0;

	if (c->key_fd < 0) {
		c->key_fd = memfd_create("ferry-ssh-key", MFD_CLOEXEC);
		if (c->key_fd < 0)
			return fetch_fail(c, "internal", "cannot hold the SSH key in memory (memfd_create failed)");
		while (off < len) {
			ssize_t n = write(c->key_fd, key + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fetch_fail(c, "internal", "cannot hold the SSH key in memory (write failed)");
			off += (size_t)n;
		}
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->key_fd);
	return git_credential_ssh_key_new(out, user, NULL, path, c->creds->ssh_passphrase);
}

static int cb_credentials(git_credential **out, const char *url, const char *user_from_url,
			  unsigned int allowed, void *payload)
{
	struct fetch_ctx *c = payload;
	const struct git_creds *cr = c->creds;
	const char *user;
	char msg[400];

	(void)url;
	if (fetch_cancelled(c))
		return fetch_fail(c, "cancelled", "cancelled");

	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		if (!cr || !cr->password || !*cr->password)
			return fetch_fail(c, "git_auth", "the repository needs credentials: give the "
					  "component an HTTPS user name and token");
		user = cr->username && *cr->username ? cr->username :
		       user_from_url && *user_from_url ? user_from_url : "x-access-token";
		if (c->gave_userpass++) {
			snprintf(msg, sizeof(msg), "the remote rejected the HTTPS credentials of user %.100s",
				 user);
			return fetch_fail(c, "git_auth", msg);
		}
		return git_credential_userpass_plaintext_new(out, user, cr->password);
	}

	user = user_from_url && *user_from_url ? user_from_url :
	       cr && cr->username && *cr->username ? cr->username : "git";
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed & (GIT_CREDENTIAL_SSH_MEMORY | GIT_CREDENTIAL_SSH_KEY)) {
		if (!cr || !cr->ssh_private_key || !*cr->ssh_private_key)
			return fetch_fail(c, "git_auth", "the repository needs credentials: give the "
					  "component an SSH private key");
		if (c->gave_sshkey++) {
			snprintf(msg, sizeof(msg), "the remote rejected the SSH key for user %.100s "
				 "(or its passphrase is wrong)", user);
			return fetch_fail(c, "git_auth", msg);
		}
		if (allowed & GIT_CREDENTIAL_SSH_MEMORY)
			return git_credential_ssh_key_memory_new(out, user, NULL, cr->ssh_private_key,
								 cr->ssh_passphrase);
		return ssh_key_via_memfd(c, out, user);
	}
	return fetch_fail(c, "git_auth", "the remote asks for a kind of authentication ferry "
			  "does not support (only HTTPS user+token and SSH keys)");
}

static void base64_nopad(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < outsz; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

static int cb_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct fetch_ctx *c = payload;
	const git_cert_hostkey *hk;
	char got[128], msg[400];
	const char *want;

	(void)valid;
	if (fetch_cancelled(c))
		return fetch_fail(c, "cancelled", "cancelled");
	want = c->creds ? c->creds->ssh_host_fingerprint : NULL;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2 || !want || !*want)
		return GIT_PASSTHROUGH; /* libgit2's own checks: CA store, known_hosts */
	hk = (const git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_SHA256))
		return fetch_fail(c, "git_auth", "the SSH server's host key has no SHA256 fingerprint");
	memcpy(got, "SHA256:", 7);
	base64_nopad(hk->hash_sha256, sizeof(hk->hash_sha256), got + 7, sizeof(got) - 7);
	if (strcmp(got, want) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "host key of %.100s is %s, not the expected %.100s", host, got,
		 want);
	return fetch_fail(c, "git_auth", msg);
}

static int cb_sideband(const char *str, int len, void *payload)
{
	struct fetch_ctx *c = payload;

	if (fetch_cancelled(c))
		return fetch_fail(c, "cancelled", "cancelled");
	if (len > 0)
		fetch_progress(c, str, (size_t)len);
	return 0;
}

static int cb_transfer(const git_indexer_progress *stats, void *payload)
{
	struct fetch_ctx *c = payload;

	(void)stats;
	if (fetch_cancelled(c))
		return fetch_fail(c, "cancelled", "cancelled");
	return 0;
}

/* Takes DATA/git/<hash>.lock, polling cancel while another fetch holds it. */
static int mirror_lock(const char *mirror, struct fetch_ctx *c, int *ret_fd, struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT;
	int fd;

	strbuf_addstr(&sb, mirror);
	strbuf_setlen(&sb, sb.len - 4); /* ".git" */
	strbuf_addstr(&sb, ".lock");
	fd = open(sb.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ferr_internal(e, "open %s: %s", sb.buf, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	strbuf_release(&sb);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			ferr_internal(e, "lock mirror %s: %s", mirror, strerror(errno));
			close(fd);
			return -1;
		}
		if (fetch_cancelled(c)) {
			close(fd);
			return ferr_set(e, 499, "cancelled", "fetch %s: cancelled while waiting for "
					"another fetch of the same repository", c->url);
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	*ret_fd = fd;
	return 0;
}

/* Creates the bare mirror in a side directory and renames it into place, so
 * a crash never leaves a half-made mirror under the real name. Called with
 * the mirror's lock held. */
static int mirror_create(const char *mirror, const char *url, struct ferr *e)
{
	git_repository_init_options io;
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	struct strbuf tmp = STRBUF_INIT;
	int rc = -1;

	/* The _INIT macros leave fields to zero-initialisation, which
	 * -Wmissing-field-initializers rejects; the init functions do the same. */
	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	strbuf_addf(&tmp, "%s.new", mirror);
	if (rm_rf(tmp.buf, 0) < 0 || rm_rf(mirror, 0) < 0) {
		ferr_internal(e, "remove stale %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		   GIT_REPOSITORY_INIT_NO_REINIT;
	io.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	if (git_repository_init_ext(&repo, tmp.buf, &io) < 0) {
		ferr_internal(e, "create mirror %s: %s", tmp.buf, lg2_msg());
		goto out;
	}
	/* The URL is recorded so a mirror can be told from a hash collision or
	 * a stray directory. No remote is configured: fetches use an
	 * anonymous remote with explicit refspecs (see git_mirror_fetch). */
	if (git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_string(cfg, "ferry.url", url) < 0) {
		ferr_internal(e, "create mirror %s: %s", tmp.buf, lg2_msg());
		goto out;
	}
	git_repository_free(repo);
	repo = NULL;
	if (rename(tmp.buf, mirror) < 0) {
		ferr_internal(e, "rename %s to %s: %s", tmp.buf, mirror, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	git_config_free(cfg);
	git_repository_free(repo);
	if (rc < 0)
		rm_rf(tmp.buf, 0);
	strbuf_release(&tmp);
	return rc;
}

static int mirror_open(const char *mirror, const char *url, git_repository **ret, struct ferr *e)
{
	git_config *cfg = NULL;
	git_buf have = GIT_BUF_INIT;
	int err, same;

	err = git_repository_open_bare(ret, mirror);
	if (err == GIT_ENOTFOUND) {
		/* Missing, or a directory left by a crash before the rename. */
		if (mirror_create(mirror, url, e) < 0)
			return -1;
		err = git_repository_open_bare(ret, mirror);
	}
	if (err < 0)
		return ferr_internal(e, "open mirror %s: %s", mirror, lg2_msg());
	same = git_repository_config_snapshot(&cfg, *ret) == 0 &&
	       git_config_get_string_buf(&have, cfg, "ferry.url") == 0 && strcmp(have.ptr, url) == 0;
	git_buf_dispose(&have);
	git_config_free(cfg);
	if (!same) {
		git_repository_free(*ret);
		*ret = NULL;
		return ferr_internal(e, "mirror %s does not belong to %s; move it away and fetch "
				     "again", mirror, url);
	}
	return 0;
}

int git_mirror_fetch(const char *data_dir, const char *url, const struct git_fetch_opts *opts,
		     char **ret_path, struct ferr *e)
{
	static char *specs[] = { "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*" };
	const git_strarray refspecs = { specs, 2 };
	git_remote_create_options ro;
	git_fetch_options fo;
	struct fetch_ctx c = { .url = url, .opts = opts, .key_fd = -1 };
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	struct strbuf sb = STRBUF_INIT;
	char *mirror = NULL;
	int lock_fd = -1, rc = -1;

	if (git_mirror_path(data_dir, url, &mirror, e) < 0)
		return -1;
	c.creds = opts ? opts->creds : NULL;
	strbuf_addf(&sb, "%s/git", data_dir);
	if (mkdir(sb.buf, 0700) < 0 && errno != EEXIST) {
		ferr_internal(e, "create %s: %s", sb.buf, strerror(errno));
		goto out;
	}
	if (mirror_lock(mirror, &c, &lock_fd, e) < 0 || mirror_open(mirror, url, &repo, e) < 0)
		goto out;
	/* An anonymous remote without url.*.insteadOf rewriting: reading a
	 * configured remote or the insteadOf keys runs a config regex that
	 * leaks ~20 KiB per call in Debian's libgit2 1.5 (pcre2 match data),
	 * too much for a daemon that polls. Only branches and tags are
	 * fetched: hosts' extra refs (GitHub's refs/pull/, GitLab's
	 * refs/merge-requests/) can be many times larger and builds never
	 * need them. */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url, &ro) < 0) {
		ferr_internal(e, "mirror %s: %s", mirror, lg2_msg());
		goto out;
	}

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	fo.update_fetchhead = 0;
	fo.proxy_opts.type = GIT_PROXY_AUTO; /* http.proxy / https_proxy, as git does */
	fo.callbacks.credentials = cb_credentials;
	fo.callbacks.certificate_check = cb_certificate;
	fo.callbacks.sideband_progress = cb_sideband;
	fo.callbacks.transfer_progress = cb_transfer;
	fo.callbacks.payload = &c;

	git_error_clear();
	if (git_remote_fetch(remote, &refspecs, &fo, "ferry: fetch") < 0) {
		if (c.cancelled)
			ferr_set(e, 499, "cancelled", "fetch %s: cancelled", url);
		else if (c.msg[0])
			ferr_set(e, 502, c.msg_code, "fetch %s: %s", url, c.msg);
		else if (git_error_last() && git_error_last()->klass == GIT_ERROR_HTTP &&
			 strstr(lg2_msg(), "401"))
			ferr_set(e, 502, "git_auth", "fetch %s: %s", url, lg2_msg());
		else
			ferr_set(e, 502, "git_unreachable", "fetch %s: %s", url, lg2_msg());
		goto out;
	}
	if (opts && opts->progress) {
		const git_indexer_progress *st = git_remote_stats(remote);

		strbuf_reset(&sb);
		strbuf_addf(&sb, "fetched %s: %u objects received, %zu bytes\n", url,
			    st->received_objects, st->received_bytes);
		fetch_progress(&c, sb.buf, sb.len);
	}
	rc = 0;
out:
	git_remote_free(remote);
	git_repository_free(repo);
	if (lock_fd >= 0)
		close(lock_fd); /* releases the flock */
	if (c.key_fd >= 0)
		close(c.key_fd);
	strbuf_release(&sb);
	if (rc == 0 && ret_path)
		*ret_path = mirror;
	else
		free(mirror);
	return rc;
}

/* ---- resolve and log ----------------------------------------------------- */

static int open_mirror_ro(const char *mirror, git_repository **ret, struct ferr *e)
{
	int err;

	if (lg2_init(e) < 0)
		return -1;
	err = git_repository_open_bare(ret, mirror);
	if (err < 0) {
		if (err == GIT_ENOTFOUND)
			return ferr_notfound(e, "no repository mirror at %s: fetch it first", mirror);
		return ferr_internal(e, "open mirror %s: %s", mirror, lg2_msg());
	}
	return 0;
}

static int is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Peels obj (any type) to a commit, consuming obj. */
static int peel_commit(git_object *obj, const char *rev, git_commit **ret, struct ferr *e)
{
	git_object *peeled = NULL;
	git_object_t type = git_object_type(obj);

	if (type == GIT_OBJECT_TREE || type == GIT_OBJECT_BLOB) {
		git_object_free(obj);
		return ferr_invalid(e, "'%s' names a %s, not a commit", rev, git_object_type2string(type));
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		return ferr_invalid(e, "'%s' does not point at a commit", rev);
	}
	git_object_free(obj);
	*ret = (git_commit *)peeled;
	return 0;
}

/* Resolves rev to a commit as git.h's git_resolve describes. */
static int lookup_commit(git_repository *repo, const char *rev, git_commit **ret, struct ferr *e)
{
	static const char *const ref_prefixes[] = { "refs/heads/", "refs/tags/" };
	struct strbuf name = STRBUF_INIT;
	git_object *obj = NULL;
	git_oid oid;
	size_t len;
	int err;

	if (!rev || !*rev)
		return ferr_invalid(e, "no branch or commit given");
	len = strlen(rev);
	if (len > REV_MAX)
		return ferr_invalid(e, "branch or commit name is longer than %d bytes", REV_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)rev[i] <= ' ' || rev[i] == 0x7f)
			return ferr_invalid(e, "branch or commit name holds a space or control character");

	if (len == GIT_OID_HEXSZ && is_hex(rev, len)) {
		if (git_oid_fromstr(&oid, rev) < 0)
			return ferr_invalid(e, "'%s' is not a valid sha", rev);
		if (git_object_lookup(&obj, repo, &oid, GIT_OBJECT_ANY) < 0)
			return ferr_notfound(e, "commit %s not found in the repository", rev);
		return peel_commit(obj, rev, ret, e);
	}

	for (size_t i = 0; i < sizeof(ref_prefixes) / sizeof(ref_prefixes[0]); i++) {
		git_reference *ref = NULL;
		int valid = 0;

		strbuf_reset(&name);
		strbuf_addf(&name, "%s%s", ref_prefixes[i], rev);
		if (git_reference_name_is_valid(&valid, name.buf) < 0 || !valid)
			continue;
		err = git_reference_lookup(&ref, repo, name.buf);
		if (err == GIT_ENOTFOUND)
			continue;
		if (err == 0) {
			err = git_reference_peel(&obj, ref, GIT_OBJECT_ANY);
			git_reference_free(ref);
		}
		if (err < 0) {
			ferr_internal(e, "read %s: %s", name.buf, lg2_msg());
			strbuf_release(&name);
			return -1;
		}
		strbuf_release(&name);
		return peel_commit(obj, rev, ret, e);
	}
	strbuf_release(&name);

	if (len >= GIT_OID_MINPREFIXLEN && len < GIT_OID_HEXSZ && is_hex(rev, len)) {
		if (git_oid_fromstrn(&oid, rev, len) < 0)
			return ferr_invalid(e, "'%s' is not a valid sha", rev);
		err = git_object_lookup_prefix(&obj, repo, &oid, len, GIT_OBJECT_ANY);
		if (err == GIT_EAMBIGUOUS)
			return ferr_invalid(e, "abbreviated sha %s is ambiguous: give more digits", rev);
		if (err == 0)
			return peel_commit(obj, rev, ret, e);
		if (err != GIT_ENOTFOUND)
			return ferr_internal(e, "look up %s: %s", rev, lg2_msg());
	}
	return ferr_notfound(e, "no branch, tag or commit '%s' in the repository", rev);
}

int git_resolve(const char *mirror_path, const char *rev, char ret_sha[GIT_SHA_SIZE],
		struct ferr *e)
{
	git_repository *repo = NULL;
	git_commit *commit = NULL;

	if (open_mirror_ro(mirror_path, &repo, e) < 0)
		return -1;
	if (lookup_commit(repo, rev, &commit, e) < 0) {
		git_repository_free(repo);
		return -1;
	}
	git_oid_tostr(ret_sha, GIT_SHA_SIZE, git_commit_id(commit));
	git_commit_free(commit);
	git_repository_free(repo);
	return 0;
}

static void format_rfc3339(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "1970-01-01T00:00:00Z");
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort(); /* as strbuf: out of memory is not reportable */
	return d;
}

int git_log(const char *mirror_path, const char *rev, size_t limit, struct git_log_list *ret,
	    struct ferr *e)
{
	git_repository *repo = NULL;
	git_commit *start = NULL;
	git_revwalk *walk = NULL;
	git_oid oid;
	int rc = -1, err;

	if (limit == 0)
		limit = GIT_LOG_DEFAULT_LIMIT;
	if (limit > GIT_LOG_MAX_LIMIT)
		limit = GIT_LOG_MAX_LIMIT;
	if (open_mirror_ro(mirror_path, &repo, e) < 0)
		return -1;
	if (lookup_commit(repo, rev, &start, e) < 0)
		goto out;
	if (git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, git_commit_id(start)) < 0) {
		ferr_internal(e, "walk history of %s: %s", rev, lg2_msg());
		goto out;
	}
	ret->v = calloc(limit, sizeof(*ret->v));
	if (!ret->v)
		abort();
	ret->n = 0;
	while (ret->n < limit && (err = git_revwalk_next(&oid, walk)) == 0) {
		struct git_log_entry *le = &ret->v[ret->n];
		const git_signature *author;
		git_commit *c = NULL;

		if (git_commit_lookup(&c, repo, &oid) < 0) {
			ferr_internal(e, "read commit: %s", lg2_msg());
			goto out;
		}
		author = git_commit_author(c);
		git_oid_tostr(le->sha, sizeof(le->sha), &oid);
		le->author_name = xstrdup(author->name);
		le->author_email = xstrdup(author->email);
		le->author_time = (int64_t)author->when.time;
		format_rfc3339(le->author_time, le->time, sizeof(le->time));
		le->commit_time = (int64_t)git_commit_time(c);
		le->subject = xstrdup(git_commit_summary(c));
		ret->n++;
		git_commit_free(c);
	}
	if (ret->n < limit && err != GIT_ITEROVER) {
		ferr_internal(e, "walk history of %s: %s", rev, lg2_msg());
		goto out;
	}
	rc = 0;
out:
	git_revwalk_free(walk);
	git_commit_free(start);
	git_repository_free(repo);
	return rc;
}

void git_log_list_release(struct git_log_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].author_name);
		free(list->v[i].author_email);
		free(list->v[i].subject);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

/* ---- export -------------------------------------------------------------- */

struct export_ctx {
	git_repository *repo;
	struct timespec times[2]; /* atime, mtime: the committer time */
	struct strbuf path;       /* tree path of the entry being written, for messages */
};

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int entry_name_ok(const char *name)
{
	return *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
	       strcasecmp(name, ".git") != 0;
}

static int export_tree(struct export_ctx *x, const git_tree *tree, int dirfd, int depth,
		       struct ferr *e);

static int export_blob(struct export_ctx *x, const git_tree_entry *te, int dirfd, int exec,
		       struct ferr *e)
{
	const char *name = git_tree_entry_name(te);
	git_blob *blob = NULL;
	int fd = -1, rc = -1;

	if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(te)) < 0) {
		ferr_internal(e, "read %s: %s", x->path.buf, lg2_msg());
		goto out;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 ||
	    write_all(fd, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) < 0 ||
	    fchmod(fd, exec ? 0755 : 0644) < 0 || futimens(fd, x->times) < 0) {
		ferr_internal(e, "write %s: %s", x->path.buf, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ferr_internal(e, "write %s: %s", x->path.buf, strerror(errno));
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	git_blob_free(blob);
	return rc;
}

static int export_symlink(struct export_ctx *x, const git_tree_entry *te, int dirfd,
			  struct ferr *e)
{
	const char *name = git_tree_entry_name(te);
	git_blob *blob = NULL;
	char *target = NULL;
	size_t len;
	int rc = -1;

	if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(te)) < 0) {
		ferr_internal(e, "read %s: %s", x->path.buf, lg2_msg());
		goto out;
	}
	len = (size_t)git_blob_rawsize(blob);
	if (len == 0 || len >= 4096 || memchr(git_blob_rawcontent(blob), '\0', len)) {
		ferr_invalid(e, "symlink %s has an empty, overlong or binary target", x->path.buf);
		goto out;
	}
	target = strndup(git_blob_rawcontent(blob), len);
	if (!target)
		abort();
	/* The target is kept as stored, even when absolute or leading out of
	 * the tree (git checkout does the same); the export itself never
	 * writes through a symlink, since every entry is created with
	 * O_EXCL/O_NOFOLLOW or mkdirat in an fd we opened ourselves. */
	if (symlinkat(target, dirfd, name) < 0 ||
	    utimensat(dirfd, name, x->times, AT_SYMLINK_NOFOLLOW) < 0) {
		ferr_internal(e, "create symlink %s: %s", x->path.buf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(target);
	git_blob_free(blob);
	return rc;
}

static int export_dir(struct export_ctx *x, const git_tree_entry *te, int dirfd, int depth,
		      struct ferr *e)
{
	const char *name = git_tree_entry_name(te);
	git_tree *sub = NULL;
	int fd = -1, rc = -1;

	if (mkdirat(dirfd, name, 0700) < 0 ||
	    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ferr_internal(e, "create directory %s: %s", x->path.buf, strerror(errno));
		goto out;
	}
	if (git_tree_entry_filemode(te) == GIT_FILEMODE_TREE) {
		if (git_tree_lookup(&sub, x->repo, git_tree_entry_id(te)) < 0) {
			ferr_internal(e, "read %s: %s", x->path.buf, lg2_msg());
			goto out;
		}
		if (export_tree(x, sub, fd, depth + 1, e) < 0)
			goto out;
	}
	/* After the children: writing them would move the mtime again. */
	if (fchmod(fd, 0755) < 0 || futimens(fd, x->times) < 0) {
		ferr_internal(e, "set mode of %s: %s", x->path.buf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	git_tree_free(sub);
	return rc;
}

static int export_tree(struct export_ctx *x, const git_tree *tree, int dirfd, int depth,
		       struct ferr *e)
{
	size_t n = git_tree_entrycount(tree), base = x->path.len;

	if (depth > EXPORT_MAX_DEPTH)
		return ferr_invalid(e, "directory %s is nested deeper than %d levels", x->path.buf,
				    EXPORT_MAX_DEPTH);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(te);
		int rc;

		strbuf_setlen(&x->path, base);
		strbuf_addf(&x->path, "%s%s", base ? "/" : "", name);
		if (!entry_name_ok(name))
			return ferr_invalid(e, "refusing tree entry '%s': its name could write outside "
					    "the workspace or into .git", x->path.buf);
		switch (git_tree_entry_filemode(te)) {
		case GIT_FILEMODE_TREE:
		case GIT_FILEMODE_COMMIT: /* submodule: an empty directory, as git leaves it */
			rc = export_dir(x, te, dirfd, depth, e);
			break;
		case GIT_FILEMODE_BLOB:
			rc = export_blob(x, te, dirfd, 0, e);
			break;
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			rc = export_blob(x, te, dirfd, 1, e);
			break;
		case GIT_FILEMODE_LINK:
			rc = export_symlink(x, te, dirfd, e);
			break;
		default:
			rc = ferr_invalid(e, "tree entry %s has unknown mode %o", x->path.buf,
					  (unsigned)git_tree_entry_filemode(te));
		}
		if (rc < 0)
			return -1;
	}
	strbuf_setlen(&x->path, base);
	return 0;
}

/* Normalises a monorepo subpath: strips slashes at both ends, folds "//",
 * refuses "." and ".." components. Leaves "" for the whole tree. */
static int normalize_subpath(const char *subpath, struct strbuf *out, struct ferr *e)
{
	const char *p = subpath ? subpath : "";

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return ferr_invalid(e, "path '%s' may not hold '.' or '..' components", subpath);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
				return ferr_invalid(e, "path holds a control character");
		if (out->len)
			strbuf_addch(out, '/');
		strbuf_add(out, p, n);
		p += n;
	}
	if (out->len > 4096)
		return ferr_invalid(e, "path is longer than 4096 bytes");
	return 0;
}

/* Creates dest_dir or checks that it is empty. */
static int prepare_dest(const char *dest, int *ret_created, struct ferr *e)
{
	struct dirent *de;
	DIR *d;
	int nonempty = 0;

	*ret_created = 0;
	if (mkdir(dest, 0755) == 0) {
		*ret_created = 1;
		return 0;
	}
	if (errno != EEXIST)
		return ferr_internal(e, "create %s: %s", dest, strerror(errno));
	d = opendir(dest);
	if (!d)
		return ferr_conflict(e, "%s exists and is not a directory", dest);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			nonempty = 1;
			break;
		}
	closedir(d);
	if (nonempty)
		return ferr_conflict(e, "workspace %s is not empty", dest);
	return 0;
}

int git_export(const char *mirror_path, const char *sha, const char *subpath, const char *dest_dir,
	       int64_t *ret_commit_time, struct ferr *e)
{
	struct export_ctx x = { .path = STRBUF_INIT };
	struct strbuf sub = STRBUF_INIT;
	char short_sha[12];
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *te = NULL;
	int created = 0, prepared = 0, destfd = -1, rc = -1, err;

	if (normalize_subpath(subpath, &sub, e) < 0 || open_mirror_ro(mirror_path, &repo, e) < 0)
		goto out;
	x.repo = repo;
	if (lookup_commit(repo, sha, &commit, e) < 0)
		goto out;
	git_oid_tostr(short_sha, sizeof(short_sha), git_commit_id(commit));
	if (git_commit_tree(&root, commit) < 0) {
		ferr_internal(e, "read tree of %s: %s", short_sha, lg2_msg());
		goto out;
	}
	if (sub.len) {
		err = git_tree_entry_bypath(&te, root, sub.buf);
		if (err == GIT_ENOTFOUND) {
			ferr_notfound(e, "path '%s' does not exist at commit %s", sub.buf, short_sha);
			goto out;
		}
		if (err < 0) {
			ferr_internal(e, "look up %s: %s", sub.buf, lg2_msg());
			goto out;
		}
		if (git_tree_entry_type(te) != GIT_OBJECT_TREE) {
			ferr_invalid(e, "path '%s' at commit %s is not a directory", sub.buf, short_sha);
			goto out;
		}
		if (git_tree_lookup(&tree, repo, git_tree_entry_id(te)) < 0) {
			ferr_internal(e, "read %s: %s", sub.buf, lg2_msg());
			goto out;
		}
		strbuf_addstr(&x.path, sub.buf);
	}

	x.times[0].tv_sec = x.times[1].tv_sec = (time_t)git_commit_time(commit);
	if (prepare_dest(dest_dir, &created, e) < 0)
		goto out;
	prepared = 1;
	destfd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (destfd < 0) {
		ferr_internal(e, "open %s: %s", dest_dir, strerror(errno));
		goto out;
	}
	if (export_tree(&x, tree ? tree : root, destfd, 0, e) < 0)
		goto out;
	if (futimens(destfd, x.times) < 0) {
		ferr_internal(e, "set time of %s: %s", dest_dir, strerror(errno));
		goto out;
	}
	if (ret_commit_time)
		*ret_commit_time = (int64_t)git_commit_time(commit);
	rc = 0;
out:
	if (destfd >= 0)
		close(destfd);
	if (rc < 0 && prepared)
		rm_rf(dest_dir, !created);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(commit);
	git_repository_free(repo);
	strbuf_release(&sub);
	strbuf_release(&x.path);
	return rc;
}
