"""The gallery database: schema, connection, migrations, people and samples, the access log, the admin PIN and audit, the log writer and its spool."""
