//! Fiscal years and the two kinds of time (F-1, F-2, T-1, E-3).

use super::RuleId;
use crate::domain::Date;
use chrono::{Datelike, NaiveDate};

/// F-1: the fiscal year (1 April – 31 March) containing `d`, named by the
/// calendar year it starts in.
pub fn fiscal_year(d: Date) -> u16 {
    let y = d.0.year() - i32::from(d.0.month() < 4);
    u16::try_from(y).unwrap_or(0)
}

/// The first day of fiscal year `fy`.
pub fn fiscal_year_start(fy: u16) -> Option<Date> {
    NaiveDate::from_ymd_opt(i32::from(fy), 4, 1).and_then(Date::new)
}

/// The last day of fiscal year `fy`.
pub fn fiscal_year_end(fy: u16) -> Option<Date> {
    NaiveDate::from_ymd_opt(i32::from(fy) + 1, 3, 31).and_then(Date::new)
}

/// What period figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// F-1: the fiscal year containing the as-of date (from the contract
    /// start for year 1).
    FiscalYear,
    /// F-2: from the contract start.
    Cumulative,
}

/// The dates figures cover: `from` to `as_of`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day counted.
    pub from: Date,
    /// The as-of date (T-1).
    pub as_of: Date,
}

impl Window {
    /// The window of `scope` as of `as_of`, for a project starting on
    /// `contract_start`. F-1: year 1's fiscal year starts at the contract
    /// start.
    pub fn new(as_of: Date, contract_start: Date, scope: Scope) -> Window {
        let from = match scope {
            Scope::Cumulative => contract_start,
            Scope::FiscalYear => fiscal_year_start(fiscal_year(as_of))
                .map_or(contract_start, |s| s.max(contract_start)),
        };
        Window { from, as_of }
    }

    /// T-1: an attendance (or any dated fact) dated within the window.
    pub fn holds(&self, d: Date) -> bool {
        self.from <= d && d <= self.as_of
    }

    /// T-1 and E-3: whether an outcome dated `date` counts as of the window's
    /// date, and under which rule. An outcome dated later than the as-of
    /// date counts when it was confirmed by then (offer on or before it) and
    /// starts in the same fiscal year, unless it is regular recruitment.
    pub fn outcome(
        &self,
        date: Date,
        offer: Option<Date>,
        regular_recruitment: bool,
    ) -> Option<RuleId> {
        if self.holds(date) {
            return Some(RuleId::T1);
        }
        let confirmed = offer.is_some_and(|o| o <= self.as_of);
        let same_year = date > self.as_of && fiscal_year(date) == fiscal_year(self.as_of);
        (confirmed && same_year && !regular_recruitment && date >= self.from).then_some(RuleId::E3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    #[test]
    fn f_1_fiscal_years_run_april_to_march() {
        assert_eq!(fiscal_year(d("2024-04-01")), 2024);
        assert_eq!(fiscal_year(d("2025-03-31")), 2024);
        assert_eq!(fiscal_year(d("2025-04-01")), 2025);
        // Year 1 starts at the contract start.
        let w = Window::new(d("2025-02-28"), d("2024-10-01"), Scope::FiscalYear);
        assert_eq!(w.from, d("2024-10-01"));
        let w = Window::new(d("2025-06-30"), d("2024-10-01"), Scope::FiscalYear);
        assert_eq!(w.from, d("2025-04-01"));
    }

    #[test]
    fn f_2_cumulative_figures_start_at_the_contract_start() {
        let w = Window::new(d("2026-01-31"), d("2024-10-01"), Scope::Cumulative);
        assert_eq!(w.from, d("2024-10-01"));
        assert!(w.holds(d("2024-11-01")));
    }

    #[test]
    fn t_1_as_of_counts_what_happened_by_the_date() {
        let w = Window::new(d("2025-02-28"), d("2024-10-01"), Scope::FiscalYear);
        assert!(w.holds(d("2025-02-28")));
        assert!(!w.holds(d("2025-03-01")));
        assert_eq!(w.outcome(d("2025-01-06"), None, false), Some(RuleId::T1));
    }

    #[test]
    fn e_3_confirmed_future_outcomes_count_within_the_fiscal_year() {
        // Worked example 4: offer 2025-02-14, start 2025-03-10, cutoff 2025-02-28.
        let w = Window::new(d("2025-02-28"), d("2024-10-01"), Scope::FiscalYear);
        assert_eq!(
            w.outcome(d("2025-03-10"), Some(d("2025-02-14")), false),
            Some(RuleId::E3)
        );
        // Offer after the cutoff: not counted.
        assert_eq!(
            w.outcome(d("2025-03-10"), Some(d("2025-03-02")), false),
            None
        );
        // Start in the next fiscal year: not counted.
        assert_eq!(
            w.outcome(d("2025-04-01"), Some(d("2025-02-14")), false),
            None
        );
        // Regular recruitment is never counted ahead.
        assert_eq!(
            w.outcome(d("2025-03-10"), Some(d("2025-02-14")), true),
            None
        );
    }
}
