//! The one statement helper for the hand-written SQL, which must run on SQLite and PostgreSQL
//! alike, with the small pieces of SQL text the statements share.

use sea_orm::{DbBackend, DbErr, QueryResult, Statement, TryGetable, Value};

/// A statement written with `?` placeholders; on PostgreSQL they become `$1`, `$2`, …
/// (The statements here never contain a literal `?`.)
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => numbered(sql),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `(?, ?, ?), (?, ?, ?)` for a multi-row `VALUES`.
pub(crate) fn rows_of(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(", "));
    vec![one; rows].join(", ")
}

/// `?, ?, ?` for an `IN (…)` list.
pub(crate) fn list_of(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The two-argument maximum: `MAX(a, b)` on SQLite, `GREATEST(a, b)` on PostgreSQL.
/// Callers wrap nullable arguments in `COALESCE` (SQLite's `MAX` is NULL if either is).
pub(crate) fn greatest(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "GREATEST",
        _ => "MAX",
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Keeps multi-row statements under SQLite's bound-parameter limit and PostgreSQL's 65 535.
pub(crate) const MAX_PARAMS: usize = 30_000;

/// Column `index` of a result row.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, index: usize) -> Result<T, DbErr> {
    row.try_get_by_index(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let s = stmt(
            DbBackend::Postgres,
            "a = ? AND b IN (?, ?)",
            vec![1.into(), 2.into(), 3.into()],
        );
        assert_eq!(s.sql, "a = $1 AND b IN ($2, $3)");
        let s = stmt(DbBackend::Sqlite, "a = ?", vec![1.into()]);
        assert_eq!(s.sql, "a = ?");
        assert_eq!(rows_of(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(list_of(3), "?, ?, ?");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("my_img%\\x"), "my\\_img\\%\\\\x");
    }
}

/// What a transaction can be made the only one deciding, on PostgreSQL, where READ COMMITTED
/// lets two transactions that check and then write each miss the other's write. (SQLite runs
/// one writer at a time, so it needs nothing.)
#[derive(Debug, Clone, Copy)]
pub(crate) enum Decides<'a> {
    /// One person's bookings: the per-person GPU limit counts their other bookings.
    PersonBookings(i64),
    /// Publish requests for one catalogue name: the first to ask owns it.
    CatalogName(&'a str),
}

impl Decides<'_> {
    /// The two keys of the transaction-level advisory lock: a kind no other lock uses, and
    /// the thing (distinct things may share a key; they then merely wait for each other).
    fn keys(self) -> (i32, i32) {
        match self {
            Decides::PersonBookings(user_id) => (0x4d42_4b31, (user_id % (1 << 31)) as i32),
            Decides::CatalogName(name) => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(name.as_bytes());
                (
                    0x4d43_4e31,
                    i32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]),
                )
            }
        }
    }

    /// The PostgreSQL statement that takes the lock; it holds until the transaction ends. A
    /// statement of its own (and with no rows, so it can lead a batch), so what follows in the
    /// transaction reads once the lock is held.
    pub(crate) fn lock_statement(self) -> String {
        let (kind, key) = self.keys();
        format!("DO $$ BEGIN PERFORM pg_advisory_xact_lock({kind}, {key}); END $$")
    }

    /// Takes the lock inside `txn` on PostgreSQL; nothing on SQLite.
    pub(crate) async fn lock_in(self, txn: &sea_orm::DatabaseTransaction) -> Result<(), DbErr> {
        use sea_orm::ConnectionTrait;
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_unprepared(&self.lock_statement()).await?;
        }
        Ok(())
    }
}
