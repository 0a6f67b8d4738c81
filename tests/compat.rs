//! Format compatibility. `tests/compat/v1/` holds a ledger written by the
//! first journal format (the demo council, 902 events), its export, two
//! reports and a judgement, as that version gave them. Every later version
//! must open it, verify it, export the same bytes and give the same
//! figures; so must a ledger restored from the export. When the format or
//! an event's schema changes, old data is upcast on read and a new fixture
//! is added beside this one (never replacing it).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat/v1")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(ledger: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::cargo_bin("jisseki")
        .unwrap()
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_LANG")
        .env_remove("JISSEKI_TEST_NOW")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jisseki {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

fn same_figures(ledger: &Path) {
    let cases: [(&[&str], &str); 3] = [
        (
            &["report", "--as-of", "2025-02-28", "--format", "json"],
            "report-2025-02-28.json",
        ),
        (
            &[
                "report",
                "--as-of",
                "2026-01-31",
                "--cumulative",
                "--format",
                "json",
            ],
            "report-2026-01-31-cumulative.json",
        ),
        (
            &["evaluate", "--year", "1", "--format", "json"],
            "evaluate-year-1.json",
        ),
    ];
    for (args, file) in cases {
        let want = json(&std::fs::read(fixture(file)).unwrap());
        assert_eq!(json(&run(ledger, args)), want, "{file}");
    }
}

#[test]
fn the_v1_ledger_opens_verifies_exports_and_gives_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    // Opening writes (a lock file, sled's recovery): work on a copy.
    copy_dir(&fixture("ledger"), &ledger);
    let verified = String::from_utf8(run(&ledger, &["verify", "--lang", "en"])).unwrap();
    assert!(verified.contains("902"), "{verified}");
    let mut export = Vec::new();
    export.extend(run(&ledger, &["export"]));
    assert_eq!(export, std::fs::read(fixture("export.jsonl")).unwrap());
    same_figures(&ledger);
}

#[test]
fn the_v1_export_restores_to_the_same_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("restored");
    run(&ledger, &["init"]);
    let export = fixture("export.jsonl");
    run(&ledger, &["import", "--restore", export.to_str().unwrap()]);
    assert_eq!(run(&ledger, &["export"]), std::fs::read(&export).unwrap());
    same_figures(&ledger);
}
