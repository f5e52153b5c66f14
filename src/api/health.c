/* GET /healthz: liveness for anyone; with ?verbose=1 and a token, the state
 * of each part ferryd depends on. */
#include "api/handlers.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/session.h"
#include "core/core.h"
#include "core/diskspace.h"
#include "core/parts.h"
#include "pipeline/registry.h"
#include "lib/pidfile.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "lib/banned.h"

static json_t *store_part(void)
{
	char path[4096];
	struct stat st;
	long long bytes = 0;

	snprintf(path, sizeof(path), "%s/ferry.db", core.data_dir);
	if (stat(path, &st) == 0)
		bytes += st.st_size;
	snprintf(path, sizeof(path), "%s/ferry.db-wal", core.data_dir);
	if (stat(path, &st) == 0)
		bytes += st.st_size;
	return json_pack("{s:s, s:i, s:I}", "state", "up", "schema", store_schema_version(), "bytes",
			 (json_int_t)bytes);
}

/* Where ferryd's memory is: the heap as malloc sees it (every arena),
 * SQLite's share of it, and the store's connections (each with its own
 * page cache), so a slow RSS rise can be told apart from a leak. */
static json_t *memory_part(void)
{
	struct mallinfo2 mi = mallinfo2();
	int idle, conns = store_connections(&idle);

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:i, s:i}",
			 "heap_in_use_bytes", (json_int_t)mi.uordblks,
			 "heap_free_bytes", (json_int_t)mi.fordblks,
			 "mmapped_bytes", (json_int_t)mi.hblkhd,
			 "sqlite_bytes", (json_int_t)sqlite3_memory_used(),
			 "sqlite_highwater_bytes", (json_int_t)sqlite3_memory_highwater(0),
			 "store_connections", conns, "store_connections_idle", idle);
}

json_t *health_registry_part(void)
{
	struct registry *reg = core.registry;
	pid_t pid;

	if (!reg)
		return json_pack("{s:s}", "state", "starting");
	pid = registry_pid(reg);
	if (pid == 0)
		return json_pack("{s:s, s:s, s:s}", "state", "external", "host", registry_host(reg),
				 "supervised", "no");
	return json_pack("{s:s, s:s, s:i}", "state", pid_running(pid) ? "up" : "down", "host",
			 registry_host(reg), "pid", (int)pid);
}

/* HAProxy: started once something is deployed; its pid in DATA/gateway. */
json_t *health_gateway_part(void)
{
	struct strbuf path = STRBUF_INIT;
	json_t *out;
	pid_t pid;

	pidfile_path(&path, core.data_dir, PIDFILE_GATEWAY);
	if (access(path.buf, F_OK) < 0) {
		out = json_pack("{s:s}", "state", "not started");
	} else {
		pid = pidfile_read(path.buf);
		out = json_pack("{s:s, s:i}", "state", pid_running(pid) ? "up" : "down", "pid", (int)pid);
	}
	strbuf_release(&path);
	return out;
}

/* What the supervisors saw: restarts of the registry and the gateway, and
 * the runtime's network helpers. */
static void supervision(json_t *parts)
{
	json_t *seen = parts_json(NULL), *helpers = json_object(), *v;
	const char *name;

	json_object_foreach(seen, name, v) {
		json_t *part = json_object_get(parts, name);
		if (part) {
			json_object_set(part, "restarts", json_object_get(v, "restarts"));
			json_object_set(part, "last_restart", json_object_get(v, "last_restart"));
			if (json_object_get(v, "detail"))
				json_object_set(part, "detail", json_object_get(v, "detail"));
		} else if (!strncmp(name, "dns ", 4)) {
			json_object_set(helpers, name, v);
		}
	}
	json_object_set_new(parts, "network_helpers", helpers);
	json_decref(seen);
}

static int helpers_down(json_t *helpers)
{
	const char *name;
	json_t *v;

	json_object_foreach(helpers, name, v)
		if (!strcmp(json_string_value(json_object_get(v, "state")), "down"))
			return 1;
	return 0;
}

int h_healthz(struct api_req *r, json_t **ret, struct ferr *e)
{
	json_t *disk, *parts;
	long long verbose;
	int low, degraded;

	if (api_query_int(r, "verbose", 0, 1, 0, &verbose, e) < 0)
		return -1;
	if (store_exec("SELECT 1", e) < 0)
		return -1;
	disk = diskspace_report();
	low = disk && json_is_true(json_object_get(disk, "low"));
	if (!verbose) {
		json_decref(disk);
		*ret = json_pack("{s:s, s:i, s:s}", "status", low ? "degraded" : "ok", "schema",
				 store_schema_version(), "disk", low ? "low" : "ok");
		return 0;
	}
	{
		/* the parts' details are for token holders only */
		struct principal who;
		int cookie;
		if (api_authenticate(r->conn, r->method, &who, &cookie, e) < 0) {
			json_decref(disk);
			return -1;
		}
	}
	parts = json_pack("{s:o, s:o, s:o, s:o}", "store", store_part(), "registry", health_registry_part(),
			  "gateway", health_gateway_part(), "disk", disk ? disk : json_pack("{s:s}", "state", "unknown"));
	supervision(parts);
	degraded = low || helpers_down(json_object_get(parts, "network_helpers")) || !strcmp(json_string_value(json_object_get(json_object_get(parts, "registry"), "state")), "down") ||
		   !strcmp(json_string_value(json_object_get(json_object_get(parts, "gateway"), "state")), "down");
	*ret = json_pack("{s:s, s:i, s:s, s:o, s:o}", "status", degraded ? "degraded" : "ok", "schema",
			 store_schema_version(), "disk", low ? "low" : "ok", "parts", parts,
			 "memory", memory_part());
	return 0;
}
