//! Expressions: whether a value can be NULL, from its form and its inputs.
//!
//! Strictness alone proves nothing (a strict function such as `regexp_match` or
//! `array_length` still returns NULL for some non-null input), so a call is non-null over
//! non-null arguments only for the built-ins listed here, each checked in the catalog to be
//! strict and to have no overload outside `pg_catalog`, so a user's function of the same
//! name is not mistaken for it.

use sqlparser::ast::{
    BinaryOperator as Op, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    InTarget, Spanned, Value,
};

use super::analyze::{Analyzer, Scope, column_parts, object_parts};
use super::{Decision, Rule};

/// Never NULL, whatever the arguments.
const NEVER_NULL: &[&str] = &[
    "count",
    "concat",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "gen_random_uuid",
    "random",
    "pi",
    "version",
    "current_user",
    "session_user",
    "current_database",
    "current_schema",
];

/// Window functions that are never NULL.
const WINDOW_NEVER_NULL: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "count",
];

/// Aggregates: NULL over no rows (or over only NULLs).
const AGGREGATES: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "bit_and",
    "bit_or",
    "bit_xor",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "xmlagg",
    "corr",
    "covar_pop",
    "covar_samp",
    "range_agg",
];

/// Built-ins that return non-null for non-null arguments.
const NON_NULL_OVER_NON_NULL: &[&str] = &[
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "abs",
    "round",
    "trunc",
    "ceil",
    "ceiling",
    "floor",
    "sign",
    "sqrt",
    "power",
    "mod",
    "md5",
    "sha256",
    "replace",
    "left",
    "right",
    "lpad",
    "rpad",
    "ltrim",
    "rtrim",
    "btrim",
    "initcap",
    "reverse",
    "repeat",
    "substr",
    "strpos",
    "split_part",
    "translate",
    "starts_with",
    "to_char",
    "date_trunc",
    "date_part",
    "age",
    "cardinality",
    "array_to_string",
    "string_to_array",
    "quote_ident",
    "quote_literal",
    "encode",
    "to_json",
    "to_jsonb",
    "row_to_json",
    "to_timestamp",
    "make_date",
    "make_interval",
    "ascii",
    "chr",
    "date",
];

