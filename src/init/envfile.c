#include "init/envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"

#include "lib/banned.h"

int init_env_key_valid(const char *key, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		int digit = c >= '0' && c <= '9';

		if (!alpha && !(i > 0 && digit))
			return 0;
	}
	return 1;
}

/* Length of the key of a KEY=VALUE string (up to '=' or the end). */
static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static int key_cmp_n(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int by_key_cmp(const void *pa, const void *pb)
{
	const char *a = *(char *const *)pa, *b = *(char *const *)pb;

	return key_cmp_n(a, key_len(a), b, key_len(b));
}

static void wipe_free(char *buf, size_t cap)
{
	if (!buf)
		return;
	explicit_bzero(buf, cap);
	free(buf);
}

void init_env_release(struct init_env *env)
{
	if (!env)
		return;
	wipe_free(env->buf, env->cap);
	free(env->vars);
	free(env->by_key);
	*env = (struct init_env)INIT_ENV_INIT;
}

int init_env_parse(struct init_env *env, char *buf, size_t len, size_t cap,
		   struct ferr *e)
{
	size_t n = 0, off, i;

	env->buf = buf;
	env->len = len;
	env->cap = cap;

	if (len > 0 && buf[len - 1] != '\0') {
		ferr_invalid(e, "the last record (ending at byte %zu) has no terminating "
			     "NUL byte: the file is truncated or not in ferry's format", len);
		goto fail;
	}
	for (off = 0; off < len; off++)
		if (buf[off] == '\0')
			n++;

	env->vars = calloc(n + 1, sizeof(*env->vars));
	env->by_key = calloc(n + 1, sizeof(*env->by_key));
	if (!env->vars || !env->by_key) {
		ferr_internal(e, "out of memory for %zu environment records", n);
		goto fail;
	}

	for (off = 0, i = 0; off < len; i++) {
		char *rec = buf + off;
		size_t rlen = strlen(rec);
		char *eq = memchr(rec, '=', rlen);

		if (rlen == 0) {
			ferr_invalid(e, "record %zu (at byte %zu) is empty", i + 1, off);
			goto fail;
		}
		if (!eq) {
			ferr_invalid(e, "record %zu (at byte %zu) has no '=': records are "
				     "KEY=VALUE", i + 1, off);
			goto fail;
		}
		if (!init_env_key_valid(rec, (size_t)(eq - rec))) {
			/* The key is not printed: a broken file may have a value
			 * fragment where the key should be. */
			ferr_invalid(e, "record %zu (at byte %zu) has an invalid key of %zu "
				     "bytes: keys must match [A-Za-z_][A-Za-z0-9_]*",
				     i + 1, off, (size_t)(eq - rec));
			goto fail;
		}
		if (rlen + 1 > INIT_ENV_MAX_RECORD_BYTES) {
			ferr_set(e, 413, "too_large", "record %zu (at byte %zu), %.*s, is %zu "
				 "bytes; Linux passes at most %u bytes per environment "
				 "variable: make it a file mount", i + 1, off,
				 (int)(eq - rec), rec, rlen + 1, INIT_ENV_MAX_RECORD_BYTES);
			goto fail;
		}
		env->vars[i] = rec;
		env->by_key[i] = rec;
		off += rlen + 1;
	}
	env->nvars = n;

	qsort(env->by_key, n, sizeof(*env->by_key), by_key_cmp);
	for (i = 1; i < n; i++) {
		if (by_key_cmp(&env->by_key[i - 1], &env->by_key[i]) == 0) {
			/* The key is valid here, and keys are not secret. */
			ferr_invalid(e, "key %.*s is defined more than once",
				     (int)key_len(env->by_key[i]), env->by_key[i]);
			goto fail;
		}
	}
	return 0;
fail:
	init_env_release(env);
	return -1;
}

int init_env_load(struct init_env *env, const char *dir, struct ferr *e)
{
	int dfd = -1, fd = -1, ret = -1;
	struct stat st;
	char *buf = NULL;
	size_t cap = 0, len = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int err = errno;

		if (err == ENOENT)
			ferr_notfound(e, "configuration directory %s: %s (the runtime must "
				      "mount it)", dir, strerror(err));
		else
			ferr_set(e, 500, "io", "configuration directory %s: %s", dir,
				 strerror(err));
		goto out;
	}
	fd = openat(dfd, INIT_ENV_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		int err = errno;

		if (err == ELOOP)
			ferr_invalid(e, "%s/%s is a symbolic link; it must be a regular file",
				     dir, INIT_ENV_FILE);
		else
			ferr_set(e, err == ENOENT ? 404 : 500,
				 err == ENOENT ? "not_found" : "io", "%s/%s: %s",
				 dir, INIT_ENV_FILE, strerror(err));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ferr_set(e, 500, "io", "%s/%s: %s", dir, INIT_ENV_FILE, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr_invalid(e, "%s/%s is not a regular file", dir, INIT_ENV_FILE);
		goto out;
	}
	if ((uintmax_t)st.st_size > INIT_ENV_MAX_BYTES) {
		ferr_set(e, 413, "too_large", "%s/%s is %jd bytes; at most %u are allowed",
			 dir, INIT_ENV_FILE, (intmax_t)st.st_size, INIT_ENV_MAX_BYTES);
		goto out;
	}

	/* Read until EOF rather than trusting st_size, with one spare byte to
	 * notice a file that grew past the cap. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		ferr_internal(e, "out of memory reading %s/%s", dir, INIT_ENV_FILE);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap * 2;
			char *nbuf;

			if (cap > INIT_ENV_MAX_BYTES) {
				ferr_set(e, 413, "too_large", "%s/%s is larger than %u bytes",
					 dir, INIT_ENV_FILE, INIT_ENV_MAX_BYTES);
				goto out;
			}
			if (ncap > INIT_ENV_MAX_BYTES + 1)
				ncap = INIT_ENV_MAX_BYTES + 1;
			/* Not realloc(): it could leave a plaintext copy behind. */
			nbuf = malloc(ncap);
			if (!nbuf) {
				ferr_internal(e, "out of memory reading %s/%s", dir, INIT_ENV_FILE);
				goto out;
			}
			memcpy(nbuf, buf, len);
			wipe_free(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ferr_set(e, 500, "io", "reading %s/%s: %s", dir, INIT_ENV_FILE,
				 strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > INIT_ENV_MAX_BYTES) {
		ferr_set(e, 413, "too_large", "%s/%s is larger than %u bytes",
			 dir, INIT_ENV_FILE, INIT_ENV_MAX_BYTES);
		goto out;
	}

	ret = init_env_parse(env, buf, len, cap, e);
	buf = NULL; /* owned by env now, or already wiped */
	if (ret < 0)
		ferr_prefix(e, "%s/%s", dir, INIT_ENV_FILE);
out:
	wipe_free(buf, cap);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

char **init_env_merge(const struct init_env *env, char *const *inherited)
{
	size_t ninh = 0, i, n = 0;
	char **out;

	for (i = 0; inherited && inherited[i]; i++)
		ninh++;
	out = calloc(ninh + env->nvars + 1, sizeof(*out));
	if (!out)
		return NULL;

	for (i = 0; i < ninh; i++) {
		const char *kv = inherited[i];
		const char *eq = strchr(kv, '=');
		size_t lo = 0, hi = env->nvars;
		int overridden = 0;

		if (!eq)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const char *k = env->by_key[mid];
			int c = key_cmp_n(kv, (size_t)(eq - kv), k, key_len(k));

			if (c == 0) {
				overridden = 1;
				break;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (!overridden)
			out[n++] = inherited[i];
	}
	for (i = 0; i < env->nvars; i++)
		out[n++] = env->vars[i];
	out[n] = NULL;
	return out;
}
