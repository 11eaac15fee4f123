//! Relations: which tables, views, CTEs and subqueries a query reads, which of them a join
//! can null-extend, and which columns a condition proves non-null. Expressions are in
//! `expr.rs`.

use std::collections::HashMap;

use sqlparser::ast::{
    AssignmentTarget, Expr, FromTable, FunctionArg, FunctionArgExpr, GroupByExpr,
    GroupByWithModifier, Ident, Insert, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart,
    Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator, Spanned,
    Statement, TableAlias, TableFactor, TableObject, TableWithJoins, UpdateTableFromKind, Values,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

use super::{Catalog, Decision, Rule};

/// How deep views may nest inside views before the analysis gives up (nullable).
const MAX_VIEW_DEPTH: usize = 8;

/// Decides the nullability of each of the `columns` result columns of `sql`. `params[i]` is
/// whether `$(i + 1)` may be NULL. Never fails: a query the analysis cannot read, or whose
/// column count differs from `columns`, comes back all nullable with the reason.
pub fn analyze(sql: &str, params: &[bool], catalog: &Catalog, columns: usize) -> Vec<Decision> {
    analyze_with_embeds(sql, params, catalog, columns, &[]).0
}

/// Where one `sqlc.embed(table)` (rewritten to `table.*`) lands in the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedPlacement {
    /// The first result column (0-based) of the table's columns.
    pub start: usize,
    /// Per column of the table, whether it can be NULL in a row the table contributed
    /// (its own constraints and proofs, not the outer join).
    pub nullable: Vec<bool>,
    /// Set when an outer join may null-extend the table: the embedded value as a whole is
    /// then absent (`Option`).
    pub outer: Option<Rule>,
}

/// As [`analyze`], and places each of `embeds` (table names or aliases, as the server
/// folds them: unquoted lower case) among the result columns: the n-th embed of a name is
/// the n-th `name.*` of the outermost select list. `Err` says why they cannot be placed.
pub fn analyze_with_embeds(
    sql: &str,
    params: &[bool],
    catalog: &Catalog,
    columns: usize,
    embeds: &[String],
) -> (
    Vec<Decision>,
    std::result::Result<Vec<EmbedPlacement>, String>,
) {
    let mut wildcards = Vec::new();
    let decisions = match analyze_recording(sql, params, catalog, columns, &mut wildcards) {
        Ok(decisions) => decisions,
        Err(why) => {
            let rule = Rule::new(format!("pgtide cannot analyse this query: {why}"));
            let decisions = vec![Decision::nullable(rule); columns];
            let placed = if embeds.is_empty() {
                Ok(Vec::new())
            } else {
                Err(why)
            };
            return (decisions, placed);
        }
    };
    if embeds.is_empty() {
        return (decisions, Ok(Vec::new()));
    }
    let mut placed = Vec::new();
    let mut used = vec![false; wildcards.len()];
    for name in embeds {
        let found = wildcards
            .iter()
            .enumerate()
            .find(|(i, w)| !used[*i] && w.0 == *name);
        let Some((i, (_, placement))) = found else {
            return (
                decisions,
                Err(format!(
                    "`{name}.*` is not in the outermost select list; use sqlc.embed only there"
                )),
            );
        };
        used[i] = true;
        placed.push(placement.clone());
    }
    (decisions, Ok(placed))
}

fn analyze_recording(
    sql: &str,
    params: &[bool],
    catalog: &Catalog,
    columns: usize,
    wildcards: &mut Vec<(String, EmbedPlacement)>,
) -> std::result::Result<Vec<Decision>, String> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| format!("the SQL parser says {e}"))?;
    let [statement] = statements.as_slice() else {
        return Err("not exactly one statement".into());
    };
    let mut analyzer = Analyzer::new(catalog, params, false, 0);
    let result = analyzer.statement(statement, None);
    *wildcards = std::mem::take(&mut analyzer.wildcards);
    match result {
        Ok(cols) if cols.len() == columns => Ok(cols.into_iter().map(|c| c.null).collect()),
        Ok(cols) => Err(format!(
            "it finds {} columns where the server describes {columns}",
            cols.len()
        )),
        Err(Unsupported(why)) => Err(why),
    }
}

/// A structure the analysis does not follow; the whole query becomes nullable.
#[derive(Debug)]
pub(crate) struct Unsupported(pub(crate) String);

pub(crate) type Result<T> = std::result::Result<T, Unsupported>;

fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(Unsupported(what.into()))
}

/// One output column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    pub(crate) name: String,
    pub(crate) null: Decision,
}

