#!/bin/sh
# Raises the descriptor limit to the hard limit (10,000 connections need one descriptor each here and in the
# server), then runs the load script. Usage: bench/load/load.sh [run.js options]
ulimit -n "$(ulimit -Hn)" || exit 1
exec node "$(dirname "$0")/run.js" "$@"
