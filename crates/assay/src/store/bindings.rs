//! Statement bindings kept across a run of executions of one statement.

use crate::error::Result;

/// What each parameter of a statement is bound to now, so that a run of rows binds only the
/// values that changed: SQLite keeps a statement's bindings across executions, and row after row
/// about 15 of a span's 36 columns are NULL and many others repeat (the trace's id and
/// attribution, the span's kind and status, the import). Binding a text costs SQLite a free, an
/// allocation and a copy; binding costs an import's writer more than a tenth of its time.
#[derive(Default)]
pub(crate) struct KeptBindings {
    /// By parameter index - 1; parameters past the end are NULL, as in a statement fresh from
    /// the cache (rusqlite clears the bindings when it takes a statement back).
    kept: Vec<Kept>,
}

/// A value a row binds, borrowed from what the row is written from. The writer builds each
/// row's parameters as these, so that comparing and binding one is a `match`, not a call
/// through `dyn ToSql` (about 44 a span).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Param<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::Null, Param::Text)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().into()
    }
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Integer(v)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Param::Null, Param::Integer)
    }
}

impl From<Option<f64>> for Param<'_> {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Param::Null, Param::Real)
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Integer(i64::from(v))
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef;
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Integer(v) => ValueRef::Integer(v),
            Param::Real(v) => ValueRef::Real(v),
            Param::Text(v) => ValueRef::Text(v.as_bytes()),
        }))
    }
}

/// One parameter's binding, as [`KeptBindings`] knows it.
#[derive(Default)]
enum Kept {
    #[default]
    Null,
    Integer(i64),
    Real(u64),
    /// Short texts only: a long one (a message) rarely repeats and would cost a copy to keep.
    Text(Vec<u8>),
    /// Bound to something not kept here: bound again next time.
    Other,
}

/// The longest text [`KeptBindings`] keeps to compare with the next row's.
const KEPT_TEXT: usize = 96;

/// Whether two short texts are equal, compared eight bytes at a time in line: a writer compares
/// about twenty texts a row, and a call to the C library's `memcmp` for each cost an import of a
/// million spans about 0.3 s.
#[inline]
fn same_text(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().unwrap_or_default());
    if (&mut a8).zip(&mut b8).any(|(x, y)| word(x) != word(y)) {
        return false;
    }
    let rest = a8.remainder().iter().zip(b8.remainder());
    rest.fold(0u8, |differ, (x, y)| differ | (x ^ y)) == 0
}

impl KeptBindings {
    /// Binds the `values` that differ from the statement's current bindings and executes
    /// `stmt`; returns the rows changed.
    pub(crate) fn execute(
        &mut self,
        stmt: &mut rusqlite::CachedStatement<'_>,
        values: &[Param<'_>],
    ) -> Result<usize> {
        if self.kept.len() < values.len() {
            self.kept.resize_with(values.len(), Kept::default);
        }
        for (i, (value, kept)) in values.iter().zip(&mut self.kept).enumerate() {
            let same = match (*value, &*kept) {
                (Param::Null, Kept::Null) => true,
                (Param::Integer(v), Kept::Integer(k)) => v == *k,
                (Param::Real(v), Kept::Real(k)) => v.to_bits() == *k,
                (Param::Text(v), Kept::Text(k)) => same_text(v.as_bytes(), k),
                _ => false,
            };
            if same {
                continue;
            }
            // Marked first: should the binding fail, the statement's value is not known. A kept
            // text's buffer is reused.
            let mut buffer = match std::mem::replace(kept, Kept::Other) {
                Kept::Text(buffer) => buffer,
                _ => Vec::new(),
            };
            stmt.raw_bind_parameter(i + 1, value)?;
            *kept = match *value {
                Param::Null => Kept::Null,
                Param::Integer(v) => Kept::Integer(v),
                Param::Real(v) => Kept::Real(v.to_bits()),
                Param::Text(v) if v.len() <= KEPT_TEXT => {
                    buffer.clear();
                    buffer.extend_from_slice(v.as_bytes());
                    Kept::Text(buffer)
                }
                Param::Text(_) => Kept::Other,
            };
        }
        Ok(stmt.raw_execute()?)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{params, Connection};

    use super::*;

    /// Texts compare as equal exactly when they are, whatever their length and wherever they
    /// differ (in a word of eight bytes or in the bytes after the last).
    #[test]
    fn texts_compare_equal_only_when_they_are() {
        for len in 0..=40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_text(&a, &a.clone()), "{len} bytes");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_text(&a, &b), "{len} bytes, differing at {at}");
            }
            let mut longer = a.clone();
            longer.push(b'z');
            assert!(!same_text(&a, &longer), "{len} bytes and one more");
        }
    }

    /// Rows written through kept bindings are the rows given, whatever each value was before
    /// (NULL, the same, another of its type, another type, a text too long to keep).
    #[test]
    fn every_row_reads_back_as_given() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, a, b, c)")
            .unwrap();
        let long = "x".repeat(KEPT_TEXT + 1);
        let longer = "y".repeat(KEPT_TEXT + 1);
        let (text, real) = (Param::Text, Param::Real);
        let rows: Vec<[Param; 3]> = vec![
            [Param::Null, Param::Null, Param::Null],
            [text("same"), Param::Integer(1), text(&long)],
            [text("same"), Param::Integer(1), text(&long)],
            [text("other"), real(1.0), text(&longer)],
            [Param::Integer(1), text("1"), text(&longer)],
            [Param::Null, real(-0.5), Param::Null],
            [text("same"), real(0.0), text("")],
        ];
        let mut kept = KeptBindings::default();
        let mut stmt = conn
            .prepare_cached("INSERT INTO t VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for (n, row) in rows.iter().enumerate() {
            let n = n as i64;
            let values: Vec<Param> = std::iter::once(Param::Integer(n))
                .chain(row.iter().copied())
                .collect();
            assert_eq!(kept.execute(&mut stmt, &values).unwrap(), 1);
        }
        let mut read = conn
            .prepare("SELECT quote(a), quote(b), quote(c) FROM t ORDER BY n")
            .unwrap();
        let got: Vec<(String, String, String)> = read
            .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let (long, longer) = (format!("'{long}'"), format!("'{longer}'"));
        let want = [
            ("NULL", "NULL", "NULL"),
            ("'same'", "1", long.as_str()),
            ("'same'", "1", long.as_str()),
            ("'other'", "1.0", longer.as_str()),
            ("1", "'1'", longer.as_str()),
            ("NULL", "-0.5", "NULL"),
            ("'same'", "0.0", "''"),
        ];
        let got: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        assert_eq!(got, want);
    }
}
