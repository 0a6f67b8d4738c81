//! Typed errors of the library, split by what the caller can do about them:
//! fix the input ([`InputError`]), resolve a conflict, or report a storage
//! failure or corruption ([`LedgerError`]). Every error renders in Japanese or
//! English for people; the CLI adds nothing but the rendering.

use crate::i18n::Lang;
use std::fmt;

/// Where in the input an error was found: the file, its line (JSON Lines) or
/// row (CSV, counted as the line of the file), and the field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file name as the user gave it (or `-` for standard input, `flags`
    /// for `record`).
    pub file: String,
    /// 1-based line of the file; `None` for errors about the whole file.
    pub line: Option<u64>,
    /// The field (JSON key or CSV column), dotted for nested fields.
    pub field: Option<String>,
}

impl Location {
    /// A location in `file` at `line`, with no field yet.
    pub fn line(file: &str, line: u64) -> Self {
        Location {
            file: file.to_string(),
            line: (line > 0).then_some(line),
            field: None,
        }
    }

    /// The same location, narrowed to `field`.
    pub fn with_field(&self, field: impl Into<String>) -> Self {
        Location {
            field: Some(field.into()),
            ..self.clone()
        }
    }

    fn render(&self, lang: Lang) -> String {
        let mut s = self.file.clone();
        if let Some(line) = self.line {
            s.push_str(&match lang {
                Lang::Ja => format!(" {line}行目"),
                Lang::En => format!(":{line}"),
            });
        }
        if let Some(field) = &self.field {
            s.push_str(&match lang {
                Lang::Ja => format!(" 項目 {field}"),
                Lang::En => format!(" field {field}"),
            });
        }
        s
    }
}

/// What is wrong with one piece of input. Field names say what they hold.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputErrorKind {
    /// The bytes are neither UTF-8 nor Shift_JIS/CP932.
    Encoding { detail: String },
    /// The line is not JSON, or the CSV is malformed.
    Syntax { detail: String },
    /// The file holds no events.
    Empty,
    /// A field the event type does not have.
    UnknownField,
    /// A required field is absent.
    MissingField,
    /// `type` names no event type.
    UnknownType { value: String },
    /// A value of the wrong JSON type (a string where a number belongs...).
    InvalidType { detail: String },
    /// A value outside its enumeration.
    InvalidEnum { value: String, allowed: String },
    /// A date that is malformed or does not exist.
    InvalidDate { value: String },
    /// A number outside its range.
    OutOfRange {
        value: String,
        min: String,
        max: String,
    },
    /// Any other malformed value.
    InvalidValue { detail: String },
    /// `seq`, `recorded_at` or `hash` given outside `import --restore`.
    ReservedField,
    /// A menu that is not defined in the ledger or earlier in the batch.
    UnknownMenu { menu: String },
    /// A menu defined twice.
    MenuAlreadyDefined { menu: String },
    /// A second `project_defined`.
    ProjectAlreadyDefined,
    /// An event that needs the project before it is defined.
    ProjectNotDefined,
    /// A retraction or correction naming an event that does not exist.
    UnknownTarget { id: String },
    /// A retraction or correction naming an event already retracted.
    TargetRetracted { id: String },
    /// A retraction or correction naming an event it cannot fix.
    TargetNotFixable { id: String, detail: String },
    /// The same id, already recorded with different content.
    IdConflict { id: String, seq: u64 },
    /// The same id twice in one batch with different content.
    IdConflictInBatch { id: String, first_line: u64 },
    /// A cross-field rule: two fields disagree.
    Inconsistent {
        detail_ja: String,
        detail_en: String,
    },
    /// `import --restore`: the stored hash does not match the event.
    HashMismatch { seq: u64 },
    /// `import --restore`: `seq` out of order.
    SeqOutOfOrder { expected: u64, found: u64 },
    /// `import --restore` into a ledger that is not empty.
    RestoreIntoNonEmpty,
    /// `recorded_at` goes backwards in a restored export.
    RecordedAtBackwards,
    /// The batch is larger than the import limit.
    TooLarge { limit: String },
}

