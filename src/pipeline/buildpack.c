#include "pipeline/buildpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/beneath.h"
#include "lib/banned.h"

static const struct buildpack packs[] = {
	{ "static", NULL, NULL, "index.html" },
	{ "node", "node", NULL, "package.json" },
	{ "python", "python", NULL, "requirements.txt or pyproject.toml" },
	{ "go", "golang", "busybox", "go.mod" },
	{ "java", "maven", "java", "pom.xml (Maven)" },
};

#define NPACKS (sizeof(packs) / sizeof(packs[0]))

const struct buildpack *buildpack_find(const char *name)
{
	for (size_t i = 0; name && i < NPACKS; i++)
		if (!strcmp(packs[i].name, name))
			return &packs[i];
	return NULL;
}

const char *buildpack_names(void)
{
	return "static, node, python, go, java";
}

/* A regular file (not a symlink: the repository must not make ferry read
 * outside it) at rel below dir. */
static int has_file(const char *dir, const char *rel)
{
	struct strbuf p = STRBUF_INIT;
	struct stat st;
	int ok;

	strbuf_addf(&p, "%s/%s", dir, rel);
	ok = lstat(p.buf, &st) == 0 && S_ISREG(st.st_mode);
	strbuf_release(&p);
	return ok;
}

int buildpack_read_file(const char *dir, const char *rel, struct strbuf *out)
{
	/* inside the checkout, and not a link itself */
	int fd = open_beneath_path(dir, rel, O_RDONLY | O_NOFOLLOW, 0), rc;

	if (fd < 0)
		return -1;
	rc = strbuf_read_fd(out, fd, 1u << 20); /* at most 1 MiB: what was read */
	close(fd);
	return rc < 0 ? -1 : 0;
}

const struct buildpack *buildpack_detect(const char *dir)
{
	if (has_file(dir, "package.json"))
		return buildpack_find("node");
	if (has_file(dir, "requirements.txt") || has_file(dir, "pyproject.toml"))
		return buildpack_find("python");
	if (has_file(dir, "go.mod"))
		return buildpack_find("go");
	if (has_file(dir, "pom.xml"))
		return buildpack_find("java");
	if (has_file(dir, "index.html"))
		return buildpack_find("static");
	return NULL;
}

static void cmd_json(struct strbuf *out, const char *a, const char *b, const char *c)
{
	json_t *arr = json_array();
	char *s;

	json_array_append_new(arr, json_string(a));
	if (b)
		json_array_append_new(arr, json_string(b));
	if (c)
		json_array_append_new(arr, json_string(c));
	s = json_dumps(arr, JSON_COMPACT);
	strbuf_addstr(out, s);
	free(s);
	json_decref(arr);
}

/* The Procfile's web: line (or its only line) into cmd. 1 found, 0 none,
 * -1 with e set. */
static int procfile(const char *dir, struct strbuf *cmd, struct ferr *e)
{
	struct strbuf text = STRBUF_INIT, first = STRBUF_INIT;
	int lines = 0, found = 0, lineno = 0;
	char *line, *next;

	if (!has_file(dir, "Procfile") || buildpack_read_file(dir, "Procfile", &text) < 0) {
		strbuf_release(&text);
		return 0;
	}
	for (line = text.buf; line && *line; line = next) {
		char *colon, *val, *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line) {
			ferr_set(e, 422, "build_failed", "Procfile:%d: \"%.80s\" is not \"TYPE: command\"",
				 lineno, line);
			found = -1;
			goto out;
		}
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		for (char *q = val; *q; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t') {
				ferr_set(e, 422, "build_failed", "Procfile:%d: control character in the "
					 "command", lineno);
				found = -1;
				goto out;
			}
		*colon = '\0';
		lines++;
		if (!strcmp(line, "web")) {
			strbuf_reset(cmd);
			strbuf_addstr(cmd, val);
			found = 1;
			break;
		}
		if (lines == 1)
			strbuf_addstr(&first, val);
	}
	if (!found && lines == 1) {
		strbuf_addstr(cmd, first.buf);
		found = 1;
	}
	if (found && !cmd->len) {
		ferr_set(e, 422, "build_failed", "Procfile: the web process has no command");
		found = -1;
	}
out:
	strbuf_release(&text);
	strbuf_release(&first);
	return found;
}

