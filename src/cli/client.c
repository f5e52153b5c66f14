/* HTTP calls to ferryd with libcurl, and where the server and token come from. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

#define MAX_RESPONSE (64u << 20)

struct cli cli;

int config_path(char *out, size_t size, struct ferr *e)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg && *xdg)
		n = snprintf(out, size, "%s/ferry/config.json", xdg);
	else if (home && *home)
		n = snprintf(out, size, "%s/.config/ferry/config.json", home);
	else
		return ferr_invalid(e, "neither XDG_CONFIG_HOME nor HOME is set: cannot find the saved login");
	if (n < 0 || (size_t)n >= size)
		return ferr_invalid(e, "config path too long");
	return 0;
}

int cli_resolve(struct ferr *e)
{
	static char server[512], token[256], ca[1024];
	char path[1024];
	json_t *saved = NULL;

	if (!cli.server)
		cli.server = getenv("FERRY_SERVER");
	if (!cli.token)
		cli.token = getenv("FERRY_TOKEN");
	if (!cli.ca_file)
		cli.ca_file = getenv("FERRY_CA_FILE");
	if ((!cli.server || !cli.token) && config_path(path, sizeof(path), NULL) == 0)
		saved = json_load_file(path, 0, NULL);
	if (saved) {
		const char *s = json_string_value(json_object_get(saved, "server"));
		const char *t = json_string_value(json_object_get(saved, "token"));
		const char *c = json_string_value(json_object_get(saved, "ca_file"));
		if (!cli.server && s) {
			snprintf(server, sizeof(server), "%s", s);
			cli.server = server;
		}
		if (!cli.token && t) {
			snprintf(token, sizeof(token), "%s", t);
			cli.token = token;
		}
		if (!cli.ca_file && c) {
			snprintf(ca, sizeof(ca), "%s", c);
			cli.ca_file = ca;
		}
		json_decref(saved);
	}
	if (!cli.server)
		cli.server = "http://127.0.0.1:7700";
	if (!cli.token)
		return ferr_set(e, 401, "unauthorized",
				"no API token: use --token, FERRY_TOKEN or `ferry login --server URL --token-file FILE`");
	return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;
	size_t len = size * n;

	if (sb->len + len > MAX_RESPONSE)
		return 0; /* aborts the transfer */
	strbuf_add(sb, data, len);
	return len;
}

static CURL *easy(const char *method, const char *path, struct curl_slist **hdrs)
{
	CURL *c = curl_easy_init();
	char url[2048], auth[300];

	if (!c)
		abort();
	snprintf(url, sizeof(url), "%s%s", cli.server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cli.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cli.ca_file);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cli.token ? cli.token : "");
	*hdrs = curl_slist_append(NULL, auth);
	*hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return c;
}