/// One error in the input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Where it was found.
    pub at: Location,
    /// What is wrong.
    pub kind: InputErrorKind,
}

impl InputError {
    /// An error of `kind` at `at`.
    pub fn new(at: Location, kind: InputErrorKind) -> Self {
        InputError { at, kind }
    }

    /// A short stable code, used by tests and by programs reading JSON errors.
    pub fn code(&self) -> &'static str {
        use InputErrorKind::*;
        match &self.kind {
            Encoding { .. } => "encoding",
            Syntax { .. } => "syntax",
            Empty => "empty",
            UnknownField => "unknown_field",
            MissingField => "missing_field",
            UnknownType { .. } => "unknown_type",
            InvalidType { .. } => "invalid_type",
            InvalidEnum { .. } => "invalid_enum",
            InvalidDate { .. } => "invalid_date",
            OutOfRange { .. } => "out_of_range",
            InvalidValue { .. } => "invalid_value",
            ReservedField => "reserved_field",
            UnknownMenu { .. } => "unknown_menu",
            MenuAlreadyDefined { .. } => "menu_already_defined",
            ProjectAlreadyDefined => "project_already_defined",
            ProjectNotDefined => "project_not_defined",
            UnknownTarget { .. } => "unknown_target",
            TargetRetracted { .. } => "target_retracted",
            TargetNotFixable { .. } => "target_not_fixable",
            IdConflict { .. } => "id_conflict",
            IdConflictInBatch { .. } => "id_conflict",
            Inconsistent { .. } => "inconsistent",
            HashMismatch { .. } => "hash_mismatch",
            SeqOutOfOrder { .. } => "seq_out_of_order",
            RestoreIntoNonEmpty => "restore_into_non_empty",
            RecordedAtBackwards => "recorded_at_backwards",
            TooLarge { .. } => "too_large",
        }
    }

    /// The message for people, in `lang`: location first, then what is wrong.
    pub fn render(&self, lang: Lang) -> String {
        format!("{}: {}", self.at.render(lang), self.kind.render(lang))
    }
}