/// One relation in a `FROM` clause.
#[derive(Debug)]
pub(crate) struct Entry {
    name: String,
    cols: Vec<Col>,
    /// `false` for function results: more columns than `cols` may exist.
    known: bool,
    /// Set when an outer join null-extends this relation.
    outer: Option<Rule>,
    /// Columns a condition proved non-null.
    proven: HashMap<String, Rule>,
}

impl Entry {
    fn new(name: String, cols: Vec<Col>, known: bool) -> Self {
        Self {
            name,
            cols,
            known,
            outer: None,
            proven: HashMap::new(),
        }
    }

    fn decision(&self, col: &Col) -> Decision {
        if !col.null.nullable && self.outer.is_none() {
            return col.null.clone();
        }
        if let Some(rule) = self.proven.get(&col.name) {
            return Decision::non_null(rule.clone());
        }
        if let Some(rule) = &self.outer {
            return Decision::nullable(rule.clone());
        }
        col.null.clone()
    }
}

/// The relations visible at one level of a query, and the level around it (correlation).
#[derive(Debug, Default)]
pub(crate) struct Scope<'a> {
    entries: Vec<Entry>,
    parent: Option<&'a Scope<'a>>,
    /// `GROUP BY ROLLUP/CUBE/GROUPING SETS`: grouped columns come out NULL in subtotal rows.
    grouping_sets: Option<Rule>,
    /// A `USING`/`NATURAL` join merged columns, so `*` is not expanded here.
    merged: bool,
    /// `GROUP BY` with at least one expression: every group has a row, so an aggregate
    /// without `FILTER` sees at least one input.
    pub(crate) grouped: bool,
}

impl<'a> Scope<'a> {
    pub(crate) fn new(parent: Option<&'a Scope<'a>>) -> Self {
        Self {
            parent,
            ..Self::default()
        }
    }

    /// The decision for a column reference, or `None` when no relation has it.
    pub(crate) fn resolve(&self, parts: &[String]) -> Option<Decision> {
        let here = match parts {
            [col] => {
                let found: Vec<Decision> = self
                    .entries
                    .iter()
                    .filter_map(|e| {
                        e.cols
                            .iter()
                            .find(|c| c.name == *col)
                            .map(|c| e.decision(c))
                    })
                    .collect();
                match found.iter().find(|d| d.nullable).or(found.first()) {
                    Some(d) => Some(d.clone()),
                    None if self.entries.iter().any(|e| !e.known) => Some(Decision::nullable(
                        Rule::new(format!("`{col}` may be a column of a function's result")),
                    )),
                    None => None,
                }
            }
            [.., table, col] => self.entries.iter().find(|e| e.name == *table).map(|e| {
                match e.cols.iter().find(|c| c.name == *col) {
                    Some(c) => e.decision(c),
                    None => Decision::nullable(Rule::new(format!(
                        "pgtide does not know column `{col}` of `{table}`"
                    ))),
                }
            }),
            [] => None,
        };
        match here {
            Some(d) => Some(match &self.grouping_sets {
                Some(rule) => Decision::nullable(rule.clone()),
                None => d,
            }),
            None => self.parent.and_then(|p| p.resolve(parts)),
        }
    }

    /// The entry and column name a reference points at in this level (for proofs).
    fn locate(&self, parts: &[String]) -> Option<(usize, String)> {
        let mut hits = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| match parts {
                [col] => e.cols.iter().any(|c| c.name == *col),
                [.., table, col] => e.name == *table && e.cols.iter().any(|c| c.name == *col),
                [] => false,
            });
        let (i, _) = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        Some((i, parts.last()?.clone()))
    }

    fn mark_outer(&mut self, range: std::ops::Range<usize>, rule: &Rule) {
        for entry in &mut self.entries[range] {
            entry.outer = Some(rule.clone());
            entry.proven.clear();
        }
    }
}

pub(crate) struct Analyzer<'c> {
    pub(crate) catalog: &'c Catalog,
    pub(crate) params: &'c [bool],
    ctes: Vec<(String, Vec<Col>)>,
    views: HashMap<String, Vec<Col>>,
    /// Analysing a view's definition: its lines are not the query's.
    in_view: bool,
    depth: usize,
    /// The `name.*` items of the select list analysed last: the outermost one, as inner
    /// select lists (subqueries, CTEs) finish before it.
    wildcards: Vec<(String, EmbedPlacement)>,
}

impl<'c> Analyzer<'c> {
    fn new(catalog: &'c Catalog, params: &'c [bool], in_view: bool, depth: usize) -> Self {
        Self {
            catalog,
            params,
            ctes: Vec::new(),
            views: HashMap::new(),
            in_view,
            depth,
            wildcards: Vec::new(),
        }
    }

