//! The events of the ledger: one past-tense enum, as CONTRACT.md §2 names
//! them. These are the JSON-facing types; the journal stores its own
//! postcard types (see [`crate::journal::codec`]) and converts at the edge.

use super::values::{Count, Date, FiscalYear, Id, ProjectYears, Text, WeeklyHours, Yen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the event schema this build writes. Stored with every
/// event; older versions are upcast on read.
pub const EVENT_SCHEMA_VERSION: u16 = 1;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = $text] #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

vocabulary!(
    /// Where a person lives, an establishment is located, or a job is.
    Place { InRegion = "in_region", OutRegion = "out_region", Unknown = "unknown" }
);
vocabulary!(
    /// Menu category: A establishments, B skills, C matching.
    Category { A = "A", B = "B", C = "C" }
);
vocabulary!(
    /// Kind of menu.
    MenuKind { Seminar = "seminar", Accompaniment = "accompaniment" }
);
vocabulary!(
    /// Why someone attended.
    Role {
        JobSeeker = "job_seeker",
        StartupHopeful = "startup_hopeful",
        ConversionHopeful = "conversion_hopeful",
        EmployedSkillup = "employed_skillup",
        Establishment = "establishment",
        Government = "government",
        Promoter = "promoter",
    }
);
vocabulary!(
    /// School type of a student (guide p.16).
    School {
        /// 大学・短大・高専・専修・各種学校.
        University = "university",
        /// 中学・高校.
        HighSchool = "high_school",
    }
);
vocabulary!(
    /// The region's eligibility case (P-1, P-2).
    RegionKind { Shortage = "shortage", Depopulated = "depopulated" }
);
vocabulary!(
    /// What an approved improvement plan covers.
    PlanScope { Menus = "menus", Project = "project" }
);

/// One fiscal year's targets of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The fiscal year (April–March), named by the year it starts in.
    pub fiscal_year: FiscalYear,
    /// Output target (社 for A, 人 for B/C).
    pub output: Count,
    /// Outcome target (人).
    pub outcome: Count,
}

/// A student's school and graduating year (XO-6, XO-7, XC-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Student {
    /// University etc. or middle/high school.
    pub school: School,
    /// The fiscal year in which the student graduates.
    pub graduating_year: FiscalYear,
}

/// The project is defined: one per ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectDefined {
    /// Project id.
    pub project: Id,
    /// Project name.
    pub name: Text,
    /// Eligibility case of the region.
    pub region_kind: RegionKind,
    /// The municipalities that make up the region.
    pub municipalities: Vec<Text>,
    /// First day of project year 1.
    pub contract_start: Date,
    /// Number of project years, 1–3.
    pub years: ProjectYears,
    /// Total budget in yen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_yen: Option<Yen>,
}

/// A menu (個別メニュー) is defined with its yearly targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuDefined {
    /// Menu id.
    pub menu: Id,
    /// Category A, B or C.
    pub category: Category,
    /// Seminar or accompaniment support.
    pub kind: MenuKind,
    /// Menu name.
    pub name: Text,
    /// Targets per fiscal year.
    pub targets: Vec<Target>,
    /// Menu budget in yen (E-4a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_yen: Option<Yen>,
}

/// A menu's targets for one fiscal year are revised from `date` on (E-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsRevised {
    /// Menu id.
    pub menu: Id,
    /// The fiscal year whose targets change.
    pub fiscal_year: FiscalYear,
    /// New output target.
    pub output: Count,
    /// New outcome target.
    pub outcome: Count,
    /// From when the revision applies.
    pub date: Date,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

/// A session (講習会等) of a menu was held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionHeld {
    /// Menu id.
    pub menu: Id,
    /// Date held.
    pub date: Date,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Text>,
    /// Places offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Count>,
}

/// Someone attended a session of a menu (U-2: every attendance is recorded;
/// the rules decide what counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// Menu id.
    pub menu: Id,
    /// Date attended.
    pub date: Date,
    /// Why they attended.
    pub role: Role,
    /// The council's id of the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Id>,
    /// The council's id of the establishment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub establishment: Option<Id>,
    /// Where the person lives (default `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Place>,
    /// Where the establishment is (default `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub establishment_location: Option<Place>,
    /// Wants a job or start-up in the region; an establishment, expansion into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wants_in_region: Option<bool>,
    /// The wish to work, start up or be converted was confirmed (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_confirmed: Option<bool>,
    /// Wants to work for themselves without employing anyone (XO-4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freelance: Option<bool>,
    /// Student status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<Student>,
}

