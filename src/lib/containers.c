#include "containers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

#include "banned.h"

/* Hosts end up inside TOML and JSON strings: allow only what a registry
 * host:port can hold, so no quoting is ever needed. */
static int valid_host(const char *h)
{
	if (!h || !*h || strlen(h) > 253)
		return 0;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == ':' || *p == '[' || *p == ']'))
			return 0;
	return 1;
}

/* Repository path components as the distribution spec allows them, without
 * a registry host (which would make the alias pointless). */
static int valid_alias(const char *a)
{
	if (!a || !((*a >= 'a' && *a <= 'z') || (*a >= '0' && *a <= '9')) || strlen(a) > 200)
		return 0;
	for (const char *p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return 0;
	return a[strlen(a) - 1] != '/';
}

/* Writes data to path through path.tmp and rename(), so a tool starting at
 * the same moment reads either the old or the new file, never half. */
static int write_atomic(const char *path, const struct strbuf *data, mode_t mode,
			struct ferr *e)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *p = data->buf;
	size_t left = data->len;
	int fd, ret = -1;

	strbuf_addf(&tmp, "%s.tmp", path);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		ferr_internal(e, "cannot create %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	/* O_CREAT's mode does not apply to an existing file. */
	if (fchmod(fd, mode) < 0) {
		ferr_internal(e, "chmod %s: %s", tmp.buf, strerror(errno));
		close(fd);
		goto out_unlink;
	}
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_internal(e, "cannot write %s: %s", tmp.buf, strerror(errno));
			close(fd);
			goto out_unlink;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) < 0) {
		ferr_internal(e, "cannot write %s: %s", tmp.buf, strerror(errno));
		goto out_unlink;
	}
	if (rename(tmp.buf, path) < 0) {
		ferr_internal(e, "cannot rename %s to %s: %s", tmp.buf, path, strerror(errno));
		goto out_unlink;
	}
	ret = 0;
	goto out;
out_unlink:
	unlink(tmp.buf);
out:
	strbuf_release(&tmp);
	return ret;
}

static char *path_join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb, NULL);
}

static char *env_entry(const char *key, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s=%s", key, value);
	return strbuf_detach(&sb, NULL);
}

static void render_containers_conf(struct strbuf *sb)
{
	strbuf_addstr(sb,
		"# Written by ferry; rewritten at every start. Do not edit.\n"
		"[containers]\n"
		"# Containers do not inherit the daemon's (possibly huge) limits.\n"
		"default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n"
		"\n"
		"[engine]\n"
		"# crun needs cgroups v2; runc handles v1 and v2.\n"
		"runtime = \"runc\"\n"
		"cgroup_manager = \"cgroupfs\"\n"
		"events_logger = \"file\"\n");
}

