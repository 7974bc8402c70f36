#!/bin/sh
# Usage: watchdog.sh <grace-seconds> <dir-to-remove-or-"-"> <command> [args...]
#
# Runs <command> as a child and ties its lifetime to the process that started this script:
# standard input must be a pipe from that process. When the pipe reaches end of file (the
# parent closed it, exited, or was killed in any way, SIGKILL included) or this script gets
# TERM, INT or HUP, the child gets TERM, then KILL if it is still alive after
# <grace-seconds>. When the child was stopped that way, <dir-to-remove> (its data directory)
# is deleted once it is gone; a child that exits on its own leaves the directory, and its
# logs, to whoever reads them. Exits with the child's status.
set -u
grace=$1
cleanup_dir=$2
shift 2

"$@" </dev/null &
child=$!

stop_child() {
  kill -TERM "$child" 2>/dev/null
  ticks=0
  while kill -0 "$child" 2>/dev/null; do
    ticks=$((ticks + 1))
    if [ "$ticks" -gt $((grace * 10)) ]; then
      kill -KILL "$child" 2>/dev/null
      break
    fi
    sleep 0.1
  done
}

stop_flag=""
if [ "$cleanup_dir" != "-" ]; then
  stop_flag="$cleanup_dir/.stop-requested"
fi
request_stop() {
  if [ -n "$stop_flag" ]; then
    : >"$stop_flag"
  fi
  stop_child
}

# `read` is a builtin: this watcher is one shell process, ended together with its subshell.
exec 3<&0
( while IFS= read -r _line; do :; done <&3; request_stop ) &
watcher=$!
exec 3<&-

# The stop runs beside `wait`, never inside the trap: only `wait` reaps the child.
stopper=""
trap '( request_stop ) & stopper=$!' TERM INT HUP

wait "$child"
status=$?
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done

kill "$watcher" $stopper 2>/dev/null
if [ -n "$stop_flag" ] && [ -e "$stop_flag" ]; then
  rm -rf "$cleanup_dir"
fi
exit "$status"