    /// The 1-based line of the query a node starts on.
    pub(crate) fn line(&self, span: Span) -> Option<usize> {
        let line = usize::try_from(span.start.line).ok()?;
        (!self.in_view && line > 0).then_some(line)
    }

    pub(crate) fn statement(
        &mut self,
        st: &Statement,
        outer: Option<&Scope<'_>>,
    ) -> Result<Vec<Col>> {
        match st {
            Statement::Query(q) => self.query(q, outer),
            Statement::Insert(insert) => self.insert(insert, outer),
            Statement::Update(update) => {
                let mut scope = Scope::new(outer);
                self.add_from_item(&update.table, &mut scope)?;
                let target = scope.entries.len();
                if let Some(
                    UpdateTableFromKind::AfterSet(from) | UpdateTableFromKind::BeforeSet(from),
                ) = &update.from
                {
                    for item in from {
                        self.add_from_item(item, &mut scope)?;
                    }
                }
                if let Some(cond) = &update.selection {
                    self.prove(cond, &mut scope, "WHERE");
                }
                // RETURNING sees the new values: a proof about an assigned column's old value
                // says nothing about its new one.
                for assignment in &update.assignments {
                    let names: Vec<&ObjectName> = match &assignment.target {
                        AssignmentTarget::ColumnName(n) => vec![n],
                        AssignmentTarget::Tuple(ns) => ns.iter().collect(),
                    };
                    for name in names {
                        let col = object_parts(name).pop().unwrap_or_default();
                        for entry in &mut scope.entries[..target] {
                            entry.proven.remove(&col);
                        }
                    }
                }
                self.returning(update.returning.as_deref(), &scope)
            }
            Statement::Delete(delete) => {
                let mut scope = Scope::new(outer);
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                    &delete.from;
                for item in tables {
                    self.add_from_item(item, &mut scope)?;
                }
                for item in delete.using.iter().flatten() {
                    self.add_from_item(item, &mut scope)?;
                }
                if let Some(cond) = &delete.selection {
                    self.prove(cond, &mut scope, "WHERE");
                }
                self.returning(delete.returning.as_deref(), &scope)
            }
            _ => unsupported("a statement other than SELECT, INSERT, UPDATE or DELETE"),
        }
    }

    fn insert(&mut self, insert: &Insert, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        let TableObject::TableName(name) = &insert.table else {
            return unsupported("INSERT into a table function");
        };
        let parts = object_parts(name);
        let cols = self.relation(&parts)?;
        let alias = match &insert.table_alias {
            Some(a) => ident(&a.alias),
            None => parts.last().cloned().unwrap_or_default(),
        };
        let mut scope = Scope::new(outer);
        scope.entries.push(Entry::new(alias, cols, true));
        self.returning(insert.returning.as_deref(), &scope)
    }

