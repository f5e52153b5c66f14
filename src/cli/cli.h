/* The ferry command: shared pieces of the subcommands. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

/* Options of a command. A NULL-name entry ends a list. */
struct opt {
	const char *name;    /* without the leading "--" */
	int has_value;       /* 1: --name VALUE or --name=VALUE; 0: a switch */
	const char *value;   /* set by args_parse (switches: "1") */
};

#define CLI_MAX_POS 8

struct args {
	const char *pos[CLI_MAX_POS];
	int npos;
	char **rest;         /* words after "--" */
	int nrest;
};

/* Settings every command shares. */
struct cli {
	const char *server;
	const char *token;
	const char *ca_file;
	int json;
};

extern struct cli cli;

/* Parses argv (the words after the command's own words) against opts and
 * the global options. Returns 0, or -1 with e naming the bad word. */
int args_parse(int argc, char **argv, struct opt *opts, struct args *a, struct ferr *e);
/* The value of option name in opts, or NULL. */
const char *opt_get(struct opt *opts, const char *name);

/* "a,b,c" as a JSON array of strings (empty parts kept: the server names
 * them). New reference. */
json_t *args_split_commas(const char *list);

/* A mistake in the command line itself (exit status 2). */
#define usage_error(e, ...) ferr_set((e), 400, "usage", __VA_ARGS__)

/* Resolves server and token: flags, then FERRY_SERVER / FERRY_TOKEN, then the
 * saved login. */
int cli_resolve(struct ferr *e);

/* Calls the API. body may be NULL. On a 2xx answer returns 0 and *ret holds
 * the parsed body (new reference; may be NULL for an empty body). On an
 * error answer returns -1 with e holding the server's message and status. */
int api_call(const char *method, const char *path, json_t *body, json_t **ret, struct ferr *e);
/* api_call, then print_result of the answer with human; takes body (may be
 * NULL) over. Returns 0 or -1 with e set. */
int api_call_print(const char *method, const char *path, json_t *body, void (*human)(json_t *),
		   struct ferr *e);

/* Streams a GET: calls line() for each line of the body as it arrives.
 * Returns 0 at the end of the stream, or -1 with e set. */
int api_stream(const char *path, int (*line)(const char *text, size_t len, void *arg), void *arg,
	       struct ferr *e);

/* Calls the API and writes a 2xx answer's body to fd as it arrives (a
 * download: any type, any size), its byte count into *ret_bytes. Returns 0,
 * or -1 with e set (the server's message on an error answer). */
int api_download(const char *method, const char *path, json_t *body, int fd, long long *ret_bytes,
		 struct ferr *e);
/* Percent-encodes s for a URL path segment or query value into out. */
const char *url_escape(const char *s, char *out, size_t size);

/* The API path of component pc ("P/C") followed by suffix (which may
 * carry a query): /api/v1/projects/P/components/C<suffix>. */
int component_api_path(const char *pc, const char *suffix, char *out, size_t size, struct ferr *e);

/* "ferry X P/C [--limit N]": GETs the component's resource (with ?limit=
 * when given; max_limit 0: the command has no --limit) and prints it with
 * human, or as JSON. */
int cli_component_get(int argc, char **argv, const char *resource, int max_limit,
		      void (*human)(json_t *), struct ferr *e);

/* Follows an NDJSON stream (GET path): calls line(obj, arg) for each line
 * object, skips heartbeats (empty lines), and keeps the final object, the
 * one with "status", in *ret_end (new reference). Returns 0, or -1 with e
 * set (also when the stream ends without a final object). */
int api_follow_lines(const char *path, void (*line)(json_t *obj, void *arg), void *arg,
		     json_t **ret_end, struct ferr *e);

/* Splits "P/C" into project and component (into the caller's buffers). */
int split_pc(const char *s, char project[64], char component[64], struct ferr *e);

/* Output. */
struct column {
	const char *header;
	const char *key;     /* member of each row object; nested "a.b" allowed */
};
/* Prints rows (an array of objects) as an aligned table. */
void print_table(json_t *rows, const struct column *cols);
/* Prints j as JSON on stdout (pretty, one document). */
void print_json(json_t *j);
/* Prints a value of a row for people: strings as is, null as "-", bools as yes/no. */
void value_text(json_t *v, char *out, size_t size);
/* With --json prints j; otherwise calls human(j). */
void print_result(json_t *j, void (*human)(json_t *));

/* Reading values that may be secret (input.c). */
#include "lib/strbuf.h"
/* Reads all of fd into sb, at most max bytes (413 beyond); what names the
 * source in messages. sb grows once to max so no copy is left behind. */
int input_read_fd(int fd, const char *what, size_t max, struct strbuf *sb, struct ferr *e);
/* Reads the file at path the same way. */
int input_read_file(const char *path, size_t max, struct strbuf *sb, struct ferr *e);
/* Reads the file at path (at most max bytes, no NUL) into the JSON string
 * member of body; trim drops trailing newlines (a file written by echo). */
int input_file_member(json_t *body, const char *member, const char *path, size_t max, int trim,
		      struct ferr *e);
/* Wipes and releases sb. */
void input_wipe(struct strbuf *sb);
/* One KEY=VALUE word into {"key", "value" | "value_base64"}: VALUE taken
 * literally, except "@FILE" (the file's bytes), "-" (standard input, at
 * most once: *stdin_used counts) and "@@..." (a literal starting with
 * "@"). Returns 0 with *ret, or -1 with e set. */
int cli_pair_json(const char *word, int *stdin_used, json_t **ret, struct ferr *e);
/* Wipes the "value"/"value_base64" strings of an array of such objects. */
void cli_wipe_values(json_t *values);

/* Config file path ($XDG_CONFIG_HOME/ferry/config.json or ~/.config/...). */
int config_path(char *out, size_t size, struct ferr *e);

#endif