impl InputErrorKind {
    fn render(&self, lang: Lang) -> String {
        use InputErrorKind::*;
        let ja = lang == Lang::Ja;
        match self {
            Encoding { detail } if ja => format!("文字コードを判別できません（UTF-8 でも Shift_JIS/CP932 でもありません）: {detail}"),
            Encoding { detail } => format!("cannot decode the file as UTF-8 or Shift_JIS/CP932: {detail}"),
            Syntax { detail } if ja => format!("書式の誤り: {detail}"),
            Syntax { detail } => format!("syntax error: {detail}"),
            Empty if ja => "イベントが1件もありません".into(),
            Empty => "the file holds no events".into(),
            UnknownField if ja => "この種類のイベントにない項目です".into(),
            UnknownField => "unknown field for this event type".into(),
            MissingField if ja => "必須項目がありません".into(),
            MissingField => "required field is missing".into(),
            UnknownType { value } if ja => format!("イベントの種類 `{value}` はありません"),
            UnknownType { value } => format!("unknown event type `{value}`"),
            InvalidType { detail } if ja => format!("値の型が違います: {detail}"),
            InvalidType { detail } => format!("wrong type of value: {detail}"),
            InvalidEnum { value, allowed } if ja => format!("`{value}` は使えません（使える値: {allowed}）"),
            InvalidEnum { value, allowed } => format!("`{value}` is not allowed (allowed: {allowed})"),
            InvalidDate { value } if ja => format!("`{value}` は存在する日付ではありません（YYYY-MM-DD、2024/11/20、令和6年11月20日、R6.11.20 の形で）"),
            InvalidDate { value } => format!("`{value}` is not an existing date (use YYYY-MM-DD, 2024/11/20, 令和6年11月20日 or R6.11.20)"),
            OutOfRange { value, min, max } if ja => format!("{value} は範囲外です（{min}〜{max}）"),
            OutOfRange { value, min, max } => format!("{value} is out of range ({min} to {max})"),
            InvalidValue { detail } if ja => format!("値が正しくありません: {detail}"),
            InvalidValue { detail } => format!("invalid value: {detail}"),
            ReservedField if ja => "この項目は台帳が付けるもので、入力できません（import --restore を除く）".into(),
            ReservedField => "this field is assigned by the ledger and refused on input (except import --restore)".into(),
            UnknownMenu { menu } if ja => format!("メニュー `{menu}` は定義されていません（menu_defined が先に必要です）"),
            UnknownMenu { menu } => format!("menu `{menu}` is not defined (a menu_defined event must come first)"),
            MenuAlreadyDefined { menu } if ja => format!("メニュー `{menu}` は定義済みです（目標の変更は targets_revised、誤りは correction で）"),
            MenuAlreadyDefined { menu } => format!("menu `{menu}` is already defined (use targets_revised or a correction)"),
            ProjectAlreadyDefined if ja => "事業はすでに定義されています（台帳ごとに project_defined は1件）".into(),
            ProjectAlreadyDefined => "the project is already defined (one project_defined per ledger)".into(),
            ProjectNotDefined if ja => "事業が定義されていません（project_defined が先に必要です）".into(),
            ProjectNotDefined => "the project is not defined (a project_defined event must come first)".into(),
            UnknownTarget { id } if ja => format!("対象のイベント {id} はありません"),
            UnknownTarget { id } => format!("target event {id} does not exist"),
            TargetRetracted { id } if ja => format!("対象のイベント {id} はすでに取り消されています"),
            TargetRetracted { id } => format!("target event {id} is already retracted"),
            TargetNotFixable { id, detail } if ja => format!("対象のイベント {id} は訂正・取消できません: {detail}"),
            TargetNotFixable { id, detail } => format!("target event {id} cannot be fixed this way: {detail}"),
            IdConflict { id, seq } if ja => format!("id {id} は seq {seq} に別の内容で記録済みです（何も追加していません）"),
            IdConflict { id, seq } => format!("id {id} is already recorded at seq {seq} with different content (nothing appended)"),
            IdConflictInBatch { id, first_line } if ja => format!("id {id} が {first_line}行目と別の内容で重複しています"),
            IdConflictInBatch { id, first_line } => format!("id {id} repeats line {first_line} with different content"),
            Inconsistent { detail_ja, .. } if ja => detail_ja.clone(),
            Inconsistent { detail_en, .. } => detail_en.clone(),
            HashMismatch { seq } if ja => format!("seq {seq} のハッシュが一致しません（改ざんまたは破損）"),
            HashMismatch { seq } => format!("hash of seq {seq} does not match (altered or damaged)"),
            SeqOutOfOrder { expected, found } if ja => format!("seq は {expected} のはずが {found} です"),
            SeqOutOfOrder { expected, found } => format!("seq should be {expected} but is {found}"),
            RestoreIntoNonEmpty if ja => "import --restore は空の台帳にだけ使えます".into(),
            RestoreIntoNonEmpty => "import --restore needs an empty ledger".into(),
            RecordedAtBackwards if ja => "recorded_at が前の行より前です".into(),
            RecordedAtBackwards => "recorded_at goes back in time".into(),
            TooLarge { limit } if ja => format!("入力が上限 {limit} を超えています"),
            TooLarge { limit } => format!("the input exceeds the limit of {limit}"),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl std::error::Error for InputError {}

/// Every error in a batch, in input order. Import refuses the whole batch when
/// this is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputErrors(pub Vec<InputError>);

impl InputErrors {
    /// Renders every error, one per line.
    pub fn render(&self, lang: Lang) -> String {
        self.0
            .iter()
            .map(|e| e.render(lang))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl From<InputError> for InputErrors {
    fn from(e: InputError) -> Self {
        InputErrors(vec![e])
    }
}
