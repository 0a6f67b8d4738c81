//! The web page end to end, in a real browser: starts `jisseki serve` on a
//! loopback port with a council's ledger, then runs `tests/web/e2e.mjs`
//! (playwright-core driving Debian's Chromium). Screenshots of the
//! dashboard and the roster are kept under `target/e2e-screenshots/`.
//!
//! It needs `/usr/bin/chromium` and `tests/web/node_modules` (`npm ci` in
//! `tests/web`), which `.ci/run` installs. Without them the test says so and
//! passes, unless `JISSEKI_E2E=1` (set by CI), when their absence fails it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURE: &str = "tests/fixtures/council_small.jsonl";

fn jisseki() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jisseki"));
    c.env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_LANG")
        .env_remove("JISSEKI_TEST_NOW");
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from(
        std::env::var("JISSEKI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    p.exists().then_some(p)
}

fn sjis(path: &Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn the_web_page_in_a_real_browser() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let modules = here.join("tests/web/node_modules/playwright-core");
    let required = std::env::var("JISSEKI_E2E").is_ok_and(|v| v == "1");
    let (Some(browser), true) = (chromium(), modules.exists()) else {
        assert!(
            !required,
            "JISSEKI_E2E=1 but Chromium or tests/web/node_modules is missing (.ci/run installs them)"
        );
        eprintln!("skipped: no /usr/bin/chromium or tests/web/node_modules (run .ci/run, or apt-get install chromium and npm ci in tests/web)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let kushiro = root.join("kushiro");
    ok(jisseki().args(["init", "--ledger"]).arg(&kushiro));
    ok(jisseki()
        .args(["import", "--ledger"])
        .arg(&kushiro)
        .arg(FIXTURE));
    ok(jisseki()
        .args(["init", "--ledger"])
        .arg(root.join("kitami")));
    let token = ok(jisseki()
        .args(["token", "create", "--root"])
        .arg(&root)
        .args(["--role", "council", "--project", "kushiro"]))
    .trim()
    .to_string();
    let auditor = ok(jisseki()
        .args(["token", "create", "--root"])
        .arg(&root)
        .args(["--role", "auditor", "--project", "kushiro"]))
    .trim()
    .to_string();
    let bad = tmp.path().join("出席_誤り.csv");
    sjis(
        &bad,
        "type,menu,date,role,person,residence,intent_confirmed\r\nattendance,B-01,令和6年11月20日,job_seeker,S-01,in_region,はい\r\nattendance,B-01,2024-13-01,job_seeker,S-02,in_region,はい\r\n",
    );
    let good = tmp.path().join("出席.csv");
    sjis(
        &good,
        "type,menu,date,role,person,residence,intent_confirmed\r\nattendance,B-01,令和6年11月20日,job_seeker,S-01,in_region,はい\r\nattendance,B-01,2024/11/20,job_seeker,S-02,in_region,はい\r\n",
    );
    // The statistics the server keeps, for the eligibility of kushiro's
    // municipality (釧路市), written under the names of the fixture's.
    std::fs::create_dir_all(root.join("statistics")).unwrap();
    let stats = std::fs::read_to_string("tests/fixtures/statistics/municipal.csv")
        .unwrap()
        .replace("甲市", "釧路市");
    std::fs::write(root.join("statistics/municipal.csv"), stats).unwrap();
    std::fs::copy(
        "tests/fixtures/statistics/national.csv",
        root.join("statistics/national.csv"),
    )
    .unwrap();
    let mut server = jisseki()
        .args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_once("http://")
        .map(|(_, a)| format!("http://{}", a.trim()))
        .unwrap();
    let shots = here.join("target/e2e-screenshots");
    let out = Command::new("node")
        .arg(here.join("tests/web/e2e.mjs"))
        .current_dir(here.join("tests/web"))
        .env("JISSEKI_BASE", &base)
        .env("JISSEKI_TOKEN", &token)
        .env("JISSEKI_AUDITOR", &auditor)
        .env("JISSEKI_OTHER", "kitami")
        .env("JISSEKI_SJIS_BAD", &bad)
        .env("JISSEKI_SJIS_GOOD", &good)
        .env("JISSEKI_SHOTS", &shots)
        .env("JISSEKI_CHROMIUM", &browser)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser tests failed");
    assert!(stdout.contains("all passed"));
    for shot in ["dashboard.png", "roster.png"] {
        assert!(shots.join(shot).exists(), "{shot} was not taken");
    }
}
