//! The bench's one record: tables of figures (each a median with its spread over rounds),
//! printed to the terminal and written to `target/bench/report.md` and `report.json`.

use std::fmt::Write as _;

use serde_json::json;

/// What a figure counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Queries (or rows) per second.
    PerSec,
    /// A ratio of two figures measured side by side.
    Ratio,
    /// Wall time in seconds.
    Secs,
    /// Peak resident memory in MiB.
    MiB,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::PerSec => "per_second",
            Unit::Ratio => "ratio",
            Unit::Secs => "seconds",
            Unit::MiB => "MiB",
        }
    }
}

/// A median with the smallest and largest value over rounds.
#[derive(Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub unit: Unit,
}

impl Stat {
    /// The median and spread of `values`; `None` when there are none.
    pub fn of(mut values: Vec<f64>, unit: Unit) -> Option<Self> {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[mid]
        } else {
            (values[mid - 1] + values[mid]) / 2.0
        };
        Some(Self {
            median,
            min: values[0],
            max: values[values.len() - 1],
            unit,
        })
    }

    /// The ratios `a[i] / b[i]` of figures measured in the same round.
    pub fn ratio(a: &[f64], b: &[f64]) -> Option<Self> {
        let ratios = a
            .iter()
            .zip(b)
            .filter(|(_, b)| **b > 0.0)
            .map(|(a, b)| a / b)
            .collect();
        Self::of(ratios, Unit::Ratio)
    }

    fn text(&self) -> String {
        let (m, lo, hi) = (self.median, self.min, self.max);
        match self.unit {
            Unit::PerSec => format!("{m:.0} [{lo:.0}–{hi:.0}]/s"),
            Unit::Ratio => format!("{m:.2}× [{lo:.2}–{hi:.2}]"),
            Unit::Secs if hi < 1.0 => {
                format!(
                    "{:.0} ms [{:.0}–{:.0}]",
                    m * 1000.0,
                    lo * 1000.0,
                    hi * 1000.0
                )
            }
            Unit::Secs => format!("{m:.2} s [{lo:.2}–{hi:.2}]"),
            Unit::MiB => format!("{m:.0} MiB [{lo:.0}–{hi:.0}]"),
        }
    }
}

/// One table: a title, what its ratios mean, column names and rows of figures.
pub struct Table {
    pub title: String,
    pub note: String,
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<Option<Stat>>)>,
}

impl Table {
    /// An empty table.
    pub fn new(title: &str, note: &str, columns: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            note: note.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, label: impl Into<String>, cells: Vec<Option<Stat>>) {
        self.rows.push((label.into(), cells));
    }

    fn cell_texts(&self) -> Vec<(String, Vec<String>)> {
        self.rows
            .iter()
            .map(|(label, cells)| {
                let texts = cells
                    .iter()
                    .map(|c| c.as_ref().map_or_else(|| "—".to_owned(), Stat::text))
                    .collect();
                (label.clone(), texts)
            })
            .collect()
    }

    /// The table as aligned terminal text.
    pub fn terminal(&self) -> String {
        let rows = self.cell_texts();
        let label_w = rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .chain([self.title.chars().count().min(40)])
            .max()
            .unwrap_or(10);
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for (_, cells) in &rows {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = format!("{}\n{}\n", self.title, self.note);
        let _ = write!(out, "{:<label_w$}", "");
        for (c, w) in self.columns.iter().zip(&widths) {
            let _ = write!(out, "  {c:>w$}");
        }
        out.push('\n');
        for (label, cells) in rows {
            let pad = label_w - label.chars().count().min(label_w);
            let _ = write!(out, "{label}{:pad$}", "");
            for (c, w) in cells.iter().zip(&widths) {
                let pad = w - c.chars().count().min(*w);
                let _ = write!(out, "  {:pad$}{c}", "");
            }
            out.push('\n');
        }
        out
    }

    /// The table in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n{}\n\n| |", self.title, self.note);
        for c in &self.columns {
            let _ = write!(out, " {c} |");
        }
        out.push_str("\n|---|");
        for _ in &self.columns {
            out.push_str("---:|");
        }
        out.push('\n');
        for (label, cells) in self.cell_texts() {
            let _ = write!(out, "| {label} |");
            for c in cells {
                let _ = write!(out, " {c} |");
            }
            out.push('\n');
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|(label, cells)| {
                let cells: serde_json::Map<_, _> = self
                    .columns
                    .iter()
                    .zip(cells)
                    .filter_map(|(col, c)| {
                        let c = c.as_ref()?;
                        Some((
                            col.clone(),
                            json!({"median": c.median, "min": c.min, "max": c.max, "unit": c.unit.name()}),
                        ))
                    })
                    .collect();
                json!({"label": label, "cells": cells})
            })
            .collect();
        json!({"title": self.title, "note": self.note, "rows": rows})
    }
}

/// The machine and run the figures come from.
pub struct Machine {
    pub cores: usize,
    pub load: String,
    pub postgres: String,
    pub mode: &'static str,
    pub rounds: usize,
}

impl Machine {
    fn line(&self) -> String {
        format!(
            "{} cores, load average at start {}, PostgreSQL {}; `{}` mode, {} interleaved rounds",
            self.cores, self.load, self.postgres, self.mode, self.rounds
        )
    }
}

/// Writes `report.md` and `report.json` under `dir`.
pub fn write(dir: &std::path::Path, machine: &Machine, tables: &[Table]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut md = format!(
        "# pgtide benchmark\n\n{}\n\nReproduce: `cargo xtask bench` (`--quick` for a short run). \
         Ratios are measured side by side in the same run, per round, then the median [min–max] \
         over rounds is shown.\n\n",
        machine.line()
    );
    for t in tables {
        md.push_str(&t.markdown());
        md.push('\n');
    }
    std::fs::write(dir.join("report.md"), md)?;
    let value = json!({
        "machine": {
            "cores": machine.cores,
            "load_average": machine.load,
            "postgres": machine.postgres,
            "mode": machine.mode,
            "rounds": machine.rounds,
        },
        "tables": tables.iter().map(Table::json).collect::<Vec<_>>(),
    });
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&value)?,
    )?;
    Ok(())
}

/// The load average now (first three fields of `/proc/loadavg`).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Prints the machine line once.
pub fn header(machine: &Machine) -> String {
    machine.line()
}