    fn returning(&mut self, items: Option<&[SelectItem]>, scope: &Scope<'_>) -> Result<Vec<Col>> {
        match items {
            Some(items) => self.projection(items, scope),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) fn query(&mut self, q: &Query, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        let pushed = self.ctes.len();
        let out = self.query_inner(q, outer);
        self.ctes.truncate(pushed);
        out
    }

    fn query_inner(&mut self, q: &Query, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = ident(&cte.alias.name);
                let cols = if with.recursive {
                    self.recursive_cte(&name, &cte.query, &cte.alias, outer)?
                } else {
                    rename(self.query(&cte.query, outer)?, &cte.alias)?
                };
                self.ctes.push((name, cols));
            }
        }
        self.set_expr(&q.body, outer)
    }

    /// `WITH RECURSIVE t AS (base UNION [ALL] step)`: start from the base's columns and
    /// re-analyse with `t` bound to the result until nothing changes (a column only ever
    /// turns nullable, so this ends).
    fn recursive_cte(
        &mut self,
        name: &str,
        query: &Query,
        alias: &TableAlias,
        outer: Option<&Scope<'_>>,
    ) -> Result<Vec<Col>> {
        let SetExpr::SetOperation {
            left,
            op: SetOperator::Union,
            ..
        } = &*query.body
        else {
            return rename(self.query(query, outer)?, alias);
        };
        let mut cols = rename(self.set_expr(left, outer)?, alias)?;
        for _ in 0..=cols.len() + 1 {
            self.ctes.push((name.to_owned(), cols.clone()));
            let next = self.query(query, outer);
            self.ctes.pop();
            let next = rename(next?, alias)?;
            if next.len() != cols.len() {
                return unsupported(format!("recursive CTE `{name}` changes its column count"));
            }
            let merged: Vec<Col> = cols
                .iter()
                .zip(next)
                .map(|(a, b)| {
                    if a.null.nullable || !b.null.nullable {
                        a.clone()
                    } else {
                        b
                    }
                })
                .collect();
            if merged == cols {
                return Ok(cols);
            }
            cols = merged;
        }
        unsupported(format!("recursive CTE `{name}` does not settle"))
    }

    fn set_expr(&mut self, s: &SetExpr, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        match s {
            SetExpr::Select(select) => self.select(select, outer),
            SetExpr::Query(q) => self.query(q, outer),
            SetExpr::SetOperation {
                left, op, right, ..
            } => {
                let l = self.set_expr(left, outer)?;
                let r = self.set_expr(right, outer)?;
                if l.len() != r.len() {
                    return unsupported(format!("{op} branches differ in column count"));
                }
                let line = self.line(right.span());
                Ok(l.into_iter()
                    .zip(r)
                    .map(|(l, r)| {
                        let null = match op {
                            SetOperator::Union if l.null.nullable => l.null,
                            SetOperator::Union if r.null.nullable => r.null,
                            SetOperator::Union => Decision::non_null(Rule::at(
                                "non-null in every branch of the UNION",
                                line,
                            )),
                            SetOperator::Intersect if !r.null.nullable && l.null.nullable => r.null,
                            _ => l.null,
                        };
                        Col { name: l.name, null }
                    })
                    .collect())
            }
            SetExpr::Values(values) => self.values(values, outer),
            SetExpr::Insert(st) | SetExpr::Update(st) | SetExpr::Delete(st) => {
                self.statement(st, outer)
            }
            _ => unsupported("a query form pgtide does not follow (TABLE, MERGE)"),
        }
    }

    fn values(&mut self, values: &Values, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        let scope = Scope::new(outer);
        let mut cols: Vec<Col> = Vec::new();
        for row in &values.rows {
            if !cols.is_empty() && row.content.len() != cols.len() {
                return unsupported("VALUES rows differ in length");
            }
            for (i, e) in row.content.iter().enumerate() {
                let d = self.expr(e, &scope);
                match cols.get_mut(i) {
                    None => cols.push(Col {
                        name: format!("column{}", i + 1),
                        null: d,
                    }),
                    Some(c) if !c.null.nullable && d.nullable => c.null = d,
                    Some(_) => {}
                }
            }
        }
        Ok(cols)
    }

    fn select(&mut self, s: &Select, outer: Option<&Scope<'_>>) -> Result<Vec<Col>> {
        let mut scope = Scope::new(outer);
        for item in &s.from {
            self.add_from_item(item, &mut scope)?;
        }
        if let Some(cond) = &s.selection {
            self.prove(cond, &mut scope, "WHERE");
        }
        if let GroupByExpr::Expressions(exprs, modifiers) = &s.group_by {
            let sets = modifiers
                .iter()
                .any(|m| matches!(m, GroupByWithModifier::Rollup | GroupByWithModifier::Cube))
                || exprs.iter().any(|e| {
                    matches!(
                        e,
                        sqlparser::ast::Expr::Rollup(_)
                            | sqlparser::ast::Expr::Cube(_)
                            | sqlparser::ast::Expr::GroupingSets(_)
                    )
                });
            // `GROUP BY ()` groups an empty input into one row, like no GROUP BY at all.
            let empty_set = exprs
                .iter()
                .any(|e| matches!(e, sqlparser::ast::Expr::Tuple(t) if t.is_empty()));
            scope.grouped = !exprs.is_empty() && !sets && !empty_set;
            if sets {
                let line = exprs.first().and_then(|e| self.line(e.span()));
                scope.grouping_sets = Some(Rule::at(
                    "NULL in the subtotal rows of GROUP BY ROLLUP/CUBE/GROUPING SETS",
                    line,
                ));
            }
        }
        self.projection(&s.projection, &scope)
    }

    fn projection(&mut self, items: &[SelectItem], scope: &Scope<'_>) -> Result<Vec<Col>> {
        let mut out = Vec::new();
        let mut wildcards = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => out.push(Col {
                    name: expr_name(e),
                    null: self.expr(e, scope),
                }),
                SelectItem::ExprWithAlias { expr, alias } => out.push(Col {
                    name: ident(alias),
                    null: self.expr(expr, scope),
                }),
                SelectItem::Wildcard(_) => {
                    if scope.merged {
                        return unsupported("`*` over a USING or NATURAL join");
                    }
                    for entry in &scope.entries {
                        expand(entry, scope, &mut out)?;
                    }
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let table = object_parts(n).pop().unwrap_or_default();
                    let Some(entry) = scope.entries.iter().find(|e| e.name == table) else {
                        return unsupported(format!("`{table}.*` names no relation pgtide sees"));
                    };
                    let start = out.len();
                    expand(entry, scope, &mut out)?;
                    wildcards.push((table, placement(entry, scope, start)));
                }
                _ => return unsupported("a select item pgtide does not follow"),
            }
        }
        self.wildcards = wildcards;
        Ok(out)
    }

    /// Adds one `FROM` item (a relation and its joins) to `scope`.
    fn add_from_item(&mut self, item: &TableWithJoins, scope: &mut Scope<'_>) -> Result<()> {
        let start = scope.entries.len();
        self.factor(&item.relation, scope)?;
        for join in &item.joins {
            let before = scope.entries.len();
            self.factor(&join.relation, scope)?;
            let line = self.line(join.relation.span());
            let (kind, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => ("INNER", c),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("LEFT", c),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => ("RIGHT", c),
                JoinOperator::FullOuter(c) => ("FULL", c),
                JoinOperator::CrossJoin(c) => ("CROSS", c),
                _ => return unsupported("a join kind PostgreSQL does not have"),
            };
            if matches!(
                constraint,
                JoinConstraint::Using(_) | JoinConstraint::UsingAlias(..) | JoinConstraint::Natural
            ) {
                scope.merged = true;
            }
            let end = scope.entries.len();
            match kind {
                "LEFT" => scope.mark_outer(before..end, &Rule::at("right side of LEFT JOIN", line)),
                "RIGHT" => {
                    scope.mark_outer(start..before, &Rule::at("left side of RIGHT JOIN", line))
                }
                "FULL" => {
                    scope.mark_outer(start..before, &Rule::at("left side of FULL JOIN", line));
                    scope.mark_outer(before..end, &Rule::at("right side of FULL JOIN", line));
                }
                "INNER" => match constraint {
                    JoinConstraint::On(cond) => self.prove(cond, scope, "INNER JOIN condition"),
                    JoinConstraint::Using(cols) => {
                        let rule = Rule::at("the INNER JOIN's USING equality rejects NULL", line);
                        for col in cols {
                            let col = object_parts(col).pop().unwrap_or_default();
                            for entry in &mut scope.entries[start..end] {
                                prove_entry(entry, &col, &rule);
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(())
    }

    fn factor(&mut self, factor: &TableFactor, scope: &mut Scope<'_>) -> Result<()> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let parts = object_parts(name);
                let cte = match parts.as_slice() {
                    [one] => self
                        .ctes
                        .iter()
                        .rev()
                        .find(|(n, _)| n == one)
                        .map(|(_, c)| c.clone()),
                    _ => None,
                };
                let cols = match cte {
                    Some(cols) => cols,
                    None => self.relation(&parts)?,
                };
                let (name, cols) = match alias {
                    Some(a) => (ident(&a.name), rename(cols, a)?),
                    None => (parts.last().cloned().unwrap_or_default(), cols),
                };
                scope.entries.push(Entry::new(name, cols, true));
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                let cols = if *lateral {
                    self.query(subquery, Some(&*scope))?
                } else {
                    self.query(subquery, scope.parent)?
                };
                let (name, cols) = match alias {
                    Some(a) => (ident(&a.name), rename(cols, a)?),
                    None => (String::new(), cols),
                };
                scope.entries.push(Entry::new(name, cols, true));
            }
            TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } => {
                let entry = self.function_in_from(
                    name,
                    &args.args,
                    *with_ordinality,
                    alias.as_ref(),
                    scope,
                );
                scope.entries.push(entry);
            }
            TableFactor::Function {
                name,
                args,
                with_ordinality,
                alias,
                ..
            } => {
                let entry =
                    self.function_in_from(name, args, *with_ordinality, alias.as_ref(), scope);
                scope.entries.push(entry);
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_ordinality,
                ..
            } => {
                let mut entry = function_entry("unnest", alias.as_ref(), *with_ordinality);
                if let [array] = array_exprs.as_slice()
                    && let Some(rule) = self.unnest_never_null(array, scope)
                {
                    entry.cols[0].null = Decision::non_null(rule);
                }
                scope.entries.push(entry);
            }
            TableFactor::TableFunction { alias, .. } => {
                scope
                    .entries
                    .push(function_entry("function", alias.as_ref(), false));
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.add_from_item(table_with_joins, scope)?,
            _ => return unsupported("a FROM item pgtide does not follow"),
        }
        Ok(())
    }

    /// A function call in `FROM`: its column is nullable, except for the set-returning
    /// functions that never return a NULL row (below); `WITH ORDINALITY` numbers are never NULL.
    fn function_in_from(
        &mut self,
        name: &ObjectName,
        args: &[FunctionArg],
        with_ordinality: bool,
        alias: Option<&TableAlias>,
        scope: &Scope<'_>,
    ) -> Entry {
        let fname = object_parts(name).pop().unwrap_or_default();
        let mut entry = function_entry(&fname, alias, with_ordinality);
        let line = self.line(name.span());
        let builtin_strict = self
            .catalog
            .function(&fname)
            .is_some_and(|f| f.builtin && f.strict);
        let args: Vec<&Expr> = args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        let rule = match (fname.as_str(), args.as_slice()) {
            // Strict: a NULL argument gives no rows, never a NULL one.
            ("generate_series" | "generate_subscripts", _) if builtin_strict => Some(Rule::at(
                format!(
                    "{fname}() never returns NULL (built-in, strict: NULL arguments give no rows)"
                ),
                line,
            )),
            ("unnest", [array]) => self.unnest_never_null(array, scope),
            _ => None,
        };
        if let Some(rule) = rule {
            entry.cols[0].null = Decision::non_null(rule);
        }
        entry
    }

    /// `unnest(ARRAY[…])` of elements that are all non-null (an array value may hold NULL
    /// elements whatever its column's `NOT NULL`, so only a literal array constructor counts).
    fn unnest_never_null(&mut self, expr: &Expr, scope: &Scope<'_>) -> Option<Rule> {
        let Expr::Array(array) = strip(expr) else {
            return None;
        };
        if array.elem.is_empty() || matches!(self.catalog.function("unnest"), Some(f) if !f.builtin)
        {
            return None;
        }
        for elem in &array.elem {
            if matches!(elem, Expr::Array(_)) || self.expr(elem, scope).nullable {
                return None;
            }
        }
        Some(Rule::at(
            "unnest() of an ARRAY[…] of non-null elements",
            self.line(expr.span()),
        ))
    }

    /// The columns of a table or view from the catalog.
    fn relation(&mut self, parts: &[String]) -> Result<Vec<Col>> {
        let catalog = self.catalog;
        let Some((shown, rel)) = catalog.relation(parts) else {
            return unsupported(format!(
                "relation `{}` is not in the catalog",
                parts.join(".")
            ));
        };
        if let Some(def) = &rel.view {
            if let Some(cols) = self.views.get(&shown) {
                return Ok(cols.clone());
            }
            let cols = self.view(&shown, def, rel.columns.len());
            let cols: Vec<Col> = rel
                .columns
                .iter()
                .zip(cols)
                .map(|(c, d)| Col {
                    name: c.name.clone(),
                    null: d,
                })
                .collect();
            self.views.insert(shown, cols.clone());
            return Ok(cols);
        }
        Ok(rel
            .columns
            .iter()
            .map(|c| {
                let null = if c.not_null {
                    Decision::non_null(Rule::new(format!("`{shown}.{}` is NOT NULL", c.name)))
                } else {
                    Decision::nullable(Rule::new(format!("`{shown}.{}` is nullable", c.name)))
                };
                Col {
                    name: c.name.clone(),
                    null,
                }
            })
            .collect())
    }

    /// A view's columns, from its definition (`pg_get_viewdef`).
    fn view(&mut self, shown: &str, definition: &str, columns: usize) -> Vec<Decision> {
        let prefix = |d: Decision| Decision {
            nullable: d.nullable,
            rule: Rule::new(format!("view `{shown}`: {}", d.rule.text)),
        };
        if self.depth >= MAX_VIEW_DEPTH {
            return vec![
                Decision::nullable(Rule::new(format!("view `{shown}` nests too deep")));
                columns
            ];
        }
        let mut inner = Analyzer::new(self.catalog, &[], true, self.depth + 1);
        let decisions = analyze_with(&mut inner, definition, columns);
        decisions.into_iter().map(prefix).collect()
    }

    /// Marks the columns that `cond` (a WHERE or INNER JOIN condition) rejects NULL for.
    fn prove(&self, cond: &sqlparser::ast::Expr, scope: &mut Scope<'_>, what: &str) {
        use sqlparser::ast::{BinaryOperator as Op, Expr};
        let rule = || Rule::at(format!("the {what} rejects NULL"), self.line(cond.span()));
        let mark = |e: &Expr, scope: &mut Scope<'_>| {
            if let Some(parts) = column_parts(strip(e))
                && let Some((i, col)) = scope.locate(&parts)
            {
                prove_entry(&mut scope.entries[i], &col, &rule());
            }
        };
        match cond {
            Expr::Nested(inner) => self.prove(inner, scope, what),
            Expr::BinaryOp {
                left,
                op: Op::And,
                right,
            } => {
                self.prove(left, scope, what);
                self.prove(right, scope, what);
            }
            Expr::IsNotNull(e) => mark(e, scope),
            Expr::BinaryOp {
                left,
                op: Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq,
                right,
            } => {
                mark(left, scope);
                mark(right, scope);
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                mark(expr, scope);
                mark(pattern, scope);
            }
            Expr::Between { expr, .. } | Expr::In { expr, .. } => mark(expr, scope),
            _ => {}
        }
    }
}

/// Analyses a view definition with `analyzer`.
fn analyze_with(analyzer: &mut Analyzer<'_>, sql: &str, columns: usize) -> Vec<Decision> {
    let fallback =
        |why: String| vec![Decision::nullable(Rule::new(format!("not analysed: {why}"))); columns];
    let statements = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(s) => s,
        Err(e) => return fallback(e.to_string()),
    };
    let [statement] = statements.as_slice() else {
        return fallback("not one statement".into());
    };
    match analyzer.statement(statement, None) {
        Ok(cols) if cols.len() == columns => cols.into_iter().map(|c| c.null).collect(),
        Ok(_) => fallback("column count differs".into()),
        Err(Unsupported(why)) => fallback(why),
    }
}

/// A proof that `col` of `entry` is not NULL; when the column is non-null in the relation
/// itself, the row cannot be a null-extended one, so the outer join no longer applies.
fn prove_entry(entry: &mut Entry, col: &str, rule: &Rule) {
    let Some(c) = entry.cols.iter().find(|c| c.name == col) else {
        return;
    };
    if !c.null.nullable {
        entry.outer = None;
    }
    entry.proven.insert(col.to_owned(), rule.clone());
}

/// Where `entry.*`, expanded at result column `start`, lands, for `sqlc.embed`.
fn placement(entry: &Entry, scope: &Scope<'_>, start: usize) -> EmbedPlacement {
    EmbedPlacement {
        start,
        nullable: entry
            .cols
            .iter()
            .map(|c| {
                scope.grouping_sets.is_some()
                    || (c.null.nullable && !entry.proven.contains_key(&c.name))
            })
            .collect(),
        outer: entry.outer.clone(),
    }
}

fn expand(entry: &Entry, scope: &Scope<'_>, out: &mut Vec<Col>) -> Result<()> {
    if !entry.known {
        return unsupported(format!(
            "`*` over `{}`, whose columns pgtide does not know",
            entry.name
        ));
    }
    for c in &entry.cols {
        let null = match &scope.grouping_sets {
            Some(rule) => Decision::nullable(rule.clone()),
            None => entry.decision(c),
        };
        out.push(Col {
            name: c.name.clone(),
            null,
        });
    }
    Ok(())
}

fn function_entry(fname: &str, alias: Option<&TableAlias>, with_ordinality: bool) -> Entry {
    let mut entry = function_entry_columns(fname, alias);
    if with_ordinality {
        // The last alias column names the ordinality, else it is `ordinality`.
        let named = alias.is_some_and(|a| a.columns.len() > 1);
        let null = Decision::non_null(Rule::new("WITH ORDINALITY numbers are never NULL"));
        if named {
            if let Some(last) = entry.cols.last_mut() {
                last.null = null;
            }
        } else {
            entry.cols.push(Col {
                name: "ordinality".into(),
                null,
            });
        }
    }
    entry
}

fn function_entry_columns(fname: &str, alias: Option<&TableAlias>) -> Entry {
    let rule = |col: &str| {
        Decision::nullable(Rule::new(format!(
            "`{col}` comes from {fname}(), which may return NULL"
        )))
    };
    match alias {
        Some(a) if !a.columns.is_empty() => {
            let cols = a
                .columns
                .iter()
                .map(|c| {
                    let name = ident(&c.name);
                    Col {
                        null: rule(&name),
                        name,
                    }
                })
                .collect();
            Entry::new(ident(&a.name), cols, false)
        }
        _ => {
            let name = alias
                .map(|a| ident(&a.name))
                .unwrap_or_else(|| fname.to_owned());
            let col = Col {
                null: rule(&name),
                name: name.clone(),
            };
            Entry::new(name, vec![col], false)
        }
    }
}

/// Applies a `name(col, …)` alias's column names.
fn rename(mut cols: Vec<Col>, alias: &TableAlias) -> Result<Vec<Col>> {
    if alias.columns.len() > cols.len() {
        return unsupported(format!(
            "alias `{}` names more columns than there are",
            alias.name
        ));
    }
    for (c, name) in cols.iter_mut().zip(&alias.columns) {
        c.name = ident(&name.name);
    }
    Ok(cols)
}

/// An identifier as the server sees it: unquoted ones fold to lower case.
pub(crate) fn ident(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

pub(crate) fn object_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => ident(i),
            ObjectNamePart::Function(f) => ident(&f.name),
        })
        .collect()
}

