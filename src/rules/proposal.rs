//! RULES.md §7, the proposal checks (guide p.3–4, p.28), as pure functions
//! over published statistics and a plan: P-1 (is a region an
//! employment-shortage region), P-2 (a joint region of several
//! municipalities, cases 1–7 of the guide's table) and P-3 (the cost cap).
//!
//! Every comparison is between exact fractions: a ratio exactly at the
//! threshold is at it (以下), never a float's neighbour. Ratios are compared
//! unrounded; they are rounded only for display.

use super::RuleId;
use serde::{Serialize, Serializer};
use std::cmp::Ordering;

/// An exact fraction, for ratios and rates (the denominator is positive).
#[derive(Debug, Clone, Copy)]
pub struct Frac {
    num: i128,
    den: i128,
}

impl Frac {
    /// `num / den`; `None` when `den` is 0.
    pub fn new(num: i128, den: i128) -> Option<Frac> {
        match den.cmp(&0) {
            Ordering::Equal => None,
            Ordering::Greater => Some(Frac { num, den }),
            Ordering::Less => Some(Frac {
                num: -num,
                den: -den,
            }),
        }
    }

    /// A whole number.
    pub const fn int(n: i128) -> Frac {
        Frac { num: n, den: 1 }
    }

    /// A decimal as written (`0.67`, `1`, `-0.012`), or a percentage
    /// (`2.5%`), exactly.
    pub fn parse_decimal(text: &str) -> Option<Frac> {
        let t = text.trim();
        let (t, percent) = match t.strip_suffix('%').or_else(|| t.strip_suffix('％')) {
            Some(rest) => (rest.trim(), true),
            None => (t, false),
        };
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 9
            || whole.len() > 9
        {
            return None;
        }
        let digits: i128 = format!("{whole}{frac}").parse().ok()?;
        let mut den = 10i128.pow(frac.len() as u32);
        if percent {
            den *= 100;
        }
        Frac::new(if neg { -digits } else { digits }, den)
    }

    /// The value as a float, for display and JSON.
    pub fn value(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Rounded to `places` decimals (half away from zero), for display.
    pub fn rounded(self, places: u32) -> f64 {
        let scale = 10i128.pow(places);
        let scaled = self.num * scale * 2;
        let q = if scaled >= 0 {
            (scaled + self.den) / (self.den * 2)
        } else {
            (scaled - self.den) / (self.den * 2)
        };
        q as f64 / scale as f64
    }
}

impl PartialEq for Frac {
    fn eq(&self, other: &Frac) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Frac {}

impl PartialOrd for Frac {
    fn partial_cmp(&self, other: &Frac) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Frac {
    fn cmp(&self, other: &Frac) -> Ordering {
        // Both denominators are positive: cross-multiplying keeps the order.
        (self.num * other.den).cmp(&(other.num * self.den))
    }
}

/// In JSON: the value to six decimals.
impl Serialize for Frac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.rounded(6))
    }
}

/// The lower clamp of the national threshold (guide p.3: 0.67).
pub const THRESHOLD_MIN: Frac = Frac { num: 67, den: 100 };
/// The upper clamp of the national threshold (guide p.3: 1.00).
pub const THRESHOLD_MAX: Frac = Frac::int(1);
/// P-3: the most a proposal may plan to spend per outcome, in yen.
pub const COST_CAP_YEN: u64 = 1_000_000;

/// A region's statistics for one judgement: one municipality's, or a
/// group's summed (P-2: sums first, never an average of ratios).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Effective job openings (有効求人数) over the last 3 years.
    pub openings_3y: u64,
    /// Effective job seekers (有効求職者数) over the last 3 years.
    pub seekers_3y: u64,
    /// Effective job openings in the last year.
    pub openings_1y: u64,
    /// Effective job seekers in the last year.
    pub seekers_1y: u64,
    /// Population in the year judged.
    pub population: u64,
    /// Population five years before.
    pub population_5y_before: u64,
}

