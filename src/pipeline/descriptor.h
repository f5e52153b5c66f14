/* descriptor: the component descriptor read from a build context.
 *
 * A repository describes how its component runs in one YAML file inside the
 * build context (the component's path in the repository, or its Docker
 * context). Looked for in this order, the first found wins:
 *
 *   .ferry/component.yaml          ferry's own format (strict)
 *   .choreo/component.yaml         Choreo, schemaVersion 1.0, 1.1 or 1.2
 *   .choreo/component-config.yaml  Choreo's older ComponentConfig (v1beta1)
 *   .choreo/endpoints.yaml         Choreo's oldest endpoints file
 *
 * No file at all is not an error: the component gets the defaults (no
 * endpoints, no declared configuration, one replica, no probes) and the
 * caller decides e.g. which port to expect.
 *
 * The format is documented in docs/descriptor.md. Choreo's files are read
 * with the rules of Choreo's own validator and no stricter ones; ferry's
 * format adds its extensions and refuses unknown keys. An invalid
 * descriptor gives exactly one error, "FILE:LINE:COL: FIELD: what is
 * wrong", for example ".choreo/component.yaml:7:15:
 * endpoints[0].service.port: must be a number greater than 1000 and less
 * than 65535, got \"http\"". What the reference tolerates but ferry wants
 * the user to know (unknown keys, outdated schema versions, endpoint names
 * mapped to DNS labels) becomes a warning in descriptor.warnings, each
 * "FILE:LINE:COL: FIELD: text", for the build log.
 *
 * The code is split by format over one shared reader:
 *   descriptor.c           names, defaults, free, parse dispatch
 *   descriptor_reader.c    the YAML reader every format uses (messages,
 *                          warnings, typed getters, unknown keys)
 *   descriptor_rules.c     value rules (names, paths, references, sizes)
 *   descriptor_sections.c  endpoints, dependencies and configurations
 *   descriptor_ferry.c     .ferry/component.yaml and its extensions
 *   descriptor_choreo.c    .choreo/component.yaml 1.0, 1.1, 1.2, proxies
 *   descriptor_legacy.c    component-config.yaml and endpoints.yaml
 *   descriptor_files.c     finding and opening files in a build context
 *   descriptor_json.c      the stored JSON form
 *
 * A parsed descriptor is stored with its build as JSON (descriptor_to_json)
 * and read back with descriptor_from_json; the two round-trip exactly.
 */
#ifndef FERRY_PIPELINE_DESCRIPTOR_H
#define FERRY_PIPELINE_DESCRIPTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* Largest descriptor file read; bigger files are refused. */
#define DESCRIPTOR_MAX_FILE_SIZE (256 * 1024)
/* Most warnings kept for one descriptor. */
#define DESCRIPTOR_MAX_WARNINGS 64

enum descriptor_format {
	DESCRIPTOR_DEFAULT = 0,         /* no file: defaults */
	DESCRIPTOR_FERRY,               /* .ferry/component.yaml */
	DESCRIPTOR_CHOREO,              /* .choreo/component.yaml */
	DESCRIPTOR_CHOREO_COMPONENT_CONFIG, /* .choreo/component-config.yaml */
	DESCRIPTOR_CHOREO_ENDPOINTS,    /* .choreo/endpoints.yaml */
};

enum endpoint_type {
	ENDPOINT_REST = 0,
	ENDPOINT_GRAPHQL,
	ENDPOINT_WS,
	ENDPOINT_GRPC,
	ENDPOINT_TCP,
	ENDPOINT_UDP,
};

/* Bits of descriptor_endpoint.visibilities. */
#define VISIBILITY_PROJECT      (1u << 0)
#define VISIBILITY_ORGANIZATION (1u << 1)
#define VISIBILITY_PUBLIC       (1u << 2)

enum config_type {
	CONFIG_STRING = 0,
	CONFIG_NUMBER,
	CONFIG_BOOLEAN,
	CONFIG_SECRET,
	CONFIG_OBJECT,   /* a JSON object */
	CONFIG_ARRAY,    /* a JSON array */
};

/* What a connection reference points at (Choreo's resourceRef prefixes). */
enum connection_kind {
	CONNECTION_SERVICE = 0, /* another component's endpoint */
	CONNECTION_DATABASE,
	CONNECTION_THIRDPARTY,
	CONNECTION_STORAGE,
};

enum probe_kind {
	PROBE_NONE = 0,  /* not declared: the caller picks its default */
	PROBE_HTTP,      /* GET path on port; healthy on 200..399 */
	PROBE_TCP,       /* connect to port */
	PROBE_EXEC,      /* run argv in the container; exit 0 is healthy */
};

