//! Outcome rules (アウトカム, guide p.14–16): C-A1…C-A5, C-BC1, C-BC2 and
//! the exclusions XC-1…XC-9, with C-RES. Attribution to menus (C-ATTR) and
//! the project's dedup (C-DEDUP) are the projection's; each function here
//! decides one outcome for one menu in which its subject is counted.

use super::{students, RuleId, Verdict};
use crate::domain::{
    AttendanceTerms, Category, ConversionTerms, Date, HireTerms, Place, StartupTerms,
};

/// The least contracted hours a week of an outcome (XC-6), in hundredths.
pub const WEEKLY_HOURS_MIN_HUNDREDTHS: u32 = 20 * 100;

/// The subject's first counted attendance of the menu: the date XC-7
/// compares with, the output rule that counted it, and the attendance whose
/// residence, student status and location the outcome rules look at (C-RES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstUse {
    /// Date of the first counted attendance of the menu.
    pub date: Date,
    /// The output rule that counted it (O-A1 … O-BC2).
    pub rule: RuleId,
    /// What the rules read of the attendance itself.
    pub attendance: AttendanceTerms,
    /// The subject's first counted attendance of any menu: "before using
    /// the programme" (XC-2, XC-3).
    pub programme_first: Date,
}

fn place_in(p: Place) -> Option<bool> {
    match p {
        Place::InRegion => Some(true),
        Place::OutRegion => Some(false),
        Place::Unknown => None,
    }
}

/// Exclusions every hire goes through, in the order of RULES.md.
fn hire_exclusions(h: &HireTerms, first: &FirstUse) -> Option<RuleId> {
    // XC-1: regular recruitment is not caused by the programme.
    if h.regular_recruitment == Some(true) {
        return Some(RuleId::XC1);
    }
    // XC-2: already employed before using the programme.
    if h.employed_before_use == Some(true) {
        return Some(RuleId::XC2);
    }
    // XC-3: an offer held, or an interview taken, before using the
    // programme.
    if h.offer_date.is_some_and(|o| o < first.programme_first)
        || h.interviewed_on.is_some_and(|i| i < first.programme_first)
    {
        return Some(RuleId::XC3);
    }
    // XC-4: without a start date, "after the attendance" cannot be checked.
    let start = match h.start_date {
        Some(d) => d,
        None => return Some(RuleId::XC4),
    };
    // XC-6: under 20 contracted hours a week.
    if h.weekly_hours.hundredths() < WEEKLY_HOURS_MIN_HUNDREDTHS {
        return Some(RuleId::XC6);
    }
    // XC-7 (interpretation): the offer (or the start, when no offer date is
    // known) must come after the first counted attendance of the menu.
    if h.offer_date.unwrap_or(start) <= first.date {
        return Some(RuleId::XC7);
    }
    None
}

/// C-BC1, C-BC2 (with XC-1…XC-9 and C-RES): a hire of a person counted in
/// the output of a B or C menu.
pub fn hire_bc(category: Category, h: &HireTerms, first: &FirstUse) -> Verdict {
    if let Some(rule) = hire_exclusions(h, first) {
        return Verdict::Excluded(rule);
    }
    let job_in = place_in(h.workplace);
    // C-RES: residence and student status of the first counted attendance.
    let resident_in = first.attendance.residence == Some(Place::InRegion);
    if let Some(s) = &first.attendance.student {
        let Some(job_in) = job_in else {
            return Verdict::Excluded(RuleId::XC4);
        };
        if !students::outcome_allowed(s.school, category, resident_in, job_in) {
            return Verdict::Excluded(RuleId::XC9);
        }
    }
    match first.rule {
        RuleId::OBC1 => Verdict::Counted(RuleId::CBC1),
        // C-BC2: jobs in the region only; an unknown workplace cannot show it.
        RuleId::OBC2 => match job_in {
            Some(true) => Verdict::Counted(RuleId::CBC2),
            Some(false) => Verdict::Excluded(RuleId::CBC2),
            None => Verdict::Excluded(RuleId::XC4),
        },
        _ => Verdict::Excluded(RuleId::XC8),
    }
}