static int node_start(const char *dir, struct buildpack_plan *p, struct ferr *e)
{
	static const char *const mains[] = { "server.js", "index.js", "app.js", NULL };
	struct strbuf text = STRBUF_INIT;
	json_error_t je;
	json_t *pkg, *start, *main;
	int ret = -1;

	if (buildpack_read_file(dir, "package.json", &text) < 0) {
		ferr_set(e, 422, "build_failed", "cannot read package.json: %s", strerror(errno));
		goto out;
	}
	pkg = json_loadb(text.buf, text.len, 0, &je);
	if (!json_is_object(pkg)) {
		ferr_set(e, 422, "build_failed", "package.json:%d:%d: %s", je.line, je.column,
			 pkg ? "not a JSON object" : je.text);
		json_decref(pkg);
		goto out;
	}
	start = json_object_get(json_object_get(pkg, "scripts"), "start");
	main = json_object_get(pkg, "main");
	if (json_is_string(start) && *json_string_value(start)) {
		cmd_json(&p->start, "npm", "start", NULL);
		strbuf_addstr(&p->start_from, "package.json's start script (npm start)");
		ret = 0;
	} else if (json_is_string(main) && has_file(dir, json_string_value(main))) {
		cmd_json(&p->start, "node", json_string_value(main), NULL);
		strbuf_addstr(&p->start_from, "package.json's main");
		ret = 0;
	} else {
		for (size_t i = 0; mains[i] && ret < 0; i++)
			if (has_file(dir, mains[i])) {
				cmd_json(&p->start, "node", mains[i], NULL);
				strbuf_addf(&p->start_from, "the convention (%s)", mains[i]);
				ret = 0;
			}
		if (ret < 0)
			ferr_set(e, 422, "build_failed", "the node buildpack found no start command: "
				 "add a start script to package.json, a Procfile (web: node "
				 "server.js), or a server.js");
	}
	json_decref(pkg);
out:
	strbuf_release(&text);
	return ret;
}

static int python_start(const char *dir, struct buildpack_plan *p, struct ferr *e)
{
	static const char *const mains[] = { "app.py", "main.py", "server.py", NULL };
	DIR *d;
	struct dirent *de;

	for (size_t i = 0; mains[i]; i++)
		if (has_file(dir, mains[i])) {
			cmd_json(&p->start, "python3", mains[i], NULL);
			strbuf_addf(&p->start_from, "the convention (%s)", mains[i]);
			return 0;
		}
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		struct strbuf rel = STRBUF_INIT;
		int ok;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&rel, "%s/__main__.py", de->d_name);
		ok = has_file(dir, rel.buf);
		strbuf_release(&rel);
		if (ok && (!p->start.len || strcmp(de->d_name, p->start.buf) < 0)) {
			strbuf_reset(&p->start);
			strbuf_addstr(&p->start, de->d_name); /* the smallest: repeatable */
		}
	}
	if (d)
		closedir(d);
	if (p->start.len) {
		char *pkg = strbuf_detach(&p->start, NULL);
		cmd_json(&p->start, "python3", "-m", pkg);
		strbuf_addf(&p->start_from, "the convention (%s/__main__.py)", pkg);
		free(pkg);
		return 0;
	}
	return ferr_set(e, 422, "build_failed", "the python buildpack found no start command: add "
			"a Procfile (web: gunicorn app:app), an app.py or main.py, or a "
			"package with __main__.py");
}

/* 1 if a non-test .go file directly in dir/rel says "package main". */
static int main_package(const char *dir, const char *rel)
{
	struct strbuf path = STRBUF_INIT;
	DIR *d;
	struct dirent *de;
	int found = 0;

	strbuf_addf(&path, "%s/%s", dir, rel);
	d = opendir(path.buf);
	while (d && !found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct strbuf text = STRBUF_INIT, frel = STRBUF_INIT;
		if (n < 4 || strcmp(de->d_name + n - 3, ".go") || (n > 8 && !strcmp(de->d_name + n - 8, "_test.go")))
			continue;
		strbuf_addf(&frel, "%s/%s", rel, de->d_name);
		if (buildpack_read_file(dir, frel.buf, &text) == 0) {
			/* the package clause: the first line starting "package " */
			for (char *l = text.buf; l && *l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
				if (!strncmp(l, "package ", 8)) {
					found = !strncmp(l + 8, "main", 4) &&
						(l[12] == '\n' || l[12] == ' ' || l[12] == '\r' ||
						 l[12] == '\0' || l[12] == '/');
					break;
				}
			}
		}
		strbuf_release(&text);
		strbuf_release(&frel);
	}
	if (d)
		closedir(d);
	strbuf_release(&path);
	return found;
}

