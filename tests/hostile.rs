//! Hostile and broken environments: each gives a clear message and leaves
//! the ledger as it was (docs/reliability.md). The cases already covered
//! elsewhere: a second writer, a foreign directory, a newer format
//! (`tests/cli.rs`), real crashes (`tests/crash.rs`), faults and power cuts
//! (`tests/simulation.rs`).

use assert_cmd::Command;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

fn jisseki(ledger: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("jisseki")
        .unwrap()
        .env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_LANG")
        .env_remove("JISSEKI_TEST_NOW")
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A refusal: a non-zero exit that is not a panic (101), with a message.
fn refused(out: &Output) -> String {
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| c != 0 && c != 101),
        "exit {code:?}: {}",
        stderr(out)
    );
    let msg = stderr(out);
    assert!(!msg.contains("panicked"), "{msg}");
    assert!(!msg.trim().is_empty());
    msg
}

fn compat_ledger(into: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/v1/ledger");
    let to = into.join("ledger");
    copy_dir(&from, &to);
    to
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

/// A project, a menu, and `n` attendances.
fn council(n: usize) -> String {
    let mut s = String::from(
        r#"{"type":"project_defined","project":"h","name":"h","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}
{"type":"menu_defined","menu":"B-01","category":"B","kind":"seminar","name":"B","targets":[{"fiscal_year":2024,"output":10,"outcome":3}]}
"#,
    );
    for i in 0..n {
        s.push_str(&format!(
            r#"{{"type":"attendance","menu":"B-01","date":"2024-11-{:02}","role":"job_seeker","person":"P-{i:07}","residence":"in_region","intent_confirmed":true}}"#,
            1 + i % 28
        ));
        s.push('\n');
    }
    s
}

/// A small tmpfs at a directory, unmounted when dropped; `None` (and a
/// note) where this process may not mount.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Option<Tmpfs<'a>> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        }
        ok.then_some(Tmpfs(dir))
    }

    /// `mount -o remount,<mode>`.
    fn remount(&self, mode: &str) -> bool {
        std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.0)
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

fn head_line(ledger: &Path) -> String {
    ok(&jisseki(ledger, &["verify", "--lang", "en"]))
}

#[test]
fn a_truncated_storage_file_is_reported_not_panicked_on() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = compat_ledger(tmp.path());
    let db = ledger.join("journal/db");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(50_000)
        .unwrap();
    for args in [
        &["verify"][..],
        &["report", "--as-of", "2025-02-28"],
        &["export"],
    ] {
        let msg = refused(&jisseki(&ledger, args));
        assert_eq!(jisseki(&ledger, args).status.code(), Some(4), "{args:?}");
        assert!(msg.contains("破損") || msg.contains("壊れ"), "{msg}");
    }
    let en = refused(&jisseki(&ledger, &["verify", "--lang", "en"]));
    assert!(en.contains("damaged") && en.contains("restore"), "{en}");
}

#[test]
fn a_storage_file_overwritten_in_the_middle_is_reported_not_panicked_on() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = compat_ledger(tmp.path());
    let db = ledger.join("journal/db");
    let mut bytes = std::fs::read(&db).unwrap();
    for b in &mut bytes[60_000..70_000] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = jisseki(&ledger, &["verify"]);
    refused(&out);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn a_two_gigabyte_input_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("l");
    ok(&jisseki(&ledger, &["init"]));
    let big = tmp.path().join("big.jsonl");
    // Sparse: two gigabytes on paper, nothing on the disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 * 1024 * 1024 * 1024)
        .unwrap();
    let started = std::time::Instant::now();
    let msg = refused(&jisseki(&ledger, &["import", big.to_str().unwrap()]));
    assert!(msg.contains("big.jsonl") && msg.contains("1024"), "{msg}");
    assert!(started.elapsed().as_secs() < 30, "read instead of refused");
    assert!(head_line(&ledger).contains(" 0 "));
}

#[test]
fn a_csv_cell_of_ten_megabytes_is_refused_with_its_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("l");
    ok(&jisseki(&ledger, &["init"]));
    let csv = tmp.path().join("register.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "type,menu,date,role,person").unwrap();
    writeln!(f, "attendance,B-01,2024-11-01,job_seeker,P-1").unwrap();
    writeln!(
        f,
        "attendance,B-01,2024-11-01,job_seeker,{}",
        "X".repeat(10 << 20)
    )
    .unwrap();
    drop(f);
    let msg = refused(&jisseki(
        &ledger,
        &["import", csv.to_str().unwrap(), "--lang", "en"],
    ));
    assert!(msg.contains("register.csv:3"), "{msg}");
    assert!(msg.contains("person"), "{msg}");
    assert!(head_line(&ledger).contains(" 0 "));
}

