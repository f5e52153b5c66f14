/* git: bare mirrors of component repositories, commits, and tree export.
 *
 * ferry keeps one bare mirror per repository URL under DATA/git/, named
 * after the git blob hash of the URL exactly as given
 * (`printf %s URL | git hash-object --stdin`), and fetches it when a build, a
 * commit listing or a webhook needs it. Everything else (resolve, log,
 * export) reads the local mirror only and never touches the network.
 *
 * Threads: libgit2 is initialised once, lazily, by the first call into this
 * module (pthread_once), and never shut down. Every function opens its own
 * git_repository handle, so all functions may be called from any number of
 * threads at the same time. Fetches of the same mirror are serialized with an
 * flock() on DATA/git/<hash>.lock, which also holds between processes;
 * fetches of different mirrors run in parallel. Readers (resolve, log,
 * export) take no lock: git's object database and ref updates are atomic, so
 * a reader sees either the refs before a fetch or after it.
 *
 * Credentials are passed in by the caller for each fetch (the vault decrypts
 * them). This module never writes them to disk, into the mirror's config or
 * into an error message.
 */
#ifndef FERRY_PIPELINE_GIT_H
#define FERRY_PIPELINE_GIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* Size of a buffer holding a full commit id: 40 hex digits and a NUL. */
#define GIT_SHA_SIZE 41

/* Credentials for one fetch; every field may be NULL.
 *
 * HTTPS: password holds the token or password; username defaults to
 * "x-access-token" when only a token is given (GitHub and GitLab accept any
 * non-empty user name with a personal access token).
 * SSH (ssh:// or user@host:path URLs): ssh_private_key holds the private key
 * in PEM/OpenSSH text form, ssh_passphrase its passphrase if it has one. The
 * user name comes from the URL, else username, else "git". The server's
 * host key is checked against ssh_host_fingerprint when it is set (OpenSSH
 * form "SHA256:<base64>", as printed by `ssh-keygen -lf`), otherwise against
 * ~/.ssh/known_hosts of the user running ferryd (libgit2's check). */
struct git_creds {
	const char *username;
	const char *password;
	const char *ssh_private_key;
	const char *ssh_passphrase;
	const char *ssh_host_fingerprint;
};

/* Options for git_mirror_fetch; the struct and every field may be NULL/0. */
struct git_fetch_opts {
	const struct git_creds *creds;
	/* Polled during the transfer; once non-zero the fetch stops with error
	 * code "cancelled". NEEDSWORK: libgit2 1.5 has no connect timeout and
	 * calls no callback while connecting, so a host that silently drops
	 * packets is only given up on by the kernel's TCP timeout. */
	const atomic_int *cancel;
	/* Receives progress text for a build's step log: the remote's own
	 * messages ("Counting objects ...") and one summary line per fetch.
	 * Text may be partial lines. Called on the fetching thread. */
	void (*progress)(void *ctx, const char *text, size_t len);
	void *progress_ctx;
};

/* One commit as `ferry commits` shows it. */
struct git_log_entry {
	char sha[GIT_SHA_SIZE];
	char *author_name;
	char *author_email;
	int64_t author_time;     /* seconds since the epoch */
	char time[32];           /* author time, RFC 3339 UTC: 2026-11-26T18:05:35Z */
	int64_t commit_time;     /* committer time, seconds since the epoch */
	char *subject;           /* first paragraph of the message, on one line */
};

struct git_log_list {
	struct git_log_entry *v;
	size_t n;
};

#define GIT_LOG_LIST_INIT { NULL, 0 }

/* Default and maximum number of commits git_log returns. */
#define GIT_LOG_DEFAULT_LIMIT 50
#define GIT_LOG_MAX_LIMIT 1000

/* Checks that url is one ferry fetches from: file://, git://, http://,
 * https://, ssh:// or scp-like user@host:path. A password inside an http(s)
 * URL is refused (it would be stored in the mirror's config and shown in
 * messages): pass it in struct git_creds instead. Returns 0, or -1 with e
 * set (400 "invalid"). */
int git_url_check(const char *url, struct ferr *e);

