//! Output rules (アウトプット, guide p.14–15): O-A1…O-A5, O-BC1, O-BC2 and
//! the exclusions XO-2…XO-7. (XO-1, counting each subject once per menu, is
//! the projection's dedup.)

use super::{students, RuleId, Subject, SubjectKind, Verdict};
use crate::domain::{Attendance, AttendanceTerms, Category, MenuKind, Place, Role};

/// Who an attendance is about: the establishment when it attends as one in
/// an A menu (社 unit, XO-1), otherwise the person.
pub fn subject(category: Category, a: &Attendance) -> Option<Subject> {
    let which = subject_kind(
        category,
        a.role,
        a.person.is_some(),
        a.establishment.is_some(),
    )?;
    Some(match which {
        SubjectKind::Establishment => Subject::Establishment(a.establishment.as_ref()?.0.clone()),
        SubjectKind::Person => Subject::Person(a.person.as_ref()?.0.clone()),
    })
}

/// Whether an attendance is about its establishment or its person (XO-1),
/// given which ids it carries; `None` when it carries neither.
pub fn subject_kind(
    category: Category,
    role: Role,
    has_person: bool,
    has_establishment: bool,
) -> Option<SubjectKind> {
    let est = has_establishment.then_some(SubjectKind::Establishment);
    let person = has_person.then_some(SubjectKind::Person);
    if role == Role::Establishment && category == Category::A {
        est.or(person)
    } else {
        person.or(est)
    }
}

/// Decides whether one attendance of a menu of `category` and `kind`
/// counts for the menu's output, and under which rule. `fiscal_year` is
/// the fiscal year of the attendance (XO-6 compares it with a student's
/// graduating year). The first rule that excludes is the one reported.
pub fn verdict(
    category: Category,
    kind: MenuKind,
    a: &AttendanceTerms,
    fiscal_year: u16,
) -> Verdict {
    use Verdict::{Counted, Excluded};
    // XO-2: government staff and the council's promoters are never users.
    if matches!(a.role, Role::Government | Role::Promoter) {
        return Excluded(RuleId::XO2);
    }
    // XO-3: an employed person merely improving skills.
    if a.role == Role::EmployedSkillup {
        return Excluded(RuleId::XO3);
    }
    // U-2: a role the category does not count is recorded, not counted.
    let counted_role = match (category, kind) {
        (Category::A, MenuKind::Seminar) => {
            matches!(a.role, Role::Establishment | Role::StartupHopeful)
        }
        (Category::A, MenuKind::Accompaniment) => a.role == Role::Establishment,
        (Category::B | Category::C, _) => {
            matches!(a.role, Role::JobSeeker | Role::ConversionHopeful)
        }
    };
    if !counted_role {
        return Excluded(RuleId::U2);
    }
    if a.role == Role::Establishment {
        return establishment(kind, a);
    }
    // From here the exclusions go in RULES.md order, so that the first
    // rule that excludes is the one reported (CONTRACT.md §3).
    // XO-3: the wish to work, start up or be converted not confirmed, or
    // the residence not confirmed.
    if a.intent_confirmed != Some(true) || a.residence.unwrap_or(Place::Unknown) == Place::Unknown {
        return Excluded(RuleId::XO3);
    }
    // XO-4: a start-up hopeful wanting to work freelance.
    if a.role == Role::StartupHopeful && a.freelance == Some(true) {
        return Excluded(RuleId::XO4);
    }
    if let Some(s) = &a.student {
        // XO-5: middle/high-school students are not counted in C.
        if category == Category::C && s.school == crate::domain::School::HighSchool {
            return Excluded(RuleId::XO5);
        }
        // XO-6: only students in their graduating year are users.
        if s.graduating_year.0 != fiscal_year {
            return Excluded(RuleId::XO6);
        }
        // XO-7: the students table for the rest.
        if let Some(rule) =
            students::output_exclusion(s.school, category, a.wants_in_region == Some(true))
        {
            return Excluded(rule);
        }
    }
    let wants_in_region = a.wants_in_region == Some(true);
    match (category, a.residence.unwrap_or(Place::Unknown), a.role) {
        // XO-3: residence not confirmed.
        (_, Place::Unknown, _) => Excluded(RuleId::XO3),
        (Category::A, Place::InRegion, _) => Counted(RuleId::OA3),
        (Category::A, Place::OutRegion, _) if wants_in_region => Counted(RuleId::OA4),
        (_, Place::InRegion, _) => Counted(RuleId::OBC1),
        // O-BC2 counts outside residents wishing a job in the region; a
        // regular conversion counts for in-region residents only (C-RES).
        (_, Place::OutRegion, Role::JobSeeker) if wants_in_region => Counted(RuleId::OBC2),
        // U-1: living outside without an in-region wish: not a user.
        (_, Place::OutRegion, _) => Excluded(RuleId::U1),
    }
}

