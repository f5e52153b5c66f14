#!/bin/sh
# The demo task. Prints its arguments and its MESSAGE configuration, then:
#   exit N      exits with status N
#   sleep S     sleeps S seconds, says so, exits 0
#   (nothing)   sleeps $SLEEP seconds (default 0) and exits $EXIT_CODE (default 0)
echo "task args: $*"
echo "MESSAGE=${MESSAGE:-unset} execution=${FERRY_EXECUTION:-?}"
case "$1" in
exit) exit "${2:-0}" ;;
sleep) sleep "${2:-60}"; echo "slept $2"; exit 0 ;;
esac
sleep "${SLEEP:-0}"
echo "done"
exit "${EXIT_CODE:-0}"
