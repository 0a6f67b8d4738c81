//! The JSON Schemas in `schemas/` against the Rust types, the contract and
//! the fixtures: the committed files are what `jisseki::schema` generates,
//! every schema compiles as draft 2020-12, and every example (CONTRACT.md,
//! the schemas' own, every JSON Lines fixture, every exported event)
//! validates with format checking on, while known-bad events are rejected by
//! the schemas and the parser alike.
//!
//! Fixtures meant to be refused (by the schema or by the ledger) are skipped
//! by the fixture check: put them under a directory named `invalid/` or name
//! them `invalid_*.jsonl` / `bad_*.jsonl`.

use jisseki::domain::{EventBody, EVENT_TYPES};
use jisseki::error::Location;
use jisseki::io::parse::{parse_object, Mode};
use jisseki::journal::{RecordedEvent, GENESIS};
use jisseki::schema::{self, EVENT_SCHEMA_FILE, LEDGER_FIELDS};
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schemas_dir() -> PathBuf {
    root().join("schemas")
}

fn fixtures_dir() -> PathBuf {
    root().join("tests").join("fixtures")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask schemas`)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn compile(doc: &Value, name: &str) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(doc)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

/// The committed schemas, compiled, by file name.
struct Schemas {
    docs: BTreeMap<String, Value>,
    validators: BTreeMap<String, Validator>,
}

impl Schemas {
    fn load() -> Schemas {
        let mut docs = BTreeMap::new();
        let mut validators = BTreeMap::new();
        let names = EVENT_TYPES
            .iter()
            .map(|t| schema::schema_file_name(t))
            .chain([
                EVENT_SCHEMA_FILE.to_string(),
                schema::REPORT_SCHEMA_FILE.to_string(),
                schema::EVALUATION_SCHEMA_FILE.to_string(),
            ]);
        for name in names {
            let doc = read_json(&schemas_dir().join(&name));
            validators.insert(name.clone(), compile(&doc, &name));
            docs.insert(name, doc);
        }
        Schemas { docs, validators }
    }

    fn errors(&self, file: &str, instance: &Value) -> Vec<String> {
        self.validators[file]
            .iter_errors(instance)
            .map(|e| format!("{} at `{}`", e, e.instance_path))
            .collect()
    }

    /// Validates against `event.schema.json` and the schema of its `type`;
    /// returns the problems, empty when valid.
    fn check(&self, instance: &Value) -> Vec<String> {
        let mut problems: Vec<String> = self
            .errors(EVENT_SCHEMA_FILE, instance)
            .into_iter()
            .map(|e| format!("{EVENT_SCHEMA_FILE}: {e}"))
            .collect();
        match instance.get("type").and_then(Value::as_str) {
            Some(ty) if EVENT_TYPES.contains(&ty) => {
                let file = schema::schema_file_name(ty);
                problems.extend(
                    self.errors(&file, instance)
                        .into_iter()
                        .map(|e| format!("{file}: {e}")),
                );
            }
            other => problems.push(format!("no event type {other:?}")),
        }
        problems
    }

    fn assert_valid(&self, instance: &Value, what: &str) {
        let problems = self.check(instance);
        assert!(
            problems.is_empty(),
            "{what} should validate:\n  {instance}\n  {}",
            problems.join("\n  ")
        );
    }

    /// Both the schema of the instance's type and `event.schema.json`
    /// reject it.
    fn assert_rejected(&self, instance: &Value, what: &str) {
        assert!(
            !self.validators[EVENT_SCHEMA_FILE].is_valid(instance),
            "event.schema.json accepts {what}: {instance}"
        );
        if let Some(ty) = instance
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| EVENT_TYPES.contains(t))
        {
            let file = schema::schema_file_name(ty);
            assert!(
                !self.validators[&file].is_valid(instance),
                "{file} accepts {what}: {instance}"
            );
        }
    }
}

fn object(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m.clone(),
        other => panic!("not a JSON object: {other}"),
    }
}

/// Parses with the real input layer, as `import` does (ledger fields
/// stripped, since an ordinary import refuses them).
fn parse_as_import(v: &Value) -> Result<jisseki::io::InputEvent, String> {
    let mut m = object(v);
    for f in LEDGER_FIELDS {
        m.remove(*f);
    }
    parse_object(m, &Location::line("x", 1), Mode::Append, vec![]).map_err(|errs| {
        errs.iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn assert_parses(v: &Value, what: &str) -> EventBody {
    match parse_as_import(v) {
        Ok(e) => e.body,
        Err(e) => panic!("{what} does not parse: {v}\n  {e}"),
    }
}

fn jsonl_values(text: &str, what: &str) -> Vec<Value> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l.trim_start_matches('\u{feff}'))
                .unwrap_or_else(|e| panic!("{what} line {}: not JSON: {e}", i + 1))
        })
        .collect()
}

#[test]
fn committed_schemas_match_the_rust_types() {
    if let Err(problems) = schema::check_schemas(&schemas_dir()) {
        panic!(
            "the committed JSON Schemas differ from what the Rust types generate; run `cargo xtask schemas` \
             and commit schemas/:\n  {}",
            problems.join("\n  ")
        );
    }
    // And the in-memory documents are the committed ones, value for value.
    let schemas = Schemas::load();
    for (name, doc) in schema::event_schemas() {
        assert_eq!(schemas.docs[&name], doc, "{name}");
    }
}

#[test]
fn every_schema_is_a_self_contained_draft_2020_12_document() {
    let schemas = Schemas::load();
    for (name, doc) in &schemas.docs {
        assert_eq!(doc["$schema"], json!(schema::DRAFT_2020_12), "{name}");
        assert_eq!(
            doc["$id"],
            json!(format!("{}{name}", schema::SCHEMA_ID_BASE)),
            "{name}"
        );
        assert!(
            doc["title"].is_string() && doc["description"].is_string(),
            "{name} needs title and description"
        );
        if let Err(e) = jsonschema::meta::validate(doc) {
            panic!("{name} is not a valid draft 2020-12 schema: {e}");
        }
        // Every reference is local and resolves within the document.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"").skip(1) {
            let target = part.split('"').next().unwrap_or_default();
            let def = target
                .strip_prefix("#/$defs/")
                .unwrap_or_else(|| panic!("{name}: non-local $ref {target}"));
            assert!(
                doc["$defs"].get(def).is_some(),
                "{name}: $ref {target} has no definition"
            );
        }
    }
    for ty in EVENT_TYPES {
        let doc = &schemas.docs[&schema::schema_file_name(ty)];
        assert_eq!(doc["properties"]["type"]["const"], json!(ty));
        assert_eq!(doc["additionalProperties"], json!(false), "{ty}");
        assert!(
            doc["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("type"))),
            "{ty}: type is required"
        );
        assert!(
            !doc["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("id"))),
            "{ty}: id is optional"
        );
        for f in LEDGER_FIELDS {
            assert!(doc["properties"].get(*f).is_some(), "{ty}: {f} allowed");
        }
    }
}

#[test]
fn every_schema_example_validates_and_parses() {
    let schemas = Schemas::load();
    // The report schema is checked against real reports instead
    // (`reports_validate_against_the_report_schema`).
    for (name, doc) in schemas.docs.iter().filter(|(n, _)| {
        n.as_str() != schema::REPORT_SCHEMA_FILE && n.as_str() != schema::EVALUATION_SCHEMA_FILE
    }) {
        let examples = doc["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no examples"));
        assert!(
            name == EVENT_SCHEMA_FILE || examples.len() >= 2,
            "{name}: at least two examples"
        );
        for ex in examples {
            schemas.assert_valid(ex, &format!("an example of {name}"));
            if name != EVENT_SCHEMA_FILE {
                let file = schema::schema_file_name(ex["type"].as_str().unwrap_or_default());
                assert_eq!(&file, name, "an example of {name} of another type");
            }
            let body = assert_parses(ex, &format!("an example of {name}"));
            assert_eq!(json!(body.type_name()), ex["type"]);
        }
    }
    // The CONTRACT.md examples are among the examples of their types.
    for line in schema::contract_examples() {
        let v: Value = serde_json::from_str(line).expect("contract example is JSON");
        let file = schema::schema_file_name(v["type"].as_str().unwrap_or_default());
        let examples = schemas.docs[&file]["examples"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            examples.contains(&v),
            "{file} lacks the CONTRACT.md example {line}"
        );
    }
}

/// The JSON lines of the "Example lines" block of CONTRACT.md §2.
fn contract_md_example_lines(text: &str) -> Vec<String> {
    let after = text
        .split_once("Example lines:")
        .map(|(_, rest)| rest)
        .expect("CONTRACT.md has `Example lines:`");
    let block = after
        .split_once("```json")
        .map(|(_, rest)| rest)
        .expect("a ```json block follows `Example lines:`");
    let block = block
        .split_once("```")
        .map(|(b, _)| b)
        .expect("the ```json block is closed");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn contract_examples_validate() {
    let schemas = Schemas::load();
    let fixture_path = fixtures_dir().join("contract_examples.jsonl");
    let fixture =
        std::fs::read_to_string(&fixture_path).expect("tests/fixtures/contract_examples.jsonl");
    let fixture_lines: Vec<String> = fixture
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(!fixture_lines.is_empty());

    let contract_md = root()
        .join("..")
        .join("shared")
        .join("domain")
        .join("CONTRACT.md");
    if let Ok(text) = std::fs::read_to_string(&contract_md) {
        let lines = contract_md_example_lines(&text);
        for line in &lines {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("CONTRACT.md example is not JSON ({e}): {line}"));
            schemas.assert_valid(&v, "a CONTRACT.md example");
            assert_parses(&v, "a CONTRACT.md example");
        }
        assert_eq!(
            fixture_lines, lines,
            "tests/fixtures/contract_examples.jsonl must be a copy of the example lines of CONTRACT.md §2"
        );
        let in_schema_rs: Vec<String> = schema::contract_examples()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            in_schema_rs, lines,
            "jisseki::schema::contract_examples() must be the example lines of CONTRACT.md §2"
        );
    }
    for v in jsonl_values(&fixture, "contract_examples.jsonl") {
        schemas.assert_valid(&v, "a contract example fixture");
        assert_parses(&v, "a contract example fixture");
    }
}