fn establishment(kind: MenuKind, a: &AttendanceTerms) -> Verdict {
    use Verdict::{Counted, Excluded};
    match (kind, a.establishment_location.unwrap_or(Place::Unknown)) {
        (_, Place::Unknown) => Excluded(RuleId::XO3),
        (MenuKind::Seminar, Place::InRegion) => Counted(RuleId::OA1),
        (MenuKind::Seminar, Place::OutRegion) if a.wants_in_region == Some(true) => {
            Counted(RuleId::OA2)
        }
        (MenuKind::Accompaniment, Place::InRegion) => Counted(RuleId::OA5),
        (_, Place::OutRegion) => Excluded(RuleId::U1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn att(v: serde_json::Value) -> Attendance {
        let mut base = json!({"menu":"M","date":"2024-11-20","role":"job_seeker","person":"P"});
        if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
            b.extend(o.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn v(cat: Category, kind: MenuKind, a: serde_json::Value) -> Verdict {
        verdict(cat, kind, &att(a).terms(), 2024)
    }

    const S: MenuKind = MenuKind::Seminar;

    #[test]
    fn o_a1_in_region_establishment_counts_per_establishment() {
        let a = json!({"role":"establishment","establishment":"E","establishment_location":"in_region"});
        assert_eq!(v(Category::A, S, a.clone()), Verdict::Counted(RuleId::OA1));
        assert_eq!(
            subject(Category::A, &att(a)),
            Some(Subject::Establishment("E".into()))
        );
    }

    #[test]
    fn o_a2_outside_establishment_counts_only_wishing_to_expand() {
        let a = json!({"role":"establishment","establishment":"E","establishment_location":"out_region","wants_in_region":true});
        assert_eq!(v(Category::A, S, a), Verdict::Counted(RuleId::OA2));
        let a = json!({"role":"establishment","establishment":"E","establishment_location":"out_region"});
        assert_eq!(v(Category::A, S, a), Verdict::Excluded(RuleId::U1));
    }

    #[test]
    fn o_a3_in_region_start_up_hopeful() {
        let a = json!({"role":"startup_hopeful","residence":"in_region","intent_confirmed":true});
        assert_eq!(v(Category::A, S, a), Verdict::Counted(RuleId::OA3));
    }

    #[test]
    fn o_a4_outside_hopeful_wishing_to_start_up_in_the_region() {
        let a = json!({"role":"startup_hopeful","residence":"out_region","wants_in_region":true,"intent_confirmed":true});
        assert_eq!(v(Category::A, S, a), Verdict::Counted(RuleId::OA4));
        let a = json!({"role":"startup_hopeful","residence":"out_region","intent_confirmed":true});
        assert_eq!(v(Category::A, S, a), Verdict::Excluded(RuleId::U1));
    }

    #[test]
    fn o_a5_accompaniment_counts_in_region_establishments() {
        let a = json!({"role":"establishment","establishment":"E","establishment_location":"in_region"});
        assert_eq!(
            v(Category::A, MenuKind::Accompaniment, a),
            Verdict::Counted(RuleId::OA5)
        );
        let a = json!({"role":"startup_hopeful","residence":"in_region","intent_confirmed":true});
        assert_eq!(
            v(Category::A, MenuKind::Accompaniment, a),
            Verdict::Excluded(RuleId::U2)
        );
    }

    #[test]
    fn o_bc1_in_region_job_seeker_or_conversion_hopeful() {
        let a = json!({"residence":"in_region","intent_confirmed":true});
        assert_eq!(v(Category::B, S, a.clone()), Verdict::Counted(RuleId::OBC1));
        assert_eq!(v(Category::C, S, a), Verdict::Counted(RuleId::OBC1));
        let a =
            json!({"role":"conversion_hopeful","residence":"in_region","intent_confirmed":true});
        assert_eq!(v(Category::B, S, a), Verdict::Counted(RuleId::OBC1));
    }

    #[test]
    fn o_bc2_outside_resident_wishing_an_in_region_job() {
        let a = json!({"residence":"out_region","wants_in_region":true,"intent_confirmed":true});
        assert_eq!(v(Category::C, S, a), Verdict::Counted(RuleId::OBC2));
        let a = json!({"residence":"out_region","intent_confirmed":true});
        assert_eq!(v(Category::C, S, a), Verdict::Excluded(RuleId::U1));
        let a = json!({"role":"conversion_hopeful","residence":"out_region","wants_in_region":true,"intent_confirmed":true});
        assert_eq!(v(Category::B, S, a), Verdict::Excluded(RuleId::U1));
    }

    #[test]
    fn u_2_roles_a_category_does_not_count() {
        assert_eq!(
            v(
                Category::A,
                S,
                json!({"residence":"in_region","intent_confirmed":true})
            ),
            Verdict::Excluded(RuleId::U2)
        );
        let est = json!({"role":"establishment","establishment":"E","establishment_location":"in_region"});
        assert_eq!(v(Category::B, S, est), Verdict::Excluded(RuleId::U2));
        let hopeful =
            json!({"role":"startup_hopeful","residence":"in_region","intent_confirmed":true});
        assert_eq!(v(Category::C, S, hopeful), Verdict::Excluded(RuleId::U2));
    }

    #[test]
    fn xo_1_several_staff_of_one_establishment_are_one_subject() {
        let a = att(
            json!({"role":"establishment","establishment":"E","person":"P1","establishment_location":"in_region"}),
        );
        let b = att(
            json!({"role":"establishment","establishment":"E","person":"P2","establishment_location":"in_region"}),
        );
        assert_eq!(subject(Category::A, &a), subject(Category::A, &b));
    }

    #[test]
    fn xo_2_government_staff_and_promoters() {
        assert_eq!(
            v(
                Category::B,
                S,
                json!({"role":"government","residence":"in_region","intent_confirmed":true})
            ),
            Verdict::Excluded(RuleId::XO2)
        );
        assert_eq!(
            v(Category::A, S, json!({"role":"promoter"})),
            Verdict::Excluded(RuleId::XO2)
        );
    }

    #[test]
    fn xo_3_unconfirmed_intent_or_residence_or_mere_skill_up() {
        assert_eq!(
            v(Category::B, S, json!({"residence":"in_region"})),
            Verdict::Excluded(RuleId::XO3)
        );
        assert_eq!(
            v(
                Category::B,
                S,
                json!({"residence":"unknown","intent_confirmed":true})
            ),
            Verdict::Excluded(RuleId::XO3)
        );
        assert_eq!(
            v(Category::B, S, json!({"intent_confirmed":true})),
            Verdict::Excluded(RuleId::XO3)
        );
        assert_eq!(
            v(
                Category::B,
                S,
                json!({"role":"employed_skillup","residence":"in_region","intent_confirmed":true})
            ),
            Verdict::Excluded(RuleId::XO3)
        );
        let est = json!({"role":"establishment","establishment":"E"});
        assert_eq!(v(Category::A, S, est), Verdict::Excluded(RuleId::XO3));
    }

    #[test]
    fn xo_4_freelance_start_up_hopeful() {
        let a = json!({"role":"startup_hopeful","residence":"in_region","intent_confirmed":true,"freelance":true});
        assert_eq!(v(Category::A, S, a), Verdict::Excluded(RuleId::XO4));
    }

    #[test]
    fn xo_5_high_school_students_in_c() {
        let a = json!({"residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"high_school","graduating_year":2024}});
        assert_eq!(v(Category::C, S, a.clone()), Verdict::Excluded(RuleId::XO5));
        assert_eq!(v(Category::B, S, a), Verdict::Counted(RuleId::OBC1));
    }

    #[test]
    fn xo_6_students_not_in_their_graduating_year() {
        let a = json!({"residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"university","graduating_year":2025}});
        assert_eq!(v(Category::B, S, a), Verdict::Excluded(RuleId::XO6));
    }

    #[test]
    fn xo_7_students_must_wish_in_region_work_and_never_count_for_a() {
        let a = json!({"residence":"in_region","intent_confirmed":true,"student":{"school":"university","graduating_year":2024}});
        assert_eq!(v(Category::C, S, a), Verdict::Excluded(RuleId::XO7));
        let a = json!({"role":"startup_hopeful","residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"university","graduating_year":2024}});
        assert_eq!(v(Category::A, S, a), Verdict::Excluded(RuleId::XO7));
    }

    /// Regression: the first rule that excludes, in RULES.md order, is the
    /// one reported (XO-3 comes before XO-6).
    #[test]
    fn xo_3_before_xo_6_in_rules_order() {
        let a = json!({"residence":"in_region","wants_in_region":true,"student":{"school":"university","graduating_year":2026}});
        assert_eq!(v(Category::B, S, a), Verdict::Excluded(RuleId::XO3));
    }

    /// Worked example 6 (RULES.md §9).
    #[test]
    fn example_6_students() {
        let grad = json!({"residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"university","graduating_year":2024}});
        assert_eq!(v(Category::C, S, grad), Verdict::Counted(RuleId::OBC1));
        let hs = json!({"residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"high_school","graduating_year":2024}});
        assert_eq!(v(Category::C, S, hs), Verdict::Excluded(RuleId::XO5));
        let second_year = json!({"residence":"in_region","intent_confirmed":true,"wants_in_region":true,"student":{"school":"university","graduating_year":2026}});
        assert_eq!(
            v(Category::B, S, second_year),
            Verdict::Excluded(RuleId::XO6)
        );
    }
}
