//! Bearer tokens of `jisseki serve`: who may read and write which project.
//!
//! A token is shown once, when created; only its SHA-256 is stored, in
//! `<root>/tokens.json`, written whole to a temporary file, synced and
//! renamed. A presented token is hashed and compared with every stored hash
//! in constant time (no early exit on the first differing byte, none on the
//! first matching token), so response times say nothing about the secrets.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A council: reads and writes its own project.
    Council,
    /// An auditor: reads the projects granted.
    Auditor,
    /// An evaluator: reads the projects granted.
    Evaluator,
    /// Manages projects and reads every project.
    Admin,
}

impl Role {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Council => "council",
            Role::Auditor => "auditor",
            Role::Evaluator => "evaluator",
            Role::Admin => "admin",
        }
    }
}

/// A stored token: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// A public name for the token (access log, revocation).
    pub id: String,
    /// SHA-256 of the secret, hex.
    pub sha256: String,
    /// What it may do.
    pub role: Role,
    /// The project it is for (every project for an admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// Why a token file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a token list.
    #[error("{}: not a token list: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// No token with that id or prefix.
    #[error("no token {0}")]
    Unknown(String),
    /// More than one token starts with the prefix given.
    #[error("{1} tokens start with {0}: give more of the token, or its id")]
    Ambiguous(String, usize),
    /// A project name that is not allowed.
    #[error("project names are 1–64 letters, digits, `-` or `_`: {0:?}")]
    BadProject(String),
    /// A council, auditor or evaluator token needs a project.
    #[error("a {0} token needs --project")]
    NeedsProject(&'static str),
}

/// Names under a server's root that are not projects.
pub const RESERVED: &[&str] = &["statistics"];

/// Whether `p` can name a project (it becomes a directory name under the
/// server's root, beside `statistics/`).
pub fn valid_project(p: &str) -> bool {
    !RESERVED.contains(&p)
        && !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token file of a server root.
pub fn file(root: &Path) -> PathBuf {
    root.join("tokens.json")
}

/// What identifies one version of the tokens file: a rewrite (always a
/// new file renamed into place) changes the inode, and any change the
/// modification time or length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    inode: u64,
    modified: Option<std::time::SystemTime>,
    len: u64,
}

/// The stamp of the tokens file now; `None` when it cannot be read.
pub fn stamp(root: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(file(root)).ok()?;
    Some(Stamp {
        inode: m.ino(),
        modified: m.modified().ok(),
        len: m.len(),
    })
}

/// Every token in `root`'s tokens file (none when there is no file).
pub fn load(root: &Path) -> Result<Vec<TokenEntry>, TokenError> {
    let path = file(root);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TokenError::Damaged {
            path,
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(TokenError::Io { path, source }),
    }
}

