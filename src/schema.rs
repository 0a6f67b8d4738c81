//! JSON Schemas (draft 2020-12) of the events of CONTRACT.md §2, generated
//! from the Rust types with schemars and committed under `schemas/`.
//!
//! One self-contained document per event type (`<type>.schema.json`) and
//! `event.schema.json`, a `oneOf` over all of them. Each document accepts an
//! event as imported (optional `id`) and as exported (with the
//! ledger-assigned `seq`, `recorded_at`, `hash` and `schema_version`).
//!
//! schemars gives the fields, value types and vocabularies; this module adds
//! what the types cannot say: the document metadata, the `id` and ledger
//! fields, the nullable-but-required `start_date` of a hire, the
//! `replacement` of a correction (any body except a correction or a
//! retraction), a few structural rules the input layer enforces (see
//! [`crate::io::parse`]) and the examples. `cargo xtask schemas` writes the
//! files; `cargo xtask check-schemas` and `tests/schemas.rs` fail when the
//! committed files differ from what this module generates.

use crate::domain::{self, EventBody, EVENT_SCHEMA_VERSION, EVENT_TYPES};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

/// The JSON Schema dialect of every document.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
/// The base of every document's `$id`.
pub const SCHEMA_ID_BASE: &str = "https://jisseki.example/schemas/";
/// The file name of the schema of any event.
pub const EVENT_SCHEMA_FILE: &str = "event.schema.json";
/// The file of the `report --format json` schema (CONTRACT.md §3).
pub const REPORT_SCHEMA_FILE: &str = "report.schema.json";

/// The file of the `evaluate --format json` schema (CONTRACT.md §4).
pub const EVALUATION_SCHEMA_FILE: &str = "evaluation.schema.json";

/// The schema of `jisseki evaluate --format json`.
pub fn evaluation_schema() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings
        .into_generator()
        .into_root_schema_for::<crate::evaluate::Evaluation>();
    let mut doc = match serde_json::to_value(schema) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    doc.insert(
        "$id".into(),
        json!(format!("{SCHEMA_ID_BASE}{EVALUATION_SCHEMA_FILE}")),
    );
    doc.insert("title".into(), json!("jisseki evaluation"));
    doc.insert(
        "description".into(),
        json!("`jisseki evaluate --format json` (CONTRACT.md §4): the mid-term judgement per (menu, fiscal year) and for the project, with gaps, pending outcomes and a summary."),
    );
    sorted(Value::Object(doc))
}

/// The schema of `jisseki report --format json`.
pub fn report_schema() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings
        .into_generator()
        .into_root_schema_for::<crate::report::Report>();
    let mut doc = match serde_json::to_value(schema) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    doc.insert(
        "$id".into(),
        json!(format!("{SCHEMA_ID_BASE}{REPORT_SCHEMA_FILE}")),
    );
    doc.insert("title".into(), json!("jisseki report"));
    doc.insert(
        "description".into(),
        json!("`jisseki report --format json` (CONTRACT.md §3): output and outcome per menu for the fiscal year of `as_of` (or cumulative), with exclusions by rule ID, as known at `known_at`."),
    );
    sorted(Value::Object(doc))
}
/// The fields the ledger assigns, present in exports only.
pub const LEDGER_FIELDS: &[&str] = &["seq", "recorded_at", "hash", "schema_version"];

/// Event types that cannot be the `replacement` of a correction.
const FIX_TYPES: &[&str] = &["retraction", "correction"];
/// The `$defs` entry of a correction's replacement.
const REPLACEMENT_DEF: &str = "Replacement";

/// The file name of the schema of event type `ty`.
pub fn schema_file_name(ty: &str) -> String {
    format!("{ty}.schema.json")
}

