#include "pipeline/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/containers.h"
#include "lib/spawn.h"
#include "pipeline/registry_auth.h"
#include "pipeline/registry_storage.h"

#include "lib/clock.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define START_TIMEOUT_MS 15000
#define STOP_GRACE_MS 5000
#define GC_TIMEOUT_MS (30 * 60 * 1000)
#define HTTP_TIMEOUT_S 30L
#define HTTP_BODY_CAP (64 * 1024)

const char *const registry_aliases[] = { "ferry/busybox", NULL };

struct registry {
	pthread_mutex_t lock;       /* process state: proc, last_start_ms */
	int managed;
	char *dir;                  /* DATA/registry */
	char *storage_dir;          /* dir/storage */
	char *config_path;
	char *log_path;
	char *binary;
	int port;
	char *host;                 /* host[:port] */
	char *base_url;             /* scheme://host[:port] */
	int insecure;
	char *username;
	char *password;
	char *proxy_url;            /* a pull-through cache of this registry */
	char *htpasswd_path;        /* managed, not a cache: its credentials */
	struct containers cc;
	struct spawn proc;          /* proc.pid == 0: not running */
	long long last_start_ms;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int registry_valid_repo(const char *name)
{
	const char *p = name;

	if (!name || !*name || strlen(name) > 255)
		return 0;
	for (;;) {
		/* one path component: alnum ( sep alnum+ )* */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return 0;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		if (*p == '.' || *p == '-' || *p == '_') {
			if (p[0] == '_' && p[1] == '_')
				p++;
			else if (*p == '-')
				while (p[1] == '-')
					p++;
			p++;
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
				return 0;
			continue;
		}
		if (*p == '/') {
			p++;
			continue;
		}
		return *p == '\0';
	}
}

int registry_valid_digest(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7))
		return 0;
	for (int i = 0; i < 64; i++) {
		char c = s[7 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[71] == '\0';
}

/* A tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or a digest. */
static int valid_ref(const char *ref)
{
	size_t n;

	if (registry_valid_digest(ref))
		return 1;
	n = ref ? strlen(ref) : 0;
	if (n == 0 || n > 128 || ref[0] == '.' || ref[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static char *path_join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------------ */
/* Files under DATA/registry                                            */

static int write_file(const char *path, const char *data, size_t len, mode_t mode,
		      struct ferr *e)
{
	struct strbuf tmp = STRBUF_INIT;
	int fd, ret = -1;

	strbuf_addf(&tmp, "%s.tmp", path);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		ferr_internal(e, "cannot create %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 || len) {
		ferr_internal(e, "cannot write %s: %s", tmp.buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	if (rename(tmp.buf, path) < 0) {
		ferr_internal(e, "cannot rename %s: %s", tmp.buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

/* Reads at most cap bytes from the end of path into out (for error
 * messages: the last lines of the registry's log). */
static void read_tail(const char *path, size_t cap, struct strbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	off_t size;
	ssize_t n;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)cap)
		lseek(fd, size - (off_t)cap, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(out, buf, (size_t)n);
	close(fd);
}

/* The last line of the registry's log that carries a message, for an error
 * a person can act on ("listen tcp 127.0.0.1:5000: bind: address already in
 * use"). */
static void last_log_message(const char *path, struct strbuf *out)
{
	struct strbuf tail = STRBUF_INIT;
	char *line, *best = NULL;

	read_tail(path, 4096, &tail);
	for (line = tail.buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line)
			best = line;
		line = nl ? nl + 1 : NULL;
	}
	if (best) {
		char *m = strstr(best, "msg=");
		strbuf_addstr(out, m ? m : best);
	}
	strbuf_release(&tail);
}

/* A YAML double-quoted scalar; paths with control characters are refused
 * by the caller. */
static void yaml_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

static int write_config(struct registry *r, int readonly, struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT, storage = STRBUF_INIT;
	unsigned char rnd[32];
	int ret;

	/* The HTTP secret signs upload state between requests of one upload;
	 * a fresh one per start is fine since a restart ends uploads anyway. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ferr_internal(e, "getrandom: %s", strerror(errno));
	strbuf_addf(&storage, "%s/storage", r->dir);
	strbuf_addstr(&sb,
		"# Written by ferry at every start of the registry. Do not edit.\n"
		"version: 0.1\n"
		"log:\n"
		"  level: info\n"
		"  formatter: text\n"
		"  accesslog:\n"
		"    disabled: true\n"
		"storage:\n"
		"  filesystem:\n"
		"    rootdirectory: ");
	yaml_quote(&sb, storage.buf);
	strbuf_addf(&sb,
		"\n"
		"  delete:\n"
		"    enabled: true\n"
		"  maintenance:\n"
		"    uploadpurging:\n"
		"      enabled: true\n"
		"      age: 168h\n"
		"      interval: 24h\n"
		"      dryrun: false\n"
		"    readonly:\n"
		"      enabled: %s\n",
		readonly ? "true" : "false");
	if (r->proxy_url) {
		/* distribution's proxy mode: pulls go to remoteurl once, and what
		 * was pulled is served from storage, also when it is unreachable */
		strbuf_addstr(&sb, "proxy:\n  remoteurl: ");
		yaml_quote(&sb, r->proxy_url);
		strbuf_addch(&sb, '\n');
	}
	if (r->htpasswd_path) {
		/* every request needs ferryd's credentials (registry_auth.h) */
		strbuf_addstr(&sb, "auth:\n  htpasswd:\n    realm: ferry-registry\n    path: ");
		yaml_quote(&sb, r->htpasswd_path);
		strbuf_addch(&sb, '\n');
	}
	strbuf_addf(&sb,
		"http:\n"
		"  addr: 127.0.0.1:%d\n"
		"  secret: \"",
		r->port);
	for (size_t i = 0; i < sizeof(rnd); i++)
		strbuf_addf(&sb, "%02x", rnd[i]);
	strbuf_addstr(&sb,
		"\"\n"
		"  headers:\n"
		"    X-Content-Type-Options: [nosniff]\n");
	ret = write_file(r->config_path, sb.buf, sb.len, 0600, e);
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	strbuf_release(&storage);
	return ret;
}

static int free_port(struct ferr *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return ferr_internal(e, "socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	else
		ferr_internal(e, "cannot find a free loopback port: %s", strerror(errno));
	close(fd);
	return port;
}

/* The port: configured, else remembered in DATA/registry/port (so that image
 * references recorded by earlier runs stay pullable), else a free one that
 * is then remembered. */
static int choose_port(struct registry *r, int configured, struct ferr *e)
{
	char *path = path_join(r->dir, "port");
	char buf[16];
	int port = -1, fd;
	ssize_t n;

	if (configured) {
		port = configured;
		goto remember;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			char *end;
			long v;
			buf[n] = '\0';
			v = strtol(buf, &end, 10);
			if (v > 0 && v < 65536 && (*end == '\n' || *end == '\0')) {
				port = (int)v;
				goto out;
			}
		}
	}
	port = free_port(e);
	if (port < 0)
		goto out;
remember:
	n = snprintf(buf, sizeof(buf), "%d\n", port);
	if (write_file(path, buf, (size_t)n, 0644, e) < 0)
		port = -1;
out:
	free(path);
	return port;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */

struct http_resp {
	long status;
	struct strbuf body;
	char digest[72];            /* Docker-Content-Digest */
	struct strbuf www_auth;     /* WWW-Authenticate */
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *resp = ud;
	size_t n = size * nmemb;

	if (resp->body.len + n > HTTP_BODY_CAP)
		return 0; /* aborts the transfer: nothing ferry reads is that big */
	strbuf_add(&resp->body, ptr, n);
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *resp = ud;
	size_t n = size * nmemb, klen;
	const char *v;

	v = memchr(ptr, ':', n);
	if (!v)
		return n;
	klen = (size_t)(v - ptr);
	v++;
	while (v < ptr + n && (*v == ' ' || *v == '\t'))
		v++;
	size_t vlen = (size_t)(ptr + n - v);
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (klen == 21 && !strncasecmp(ptr, "Docker-Content-Digest", klen) && vlen == 71) {
		memcpy(resp->digest, v, vlen);
		resp->digest[vlen] = '\0';
	} else if (klen == 16 && !strncasecmp(ptr, "WWW-Authenticate", klen) && vlen < 2048) {
		strbuf_reset(&resp->www_auth);
		strbuf_add(&resp->www_auth, v, vlen);
	}
	return n;
}

/* Value of key="..." in a WWW-Authenticate challenge, or NULL. Caller frees. */
static char *challenge_param(const char *ch, const char *key)
{
	size_t klen = strlen(key);
	const char *p = ch;

	while ((p = strstr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[klen] == '=' && p[klen + 1] == '"') {
			const char *start = p + klen + 2, *end = strchr(start, '"');
			if (!end)
				return NULL;
			return strndup(start, (size_t)(end - start));
		}
		p += klen;
	}
	return NULL;
}

static void http_resp_init(struct http_resp *resp)
{
	resp->status = 0;
	strbuf_init(&resp->body, 0);
	resp->digest[0] = '\0';
	strbuf_init(&resp->www_auth, 0);
}

static void http_resp_release(struct http_resp *resp)
{
	strbuf_release(&resp->body);
	strbuf_release(&resp->www_auth);
}

/* One request. bearer: token or NULL; basic credentials are sent when the
 * registry has them and no bearer token is given. */
static int http_once(struct registry *r, const char *method, const char *url,
		     const char *bearer, int basic, long timeout_s, struct http_resp *resp,
		     struct ferr *e)
{
	struct curl_slist *hdrs = NULL;
	struct strbuf auth = STRBUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return ferr_internal(e, "curl_easy_init failed");
	hdrs = curl_slist_append(hdrs,
		"Accept: application/vnd.oci.image.manifest.v1+json, "
		"application/vnd.docker.distribution.manifest.v2+json, "
		"application/vnd.oci.image.index.v1+json, "
		"application/vnd.docker.distribution.manifest.list.v2+json");
	if (bearer) {
		strbuf_addf(&auth, "Authorization: Bearer %s", bearer);
		hdrs = curl_slist_append(hdrs, auth.buf);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Token realms may be on another host: follow no redirects with
	 * credentials attached. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (basic && r->username) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	explicit_bzero(auth.buf, auth.len);
	strbuf_release(&auth);
	if (rc != CURLE_OK)
		return ferr_set(e, 502, "registry_unreachable", "registry %s: %s %s: %s",
				r->host, method, url, *errbuf ? errbuf : curl_easy_strerror(rc));
	return 0;
}

/* The Docker token flow: GET realm?service=..&scope=.. with the Basic
 * credentials, answer {"token": ...} or {"access_token": ...}. */
static char *fetch_token(struct registry *r, const char *challenge, struct ferr *e)
{
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *scope = challenge_param(challenge, "scope");
	struct strbuf url = STRBUF_INIT;
	struct http_resp resp;
	char *token = NULL;
	json_t *j = NULL;
	CURL *c = curl_easy_init();

	http_resp_init(&resp);
	if (!realm || strncmp(realm, "http", 4) || !c) {
		ferr_set(e, 502, "registry_auth", "registry %s: unusable auth challenge", r->host);
		goto out;
	}
	strbuf_addstr(&url, realm);
	strbuf_addch(&url, strchr(realm, '?') ? '&' : '?');
	if (service) {
		char *q = curl_easy_escape(c, service, 0);
		strbuf_addf(&url, "service=%s&", q);
		curl_free(q);
	}
	if (scope) {
		char *q = curl_easy_escape(c, scope, 0);
		strbuf_addf(&url, "scope=%s", q);
		curl_free(q);
	}
	if (http_once(r, "GET", url.buf, NULL, 1, HTTP_TIMEOUT_S, &resp, e) < 0)
		goto out;
	if (resp.status != 200) {
		ferr_set(e, 502, "registry_auth", "registry %s: token request answered HTTP %ld%s",
			 r->host, resp.status,
			 resp.status == 401 ? " (check the registry username and password)" : "");
		goto out;
	}
	j = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
	{
		const char *t = json_string_value(json_object_get(j, "token"));
		if (!t)
			t = json_string_value(json_object_get(j, "access_token"));
		if (!t)
			ferr_set(e, 502, "registry_auth", "registry %s: token answer holds no token",
				 r->host);
		else
			token = xstrdup(t);
	}
out:
	json_decref(j);
	if (c)
		curl_easy_cleanup(c);
	http_resp_release(&resp);
	strbuf_release(&url);
	free(realm);
	free(service);
	free(scope);
	return token;
}

/* A registry API request with authentication as the registry asks for it. */
static int http_do(struct registry *r, const char *method, const char *path,
		   struct http_resp *resp, struct ferr *e)
{
	struct strbuf url = STRBUF_INIT;
	char *token = NULL;
	int ret = -1;

	pthread_once(&curl_once, curl_init_once);
	strbuf_addf(&url, "%s%s", r->base_url, path);
	if (http_once(r, method, url.buf, NULL, 1, HTTP_TIMEOUT_S, resp, e) < 0)
		goto out;
	if (resp->status == 401 && r->username &&
	    !strncasecmp(resp->www_auth.buf, "Bearer ", 7)) {
		token = fetch_token(r, resp->www_auth.buf, e);
		if (!token)
			goto out;
		strbuf_reset(&resp->body);
		resp->digest[0] = '\0';
		if (http_once(r, method, url.buf, token, 0, HTTP_TIMEOUT_S, resp, e) < 0)
			goto out;
	}
	ret = 0;
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	strbuf_release(&url);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The managed process                                                  */

/* Caller holds r->lock. */
static void stop_locked(struct registry *r)
{
	long long deadline;
	int st;

	if (r->proc.pid <= 0)
		return;
	spawn_kill(&r->proc, SIGTERM);
	deadline = mono_ms() + STOP_GRACE_MS;
	for (;;) {
		pid_t w = waitpid(r->proc.pid, &st, WNOHANG);
		if (w == r->proc.pid || (w < 0 && errno != EINTR))
			break;
		if (mono_ms() >= deadline) {
			spawn_kill(&r->proc, SIGKILL);
			while (waitpid(r->proc.pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sleep_ms(20);
	}
	r->proc.pid = 0;
}

/* Caller holds r->lock. */
static int start_locked(struct registry *r, int readonly, struct ferr *e)
{
	const char *argv[] = { r->binary, "serve", r->config_path, NULL };
	struct strbuf old = STRBUF_INIT, msg = STRBUF_INIT, probe = STRBUF_INIT;
	struct http_resp resp;
	long long deadline;
	int fd, ret = -1;

	if (write_config(r, readonly, e) < 0)
		return -1;
	/* Keep the previous run's output: it says why it died. */
	strbuf_addf(&old, "%s.1", r->log_path);
	rename(r->log_path, old.buf);
	strbuf_release(&old);
	fd = open(r->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferr_internal(e, "cannot open %s: %s", r->log_path, strerror(errno));
	r->proc = (struct spawn)SPAWN_INIT;
	r->proc.argv = argv;
	r->proc.out_fd = fd;
	r->proc.err_fd = -2;
	r->proc.dir = r->dir;
	/* The registry serves only this ferryd: it must not outlive a kill -9.
	 * It is (re)started from long-lived threads (start-up and supervision,
	 * job workers for GC), so the death signal comes with ferryd's end. */
	r->proc.die_with_parent = 1;
	r->last_start_ms = mono_ms();
	if (spawn_start(&r->proc, e) < 0) {
		close(fd);
		r->proc.pid = 0;
		return ferr_prefix(e, "starting the registry");
	}
	r->proc.argv = NULL; /* argv lives on this stack frame */
	close(fd);

	http_resp_init(&resp);
	strbuf_addf(&probe, "%s/v2/", r->base_url);
	deadline = mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		struct ferr he = FERR_INIT;
		int st;
		pid_t w = waitpid(r->proc.pid, &st, WNOHANG);

		if (w == r->proc.pid) {
			r->proc.pid = 0;
			last_log_message(r->log_path, &msg);
			ferr_set(e, 500, "registry_failed",
				 "the registry (%s) exited with status %d at start: %s (log: %s)%s",
				 r->binary, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
				 msg.len ? msg.buf : "no output", r->log_path,
				 strstr(msg.buf, "address already in use") ?
				 "; free that port, or configure another one (or delete "
				 "registry/port in the data directory to have a free one "
				 "chosen; images recorded with the old address must then be "
				 "rebuilt)" : "");
			goto out;
		}
		strbuf_reset(&resp.body);
		resp.status = 0;
		if (http_once(r, "GET", probe.buf, NULL, 1, 1L, &resp, &he) == 0 &&
		    resp.status == 200) {
			ret = 0;
			goto out;
		}
		if (mono_ms() >= deadline) {
			stop_locked(r);
			ferr_set(e, 500, "registry_failed",
				 "the registry did not answer on %s within %d s (log: %s)",
				 r->base_url, START_TIMEOUT_MS / 1000, r->log_path);
			goto out;
		}
		sleep_ms(30);
	}
out:
	http_resp_release(&resp);
	strbuf_release(&msg);
	strbuf_release(&probe);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */

static int parse_external(struct registry *r, const char *url, struct ferr *e)
{
	const char *host;
	size_t n;

	if (!strncmp(url, "https://", 8)) {
		host = url + 8;
		r->insecure = 0;
	} else if (!strncmp(url, "http://", 7)) {
		host = url + 7;
		r->insecure = 1;
	} else {
		return ferr_invalid(e, "external registry URL \"%s\" must start with "
				    "https:// or http://", url);
	}
	n = strcspn(host, "/");
	if (n == 0 || (host[n] && strcmp(host + n, "/")))
		return ferr_invalid(e, "external registry URL \"%s\" must be scheme://host[:port] "
				    "without a path", url);
	r->host = strndup(host, n);
	if (!r->host)
		abort();
	r->base_url = strndup(url, (size_t)(host - url) + n);
	if (!r->base_url)
		abort();
	return 0;
}

int registry_open(struct registry **ret, const struct registry_config *cfg, struct ferr *e)
{
	struct registry *r = calloc(1, sizeof(*r));
	struct containers_registry creg = { 0 };
	struct strbuf sb = STRBUF_INIT;

	*ret = NULL;
	if (!r)
		abort();
	pthread_mutex_init(&r->lock, NULL);
	r->proc = (struct spawn)SPAWN_INIT;
	pthread_once(&curl_once, curl_init_once);
	if (!cfg->data_dir || !*cfg->data_dir) {
		ferr_invalid(e, "registry: no data directory given");
		goto fail;
	}
	for (const char *p = cfg->data_dir; *p; p++)
		if ((unsigned char)*p < 0x20) {
			ferr_invalid(e, "data directory path holds a control character");
			goto fail;
		}
	r->username = xstrdup(cfg->username);
	r->password = xstrdup(cfg->password);
	if (cfg->external_url) {
		if (parse_external(r, cfg->external_url, e) < 0)
			goto fail;
	} else {
		r->managed = 1;
		if (cfg->proxy_url) {
			if (strncmp(cfg->proxy_url, "http://", 7) && strncmp(cfg->proxy_url, "https://", 8)) {
				ferr_invalid(e, "base registry %s: give an http:// or https:// URL",
					     cfg->proxy_url);
				goto fail;
			}
			for (const char *p = cfg->proxy_url; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\') {
					ferr_invalid(e, "base registry URL holds a space, quote or control character");
					goto fail;
				}
			r->proxy_url = xstrdup(cfg->proxy_url);
		}
		r->dir = path_join(cfg->data_dir, cfg->subdir ? cfg->subdir : "registry");
		if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
			ferr_internal(e, "cannot create %s: %s", r->dir, strerror(errno));
			goto fail;
		}
		r->config_path = path_join(r->dir, "config.yml");
		r->storage_dir = path_join(r->dir, "storage");
		r->log_path = path_join(r->dir, "registry.log");
		r->binary = xstrdup(cfg->binary ? cfg->binary : "docker-registry");
		if (cfg->port < 0 || cfg->port > 65535) {
			ferr_invalid(e, "registry port %d is out of range", cfg->port);
			goto fail;
		}
		r->port = choose_port(r, cfg->port, e);
		if (r->port < 0)
			goto fail;
		strbuf_addf(&sb, "127.0.0.1:%d", r->port);
		r->host = strbuf_detach(&sb, NULL);
		strbuf_addf(&sb, "http://%s", r->host);
		r->base_url = strbuf_detach(&sb, NULL);
		r->insecure = 1;
		if (!r->proxy_url) {
			/* the registry builds are pushed to: only ferryd's
			 * credentials get in. A cache takes no pushes (proxy
			 * mode) and holds only copies of its upstream. */
			struct registry_auth ra;
			if (registry_auth_load(&ra, r->dir, e) < 0)
				goto fail;
			free(r->username);
			if (r->password) {
				explicit_bzero(r->password, strlen(r->password));
				free(r->password);
			}
			r->username = xstrdup(ra.user);
			r->password = xstrdup(ra.password);
			r->htpasswd_path = ra.htpasswd_path;
			ra.htpasswd_path = NULL;
			registry_auth_release(&ra);
		}
	}
	creg.host = r->host;
	creg.insecure = r->insecure;
	creg.username = r->username;
	creg.password = r->password;
	creg.aliases = registry_aliases;
	creg.search_after = cfg->search_after;
	/* A cache is reached only through the main registry's search list. */
	if (!r->proxy_url && containers_setup(&r->cc, cfg->data_dir, &creg, e) < 0)
		goto fail;

	if (r->managed) {
		int rc;
		pthread_mutex_lock(&r->lock);
		rc = start_locked(r, 0, e);
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			goto fail;
	} else {
		struct http_resp resp;
		int rc;
		struct strbuf url = STRBUF_INIT;
		http_resp_init(&resp);
		strbuf_addf(&url, "%s/v2/", r->base_url);
		rc = http_once(r, "GET", url.buf, NULL, 1, HTTP_TIMEOUT_S, &resp, e);
		strbuf_release(&url);
		if (rc == 0 && resp.status != 200 && resp.status != 401) {
			ferr_set(e, 502, "registry_unreachable",
				 "%s/v2/ answered HTTP %ld: is it a container registry?",
				 r->base_url, resp.status);
			rc = -1;
		}
		http_resp_release(&resp);
		if (rc < 0)
			goto fail;
	}
	*ret = r;
	return 0;
fail:
	registry_close(r);
	return -1;
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	stop_locked(r);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
	containers_release(&r->cc);
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->username);
	free(r->proxy_url);
	free(r->htpasswd_path);
	free(r->dir);
	free(r->storage_dir);
	free(r->config_path);
	free(r->log_path);
	free(r->binary);
	free(r->host);
	free(r->base_url);
	free(r);
}

const char *registry_host(const struct registry *r)
{
	return r->host;
}

int registry_insecure(const struct registry *r)
{
	return r->insecure;
}

const char *registry_confdir(const struct registry *r)
{
	return r->cc.registries_dir;
}

const char *const *registry_env(const struct registry *r)
{
	return containers_env(&r->cc);
}

const char *const *registry_build_env(const struct registry *r)
{
	return containers_build_env(&r->cc);
}

const char *registry_storage_dir(const struct registry *r)
{
	return r->managed ? r->storage_dir : NULL;
}

pid_t registry_pid(struct registry *r)
{
	pid_t pid;

	pthread_mutex_lock(&r->lock);
	pid = r->proc.pid;
	pthread_mutex_unlock(&r->lock);
	return pid;
}

int registry_supervise(struct registry *r, struct ferr *e)
{
	int ret = 0, st;

	if (!r->managed)
		return 0;
	pthread_mutex_lock(&r->lock);
	if (r->proc.pid > 0) {
		pid_t w = waitpid(r->proc.pid, &st, WNOHANG);
		if (w != r->proc.pid)
			goto out;
		r->proc.pid = 0;
	}
	/* Not running: it died, or an earlier restart failed. A registry that
	 * dies at once must not be restarted in a tight loop. */
	if (mono_ms() - r->last_start_ms < 1000)
		goto out;
	ret = start_locked(r, 0, e) < 0 ? -1 : 1;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int registry_ping(struct registry *r, struct ferr *e)
{
	struct strbuf url = STRBUF_INIT;
	struct http_resp resp;
	int ret;

	pthread_once(&curl_once, curl_init_once);
	http_resp_init(&resp);
	strbuf_addf(&url, "%s/v2/", r->base_url);
	ret = http_once(r, "GET", url.buf, NULL, 0, 2L, &resp, e);
	if (ret == 0 && resp.status != 200 && resp.status != 401)
		ret = ferr_set(e, 503, "unavailable", "the registry answered %ld to GET /v2/",
			       (long)resp.status);
	http_resp_release(&resp);
	strbuf_release(&url);
	return ret;
}

int registry_gc(struct registry *r, struct strbuf *log, struct ferr *e)
{
	const char *argv[] = { r->binary, "garbage-collect", "--delete-untagged",
			       r->config_path, NULL };
	struct strbuf out = STRBUF_INIT;
	int ret = -1, status;

	if (!r->managed)
		return 0;
	{
		/* nothing pushed yet: distribution's GC fails on the missing
		 * directory ("Path not found"), and there is nothing to collect */
		struct strbuf repos = STRBUF_INIT;
		struct stat st;
		int empty;
		strbuf_addf(&repos, "%s/docker/registry/v2/repositories", r->storage_dir);
		empty = stat(repos.buf, &st) < 0 && errno == ENOENT;
		strbuf_release(&repos);
		if (empty) {
			if (log)
				strbuf_addstr(log, "nothing to collect: no repository was pushed yet\n");
			return 0;
		}
	}
	pthread_mutex_lock(&r->lock);
	/* Distribution's rule: GC must not run while the registry accepts
	 * writes, or a blob uploaded during the mark phase is swept. Read-only
	 * mode keeps pulls (deployments) working meanwhile. */
	stop_locked(r);
	if (start_locked(r, 1, e) < 0)
		goto out;
	status = spawn_capture(argv, NULL, r->dir, &out, 1 << 20, GC_TIMEOUT_MS, e);
	if (log)
		strbuf_add(log, out.buf, out.len);
	if (status < 0)
		goto restart;
	if (status != 0) {
		size_t n = out.len;
		while (n && out.buf[n - 1] == '\n')
			n--;
		strbuf_setlen(&out, n);
		{
			const char *last = strrchr(out.buf, '\n');
			ferr_set(e, 500, "registry_gc", "registry garbage-collect exited with %d: %s",
				 status, last ? last + 1 : out.buf);
		}
		goto restart;
	}
	/* still read-only: what garbage-collect leaves of deleted images */
	{
		long swept = registry_storage_sweep(r->storage_dir);
		if (log)
			strbuf_addf(log, "ferry: removed %ld layer links, manifest revisions of "
				    "deleted blobs and empty directories\n", swept);
	}
	ret = 0;
restart:
	stop_locked(r);
	if (start_locked(r, 0, e) < 0)
		ret = -1;
out:
	pthread_mutex_unlock(&r->lock);
	strbuf_release(&out);
	return ret;
}

int registry_manifest_digest(struct registry *r, const char *repo, const char *ref,
			     char ret_digest[72], struct ferr *e)
{
	struct strbuf path = STRBUF_INIT;
	struct http_resp resp;
	int ret = -1;

	if (!registry_valid_repo(repo))
		return ferr_invalid(e, "\"%s\" is not a valid repository name", repo ? repo : "");
	if (!valid_ref(ref))
		return ferr_invalid(e, "\"%s\" is not a valid tag or digest", ref ? ref : "");
	http_resp_init(&resp);
	strbuf_addf(&path, "/v2/%s/manifests/%s", repo, ref);
	if (http_do(r, "HEAD", path.buf, &resp, e) < 0)
		goto out;
	if (resp.status == 404) {
		ret = 0;
	} else if (resp.status == 200) {
		if (!registry_valid_digest(resp.digest)) {
			ferr_set(e, 502, "registry_error", "registry %s sent no digest for %s:%s",
				 r->host, repo, ref);
			goto out;
		}
		if (ret_digest)
			memcpy(ret_digest, resp.digest, 72);
		ret = 1;
	} else {
		ferr_set(e, 502, "registry_error", "registry %s: HEAD %s answered HTTP %ld",
			 r->host, path.buf, resp.status);
	}
out:
	http_resp_release(&resp);
	strbuf_release(&path);
	return ret;
}

int registry_delete_manifest(struct registry *r, const char *repo, const char *digest,
			     struct ferr *e)
{
	struct strbuf path = STRBUF_INIT;
	struct http_resp resp;
	int ret = -1;

	if (!registry_valid_repo(repo))
		return ferr_invalid(e, "\"%s\" is not a valid repository name", repo ? repo : "");
	if (!registry_valid_digest(digest))
		return ferr_invalid(e, "\"%s\" is not a sha256 digest", digest ? digest : "");
	http_resp_init(&resp);
	strbuf_addf(&path, "/v2/%s/manifests/%s", repo, digest);
	if (http_do(r, "DELETE", path.buf, &resp, e) < 0)
		goto out;
	if (resp.status == 202 || resp.status == 200 || resp.status == 404) {
		ret = 0;
	} else if (resp.status == 405) {
		ferr_set(e, 502, "registry_error", "registry %s does not allow deletes "
			 "(distribution: storage.delete.enabled=true)", r->host);
	} else {
		ferr_set(e, 502, "registry_error", "registry %s: DELETE %s answered HTTP %ld",
			 r->host, path.buf, resp.status);
	}
out:
	http_resp_release(&resp);
	strbuf_release(&path);
	return ret;
}

char *registry_ref(const struct registry *r, const char *repo, const char *digest)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s@%s", r->host, repo, digest);
	return strbuf_detach(&sb, NULL);
}
