// Binding helpers for the stats writer's hot statements: GRDB's per-row argument arrays cost more than the
// upsert itself. Statement handles come from GRDB's own prepared statements.
#include <sqlite3.h>

// For NOT NULL columns: an empty string arrives as NULL from Swift and is bound as "".
static inline void hush_bind_required(sqlite3_stmt *s, int i, const char *text, int length) {
    sqlite3_bind_text(s, i, text ? text : "", text ? length : 0, SQLITE_TRANSIENT);
}

// A blob bound without a copy (SQLITE_STATIC): the caller keeps the bytes alive until the statement is
// stepped and its bindings cleared. An empty blob is bound as a zero-length blob, not NULL.
static inline void hush_bind_blob(sqlite3_stmt *s, int i, const void *bytes, int length) {
    if (length > 0) sqlite3_bind_blob(s, i, bytes, length, SQLITE_STATIC); else sqlite3_bind_zeroblob(s, i, 0);
}
