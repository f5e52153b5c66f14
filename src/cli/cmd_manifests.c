/* ferry manifests P/C --env ENV: the Kubernetes objects of the deployment
 * there, as YAML (or the API's JSON with --json). */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "lib/strbuf.h"
#include "lib/yamlout.h"
#include "lib/banned.h"

int cmd_manifests(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[512], suffix[160], esc[140];
	struct strbuf out = STRBUF_INIT;
	struct args a;
	json_t *ret;
	int rc = -1;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (!opt_get(opts, "env"))
		return usage_error(e, "say which environment: --env ENV");
	snprintf(suffix, sizeof(suffix), "/manifests?env=%s",
		 url_escape(opt_get(opts, "env"), esc, sizeof(esc)));
	if (component_api_path(a.pos[0], suffix, path, sizeof(path), e) < 0 || cli_resolve(e) < 0 ||
	    api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	if (cli.json) {
		print_json(ret);
		rc = 0;
	} else if (yaml_out_documents(&out, json_object_get(ret, "objects"), e) == 0) {
		printf("# deployment %lld (%s) in namespace %s\n",
		       (long long)json_integer_value(json_object_get(ret, "deployment")),
		       json_string_value(json_object_get(ret, "status")),
		       json_string_value(json_object_get(ret, "namespace")));
		fwrite(out.buf, 1, out.len, stdout);
		rc = 0;
	}
	strbuf_release(&out);
	json_decref(ret);
	return rc;
}
