//! The Excel workbook evaluators read: figures per fiscal year and category
//! (plan / actual / rate, as councils publish them), the judgement with its
//! bands coloured, exclusions by rule ID, and every counted subject with the
//! events that count it. Headers are Japanese; dates are real Excel dates.

use crate::domain::{Category, Date};
use crate::evaluate::{Decision, Evaluation};
use crate::i18n::Lang;
use crate::projection::{figures, Query, Resolved};
use crate::rules::time::{fiscal_year, fiscal_year_end, Scope};
use crate::rules::{Subject, Verdict};
use chrono::Datelike;
use rust_xlsxwriter::{Color, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Sheet names.
pub const SHEET_FIGURES: &str = "実績";
/// The judgement sheet.
pub const SHEET_JUDGEMENT: &str = "判定";
/// Exclusions by rule ID.
pub const SHEET_EXCLUSIONS: &str = "除外";
/// Every counted subject.
pub const SHEET_SUBJECTS: &str = "計上一覧";
/// Cumulative figures over the year, with native charts.
pub const SHEET_TREND: &str = "推移";

fn excel_date(d: Date) -> Result<ExcelDateTime, XlsxError> {
    let y = u16::try_from(d.0.year()).unwrap_or(1900);
    let m = u8::try_from(d.0.month()).unwrap_or(1);
    let day = u8::try_from(d.0.day()).unwrap_or(1);
    ExcelDateTime::from_ymd(y, m, day)
}

fn unit(c: Category) -> &'static str {
    match c {
        Category::A => "社",
        _ => "人",
    }
}

fn headers(ws: &mut Worksheet, row: u32, names: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (i, h) in names.iter().enumerate() {
        ws.write_string_with_format(row, u16::try_from(i).unwrap_or(0), *h, bold)?;
    }
    Ok(())
}

fn ratio(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    num: u64,
    den: Option<u64>,
    pct: &Format,
) -> Result<(), XlsxError> {
    match den {
        Some(d) if d > 0 => {
            // Excel computes the rate from the two cells, so that the sheet
            // stays true if someone edits a figure.
            let plan = col - 2;
            let actual = col - 1;
            // The computed value goes in too, for readers that do not recalculate.
            let value = num as f64 / d as f64;
            let formula = rust_xlsxwriter::Formula::new(format!(
                "={}/{}",
                cell(row, actual),
                cell(row, plan)
            ))
            .set_result(value.to_string());
            ws.write_formula_with_format(row, col, formula, pct)?;
        }
        _ => {
            ws.write_string(row, col, "-")?;
        }
    }
    Ok(())
}