impl Analyzer<'_> {
    /// Whether `e`, evaluated in `scope`, can be NULL.
    pub(crate) fn expr(&mut self, e: &Expr, scope: &Scope<'_>) -> Decision {
        let line = self.line(e.span());
        let non_null = |text: &str| Decision::non_null(Rule::at(text, line));
        let nullable = |text: String| Decision::nullable(Rule::at(text, line));
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let parts = column_parts(e).unwrap_or_default();
                scope.resolve(&parts).unwrap_or_else(|| {
                    nullable(format!("pgtide cannot resolve `{}`", parts.join(".")))
                })
            }
            Expr::Value(v) => match &v.value {
                Value::Null => nullable("NULL literal".into()),
                Value::Placeholder(p) => {
                    let n = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok());
                    match n.and_then(|n| Some((n, *self.params.get(n.checked_sub(1)?)?))) {
                        Some((n, false)) => non_null(&format!("parameter ${n} is not optional")),
                        Some((n, true)) => nullable(format!(
                            "parameter ${n} is optional (`@name?`, `sqlc.narg`)"
                        )),
                        None => nullable(format!("unknown parameter {p}")),
                    }
                }
                _ => non_null("a literal"),
            },
            Expr::TypedString(_) | Expr::Interval(_) => non_null("a literal"),
            Expr::Nested(x)
            | Expr::Cast { expr: x, .. }
            | Expr::UnaryOp { expr: x, .. }
            | Expr::Collate { expr: x, .. }
            | Expr::Extract { expr: x, .. }
            | Expr::Ceil { expr: x, .. }
            | Expr::Floor { expr: x, .. } => self.expr(x, scope),
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..) => non_null("an IS test is never NULL"),
            Expr::Exists { .. } => non_null("EXISTS is never NULL"),
            Expr::Subquery(q) => match single_aggregate(q) {
                true => match self.query(q, Some(scope)) {
                    Ok(cols) if cols.len() == 1 => cols[0].null.clone(),
                    _ => nullable("a scalar subquery pgtide cannot follow".into()),
                },
                false => nullable("a scalar subquery is NULL when it returns no row".into()),
            },
            Expr::BinaryOp { left, op, right } => {
                if null_safe(op) {
                    self.all(
                        [&**left, &**right],
                        scope,
                        &format!("`{op}` over non-null operands"),
                        line,
                    )
                } else {
                    nullable(format!("operator `{op}` may return NULL"))
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape_char,
                any: false,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                any: false,
                ..
            }
            | Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                let mut inputs = vec![&**expr, &**pattern];
                inputs.extend(escape_char.as_deref());
                self.all(inputs, scope, "pattern match over non-null operands", line)
            }
            Expr::Between {
                expr, low, high, ..
            } => self.all(
                [&**expr, &**low, &**high],
                scope,
                "BETWEEN over non-null operands",
                line,
            ),
            Expr::In {
                expr,
                target: InTarget::List(list),
                ..
            } => {
                let inputs = std::iter::once(&**expr).chain(list.iter());
                self.all(inputs, scope, "IN over non-null values", line)
            }
            Expr::In {
                expr,
                target: InTarget::Subquery(q),
                ..
            } => {
                let d = self.expr(expr, scope);
                if d.nullable {
                    return d;
                }
                match self.query(q, Some(scope)) {
                    Ok(cols) if cols.len() == 1 && !cols[0].null.nullable => {
                        non_null("IN over non-null values")
                    }
                    Ok(cols) if cols.len() == 1 => cols[0].null.clone(),
                    _ => nullable("IN (subquery) whose values pgtide cannot follow".into()),
                }
            }
            Expr::Case {
                conditions,
                else_result,
                ..
            } => {
                let Some(else_result) = else_result else {
                    return nullable("CASE without ELSE".into());
                };
                let results = conditions.iter().map(|c| &c.result).chain([&**else_result]);
                self.all(results, scope, "every CASE branch is non-null", line)
            }
            Expr::Function(f) => self.function(f, scope, line),
            Expr::Array(_) => non_null("ARRAY[…] is never NULL"),
            Expr::Tuple(_) => non_null("a row constructor is never NULL"),
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.all(
                [&**timestamp, &**time_zone],
                scope,
                "AT TIME ZONE over non-null operands",
                line,
            ),
            Expr::Position { expr, r#in } => self.all(
                [&**expr, &**r#in],
                scope,
                "position() over non-null operands",
                line,
            ),
            Expr::Trim {
                expr, trim_what, ..
            } => {
                let mut inputs = vec![&**expr];
                inputs.extend(trim_what.as_deref());
                self.all(inputs, scope, "trim() over non-null operands", line)
            }
            _ => nullable("pgtide does not analyse this kind of expression".into()),
        }
    }

    /// Non-null (by `rule`) when every input is; else the first nullable input's decision.
    fn all<'e>(
        &mut self,
        inputs: impl IntoIterator<Item = &'e Expr>,
        scope: &Scope<'_>,
        rule: &str,
        line: Option<usize>,
    ) -> Decision {
        for input in inputs {
            let d = self.expr(input, scope);
            if d.nullable {
                return d;
            }
        }
        Decision::non_null(Rule::at(rule, line))
    }

    fn function(&mut self, f: &Function, scope: &Scope<'_>, line: Option<usize>) -> Decision {
        let name = object_parts(&f.name).pop().unwrap_or_default();
        let non_null = |text: String| Decision::non_null(Rule::at(text, line));
        let nullable = |text: String| Decision::nullable(Rule::at(text, line));
        let args: Vec<&Expr> = match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    }
                    | FunctionArg::ExprNamed {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => Some(e),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if f.over.is_some() {
            return if WINDOW_NEVER_NULL.contains(&name.as_str()) {
                non_null(format!("window function {name}() is never NULL"))
            } else if name == "ntile" {
                self.all(args, scope, "ntile() over a non-null argument", line)
            } else {
                nullable(format!("window function {name}() may return NULL"))
            };
        }
        let info = self.catalog.function(&name);
        if name == "count" {
            return non_null("count() is never NULL".into());
        }
        if name == "array" && matches!(f.args, FunctionArguments::Subquery(_)) {
            return non_null("ARRAY(subquery) is never NULL".into());
        }
        if AGGREGATES.contains(&name.as_str()) {
            if !scope.grouped || f.filter.is_some() {
                return nullable(format!("{name}() is NULL over no rows"));
            }
            // Every group has a row: the array aggregates are never NULL, the others are
            // NULL only when every input is.
            if matches!(name.as_str(), "array_agg" | "json_agg" | "jsonb_agg") {
                return non_null(format!("{name}() over a GROUP BY group is never NULL"));
            }
            return self.all(
                args,
                scope,
                &format!("{name}() of non-null values over a GROUP BY group"),
                line,
            );
        }
        match name.as_str() {
            // NULL only when the format or separator is.
            "format" | "concat_ws" => {
                return match args.first() {
                    Some(first) => self.all(
                        [*first],
                        scope,
                        &format!("{name}() with a non-null first argument"),
                        line,
                    ),
                    None => nullable(format!("{name}() without arguments")),
                };
            }
            "coalesce" | "greatest" | "least" => {
                let mut first = None;
                for arg in &args {
                    let d = self.expr(arg, scope);
                    if !d.nullable {
                        return non_null(format!("{name}() with a non-null argument"));
                    }
                    first.get_or_insert(d);
                }
                return first.unwrap_or_else(|| nullable(format!("{name}() without arguments")));
            }
            "nullif" => {
                return nullable("nullif() returns NULL when its arguments are equal".into());
            }
            _ => {}
        }
        if NEVER_NULL.contains(&name.as_str()) && info.is_some_and(|i| i.builtin) {
            return non_null(format!("{name}() is never NULL"));
        }
        // Keyword forms such as CURRENT_DATE have no pg_proc entry of that name.
        if NEVER_NULL.contains(&name.as_str()) && matches!(f.args, FunctionArguments::None) {
            return non_null(format!("{name} is never NULL"));
        }
        if NON_NULL_OVER_NON_NULL.contains(&name.as_str())
            && info.is_some_and(|i| i.builtin && i.strict)
        {
            return self.all(
                args,
                scope,
                &format!("{name}() over non-null arguments"),
                line,
            );
        }
        nullable(format!("{name}() may return NULL"))
    }
}

