#include "pipeline/registry_auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"

#include "lib/banned.h"

/* bcrypt's cost is there to slow down guessing of human passwords; this one
 * is 256 random bits, and distribution checks it on every request (a push
 * is dozens), so the cheapest cost bcrypt allows is the right one. */
#define BCRYPT_COST 4

static int is_hex_password(const char *s, size_t n)
{
	if (n != REGISTRY_AUTH_PASSWORD_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return 0;
	return 1;
}

/* Returns 0, -1 with e set, or -2 (e untouched) when excl and path exists. */
static int write_secret(const char *path, const char *data, size_t len, int excl,
			struct ferr *e)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *target = path;
	int fd, ret = -1;

	/* The password is created once (O_EXCL: two ferryds racing keep the
	 * first); the htpasswd is replaced atomically. */
	if (!excl) {
		strbuf_addf(&tmp, "%s.tmp", path);
		target = tmp.buf;
	}
	fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : O_TRUNC),
		  0600);
	if (fd < 0 && excl && errno == EEXIST) {
		ret = -2;
		goto out;
	}
	if (fd < 0) {
		ferr_internal(e, "cannot create %s: %s", target, strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || len) {
		ferr_internal(e, "cannot write %s: %s", target, strerror(errno));
		unlink(target);
		goto out;
	}
	if (!excl && rename(target, path) < 0) {
		ferr_internal(e, "cannot rename %s: %s", target, strerror(errno));
		unlink(target);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

static int read_password(struct registry_auth *a, const char *path, struct ferr *e)
{
	char buf[REGISTRY_AUTH_PASSWORD_LEN + 2];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 1 : ferr_internal(e, "cannot open %s: %s", path,
							    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		close(fd);
		return ferr_internal(e, "%s must be a regular file of uid %u with mode 0600 (it "
				     "holds the registry's password): chown/chmod it, or delete it "
				     "to have a new one made", path, (unsigned)geteuid());
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n < 0 || !is_hex_password(buf, (size_t)n)) {
		explicit_bzero(buf, sizeof(buf));
		return ferr_internal(e, "%s does not hold a registry password (64 hex digits): "
				     "delete it to have a new one made", path);
	}
	memcpy(a->password, buf, REGISTRY_AUTH_PASSWORD_LEN);
	a->password[REGISTRY_AUTH_PASSWORD_LEN] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int make_password(struct registry_auth *a, const char *path, struct ferr *e)
{
	unsigned char rnd[REGISTRY_AUTH_PASSWORD_LEN / 2];
	char line[REGISTRY_AUTH_PASSWORD_LEN + 1];
	int ret;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ferr_internal(e, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(a->password + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	memcpy(line, a->password, REGISTRY_AUTH_PASSWORD_LEN);
	line[REGISTRY_AUTH_PASSWORD_LEN] = '\n';
	ret = write_secret(path, line, sizeof(line), 1, e);
	explicit_bzero(line, sizeof(line));
	return ret;
}

int registry_auth_htpasswd_line(char *out, size_t size, const char *password, struct ferr *e)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *hash;
	int n, ret = -1;

	if (!cd)
		abort();
	/* NULL random bytes: libcrypt takes them from the kernel */
	if (!crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, setting, sizeof(setting))) {
		ferr_internal(e, "libcrypt cannot make a bcrypt salt: %s", strerror(errno));
		goto out;
	}
	hash = crypt_rn(password, setting, cd, sizeof(*cd));
	if (!hash || hash[0] != '$') {
		ferr_internal(e, "libcrypt cannot hash with bcrypt: %s", strerror(errno));
		goto out;
	}
	n = snprintf(out, size, "%s:%s\n", REGISTRY_AUTH_USER, hash);
	if (n < 0 || (size_t)n >= size) {
		ferr_internal(e, "htpasswd line too long");
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

int registry_auth_load(struct registry_auth *ret, const char *dir, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT, ht = STRBUF_INIT;
	char line[256];
	int rc;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->user, REGISTRY_AUTH_USER, sizeof(REGISTRY_AUTH_USER));
	strbuf_addf(&path, "%s/password", dir);
	rc = read_password(ret, path.buf, e);
	if (rc == 1)
		rc = make_password(ret, path.buf, e);
	if (rc == -2) /* another ferryd made it first */
		rc = read_password(ret, path.buf, e);
	if (rc < 0)
		goto fail;
	strbuf_addf(&ht, "%s/htpasswd", dir);
	if (registry_auth_htpasswd_line(line, sizeof(line), ret->password, e) < 0 ||
	    write_secret(ht.buf, line, strlen(line), 0, e) < 0)
		goto fail;
	ret->htpasswd_path = strbuf_detach(&ht, NULL);
	strbuf_release(&path);
	return 0;
fail:
	strbuf_release(&path);
	strbuf_release(&ht);
	registry_auth_release(ret);
	return -1;
}

void registry_auth_release(struct registry_auth *a)
{
	explicit_bzero(a->password, sizeof(a->password));
	free(a->htpasswd_path);
	a->htpasswd_path = NULL;
}
