//! What the counting rules read of an event, apart from identities.
//!
//! The rules decide on *terms*: small `Copy` structs of the fields a rule
//! looks at (dates, roles, places, hours). Identities (person,
//! establishment, menu ids) are the projection's business: it dedups and
//! attributes by them. [`BodyView`] pairs the two, borrowing the ids, so
//! that a fold over millions of events allocates nothing per event; the
//! journal decodes its chunks straight into it, and [`EventBody::view`]
//! gives the same view of an owned event.

use super::event::{Attendance, Conversion, EventBody, Hire, Role, Startup, Student};
use super::values::{Count, Date, WeeklyHours};
use super::Place;
use uuid::Uuid;

/// What the output rules and C-RES read of an attendance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttendanceTerms {
    /// Date attended.
    pub date: Date,
    /// Why they attended.
    pub role: Role,
    /// Where the person lives.
    pub residence: Option<Place>,
    /// Where the establishment is.
    pub establishment_location: Option<Place>,
    /// Wants a job, start-up or expansion in the region.
    pub wants_in_region: Option<bool>,
    /// Intent confirmed.
    pub intent_confirmed: Option<bool>,
    /// Wants to work freelance.
    pub freelance: Option<bool>,
    /// Student status.
    pub student: Option<Student>,
}

/// What the outcome rules read of a hire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HireTerms {
    /// First day of work, if known.
    pub start_date: Option<Date>,
    /// Where the job is.
    pub workplace: Place,
    /// Contracted hours a week.
    pub weekly_hours: WeeklyHours,
    /// Date of the offer.
    pub offer_date: Option<Date>,
    /// Date of the interview.
    pub interviewed_on: Option<Date>,
    /// Hired through regular recruitment (XC-1).
    pub regular_recruitment: Option<bool>,
    /// Already employed before using the programme (XC-2).
    pub employed_before_use: Option<bool>,
    /// Hired at a new site in the region (C-A2).
    pub new_site_in_region: Option<bool>,
}

/// What the outcome rules read of a regular conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversionTerms {
    /// Date converted.
    pub date: Date,
    /// Contracted hours a week.
    pub weekly_hours: WeeklyHours,
    /// Only fills a regular employee's vacancy (XC-1).
    pub vacancy_fill: Option<bool>,
}

/// What the outcome rules read of a start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartupTerms {
    /// Date founded.
    pub date: Date,
    /// Where.
    pub location: Place,
    /// Employees.
    pub employees: Count,
}

impl Attendance {
    /// What the rules read of it.
    pub fn terms(&self) -> AttendanceTerms {
        AttendanceTerms {
            date: self.date,
            role: self.role,
            residence: self.residence,
            establishment_location: self.establishment_location,
            wants_in_region: self.wants_in_region,
            intent_confirmed: self.intent_confirmed,
            freelance: self.freelance,
            student: self.student,
        }
    }
}

impl Hire {
    /// What the rules read of it.
    pub fn terms(&self) -> HireTerms {
        HireTerms {
            start_date: self.start_date,
            workplace: self.workplace,
            weekly_hours: self.weekly_hours,
            offer_date: self.offer_date,
            interviewed_on: self.interviewed_on,
            regular_recruitment: self.regular_recruitment,
            employed_before_use: self.employed_before_use,
            new_site_in_region: self.new_site_in_region,
        }
    }
}

impl Conversion {
    /// What the rules read of it.
    pub fn terms(&self) -> ConversionTerms {
        ConversionTerms {
            date: self.date,
            weekly_hours: self.weekly_hours,
            vacancy_fill: self.vacancy_fill,
        }
    }
}

impl Startup {
    /// What the rules read of it.
    pub fn terms(&self) -> StartupTerms {
        StartupTerms {
            date: self.date,
            location: self.location,
            employees: self.employees,
        }
    }
}

/// The menus an outcome names (C-ATTR), borrowed.
pub type MenuNames<'a> = Option<Vec<&'a str>>;

/// An event body as the counting fold reads it: ids borrowed, terms by
/// value. Definitions and the rare kinds are owned [`EventBody`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyView<'a> {
    /// An attendance.
    Attendance {
        /// Menu id.
        menu: &'a str,
        /// Person id.
        person: Option<&'a str>,
        /// Establishment id.
        establishment: Option<&'a str>,
        /// The rest.
        terms: AttendanceTerms,
    },
    /// A hire.
    Hire {
        /// Person id.
        person: &'a str,
        /// Employer id.
        employer: Option<&'a str>,
        /// Menus named.
        menus: MenuNames<'a>,
        /// The rest.
        terms: HireTerms,
    },
    /// A regular conversion.
    Conversion {
        /// Person id.
        person: &'a str,
        /// Employer id.
        employer: &'a str,
        /// Menus named.
        menus: MenuNames<'a>,
        /// The rest.
        terms: ConversionTerms,
    },
    /// A start-up.
    Startup {
        /// Founder id.
        person: &'a str,
        /// Menus named.
        menus: MenuNames<'a>,
        /// The rest.
        terms: StartupTerms,
    },
    /// A survey response (no figure reads it).
    SurveyResponse,
    /// A retraction of `target`.
    Retraction {
        /// The retracted event.
        target: Uuid,
    },
    /// A correction of `target` (the replacement is read when needed).
    Correction {
        /// The corrected event.
        target: Uuid,
    },
    /// Any other event, owned: definitions, sessions, revisions, plans.
    Other(EventBody),
}

fn names(m: &Option<Vec<super::Id>>) -> MenuNames<'_> {
    m.as_ref().map(|v| v.iter().map(|i| i.as_str()).collect())
}

impl EventBody {
    /// The view the counting fold reads.
    pub fn view(&self) -> BodyView<'_> {
        match self {
            EventBody::Attendance(a) => BodyView::Attendance {
                menu: a.menu.as_str(),
                person: a.person.as_ref().map(|p| p.as_str()),
                establishment: a.establishment.as_ref().map(|e| e.as_str()),
                terms: a.terms(),
            },
            EventBody::Hire(h) => BodyView::Hire {
                person: h.person.as_str(),
                employer: h.employer.as_ref().map(|e| e.as_str()),
                menus: names(&h.menus),
                terms: h.terms(),
            },
            EventBody::Conversion(c) => BodyView::Conversion {
                person: c.person.as_str(),
                employer: c.employer.as_str(),
                menus: names(&c.menus),
                terms: c.terms(),
            },
            EventBody::Startup(s) => BodyView::Startup {
                person: s.person.as_str(),
                menus: names(&s.menus),
                terms: s.terms(),
            },
            EventBody::SurveyResponse(_) => BodyView::SurveyResponse,
            EventBody::Retraction(r) => BodyView::Retraction { target: r.target },
            EventBody::Correction(c) => BodyView::Correction { target: c.target },
            other => BodyView::Other(other.clone()),
        }
    }
}
