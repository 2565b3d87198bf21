//! Hand-written SQL for the jobs and outbox tables, which must run on SQLite and PostgreSQL.

use sea_orm::{DbBackend, Statement, Value};

/// A statement written with `?` placeholders; on PostgreSQL they become `$1`, `$2`, …
/// (The statements here never contain a literal `?`.)
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let s = stmt(
            DbBackend::Postgres,
            "a = ? AND b = ?",
            vec![1.into(), 2.into()],
        );
        assert_eq!(s.sql, "a = $1 AND b = $2");
        assert_eq!(
            stmt(DbBackend::Sqlite, "a = ?", vec![1.into()]).sql,
            "a = ?"
        );
    }
}
