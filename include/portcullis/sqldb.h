/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening the SQLite databases that every user's proxy shares through the
 * group portcullis (session index, approval store): file checks, WAL,
 * hardening, and a versioned schema. One module for both, so that their
 * files are checked and opened alike. */
#ifndef PCL_SQLDB_H
#define PCL_SQLDB_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

/*
 * Opens the database at path read-write, creating it 0660 when missing (the
 * caller sets umask 007 around the call, so that -wal and -shm stay open to
 * the group); refuses a symlink, a non-regular file, a file open to others
 * or one SQLite may not write. Then: busy timeout busy_ms (milliseconds),
 * SQLITE_DBCONFIG_DEFENSIVE on, trusted schema off, journal_mode WAL (a
 * file system without shared memory is refused), synchronous FULL when
 * durable (every commit survives a power loss) else NORMAL, temp_store
 * MEMORY. Returns 0 with *out owned by the caller
 * (sqlite3_close), PCL_ERR_IO (why filled, whylen bytes) or PCL_ERR_NOMEM.
 */
int pcl_sqldb_open(const char *path, unsigned busy_ms, bool durable,
                   sqlite3 **out, char *why, size_t whylen);

/*
 * In one IMMEDIATE transaction: creates the table meta (key, value) when
 * missing, refuses a schema_version newer than version (or not a positive
 * integer), runs schema_sql (CREATE ... IF NOT EXISTS statements) and
 * records version when the database is new. Returns 0 or PCL_ERR_IO (why
 * filled).
 */
int pcl_sqldb_schema(sqlite3 *db, const char *path, const char *schema_sql,
                     int version, char *why, size_t whylen);

/* Runs constant SQL (no parameters, nothing read back). Returns 0 or
 * PCL_ERR_IO with SQLite's message in why. */
int pcl_sqldb_exec(sqlite3 *db, const char *sql, const char *path,
                   const char *what, char *why, size_t whylen);

/* Fills why with "path: what: " and SQLite's error on db, and errno when
 * the failure was the system's. */
void pcl_sqldb_why(sqlite3 *db, const char *path, const char *what,
                   char *why, size_t whylen);

#endif /* PCL_SQLDB_H */