/* Computes the mirror path DATA/git/<hash>.git for url without touching the
 * disk. *ret_path is malloc'd; the caller frees it. Returns 0 or -1 with e
 * set (invalid url). */
int git_mirror_path(const char *data_dir, const char *url, char **ret_path, struct ferr *e);

/* Creates the bare mirror of url under data_dir/git/ on first use, then
 * fetches all branches and tags from it, pruning branches and tags that are
 * gone from the remote (a mirror: local refs equal the remote's). data_dir
 * must exist; data_dir/git is created if needed. A second fetch of the same
 * url waits for the first to finish.
 *
 * On success returns 0 and, if ret_path is not NULL, sets *ret_path to the
 * mirror's path (malloc'd; the caller frees it). On failure returns -1 with e
 * set: 400 "invalid" for a bad url, 502 "git_unreachable" with libgit2's or
 * the remote's message for a transport failure, for example
 * "fetch git://127.0.0.1:1/x: failed to connect to 127.0.0.1: Connection
 * refused", 502 "git_auth" when the remote refused the credentials (or needs
 * some and none were given), 499 "cancelled", 500 "internal" for a local
 * failure. The message names the url, never a credential. */
int git_mirror_fetch(const char *data_dir, const char *url, const struct git_fetch_opts *opts,
		     char **ret_path, struct ferr *e);

/* Resolves rev in the mirror at mirror_path to a commit id, written as 40
 * hex digits into ret_sha. rev is, in this order: a full 40-digit sha; a
 * branch name (refs/heads/<rev>); a tag name (peeled to its commit); an
 * abbreviated sha of at least 4 hex digits. The object must exist and be a
 * commit (or an annotated tag pointing at one). Returns 0, or -1 with e set:
 * 404 "not_found" when nothing matches, 400 "invalid" when rev is malformed,
 * ambiguous or names a tree or blob. */
int git_resolve(const char *mirror_path, const char *rev, char ret_sha[GIT_SHA_SIZE],
		struct ferr *e);

/* Lists up to limit commits reachable from rev (resolved as git_resolve
 * does, typically a branch), newest first (commit date, parents after their
 * children). limit 0 means GIT_LOG_DEFAULT_LIMIT; larger than
 * GIT_LOG_MAX_LIMIT is clamped to it. On success returns 0 and fills *ret
 * (which the caller releases with git_log_list_release, also on failure);
 * on failure -1 with e set as for git_resolve. */
int git_log(const char *mirror_path, const char *rev, size_t limit, struct git_log_list *ret,
	    struct ferr *e);

/* Frees the entries of list and leaves it empty. Accepts NULL. */
void git_log_list_release(struct git_log_list *list);

/* Writes the tree of commit sha (a full or abbreviated sha, or anything
 * git_resolve takes) into dest_dir: regular files with their content as
 * stored (no .gitattributes filters, no LFS), modes 0644 or 0755 by the
 * executable bit, symlinks recreated with their stored target, directories
 * 0755, submodules as empty directories, no .git. Every file gets the
 * committer time as its mtime, so a build context is identical whenever it
 * is exported.
 *
 * subpath (NULL or "" for the whole tree) selects a directory of the tree
 * (a monorepo component's --path) which becomes the root of dest_dir;
 * leading and trailing slashes are ignored, and "." or ".." components are
 * refused. dest_dir must not exist (its parent must) or be an empty
 * directory. Nothing is ever written outside dest_dir: entries are created
 * relative to directory fds with O_NOFOLLOW|O_EXCL, and tree entry names
 * holding '/', "." or ".." or named .git are refused.
 *
 * On success returns 0 and sets *ret_commit_time (if not NULL) to the
 * committer time in seconds since the epoch (for repeatable image
 * timestamps). On failure returns -1 with e set (404 "not_found" for an
 * unknown commit or a missing subpath, 400 "invalid" for a subpath that is a
 * file or malformed, 409 "conflict" for a non-empty dest_dir, 500 for I/O
 * errors) and leaves dest_dir empty (or absent if it did not exist). */
int git_export(const char *mirror_path, const char *sha, const char *subpath, const char *dest_dir,
	       int64_t *ret_commit_time, struct ferr *e);

#endif