struct descriptor_endpoint {
	char *name;             /* DNS label, unique in the descriptor: what
	                           ferry uses in URLs, routes and names */
	char *declared_name;    /* the name as the file wrote it when ferry had
	                           to map it ("go_greeter" -> "go-greeter",
	                           "Greeting Service" -> "greeting-service");
	                           NULL when it is name itself */
	char *display_name;     /* never NULL: defaults to the declared name */
	int port;               /* ferry: 1..65535; Choreo: 1001..65534 */
	char *base_path;        /* starts with '/'; NULL if not given (REST,
	                           GraphQL and WS endpoints of component.yaml
	                           get "/" and a warning) */
	enum endpoint_type type;
	unsigned visibilities;  /* VISIBILITY_* bits, never 0 */
	char *schema_file_path; /* relative to the build context, normalised,
	                           never escaping it; NULL if none */
};

struct descriptor_connection {
	char *name;             /* unique; Choreo's connection names may hold
	                           single spaces, '.', '_' and '-' */
	char *resource_ref;     /* as written, e.g. "service:/p/c/v1/ad088/PUBLIC",
	                           or a legacy "choreo:///org/p/c/ep/v1/PUBLIC" */
	enum connection_kind kind;
	/* CONNECTION_SERVICE: the parts of the reference. project NULL means
	 * the component's own project; endpoint NULL means the dependency's
	 * first endpoint; visibility ("PUBLIC", "PROJECT", "ORGANIZATION") may
	 * be NULL. Other kinds: target holds what follows the prefix
	 * ("server/db", "stripe/v1", "bucket"), the others are NULL. */
	char *project;
	char *component;
	char *version;
	char *endpoint;
	char *visibility;
	char *target;
	/* A legacy serviceReferences[] entry: its connectionConfig UUID (the
	 * env[] mapping becomes descriptor_env entries). NULL otherwise. */
	char *connection_config;
};

struct descriptor_env {
	char *name;             /* [A-Za-z_][A-Za-z0-9_]*, unique */
	char *display_name;     /* never NULL: defaults to name */
	bool required;          /* default true */
	enum config_type type;  /* default CONFIG_STRING */
	/* At most one source besides the configuration form: */
	char *value;            /* a literal "value:": the environment-
	                           independent default */
	char *connection_name;  /* valueFrom.connectionRef: names a
	                           descriptor_connection */
	char *connection_key;   /* e.g. "ServiceURL" */
	char *group_name;       /* valueFrom.configGroupRef: a configuration */
	char *group_key;        /* group of the project and one of its keys */
};

struct descriptor_file {
	char *name;             /* [A-Za-z0-9._-]+, unique */
	char *display_name;     /* never NULL: defaults to name */
	char *mount_path;       /* absolute, no "." or ".." parts, unique */
	bool required;          /* default true */
	enum config_type type;  /* CONFIG_STRING or CONFIG_SECRET */
};

struct descriptor_probe {
	enum probe_kind kind;
	char *http_path;        /* PROBE_HTTP: starts with '/' */
	int port;               /* PROBE_HTTP, PROBE_TCP: 1..65535 */
	char **exec_argv;       /* PROBE_EXEC: exec_argc strings, NULL-terminated */
	size_t exec_argc;
	int period_seconds;        /* 1..3600, default 10 */
	int timeout_seconds;       /* 1..3600, default 1 */
	int failure_threshold;     /* 1..100, default 3 */
	int initial_delay_seconds; /* 0..3600, default 0 */
};

/* An API-proxy descriptor (Choreo's top-level proxy:). */
struct descriptor_proxy {
	enum endpoint_type type;  /* REST */
	char *schema_file_path;   /* inside the build context, like an endpoint's */
	char *doc_path;           /* inside the build context, or NULL */
	char *thumbnail_path;     /* inside the build context, or NULL */
};

struct descriptor {
	enum descriptor_format format;
	char *file;             /* path of the file read, relative to the build
	                           context (".ferry/component.yaml"); NULL for
	                           DESCRIPTOR_DEFAULT */
	char *schema_version;   /* "1.0".."1.2" as written, or NULL */

	struct descriptor_endpoint *endpoints;
	size_t n_endpoints;
	struct descriptor_connection *connections;
	size_t n_connections;
	struct descriptor_env *env;
	size_t n_env;
	struct descriptor_file *files;
	size_t n_files;
	struct descriptor_proxy *proxy; /* NULL unless an API proxy */

