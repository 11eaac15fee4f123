//! pgtide's own nullability: for every result column of a query, whether it can be NULL and
//! the rule that says so, decided from the SQL and the catalog only (never from a plan or
//! statistics), so the same schema always gives the same answer. When the analysis cannot
//! prove a column non-null, it is nullable; a query it cannot read at all comes out all
//! nullable, never as an error.
//!
//! ```
//! use pgtide_codegen::nullability::{Catalog, analyze};
//!
//! // An empty catalog knows no tables, but literals and aggregates need none.
//! let sql = "SELECT 1 AS one, count(*) AS n, max(2) AS m";
//! let columns = analyze(sql, &[], &Catalog::default(), 3);
//! let nullable: Vec<bool> = columns.iter().map(|c| c.nullable).collect();
//! assert_eq!(nullable, [false, false, true]);
//! assert_eq!(columns[2].rule.text, "max() is NULL over no rows");
//! ```
//!
//! The stages: [`catalog`] reads what the analysis needs at `prepare` time; [`analyze`]
//! (the `analyze` and `expr` modules) decides; [`store`] keeps the decisions beside the
//! `.sqlx` files; [`explain`] prints them with the rule and `file:line` of each.

pub mod catalog;
pub mod explain;
pub mod store;

mod analyze;
mod expr;

pub use analyze::{EmbedPlacement, analyze, analyze_with_embeds};
pub use catalog::Catalog;

use serde::{Deserialize, Serialize};

/// Why a column is (or is not) nullable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// What decided it, e.g. `right side of LEFT JOIN`.
    pub text: String,
    /// The line of the query's SQL (1-based) the rule points at, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Rule {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            line: None,
        }
    }

    pub(crate) fn at(text: impl Into<String>, line: Option<usize>) -> Self {
        Self {
            text: text.into(),
            line,
        }
    }
}

/// pgtide's decision for one value: nullable or not, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the value can be NULL.
    pub nullable: bool,
    /// The rule that decided it.
    pub rule: Rule,
}

impl Decision {
    pub(crate) fn non_null(rule: Rule) -> Self {
        Self {
            nullable: false,
            rule,
        }
    }

    pub(crate) fn nullable(rule: Rule) -> Self {
        Self {
            nullable: true,
            rule,
        }
    }
}
