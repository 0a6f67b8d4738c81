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
    /// No token with that id.
    #[error("no token {0}")]
    Unknown(String),
    /// A project name that is not allowed.
    #[error("project names are 1–64 letters, digits, `-` or `_`: {0:?}")]
    BadProject(String),
    /// A council, auditor or evaluator token needs a project.
    #[error("a {0} token needs --project")]
    NeedsProject(&'static str),
}

/// Whether `p` can name a project (it becomes a directory name).
pub fn valid_project(p: &str) -> bool {
    !p.is_empty()
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
    let mut id_bytes = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut id_bytes);
    let entry = TokenEntry {
        id: format!("t-{}", hex::encode(id_bytes)),
        sha256: hex_sha256(&secret),
        role,
        project: project.map(str::to_string),
        created_at: crate::journal::chain::timestamp_text(chrono::Utc::now().timestamp_micros()),
    };
    all.push(entry.clone());
    save(root, &all)?;
    Ok((entry, secret))
}

/// Revokes the token `id`.
pub fn revoke(root: &Path, id: &str) -> Result<TokenEntry, TokenError> {
    let mut all = load(root)?;
    let Some(i) = all.iter().position(|t| t.id == id) else {
        return Err(TokenError::Unknown(id.to_string()));
    };
    let gone = all.remove(i);
    save(root, &all)?;
    Ok(gone)
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