impl Figures {
    /// The figures of two regions together.
    pub fn plus(self, o: Figures) -> Figures {
        Figures {
            openings_3y: self.openings_3y + o.openings_3y,
            seekers_3y: self.seekers_3y + o.seekers_3y,
            openings_1y: self.openings_1y + o.openings_1y,
            seekers_1y: self.seekers_1y + o.seekers_1y,
            population: self.population + o.population,
            population_5y_before: self.population_5y_before + o.population_5y_before,
        }
    }
}

/// What P-1 compares a region with: the national ratios and the national
/// five-year population decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct National {
    /// The national job-opening ratio over the last 3 years.
    pub ratio_3y: Frac,
    /// The national job-opening ratio in the last year.
    pub ratio_1y: Frac,
    /// The national population decline over five years (a fall of 2 % is
    /// 0.02; a rise is negative).
    pub decline_5y: Frac,
}

impl National {
    /// From national statistics summed the same way as a region's.
    pub fn from_figures(f: &Figures) -> Result<National, Undefined> {
        Ok(National {
            ratio_3y: ratio(f.openings_3y, f.seekers_3y, "3y")?,
            ratio_1y: ratio(f.openings_1y, f.seekers_1y, "1y")?,
            decline_5y: decline(f)?,
        })
    }
}

/// A figure that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undefined {
    /// No job seekers: the ratio is undefined.
    #[error("no effective job seekers over {0}: the job-opening ratio is undefined")]
    NoSeekers(&'static str),
    /// No population five years before.
    #[error("a population of 0 five years before: the decline is undefined")]
    NoPopulation,
}

fn ratio(openings: u64, seekers: u64, span: &'static str) -> Result<Frac, Undefined> {
    Frac::new(i128::from(openings), i128::from(seekers)).ok_or(Undefined::NoSeekers(span))
}

fn decline(f: &Figures) -> Result<Frac, Undefined> {
    Frac::new(
        i128::from(f.population_5y_before) - i128::from(f.population),
        i128::from(f.population_5y_before),
    )
    .ok_or(Undefined::NoPopulation)
}

/// P-1: the national ratio clamped to [0.67, 1.00] (guide p.3: "１を超える
/// 場合には1.00。0.67未満である場合には0.67").
pub fn threshold(national: Frac) -> Frac {
    national.clamp(THRESHOLD_MIN, THRESHOLD_MAX)
}

/// P-1 for one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShortageTest {
    /// The region's ratio over the last 3 years (openings / seekers).
    pub ratio_3y: Frac,
    /// The region's ratio in the last year.
    pub ratio_1y: Frac,
    /// The clamped national ratio over 3 years.
    pub threshold_3y: Frac,
    /// The clamped national ratio in the last year.
    pub threshold_1y: Frac,
    /// ① by the 3-year ratio: at or below its threshold.
    pub at_or_below_3y: bool,
    /// ① by the last year's ratio.
    pub at_or_below_1y: bool,
    /// The region's population decline over five years.
    pub population_decline_5y: Frac,
    /// The national one.
    pub national_decline_5y: Frac,
    /// ②: a ratio (3-year or last year) below 1, and the population fell by
    /// at least the national rate.
    pub population_test: bool,
    /// ① or ②: an employment-shortage region (雇用機会不足地域).
    pub shortage: bool,
}

/// P-1: is the region an employment-shortage region?
pub fn p1_shortage(f: &Figures, national: &National) -> Result<ShortageTest, Undefined> {
    let ratio_3y = ratio(f.openings_3y, f.seekers_3y, "3y")?;
    let ratio_1y = ratio(f.openings_1y, f.seekers_1y, "1y")?;
    let threshold_3y = threshold(national.ratio_3y);
    let threshold_1y = threshold(national.ratio_1y);
    let at_or_below_3y = ratio_3y <= threshold_3y;
    let at_or_below_1y = ratio_1y <= threshold_1y;
    let population_decline_5y = decline(f)?;
    let one = Frac::int(1);
    let population_test =
        (ratio_3y < one || ratio_1y < one) && population_decline_5y >= national.decline_5y;
    Ok(ShortageTest {
        ratio_3y,
        ratio_1y,
        threshold_3y,
        threshold_1y,
        at_or_below_3y,
        at_or_below_1y,
        population_decline_5y,
        national_decline_5y: national.decline_5y,
        population_test,
        shortage: at_or_below_3y || at_or_below_1y || population_test,
    })
}

