#!/bin/sh
# Joins redis-1..redis-6 into a cluster of 3 masters, each with one replica. Idempotent:
# a node that already reports cluster_state:ok means the cluster exists.
set -eu
if redis-cli -h redis-1 cluster info | grep -q '^cluster_state:ok'; then
  echo "redis cluster already formed"
  exit 0
fi
nodes=""
for i in 1 2 3 4 5 6; do
  ip=$(getent hosts "redis-$i" | awk '{ print $1 }')
  nodes="$nodes $ip:6379"
done
# shellcheck disable=SC2086
redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes
until redis-cli -h redis-1 cluster info | grep -q '^cluster_state:ok'; do sleep 1; done
echo "redis cluster formed"