/// Every schema document by file name: one per event type,
/// [`EVENT_SCHEMA_FILE`] and [`REPORT_SCHEMA_FILE`]. Keys of every object are
/// in sorted order.
///
/// # Panics
///
/// When the Rust types and this module have drifted apart (an event type
/// without a struct here, or a `$defs` name clash): a bug that the tests
/// catch, never a runtime condition.
pub fn event_schemas() -> BTreeMap<String, Value> {
    let parts = Parts::generate();
    let mut out = BTreeMap::new();
    out.insert(REPORT_SCHEMA_FILE.to_string(), report_schema());
    out.insert(EVALUATION_SCHEMA_FILE.to_string(), evaluation_schema());
    let mut event_defs = Map::new();
    let mut one_of = Vec::new();
    for ty in EVENT_TYPES {
        let doc = parts.type_document(ty);
        let def_name = format!("{}Event", parts.struct_names[*ty]);
        let mut inner = doc.clone();
        for k in ["$schema", "$id", "$defs", "examples"] {
            inner.remove(k);
        }
        one_of.push(json!({ "$ref": format!("#/$defs/{def_name}") }));
        event_defs.insert(def_name, Value::Object(inner));
        out.insert(schema_file_name(ty), sorted(Value::Object(doc)));
    }

    let mut doc = Map::new();
    doc.insert("$schema".into(), json!(DRAFT_2020_12));
    doc.insert(
        "$id".into(),
        json!(format!("{SCHEMA_ID_BASE}{EVENT_SCHEMA_FILE}")),
    );
    doc.insert("title".into(), json!("jisseki event"));
    doc.insert(
        "description".into(),
        json!(
            "Any event of the jisseki ledger (CONTRACT.md §2): one object a line of JSON Lines, as imported \
             (optional `id`) or as exported (with `seq`, `recorded_at`, `hash` and `schema_version`). \
             `type` selects the event type; see the per-type schemas `<type>.schema.json`."
        ),
    );
    doc.insert("oneOf".into(), Value::Array(one_of));
    let examples: Vec<Value> = contract_examples()
        .iter()
        .map(|l| parse_example(l))
        .collect();
    doc.insert("examples".into(), Value::Array(examples));
    let mut pool = parts.defs_pool();
    for (k, v) in &event_defs {
        if pool.insert(k.clone(), v.clone()).is_some() {
            panic!("$defs name clash: {k}");
        }
    }
    doc.insert("$defs".into(), Value::Object(reachable_defs(&doc, &pool)));
    out.insert(EVENT_SCHEMA_FILE.to_string(), sorted(Value::Object(doc)));
    out
}

/// The text of a schema document as committed: pretty JSON with sorted keys
/// and a final newline.
pub fn schema_text(doc: &Value) -> String {
    let mut s = match serde_json::to_string_pretty(&sorted(doc.clone())) {
        Ok(s) => s,
        Err(e) => unreachable!("a JSON value always serializes: {e}"),
    };
    s.push('\n');
    s
}

/// Writes every schema into `dir` (created if missing), rewriting only the
/// files whose content changed and removing `*.schema.json` files that no
/// longer correspond to an event type.
pub fn write_schemas(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let schemas = event_schemas();
    for (name, doc) in &schemas {
        let path = dir.join(name);
        let text = schema_text(doc);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
        }
    }
    for name in schema_files_in(dir)? {
        if !schemas.contains_key(&name) {
            std::fs::remove_file(dir.join(&name))?;
        }
    }
    Ok(())
}