/// A subquery that returns exactly one row: one aggregate, no `GROUP BY`, `HAVING` or
/// `LIMIT`, so its value is the aggregate's.
fn single_aggregate(q: &sqlparser::ast::Query) -> bool {
    use sqlparser::ast::{GroupByExpr, SelectItem, SetExpr};
    let SetExpr::Select(select) = &*q.body else {
        return false;
    };
    let no_group =
        matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    let aggregate = match select.projection.as_slice() {
        [
            SelectItem::UnnamedExpr(Expr::Function(f))
            | SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            },
        ] => {
            let name = object_parts(&f.name).pop().unwrap_or_default();
            f.over.is_none() && (name == "count" || AGGREGATES.contains(&name.as_str()))
        }
        _ => false,
    };
    q.with.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && select.having.is_none()
        && no_group
        && aggregate
}

/// Operators whose result is non-null whenever their operands are.
fn null_safe(op: &Op) -> bool {
    matches!(
        op,
        Op::Plus
            | Op::Minus
            | Op::Multiply
            | Op::Divide
            | Op::Modulo
            | Op::StringConcat
            | Op::Gt
            | Op::Lt
            | Op::GtEq
            | Op::LtEq
            | Op::Eq
            | Op::NotEq
            | Op::And
            | Op::Or
            | Op::BitwiseAnd
            | Op::BitwiseOr
            | Op::BitwiseXor
            | Op::PGBitwiseXor
            | Op::PGBitwiseShiftLeft
            | Op::PGBitwiseShiftRight
            | Op::PGExp
            | Op::PGRegexMatch
            | Op::PGRegexIMatch
            | Op::PGRegexNotMatch
            | Op::PGRegexNotIMatch
            | Op::PGLikeMatch
            | Op::PGILikeMatch
            | Op::PGNotLikeMatch
            | Op::PGNotILikeMatch
            | Op::AtArrow
            | Op::ArrowAt
    )
}
