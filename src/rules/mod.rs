//! RULES.md as code: pure functions from typed events to verdicts, each
//! citing the rule that decided it.
//!
//! **Architecture invariant:** nothing here reads the clock, the disk or the
//! environment. The projection (`crate::projection`) calls these functions
//! while folding the journal; the rules never see storage.

pub mod outcome;
pub mod output;
pub mod proposal;
pub mod students;
pub mod time;

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

macro_rules! rule_ids {
    ($($variant:ident = $id:literal, $ja:literal, $en:literal;)+) => {
        /// A rule of RULES.md, by its ID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum RuleId {
            $(
                #[doc = $en]
                #[serde(rename = $id)]
                $variant,
            )+
        }

        impl RuleId {
            /// Every rule, in RULES.md order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),+];

            /// The ID as RULES.md writes it (`XC-3`).
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id),+ }
            }

            /// A one-line statement of the rule, for `explain`.
            pub fn describe(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((RuleId::$variant, Lang::Ja) => $ja, (RuleId::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}

rule_ids! {
    U1 = "U-1", "事業の対象者ではない（地域外居住で地域内の就職・創業を希望しない等）", "not a user of the programme (outside the region without an in-region wish)";
    U2 = "U-2", "このカテゴリでは計上しない参加（定員の空きによる参加）", "attendance this category does not count (attended while places were free)";
    OA1 = "O-A1", "地域内の事業所が参加（1社）", "in-region establishment attended (1 per establishment)";
    OA2 = "O-A2", "地域外の事業所で地域内への事業拡大を希望（1社）", "outside establishment wishing to expand into the region";
    OA3 = "O-A3", "地域内居住の創業希望者が参加（1人）", "in-region start-up hopeful attended";
    OA4 = "O-A4", "地域外居住で地域内での創業を希望する者が参加（1人）", "outside resident wishing to start up in the region";
    OA5 = "O-A5", "伴走型支援を受けた地域内の事業所（1社）", "in-region establishment received accompaniment support";
    OBC1 = "O-BC1", "地域内居住で就職・転職または正社員転換を希望する者が参加", "in-region resident wishing a job, job change or regular conversion";
    OBC2 = "O-BC2", "地域外居住で地域内での就職を希望する者が参加", "outside resident wishing a job in the region";
    XO1 = "XO-1", "重複（同一事業所・同一人物は1回のみ計上）", "duplicate: one establishment or person counts once per menu";
    XO2 = "XO-2", "行政機関の職員・事業推進員", "government staff or the council's promoters";
    XO3 = "XO-3", "求職・創業・正社員転換の意思または居住地が確認できない、単なるスキルアップ目的の在職者", "intent or residence not confirmed, or an employed person merely improving skills";
    XO4 = "XO-4", "フリーランスとして創業を希望", "start-up hopeful wanting to work freelance";
    XO5 = "XO-5", "就職促進の取組（C）に参加した中学・高校生", "middle/high-school student in a C menu";
    XO6 = "XO-6", "卒業年次でない学生", "student not in the graduating year";
    XO7 = "XO-7", "地域内就職を希望しない学生（Aでは学生は計上しない）", "student not wishing in-region employment (students never count for A)";
    CA1 = "C-A1", "O-A1 の事業所による雇用・正社員転換", "hire or regular conversion by an establishment counted under O-A1";
    CA2 = "C-A2", "O-A2 の事業所の地域内の新拠点での雇用", "hire at the new in-region site of an establishment counted under O-A2";
    CA3 = "C-A3", "O-A3 の創業者（従業員を雇用）と、地域内創業の従業員", "founder counted under O-A3 who employs staff, and employees of an in-region start-up";
    CA4 = "C-A4", "O-A4 の者が地域内で創業（従業員を雇用）した創業者と従業員", "founder counted under O-A4 who started up in the region with staff, and the employees";
    CA5 = "C-A5", "O-A5 の事業所による雇用・正社員転換", "hire or regular conversion by an establishment counted under O-A5";
    CBC1 = "C-BC1", "O-BC1 の者の就職・転職・正社員転換", "job, job change or regular conversion of a person counted under O-BC1";
    CBC2 = "C-BC2", "O-BC2 の者の地域内への就職", "in-region job of a person counted under O-BC2";
    XC1 = "XC-1", "事業と明らかに関係のない雇用（定期採用、欠員補充の正社員転換）", "clearly unrelated: regular recruitment, or a conversion filling a vacancy";
    XC2 = "XC-2", "事業利用前から雇用されていた在職者", "already employed before using the programme";
    XC3 = "XC-3", "事業利用前から内定（利用前に面接を受けていた場合を含む）", "held an offer (or had interviewed) before using the programme";
    XC4 = "XC-4", "就職日または就職先の所在地が確認できない", "start date, or workplace location where it matters, unknown";
    XC5 = "XC-5", "従業員を雇用しない創業（フリーランス）", "founder who employs nobody (freelance)";
    XC6 = "XC-6", "週の所定労働時間が20時間未満", "under 20 contracted hours a week";
    XC7 = "XC-7", "内定日（不明なら就職日）が当該メニューの初回計上参加より後でない", "offer (or start) not after the first counted attendance of the menu";
    XC8 = "XC-8", "当該メニューのアウトプットに計上されていない", "not counted in the menu's output";
    XC9 = "XC-9", "学生の計上表（ガイド p.16）により計上しない", "not counted under the students table (guide p.16)";
    CRES = "C-RES", "居住地・学生の別・所在地は当該メニュー初回計上参加時のもの。正社員転換は地域内居住者のみ", "residence, student status and location are those of the first counted attendance; conversions count for in-region residents only";
    CATTR = "C-ATTR", "アウトカムは計上済みの各メニューに帰属（menus 指定時はそのメニューのみ）", "an outcome counts for each qualifying menu, or only the menus it names";
    CDEDUP = "C-DEDUP", "事業全体の合計では各アウトカムを1回だけ数える", "project totals count each outcome once";
    F1 = "F-1", "年度ごとの実績（目標は年度ごと）", "figures per fiscal year";
    F2 = "F-2", "契約開始からの累計", "cumulative figures from the contract start";
    E1 = "E-1", "中間評価の基準日：1年度目は2月末、2年度目は1月末", "mid-term cutoff: end of February in year 1, end of January in year 2";
    E2 = "E-2", "基準日までに講習会等を実施したメニューを評価（3月のみ実施は翌年度に評価）", "menus held by the cutoff are judged (March-only year-1 menus in year 2)";
    E3 = "E-3", "基準日までに内定し同じ年度内に就職するもの（定期採用を除く）", "confirmed by the date and starting later in the same fiscal year (not regular recruitment)";
    E4 = "E-4", "アウトプット達成率：70%以上は次へ、50%以上70%未満は改善計画、50%未満は事業全体の判断へ", "output gate: ≥70 % on, 50–70 % a menu plan, <50 % decided for the project";
    E4A = "E-4a", "50%未満のメニューの割合は評価対象メニュー数で数える（予算がある場合は予算比も表示）", "the share below half counts judged menus (budget-weighted share shown where recorded)";
    E5 = "E-5", "A：役に立った割合85%以上、B・C：アウトカム達成率 1年度目30%・2年度目50%以上", "second gate: A useful share ≥85 %; B/C outcome ≥30 % (year 1), ≥50 % (year 2)";
    E6 = "E-6", "改善計画の承認前にそのメニューの講習会等を実施", "sessions recorded for a menu awaiting an approved improvement plan";
    E7 = "E-7", "計上対象外の利用者は実績に含めない", "non-countable users never enter the figures";
    E8 = "E-8", "目標は基準日までの目標変更を反映", "targets as revised by the cutoff";
    T1 = "T-1", "発生日による時点（as-of）", "valid time: as of the date things happened";
    T2 = "T-2", "記録時刻による時点（known-at）", "transaction time: as the ledger knew it";
    T3 = "T-3", "訂正・取消は新しいイベントで行う", "corrections and retractions are new events";
    P1 = "P-1", "雇用機会不足地域：有効求人倍率（最近3年平均または最近1年）が全国平均（0.67〜1.00に補正）以下、または1未満で5年間の人口減少率が全国以上", "employment-shortage region: job-opening ratio (3-year or latest year) at or below the national average clamped to 0.67–1.00, or below 1 with a 5-year population decline at least the national one";
    P2 = "P-2", "複数市町村：求人数の和÷求職者数の和で判断し、該当しなければ過疎等地域を含む場合は過疎等地域", "joint region: summed openings over summed seekers; failing that, a depopulated application if any member is depopulated";
    P3 = "P-3", "アウトカム1人当たりの経費が100万円を超えると失格", "over 1,000,000 yen per outcome disqualifies a proposal";
}

impl schemars::JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        schemars::json_schema!({"type": "string", "enum": ids, "description": "A rule ID of RULES.md."})
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a subject is an establishment or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectKind {
    /// An establishment (社).
    Establishment,
    /// A person (人).
    Person,
}

/// Who an output counts: an establishment (社) or a person (人).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// An establishment, counted in 社.
    Establishment(String),
    /// A person, counted in 人.
    Person(String),
}

impl Subject {
    /// The council's id.
    pub fn id(&self) -> &str {
        match self {
            Subject::Establishment(s) | Subject::Person(s) => s,
        }
    }
}

/// What a rule decided about one attendance or outcome. In JSON:
/// `{"counted": "O-BC1"}` or `{"excluded": "XC-3"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Counted under this rule.
    Counted(RuleId),
    /// Excluded under this rule.
    Excluded(RuleId),
}

impl Verdict {
    /// The rule that decided.
    pub fn rule(self) -> RuleId {
        match self {
            Verdict::Counted(r) | Verdict::Excluded(r) => r,
        }
    }

    /// Whether it counts.
    pub fn counts(self) -> bool {
        matches!(self, Verdict::Counted(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_is_spelled_as_rules_md_spells_it() {
        let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        for id in [
            "O-A1", "O-A5", "O-BC1", "O-BC2", "XO-1", "XO-7", "C-A1", "C-A5", "C-BC1", "C-BC2",
            "XC-1", "XC-9", "C-RES", "C-ATTR", "C-DEDUP", "F-1", "F-2", "T-1", "T-2", "T-3", "P-1",
            "P-2", "P-3",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        assert!(RuleId::ALL
            .iter()
            .all(|r| !r.describe(Lang::Ja).is_empty() && !r.describe(Lang::En).is_empty()));
    }
}
