//! `jisseki serve`: the real binary on a loopback port, driven over HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const FIXTURE: &str = "tests/fixtures/council_small.jsonl";

fn jisseki() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jisseki"));
    c.env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_LANG")
        .env_remove("JISSEKI_TEST_NOW");
    c
}

fn token(root: &Path, role: &str, project: Option<&str>) -> String {
    let mut c = jisseki();
    c.args(["token", "create", "--root"])
        .arg(root)
        .args(["--role", role]);
    if let Some(p) = project {
        c.args(["--project", p]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(root: &Path) -> Server {
        let mut child = jisseki()
            .args(["serve", "--lang", "en", "--listen", "127.0.0.1:0", "--root"])
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_once("http://")
            .map(|(_, a)| format!("http://{}", a.trim()))
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status and body, whatever the status.
fn call(req: ureq::Request, body: Option<(&str, &[u8])>) -> (u16, String) {
    let r = match body {
        Some((ct, bytes)) => req.set("Content-Type", ct).send_bytes(bytes),
        None => req.call(),
    };
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

fn bearer(req: ureq::Request, t: &str) -> ureq::Request {
    req.set("Authorization", &format!("Bearer {t}"))
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn roles_tokens_appends_reports_and_a_graceful_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let kushiro = token(&root, "council", Some("kushiro"));
    let kitami = token(&root, "council", Some("kitami"));
    let auditor = token(&root, "auditor", Some("kushiro"));
    let stored = std::fs::read_to_string(root.join("tokens.json")).unwrap();
    assert!(!stored.contains(&kushiro), "only hashes are stored");
    let s = Server::start(&root);

    assert_eq!(call(ureq::get(&s.url("/healthz")), None).0, 200);
    // No token, a wrong token: 401.
    let report = s.url("/v1/projects/kushiro/report?as_of=2025-02-28");
    assert_eq!(call(ureq::get(&report), None).0, 401);
    assert_eq!(call(bearer(ureq::get(&report), "jsk_wrong"), None).0, 401);
    // Only an admin creates projects.
    let new = |p: &str| format!(r#"{{"project":"{p}"}}"#);
    let create = |t: &str, p: &str| {
        call(
            bearer(ureq::post(&s.url("/v1/projects")), t),
            Some(("application/json", new(p).as_bytes())),
        )
        .0
    };
    assert_eq!(create(&kushiro, "kushiro"), 403);
    assert_eq!(create(&admin, "kushiro"), 201);
    assert_eq!(create(&admin, "kitami"), 201);
    assert_eq!(create(&admin, "kitami"), 409);

    // The council appends its events; a retry of the same batch appends
    // nothing twice.
    let events = std::fs::read(FIXTURE).unwrap();
    let post = |t: &str, p: &str, body: &[u8], ct: &str| {
        call(
            bearer(ureq::post(&s.url(&format!("/v1/projects/{p}/events"))), t),
            Some((ct, body)),
        )
    };
    let (code, body) = post(&kushiro, "kushiro", &events, "application/x-ndjson");
    assert_eq!(code, 201, "{body}");
    let first = json(&body);
    let n = first["appended"].as_array().unwrap().len();
    assert!(n > 10);
    let (code, body) = post(&kushiro, "kushiro", &events, "application/x-ndjson");
    assert_eq!(code, 200, "{body}");
    let again = json(&body);
    assert_eq!(again["appended"].as_array().unwrap().len(), 0);
    assert_eq!(again["already"].as_array().unwrap().len(), n);
    assert_eq!(again["head"], first["head"]);

    // Another council's token on this project, the auditor appending, and a
    // project that does not exist: 403, with no hint of existence.
    assert_eq!(
        post(&kitami, "kushiro", &events, "application/x-ndjson").0,
        403
    );
    assert_eq!(
        post(&auditor, "kushiro", &events, "application/x-ndjson").0,
        403
    );
    let (c1, b1) = post(&kitami, "nosuch", &events, "application/x-ndjson");
    let (c2, b2) = post(&kitami, "kushiro", &events, "application/x-ndjson");
    assert_eq!((c1, &b1), (c2, &b2));

    // A bad CSV is refused whole, its row and column named.
    let csv = "type,menu,date,role,person,residence,intent_confirmed\nattendance,B-01,2025-01-10,job_seeker,P-X1,in_region,true\nattendance,B-01,2025-13-40,job_seeker,P-X2,in_region,true\n";
    let (code, body) = post(&kushiro, "kushiro", csv.as_bytes(), "text/csv");
    assert_eq!(code, 422, "{body}");
    let err = json(&body);
    assert_eq!(err["errors"][0]["line"], 3, "{body}");
    assert_eq!(err["errors"][0]["field"], "date", "{body}");
    // expected_seq: refused when the ledger moved.
    let head = first["head"]["seq"].as_u64().unwrap();
    let good = "type,menu,date,role,person,residence,intent_confirmed\nattendance,B-01,2025-01-10,job_seeker,P-X1,in_region,true\n";
    let stale = format!("/v1/projects/kushiro/events?expected_seq={}", head - 1);
    let (code, _) = call(
        bearer(ureq::post(&s.url(&stale)), &kushiro),
        Some(("text/csv", good.as_bytes())),
    );
    assert_eq!(code, 409);

    // Reports for the council and the auditor; known-at before the events.
    let (code, body) = call(bearer(ureq::get(&report), &auditor), None);
    assert_eq!(code, 200, "{body}");
    let r = json(&body);
    assert_eq!(r["head"]["seq"], head);
    assert!(r["totals"]["output"].as_u64().unwrap() > 0);
    let (_, body2) = call(bearer(ureq::get(&report), &kushiro), None);
    assert_eq!(json(&body2), r, "the kept report is the same");
    let early = s.url("/v1/projects/kushiro/report?as_of=2025-02-28&known_at=2000-01-01T00:00:00Z");
    let (code, body) = call(bearer(ureq::get(&early), &auditor), None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["totals"]["output"], 0);
    assert_eq!(
        call(bearer(ureq::get(&report), &kitami), None).0,
        403,
        "a council reads only its own project"
    );
    // Export and verify.
    let (code, body) = call(
        bearer(ureq::get(&s.url("/v1/projects/kushiro/export")), &auditor),
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(body.lines().count() as u64, head);
    let (code, body) = call(
        bearer(ureq::get(&s.url("/v1/projects/kushiro/verify")), &admin),
        None,
    );
    assert_eq!(
        (code, json(&body)["ok"].clone()),
        (200, serde_json::json!(true))
    );
    assert_eq!(json(&body)["unreferenced_files"], serde_json::json!([]));

    // SIGTERM: exits 0, and every acknowledged event is in the ledger.
    assert!(s.stop().success());
    let out = jisseki()
        .args(["verify", "--format", "json", "--ledger"])
        .arg(root.join("kushiro"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["events"], head);
    // The access log names who did what.
    let log = std::fs::read_to_string(root.join("access.log")).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().map(json).collect();
    assert!(lines
        .iter()
        .any(|l| l["status"] == 401 && l["token"].is_null()));
    assert!(lines.iter().any(|l| l["status"] == 403
        && l["role"] == "council"
        && l["path"] == "/v1/projects/kushiro/events"));
    assert!(!log.contains(&kushiro), "no secret in the access log");
}

/// Many clients appending to one project at once get gap-free seqs, and
/// none of their acknowledged events is lost or duplicated.
#[test]
fn concurrent_appends_get_gap_free_seqs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let s = Server::start(&root);
    project_with_menus(&s, &admin, &council);
    let url = s.url("/v1/projects/p/events");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (url, council) = (url.clone(), council.clone());
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..25 {
                    let id = format!("0193a1c0-0000-7000-8000-{:012x}", 0x1000 + t * 100 + i);
                    let line = format!(
                        r#"{{"id":"{id}","type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-{t}-{i}","residence":"in_region","intent_confirmed":true}}"#
                    );
                    // Each event sent twice, as a client retrying would.
                    for _ in 0..2 {
                        let (code, body) = call(
                            bearer(ureq::post(&url), &council),
                            Some(("application/x-ndjson", line.as_bytes())),
                        );
                        assert!(code == 200 || code == 201, "{code} {body}");
                        let v = json(&body);
                        let seq = v["appended"][0]["seq"]
                            .as_u64()
                            .or_else(|| v["already"][0]["seq"].as_u64())
                            .unwrap();
                        seqs.push(seq);
                    }
                }
                seqs
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    let first = seqs[0];
    assert_eq!(seqs.len(), 200);
    assert_eq!(seqs, (first..first + 200).collect::<Vec<_>>(), "gap-free");
    assert!(s.stop().success());
}

/// Every route × every role: what each may do, and the OpenAPI document
/// served. 401 without a token; 403 for what a role may not do or another
/// project; 2xx otherwise.
#[test]
fn every_route_for_every_role() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let other = token(&root, "council", Some("q"));
    let auditor = token(&root, "auditor", Some("p"));
    let evaluator = token(&root, "evaluator", Some("p"));
    let s = Server::start(&root);
    for p in ["p", "q"] {
        let body = format!(r#"{{"project":"{p}"}}"#);
        let created = call(
            bearer(ureq::post(&s.url("/v1/projects")), &admin),
            Some(("application/json", body.as_bytes())),
        );
        assert_eq!(created.0, 201);
    }
    let events = std::fs::read(FIXTURE).unwrap();
    let appended = call(
        bearer(ureq::post(&s.url("/v1/projects/p/events")), &council),
        Some(("application/x-ndjson", &events)),
    );
    assert_eq!(appended.0, 201);
    let (code, doc) = call(ureq::get(&s.url("/openapi.json")), None);
    assert_eq!(code, 200);
    assert!(json(&doc)["paths"]["/v1/projects/{p}/report"].is_object());

    let reads = [
        "/v1/projects/p/report?as_of=2025-02-28",
        "/v1/projects/p/report?as_of=2025-02-28&format=csv&cumulative=true",
        "/v1/projects/p/evaluate?year=1",
        "/v1/projects/p/evaluate?year=1&format=xlsx",
        "/v1/projects/p/explain?as_of=2025-02-28&menu=B-01",
        "/v1/projects/p/log?type=hire&limit=2",
        "/v1/projects/p/export",
        "/v1/projects/p/verify",
        "/v1/projects/p/plan-check",
    ];
    for path in reads {
        let get = |t: Option<&str>| {
            let r = ureq::get(&s.url(path));
            call(t.map_or(r.clone(), |t| bearer(r, t)), None)
        };
        assert_eq!(get(None).0, 401, "{path}");
        for (who, t) in [
            ("admin", &admin),
            ("council", &council),
            ("auditor", &auditor),
            ("evaluator", &evaluator),
        ] {
            let (code, body) = get(Some(t));
            assert_eq!(code, 200, "{who} {path}: {body}");
        }
        assert_eq!(get(Some(&other)).0, 403, "{path}");
    }
    // Eligibility reads published statistics: any token, none refused.
    let stats = std::fs::read("tests/fixtures/statistics/municipal.csv").unwrap();
    let url = s.url("/v1/eligibility?municipalities=甲市,乙町&national_ratio_3y=1.24&national_ratio_1y=1.31&national_decline_5y=1.65%25");
    assert_eq!(call(ureq::post(&url), Some(("text/csv", &stats))).0, 401);
    for t in [&admin, &council, &auditor, &evaluator, &other] {
        let (code, body) = call(bearer(ureq::post(&url), t), Some(("text/csv", &stats)));
        assert_eq!(
            (code, json(&body)["application"].clone()),
            (200, "shortage".into()),
            "{body}"
        );
    }
    // Writes: the council of p and the admin only.
    let one = r#"{"type":"attendance","menu":"B-01","date":"2025-01-20","role":"job_seeker","person":"P-ROLE","residence":"in_region","intent_confirmed":true}"#;
    for (who, t, want) in [
        ("auditor", &auditor, 403),
        ("evaluator", &evaluator, 403),
        ("other council", &other, 403),
        ("council", &council, 201),
        // Without an id, the same line is another event.
        ("admin", &admin, 201),
    ] {
        let (code, body) = call(
            bearer(ureq::post(&s.url("/v1/projects/p/events")), t),
            Some(("application/x-ndjson", one.as_bytes())),
        );
        assert_eq!(code, want, "{who}: {body}");
    }
    for (who, t) in [("council", &council), ("auditor", &auditor)] {
        let body = br#"{"project":"z"}"#;
        let (code, _) = call(
            bearer(ureq::post(&s.url("/v1/projects")), t),
            Some(("application/json", body)),
        );
        assert_eq!(code, 403, "{who} creating a project");
    }
    // The access log: the admin sees all, the auditor only p's lines, a
    // council none.
    let (code, _) = call(
        bearer(ureq::get(&s.url("/v1/projects/q/verify")), &other),
        None,
    );
    assert_eq!(code, 200, "a council reads its own project");
    let (code, all) = call(bearer(ureq::get(&s.url("/v1/access-log")), &admin), None);
    assert_eq!(code, 200);
    assert!(all.contains("/v1/projects/q"), "the admin sees q's lines");
    let (code, mine) = call(bearer(ureq::get(&s.url("/v1/access-log")), &auditor), None);
    assert_eq!(code, 200);
    assert!(mine.lines().count() > 0 && !mine.contains("/v1/projects/q"));
    assert_eq!(
        call(bearer(ureq::get(&s.url("/v1/access-log")), &council), None).0,
        403
    );
    // Paging of the log.
    let page = ureq::get(&s.url("/v1/projects/p/log?limit=5"))
        .set("Authorization", &format!("Bearer {auditor}"))
        .call()
        .unwrap();
    assert_eq!(page.header("x-next-offset"), Some("5"));
    assert_eq!(page.into_string().unwrap().lines().count(), 5);
    assert!(s.stop().success());
}

/// Clients appending single events with their own ids until the server
/// goes away; every acknowledged id, per client.
fn hammer(s: &Server, council: &str, clients: u64) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|t| {
            let (url, council) = (s.url("/v1/projects/p/events"), council.to_string());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..100_000u64 {
                    let id = format!("0193a1c0-0000-7000-8000-{:012x}", (t << 32) | i);
                    let line = format!(
                        r#"{{"id":"{id}","type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-{t}-{i}","residence":"in_region","intent_confirmed":true}}"#
                    );
                    let r = ureq::post(&url)
                        .set("Authorization", &format!("Bearer {council}"))
                        .set("Content-Type", "application/x-ndjson")
                        .send_bytes(line.as_bytes());
                    match r {
                        Ok(r) if r.status() == 201 => acked.push(id),
                        // The server is gone, or refuses new work while
                        // it stops.
                        _ => break,
                    }
                }
                acked
            })
        })
        .collect()
}

fn project_with_menus(s: &Server, admin: &str, council: &str) {
    let created = call(
        bearer(ureq::post(&s.url("/v1/projects")), admin),
        Some(("application/json", br#"{"project":"p"}"#)),
    );
    assert_eq!(created.0, 201);
    let defs: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    let (code, _) = call(
        bearer(ureq::post(&s.url("/v1/projects/p/events")), council),
        Some(("application/x-ndjson", defs.as_bytes())),
    );
    assert_eq!(code, 201);
}

/// The ids in the project's ledger, after checking its chain.
fn ids_in_ledger(root: &Path) -> std::collections::HashSet<String> {
    let ledger = root.join("p");
    let out = jisseki()
        .args(["verify", "--format", "json", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["ok"], true);
    let out = jisseki()
        .args(["export", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| json(l)["id"].as_str().unwrap().to_string())
        .collect()
}

/// SIGKILL under load: every append that was acknowledged (2xx) is in the
/// ledger afterwards, and the chain verifies.
#[test]
fn a_server_killed_under_load_loses_no_acknowledged_event() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let mut s = Server::start(&root);
    project_with_menus(&s, &admin, &council);
    let clients = hammer(&s, &council, 8);
    std::thread::sleep(std::time::Duration::from_millis(800));
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let acked: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acked.len() > 20,
        "the load ran ({} acknowledged)",
        acked.len()
    );
    let stored = ids_in_ledger(&root);
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // And it serves again.
    let s = Server::start(&root);
    let (code, _) = call(
        bearer(ureq::get(&s.url("/v1/projects/p/verify")), &admin),
        None,
    );
    assert_eq!(code, 200);
}

/// SIGTERM with appends in flight: they finish, the server exits 0, and
/// nothing acknowledged is lost.
#[test]
fn sigterm_with_appends_in_flight_finishes_them_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let s = Server::start(&root);
    project_with_menus(&s, &admin, &council);
    let clients = hammer(&s, &council, 8);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(s.stop().success(), "exit 0 after SIGTERM");
    let acked: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acked.len() > 20,
        "the load ran ({} acknowledged)",
        acked.len()
    );
    let stored = ids_in_ledger(&root);
    assert!(acked.iter().all(|id| stored.contains(id)));
}

/// An id already recorded with other content is refused, with its line and
/// the seq that holds it; nothing of the request is appended.
#[test]
fn a_conflicting_id_is_refused_and_nothing_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let s = Server::start(&root);
    project_with_menus(&s, &admin, &council);
    let url = s.url("/v1/projects/p/events");
    let line = |person: &str| {
        format!(
            r#"{{"id":"0193a1c0-0000-7000-8000-00000000abcd","type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"{person}","residence":"in_region","intent_confirmed":true}}"#
        )
    };
    let (code, body) = call(
        bearer(ureq::post(&url), &council),
        Some(("application/x-ndjson", line("P-1").as_bytes())),
    );
    assert_eq!(code, 201, "{body}");
    let head = json(&body)["head"]["seq"].as_u64().unwrap();
    let fresh = r#"{"type":"attendance","menu":"B-01","date":"2025-01-11","role":"job_seeker","person":"P-2","residence":"in_region","intent_confirmed":true}"#;
    let batch = format!("{fresh}\n{}\n", line("P-OTHER"));
    let (code, body) = call(
        bearer(ureq::post(&url), &council),
        Some(("application/x-ndjson", batch.as_bytes())),
    );
    assert_eq!(code, 409, "{body}");
    let err = json(&body);
    assert_eq!(err["errors"][0]["line"], 2, "{body}");
    assert_eq!(err["errors"][0]["field"], "id", "{body}");
    let (_, verify) = call(
        bearer(ureq::get(&s.url("/v1/projects/p/verify")), &council),
        None,
    );
    assert_eq!(json(&verify)["events"], head, "nothing appended");
    assert!(s.stop().success());
}

/// Admins creating the same project at once: one creates it, the others are
/// told it exists.
#[test]
fn a_project_created_twice_at_once_is_created_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let s = Server::start(&root);
    let url = s.url("/v1/projects");
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (url, admin) = (url.clone(), admin.clone());
            std::thread::spawn(move || {
                call(
                    bearer(ureq::post(&url), &admin),
                    Some(("application/json", br#"{"project":"race"}"#)),
                )
                .0
            })
        })
        .collect();
    let mut codes: Vec<u16> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    codes.sort_unstable();
    assert_eq!(codes, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert!(s.stop().success());
}

/// Status, content type and raw body, whatever the status.
fn call_raw(req: ureq::Request, body: Option<(&str, &[u8])>) -> (u16, String, Vec<u8>) {
    let r = match body {
        Some((ct, bytes)) => req.set("Content-Type", ct).send_bytes(bytes),
        None => req.call(),
    };
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    let ct = r.header("Content-Type").unwrap_or("").to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).unwrap();
    (status, ct, bytes)
}

/// The OpenAPI template a concrete path is served under.
fn template_of(path: &str) -> String {
    let path = path.split('?').next().unwrap();
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "v1", "projects", _, rest @ ..] if !rest.is_empty() => {
            format!("/v1/projects/{{p}}/{}", rest.join("/"))
        }
        _ => path.to_string(),
    }
}

