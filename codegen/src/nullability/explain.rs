//! `pgtide prepare --explain`: per query and column, the decision and the rule that made
//! it, pointing at `file:line`.

use std::fmt;

use super::Decision;

/// The decisions of every query, ready to print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explain {
    /// Queries in file order.
    pub queries: Vec<ExplainedQuery>,
}

/// One query's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedQuery {
    /// `file:line` of the query's annotation.
    pub location: String,
    /// The query's name.
    pub name: String,
    /// Its result columns.
    pub columns: Vec<ExplainedColumn>,
}

/// One result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedColumn {
    /// The column's name.
    pub name: String,
    /// The decision.
    pub decision: Decision,
    /// `file:line` the rule points at, if it points anywhere.
    pub at: Option<String>,
}

impl fmt::Display for ExplainedColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.decision.nullable {
            "nullable"
        } else {
            "non-null"
        };
        write!(f, "{}: {what} — {}", self.name, self.decision.rule.text)?;
        if let Some(at) = &self.at {
            write!(f, " at {at}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for q in &self.queries {
            writeln!(f, "{} {}", q.location, q.name)?;
            if q.columns.is_empty() {
                writeln!(f, "  (no result columns)")?;
            }
            for c in &q.columns {
                writeln!(f, "  {c}")?;
            }
        }
        Ok(())
    }
}
