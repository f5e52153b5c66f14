/* yamlout: JSON → YAML through libyaml's event emitter. */
#include "yamlout.h"

#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "lib/banned.h"

static int write_cb(void *data, unsigned char *buf, size_t size)
{
	strbuf_add(data, buf, size);
	return 1;
}

/* 1 if s would read back as a string when written plain. */
static int plain_safe(const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no", "on", "off", "null",
					       "~", "y", "n", NULL };
	char *end;

	if (!*s)
		return 0;
	for (const char *const *p = special; *p; p++)
		if (!strcasecmp(s, *p))
			return 0;
	strtod(s, &end);
	if (*end == '\0')
		return 0; /* a number (also "0400", "1e3", "0x1f") */
	return 1;
}

static int emit(yaml_emitter_t *em, const json_t *v);

static int emit_scalar(yaml_emitter_t *em, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit(yaml_emitter_t *em, const json_t *v)
{
	yaml_event_t ev;
	char b[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach((json_t *)v, k, x) {
			if (emit_scalar(em, k, plain_safe(k) ? YAML_ANY_SCALAR_STYLE
							      : YAML_SINGLE_QUOTED_SCALAR_STYLE) < 0 ||
			    emit(em, x) < 0)
				return -1;
		}
		return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(v, i, x)
			if (emit(em, x) < 0)
				return -1;
		return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_STRING: {
		const char *s = json_string_value(v);
		return emit_scalar(em, s, plain_safe(s) ? YAML_ANY_SCALAR_STYLE
							: YAML_SINGLE_QUOTED_SCALAR_STYLE);
	}
	case JSON_INTEGER:
		snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, b, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(b, sizeof(b), "%.17g", json_real_value(v));
		return emit_scalar(em, b, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(em, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(em, "false", YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

int yaml_out_documents(struct strbuf *out, const json_t *docs, struct ferr *e)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	size_t i;
	json_t *d;
	int rc = -1;

	if (!json_is_array(docs))
		return ferr_invalid(e, "YAML documents: expected an array");
	if (!yaml_emitter_initialize(&em))
		return ferr_internal(e, "YAML emitter: out of memory");
	yaml_emitter_set_output(&em, write_cb, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em, &ev))
		goto out;
	json_array_foreach(docs, i, d) {
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0) ||
		    !yaml_emitter_emit(&em, &ev) || emit(&em, d) < 0 ||
		    !yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em, &ev))
			goto out;
	}
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em, &ev) ||
	    !yaml_emitter_flush(&em))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		ferr_internal(e, "YAML emitter: %s", em.problem ? em.problem : "failed");
	yaml_emitter_delete(&em);
	return rc;
}