	/* "FILE:LINE:COL: FIELD: text" lines for the build log (unknown keys,
	 * outdated versions, mapped names, ignored sections), at most
	 * DESCRIPTOR_MAX_WARNINGS (the last one says how many were dropped). */
	char **warnings;
	size_t n_warnings;

	/* ferry's own extensions (only read from .ferry/component.yaml). */
	struct descriptor_probe readiness;
	struct descriptor_probe liveness;
	int replicas;           /* 1..20, default 1 */
	int64_t cpu_millicores; /* 0 = not given */
	int64_t memory_bytes;   /* 0 = not given */
	char *schedule;         /* as written (checked by the scheduler), or NULL */
	char *timezone;         /* IANA-looking name as written, or NULL */
	/* security: the Linux capabilities the service needs (bit i is
	 * descriptor_capabilities[i]; every other one is dropped at run time)
	 * and whether its root file system is mounted read-only. */
	uint32_t capabilities;
	bool read_only_root;
};

/* The capabilities a descriptor may declare, by their names without
 * "CAP_": podman's default set. Anything beyond it (SYS_ADMIN, NET_ADMIN,
 * NET_RAW ...) would give repository content more than a default container
 * has, and is refused. */
#define DESCRIPTOR_N_CAPABILITIES 11
extern const char *const descriptor_capabilities[DESCRIPTOR_N_CAPABILITIES];

/* The relative path (".ferry/component.yaml" ...) a format is read from,
 * or NULL for DESCRIPTOR_DEFAULT. */
const char *descriptor_format_path(enum descriptor_format f);

/* A short stable name for a format: "default", "ferry", "choreo",
 * "choreo-component-config", "choreo-endpoints". */
const char *descriptor_format_name(enum descriptor_format f);

/* A new descriptor holding the defaults (format DESCRIPTOR_DEFAULT).
 * Never NULL; free with descriptor_free(). */
struct descriptor *descriptor_new_default(void);

/* Parses buf (len bytes) as a descriptor of format fmt. file is the name
 * used in messages and stored in the result (normally
 * descriptor_format_path(fmt)). No file-system access: schemaFilePath is
 * checked only for its shape. Returns 0 and sets *ret (caller frees with
 * descriptor_free), or -1 with *ret NULL and e holding one message
 * "file:line:col: field: problem". */
int descriptor_parse(struct descriptor **ret, const char *buf, size_t len,
		     const char *file, enum descriptor_format fmt, struct ferr *e);

/* Finds the descriptor in the build context directory context_dir by the
 * priority above and parses it. Files are opened without following
 * symbolic links, must be regular files of at most DESCRIPTOR_MAX_FILE_SIZE
 * bytes, and every schemaFilePath must name a regular file inside the
 * context. Without any descriptor file, *ret is descriptor_new_default().
 * Returns 0 and sets *ret (caller frees), or -1 with e set. */
int descriptor_load(struct descriptor **ret, const char *context_dir,
		    struct ferr *e);

/* Opens relpath below context_dir for reading. relpath must be in the
 * parser's normalised form (relative, no ".", ".." or empty parts), as
 * descriptor_endpoint.schema_file_path is. Symbolic links are followed
 * only while they stay inside context_dir (openat2 RESOLVE_BENEATH); on
 * kernels without openat2() no symbolic link is followed at all. The file
 * must be a regular file. Returns an O_CLOEXEC fd, or -1 with e set (404
 * when it does not exist). For the endpoints step, which reads schema
 * files. */
int descriptor_open_in_context(const char *context_dir, const char *relpath,
			       struct ferr *e);

/* The connection named name in d, or NULL. */
const struct descriptor_connection *descriptor_connection_find(const struct descriptor *d,
							       const char *name);

/* Frees d and everything it owns. Accepts NULL. */
void descriptor_free(struct descriptor *d);

/* The descriptor as a new JSON object (caller owns the reference), with
 * snake_case keys, enums as their written names ("REST", "Public",
 * "secret", "http") and absent optional values as null. Never NULL. */
json_t *descriptor_to_json(const struct descriptor *d);

/* Reads back what descriptor_to_json produced (e.g. from the store),
 * checking every value as the parser does. Returns 0 and sets *ret, or -1
 * with e set ("stored descriptor: endpoints[0].port: ..."). */
int descriptor_from_json(struct descriptor **ret, const json_t *j, struct ferr *e);

/* Names of the enums, as written in descriptors and in the JSON form. */
const char *endpoint_type_name(enum endpoint_type t);
const char *config_type_name(enum config_type t);
const char *probe_kind_name(enum probe_kind k);
const char *connection_kind_name(enum connection_kind k);
const char *visibility_name(unsigned visibility_bit);

#endif