fn cell(row: u32, col: u16) -> String {
    let mut name = String::new();
    let mut c = u32::from(col) + 1;
    while c > 0 {
        let rem = (c - 1) % 26;
        name.insert(0, char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        c = (c - 1) / 26;
    }
    format!("{name}{}", row + 1)
}

/// Writes the evaluation workbook to `path`.
pub fn write_workbook(r: &Resolved, e: &Evaluation, path: &Path) -> Result<(), XlsxError> {
    evaluation_workbook(r, e)?.save(path)
}

/// The evaluation workbook, as the bytes of an `.xlsx` file.
pub fn workbook_bytes(r: &Resolved, e: &Evaluation) -> Result<Vec<u8>, XlsxError> {
    evaluation_workbook(r, e)?.save_to_buffer()
}

fn evaluation_workbook(r: &Resolved, e: &Evaluation) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let Some(project) = &r.project else {
        return Ok(wb);
    };

    // 1. Figures per fiscal year and category, from the contract start to the cutoff.
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_FIGURES)?;
    print_setup(ws)?;
    ws.set_column_width(1, 12)?;
    ws.write_string_with_format(
        0,
        0,
        format!("{}（{}）", project.name, project.project).as_str(),
        &bold,
    )?;
    ws.write_string(1, 0, "基準日")?;
    ws.write_datetime_with_format(1, 1, excel_date(e.cutoff)?, &date_fmt)?;
    headers(
        ws,
        3,
        &[
            "年度",
            "区分",
            "メニュー",
            "名称",
            "単位",
            "アウトプット計画",
            "実績",
            "達成率",
            "就職・創業者数 計画",
            "実績",
            "達成率",
        ],
        &bold,
    )?;
    let mut row = 4;
    let mut fy = fiscal_year(project.contract_start);
    while fy <= fiscal_year(e.cutoff) {
        let as_of = fiscal_year_end(fy).map_or(e.cutoff, |end| end.min(e.cutoff));
        let f = figures(
            r,
            Query {
                as_of,
                scope: Scope::FiscalYear,
            },
        );
        let mut menus: Vec<_> = f.menus.iter().collect();
        menus.sort_by(|a, b| (a.category, a.menu.as_str()).cmp(&(b.category, b.menu.as_str())));
        for m in menus {
            ws.write_number(row, 0, f64::from(fy))?;
            ws.write_string(row, 1, format!("{:?}", m.category).as_str())?;
            ws.write_string(row, 2, m.menu.as_str())?;
            ws.write_string(row, 3, m.name.as_str())?;
            ws.write_string(row, 4, unit(m.category))?;
            match m.output_target {
                Some(t) => ws.write_number(row, 5, t as f64)?,
                None => ws.write_string(row, 5, "-")?,
            };
            ws.write_number(row, 6, m.output as f64)?;
            ratio(ws, row, 7, m.output, m.output_target, &pct)?;
            match m.outcome_target {
                Some(t) => ws.write_number(row, 8, t as f64)?,
                None => ws.write_string(row, 8, "-")?,
            };
            ws.write_number(row, 9, m.outcome as f64)?;
            ratio(ws, row, 10, m.outcome, m.outcome_target, &pct)?;
            row += 1;
        }
        fy += 1;
    }
    ws.set_column_width(3, 36)?;
    ws.set_freeze_panes(4, 0)?;

    // 2. The judgement, bands coloured.
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_JUDGEMENT)?;
    print_setup(ws)?;
    ws.set_column_width(0, 18)?;
    ws.set_column_width(1, 12)?;
    ws.write_string_with_format(0, 0, format!("中間評価 {}年度目", e.year).as_str(), &bold)?;
    ws.write_string(1, 0, "基準日")?;
    ws.write_datetime_with_format(1, 1, excel_date(e.cutoff)?, &date_fmt)?;
    ws.write_string(2, 0, "事業全体の判定")?;
    ws.write_string_with_format(
        2,
        1,
        crate::evaluate::project_label(e.project_decision, Lang::Ja),
        &bold,
    )?;
    ws.write_string(3, 0, "50%未満のメニュー")?;
    ws.write_number(3, 1, e.below_half as f64)?;
    ws.write_number(3, 2, e.judged as f64)?;
    headers(
        ws,
        5,
        &[
            "メニュー",
            "区分",
            "年度",
            "アウトプット",
            "目標",
            "達成率",
            "アウトカム",
            "目標",
            "達成率",
            "役に立った",
            "判定",
            "根拠",
            "次の基準まで",
            "保留（就職日不明）",
        ],
        &bold,
    )?;
    let band = |d: Decision| {
        let color = match d {
            Decision::Continue => Color::RGB(0x00C6_EFCE),
            Decision::Improve => Color::RGB(0x00FF_EB9C),
            Decision::BelowHalf => Color::RGB(0x00FF_C7CE),
            Decision::NotJudged => Color::RGB(0x00D9_D9D9),
        };
        Format::new().set_background_color(color)
    };
    for (i, m) in e.menus.iter().enumerate() {
        let row = 6 + u32::try_from(i).unwrap_or(0);
        ws.write_string(row, 0, m.menu.as_str())?;
        ws.write_string(row, 1, format!("{:?}", m.category).as_str())?;
        ws.write_number(row, 2, f64::from(m.fiscal_year))?;
        ws.write_number(row, 3, m.output as f64)?;
        match m.output_target {
            Some(t) => ws.write_number(row, 4, t as f64)?,
            None => ws.write_string(row, 4, "-")?,
        };
        ratio(ws, row, 5, m.output, m.output_target, &pct)?;
        ws.write_number(row, 6, m.outcome as f64)?;
        match m.outcome_target {
            Some(t) => ws.write_number(row, 7, t as f64)?,
            None => ws.write_string(row, 7, "-")?,
        };
        ratio(ws, row, 8, m.outcome, m.outcome_target, &pct)?;
        match m.satisfaction {
            Some(s) => ws.write_number_with_format(row, 9, s, &pct)?,
            None => ws.write_string(row, 9, "-")?,
        };
        ws.write_string_with_format(
            row,
            10,
            crate::evaluate::decision_label(m.decision, Lang::Ja),
            &band(m.decision),
        )?;
        ws.write_string(row, 11, m.rule.as_str())?;
        ws.write_string(row, 12, m.gap.as_deref().unwrap_or(""))?;
        ws.write_number(row, 13, m.pending_outcomes as f64)?;
    }
    let mut row = 7 + u32::try_from(e.menus.len()).unwrap_or(0);
    ws.write_string_with_format(row, 0, "要約", &bold)?;
    for line in &e.summary {
        row += 1;
        ws.write_string(row, 0, line.as_str())?;
    }
    ws.set_column_width(12, 36)?;

    // 3. Exclusions by rule ID, as of the cutoff.
    let now = figures(
        r,
        Query {
            as_of: e.cutoff,
            scope: Scope::FiscalYear,
        },
    );
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_EXCLUSIONS)?;
    print_setup(ws)?;
    headers(ws, 0, &["メニュー", "ルール", "件数", "内容"], &bold)?;
    let mut row = 1;
    for m in &now.menus {
        for (rule, n) in &m.excluded {
            ws.write_string(row, 0, m.menu.as_str())?;
            ws.write_string(row, 1, rule.as_str())?;
            ws.write_number(row, 2, *n as f64)?;
            ws.write_string(row, 3, rule.describe(Lang::Ja))?;
            row += 1;
        }
    }
    ws.set_column_width(3, 60)?;

    // 4. Every counted subject, with the events that count it, for the auditor.
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_SUBJECTS)?;
    print_setup(ws)?;
    ws.set_column_width(5, 12)?;
    headers(
        ws,
        0,
        &[
            "メニュー",
            "区分",
            "対象",
            "単位",
            "計上ルール",
            "初回計上日",
            "延べ",
            "参加イベント（seq）",
            "参加イベント（id）",
        ],
        &bold,
    )?;
    let mut row = 1;
    for m in &now.menus {
        for s in m.subjects.iter().filter(|s| s.verdict.counts()) {
            ws.write_string(row, 0, m.menu.as_str())?;
            ws.write_string(row, 1, format!("{:?}", m.category).as_str())?;
            ws.write_string(row, 2, s.subject.id())?;
            ws.write_string(
                row,
                3,
                if matches!(s.subject, Subject::Establishment(_)) {
                    "社"
                } else {
                    "人"
                },
            )?;
            let Verdict::Counted(rule) = s.verdict else {
                continue;
            };
            ws.write_string(row, 4, rule.as_str())?;
            if let Some(d) = s.first_counted {
                ws.write_datetime_with_format(row, 5, excel_date(d)?, &date_fmt)?;
            }
            ws.write_number(row, 6, s.counted_attendances as f64)?;
            let seqs: Vec<String> = s.attendances.iter().map(|a| a.seq.to_string()).collect();
            let ids: Vec<String> = s.attendances.iter().map(|a| a.id.to_string()).collect();
            ws.write_string(row, 7, seqs.join(",").as_str())?;
            ws.write_string(row, 8, ids.join(",").as_str())?;
            row += 1;
        }
    }
    ws.set_column_width(8, 40)?;

    // 5. The year's cumulative figures per menu, and a native line chart of
    //    each against its targets (the cutoff is the last point).
    let series = crate::report::chart::series(r, e.cutoff);
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_TREND)?;
    let mut charts = Vec::new();
    let mut row: u32 = 0;
    for s in &series {
        ws.write_string_with_format(row, 0, format!("{} {}", s.menu, s.name).as_str(), &bold)?;
        headers(
            ws,
            row + 1,
            &[
                "日付",
                "アウトプット累計",
                "アウトカム累計",
                "アウトプット目標",
                "アウトカム目標",
            ],
            &bold,
        )?;
        let first = row + 2;
        for (i, (d, output, outcome)) in s.points.iter().enumerate() {
            let r = first + u32::try_from(i).unwrap_or(0);
            ws.write_datetime_with_format(r, 0, excel_date(*d)?, &date_fmt)?;
            ws.write_number(r, 1, *output as f64)?;
            ws.write_number(r, 2, *outcome as f64)?;
            if let Some(t) = s.output_target {
                ws.write_number(r, 3, t as f64)?;
            }
            if let Some(t) = s.outcome_target {
                ws.write_number(r, 4, t as f64)?;
            }
        }
        let last = first + u32::try_from(s.points.len().saturating_sub(1)).unwrap_or(0);
        let mut chart = rust_xlsxwriter::Chart::new(rust_xlsxwriter::ChartType::Line);
        chart
            .title()
            .set_name(format!("{} {}", s.menu, s.name).as_str());
        for (col, name) in [
            (1u16, "アウトプット累計"),
            (2, "アウトカム累計"),
            (3, "アウトプット目標"),
            (4, "アウトカム目標"),
        ] {
            chart
                .add_series()
                .set_name(name)
                .set_categories((SHEET_TREND, first, 0, last, 0))
                .set_values((SHEET_TREND, first, col, last, col));
        }
        charts.push((row, chart));
        // A chart is about 15 rows tall; keep them apart.
        row = (last + 3).max(row + 18);
    }
    for (row, chart) in &charts {
        ws.insert_chart(*row, 6, chart)?;
    }
    ws.set_column_width(0, 12)?;
    Ok(wb)
}

