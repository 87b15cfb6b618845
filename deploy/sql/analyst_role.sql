-- A read-only analyst role for the akhbar archive (psql script; safe to run again).
--
--   psql "postgresql://akhbar@127.0.0.1/akhbar" -v login=alice -f deploy/sql/analyst_role.sql
--   psql "postgresql://akhbar@127.0.0.1/akhbar" -c '\password alice'
--
-- Run it in the archive's database as the role that owns the tables (the one akhbar
-- migrates with), or as a superuser with -v owner=THAT_ROLE: the default privileges below
-- are for tables that role creates later (new migrations). Creating roles needs CREATEROLE.
--
-- psql variables (-v NAME=VALUE), all optional:
--   analyst            the NOLOGIN group role holding the privileges (default akhbar_analyst)
--   login              a login role to create as a member of it (default: none)
--   password           that login's password (better: \password afterwards, as above)
--   owner              the role whose future tables the analyst may read (default: you)
--   schema             the archive's schema (default public)
--   statement_timeout  for the login role (default 5min)
--
-- What the analyst gets: SELECT on every table and view in the schema, now and in future
-- (ALTER DEFAULT PRIVILEGES), and nothing else: no INSERT, UPDATE, DELETE, TRUNCATE or CREATE
-- in the schema. The login role's sessions are read-only by default and stop statements
-- that run longer than the timeout (set on the login role: PostgreSQL applies a role's
-- settings only to the role that logs in, never through a group). Temporary tables stay
-- allowed (PostgreSQL grants TEMPORARY to everyone): analysts use them, the archive does not
-- see them. A database made before PostgreSQL 15 lets every role create tables in public;
-- there, check `\dn+ public` and consider REVOKE CREATE ON SCHEMA public FROM PUBLIC (only
-- if the akhbar role owns the schema or holds CREATE on it itself: it migrates there).
--
-- Revoke everything and drop the roles (in this database, then the roles, cluster-wide):
--   DROP OWNED BY alice, akhbar_analyst; DROP ROLE alice, akhbar_analyst;

\set ON_ERROR_STOP on
\if :{?analyst}
\else
  \set analyst akhbar_analyst
\endif
\if :{?schema}
\else
  \set schema public
\endif
\if :{?statement_timeout}
\else
  \set statement_timeout 5min
\endif
\if :{?owner}
\else
  SELECT current_user AS owner \gset
\endif

BEGIN;

SELECT format('CREATE ROLE %I NOLOGIN', :'analyst')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'analyst') \gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'analyst') \gexec
GRANT USAGE ON SCHEMA :"schema" TO :"analyst";
-- "TABLES" covers views and materialized views too.
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"analyst";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT SELECT ON TABLES TO :"analyst";

\if :{?login}
  SELECT format('CREATE ROLE %I LOGIN', :'login')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'login') \gexec
  GRANT :"analyst" TO :"login";
  ALTER ROLE :"login" SET default_transaction_read_only = on;
  ALTER ROLE :"login" SET statement_timeout = :'statement_timeout';
  \if :{?password}
    ALTER ROLE :"login" PASSWORD :'password';
  \endif
\endif

COMMIT;