/// Compares the schemas committed in `dir` with [`event_schemas`]. Returns
/// one line per file that is missing, stale (differs) or extra (a
/// `*.schema.json` that no event type produces).
pub fn check_schemas(dir: &Path) -> Result<(), Vec<String>> {
    let schemas = event_schemas();
    let mut problems = Vec::new();
    for (name, doc) in &schemas {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("missing: {}", path.display()))
            }
            Err(e) => problems.push(format!("unreadable: {}: {e}", path.display())),
            Ok(text) if text != schema_text(doc) => {
                problems.push(format!("stale: {}", path.display()))
            }
            Ok(_) => {}
        }
    }
    match schema_files_in(dir) {
        Ok(names) => {
            for name in names {
                if !schemas.contains_key(&name) {
                    problems.push(format!("extra: {}", dir.join(&name).display()));
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => problems.push(format!("unreadable: {}: {e}", dir.display())),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn schema_files_in(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str() {
            if name.ends_with(".schema.json") && entry.file_type()?.is_file() {
                names.push(name.to_string());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The example lines of CONTRACT.md §2, verbatim.
pub fn contract_examples() -> &'static [&'static str] {
    &[
        r#"{"type":"project_defined","project":"kushiro-2024","name":"互いの想いに寄り添う出会いの場。雇用創造 in 釧路","region_kind":"depopulated","municipalities":["釧路市"],"contract_start":"2024-10-01","years":3}"#,
        r#"{"type":"menu_defined","menu":"B-01","category":"B","kind":"seminar","name":"ＩＴ人材育成セミナー","targets":[{"fiscal_year":2024,"output":20,"outcome":6}]}"#,
        r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"in_region","intent_confirmed":true}"#,
        r#"{"type":"hire","person":"P-0001","employer":"E-0100","start_date":"2025-01-06","offer_date":"2024-12-18","workplace":"in_region","weekly_hours":40}"#,
    ]
}

/// The example instances of event type `ty` (the `examples` of its
/// schema), as JSON lines. The CONTRACT.md examples come first for the types
/// it shows.
pub fn examples(ty: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = contract_examples()
        .iter()
        .copied()
        .filter(|l| parse_example(l)["type"] == ty)
        .collect();
    out.extend_from_slice(match ty {
        "project_defined" => &[
            r#"{"type":"project_defined","id":"0192f3a0-5c00-7000-8000-00000000a001","project":"oki-2025","name":"島で働く・島で起こす 隠岐しごと創造プロジェクト","region_kind":"shortage","municipalities":["海士町","西ノ島町","知夫村"],"contract_start":"2025-04-01","years":2,"budget_yen":48000000}"#,
        ],
        "menu_defined" => &[
            r#"{"type":"menu_defined","menu":"A-01","category":"A","kind":"accompaniment","name":"事業所の魅力向上・採用力強化伴走支援","targets":[{"fiscal_year":2024,"output":10,"outcome":3},{"fiscal_year":2025,"output":15,"outcome":5},{"fiscal_year":2026,"output":15,"outcome":6}],"budget_yen":12000000}"#,
            r#"{"type":"menu_defined","menu":"C-01","category":"C","kind":"seminar","name":"釧路の企業合同説明会","targets":[{"fiscal_year":2024,"output":40,"outcome":8}]}"#,
        ],
        "targets_revised" => &[
            r#"{"type":"targets_revised","menu":"B-01","fiscal_year":2025,"output":25,"outcome":8,"date":"2025-06-01","reason":"協議会総会で受講定員の増加に合わせて目標を見直し"}"#,
            r#"{"type":"targets_revised","menu":"A-01","fiscal_year":2024,"output":8,"outcome":3,"date":"2024-12-01"}"#,
        ],
        "session_held" => &[
            r#"{"type":"session_held","menu":"B-01","date":"2024-11-20","place":"釧路市生涯学習センター まなぼっと幣舞","capacity":30}"#,
            r#"{"type":"session_held","menu":"C-01","date":"2025-02-08"}"#,
        ],
        "attendance" => &[
            r#"{"type":"attendance","menu":"A-01","date":"2024-12-05","role":"establishment","establishment":"E-0100","person":"P-0042","establishment_location":"out_region","wants_in_region":true}"#,
            r#"{"type":"attendance","id":"0193a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b","menu":"C-01","date":"2025-02-08","role":"job_seeker","person":"P-0107","residence":"out_region","wants_in_region":true,"intent_confirmed":true,"student":{"school":"university","graduating_year":2024}}"#,
            r#"{"type":"attendance","menu":"B-02","date":"2025-01-15","role":"startup_hopeful","person":"P-0150","residence":"in_region","intent_confirmed":true,"freelance":false}"#,
        ],
        "hire" => &[
            r#"{"type":"hire","person":"P-0107","employer":"E-0100","start_date":null,"offer_date":"2025-03-10","interviewed_on":"2025-02-20","workplace":"in_region","weekly_hours":30.5,"menus":["C-01"]}"#,
            r#"{"type":"hire","person":"P-0042","employer":"E-0200","start_date":"2025-04-01","workplace":"in_region","weekly_hours":37.75,"regular_recruitment":false,"employed_before_use":false,"new_site_in_region":true}"#,
        ],
        "conversion" => &[
            r#"{"type":"conversion","person":"P-0211","employer":"E-0100","date":"2025-04-01","weekly_hours":40,"menus":["A-01"]}"#,
            r#"{"type":"conversion","person":"P-0305","employer":"E-0310","date":"2025-10-01","weekly_hours":32.5,"vacancy_fill":false}"#,
        ],
        "startup" => &[
            r#"{"type":"startup","person":"P-0150","date":"2025-05-15","location":"in_region","employees":2,"menus":["B-02"]}"#,
            r#"{"type":"startup","person":"P-0163","date":"2025-09-01","location":"in_region","employees":0}"#,
        ],
        "survey_response" => &[
            r#"{"type":"survey_response","menu":"A-01","date":"2024-12-05","useful":true,"respondent":"E-0100"}"#,
            r#"{"type":"survey_response","menu":"A-01","date":"2024-12-05","useful":false}"#,
        ],
        "plan_approved" => &[
            r#"{"type":"plan_approved","menus":["B-01","C-01"],"date":"2025-03-24","scope":"menus"}"#,
            r#"{"type":"plan_approved","menus":["A-01"],"date":"2026-03-19","scope":"project"}"#,
        ],
        "retraction" => &[
            r#"{"type":"retraction","target":"0193a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b","reason":"同一人物の重複登録のため取消"}"#,
            r#"{"type":"retraction","id":"0193b000-0000-7000-8000-0000000000c1","target":"0193a1b2-0000-7000-8000-000000000042","reason":"別事業の参加者を誤って登録した"}"#,
        ],
        "correction" => &[
            r#"{"type":"correction","target":"0193a1b2-0000-7000-8000-000000000007","reason":"就職日の誤記を訂正（1月6日→1月14日）","replacement":{"type":"hire","person":"P-0001","employer":"E-0100","start_date":"2025-01-14","offer_date":"2024-12-18","workplace":"in_region","weekly_hours":40}}"#,
            r#"{"type":"correction","id":"0193b000-0000-7000-8000-0000000000c2","target":"0193a1b2-0000-7000-8000-000000000003","reason":"本人に居住地を再確認した","replacement":{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"out_region","wants_in_region":true,"intent_confirmed":true}}"#,
        ],
        _ => &[],
    });
    out
}

fn parse_example(line: &str) -> Value {
    match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => panic!("example is not JSON ({e}): {line}"),
    }
}

/// What schemars gives, split up and fixed where the types cannot say it.
struct Parts {
    /// The shared `$defs` (value types, vocabularies, nested objects).
    defs: Map<String, Value>,
    /// The body schema of each event type (with `type`, without `id`).
    bodies: BTreeMap<String, Map<String, Value>>,
    /// The Rust struct name of each event type.
    struct_names: BTreeMap<String, String>,
}

fn generate<T: JsonSchema>() -> Map<String, Value> {
    match SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
    {
        Value::Object(m) => m,
        other => panic!("schemars gave a non-object schema: {other}"),
    }
}

/// The root schema of the struct of event type `ty` (for its name and doc).
fn struct_schema(ty: &str) -> Map<String, Value> {
    match ty {
        "project_defined" => generate::<domain::ProjectDefined>(),
        "menu_defined" => generate::<domain::MenuDefined>(),
        "targets_revised" => generate::<domain::TargetsRevised>(),
        "session_held" => generate::<domain::SessionHeld>(),
        "attendance" => generate::<domain::Attendance>(),
        "hire" => generate::<domain::Hire>(),
        "conversion" => generate::<domain::Conversion>(),
        "startup" => generate::<domain::Startup>(),
        "survey_response" => generate::<domain::SurveyResponse>(),
        "plan_approved" => generate::<domain::PlanApproved>(),
        "retraction" => generate::<domain::Retraction>(),
        "correction" => generate::<domain::Correction>(),
        other => panic!("event type `{other}` has no struct in schema.rs"),
    }
}

fn obj_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    match m.get_mut(key) {
        Some(Value::Object(o)) => o,
        _ => panic!("schema has no object `{key}`"),
    }
}

fn description_of(m: &Map<String, Value>) -> Value {
    m.get("description").cloned().unwrap_or(Value::Null)
}

impl Parts {
    fn generate() -> Parts {
        let mut root = generate::<EventBody>();
        unwrap_descriptions(&mut root);
        let defs = match root.remove("$defs") {
            Some(Value::Object(d)) => d,
            _ => Map::new(),
        };
        let variants = match root.remove("oneOf") {
            Some(Value::Array(v)) => v,
            _ => panic!("schemars did not give EventBody a oneOf"),
        };
        let mut bodies = BTreeMap::new();
        let mut struct_names = BTreeMap::new();
        for v in variants {
            let Value::Object(mut body) = v else {
                panic!("variant schema is not an object")
            };
            let ty = match body
                .get("properties")
                .and_then(|p| p.get("type"))
                .and_then(|t| t.get("const"))
            {
                Some(Value::String(s)) => s.clone(),
                _ => panic!("variant schema without a `type` const"),
            };
            let mut st = struct_schema(&ty);
            unwrap_descriptions(&mut st);
            let name = match st.get("title") {
                Some(Value::String(s)) => s.clone(),
                _ => panic!("struct of `{ty}` has no title"),
            };
            // The variant's own doc is "See [`Hire`]."; the struct's says what it is.
            body.insert("description".into(), description_of(&st));
            fix_body(&ty, &mut body);
            struct_names.insert(ty.clone(), name);
            bodies.insert(ty, body);
        }
        let mut types: Vec<&str> = bodies.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = EVENT_TYPES.to_vec();
        types.sort_unstable();
        expected.sort_unstable();
        assert_eq!(types, expected, "EventBody variants and EVENT_TYPES differ");
        Parts {
            defs,
            bodies,
            struct_names,
        }
    }

    /// Every definition a document may refer to: the shared ones, one body
    /// per event type that may be a replacement, and the replacement itself.
    fn defs_pool(&self) -> Map<String, Value> {
        let mut pool = self.defs.clone();
        let mut refs = Vec::new();
        for ty in EVENT_TYPES.iter().filter(|t| !FIX_TYPES.contains(t)) {
            let name = &self.struct_names[*ty];
            refs.push(json!({ "$ref": format!("#/$defs/{name}") }));
            if pool
                .insert(name.clone(), Value::Object(self.bodies[*ty].clone()))
                .is_some()
            {
                panic!("$defs name clash: {name}");
            }
        }
        let replacement = json!({
            "description": "The corrected event: a full event body of the same type as the target, without `id` \
                            and without ledger fields; never a correction or a retraction.",
            "oneOf": refs,
        });
        if pool.insert(REPLACEMENT_DEF.into(), replacement).is_some() {
            panic!("$defs name clash: {REPLACEMENT_DEF}");
        }
        pool
    }

    /// The full document of event type `ty`, unsorted.
    fn type_document(&self, ty: &str) -> Map<String, Value> {
        let mut body = self.bodies[ty].clone();
        let props = obj_mut(&mut body, "properties");
        for (k, v) in envelope_properties() {
            if props.insert(k.clone(), v).is_some() {
                panic!("event `{ty}` has a field `{k}` that clashes with the envelope");
            }
        }
        let mut deps = Map::new();
        for f in LEDGER_FIELDS {
            let others: Vec<&str> = std::iter::once("id")
                .chain(LEDGER_FIELDS.iter().copied().filter(|o| o != f))
                .collect();
            deps.insert((*f).to_string(), json!(others));
        }
        body.insert("dependentRequired".into(), Value::Object(deps));

        let mut doc = Map::new();
        doc.insert("$schema".into(), json!(DRAFT_2020_12));
        doc.insert(
            "$id".into(),
            json!(format!("{SCHEMA_ID_BASE}{}", schema_file_name(ty))),
        );
        doc.insert("title".into(), json!(format!("jisseki event: {ty}")));
        let what = body
            .remove("description")
            .and_then(|d| d.as_str().map(str::to_string))
            .unwrap_or_default();
        doc.insert(
            "description".into(),
            json!(format!(
                "{what}\n\nOne `{ty}` event of the jisseki ledger (CONTRACT.md §2, Rust type `{}`), as imported \
                 (optional `id`) or as exported (with `seq`, `recorded_at`, `hash` and `schema_version`, which \
                 an ordinary import refuses).",
                self.struct_names[ty]
            )),
        );
        doc.extend(body);
        let examples: Vec<Value> = examples(ty).iter().map(|l| parse_example(l)).collect();
        doc.insert("examples".into(), Value::Array(examples));
        let defs = reachable_defs(&doc, &self.defs_pool());
        if !defs.is_empty() {
            doc.insert("$defs".into(), Value::Object(defs));
        }
        doc
    }
}

/// `id` and the ledger-assigned fields, allowed on every event.
fn envelope_properties() -> Vec<(String, Value)> {
    vec![
        (
            "id".into(),
            json!({
                "description": "Event id. Optional on input: given, the append is idempotent (same id and content: \
                                a no-op; different content: a conflict); absent, the ledger assigns a UUID v7. \
                                Always present in exports.",
                "type": "string",
                "format": "uuid",
            }),
        ),
        (
            "seq".into(),
            json!({
                "description": "Ledger-assigned sequence number, from 1, gap-free. Exports only; refused on input \
                                except by `import --restore`.",
                "type": "integer",
                "minimum": 1,
            }),
        ),
        (
            "recorded_at".into(),
            json!({
                "description": "Ledger-assigned transaction time, RFC 3339 UTC with six decimals. Exports only.",
                "type": "string",
                "format": "date-time",
            }),
        ),
        (
            "hash".into(),
            json!({
                "description": "Ledger-assigned chain hash after this event. Exports only.",
                "type": "string",
                "pattern": "^sha256:[0-9a-f]{64}$",
            }),
        ),
        (
            "schema_version".into(),
            json!({
                "description": "The event schema version the event was written with. Exports only.",
                "type": "integer",
                "const": EVENT_SCHEMA_VERSION,
            }),
        ),
    ]
}

/// Fixes one event body where the Rust types do not say it all.
fn fix_body(ty: &str, body: &mut Map<String, Value>) {
    let props = obj_mut(body, "properties");
    match ty {
        "hire" => {
            // `#[schemars(required)]` on an `Option` drops the null from the
            // schema: the field is required but may be null (XC-4).
            let start = obj_mut(props, "start_date");
            let description = description_of(start);
            *start = json!({
                "description": description,
                "anyOf": [{"$ref": "#/$defs/Date"}, {"type": "null"}],
            })
            .as_object()
            .cloned()
            .unwrap_or_default();
        }
        "correction" => {
            // schemars refers back to the whole enum (`$ref: "#"`), which
            // would allow nested corrections and, in a per-type document,
            // only corrections.
            let rep = obj_mut(props, "replacement");
            let description = description_of(rep);
            *rep =
                json!({ "description": description, "$ref": format!("#/$defs/{REPLACEMENT_DEF}") })
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
        }
        "project_defined" => {
            // crate::io::parse refuses an empty list.
            obj_mut(props, "municipalities").insert("minItems".into(), json!(1));
        }
        "plan_approved" => {
            obj_mut(props, "menus").insert("minItems".into(), json!(1));
        }
        "attendance" => {
            // CONTRACT.md §2: `person` or `establishment` (or both); an
            // establishment's attendance names the establishment.
            body.insert(
                "anyOf".into(),
                json!([
                    {"required": ["person"], "properties": {"person": {"type": "string"}}},
                    {"required": ["establishment"], "properties": {"establishment": {"type": "string"}}},
                ]),
            );
            body.insert(
                "if".into(),
                json!({"required": ["role"], "properties": {"role": {"const": "establishment"}}}),
            );
            body.insert(
                "then".into(),
                json!({"required": ["establishment"], "properties": {"establishment": {"type": "string"}}}),
            );
        }
        _ => {}
    }
}

/// The `$defs` of `pool` that `doc` reaches through `#/$defs/...`
/// references, transitively.
fn reachable_defs(doc: &Map<String, Value>, pool: &Map<String, Value>) -> Map<String, Value> {
    let mut seen = BTreeSet::new();
    let mut todo = Vec::new();
    for (k, v) in doc {
        if k != "$defs" {
            collect_refs(v, &mut todo);
        }
    }
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            match pool.get(&name) {
                Some(def) => collect_refs(def, &mut todo),
                None => panic!("reference to an unknown definition `{name}`"),
            }
        }
    }
    seen.into_iter()
        .map(|n| (n.clone(), pool[&n].clone()))
        .collect()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            out.push(name.to_string());
                        } else {
                            panic!("reference `{r}` is not to a local definition");
                        }
                    }
                    ("examples", _) => {}
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// Joins the lines of doc comments that schemars copies into
/// `description`s (a single newline is a line wrap in the source; a blank
/// line stays a paragraph break).
fn unwrap_descriptions(m: &mut Map<String, Value>) {
    for (k, v) in m.iter_mut() {
        match v {
            Value::String(s) if k == "description" => {
                *s = s
                    .split("\n\n")
                    .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            Value::Object(o) => unwrap_descriptions(o),
            Value::Array(a) => {
                for x in a.iter_mut() {
                    if let Value::Object(o) = x {
                        unwrap_descriptions(o);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `v` with the keys of every object inserted in sorted order (serde_json
/// may preserve insertion order, depending on its features).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_per_type_one_for_any_event_and_one_for_the_report() {
        let s = event_schemas();
        assert_eq!(s.len(), EVENT_TYPES.len() + 3);
        assert!(s.contains_key(EVENT_SCHEMA_FILE));
        assert!(s.contains_key(REPORT_SCHEMA_FILE));
        for ty in EVENT_TYPES {
            assert!(s.contains_key(&schema_file_name(ty)), "{ty}");
            assert!(examples(ty).len() >= 2, "{ty} needs two examples");
        }
    }

    #[test]
    fn output_is_deterministic() {
        let a: Vec<String> = event_schemas().values().map(schema_text).collect();
        let b: Vec<String> = event_schemas().values().map(schema_text).collect();
        assert_eq!(a, b);
    }
}