fn conversion_exclusions(c: &ConversionTerms, first: &FirstUse) -> Option<RuleId> {
    // XC-1: a conversion that only fills a regular employee's vacancy.
    if c.vacancy_fill == Some(true) {
        return Some(RuleId::XC1);
    }
    if c.weekly_hours.hundredths() < WEEKLY_HOURS_MIN_HUNDREDTHS {
        return Some(RuleId::XC6);
    }
    if c.date <= first.date {
        return Some(RuleId::XC7);
    }
    None
}

/// C-BC1 (with C-RES): a regular conversion of a person counted in a B or C
/// menu. Conversions count for in-region residents only; C-BC2 counts jobs.
pub fn conversion_bc(c: &ConversionTerms, first: &FirstUse) -> Verdict {
    if let Some(rule) = conversion_exclusions(c, first) {
        return Verdict::Excluded(rule);
    }
    match first.rule {
        RuleId::OBC1 => Verdict::Counted(RuleId::CBC1),
        RuleId::OBC2 => Verdict::Excluded(RuleId::CRES),
        _ => Verdict::Excluded(RuleId::XC8),
    }
}

/// C-A1, C-A2, C-A5: a hire by an establishment counted in an A menu.
pub fn hire_a(h: &HireTerms, first: &FirstUse) -> Verdict {
    if let Some(rule) = hire_exclusions(h, first) {
        return Verdict::Excluded(rule);
    }
    match first.rule {
        RuleId::OA1 => Verdict::Counted(RuleId::CA1),
        RuleId::OA5 => Verdict::Counted(RuleId::CA5),
        // C-A2: only hires at the new in-region site count.
        RuleId::OA2 => match (place_in(h.workplace), h.new_site_in_region) {
            (None, _) => Verdict::Excluded(RuleId::XC4),
            (Some(true), Some(true)) => Verdict::Counted(RuleId::CA2),
            _ => Verdict::Excluded(RuleId::CA2),
        },
        _ => Verdict::Excluded(RuleId::XC8),
    }
}

/// C-A1, C-A5: a regular conversion by an establishment counted in an A
/// menu. (C-A2 counts hires at the new site only.)
pub fn conversion_a(c: &ConversionTerms, first: &FirstUse) -> Verdict {
    if let Some(rule) = conversion_exclusions(c, first) {
        return Verdict::Excluded(rule);
    }
    match first.rule {
        RuleId::OA1 => Verdict::Counted(RuleId::CA1),
        RuleId::OA5 => Verdict::Counted(RuleId::CA5),
        RuleId::OA2 => Verdict::Excluded(RuleId::CA2),
        _ => Verdict::Excluded(RuleId::XC8),
    }
}

/// What a start-up gives a menu: the founder and the employees are
/// separate outcomes (C-A3, C-A4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartupVerdict {
    /// The founder (①).
    pub founder: Verdict,
    /// The employees (②), all decided alike.
    pub employees: Verdict,
    /// How many employees.
    pub employee_count: u32,
}

