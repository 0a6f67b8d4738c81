//! Charts people would rather look at than read: each menu's cumulative
//! output and outcome over the fiscal year, against its targets, with the
//! cutoff marked. As a standalone SVG, and as the data of the workbook's
//! native Excel charts.

use crate::domain::{Category, Date};
use crate::i18n::Lang;
use crate::projection::{figures, Query, Resolved};
use crate::rules::time::{fiscal_year, fiscal_year_end, fiscal_year_start, Scope};
use chrono::Datelike;
use std::fmt::Write as _;

/// One menu's cumulative figures over a fiscal year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Menu id.
    pub menu: String,
    /// Name.
    pub name: String,
    /// Category.
    pub category: Category,
    /// (date, output, outcome), the figures as of each date (month ends,
    /// then the last date).
    pub points: Vec<(Date, u64, u64)>,
    /// The fiscal year's output target.
    pub output_target: Option<u64>,
    /// The fiscal year's outcome target.
    pub outcome_target: Option<u64>,
}

/// The series of every menu over the fiscal year containing `until`, from
/// its start (or the contract start) to `until`.
pub fn series(r: &Resolved, until: Date) -> Vec<Series> {
    let Some(project) = &r.project else {
        return Vec::new();
    };
    let fy = fiscal_year(until);
    let start =
        fiscal_year_start(fy).map_or(project.contract_start, |s| s.max(project.contract_start));
    let end = fiscal_year_end(fy).map_or(until, |e| e.min(until));
    // The start, month ends, then the last date.
    let mut dates = vec![start];
    let mut d = start.0;
    while let Some(next_month) = d
        .with_day(1)
        .and_then(|f| f.checked_add_months(chrono::Months::new(1)))
    {
        let month_end = next_month.pred_opt().unwrap_or(next_month);
        if month_end >= end.0 || month_end < start.0 {
            break;
        }
        if let Some(x) = Date::new(month_end) {
            dates.push(x);
        }
        d = next_month;
    }
    dates.push(end);
    let mut out: Vec<Series> = Vec::new();
    for date in dates {
        let f = figures(
            r,
            Query {
                as_of: date,
                scope: Scope::FiscalYear,
            },
        );
        for m in &f.menus {
            match out.iter_mut().find(|s| s.menu == m.menu) {
                Some(s) => s.points.push((date, m.output, m.outcome)),
                None => out.push(Series {
                    menu: m.menu.clone(),
                    name: m.name.clone(),
                    category: m.category,
                    points: vec![(date, m.output, m.outcome)],
                    output_target: m.output_target,
                    outcome_target: m.outcome_target,
                }),
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 240.0;
const MARGIN: f64 = 40.0;

/// All menus on one SVG page, two panels a row. `cutoff` is marked where it
/// falls in the year.
pub fn svg(series: &[Series], cutoff: Option<Date>, lang: Lang) -> String {
    let cols = 2usize;
    let rows = series.len().div_ceil(cols).max(1);
    let width = PANEL_W * cols as f64;
    let height = PANEL_H * rows as f64 + 30.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        out,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    let legend = lang.pick(
        "青: アウトプット累計　橙: アウトカム累計　点線: 年度目標　赤: 基準日",
        "blue: cumulative output, orange: cumulative outcome, dotted: yearly targets, red: cutoff",
    );
    let _ = write!(out, r#"<text x="10" y="18">{}</text>"#, esc(legend));
    for (i, s) in series.iter().enumerate() {
        let x0 = (i % cols) as f64 * PANEL_W;
        let y0 = 30.0 + (i / cols) as f64 * PANEL_H;
        panel(&mut out, s, x0, y0, cutoff, lang);
    }
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, s: &Series, x0: f64, y0: f64, cutoff: Option<Date>, lang: Lang) {
    let (Some(first), Some(last)) = (s.points.first(), s.points.last()) else {
        return;
    };
    let t0 = first.0 .0.num_days_from_ce();
    let t1 = last.0 .0.num_days_from_ce().max(t0 + 1);
    let ymax = s
        .points
        .iter()
        .map(|p| p.1.max(p.2))
        .chain(s.output_target)
        .chain(s.outcome_target)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (pw, ph) = (PANEL_W - 2.0 * MARGIN, PANEL_H - 2.0 * MARGIN);
    let x =
        |d: Date| x0 + MARGIN + f64::from(d.0.num_days_from_ce() - t0) / f64::from(t1 - t0) * pw;
    let y = |v: u64| y0 + MARGIN + ph - v as f64 / ymax * ph;
    let unit = match (s.category, lang) {
        (Category::A, Lang::Ja) => "社・人",
        (_, Lang::Ja) => "人",
        _ => "",
    };
    let _ = write!(
        out,
        r##"<g class="menu" data-menu="{}" data-output="{}" data-outcome="{}"><text x="{}" y="{}" font-weight="bold">{} {}（{:?}, {}）</text>"##,
        esc(&s.menu),
        last.1,
        last.2,
        x0 + MARGIN,
        y0 + MARGIN - 12.0,
        esc(&s.menu),
        esc(&s.name),
        s.category,
        unit
    );
    let _ = write!(
        out,
        r##"<rect x="{}" y="{}" width="{pw}" height="{ph}" fill="none" stroke="#999999"/><text x="{}" y="{}" text-anchor="end">{ymax}</text><text x="{}" y="{}" text-anchor="end">0</text>"##,
        x0 + MARGIN,
        y0 + MARGIN,
        x0 + MARGIN - 4.0,
        y0 + MARGIN + 4.0,
        x0 + MARGIN - 4.0,
        y0 + MARGIN + ph
    );
    for (target, color) in [(s.output_target, "#1f77b4"), (s.outcome_target, "#ff7f0e")] {
        if let Some(t) = target {
            let _ = write!(
                out,
                r##"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{color}" stroke-dasharray="4 3"/><text x="{}" y="{}" fill="{color}">{t}</text>"##,
                x0 + MARGIN,
                x0 + MARGIN + pw,
                y(t),
                y(t),
                x0 + MARGIN + pw + 3.0,
                y(t) + 4.0
            );
        }
    }
    if let Some(c) = cutoff.filter(|c| *c >= first.0 && *c <= last.0) {
        let _ = write!(
            out,
            r##"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d62728"/><text x="{}" y="{}" fill="#d62728">{c}</text>"##,
            x(c),
            x(c),
            y0 + MARGIN,
            y0 + MARGIN + ph,
            x(c) - 30.0,
            y0 + MARGIN + ph + 14.0
        );
    }
    for (class, color, pick) in [
        ("output", "#1f77b4", 1usize),
        ("outcome", "#ff7f0e", 2usize),
    ] {
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(if pick == 1 { p.1 } else { p.2 })))
            .collect();
        let _ = write!(
            out,
            r##"<polyline class="{class}" fill="none" stroke="{color}" stroke-width="2" points="{}"/>"##,
            pts.join(" ")
        );
    }
    let _ = write!(
        out,
        r##"<text x="{}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text></g>"##,
        x0 + MARGIN,
        y0 + MARGIN + ph + 14.0,
        first.0,
        x0 + MARGIN + pw,
        y0 + MARGIN + ph + 28.0,
        last.0
    );
}
