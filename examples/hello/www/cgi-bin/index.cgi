#!/bin/sh
# GREETING and COLOR come from ferry's configuration, injected at run time.
printf 'Content-Type: text/plain\r\n\r\n'
printf '%s from %s\n' "${GREETING:-hello}" "${FERRY_ENVIRONMENT:-somewhere}"
