#include "api/static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/headers.h"
#include "lib/banned.h"

static char *console_dir;

void console_set_dir(const char *dir)
{
	free(console_dir);
	console_dir = dir ? strdup(dir) : NULL;
}

int console_wants(const char *url)
{
	return console_dir && strncmp(url, "/api/", 5) && strcmp(url, "/api") && strcmp(url, "/healthz") &&
	       strcmp(url, "/metrics");
}

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".webmanifest", "application/manifest+json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
		{ ".map", "application/json" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* 1 if rel (no leading slash) is a plain path inside the directory. */
static int safe_path(const char *rel)
{
	const char *seg = rel;

	if (!*rel || strspn(rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
		     strlen(rel))
		return 0;
	for (;;) {
		if (*seg == '.' || *seg == '/' || *seg == '\0')
			return 0; /* hidden, "..", empty segment */
		seg = strchr(seg, '/');
		if (!seg)
			return 1;
		seg++;
	}
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *msg, int *ret_status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg,
								    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	api_add_console_headers(resp, "no-store");
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	*ret_status = status;
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result console_serve(struct MHD_Connection *c, const char *method, const char *url,
			      int *ret_status)
{
	const char *last = strrchr(url, '/');
	const char *rel = "index.html";
	char path[PATH_MAX];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct stat st;
	int fd;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_text(c, 405, "the console's pages are only read (GET)\n", ret_status);
	if (last && strchr(last, '.')) {
		rel = url + 1;
		if (!safe_path(rel))
			return send_text(c, 404, "no such file\n", ret_status);
	}
	if (snprintf(path, sizeof(path), "%s/%s", console_dir, rel) >= (int)sizeof(path))
		return send_text(c, 404, "no such file\n", ret_status);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		if (!strcmp(rel, "index.html"))
			return send_text(c, 503, "the web console's files are not installed (no index.html in the "
					 "console directory): run `make console`, or start ferryd with "
					 "--console-dir DIR\n", ret_status);
		return send_text(c, 404, "no such file\n", ret_status);
	}
	resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", content_type(rel));
	api_add_console_headers(resp, !strncmp(rel, "assets/", 7) ? "public, max-age=31536000, immutable"
								   : "no-cache");
	*ret_status = 200;
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}