/// Landscape, one page wide: councils print these sheets.
fn print_setup(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// The report (CONTRACT.md §3) as a workbook: one sheet, a row per menu
/// with plan, actual and rate, and the totals. Rates are formulas over
/// their cells, as in the judgement workbook.
pub fn report_workbook(report: &crate::report::Report, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_FIGURES)?;
    print_setup(ws)?;
    ws.write_string_with_format(0, 0, report.project.as_deref().unwrap_or("-"), &bold)?;
    let facts: [(&str, &str); 4] = [
        ("基準日", "as of"),
        ("集計開始日", "from"),
        ("記録時点", "known at"),
        ("最後のイベント seq", "last event seq"),
    ];
    for (i, (ja, en)) in facts.iter().enumerate() {
        ws.write_string(1 + i as u32, 0, lang.pick(ja, en))?;
    }
    ws.write_datetime_with_format(1, 1, excel_date(report.as_of)?, &date_fmt)?;
    ws.write_datetime_with_format(2, 1, excel_date(report.from)?, &date_fmt)?;
    ws.write_string(
        3,
        1,
        report
            .known_at
            .as_deref()
            .unwrap_or(lang.pick("最新", "latest")),
    )?;
    ws.write_number(4, 1, report.head.seq as f64)?;
    ws.write_string(4, 2, &report.head.hash)?;
    let names: &[&str] = match lang {
        Lang::Ja => &[
            "メニュー",
            "区分",
            "種類",
            "名称",
            "アウトプット目標",
            "アウトプット",
            "達成率",
            "アウトカム目標",
            "アウトカム",
            "達成率",
            "延べ人数",
            "地域内",
            "就職",
            "正社員転換",
            "創業者",
            "創業の従業員",
            "除外（ルール:件数）",
        ],
        Lang::En => &[
            "menu",
            "category",
            "kind",
            "name",
            "output target",
            "output",
            "rate",
            "outcome target",
            "outcome",
            "rate",
            "attendances",
            "in region",
            "hires",
            "conversions",
            "founders",
            "start-up employees",
            "excluded (rule:count)",
        ],
    };
    let head = 6;
    headers(ws, head, names, &bold)?;
    let mut row = head + 1;
    for m in &report.menus {
        ws.write_string(row, 0, &m.menu)?;
        ws.write_string(row, 1, format!("{:?}", m.category).as_str())?;
        let kind = match (m.kind, lang) {
            (crate::domain::MenuKind::Seminar, Lang::Ja) => "講習会等",
            (crate::domain::MenuKind::Accompaniment, Lang::Ja) => "伴走型支援",
            (k, _) => k.as_str(),
        };
        ws.write_string(row, 2, kind)?;
        ws.write_string(row, 3, &m.name)?;
        let target = |ws: &mut Worksheet, col: u16, t: Option<u64>| match t {
            Some(t) => ws.write_number(row, col, t as f64).map(|_| ()),
            None => ws.write_string(row, col, "-").map(|_| ()),
        };
        target(ws, 4, m.output_target)?;
        ws.write_number(row, 5, m.output as f64)?;
        ratio(ws, row, 6, m.output, m.output_target, &pct)?;
        target(ws, 7, m.outcome_target)?;
        ws.write_number(row, 8, m.outcome as f64)?;
        ratio(ws, row, 9, m.outcome, m.outcome_target, &pct)?;
        ws.write_number(row, 10, m.attendances as f64)?;
        match m.in_region_share {
            Some(v) => ws.write_number_with_format(row, 11, v, &pct).map(|_| ())?,
            None => ws.write_string(row, 11, "-").map(|_| ())?,
        }
        let b = &m.outcome_breakdown;
        for (i, v) in [b.hires, b.conversions, b.founders, b.startup_employees]
            .iter()
            .enumerate()
        {
            ws.write_number(row, 12 + i as u16, *v as f64)?;
        }
        let excluded: Vec<String> = m.excluded.iter().map(|(r, n)| format!("{r}:{n}")).collect();
        ws.write_string(row, 16, excluded.join(" ").as_str())?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, lang.pick("合計", "total"), &bold)?;
    ws.write_number_with_format(row, 5, report.totals.output as f64, &bold)?;
    ws.write_number_with_format(row, 8, report.totals.outcome as f64, &bold)?;
    ws.set_column_width(3, 24)?;
    ws.set_column_width(16, 28)?;
    ws.set_freeze_panes(head + 1, 1)?;
    wb.save_to_buffer()
}