static int go_start(const char *dir, struct buildpack_plan *p, struct ferr *e)
{
	struct strbuf cmds = STRBUF_INIT, path = STRBUF_INIT;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (main_package(dir, ".")) {
		p->main_pkg = strdup(".");
		strbuf_addstr(&p->start_from, "the module's main package (the root)");
		goto ok;
	}
	strbuf_addf(&path, "%s/cmd", dir);
	d = opendir(path.buf);
	while (d && (de = readdir(d))) {
		struct strbuf rel = STRBUF_INIT;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&rel, "cmd/%s", de->d_name);
		if (main_package(dir, rel.buf)) {
			n++;
			strbuf_addf(&cmds, "%s./%s", cmds.len ? ", " : "", rel.buf);
			if (!p->main_pkg || strcmp(rel.buf, p->main_pkg + 2) < 0) {
				free(p->main_pkg);
				p->main_pkg = malloc(rel.len + 3);
				if (!p->main_pkg)
					abort();
				snprintf(p->main_pkg, rel.len + 3, "./%s", rel.buf);
			}
		}
		strbuf_release(&rel);
	}
	if (d)
		closedir(d);
	strbuf_release(&path);
	if (n != 1) {
		free(p->main_pkg);
		p->main_pkg = NULL;
		if (n)
			ferr_set(e, 422, "build_failed", "the go buildpack found several main packages "
				 "(%s): add a Procfile naming the one to run (web: /app/NAME)", cmds.buf);
		else
			ferr_set(e, 422, "build_failed", "the go buildpack found no main package (a "
				 "package main at the module root or under cmd/NAME)");
		strbuf_release(&cmds);
		return -1;
	}
	strbuf_addf(&p->start_from, "the module's main package (%s)", p->main_pkg);
ok:
	strbuf_release(&cmds);
	cmd_json(&p->start, "/app/app", NULL, NULL);
	return 0;
}

int buildpack_plan(const struct buildpack *bp, const char *dir, int port,
		   struct buildpack_plan *p, struct ferr *e)
{
	struct strbuf proc = STRBUF_INIT;
	size_t nf = 0;
	int rc;

	p->bp = bp;
	p->port = port;
	if (!strcmp(bp->name, "node")) {
		const char *lock = has_file(dir, "npm-shrinkwrap.json") ? "npm-shrinkwrap.json" :
				   has_file(dir, "package-lock.json") ? "package-lock.json" : NULL;
		if (!has_file(dir, "package.json"))
			return ferr_set(e, 422, "build_failed", "the node buildpack needs a package.json "
					"at the root of the build context");
		if (!lock)
			return ferr_set(e, 422, "build_failed", "the node buildpack needs package-lock.json "
					"beside package.json, so that dependencies install the same every "
					"time: run npm install and commit it");
		p->deps_files[nf++] = strdup("package.json");
		p->deps_files[nf++] = strdup(lock);
	} else if (!strcmp(bp->name, "python")) {
		if (has_file(dir, "requirements.txt"))
			p->deps_files[nf++] = strdup("requirements.txt");
		else if (has_file(dir, "pyproject.toml"))
			p->deps_files[nf++] = strdup("pyproject.toml");
		else
			return ferr_set(e, 422, "build_failed", "the python buildpack needs "
					"requirements.txt or pyproject.toml at the root of the build context");
	} else if (!strcmp(bp->name, "go")) {
		if (!has_file(dir, "go.mod"))
			return ferr_set(e, 422, "build_failed", "the go buildpack needs go.mod at the "
					"root of the build context");
		p->deps_files[nf++] = strdup("go.mod");
		if (has_file(dir, "go.sum"))
			p->deps_files[nf++] = strdup("go.sum");
	} else if (!strcmp(bp->name, "java")) {
		if (!has_file(dir, "pom.xml"))
			return ferr_set(e, 422, "build_failed", "the java buildpack needs a Maven pom.xml "
					"at the root of the build context");
		p->deps_files[nf++] = strdup("pom.xml");
	} else {
		return ferr_invalid(e, "buildpack %s has no dependency plan", bp->name);
	}
	for (size_t i = 0; i < nf; i++)
		if (!p->deps_files[i])
			abort();