static int transport_error(CURLcode rc, const char *errbuf, struct ferr *e)
{
	return ferr_set(e, 503, "unreachable", "cannot reach ferryd at %s: %s", cli.server,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

static int answer_error(long status, struct strbuf *body, struct ferr *e)
{
	json_t *j = json_loadb(body->buf, body->len, 0, NULL);
	const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
	const char *code = j ? json_string_value(json_object_get(j, "code")) : NULL;

	ferr_set(e, (int)status, code ? code : "error", "%s",
		 msg ? msg : (body->len ? body->buf : "the server gave no reason"));
	json_decref(j);
	return -1;
}

int api_call(const char *method, const char *path, json_t *body, json_t **ret, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *text = NULL;
	CURL *c = easy(method, path, &hdrs);
	long status = 0;
	CURLcode rc;
	int r = 0;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		r = transport_error(rc, errbuf, e);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		r = answer_error(status, &out, e);
		goto out;
	}
	*ret = NULL;
	if (out.len) {
		json_error_t je;
		*ret = json_loadb(out.buf, out.len, 0, &je);
		if (!*ret)
			r = ferr_internal(e, "ferryd answered with invalid JSON: %s", je.text);
	}
out:
	/* The request may carry a secret value. */
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	strbuf_release(&out);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

/* For write callbacks: learns the answer's status on the first call; an
 * error answer's body is kept in err (capped) for answer_error. Returns 1
 * when data was such a body. */
static int keep_error_body(CURL *c, long *status, struct strbuf *err, const char *data, size_t len)
{
	if (!*status)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (*status < 300)
		return 0;
	if (err->len + len <= MAX_RESPONSE)
		strbuf_add(err, data, len);
	return 1;
}

struct download_state {
	int fd;
	long status;
	CURL *c;
	struct strbuf err;
	long long bytes;
	int write_failed;
};

static size_t download_write(char *data, size_t size, size_t n, void *arg)
{
	struct download_state *s = arg;
	size_t len = size * n, off = 0;

	if (keep_error_body(s->c, &s->status, &s->err, data, len))
		return len;
	while (off < len) {
		ssize_t w = write(s->fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->write_failed = errno ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	s->bytes += (long long)len;
	return len;
}

int api_download(const char *method, const char *path, json_t *body, int fd, long long *ret_bytes,
		 struct ferr *e)
{
	struct download_state s = { fd, 0, NULL, STRBUF_INIT, 0, 0 };
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *text = NULL;
	CURLcode rc;
	int r = 0;

	s.c = easy(method, path, &hdrs);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(s.c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(s.c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.c, CURLOPT_WRITEFUNCTION, download_write);
	curl_easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(s.c);
	if (!s.status)
		curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.status >= 300)
		r = answer_error(s.status, &s.err, e);
	else if (s.write_failed)
		r = ferr_internal(e, "writing the download: %s", strerror(s.write_failed));
	else if (rc != CURLE_OK)
		r = transport_error(rc, errbuf, e);
	if (ret_bytes)
		*ret_bytes = s.bytes;
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	strbuf_release(&s.err);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(s.c);
	return r;
}

struct stream_state {
	struct strbuf buf;
	struct strbuf err;     /* body of an error answer */
	long status;
	CURL *c;
	int (*line)(const char *, size_t, void *);
	void *arg;
	int stop;
};

static size_t stream_write(char *data, size_t size, size_t n, void *arg)
{
	struct stream_state *s = arg;
	size_t len = size * n, start = 0;

	if (keep_error_body(s->c, &s->status, &s->err, data, len))
		return len;
	strbuf_add(&s->buf, data, len);
	for (size_t i = 0; i < s->buf.len; i++)
		if (s->buf.buf[i] == '\n') {
			if (s->line(s->buf.buf + start, i - start, s->arg) < 0) {
				s->stop = 1;
				return 0;
			}
			start = i + 1;
		}
	if (start) {
		memmove(s->buf.buf, s->buf.buf + start, s->buf.len - start);
		strbuf_setlen(&s->buf, s->buf.len - start);
	}
	if (s->buf.len > MAX_RESPONSE)
		return 0;
	return len;
}

int api_stream(const char *path, int (*line)(const char *text, size_t len, void *arg), void *arg,
	       struct ferr *e)
{
	struct stream_state s = { STRBUF_INIT, STRBUF_INIT, 0, NULL, line, arg, 0 };
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int r = 0;

	s.c = easy("GET", path, &hdrs);
	curl_easy_setopt(s.c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.c, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(s.c);
	if (!s.status)
		curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.status >= 300)
		r = answer_error(s.status, &s.err, e);
	else if (rc != CURLE_OK && !s.stop)
		r = transport_error(rc, errbuf, e);
	else if (s.buf.len && !s.stop)
		line(s.buf.buf, s.buf.len, arg);
	strbuf_release(&s.buf);
	strbuf_release(&s.err);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(s.c);
	return r;
}

const char *url_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

int split_pc(const char *s, char project[64], char component[64], struct ferr *e)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t pl;

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return ferr_invalid(e, "\"%s\" is not PROJECT/COMPONENT", s ? s : "");
	pl = (size_t)(slash - s);
	if (pl >= 64 || strlen(slash + 1) >= 64)
		return ferr_invalid(e, "\"%s\": names are at most 63 characters", s);
	memcpy(project, s, pl);
	project[pl] = '\0';
	snprintf(component, 64, "%s", slash + 1);
	return 0;
}

int component_api_path(const char *pc, const char *suffix, char *out, size_t size, struct ferr *e)
{
	char p[64], c[64], pe[200], ce[200];
	int n;

	if (split_pc(pc, p, c, e) < 0)
		return -1;
	n = snprintf(out, size, "/api/v1/projects/%s/components/%s%s", url_escape(p, pe, sizeof(pe)),
		     url_escape(c, ce, sizeof(ce)), suffix);
	if (n < 0 || (size_t)n >= size)
		return ferr_invalid(e, "names too long for a request path");
	return 0;
}

struct follow_lines {
	void (*line)(json_t *obj, void *arg);
	void *arg;
	json_t *end;
};

static int follow_one(const char *text, size_t len, void *arg)
{
	struct follow_lines *f = arg;
	json_t *j;

	if (len == 0)
		return 0;
	j = json_loadb(text, len, 0, NULL);
	if (!j)
		return 0;
	if (json_object_get(j, "status")) {
		json_decref(f->end);
		f->end = j;
		return 0;
	}
	f->line(j, f->arg);
	json_decref(j);
	return 0;
}

int api_follow_lines(const char *path, void (*line)(json_t *obj, void *arg), void *arg,
		     json_t **ret_end, struct ferr *e)
{
	struct follow_lines f = { line, arg, NULL };

	if (api_stream(path, follow_one, &f, e) < 0) {
		json_decref(f.end);
		return -1;
	}
	if (!f.end)
		return ferr_set(e, 502, "stream_ended", "the stream from ferryd ended before the work did");
	*ret_end = f.end;
	return 0;
}