fn is_invalid_fixture(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.starts_with("invalid")
        || name.starts_with("bad_")
        || path.components().any(|c| c.as_os_str() == "invalid")
}

fn jsonl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            jsonl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

#[test]
fn every_jsonl_fixture_validates() {
    let schemas = Schemas::load();
    let mut files = Vec::new();
    jsonl_files(&fixtures_dir(), &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("contract_examples.jsonl")),
        "fixtures found: {files:?}"
    );
    let mut checked = 0;
    for file in files.iter().filter(|f| !is_invalid_fixture(f)) {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let rel = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line.trim_start_matches('\u{feff}'))
                .unwrap_or_else(|e| panic!("{rel} line {}: not JSON: {e}", i + 1));
            let problems = schemas.check(&v);
            assert!(
                problems.is_empty(),
                "{rel} line {}:\n  {}",
                i + 1,
                problems.join("\n  ")
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn exported_events_validate() {
    let schemas = Schemas::load();
    let mut prev = GENESIS;
    let mut seq = 0u64;
    // 2025-03-05T00:00:00.123456Z
    let t0: i64 = 1_741_132_800_123_456;
    for ty in EVENT_TYPES {
        for line in schema::examples(ty) {
            let v: Value = serde_json::from_str(line).expect("example is JSON");
            let parsed = parse_as_import(&v).unwrap_or_else(|e| panic!("{line}: {e}"));
            seq += 1;
            let id = parsed.id.unwrap_or_else(|| {
                Uuid::from_u128(0x0195_6a3c_0000_7000_8000_0000_0000_0000 + u128::from(seq))
            });
            let rec = RecordedEvent::seal(seq, t0 + seq as i64, id, parsed.body, &prev);
            prev = rec.hash;
            let export = Value::Object(rec.export_object());
            for f in LEDGER_FIELDS.iter().chain(&["id"]) {
                assert!(export.get(*f).is_some(), "the export has {f}: {export}");
            }
            schemas.assert_valid(&export, &format!("an exported {ty}"));
            // The canonical export line is the same object.
            let from_line: Value =
                serde_json::from_slice(&rec.export_line()).expect("export line is JSON");
            assert_eq!(from_line, export);
            schemas.assert_valid(&from_line, &format!("an exported {ty} line"));
            // And it restores.
            let restored = parse_object(
                object(&from_line),
                &Location::line("x", 1),
                Mode::Restore,
                rec.export_line(),
            );
            assert!(
                restored.is_ok(),
                "export of {ty} does not restore: {restored:?}"
            );
        }
    }
}

#[test]
fn schemas_and_parser_reject_what_the_contract_refuses() {
    let schemas = Schemas::load();
    let attendance = json!({"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001"});
    let hire = json!({"type":"hire","person":"P-0001","start_date":"2025-01-06","workplace":"in_region","weekly_hours":40});
    let startup = json!({"type":"startup","person":"P-0150","date":"2025-05-15","location":"in_region","employees":2});
    let project = json!({"type":"project_defined","project":"p","name":"釧路","region_kind":"shortage","municipalities":["釧路市"],"contract_start":"2024-10-01","years":3});
    let correction = json!({"type":"correction","target":"0193a1b2-0000-7000-8000-000000000007","reason":"訂正","replacement": attendance.clone()});
    for (base, what) in [
        (&attendance, "attendance"),
        (&hire, "hire"),
        (&startup, "startup"),
        (&project, "project"),
        (&correction, "correction"),
    ] {
        schemas.assert_valid(base, what);
        assert_parses(base, what);
    }
    let with = |base: &Value, key: &str, value: Value| {
        let mut m = object(base);
        m.insert(key.into(), value);
        Value::Object(m)
    };
    let without = |base: &Value, key: &str| {
        let mut m = object(base);
        m.remove(key);
        Value::Object(m)
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "an unknown field",
            with(&attendance, "colour", json!("red")),
        ),
        ("weekly_hours 169", with(&hire, "weekly_hours", json!(169))),
        (
            "weekly_hours with three decimals",
            with(&hire, "weekly_hours", json!(37.555)),
        ),
        ("employees -1", with(&startup, "employees", json!(-1))),
        ("years 4", with(&project, "years", json!(4))),
        (
            "a date that does not exist",
            with(&attendance, "date", json!("2023-02-29")),
        ),
        (
            "a date in another format",
            with(&attendance, "date", json!("2024/11/20")),
        ),
        (
            "a role outside its list",
            with(&attendance, "role", json!("boss")),
        ),
        (
            "a residence outside its list",
            with(&attendance, "residence", json!("abroad")),
        ),
        (
            "a school outside its list",
            with(
                &attendance,
                "student",
                json!({"school":"kindergarten","graduating_year":2025}),
            ),
        ),
        ("a hire without start_date", without(&hire, "start_date")),
        ("a hire without type", without(&hire, "type")),
        ("an unknown type", with(&hire, "type", json!("party"))),
        (
            "an id that is not a UUID",
            with(&hire, "id", json!("P-0001")),
        ),
        ("an empty id", with(&hire, "person", json!(""))),
        (
            "an attendance without person or establishment",
            without(&attendance, "person"),
        ),
        (
            "an establishment's attendance without the establishment",
            with(&attendance, "role", json!("establishment")),
        ),
        (
            "a project without municipalities",
            with(&project, "municipalities", json!([])),
        ),
        (
            "a replacement that is a retraction",
            with(
                &correction,
                "replacement",
                json!({"type":"retraction","target":"0193a1b2-0000-7000-8000-000000000007","reason":"x"}),
            ),
        ),
        (
            "a replacement that is a correction",
            with(&correction, "replacement", correction.clone()),
        ),
        (
            "a replacement with an id",
            with(
                &correction,
                "replacement",
                with(
                    &attendance,
                    "id",
                    json!("0193a1b2-0000-7000-8000-000000000008"),
                ),
            ),
        ),
        (
            "a replacement with an unknown field",
            with(
                &correction,
                "replacement",
                with(&attendance, "colour", json!("red")),
            ),
        ),
    ];
    for (what, v) in &cases {
        schemas.assert_rejected(v, what);
        assert!(
            parse_as_import(v).is_err(),
            "the parser accepts {what}: {v}"
        );
    }
    // Ledger fields: the schema allows a complete set (an export) only.
    let hash = format!("sha256:{}", "ab".repeat(32));
    let export = with(
        &with(
            &with(
                &with(
                    &with(&hire, "id", json!("0193a1b2-0000-7000-8000-000000000009")),
                    "seq",
                    json!(7),
                ),
                "recorded_at",
                json!("2025-03-05T00:00:00.000001Z"),
            ),
            "hash",
            json!(hash),
        ),
        "schema_version",
        json!(1),
    );
    schemas.assert_valid(&export, "a complete export");
    let ledger_cases: Vec<(&str, Value)> = vec![
        ("seq alone", with(&hire, "seq", json!(7))),
        ("seq 0", with(&export, "seq", json!(0))),
        (
            "an upper-case hash",
            with(&export, "hash", json!(hash.to_uppercase())),
        ),
        ("a short hash", with(&export, "hash", json!("sha256:abcd"))),
        (
            "recorded_at that is not a time",
            with(&export, "recorded_at", json!("2025-03-05")),
        ),
        (
            "schema_version 2",
            with(&export, "schema_version", json!(2)),
        ),
        (
            "a replacement with ledger fields",
            with(
                &correction,
                "replacement",
                with(&attendance, "seq", json!(1)),
            ),
        ),
    ];
    for (what, v) in &ledger_cases {
        schemas.assert_rejected(v, what);
    }
}