	rc = procfile(dir, &proc, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		cmd_json(&p->start, "/bin/sh", "-c", proc.buf);
		strbuf_addstr(&p->start_from, "the Procfile");
		if (!strcmp(bp->name, "go") && go_start(dir, p, e) < 0) {
			/* the binary is still built from the main package */
			rc = -1;
			goto out;
		}
		if (!strcmp(bp->name, "go")) {
			strbuf_reset(&p->start);
			strbuf_reset(&p->start_from);
			cmd_json(&p->start, "/bin/sh", "-c", proc.buf);
			strbuf_addstr(&p->start_from, "the Procfile");
		}
		rc = 0;
		goto out;
	}
	if (!strcmp(bp->name, "node"))
		rc = node_start(dir, p, e);
	else if (!strcmp(bp->name, "python"))
		rc = python_start(dir, p, e);
	else if (!strcmp(bp->name, "go"))
		rc = go_start(dir, p, e);
	else {
		cmd_json(&p->start, "java", "-jar", "/app/app.jar");
		strbuf_addstr(&p->start_from, "the convention (java -jar, the project's jar)");
		rc = 0;
	}
out:
	strbuf_release(&proc);
	return rc;
}

static void copy_line(struct strbuf *out, char *const *files, const char *to)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; files[i]; i++)
		json_array_append_new(arr, json_string(files[i]));
	json_array_append_new(arr, json_string(to));
	s = json_dumps(arr, JSON_COMPACT);
	strbuf_addf(out, "COPY %s\n", s);
	free(s);
	json_decref(arr);
}

void buildpack_deps_dockerfile(const struct buildpack_plan *p, const char *base_tag,
			       struct strbuf *out)
{
	const char *n = p->bp->name;

	strbuf_addf(out, "# Generated by ferry: the \"%s\" buildpack's dependency image.\n"
		    "FROM ferry/%s:%s\n", n, p->bp->build_base, base_tag);
	if (!strcmp(n, "node")) {
		strbuf_addstr(out, "WORKDIR /app\n");
		copy_line(out, p->deps_files, "/app/");
		strbuf_addstr(out, "RUN npm ci --omit=dev --no-audit --no-fund --cache /tmp/npm-cache"
			      " && rm -rf /tmp/npm-cache /root/.npm\n");
	} else if (!strcmp(n, "python")) {
		/* SOURCE_DATE_EPOCH: byte-compiled files carry a hash of their
		 * source, not its time, so the layer is repeatable. */
		strbuf_addstr(out, "ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1"
			      " SOURCE_DATE_EPOCH=0\n");
		copy_line(out, p->deps_files, "/ferry/deps/");
		strbuf_addstr(out, "RUN python3 -m venv /opt/venv");
		if (!strcmp(p->deps_files[0], "pyproject.toml"))
			strbuf_addstr(out, " && python3 -c 'import tomllib; d = tomllib.load(open("
				      "\"/ferry/deps/pyproject.toml\", \"rb\")); print(\"\\n\".join("
				      "d.get(\"project\", {}).get(\"dependencies\", [])))'"
				      " > /ferry/deps/requirements.txt");
		strbuf_addstr(out, " && /opt/venv/bin/pip install -r /ferry/deps/requirements.txt\n");
	} else if (!strcmp(n, "go")) {
		strbuf_addstr(out, "ENV GOPATH=/go GOCACHE=/tmp/go-build GOFLAGS=-modcacherw"
			      " GOPROXY=https://proxy.golang.org,direct CGO_ENABLED=0\n"
			      "WORKDIR /src\n");
		copy_line(out, p->deps_files, "/src/");
		strbuf_addstr(out, "RUN go mod download\n");
	} else if (!strcmp(n, "java")) {
		strbuf_addstr(out, "WORKDIR /src\n");
		copy_line(out, p->deps_files, "/src/");
		strbuf_addstr(out, "RUN mvn -B -q -Dmaven.repo.local=/m2 dependency:go-offline\n");
	}
}