fn save(root: &Path, all: &[TokenEntry]) -> Result<(), TokenError> {
    let path = file(root);
    let io = |source| TokenError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(root).map_err(io)?;
    let tmp = root.join("tokens.json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    let text = serde_json::to_vec_pretty(all).unwrap_or_default();
    f.write_all(&text).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    if let Ok(dir) = std::fs::File::open(root) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn hex_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token; returns its entry and the secret, which is shown only
/// now.
pub fn create(
    root: &Path,
    role: Role,
    project: Option<&str>,
) -> Result<(TokenEntry, String), TokenError> {
    if let Some(p) = project {
        if !valid_project(p) {
            return Err(TokenError::BadProject(p.to_string()));
        }
    } else if role != Role::Admin {
        return Err(TokenError::NeedsProject(role.as_str()));
    }
    let mut all = load(root)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("jsk_{}", hex::encode(bytes));
    let entry = TokenEntry {
        // The token's first characters name it (access log, `revoke`):
        // 32 of its 256 random bits, the rest stay secret.
        id: secret[..ID_CHARS].to_string(),
        sha256: hex_sha256(&secret),
        role,
        project: project.map(str::to_string),
        created_at: crate::journal::chain::timestamp_text(chrono::Utc::now().timestamp_micros()),
    };
    all.push(entry.clone());
    save(root, &all)?;
    Ok((entry, secret))
}

/// How many characters of a token name it: `jsk_` and 8 hex digits.
pub const ID_CHARS: usize = 12;

/// The shortest token prefix `revoke` accepts (`jsk_` and 4 hex digits).
pub const PREFIX_MIN: usize = 8;

/// Which stored tokens `given` names: its id, or the token itself, or the
/// first characters of the token (at least [`PREFIX_MIN`]; a longer text
/// is matched on the characters that name it).
fn named_by(t: &TokenEntry, given: &str) -> bool {
    if t.id == given || constant_time_eq(t.sha256.as_bytes(), hex_sha256(given).as_bytes()) {
        return true;
    }
    let named_by_prefix = t.id.starts_with("jsk_") && given.starts_with("jsk_");
    named_by_prefix
        && given.len() >= PREFIX_MIN
        && (t.id.starts_with(given) || given.starts_with(&t.id))
}

/// Revokes the one token named by `given`: its id (`jsk_…` of
/// [`ID_CHARS`] characters, or `t-…` for tokens made before ids were
/// prefixes), the token, or a prefix of the token.
pub fn revoke(root: &Path, given: &str) -> Result<TokenEntry, TokenError> {
    let mut all = load(root)?;
    let named: Vec<usize> = (0..all.len())
        .filter(|&i| named_by(&all[i], given))
        .collect();
    let i = match named.as_slice() {
        [i] => *i,
        [] => return Err(TokenError::Unknown(display_prefix(given))),
        many => return Err(TokenError::Ambiguous(display_prefix(given), many.len())),
    };
    let gone = all.remove(i);
    save(root, &all)?;
    Ok(gone)
}

/// What of a given text an error may repeat: never a whole secret.
fn display_prefix(given: &str) -> String {
    match given.char_indices().nth(ID_CHARS) {
        Some((i, _)) => format!("{}…", &given[..i]),
        None => given.to_string(),
    }
}

/// Equal, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token whose secret is `presented`, comparing with every stored hash
/// in constant time.
pub fn find<'a>(all: &'a [TokenEntry], presented: &str) -> Option<&'a TokenEntry> {
    let h = hex_sha256(presented);
    let mut found = None;
    for t in all {
        if constant_time_eq(t.sha256.as_bytes(), h.as_bytes()) && found.is_none() {
            found = Some(t);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_revoked_by_its_prefix_its_id_or_itself_and_never_by_too_little() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_secret) = create(dir.path(), Role::Council, Some("p")).unwrap();
        let (b, b_secret) = create(dir.path(), Role::Auditor, Some("p")).unwrap();
        let (c, c_secret) = create(dir.path(), Role::Admin, None).unwrap();
        assert!(a_secret.starts_with(&a.id) && a.id.len() == ID_CHARS);
        // Too short to name one: refused, nothing revoked.
        assert!(matches!(
            revoke(dir.path(), "jsk_"),
            Err(TokenError::Unknown(_))
        ));
        assert_eq!(load(dir.path()).unwrap().len(), 3);
        // The first 8 characters, the id, the whole token.
        assert_eq!(revoke(dir.path(), &a_secret[..PREFIX_MIN]).unwrap(), a);
        assert_eq!(revoke(dir.path(), &b.id).unwrap(), b);
        assert_eq!(revoke(dir.path(), &c_secret).unwrap(), c);
        assert!(load(dir.path()).unwrap().is_empty());
        assert!(find(&load(dir.path()).unwrap(), &b_secret).is_none());
        // An error never repeats a whole secret.
        let (_, d_secret) = create(dir.path(), Role::Admin, None).unwrap();
        revoke(dir.path(), &d_secret).unwrap();
        let e = revoke(dir.path(), &d_secret).unwrap_err().to_string();
        assert!(!e.contains(&d_secret), "{e}");
    }

    #[test]
    fn two_tokens_sharing_a_prefix_are_not_revoked_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |id: &str| TokenEntry {
            id: id.into(),
            sha256: hex_sha256(id),
            role: Role::Admin,
            project: None,
            created_at: String::new(),
        };
        save(dir.path(), &[mk("jsk_abcd1111"), mk("jsk_abcd2222")]).unwrap();
        assert!(matches!(
            revoke(dir.path(), "jsk_abcd"),
            Err(TokenError::Ambiguous(_, 2))
        ));
        assert_eq!(revoke(dir.path(), "jsk_abcd2").unwrap().id, "jsk_abcd2222");
    }

    #[test]
    fn only_the_hash_is_stored_and_the_secret_finds_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let (council, secret) = create(dir.path(), Role::Council, Some("kushiro")).unwrap();
        let (admin, admin_secret) = create(dir.path(), Role::Admin, None).unwrap();
        let text = std::fs::read_to_string(file(dir.path())).unwrap();
        assert!(!text.contains(&secret) && !text.contains(&admin_secret));
        let all = load(dir.path()).unwrap();
        assert_eq!(find(&all, &secret), Some(&council));
        assert_eq!(find(&all, &admin_secret), Some(&admin));
        assert_eq!(find(&all, "jsk_wrong"), None);
        assert_eq!(find(&all, ""), None);
        revoke(dir.path(), &council.id).unwrap();
        assert_eq!(find(&load(dir.path()).unwrap(), &secret), None);
        assert!(matches!(
            create(dir.path(), Role::Auditor, None),
            Err(TokenError::NeedsProject(_))
        ));
        assert!(matches!(
            create(dir.path(), Role::Council, Some("../x")),
            Err(TokenError::BadProject(_))
        ));
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