/// `a` or `t.a` (through parentheses), as name parts.
pub(crate) fn column_parts(e: &sqlparser::ast::Expr) -> Option<Vec<String>> {
    use sqlparser::ast::Expr;
    match e {
        Expr::Identifier(i) => Some(vec![ident(i)]),
        Expr::CompoundIdentifier(parts) => Some(parts.iter().map(ident).collect()),
        Expr::Nested(inner) => column_parts(inner),
        _ => None,
    }
}

/// Casts and parentheses keep NULL as NULL, so a proof sees through them.
fn strip(e: &sqlparser::ast::Expr) -> &sqlparser::ast::Expr {
    use sqlparser::ast::Expr;
    match e {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => strip(inner),
        _ => e,
    }
}

/// The name PostgreSQL gives an unaliased result column (close to its `FigureColname`).
pub(crate) fn expr_name(e: &sqlparser::ast::Expr) -> String {
    use sqlparser::ast::Expr;
    match e {
        Expr::Identifier(i) => ident(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident).unwrap_or_default(),
        Expr::Function(f) => object_parts(&f.name).pop().unwrap_or_default(),
        Expr::Nested(inner) => expr_name(inner),
        Expr::Cast {
            expr, data_type, ..
        } => match expr_name(expr) {
            n if n == "?column?" => data_type.to_string().to_lowercase(),
            n => n,
        },
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Array(_) => "array".into(),
        _ => "?column?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_queries_come_out_nullable_with_the_reason() {
        let catalog = Catalog::default();
        let d = analyze("SELEC 1", &[], &catalog, 2);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.nullable));
        assert!(
            d[0].rule
                .text
                .starts_with("pgtide cannot analyse this query")
        );
        // An unknown table, and a column count that differs from the server's.
        let d = analyze("SELECT a FROM nowhere", &[], &catalog, 1);
        assert!(d[0].nullable && d[0].rule.text.contains("`nowhere` is not in the catalog"));
        let d = analyze("SELECT 1, 2", &[], &catalog, 1);
        assert!(d[0].nullable && d[0].rule.text.contains("finds 2 columns"));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        let d = analyze(&sql, &[], &Catalog::default(), 1);
        assert!(d[0].nullable);
    }

    #[test]
    fn parameters_and_literals() {
        let d = analyze(
            "SELECT $1::int, $2::int, NULL",
            &[false, true],
            &Catalog::default(),
            3,
        );
        let nullable: Vec<bool> = d.iter().map(|d| d.nullable).collect();
        assert_eq!(nullable, [false, true, true]);
        assert_eq!(d[0].rule.text, "parameter $1 is not optional");
        assert_eq!(d[0].rule.line, Some(1));
    }

    #[test]
    fn set_returning_functions_in_from() {
        let mut catalog = Catalog::default();
        let builtin = crate::nullability::catalog::FunctionInfo {
            strict: true,
            builtin: true,
        };
        catalog.functions.insert("generate_series".into(), builtin);
        catalog.functions.insert("unnest".into(), builtin);
        let nullable = |sql: &str, columns: usize, catalog: &Catalog| -> Vec<bool> {
            analyze(sql, &[], catalog, columns)
                .iter()
                .map(|d| d.nullable)
                .collect()
        };
        let series = "SELECT g, n FROM generate_series(1, $1) WITH ORDINALITY AS t (g, n)";
        assert_eq!(nullable(series, 2, &catalog), [false, false]);
        let d = analyze("SELECT g FROM generate_series(1, 3) g", &[], &catalog, 1);
        assert!(!d[0].nullable);
        assert!(
            d[0].rule
                .text
                .contains("generate_series() never returns NULL")
        );
        // Null-extended by an outer join, it is nullable again.
        let sql = "SELECT g FROM (SELECT 1 AS one) o LEFT JOIN generate_series(1, 3) g ON true";
        assert_eq!(nullable(sql, 1, &catalog), [true]);
        // unnest: only of an ARRAY[…] of non-null elements.
        let sql = "SELECT x FROM unnest(ARRAY['a', 'b']) AS x";
        assert_eq!(nullable(sql, 1, &catalog), [false]);
        let sql = "SELECT x FROM unnest(ARRAY['a', NULL]) AS x";
        assert_eq!(nullable(sql, 1, &catalog), [true]);
        let sql = "SELECT x, o FROM unnest(ARRAY[1]) WITH ORDINALITY AS t (x, o)";
        assert_eq!(nullable(sql, 2, &catalog), [false, false]);
        // A user's function of the same name (not every overload built-in): nullable.
        catalog.functions.insert(
            "generate_series".into(),
            crate::nullability::catalog::FunctionInfo {
                strict: true,
                builtin: false,
            },
        );
        assert_eq!(nullable(series, 2, &catalog), [true, false]);
    }
}
