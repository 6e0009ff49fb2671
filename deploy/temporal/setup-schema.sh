#!/bin/sh
# Temporal's two PostgreSQL databases, created when missing and migrated to this server version's
# schema with Temporal's own SQL tool (temporal-sql-tool, built with the server). Safe to run on
# every start: a database at the current version is left as it is. Run by `npm run cluster`
# (deploy/cluster/) and by docker-compose.yml's temporal-schema service.
#   POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PWD (required), TEMPORAL_SQL_TOOL
set -eu
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
# The tool reads its connection from the environment: the password never appears in `ps`.
export SQL_PLUGIN=postgres12
export SQL_HOST="${POSTGRES_HOST:-127.0.0.1}" SQL_PORT="${POSTGRES_PORT:-5432}" SQL_USER="${POSTGRES_USER:-temporal}"
export SQL_PASSWORD="${POSTGRES_PWD:?POSTGRES_PWD is required}"

for pair in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  database=${pair%%:*}
  schema=postgresql/v12/${pair#*:}
  export SQL_DATABASE="$database"
  if ! output=$("$tool" create-database --defaultdb postgres 2>&1); then
    case $output in
      *"already exists"*) ;;
      *) echo "$output" >&2; exit 1 ;;
    esac
  fi
  "$tool" setup-schema -v 0.0
  "$tool" update-schema --schema-name "$schema"
  echo "schema: $database at the latest $schema version"
done
