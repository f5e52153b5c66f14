"""Checks real answers against ferryd's own OpenAPI description
(/api/v1/openapi.json), with jsonschema. OpenAPI 3.0's "nullable" becomes a
JSON Schema type list; $refs resolve inside the document."""

import copy
import re

import jsonschema


def _nullable(node):
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


class Description:
    def __init__(self, doc):
        self.doc = _nullable(copy.deepcopy(doc))
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)

    def operation(self, method, path):
        """The operation whose path template matches the concrete path."""
        for template, ops in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(rx, path) and method.lower() in ops:
                return ops[method.lower()]
        raise AssertionError("%s %s is not in the OpenAPI description" % (method, path))

    def check(self, response, method, path):
        """Asserts the response's status is documented (or the default error)
        and its JSON body conforms to the schema given for it."""
        op = self.operation(method, path)
        code = str(response.status_code)
        spec = op["responses"].get(code) or op["responses"].get(code[0] + "XX") \
            or op["responses"].get("default")
        assert spec, "%s %s answered %s, which its description lacks" % (method, path, code)
        schema = spec["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), schema, resolver=self.resolver)
        return response