/// `explain` as a workbook: the subjects behind each menu's output, and
/// the outcomes, each with its verdict, rule, reason and events.
pub fn explanation_workbook(
    x: &crate::report::Explanation,
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let verdict = |v: Verdict| match (v, lang) {
        (Verdict::Counted(_), Lang::Ja) => "計上",
        (Verdict::Excluded(_), Lang::Ja) => "除外",
        (Verdict::Counted(_), Lang::En) => "counted",
        (Verdict::Excluded(_), Lang::En) => "excluded",
    };
    let ws = wb.add_worksheet();
    ws.set_name(lang.pick("参加者・事業所", "subjects"))?;
    print_setup(ws)?;
    headers(
        ws,
        0,
        match lang {
            Lang::Ja => &[
                "メニュー",
                "対象",
                "ID",
                "判定",
                "ルール",
                "理由",
                "延べ",
                "初回計上日",
                "地域内",
                "参加イベント seq",
            ],
            Lang::En => &[
                "menu",
                "subject",
                "id",
                "verdict",
                "rule",
                "reason",
                "counted",
                "first counted",
                "in region",
                "attendance seqs",
            ],
        },
        &bold,
    )?;
    let mut row = 1;
    for m in &x.menus {
        for s in &m.subjects {
            ws.write_string(row, 0, &m.menu)?;
            let kind = match (&s.subject, lang) {
                (Subject::Establishment(_), Lang::Ja) => "事業所",
                (Subject::Person(_), Lang::Ja) => "個人",
                (Subject::Establishment(_), Lang::En) => "establishment",
                (Subject::Person(_), Lang::En) => "person",
            };
            ws.write_string(row, 1, kind)?;
            ws.write_string(row, 2, s.subject.id())?;
            ws.write_string(row, 3, verdict(s.verdict))?;
            ws.write_string(row, 4, s.verdict.rule().as_str())?;
            ws.write_string(row, 5, s.verdict.rule().describe(lang))?;
            ws.write_number(row, 6, s.counted_attendances as f64)?;
            if let Some(d) = s.first_counted {
                ws.write_datetime_with_format(row, 7, excel_date(d)?, &date_fmt)?;
            }
            ws.write_boolean(row, 8, s.in_region)?;
            let seqs: Vec<String> = s.attendances.iter().map(|a| a.seq.to_string()).collect();
            ws.write_string(row, 9, seqs.join(",").as_str())?;
            row += 1;
        }
    }
    ws.set_column_width(5, 40)?;
    ws.set_freeze_panes(1, 0)?;

    let ws = wb.add_worksheet();
    ws.set_name(lang.pick("アウトカム", "outcomes"))?;
    print_setup(ws)?;
    headers(
        ws,
        0,
        match lang {
            Lang::Ja => &[
                "メニュー",
                "seq",
                "種類",
                "人",
                "計上先",
                "日付",
                "判定",
                "ルール",
                "理由",
                "件数",
                "イベントID",
            ],
            Lang::En => &[
                "menu",
                "seq",
                "kind",
                "person",
                "credited to",
                "date",
                "verdict",
                "rule",
                "reason",
                "units",
                "event id",
            ],
        },
        &bold,
    )?;
    let mut row = 1;
    for m in &x.menus {
        for o in &m.outcomes {
            ws.write_string(row, 0, &m.menu)?;
            ws.write_number(row, 1, o.event.seq as f64)?;
            ws.write_string(row, 2, o.kind)?;
            ws.write_string(row, 3, &o.person)?;
            ws.write_string(row, 4, o.subject.id())?;
            match o.date {
                Some(d) => ws
                    .write_datetime_with_format(row, 5, excel_date(d)?, &date_fmt)
                    .map(|_| ())?,
                None => ws
                    .write_string(row, 5, lang.pick("不明", "unknown"))
                    .map(|_| ())?,
            }
            ws.write_string(row, 6, verdict(o.verdict))?;
            ws.write_string(row, 7, o.verdict.rule().as_str())?;
            ws.write_string(row, 8, o.verdict.rule().describe(lang))?;
            ws.write_number(row, 9, o.units as f64)?;
            ws.write_string(row, 10, o.event.id.to_string().as_str())?;
            row += 1;
        }
    }
    ws.set_column_width(8, 40)?;
    ws.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}