/// One municipality of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name, as in the statistics.
    pub name: String,
    /// Its own figures.
    pub figures: Figures,
    /// Designated depopulated (過疎等地域).
    pub depopulated: bool,
}

/// How a member stands on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberTest {
    /// The municipality.
    pub municipality: String,
    /// P-1 on its own figures.
    #[serde(flatten)]
    pub test: ShortageTest,
    /// Designated depopulated.
    pub depopulated: bool,
}

/// The kind of application a region may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Application {
    /// 雇用機会不足地域.
    Shortage,
    /// 過疎等地域.
    Depopulated,
    /// Neither.
    NotEligible,
}

impl Application {
    /// For people.
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            Application::Shortage => lang.pick("雇用機会不足地域", "employment-shortage region"),
            Application::Depopulated => lang.pick("過疎等地域", "depopulated region"),
            Application::NotEligible => lang.pick("対象外", "not eligible"),
        }
    }
}

/// P-1 and P-2 for an application of one or more municipalities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// Each member on its own.
    pub members: Vec<MemberTest>,
    /// P-1 on the members' summed figures (for one municipality, its own).
    pub joint: ShortageTest,
    /// The case of the guide's table (1–7), by how many members are
    /// shortage regions and how many depopulated.
    pub case: u8,
    /// What the region may apply as.
    pub application: Application,
    /// The rule that decided: P-1 (a shortage region by the figures), P-2
    /// (by a depopulated member, or not eligible).
    pub rule: RuleId,
}

/// The guide's case (p.4) for an application with `shortage` members that
/// are employment-shortage regions on their own and `depopulated` members
/// that are designated depopulated: 1 (≥2 shortage and a depopulated
/// member), 2 (1 shortage, a depopulated member), 3 (≥2 shortage, none
/// depopulated), 4 (1 shortage), 5 (≥2 depopulated, no shortage), 6 (1
/// depopulated), 7 (neither). The guide's examples have three members; the
/// counts extend them to any number, and a single municipality falls in
/// 2, 4, 6 or 7.
pub fn case(shortage: usize, depopulated: usize) -> u8 {
    match (shortage, depopulated) {
        (s, d) if s >= 2 && d >= 1 => 1,
        (1, d) if d >= 1 => 2,
        (s, 0) if s >= 2 => 3,
        (1, 0) => 4,
        (0, d) if d >= 2 => 5,
        (0, 1) => 6,
        _ => 7,
    }
}

/// P-2: the application of `members` (one or more). With a shortage
/// member, the members' summed figures are judged under P-1: a shortage
/// application if they qualify; else a depopulated one if any member is
/// depopulated; else not eligible. Without one: depopulated if any member
/// is, else not eligible.
///
/// Interpretation (RULES.md §7 summarises; the guide, p.4, decides): the
/// joint judgement is made only when a member is a shortage region on its
/// own ("一地域以上の「雇用機会不足地域」が含まれている場合、まずは連携地域
/// における有効求人倍率の総数判断"), and a group of members none of which
/// qualifies is case 7 or a depopulated application, even where their sums
/// would pass the population test (the joint ratio lies between the
/// members' ratios, so only ② can differ).
pub fn p2_application(members: &[Member], national: &National) -> Result<Eligibility, Undefined> {
    let mut tests = Vec::with_capacity(members.len());
    let mut joint = Figures::default();
    for m in members {
        tests.push(MemberTest {
            municipality: m.name.clone(),
            test: p1_shortage(&m.figures, national)?,
            depopulated: m.depopulated,
        });
        joint = joint.plus(m.figures);
    }
    let joint = p1_shortage(&joint, national)?;
    let shortage = tests.iter().filter(|t| t.test.shortage).count();
    let depopulated = tests.iter().filter(|t| t.depopulated).count();
    let (application, rule) = match (shortage > 0 && joint.shortage, depopulated > 0) {
        (true, _) => (Application::Shortage, RuleId::P1),
        (false, true) => (Application::Depopulated, RuleId::P2),
        (false, false) => (Application::NotEligible, RuleId::P2),
    };
    Ok(Eligibility {
        members: tests,
        joint,
        case: case(shortage, depopulated),
        application,
        rule,
    })
}

