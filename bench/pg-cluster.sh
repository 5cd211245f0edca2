# Sourced by bench/compare.sh and bench/pg-compare.sh: a throwaway PostgreSQL cluster for the pgbench side of a
# comparison, set up the same way for both (fsync=on, synchronous_commit=on, shared_buffers 512MB, loopback only,
# its socket in the work directory). PostgreSQL refuses to run as root, so its programs run as `postgres`.
#   pg_cluster_install            installs postgresql (+ contrib, for pgbench) with apt-get when missing; sets pg_bin
#   pg_cluster_start DIR PORT     initdb in DIR/pg (DIR must exist), start on 127.0.0.1:PORT, wait until it accepts;
#                                 PG_EXTRA_OPTIONS (e.g. "-c shared_preload_libraries=pg_stat_statements") is added
#                                 to the server's options
#   pg_cluster_stop [MODE]        pg_ctl stop (fast by default; immediate from a clean-up trap), if it runs
#   pg_as_postgres CMD...         runs CMD as `postgres`
pg_cluster_dir=""

pg_cluster_install() {
  if ! command -v pgbench >/dev/null; then
    echo "installing postgresql postgresql-contrib"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql postgresql-contrib >/dev/null
  fi
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
}

pg_as_postgres() { runuser -u postgres -- "$@"; }

pg_cluster_start() {
  local dir="$1" port="$2"
  pg_cluster_dir="$dir"
  chmod 755 "$dir"
  chown postgres "$dir"
  pg_as_postgres "$pg_bin/initdb" -D "$dir/pg" -A trust -U postgres >/dev/null
  pg_as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=100 -c shared_buffers=512MB ${PG_EXTRA_OPTIONS:-}" >/dev/null
}

pg_cluster_stop() {
  local mode="${1:-fast}"
  if [ -n "$pg_cluster_dir" ] && [ -f "$pg_cluster_dir/pg/postmaster.pid" ]; then
    pg_as_postgres "$pg_bin/pg_ctl" -D "$pg_cluster_dir/pg" -m "$mode" -w stop >/dev/null 2>&1 || true
  fi
}
