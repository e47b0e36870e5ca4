// The one hot statement of the stats writer, bound and stepped in C: GRDB's per-row argument arrays cost
// more than the insert itself. The statement handle comes from GRDB's own prepared statement.
#include <sqlite3.h>

static inline void hush_bind_text(sqlite3_stmt *s, int i, const char *text, int length) {
    if (text) sqlite3_bind_text(s, i, text, length, SQLITE_TRANSIENT); else sqlite3_bind_null(s, i);
}

// For NOT NULL columns: an empty string arrives as NULL from Swift and is bound as "".
static inline void hush_bind_required(sqlite3_stmt *s, int i, const char *text, int length) {
    sqlite3_bind_text(s, i, text ? text : "", text ? length : 0, SQLITE_TRANSIENT);
}

// Inserts one raw attempt. Returns SQLITE_DONE on success.
static inline int hush_insert_attempt(sqlite3_stmt *s, double time, sqlite3_int64 device,
                                      const char *client, int client_length, const char *name, int name_length,
                                      int type, const char *disposition, int disposition_length,
                                      const char *cname, int cname_length, sqlite3_int64 rule_id) {
    sqlite3_reset(s);
    sqlite3_bind_double(s, 1, time);
    sqlite3_bind_int64(s, 2, device);
    hush_bind_required(s, 3, client, client_length);
    hush_bind_required(s, 4, name, name_length);
    sqlite3_bind_int(s, 5, type);
    hush_bind_required(s, 6, disposition, disposition_length);
    hush_bind_text(s, 7, cname, cname_length);
    if (rule_id > 0) sqlite3_bind_int64(s, 8, rule_id); else sqlite3_bind_null(s, 8);
    return sqlite3_step(s);
}