/// A person was hired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hire {
    /// The council's id of the person.
    pub person: Id,
    /// First day of work; null when not known yet (XC-4). Required, so a
    /// forgotten field is not mistaken for an unknown date.
    #[serde(deserialize_with = "super::values::required_nullable")]
    #[schemars(required)]
    pub start_date: Option<Date>,
    /// Where the job is.
    pub workplace: Place,
    /// Contracted hours a week (XC-6).
    pub weekly_hours: WeeklyHours,
    /// The employing establishment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<Id>,
    /// Date of the job offer (内定).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_date: Option<Date>,
    /// Date of the interview that led to the offer (XC-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interviewed_on: Option<Date>,
    /// Regular recruitment (定期採用, XC-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regular_recruitment: Option<bool>,
    /// Already employed before using the programme (XC-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employed_before_use: Option<bool>,
    /// Hired at a new in-region site of an outside establishment (C-A2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_site_in_region: Option<bool>,
    /// Narrows attribution to these menus (C-ATTR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menus: Option<Vec<Id>>,
}

/// A non-regular employee was converted to a regular one (正社員転換).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// The council's id of the person.
    pub person: Id,
    /// The employing establishment.
    pub employer: Id,
    /// Date of conversion.
    pub date: Date,
    /// Contracted hours a week.
    pub weekly_hours: WeeklyHours,
    /// Only fills a regular employee's vacancy (欠員補充, XC-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacancy_fill: Option<bool>,
    /// Narrows attribution (C-ATTR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menus: Option<Vec<Id>>,
}

/// A person founded a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    /// The council's id of the founder.
    pub person: Id,
    /// Date founded.
    pub date: Date,
    /// Where the business is.
    pub location: Place,
    /// People the founder employs.
    pub employees: Count,
    /// Narrows attribution (C-ATTR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menus: Option<Vec<Id>>,
}

/// A survey answer about a menu (E-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyResponse {
    /// Menu id.
    pub menu: Id,
    /// Date answered.
    pub date: Date,
    /// The seminar was useful.
    pub useful: bool,
    /// Who answered (person or establishment id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respondent: Option<Id>,
}

/// An improvement plan was approved by the committee (E-6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanApproved {
    /// The menus it covers.
    pub menus: Vec<Id>,
    /// Date approved.
    pub date: Date,
    /// Menus or the whole project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PlanScope>,
}

/// An earlier event is withdrawn, as if it had never happened (T-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retraction {
    /// The id of the event withdrawn.
    pub target: Uuid,
    /// Why.
    pub reason: Text,
}

/// An earlier event is replaced by a corrected one (T-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The id of the event corrected (always the original event).
    pub target: Uuid,
    /// The full corrected event, of the same type, without `id`.
    pub replacement: Box<EventBody>,
    /// Why.
    pub reason: Text,
}

/// Every event type of CONTRACT.md §2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// See [`ProjectDefined`].
    ProjectDefined(ProjectDefined),
    /// See [`MenuDefined`].
    MenuDefined(MenuDefined),
    /// See [`TargetsRevised`].
    TargetsRevised(TargetsRevised),
    /// See [`SessionHeld`].
    SessionHeld(SessionHeld),
    /// See [`Attendance`].
    Attendance(Attendance),
    /// See [`Hire`].
    Hire(Hire),
    /// See [`Conversion`].
    Conversion(Conversion),
    /// See [`Startup`].
    Startup(Startup),
    /// See [`SurveyResponse`].
    SurveyResponse(SurveyResponse),
    /// See [`PlanApproved`].
    PlanApproved(PlanApproved),
    /// See [`Retraction`].
    Retraction(Retraction),
    /// See [`Correction`].
    Correction(Correction),
}

/// The `type` names of every event, in the order of [`EventBody`].
pub const EVENT_TYPES: &[&str] = &[
    "project_defined",
    "menu_defined",
    "targets_revised",
    "session_held",
    "attendance",
    "hire",
    "conversion",
    "startup",
    "survey_response",
    "plan_approved",
    "retraction",
    "correction",
];