/// P-3: the planned (or actual) cost per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CostTest {
    /// The budget, yen.
    pub budget_yen: u64,
    /// Outcomes planned (or counted).
    pub outcomes: u64,
    /// Yen per outcome; none without outcomes.
    pub yen_per_outcome: Option<Frac>,
    /// Over 1,000,000 yen per outcome (or a budget with no outcome at all).
    pub over_cap: bool,
}

/// P-3: is the cost per outcome over [`COST_CAP_YEN`]? Exactly 1,000,000
/// yen is within the cap ("超えると失格").
pub fn p3_cost(budget_yen: u64, outcomes: u64) -> CostTest {
    CostTest {
        budget_yen,
        outcomes,
        yen_per_outcome: Frac::new(i128::from(budget_yen), i128::from(outcomes)),
        over_cap: u128::from(budget_yen) > u128::from(COST_CAP_YEN) * u128::from(outcomes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Frac {
        Frac::parse_decimal(s).unwrap()
    }

    /// A region with the given ratios (openings per 100 seekers) and a
    /// population decline in per mille.
    fn region(r3: u64, r1: u64, decline_per_mille: u64) -> Figures {
        Figures {
            openings_3y: r3 * 3,
            seekers_3y: 300,
            openings_1y: r1,
            seekers_1y: 100,
            population: 1000 - decline_per_mille,
            population_5y_before: 1000,
        }
    }

    fn national(r3: &str, r1: &str, decline: &str) -> National {
        National {
            ratio_3y: f(r3),
            ratio_1y: f(r1),
            decline_5y: f(decline),
        }
    }

    fn member(name: &str, figures: Figures, depopulated: bool) -> Member {
        Member {
            name: name.into(),
            figures,
            depopulated,
        }
    }

    #[test]
    fn decimals_and_percentages_parse_exactly() {
        assert_eq!(f("0.67"), Frac::new(67, 100).unwrap());
        assert_eq!(f("1"), Frac::int(1));
        assert_eq!(f("2.5%"), Frac::new(25, 1000).unwrap());
        assert_eq!(f("-0.010"), Frac::new(-1, 100).unwrap());
        assert_eq!(f(".5"), Frac::new(1, 2).unwrap());
        for bad in ["", "x", "1.2.3", "1e3", "--1", "%"] {
            assert!(Frac::parse_decimal(bad).is_none(), "{bad}");
        }
        assert_eq!(f("0.6666666").rounded(2), 0.67);
        assert_eq!(Frac::new(-1, 3).unwrap().rounded(3), -0.333);
    }

    /// P-1: the national ratio is clamped to [0.67, 1.00], at both ends.
    #[test]
    fn p_1_the_threshold_is_clamped_at_both_ends() {
        assert_eq!(threshold(f("0.50")), f("0.67"));
        assert_eq!(threshold(f("0.67")), f("0.67"));
        assert_eq!(threshold(f("0.85")), f("0.85"));
        assert_eq!(threshold(f("1.00")), f("1"));
        assert_eq!(threshold(f("1.31")), f("1"));
        // A region at 0.95 against a national 1.31: the clamp (1.00) makes
        // it a shortage region; against a national 0.50 (clamped to 0.67),
        // a region at 0.60 is one and a region at 0.70 is not.
        let n = national("1.31", "1.31", "0.05");
        assert!(p1_shortage(&region(95, 95, 0), &n).unwrap().at_or_below_3y);
        let n = national("0.50", "0.50", "0.05");
        assert!(p1_shortage(&region(60, 60, 0), &n).unwrap().shortage);
        let t = p1_shortage(&region(70, 70, 0), &n).unwrap();
        assert_eq!(t.threshold_3y, f("0.67"));
        assert!(!t.shortage);
    }

    /// P-1 ①: "以下": a ratio exactly at the threshold qualifies; one
    /// seeker more than that, and it does not.
    #[test]
    fn p_1_a_ratio_exactly_at_the_threshold_qualifies() {
        let n = national("0.85", "0.85", "0.05");
        // 255 openings over 300 seekers is exactly 0.85.
        let at = region(85, 90, 0);
        let t = p1_shortage(&at, &n).unwrap();
        assert_eq!(t.ratio_3y, f("0.85"));
        assert!(t.at_or_below_3y && t.shortage);
        assert!(!t.at_or_below_1y, "0.90 > 0.85");
        let above = Figures {
            openings_3y: 256,
            ..at
        };
        let t = p1_shortage(&above, &n).unwrap();
        assert!(!t.at_or_below_3y && !t.shortage, "0.8533… is above");
        // The last year alone can qualify.
        assert!(p1_shortage(&region(90, 85, 0), &n).unwrap().at_or_below_1y);
    }

    /// P-1 ②: a ratio below 1 and a population decline at least the
    /// national one (a tie qualifies); a ratio of exactly 1 does not.
    #[test]
    fn p_1_the_population_test() {
        let n = national("0.80", "0.80", "0.030");
        let t = p1_shortage(&region(95, 99, 30), &n).unwrap();
        assert!(!t.at_or_below_3y && !t.at_or_below_1y);
        assert!(t.population_test && t.shortage, "0.95 < 1, 3.0 % ≥ 3.0 %");
        assert!(!p1_shortage(&region(95, 99, 29), &n).unwrap().shortage);
        assert!(
            !p1_shortage(&region(100, 100, 90), &n)
                .unwrap()
                .population_test
        );
        assert!(
            p1_shortage(&region(100, 99, 90), &n)
                .unwrap()
                .population_test
        );
        // A growing country: a region that did not shrink still has fallen
        // "at least as much" as a negative national decline.
        let growing = national("0.80", "0.80", "-0.01");
        assert!(
            p1_shortage(&region(95, 95, 0), &growing)
                .unwrap()
                .population_test
        );
    }

    #[test]
    fn p_1_undefined_ratios_are_errors_not_guesses() {
        let n = national("0.8", "0.8", "0.02");
        let none = Figures {
            seekers_1y: 0,
            ..region(50, 50, 0)
        };
        assert_eq!(p1_shortage(&none, &n), Err(Undefined::NoSeekers("1y")));
        let nobody = Figures {
            population_5y_before: 0,
            ..region(50, 50, 0)
        };
        assert_eq!(p1_shortage(&nobody, &n), Err(Undefined::NoPopulation));
    }

    /// P-2: the joint ratio sums openings and seekers first. Here the
    /// average of the two ratios (0.5 and 1.2: 0.85) would qualify at 0.85,
    /// but the summed ratio (620 / 600 = 1.033…) does not.
    #[test]
    fn p_2_the_joint_ratio_is_a_ratio_of_sums_not_an_average() {
        let n = national("0.85", "0.85", "0.05");
        let small = Figures {
            openings_3y: 50,
            seekers_3y: 100,
            openings_1y: 50,
            seekers_1y: 100,
            population: 1000,
            population_5y_before: 1000,
        };
        let big = Figures {
            openings_3y: 570,
            seekers_3y: 500,
            openings_1y: 570,
            seekers_1y: 500,
            population: 5000,
            population_5y_before: 5000,
        };
        let e = p2_application(
            &[member("甲市", small, false), member("乙町", big, false)],
            &n,
        )
        .unwrap();
        assert!(e.members[0].test.shortage);
        assert_eq!(e.joint.ratio_3y, Frac::new(620, 600).unwrap());
        assert!(!e.joint.shortage);
        assert_eq!((e.case, e.application), (4, Application::NotEligible));
    }

    /// P-2, every case of the guide's table (p.4), with the outcome of the
    /// joint judgement both ways where the table has two.
    #[test]
    fn p_2_the_seven_cases_of_the_guide() {
        let n = national("0.85", "0.85", "0.05");
        let short = region(50, 50, 0); // a shortage region on its own
        let plain = region(150, 150, 0); // not one
        let big_plain = Figures {
            openings_3y: 3000,
            seekers_3y: 1000,
            openings_1y: 1000,
            seekers_1y: 300,
            population: 10_000,
            population_5y_before: 10_000,
        };
        let run = |ms: Vec<Member>| {
            let e = p2_application(&ms, &n).unwrap();
            (e.case, e.application, e.rule)
        };
        use Application::*;
        // 1: shortage, shortage, depopulated.
        let c1 = |third: Figures| {
            vec![
                member("A", short, false),
                member("B", short, false),
                member("C", third, true),
            ]
        };
        assert_eq!(run(c1(plain)), (1, Shortage, RuleId::P1));
        assert_eq!(run(c1(big_plain)), (1, Depopulated, RuleId::P2));
        // 2: shortage, depopulated, neither.
        let c2 = |third: Figures| {
            vec![
                member("A", short, false),
                member("B", plain, true),
                member("C", third, false),
            ]
        };
        assert_eq!(run(c2(plain)), (2, Depopulated, RuleId::P2));
        assert_eq!(run(c2(short)).0, 1, "two shortage members make it case 1");
        let c2_joint = vec![
            member("A", short, false),
            member("B", short, true),
            member("C", plain, false),
        ];
        // B is both: counted as a shortage member and a depopulated one.
        assert_eq!(run(c2_joint), (1, Shortage, RuleId::P1));
        // B is small: the sum is carried by A and C (405 / 610 = 0.66).
        let small_plain = Figures {
            openings_3y: 15,
            seekers_3y: 10,
            openings_1y: 15,
            seekers_1y: 10,
            population: 100,
            population_5y_before: 100,
        };
        let c2_ok = vec![
            member("A", region(40, 40, 0), false),
            member("B", small_plain, true),
            member("C", region(90, 90, 0), false),
        ];
        assert_eq!(run(c2_ok), (2, Shortage, RuleId::P1));
        // 3: shortage, shortage, neither.
        let c3 = |third: Figures| {
            vec![
                member("A", short, false),
                member("B", short, false),
                member("C", third, false),
            ]
        };
        assert_eq!(run(c3(plain)), (3, Shortage, RuleId::P1));
        assert_eq!(run(c3(big_plain)), (3, NotEligible, RuleId::P2));
        // 4: shortage, neither, neither.
        let c4 = |third: Figures| {
            vec![
                member("A", short, false),
                member("B", region(90, 90, 0), false),
                member("C", third, false),
            ]
        };
        assert_eq!(run(c4(region(90, 90, 0))), (4, Shortage, RuleId::P1));
        assert_eq!(run(c4(big_plain)), (4, NotEligible, RuleId::P2));
        // 5: depopulated, depopulated, neither.
        let c5 = vec![
            member("A", plain, true),
            member("B", plain, true),
            member("C", plain, false),
        ];
        assert_eq!(run(c5), (5, Depopulated, RuleId::P2));
        // 6: depopulated, neither, neither.
        let c6 = vec![
            member("A", plain, true),
            member("B", plain, false),
            member("C", plain, false),
        ];
        assert_eq!(run(c6), (6, Depopulated, RuleId::P2));
        // 7: neither, three times.
        let c7 = vec![
            member("A", plain, false),
            member("B", plain, false),
            member("C", plain, false),
        ];
        assert_eq!(run(c7), (7, NotEligible, RuleId::P2));
        // One municipality that is both: a shortage application (guide p.4 (1)).
        assert_eq!(
            run(vec![member("A", short, true)]),
            (2, Shortage, RuleId::P1)
        );
        assert_eq!(
            run(vec![member("A", plain, true)]),
            (6, Depopulated, RuleId::P2)
        );
    }

    /// P-3: over 1,000,000 yen per outcome disqualifies; exactly that
    /// does not; a budget with no outcome is over.
    #[test]
    fn p_3_the_cost_cap() {
        assert!(!p3_cost(30_000_000, 30).over_cap);
        assert!(p3_cost(30_000_001, 30).over_cap);
        assert_eq!(
            p3_cost(30_000_000, 30).yen_per_outcome,
            Some(Frac::int(1_000_000))
        );
        let none = p3_cost(1, 0);
        assert!(none.over_cap && none.yen_per_outcome.is_none());
        assert!(!p3_cost(0, 0).over_cap);
    }
}