/// A small file system (tmpfs) that fills up during an import. Needs the
/// right to mount (root, as in CI); elsewhere it says so and passes.
#[test]
fn a_disk_that_fills_up_during_an_import_leaves_the_ledger_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    // Room for sled's 2 MiB log segments; the filler leaves 600 kB.
    let Some(_guard) = Tmpfs::mount(&mnt, "64m") else {
        return;
    };
    let ledger = mnt.join("l");
    ok(&jisseki(&ledger, &["init"]));
    let first = tmp.path().join("first.jsonl");
    std::fs::write(&first, council(200)).unwrap();
    ok(&jisseki(&ledger, &["import", first.to_str().unwrap()]));
    let before = head_line(&ledger);
    let before_export = ok(&jisseki(&ledger, &["export"]));
    // Fill the disk but for a little, then import far more than that.
    let filler = mnt.join("filler");
    let free = fs_free_bytes(&mnt);
    std::fs::write(&filler, vec![0u8; free.saturating_sub(600_000) as usize]).unwrap();
    let big = tmp.path().join("big.jsonl");
    let text = council(60_000);
    let more: String = text.lines().skip(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&big, more).unwrap();
    let msg = refused(&jisseki(
        &ledger,
        &["import", big.to_str().unwrap(), "--lang", "en"],
    ));
    assert!(msg.contains("No space left"), "{msg}");
    // Space is freed: the ledger is as it was, and takes appends again.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(head_line(&ledger), before);
    assert_eq!(ok(&jisseki(&ledger, &["export"])), before_export);
    let small = tmp.path().join("small.jsonl");
    std::fs::write(
        &small,
        council(210)
            .lines()
            .skip(202)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    ok(&jisseki(&ledger, &["import", small.to_str().unwrap()]));
    assert!(
        head_line(&ledger).contains(" 212 "),
        "{}",
        head_line(&ledger)
    );
}

/// Free bytes of the file system holding `dir` (`df`).
fn fs_free_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

/// A ledger on a read-only file system (an archived copy): every command
/// says what to do, and nothing changes. Needs the right to mount.
#[test]
fn a_ledger_on_a_read_only_file_system_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("ro");
    std::fs::create_dir_all(&mnt).unwrap();
    let Some(fs) = Tmpfs::mount(&mnt, "16m") else {
        return;
    };
    let ledger = mnt.join("l");
    ok(&jisseki(&ledger, &["init"]));
    let first = tmp.path().join("first.jsonl");
    std::fs::write(&first, council(20)).unwrap();
    ok(&jisseki(&ledger, &["import", first.to_str().unwrap()]));
    let before = head_line(&ledger);
    assert!(fs.remount("ro"));
    for args in [
        &["verify", "--lang", "en"][..],
        &["import", first.to_str().unwrap(), "--lang", "en"],
    ] {
        let msg = refused(&jisseki(&ledger, args));
        assert!(
            msg.contains("read-only file system") && msg.contains("copy"),
            "{msg}"
        );
    }
    assert!(fs.remount("rw"));
    assert_eq!(head_line(&ledger), before);
}

/// A report taken while an import runs sees none of the import or all of
/// it: readers wait for the writer, and a batch lands atomically.
#[test]
fn a_report_during_an_import_sees_none_or_all_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("l");
    ok(&jisseki(&ledger, &["init"]));
    let text = council(150_000);
    let (defs, rest): (Vec<&str>, Vec<&str>) = {
        let lines: Vec<&str> = text.lines().collect();
        (lines[..2].to_vec(), lines[2..].to_vec())
    };
    let first = tmp.path().join("defs.jsonl");
    std::fs::write(&first, defs.join("\n")).unwrap();
    ok(&jisseki(&ledger, &["import", first.to_str().unwrap()]));
    let big = tmp.path().join("big.jsonl");
    std::fs::write(&big, rest.join("\n")).unwrap();
    let seqs_seen = |out: &Output| -> u64 {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["head"]["seq"].as_u64().unwrap()
    };
    let bin = assert_cmd::cargo::cargo_bin("jisseki");
    for delay_ms in [0u64, 50, 200, 600] {
        let fresh = tmp.path().join(format!("l{delay_ms}"));
        ok(&jisseki(&fresh, &["init"]));
        ok(&jisseki(&fresh, &["import", first.to_str().unwrap()]));
        let mut import = std::process::Command::new(&bin)
            .env_remove("JISSEKI_LEDGER")
            .arg("--ledger")
            .arg(&fresh)
            .arg("import")
            .arg(&big)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let report = jisseki(
            &fresh,
            &["report", "--as-of", "2024-11-30", "--format", "json"],
        );
        let status = import.wait().unwrap();
        // The import lands whole, or is refused whole because a reader
        // held the ledger (exit 3, "in use").
        let imported = status.success();
        assert!(imported || status.code() == Some(3), "import: {status:?}");
        let total = if imported { 2 + rest.len() as u64 } else { 2 };
        assert!(head_line(&fresh).contains(&format!(" {total} ")));
        if report.status.success() {
            let seen = seqs_seen(&report);
            assert!(
                seen == 2 || seen == total,
                "a report saw {seen} events: part of an import"
            );
        } else {
            // Waited longer than readers wait: told the ledger is busy.
            assert_eq!(report.status.code(), Some(3), "{}", stderr(&report));
        }
    }
}
