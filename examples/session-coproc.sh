#!/usr/bin/env bash
# One hub connection for a whole script: join a group, send to it, wait for the
# message to come back, then start a stream, take two items and cancel it. Needs jq.
# Usage: examples/session-coproc.sh http://127.0.0.1:5000/hub
set -euo pipefail
url=${1:?usage: $0 URL}

coproc HUB { hubcli session --on ReceiveMessage "$url"; }
request() { printf '%s\n' "$1" >&"${HUB[1]}"; }
# Read records until one matches the jq condition $1; it is left in $record. (Not
# in a pipeline or $(...): bash keeps the coprocess's descriptors from subshells.)
await() {
    while read -r record <&"${HUB[0]}"; do
        if jq -e "$1" <<<"$record" >/dev/null; then return; fi
    done
    echo "the session ended before $1" >&2
    return 1
}

request '{"id":"join","invoke":"JoinGroup","args":["room1"]}'
await '.id == "join"'
request '{"id":"say","send":"SendToGroup","args":["room1","hello"]}'
await '.target == "ReceiveMessage" and .arguments[1] == "hello"'
echo "received: $record"

request '{"id":"count","stream":"Counter","args":[100,50]}'
await '.id == "count" and .item == 1'
request '{"cancel":"count"}'
await '.id == "count" and .cancelled == true'
echo "cancelled: $record"

exec {HUB[1]}>&-   # end of stdin: the session closes the connection, exit 0
wait "$HUB_PID"