/// Checks one answer against the document: its status is described for
/// the route (or falls under `default`, for errors), its content type is
/// one the response lists, and a JSON body validates against the schema
/// given for it (each line, for JSON Lines).
fn conforms(doc: &serde_json::Value, method: &str, path: &str, answer: &(u16, String, Vec<u8>)) {
    let (status, ct, body) = answer;
    let op = &doc["paths"][template_of(path)][method];
    assert!(op.is_object(), "{method} {path}: not in the document");
    let mut response = &op["responses"][status.to_string()];
    if response.is_null() && *status >= 400 {
        response = &op["responses"]["default"];
    }
    assert!(
        response.is_object(),
        "{method} {path}: status {status} is not described"
    );
    if let Some(r) = response["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        response = &doc["components"]["responses"][name];
    }
    let media = ct.split(';').next().unwrap().trim();
    let content = &response["content"][media];
    assert!(
        content.is_object(),
        "{method} {path} → {status}: content type {ct:?} is not described"
    );
    let schema = &content["schema"];
    let body_text = || String::from_utf8(body.clone()).unwrap();
    match media {
        "application/json" | "application/x-ndjson" => {
            // The schema with the document's components beside it, so that
            // `#/components/...` and `report.schema.json` both resolve.
            let mut root = schema.clone();
            if let Some(o) = root.as_object_mut() {
                o.insert("$id".into(), "https://jisseki.invalid/openapi.json".into());
                o.insert("components".into(), doc["components"].clone());
            }
            let mut options = jsonschema::options().with_draft(jsonschema::Draft::Draft202012);
            for name in [
                "report.schema.json",
                "evaluation.schema.json",
                "event.schema.json",
            ] {
                let text = std::fs::read_to_string(Path::new("schemas").join(name)).unwrap();
                options = options.with_resource(
                    format!("https://jisseki.invalid/{name}"),
                    jsonschema::Resource::from_contents(json(&text)).unwrap(),
                );
            }
            let v = options
                .build(&root)
                .unwrap_or_else(|e| panic!("{method} {path}: schema: {e}"));
            let text = body_text();
            let values: Vec<serde_json::Value> = if media == "application/json" {
                vec![json(&text)]
            } else {
                text.lines().map(json).collect()
            };
            for value in values {
                let errors: Vec<String> = v.iter_errors(&value).map(|e| e.to_string()).collect();
                assert!(
                    errors.is_empty(),
                    "{method} {path} → {status}: {errors:?}\n{value}"
                );
            }
        }
        "text/csv" => {
            let text = body_text();
            assert!(text.starts_with('\u{feff}'), "{path}: a BOM for Excel");
            let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            assert!(!r.headers().unwrap().is_empty());
            for rec in r.records() {
                rec.unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            use calamine::Reader;
            let mut wb = calamine::Xlsx::new(std::io::Cursor::new(body.clone()))
                .unwrap_or_else(|e| panic!("{path}: not a workbook: {e}"));
            let names = wb.sheet_names();
            assert!(!names.is_empty());
            let first = wb.worksheet_range(&names[0]).unwrap();
            assert!(first.height() > 1, "{path}: an empty sheet");
        }
        "text/plain" => {}
        other => panic!("{path}: unexpected content type {other}"),
    }
}

/// Every answer the service gives, successes and errors alike, is one the
/// OpenAPI document describes, with a body that validates against it; and
/// every error is JSON, even those axum answers itself.
#[test]
fn answers_conform_to_the_openapi_document() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let auditor = token(&root, "auditor", Some("p"));
    let s = Server::start(&root);
    let doc = json(&call(ureq::get(&s.url("/openapi.json")), None).1);
    let events = std::fs::read(FIXTURE).unwrap();
    let bad_csv = "type,id,menu,date,role,person,residence,intent_confirmed\nattendance,,B-01,2025-13-01,job_seeker,P-9,in_region,true\n";
    let known_at = "2099-01-01T00:00:00Z";
    let post = |path: &str, t: &str, ct: &str, body: &[u8]| {
        let a = call_raw(bearer(ureq::post(&s.url(path)), t), Some((ct, body)));
        conforms(&doc, "post", path, &a);
        a
    };
    let get = |path: &str, t: Option<&str>| {
        let r = ureq::get(&s.url(path));
        let a = call_raw(t.map_or(r.clone(), |t| bearer(r, t)), None);
        conforms(&doc, "get", path, &a);
        a
    };
    let json_ct = "application/json";
    assert_eq!(
        post("/v1/projects", &admin, json_ct, br#"{"project":"p"}"#).0,
        201
    );
    assert_eq!(
        post("/v1/projects", &admin, json_ct, br#"{"project":"p"}"#).0,
        409
    );
    assert_eq!(
        post("/v1/projects", &admin, json_ct, br#"{"project":"a b"}"#).0,
        400
    );
    // A body that is not the JSON asked for: axum's own answer, as JSON.
    assert_eq!(post("/v1/projects", &admin, json_ct, b"{").0, 400);
    assert_eq!(
        post("/v1/projects", &council, json_ct, br#"{"project":"q"}"#).0,
        403
    );
    let ndjson = "application/x-ndjson";
    assert_eq!(
        post("/v1/projects/p/events", &council, ndjson, &events).0,
        201
    );
    assert_eq!(
        post("/v1/projects/p/events", &council, ndjson, &events).0,
        200
    );
    let refused = post(
        "/v1/projects/p/events",
        &council,
        "text/csv",
        bad_csv.as_bytes(),
    );
    assert_eq!(refused.0, 422);
    let e = json(std::str::from_utf8(&refused.2).unwrap());
    assert_eq!(e["errors"][0]["line"], 2, "{e}");
    let one = br#"{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-X","residence":"in_region","intent_confirmed":true}"#;
    assert_eq!(
        post(
            "/v1/projects/p/events?expected_seq=1",
            &council,
            ndjson,
            one
        )
        .0,
        409
    );
    assert_eq!(
        post("/v1/projects/p/events", &auditor, ndjson, &events).0,
        403
    );

    let reads: &[(&str, u16)] = &[
        ("/healthz", 200),
        ("/v1/projects/p/report?as_of=2025-02-28", 200),
        (
            "/v1/projects/p/report?as_of=2025-02-28&cumulative=true&format=csv",
            200,
        ),
        (
            "/v1/projects/p/report?as_of=2025-02-28&format=xlsx&lang=en",
            200,
        ),
        ("/v1/projects/p/report?as_of=2025-02-31", 400),
        ("/v1/projects/p/report?as_of=2025-02-28&format=pdf", 400),
        ("/v1/projects/p/report", 400),
        ("/v1/projects/p/evaluate?year=1", 200),
        ("/v1/projects/p/evaluate?year=1&format=csv", 200),
        ("/v1/projects/p/evaluate?year=1&format=xlsx", 200),
        ("/v1/projects/p/evaluate?year=3", 400),
        ("/v1/projects/p/evaluate?year=x", 400),
        ("/v1/projects/p/explain?as_of=2025-02-28&menu=B-01", 200),
        (
            "/v1/projects/p/explain?as_of=2025-02-28&menu=B-01&format=csv",
            200,
        ),
        (
            "/v1/projects/p/explain?as_of=2025-02-28&menu=B-01&format=xlsx",
            200,
        ),
        (
            "/v1/projects/p/explain?as_of=2025-02-28&person=P-0001&lang=en",
            200,
        ),
        ("/v1/projects/p/explain?as_of=2025-02-28&menu=Z-9", 404),
        ("/v1/projects/p/explain?as_of=2025-02-28", 400),
        ("/v1/projects/p/log?type=attendance&limit=3", 200),
        ("/v1/projects/p/log?since=yesterday", 400),
        ("/v1/projects/p/export", 200),
        ("/v1/projects/p/verify", 200),
        ("/v1/access-log?limit=5", 200),
        ("/v1/projects/p/plan-check", 200),
        (
            "/v1/projects/p/plan-check?as_of=2025-02-28&format=csv&lang=en",
            200,
        ),
        ("/v1/projects/p/plan-check?format=xlsx", 400),
        ("/v1/eligibility?municipalities=甲市", 404),
    ];
    let mut exported = Vec::new();
    for (path, status) in reads {
        let a = get(path, Some(&auditor));
        assert_eq!(a.0, *status, "{path}: {}", String::from_utf8_lossy(&a.2));
        if *path == "/v1/projects/p/export" {
            exported = a.2.clone();
        }
    }
    // Eligibility: on statistics sent, then on the server's own.
    let stats = std::fs::read("tests/fixtures/statistics/municipal.csv").unwrap();
    let national = "national_ratio_3y=1.24&national_ratio_1y=1.31&national_decline_5y=0.016537";
    for (q, status) in [
        (format!("municipalities=甲市,乙町&{national}"), 200),
        (format!("municipalities=甲市&{national}&format=csv"), 200),
        (format!("municipalities=己村&{national}"), 422),
        ("municipalities=甲市&national_ratio_3y=1.2".to_string(), 400),
    ] {
        let a = post(
            &format!("/v1/eligibility?{q}"),
            &auditor,
            "text/csv",
            &stats,
        );
        assert_eq!(a.0, status, "{q}: {}", String::from_utf8_lossy(&a.2));
    }
    let bad = post(
        "/v1/eligibility?municipalities=甲市&national_ratio_3y=1&national_ratio_1y=1&national_decline_5y=0",
        &auditor,
        "text/csv",
        "municipality,year,openings,seekers,population,depopulated\n甲市,2023,x,1,1,false\n".as_bytes(),
    );
    assert_eq!(bad.0, 422);
    let e = json(std::str::from_utf8(&bad.2).unwrap());
    assert_eq!(
        (
            e["errors"][0]["line"].clone(),
            e["errors"][0]["field"].clone()
        ),
        (2.into(), "openings".into()),
        "{e}"
    );
    std::fs::create_dir_all(root.join("statistics")).unwrap();
    std::fs::copy(
        "tests/fixtures/statistics/municipal.csv",
        root.join("statistics/municipal.csv"),
    )
    .unwrap();
    std::fs::copy(
        "tests/fixtures/statistics/national.csv",
        root.join("statistics/national.csv"),
    )
    .unwrap();
    let a = get("/v1/eligibility?municipalities=乙町,丙村", Some(&auditor));
    assert_eq!(a.0, 200);
    assert_eq!(json(std::str::from_utf8(&a.2).unwrap())["case"], 6);
    let known = format!("/v1/projects/p/report?as_of=2025-02-28&known_at={known_at}");
    assert_eq!(get(&known, Some(&auditor)).0, 200);
    assert_eq!(get("/v1/projects/p/report?as_of=2025-02-28", None).0, 401);
    assert_eq!(
        get("/v1/projects/q/report?as_of=2025-02-28", Some(&auditor)).0,
        403
    );
    assert_eq!(
        get("/v1/projects/q/report?as_of=2025-02-28", Some(&admin)).0,
        404
    );
    // A route that does not exist, and a method a route does not take:
    // JSON errors too (not described per route; checked by hand).
    for a in [
        call_raw(bearer(ureq::get(&s.url("/nowhere")), &admin), None),
        call_raw(
            bearer(ureq::delete(&s.url("/v1/projects/p/report")), &admin),
            None,
        ),
    ] {
        assert!(a.0 == 404 || a.0 == 405, "{}", a.0);
        assert!(a.1.starts_with("application/json"), "{a:?}");
        assert!(json(std::str::from_utf8(&a.2).unwrap())["message"].is_string());
    }
    assert!(s.stop().success());
    // The streamed export (read a page at a time) is the CLI's, byte for byte.
    let cli = jisseki()
        .args(["export", "--ledger"])
        .arg(root.join("p"))
        .output()
        .unwrap();
    assert!(cli.status.success());
    assert_eq!(exported, cli.stdout);
}

/// More requests at once than `--max-in-flight` allows: the one too many
/// is answered 503 with `Retry-After` at once (it does not wait for a
/// slot), and the service answers normally once the others end.
#[test]
fn overload_is_answered_503_with_retry_after_never_a_hang() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let council = token(&root, "council", Some("p"));
    let mut child = jisseki()
        .args([
            "serve",
            "--max-in-flight",
            "2",
            "--listen",
            "127.0.0.1:0",
            "--root",
        ])
        .arg(&root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let s = Server {
        base: line
            .split_once("http://")
            .map(|(_, a)| format!("http://{}", a.trim()))
            .unwrap(),
        child,
    };
    let addr = s.base.trim_start_matches("http://").to_string();
    // Two uploads that never finish sending their body hold both slots.
    // Each is made to hold its slot before the next starts: one that came
    // in while the other was being taken may itself be refused (503), and
    // is then sent again.
    let hold = || -> std::net::TcpStream {
        use std::io::Read as _;
        for _ in 0..50 {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            write!(
                c,
                "POST /v1/projects/p/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {council}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{{\"type\":"
            )
            .unwrap();
            c.flush().unwrap();
            // Held: no answer within half a second.
            c.set_read_timeout(Some(std::time::Duration::from_millis(500)))
                .unwrap();
            let mut buf = [0u8; 64];
            match c.read(&mut buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return c
                }
                _ => continue,
            }
        }
        panic!("no upload could be held");
    };
    let slow = vec![hold(), hold()];
    // Let the server take both.
    let mut refused = None;
    let mut seen = Vec::new();
    for _ in 0..200 {
        let a = call_raw(
            ureq::get(&s.url("/healthz")).timeout(std::time::Duration::from_secs(30)),
            None,
        );
        seen.push(a.0);
        if a.0 == 503 {
            refused = Some(a);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some((_, ct, body)) = refused else {
        // What the held requests were answered, if anything.
        let mut answers = Vec::new();
        for mut c in slow {
            use std::io::Read as _;
            c.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .unwrap();
            let mut buf = vec![0u8; 2048];
            let n = c.read(&mut buf).unwrap_or(0);
            answers.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
        panic!("a third request at once is refused; saw {seen:?}; the held ones were answered {answers:?}");
    };
    assert!(ct.starts_with("application/json"));
    assert_eq!(
        json(std::str::from_utf8(&body).unwrap())["error"],
        "overloaded"
    );
    let r = ureq::get(&s.url("/healthz")).call();
    match r {
        Err(ureq::Error::Status(503, r)) => assert_eq!(r.header("Retry-After"), Some("1")),
        other => panic!("expected 503, got {other:?}"),
    }
    drop(slow);
    let mut ok = false;
    for _ in 0..100 {
        if call_raw(ureq::get(&s.url("/healthz")), None).0 == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ok, "the service answers again once the slots are free");
    assert!(s.stop().success());
}

/// A large import into one project does not hold up appends to another:
/// each project has its own writer and lock.
#[test]
fn appends_to_one_project_do_not_wait_for_another() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let p = token(&root, "council", Some("p"));
    let q = token(&root, "council", Some("q"));
    let s = Server::start(&root);
    project_with_menus(&s, &admin, &p);
    let created = call(
        bearer(ureq::post(&s.url("/v1/projects")), &admin),
        Some(("application/json", br#"{"project":"q"}"#)),
    );
    assert_eq!(created.0, 201);
    let defs: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        call(
            bearer(ureq::post(&s.url("/v1/projects/q/events")), &q),
            Some(("application/x-ndjson", defs.as_bytes()))
        )
        .0,
        201
    );
    // 100k attendances: seconds of work for p's writer (in a debug build).
    let mut big = String::new();
    for i in 0..100_000u64 {
        big.push_str(&format!(
            r#"{{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-{i}","residence":"in_region","intent_confirmed":true}}"#
        ));
        big.push('\n');
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let importer = {
        let (url, p, done) = (s.url("/v1/projects/p/events"), p.clone(), done.clone());
        std::thread::spawn(move || {
            let code = call_raw(
                bearer(ureq::post(&url), &p),
                Some(("application/x-ndjson", big.as_bytes())),
            )
            .0;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            code
        })
    };
    // Append to q, one event at a time, for as long as p's import runs.
    let started = std::time::Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    let mut during = 0;
    let mut i = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let line = format!(
            r#"{{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"Q-{i}","residence":"in_region","intent_confirmed":true}}"#
        );
        i += 1;
        let t = std::time::Instant::now();
        let (code, body) = call(
            bearer(ureq::post(&s.url("/v1/projects/q/events")), &q),
            Some(("application/x-ndjson", line.as_bytes())),
        );
        assert_eq!(code, 201, "{body}");
        slowest = slowest.max(t.elapsed());
        during += 1;
    }
    let import = started.elapsed();
    assert_eq!(importer.join().unwrap(), 201);
    eprintln!("p's import: {import:?}; q: {during} appends meanwhile, the slowest {slowest:?}");
    // Were q's appends queued behind p's writer, one of them would wait
    // for the whole write of p's 100k events (seconds).
    assert!(during >= 10, "q was served all along ({during})");
    assert!(
        slowest * 4 < import,
        "no append to q waited for p's import: slowest {slowest:?} of {import:?}"
    );
    assert!(s.stop().success());
}

/// Tokens created or revoked with the CLI while the server runs take
/// effect at the next request.
#[test]
fn a_token_revoked_while_the_server_runs_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let s = Server::start(&root);
    let url = s.url("/v1/access-log?limit=1");
    assert_eq!(call(bearer(ureq::get(&url), &admin), None).0, 200);
    // Created after the server started: accepted.
    let second = token(&root, "admin", None);
    assert_eq!(call(bearer(ureq::get(&url), &second), None).0, 200);
    let listed = jisseki()
        .args(["token", "list", "--format", "json", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let all = json(&String::from_utf8(listed.stdout).unwrap());
    let ids: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    // Revoke the second: refused from the next request on.
    let revoked = jisseki()
        .args(["token", "revoke", &ids[1], "--root"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(revoked.success());
    assert_eq!(call(bearer(ureq::get(&url), &second), None).0, 401);
    assert_eq!(call(bearer(ureq::get(&url), &admin), None).0, 200);
    assert!(s.stop().success());
}

/// T-2 over HTTP: a report known at the time of an earlier append is the
/// report as it was then, whatever was appended after; so is `explain`.
#[test]
fn a_known_at_report_is_the_report_as_it_stood_then() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let admin = token(&root, "admin", None);
    let council = token(&root, "council", Some("p"));
    let s = Server::start(&root);
    project_with_menus(&s, &admin, &council);
    let attend = |from: u32, to: u32| -> String {
        (from..to)
            .map(|i| format!(
                r#"{{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-{i}","residence":"in_region","intent_confirmed":true}}"#
            ) + "\n")
            .collect()
    };
    let append = |body: String| {
        let (code, out) = call(
            bearer(ureq::post(&s.url("/v1/projects/p/events")), &council),
            Some(("application/x-ndjson", body.as_bytes())),
        );
        assert_eq!(code, 201, "{out}");
    };
    append(attend(0, 5));
    let report = "/v1/projects/p/report?as_of=2025-02-28";
    let then = json(&call(bearer(ureq::get(&s.url(report)), &council), None).1);
    assert_eq!(then["menus"][1]["output"], 5, "{then}");
    // The time of the last event recorded so far.
    let exported = call(
        bearer(ureq::get(&s.url("/v1/projects/p/export")), &council),
        None,
    )
    .1;
    let t = json(exported.lines().last().unwrap())["recorded_at"]
        .as_str()
        .unwrap()
        .to_string();
    append(attend(5, 12));
    let now = json(&call(bearer(ureq::get(&s.url(report)), &council), None).1);
    assert_eq!(now["menus"][1]["output"], 12);
    let known = format!("{report}&known_at={t}");
    let mut at_t = json(&call(bearer(ureq::get(&s.url(&known)), &council), None).1);
    assert_eq!(at_t["known_at"].as_str(), Some(t.as_str()));
    at_t["known_at"] = serde_json::Value::Null;
    assert_eq!(at_t, then, "the report as it stood at {t}");
    let explain = format!("/v1/projects/p/explain?as_of=2025-02-28&menu=B-01&known_at={t}");
    let x = json(&call(bearer(ureq::get(&s.url(&explain)), &council), None).1);
    assert_eq!(x["menus"][0]["subjects"].as_array().unwrap().len(), 5);
    assert!(s.stop().success());
}

/// CONTRACT §5: a project is the ledger directory `<root>/<p>`, so a ledger
/// made with `jisseki init` and filled with `jisseki import` is served as
/// it is; and `log` pages with `after_seq`.
#[test]
fn a_ledger_made_by_the_cli_is_served_and_its_log_pages_by_after_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let auditor = token(&root, "auditor", Some("kushiro"));
    let dir = root.join("kushiro");
    assert!(jisseki()
        .args(["init", "--ledger"])
        .arg(&dir)
        .status()
        .unwrap()
        .success());
    assert!(jisseki()
        .args(["import", "--ledger"])
        .arg(&dir)
        .arg(FIXTURE)
        .status()
        .unwrap()
        .success());
    let events = std::fs::read_to_string(FIXTURE).unwrap().lines().count();
    let s = Server::start(&root);
    let mut seqs = Vec::new();
    let mut after = None::<String>;
    let mut pages = 0;
    loop {
        let mut url = s.url("/v1/projects/kushiro/log?limit=7");
        if let Some(a) = &after {
            url.push_str(&format!("&after_seq={a}"));
        }
        let r = bearer(ureq::get(&url), &auditor).call().unwrap();
        let next = r.header("X-Next-After-Seq").map(str::to_string);
        let body = r.into_string().unwrap();
        seqs.extend(body.lines().map(|l| json(l)["seq"].as_u64().unwrap()));
        pages += 1;
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, events.div_ceil(7));
    assert_eq!(seqs, (1..=events as u64).collect::<Vec<_>>());
    // Filters and after_seq together.
    let r = call(
        bearer(
            ureq::get(&s.url("/v1/projects/kushiro/log?type=hire&after_seq=10")),
            &auditor,
        ),
        None,
    );
    assert_eq!(r.0, 200);
    assert!(r
        .1
        .lines()
        .all(|l| json(l)["type"] == "hire" && json(l)["seq"].as_u64().unwrap() > 10));
    assert!(s.stop().success());
}