impl EventBody {
    /// The `type` of the event.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventBody::ProjectDefined(_) => "project_defined",
            EventBody::MenuDefined(_) => "menu_defined",
            EventBody::TargetsRevised(_) => "targets_revised",
            EventBody::SessionHeld(_) => "session_held",
            EventBody::Attendance(_) => "attendance",
            EventBody::Hire(_) => "hire",
            EventBody::Conversion(_) => "conversion",
            EventBody::Startup(_) => "startup",
            EventBody::SurveyResponse(_) => "survey_response",
            EventBody::PlanApproved(_) => "plan_approved",
            EventBody::Retraction(_) => "retraction",
            EventBody::Correction(_) => "correction",
        }
    }

    /// The menus the event names (for references and for `log --menu`).
    pub fn menus(&self) -> Vec<&Id> {
        if let Some(m) = self.single_menu() {
            return vec![m];
        }
        match self {
            EventBody::MenuDefined(_)
            | EventBody::TargetsRevised(_)
            | EventBody::SessionHeld(_)
            | EventBody::Attendance(_)
            | EventBody::SurveyResponse(_) => vec![],
            EventBody::Hire(e) => e.menus.iter().flatten().collect(),
            EventBody::Conversion(e) => e.menus.iter().flatten().collect(),
            EventBody::Startup(e) => e.menus.iter().flatten().collect(),
            EventBody::PlanApproved(e) => e.menus.iter().collect(),
            EventBody::Correction(e) => e.replacement.menus(),
            EventBody::ProjectDefined(_) | EventBody::Retraction(_) => vec![],
        }
    }

    /// The menu of an event of a kind that names exactly one (a definition,
    /// a revision, a session, an attendance, a survey answer): what
    /// [`EventBody::menus`] gives, without a list. `None` for the others.
    pub fn single_menu(&self) -> Option<&Id> {
        match self {
            EventBody::MenuDefined(e) => Some(&e.menu),
            EventBody::TargetsRevised(e) => Some(&e.menu),
            EventBody::SessionHeld(e) => Some(&e.menu),
            EventBody::Attendance(e) => Some(&e.menu),
            EventBody::SurveyResponse(e) => Some(&e.menu),
            _ => None,
        }
    }

    /// The person the event is about, if any.
    pub fn person(&self) -> Option<&Id> {
        match self {
            EventBody::Attendance(e) => e.person.as_ref(),
            EventBody::Hire(e) => Some(&e.person),
            EventBody::Conversion(e) => Some(&e.person),
            EventBody::Startup(e) => Some(&e.person),
            EventBody::SurveyResponse(e) => e.respondent.as_ref(),
            EventBody::Correction(e) => e.replacement.person(),
            _ => None,
        }
    }

    /// The establishment the event is about, if any.
    pub fn establishment(&self) -> Option<&Id> {
        match self {
            EventBody::Attendance(e) => e.establishment.as_ref(),
            EventBody::Hire(e) => e.employer.as_ref(),
            EventBody::Conversion(e) => Some(&e.employer),
            EventBody::Correction(e) => e.replacement.establishment(),
            _ => None,
        }
    }

    /// The date the event happened (valid time, T-1), where it has one.
    pub fn date(&self) -> Option<Date> {
        match self {
            EventBody::ProjectDefined(e) => Some(e.contract_start),
            EventBody::TargetsRevised(e) => Some(e.date),
            EventBody::SessionHeld(e) => Some(e.date),
            EventBody::Attendance(e) => Some(e.date),
            EventBody::Hire(e) => e.start_date.or(e.offer_date),
            EventBody::Conversion(e) => Some(e.date),
            EventBody::Startup(e) => Some(e.date),
            EventBody::SurveyResponse(e) => Some(e.date),
            EventBody::PlanApproved(e) => Some(e.date),
            EventBody::Correction(e) => e.replacement.date(),
            EventBody::MenuDefined(_) | EventBody::Retraction(_) => None,
        }
    }

    /// The event this one fixes, for retractions and corrections.
    pub fn fixes(&self) -> Option<Uuid> {
        match self {
            EventBody::Retraction(e) => Some(e.target),
            EventBody::Correction(e) => Some(e.target),
            _ => None,
        }
    }
}

/// An event as appended: its id and its body. The ledger adds `seq`,
/// `recorded_at` and `hash` when it records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The client's id; `None` lets the journal assign a UUID v7.
    pub id: Option<Uuid>,
    /// What happened.
    pub body: EventBody,
}