#[test]
fn weekly_hours_agree_with_the_parser() {
    let schemas = Schemas::load();
    for h in [
        json!(0),
        json!(0.01),
        json!(19.99),
        json!(37.5),
        json!(37.55),
        json!(40),
        json!(167.99),
        json!(168),
    ] {
        let v = json!({"type":"conversion","person":"P-1","employer":"E-1","date":"2025-04-01","weekly_hours": h});
        schemas.assert_valid(&v, "weekly hours with two decimals");
        assert_parses(&v, "weekly hours with two decimals");
    }
    for h in [
        json!(-1),
        json!(0.001),
        json!(37.555),
        json!(168.01),
        json!("40"),
    ] {
        let v = json!({"type":"conversion","person":"P-1","employer":"E-1","date":"2025-04-01","weekly_hours": h});
        schemas.assert_rejected(&v, "bad weekly hours");
        assert!(
            parse_as_import(&v).is_err(),
            "the parser accepts weekly_hours {h}"
        );
    }
}

#[test]
fn reports_validate_against_the_report_schema() {
    use jisseki::io::{read_events, InputFormat, Mode};
    let clock = std::sync::Arc::new(jisseki::journal::ManualClock::at(1_740_000_000_000_000));
    let mut l =
        jisseki::Ledger::with_storage(Box::new(jisseki::journal::MemStorage::default()), clock)
            .unwrap();
    let text = jisseki::synth::generate_jsonl(&jisseki::synth::SynthConfig::default());
    let events = read_events(
        text.as_bytes(),
        "demo.jsonl",
        InputFormat::JsonLines,
        Mode::Append,
    )
    .unwrap();
    l.append(events, "demo.jsonl", jisseki::AppendOptions::default())
        .unwrap();
    let schemas = Schemas::load();
    for (as_of, scope) in [
        ("2025-02-28", jisseki::rules::time::Scope::FiscalYear),
        ("2026-01-31", jisseki::rules::time::Scope::Cumulative),
    ] {
        let r = l
            .report(
                jisseki::domain::Date::parse_iso(as_of).unwrap(),
                None,
                scope,
            )
            .unwrap();
        let v = serde_json::to_value(&r).unwrap();
        let errors = schemas.errors(schema::REPORT_SCHEMA_FILE, &v);
        assert!(errors.is_empty(), "{as_of}: {errors:?}");
        // CONTRACT.md §3 names.
        for key in [
            "project",
            "as_of",
            "known_at",
            "menus",
            "totals",
            "interpretations",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in [
            "menu",
            "category",
            "kind",
            "output",
            "outcome",
            "output_target",
            "outcome_target",
            "outcome_breakdown",
            "excluded",
        ] {
            assert!(v["menus"][0].get(key).is_some(), "{key}");
        }
    }
    // And the judgement of CONTRACT.md §4.
    let r = l.resolved(None).unwrap();
    for year in [1, 2] {
        let e = serde_json::to_value(
            jisseki::evaluate::evaluate(&r, year, jisseki::i18n::Lang::Ja).unwrap(),
        )
        .unwrap();
        let errors = schemas.errors(schema::EVALUATION_SCHEMA_FILE, &e);
        assert!(errors.is_empty(), "year {year}: {errors:?}");
        for key in [
            "year",
            "cutoff",
            "menus",
            "below_half_share",
            "project_decision",
        ] {
            assert!(e.get(key).is_some(), "{key}");
        }
        for key in [
            "menu",
            "fiscal_year",
            "judged",
            "output",
            "output_target",
            "output_rate",
            "outcome",
            "outcome_target",
            "outcome_rate",
            "satisfaction",
            "decision",
        ] {
            assert!(e["menus"][0].get(key).is_some(), "{key}");
        }
    }
}
