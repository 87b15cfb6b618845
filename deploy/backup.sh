#!/bin/sh
# A backup of the akhbar archive: pg_dump in custom format, checked, the oldest pruned.
#
#   set -a; . /etc/akhbar.env; set +a; /opt/akhbar/deploy/backup.sh
#
# DATABASE_URL        the archive's server (the SQLAlchemy URL akhbar uses; required)
# AKHBAR_BACKUP_DIR   where dumps go (default /var/backups/akhbar)
# AKHBAR_BACKUP_KEEP  how many dumps to keep (default 14)
#
# Each dump is written under a temporary name, listed with pg_restore (a truncated or
# damaged dump fails here), and only then renamed to akhbar-YYYYMMDDTHHMMSSZ.dump (UTC), so
# a file with the final name is always a complete dump. pg_dump must be as new as the
# server (Debian: the postgresql-client package of the server's version). Restore with
# pg_restore (docs/deploy.md, "Backups").
set -eu

: "${DATABASE_URL:?set DATABASE_URL to the archive's server}"
dir=${AKHBAR_BACKUP_DIR:-/var/backups/akhbar}
keep=${AKHBAR_BACKUP_KEEP:-14}
case $keep in '' | *[!0-9]* | 0)
  echo "backup: AKHBAR_BACKUP_KEEP must be a whole number of dumps, at least 1" >&2
  exit 2
  ;;
esac
# libpq does not know SQLAlchemy's driver suffix (postgresql+psycopg://).
url=$(printf '%s' "$DATABASE_URL" | sed -e 's#^postgres[a-z]*+[a-z0-9]*://#postgresql://#')

mkdir -p "$dir"
umask 077 # a dump holds everything the archive holds
final="$dir/akhbar-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial=$(mktemp "$dir/.partial-XXXXXX")
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$final"
echo "backup: $final ($(du -h "$final" | cut -f1))"

# Names sort by time: keep the newest $keep.
ls -1 "$dir" | grep -E '^akhbar-[0-9]{8}T[0-9]{6}Z\.dump$' | sort | head -n "-$keep" |
  while read -r old; do
    rm -f -- "$dir/$old"
    echo "backup: removed $dir/$old"
  done
