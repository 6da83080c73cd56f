#!/usr/bin/env bash
# Start the local PostgreSQL and Redis that the storage and scale-out tests use, if they are not up.
# A failure here is not fatal: the tests that need a server skip loudly when it cannot be reached.
set -u
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    if [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start \
            || echo "WARNING: could not start PostgreSQL; tests that need it will skip" >&2
    fi
fi
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        || echo "WARNING: could not start Redis; tests that need it will skip" >&2
fi
exit 0