static void runtime_tail(const struct buildpack_plan *p, const char *env, struct strbuf *out)
{
	strbuf_addf(out, "ENV PORT=%d%s%s\n", p->port, env ? " " : "", env ? env : "");
	strbuf_addf(out, "USER %s\nEXPOSE %d\nCMD %s\n", BUILDPACK_USER, p->port, p->start.buf);
}

void buildpack_app_dockerfile(const struct buildpack_plan *p, const char *deps_image,
			      const char *run_tag, long long timestamp, struct strbuf *out)
{
	const char *n = p->bp->name;

	strbuf_addf(out, "# Generated by ferry: the \"%s\" buildpack (start: %s).\n", n,
		    p->start_from.buf);
	if (!strcmp(n, "node")) {
		strbuf_addf(out, "FROM %s\nWORKDIR /app\nCOPY [\".\", \"/app/\"]\n", deps_image);
		runtime_tail(p, "NODE_ENV=production HOME=/tmp", out);
	} else if (!strcmp(n, "python")) {
		strbuf_addf(out, "FROM %s\nWORKDIR /app\nCOPY [\".\", \"/app/\"]\n", deps_image);
		runtime_tail(p, "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
			     "/sbin:/bin VIRTUAL_ENV=/opt/venv PYTHONUNBUFFERED=1 "
			     "PYTHONDONTWRITEBYTECODE=1 HOME=/tmp", out);
	} else if (!strcmp(n, "go")) {
		strbuf_addf(out, "FROM %s AS build\nCOPY [\".\", \"/src/\"]\n"
			    "RUN mkdir -p /ferry/out && go build -trimpath -buildvcs=false"
			    " -ldflags='-s -w -buildid=' -o /ferry/out/app %s\n"
			    "FROM ferry/busybox\n"
			    "COPY --from=build [\"/etc/ssl/certs/ca-certificates.crt\","
			    " \"/etc/ssl/certs/ca-certificates.crt\"]\n"
			    "COPY --from=build [\"/ferry/out/app\", \"/app/app\"]\n"
			    "WORKDIR /app\n", deps_image, p->main_pkg ? p->main_pkg : ".");
		runtime_tail(p, "HOME=/tmp", out);
	} else if (!strcmp(n, "java")) {
		char iso[32];
		time_t t = (time_t)timestamp;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* the jar: the one target/ jar that is not sources, javadoc or
		 * tests; its runtime dependencies beside it in lib/ (where a
		 * manifest Class-Path of lib/ finds them) */
		strbuf_addf(out, "FROM %s AS build\nCOPY [\".\", \"/src/\"]\n"
			    "RUN mvn -B -Dmaven.repo.local=/m2 -DskipTests"
			    " -Dproject.build.outputTimestamp=%s package"
			    " dependency:copy-dependencies -DincludeScope=runtime"
			    " -DoutputDirectory=target/lib"
			    " && jars=$(ls target/*.jar | grep -v -e '-sources\\.jar$' -e"
			    " '-javadoc\\.jar$' -e '-tests\\.jar$')"
			    " && if [ \"$(echo \"$jars\" | grep -c .)\" != 1 ]; then echo \"java buildpack:"
			    " expected one jar in target/, found: $jars\" >&2; exit 1; fi"
			    " && mkdir -p /ferry/out/lib && cp \"$jars\" /ferry/out/app.jar"
			    " && cp -r target/lib/. /ferry/out/lib/\n"
			    "FROM ferry/%s:%s\n"
			    "COPY --from=build [\"/ferry/out/\", \"/app/\"]\n"
			    "WORKDIR /app\n", deps_image, iso, p->bp->run_base, run_tag);
		runtime_tail(p, "HOME=/tmp", out);
	}
}

void buildpack_plan_release(struct buildpack_plan *p)
{
	for (size_t i = 0; i < sizeof(p->deps_files) / sizeof(p->deps_files[0]); i++) {
		free(p->deps_files[i]);
		p->deps_files[i] = NULL;
	}
	strbuf_release(&p->start);
	strbuf_release(&p->start_from);
	free(p->main_pkg);
	p->main_pkg = NULL;
}
