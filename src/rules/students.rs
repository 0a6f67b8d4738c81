//! The students table of the guide (p.16): who may be counted, by school,
//! residence and where the job is (XO-5, XO-6, XO-7, XC-9).
//!
//! | school | residence | job | A 計上 | B output | B outcome | C output | C outcome |
//! |---|---|---|---|---|---|---|---|
//! | 大学等 | outside | in region | ○ | ○ | ○ | ○ | ○ |
//! | 大学等 | outside | outside | － | ○※3 | × | ○※3 | × |
//! | 大学等 | in region | in region | ○ | ○ | ○ | ○ | ○ |
//! | 大学等 | in region | outside | － | ○※3 | ○ | ○※3 | × |
//! | 中学・高校 | outside | in region | ○ | ○ | ○ | × | × |
//! | 中学・高校 | outside | outside | － | ○※3 | × | × | × |
//! | 中学・高校 | in region | in region | ○ | ○ | ○ | × | × |
//! | 中学・高校 | in region | outside | － | ○※3 | ○ | × | × |
//!
//! ※3: only students who wish in-region employment (XO-7). Students are
//! never A users (A 事業対象 "－"); an A establishment's in-region hire of a
//! student counts like any hire.

use super::RuleId;
use crate::domain::{Category, School};

/// Output (XO-5, XO-7): may a graduating-year student who attended a menu
/// of `category` be counted? `None` when yes, else the excluding rule.
pub fn output_exclusion(
    school: School,
    category: Category,
    wants_in_region: bool,
) -> Option<RuleId> {
    match (category, school) {
        // XO-7: students never count for A output (table "－").
        (Category::A, _) => Some(RuleId::XO7),
        // XO-5: middle/high-school students are not counted in C.
        (Category::C, School::HighSchool) => Some(RuleId::XO5),
        // XO-7 (※3): B/C count students who wish in-region employment.
        _ if !wants_in_region => Some(RuleId::XO7),
        _ => None,
    }
}

/// Outcome (XC-9): may the job of a student counted in a B or C menu be
/// counted? `resident_in_region` is the residence of the first counted
/// attendance (C-RES).
pub fn outcome_allowed(
    school: School,
    category: Category,
    resident_in_region: bool,
    job_in_region: bool,
) -> bool {
    match (category, school) {
        // B: in-region residents in or outside the region; outside
        // residents only in the region; the same for every school.
        (Category::B, _) => resident_in_region || job_in_region,
        // C: university etc. only for in-region employment, whatever the
        // residence; middle/high school never.
        (Category::C, School::University) => job_in_region,
        (Category::C, School::HighSchool) => false,
        // A outcomes are hires by establishments: in-region jobs only.
        (Category::A, _) => job_in_region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;
    use School::*;

    /// XC-9: the sixteen outcome cells of the table (school × residence ×
    /// job place × B/C), row by row as the guide prints them.
    #[test]
    fn xc_9_students_table_outcome_cells() {
        let cells = [
            // (school, resident in region, job in region, B outcome, C outcome)
            (University, false, true, true, true),
            (University, false, false, false, false),
            (University, true, true, true, true),
            (University, true, false, true, false),
            (HighSchool, false, true, true, false),
            (HighSchool, false, false, false, false),
            (HighSchool, true, true, true, false),
            (HighSchool, true, false, true, false),
        ];
        for (school, res_in, job_in, b, c) in cells {
            assert_eq!(
                outcome_allowed(school, B, res_in, job_in),
                b,
                "B {school:?} res_in={res_in} job_in={job_in}"
            );
            assert_eq!(
                outcome_allowed(school, C, res_in, job_in),
                c,
                "C {school:?} res_in={res_in} job_in={job_in}"
            );
        }
    }

    /// XO-5, XO-7: the output cells (school × category, with the ※3 wish).
    #[test]
    fn xo_5_xo_7_students_table_output_cells() {
        assert_eq!(output_exclusion(University, B, true), None);
        assert_eq!(output_exclusion(University, C, true), None);
        assert_eq!(output_exclusion(HighSchool, B, true), None);
        assert_eq!(output_exclusion(HighSchool, C, true), Some(RuleId::XO5));
        assert_eq!(output_exclusion(University, B, false), Some(RuleId::XO7));
        assert_eq!(output_exclusion(University, C, false), Some(RuleId::XO7));
        assert_eq!(output_exclusion(HighSchool, B, false), Some(RuleId::XO7));
        assert_eq!(output_exclusion(University, A, true), Some(RuleId::XO7));
        assert_eq!(output_exclusion(HighSchool, A, true), Some(RuleId::XO7));
    }

    #[test]
    fn a_column_counts_in_region_jobs_only() {
        assert!(outcome_allowed(University, A, false, true));
        assert!(!outcome_allowed(HighSchool, A, true, false));
    }
}