/// C-A3, C-A4 (with XC-5, XC-7): a start-up by a founder counted in an A
/// seminar.
pub fn startup_a(s: &StartupTerms, first: &FirstUse) -> StartupVerdict {
    let n = s.employees.0;
    let both = |v| StartupVerdict {
        founder: v,
        employees: v,
        employee_count: n,
    };
    // XC-5: a founder who employs nobody is a freelancer.
    if n == 0 {
        return both(Verdict::Excluded(RuleId::XC5));
    }
    if s.date <= first.date {
        return both(Verdict::Excluded(RuleId::XC7));
    }
    match (first.rule, place_in(s.location)) {
        // C-A3 ①: founded in or outside the region; ② employees of an
        // in-region start-up only.
        (RuleId::OA3, Some(true)) => both(Verdict::Counted(RuleId::CA3)),
        (RuleId::OA3, Some(false)) => StartupVerdict {
            founder: Verdict::Counted(RuleId::CA3),
            employees: Verdict::Excluded(RuleId::CA3),
            employee_count: n,
        },
        (RuleId::OA3, None) => StartupVerdict {
            founder: Verdict::Counted(RuleId::CA3),
            employees: Verdict::Excluded(RuleId::XC4),
            employee_count: n,
        },
        // C-A4: founded in the region only.
        (RuleId::OA4, Some(true)) => both(Verdict::Counted(RuleId::CA4)),
        (RuleId::OA4, Some(false)) => both(Verdict::Excluded(RuleId::CA4)),
        (RuleId::OA4, None) => both(Verdict::Excluded(RuleId::XC4)),
        _ => both(Verdict::Excluded(RuleId::XC8)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Attendance, Conversion, Hire, Startup};
    use serde_json::json;

    fn att(v: serde_json::Value) -> Attendance {
        let mut base = json!({"menu":"M","date":"2024-11-01","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true});
        if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
            b.extend(o.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn hire(v: serde_json::Value) -> HireTerms {
        let mut base = json!({"person":"P","start_date":"2025-01-06","workplace":"in_region","weekly_hours":40});
        if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
            b.extend(o.clone());
        }
        serde_json::from_value::<Hire>(base).unwrap().terms()
    }

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    fn first(rule: RuleId, a: &Attendance) -> FirstUse {
        FirstUse {
            date: a.date,
            rule,
            attendance: a.terms(),
            programme_first: a.date,
        }
    }

    #[test]
    fn c_bc1_job_of_an_in_region_resident_anywhere() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"workplace":"out_region"})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Counted(RuleId::CBC1)
        );
    }

    #[test]
    fn c_bc2_job_of_an_outside_resident_in_the_region_only() {
        let a = att(json!({"residence":"out_region","wants_in_region":true}));
        let f = first(RuleId::OBC2, &a);
        assert_eq!(
            hire_bc(Category::C, &hire(json!({})), &f),
            Verdict::Counted(RuleId::CBC2)
        );
        assert_eq!(
            hire_bc(Category::C, &hire(json!({"workplace":"out_region"})), &f),
            Verdict::Excluded(RuleId::CBC2)
        );
    }

    #[test]
    fn xc_1_regular_recruitment_and_vacancy_fills() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"regular_recruitment":true})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Excluded(RuleId::XC1)
        );
        let c = serde_json::from_value::<Conversion>(json!({"person":"P","employer":"E","date":"2025-01-06","weekly_hours":40,"vacancy_fill":true}))
            .unwrap()
            .terms();
        assert_eq!(
            conversion_bc(&c, &first(RuleId::OBC1, &a)),
            Verdict::Excluded(RuleId::XC1)
        );
    }

    #[test]
    fn xc_2_already_employed_before_use() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"employed_before_use":true})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Excluded(RuleId::XC2)
        );
    }

    /// Worked example 2 (RULES.md §9): an offer before the attendance.
    #[test]
    fn xc_3_prior_offer_is_excluded() {
        let a = att(json!({}));
        let h = hire(json!({"offer_date":"2024-10-25","start_date":"2024-11-15"}));
        assert_eq!(
            hire_bc(Category::B, &h, &first(RuleId::OBC1, &a)),
            Verdict::Excluded(RuleId::XC3)
        );
        // An interview before use, with the offer after, is a prior offer too.
        let h = hire(
            json!({"interviewed_on":"2024-10-20","offer_date":"2024-11-10","start_date":"2024-12-01"}),
        );
        assert_eq!(
            hire_bc(Category::B, &h, &first(RuleId::OBC1, &a)),
            Verdict::Excluded(RuleId::XC3)
        );
    }

    /// Regression: exclusions are reported in RULES.md order (XC-3 before
    /// XC-4 and XC-6), so a prior offer is not counted as "pending".
    #[test]
    fn xc_3_before_xc_4_and_xc_6_in_rules_order() {
        let a = att(json!({}));
        let h =
            hire(json!({"offer_date":"2024-10-25","start_date":"2024-11-15","weekly_hours":10}));
        assert_eq!(
            hire_bc(Category::B, &h, &first(RuleId::OBC1, &a)),
            Verdict::Excluded(RuleId::XC3)
        );
        let h = hire(json!({"interviewed_on":"2024-10-20","start_date":null}));
        assert_eq!(
            hire_bc(Category::B, &h, &first(RuleId::OBC1, &a)),
            Verdict::Excluded(RuleId::XC3)
        );
    }

    #[test]
    fn xc_4_unknown_start_date_or_workplace() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"start_date":null})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Excluded(RuleId::XC4)
        );
        let out = att(json!({"residence":"out_region","wants_in_region":true}));
        assert_eq!(
            hire_bc(
                Category::C,
                &hire(json!({"workplace":"unknown"})),
                &first(RuleId::OBC2, &out)
            ),
            Verdict::Excluded(RuleId::XC4)
        );
    }

    #[test]
    fn xc_5_founder_without_employees() {
        let a = att(json!({"role":"startup_hopeful"}));
        let s = serde_json::from_value::<Startup>(
            json!({"person":"P","date":"2025-01-20","location":"in_region","employees":0}),
        )
        .unwrap()
        .terms();
        assert_eq!(
            startup_a(&s, &first(RuleId::OA3, &a)).founder,
            Verdict::Excluded(RuleId::XC5)
        );
    }

    #[test]
    fn xc_6_under_twenty_hours() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"weekly_hours":19.75})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Excluded(RuleId::XC6)
        );
        assert_eq!(
            hire_bc(
                Category::B,
                &hire(json!({"weekly_hours":20})),
                &first(RuleId::OBC1, &a)
            ),
            Verdict::Counted(RuleId::CBC1)
        );
    }

    /// Worked example 3: the offer came before the first attendance of C-1.
    #[test]
    fn xc_7_outcome_not_after_the_first_counted_attendance_of_the_menu() {
        let b1 = att(json!({"date":"2024-11-01"}));
        let c1 = att(json!({"date":"2025-01-10"}));
        let h = hire(json!({"offer_date":"2024-12-01","start_date":"2025-01-06"}));
        let fb = first(RuleId::OBC1, &b1);
        let fc = FirstUse {
            programme_first: d("2024-11-01"),
            ..first(RuleId::OBC1, &c1)
        };
        assert_eq!(
            hire_bc(Category::B, &h, &fb),
            Verdict::Counted(RuleId::CBC1)
        );
        assert_eq!(
            hire_bc(Category::C, &h, &fc),
            Verdict::Excluded(RuleId::XC7)
        );
        // The same day is not after.
        let same = hire(json!({"start_date":"2024-11-01"}));
        assert_eq!(
            hire_bc(Category::B, &same, &fb),
            Verdict::Excluded(RuleId::XC7)
        );
    }

    #[test]
    fn xc_8_not_counted_in_the_menus_output() {
        let a = att(json!({}));
        assert_eq!(
            hire_bc(Category::B, &hire(json!({})), &first(RuleId::OA3, &a)),
            Verdict::Excluded(RuleId::XC8)
        );
    }

    /// Worked example 6: a graduating university student counted in C,
    /// hired outside the region.
    #[test]
    fn xc_9_students_table_applies_to_outcomes() {
        let a = att(
            json!({"wants_in_region":true,"student":{"school":"university","graduating_year":2024}}),
        );
        let f = first(RuleId::OBC1, &a);
        assert_eq!(
            hire_bc(Category::C, &hire(json!({"workplace":"out_region"})), &f),
            Verdict::Excluded(RuleId::XC9)
        );
        assert_eq!(
            hire_bc(Category::B, &hire(json!({"workplace":"out_region"})), &f),
            Verdict::Counted(RuleId::CBC1)
        );
    }

    #[test]
    fn c_res_conversions_count_for_in_region_residents_only() {
        let out = att(
            json!({"role":"conversion_hopeful","residence":"out_region","wants_in_region":true}),
        );
        let c = serde_json::from_value::<Conversion>(
            json!({"person":"P","employer":"E","date":"2025-01-06","weekly_hours":40}),
        )
        .unwrap()
        .terms();
        assert_eq!(
            conversion_bc(&c, &first(RuleId::OBC2, &out)),
            Verdict::Excluded(RuleId::CRES)
        );
        let inr = att(json!({"role":"conversion_hopeful"}));
        assert_eq!(
            conversion_bc(&c, &first(RuleId::OBC1, &inr)),
            Verdict::Counted(RuleId::CBC1)
        );
    }

    #[test]
    fn c_a1_hires_and_conversions_by_an_in_region_establishment() {
        let a = att(
            json!({"role":"establishment","establishment":"E","establishment_location":"in_region"}),
        );
        assert_eq!(
            hire_a(&hire(json!({"employer":"E"})), &first(RuleId::OA1, &a)),
            Verdict::Counted(RuleId::CA1)
        );
        let c = serde_json::from_value::<Conversion>(
            json!({"person":"Q","employer":"E","date":"2025-01-06","weekly_hours":40}),
        )
        .unwrap()
        .terms();
        assert_eq!(
            conversion_a(&c, &first(RuleId::OA1, &a)),
            Verdict::Counted(RuleId::CA1)
        );
    }

    #[test]
    fn c_a2_hires_at_the_new_in_region_site_only() {
        let a = att(
            json!({"role":"establishment","establishment":"E","establishment_location":"out_region","wants_in_region":true}),
        );
        let f = first(RuleId::OA2, &a);
        assert_eq!(
            hire_a(&hire(json!({"employer":"E","new_site_in_region":true})), &f),
            Verdict::Counted(RuleId::CA2)
        );
        assert_eq!(
            hire_a(
                &hire(json!({"employer":"E","workplace":"out_region","new_site_in_region":true})),
                &f
            ),
            Verdict::Excluded(RuleId::CA2)
        );
        assert_eq!(
            hire_a(&hire(json!({"employer":"E"})), &f),
            Verdict::Excluded(RuleId::CA2)
        );
    }

    /// Worked example 5 (RULES.md §9): H1 and H4.
    #[test]
    fn c_a3_in_region_founder_anywhere_employees_in_region_only() {
        let a = att(json!({"role":"startup_hopeful","date":"2024-11-05"}));
        let tokyo = serde_json::from_value::<Startup>(
            json!({"person":"H1","date":"2025-01-20","location":"out_region","employees":2}),
        )
        .unwrap()
        .terms();
        let v = startup_a(&tokyo, &first(RuleId::OA3, &a));
        assert_eq!(
            (v.founder, v.employees),
            (
                Verdict::Counted(RuleId::CA3),
                Verdict::Excluded(RuleId::CA3)
            )
        );
        let home = serde_json::from_value::<Startup>(
            json!({"person":"H4","date":"2025-01-20","location":"in_region","employees":0}),
        )
        .unwrap()
        .terms();
        assert_eq!(
            startup_a(&home, &first(RuleId::OA3, &a)).founder,
            Verdict::Excluded(RuleId::XC5)
        );
    }

    /// Worked example 5: H2 (+4) and H3 (+0).
    #[test]
    fn c_a4_outside_founder_counts_only_starting_up_in_the_region() {
        let a = att(
            json!({"role":"startup_hopeful","residence":"out_region","wants_in_region":true,"date":"2024-11-05"}),
        );
        let inr = serde_json::from_value::<Startup>(
            json!({"person":"H2","date":"2025-01-20","location":"in_region","employees":3}),
        )
        .unwrap()
        .terms();
        let v = startup_a(&inr, &first(RuleId::OA4, &a));
        assert_eq!(
            (v.founder, v.employees, v.employee_count),
            (
                Verdict::Counted(RuleId::CA4),
                Verdict::Counted(RuleId::CA4),
                3
            )
        );
        let out = serde_json::from_value::<Startup>(
            json!({"person":"H3","date":"2025-01-20","location":"out_region","employees":3}),
        )
        .unwrap()
        .terms();
        assert_eq!(
            startup_a(&out, &first(RuleId::OA4, &a)).founder,
            Verdict::Excluded(RuleId::CA4)
        );
    }

    #[test]
    fn c_a5_hires_by_an_accompanied_establishment() {
        let a = att(
            json!({"role":"establishment","establishment":"E","establishment_location":"in_region"}),
        );
        assert_eq!(
            hire_a(&hire(json!({"employer":"E"})), &first(RuleId::OA5, &a)),
            Verdict::Counted(RuleId::CA5)
        );
    }
}