/* Paths go into TOML strings unquoted-safe only. */
static int toml_safe_path(const char *p)
{
	if (!p || *p != '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
			return 0;
	return 1;
}

static void render_storage_conf(struct strbuf *sb, const char *dir)
{
	strbuf_addf(sb,
		"# Written by ferry; rewritten at every start. Do not edit.\n"
		"# The image store of ferry's builds (the sandbox maps uid 0 of each\n"
		"# RUN step onto the ferry-build account's range; see docs/security.md).\n"
		"[storage]\n"
		"driver = \"overlay\"\n"
		"graphroot = \"%s/storage\"\n"
		"runroot = \"%s/run\"\n", dir, dir);
}

/* containers/storage (1.44, buildah 1.28) with the kernel's idmapped lower
 * layers writes a mapped container's new files with their host ids and
 * commits them so: an image built in the sandbox would hold files owned by
 * uid 1879113726 instead of 65534. It caches whether the kernel has the
 * feature as an empty file in its runroot; recording "not supported" makes
 * it chown a copy of the base layers for the mapping once (kept for later
 * builds) and commit ids correctly. */
static int disable_idmapped_lower(const char *dir, struct ferr *e)
{
	struct strbuf p = STRBUF_INIT;
	int fd, ret = 0;

	strbuf_addf(&p, "%s/run", dir);
	mkdir(p.buf, 0700);
	strbuf_addstr(&p, "/overlay");
	mkdir(p.buf, 0700);
	strbuf_addstr(&p, "/idmapped-lower-dir-true");
	unlink(p.buf);
	strbuf_setlen(&p, p.len - 4);
	strbuf_addstr(&p, "false");
	fd = open(p.buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		ret = ferr_internal(e, "cannot create %s: %s", p.buf, strerror(errno));
	else
		close(fd);
	strbuf_release(&p);
	return ret;
}

static void render_registries_conf(struct strbuf *sb, const struct containers_registry *reg)
{
	strbuf_addstr(sb,
		"# Written by ferry; rewritten at every start. Do not edit.\n"
		"# Short names (FROM name) are looked up in ferry's registry, then in\n"
		"# ferry's base-image caches (ferryd --base-registry), never elsewhere.\n");
	strbuf_addf(sb, "unqualified-search-registries = [\"%s\"", reg->host);
	for (size_t i = 0; reg->search_after && reg->search_after[i]; i++)
		strbuf_addf(sb, ", \"%s\"", reg->search_after[i]);
	/* With base-image caches after it, a short name is tried in each in
	 * order (enforcing would want a terminal to choose). */
	strbuf_addf(sb, "]\nshort-name-mode = \"%s\"\n\n",
		    reg->search_after && reg->search_after[0] ? "permissive" : "enforcing");
	strbuf_addf(sb, "[[registry]]\nlocation = \"%s\"\ninsecure = %s\n\n",
		    reg->host, reg->insecure ? "true" : "false");
	for (size_t i = 0; reg->search_after && reg->search_after[i]; i++)
		strbuf_addf(sb, "[[registry]]\nlocation = \"%s\"\ninsecure = true\n\n",
			    reg->search_after[i]);
	strbuf_addstr(sb, "[aliases]\n");
	for (size_t i = 0; reg->aliases && reg->aliases[i]; i++)
		strbuf_addf(sb, "\"%s\" = \"%s/%s\"\n", reg->aliases[i], reg->host,
			    reg->aliases[i]);
}

static void render_auth(struct strbuf *sb, const struct containers_registry *reg)
{
	struct strbuf cred = STRBUF_INIT;

	if (!reg->username) {
		strbuf_addstr(sb, "{\"auths\": {}}\n");
		return;
	}
	strbuf_addf(&cred, "%s:%s", reg->username, reg->password ? reg->password : "");
	strbuf_addf(sb, "{\"auths\": {\"%s\": {\"auth\": \"", reg->host);
	strbuf_add_base64(sb, cred.buf, cred.len);
	strbuf_addstr(sb, "\"}}}\n");
	/* The credential must not linger in freed heap memory. */
	explicit_bzero(cred.buf, cred.len);
	strbuf_release(&cred);
}

int containers_setup(struct containers *c, const char *data_dir,
		     const struct containers_registry *reg, struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	containers_release(c);
	if (!valid_host(reg->host))
		return ferr_invalid(e, "registry host \"%s\" is not a host[:port]",
				    reg->host ? reg->host : "");
	for (size_t i = 0; reg->search_after && reg->search_after[i]; i++)
		if (!valid_host(reg->search_after[i]))
			return ferr_invalid(e, "base registry host \"%s\" is not a host[:port]",
					    reg->search_after[i]);
	for (size_t i = 0; reg->aliases && reg->aliases[i]; i++)
		if (!valid_alias(reg->aliases[i]))
			return ferr_invalid(e, "image alias \"%s\" is not a repository name "
					    "(lower case letters, digits, . _ - /)", reg->aliases[i]);
	if (reg->username && (!*reg->username || strchr(reg->username, ':')))
		return ferr_invalid(e, "registry username must be non-empty and hold no ':'");

	c->dir = path_join(data_dir, "containers");
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
		ferr_internal(e, "cannot create %s: %s", c->dir, strerror(errno));
		goto out;
	}
	c->conf_path = path_join(c->dir, "containers.conf");
	c->registries_path = path_join(c->dir, "registries.conf");
	c->registries_dir = path_join(c->dir, "registries.conf.d");
	if (mkdir(c->registries_dir, 0700) < 0 && errno != EEXIST) {
		ferr_internal(e, "cannot create %s: %s", c->registries_dir, strerror(errno));
		goto out;
	}
	c->auth_path = path_join(c->dir, "auth.json");
	c->storage_path = path_join(c->dir, "storage.conf");

	render_containers_conf(&sb);
	if (write_atomic(c->conf_path, &sb, 0644, e) < 0)
		goto out;
	strbuf_reset(&sb);
	render_registries_conf(&sb, reg);
	if (write_atomic(c->registries_path, &sb, 0644, e) < 0)
		goto out;
	strbuf_reset(&sb);
	render_auth(&sb, reg);
	if (write_atomic(c->auth_path, &sb, 0600, e) < 0)
		goto out;
	explicit_bzero(sb.buf, sb.len);
	strbuf_reset(&sb);
	{
		char *abs = realpath(c->dir, NULL);
		if (!abs || !toml_safe_path(abs)) {
			ferr_invalid(e, "the data directory %s cannot be named in storage.conf "
				     "(it must not contain quotes, backslashes or control characters)",
				     c->dir);
			free(abs);
			goto out;
		}
		render_storage_conf(&sb, abs);
		ret = write_atomic(c->storage_path, &sb, 0644, e) < 0 ||
		      disable_idmapped_lower(abs, e) < 0 ? -1 : 0;
		free(abs);
		if (ret < 0)
			goto out;
		ret = -1;
	}

	c->env[0] = env_entry("CONTAINERS_CONF", c->conf_path);
	c->env[1] = env_entry("CONTAINERS_REGISTRIES_CONF", c->registries_path);
	c->env[2] = env_entry("REGISTRY_AUTH_FILE", c->auth_path);
	c->env[3] = NULL;
	for (size_t i = 0; i < 3; i++)
		c->build_env[i] = strdup(c->env[i]);
	c->build_env[3] = env_entry("CONTAINERS_STORAGE_CONF", c->storage_path);
	c->build_env[4] = NULL;
	for (size_t i = 0; i < 4; i++)
		if (!c->build_env[i])
			abort();
	ret = 0;
out:
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	if (ret < 0)
		containers_release(c);
	return ret;
}

const char *const *containers_env(const struct containers *c)
{
	return (const char *const *)c->env;
}

const char *const *containers_build_env(const struct containers *c)
{
	return (const char *const *)c->build_env;
}

void containers_release(struct containers *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c->conf_path);
	free(c->registries_path);
	free(c->registries_dir);
	free(c->auth_path);
	free(c->storage_path);
	for (size_t i = 0; i < 4; i++)
		free(c->env[i]);
	for (size_t i = 0; i < 5; i++)
		free(c->build_env[i]);
	memset(c, 0, sizeof(*c));
}
