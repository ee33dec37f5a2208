//! Mosquitto's `password_file`, as `mosquitto_passwd` writes it: `user:$7$ITER$SALT$HASH`
//! (PBKDF2-HMAC-SHA512) or `user:$6$SALT$HASH` (SHA-512 of password then salt), base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha512};
use std::collections::HashMap;
use tabmq_broker::Authenticate;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hash {
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Sha512 {
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

/// Users and their password hashes.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: HashMap<String, Hash>,
}

/// Constant-time comparison, so timing does not leak how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode(field: &str, line: usize) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(field)
        .map_err(|_| format!("password file line {line}: bad base64"))
}

impl PasswordFile {
    /// Parses a password file. Like Mosquitto, a line that is not a valid entry is left
    /// out (its user cannot log in) and reported in the warnings, rather than stopping
    /// the broker: comments, blank lines and lines without `:` are skipped silently.
    pub fn parse(text: &str) -> (PasswordFile, Vec<String>) {
        let mut users = HashMap::new();
        let mut warnings = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let Some((user, hashed)) = raw.split_once(':') else {
                continue;
            };
            match parse_hash(hashed.trim(), line) {
                Ok(hash) if !user.trim().is_empty() => {
                    users.insert(user.trim().to_owned(), hash);
                }
                Ok(_) => warnings.push(format!("password file line {line}: no username")),
                Err(e) => warnings.push(format!("{e}; user {:?} removed", user.trim())),
            }
        }
        (PasswordFile { users }, warnings)
    }
}

fn parse_hash(hashed: &str, line: usize) -> Result<Hash, String> {
    let fields: Vec<&str> = hashed.split('$').collect();
    match fields[..] {
        ["", "7", iterations, salt, hash] if !hash.is_empty() => Ok(Hash::Pbkdf2 {
            iterations: iterations
                .parse()
                .ok()
                .filter(|&n: &u32| n > 0)
                .ok_or_else(|| format!("password file line {line}: bad iteration count"))?,
            salt: decode(salt, line)?,
            hash: decode(hash, line)?,
        }),
        ["", "6", salt, hash] if !hash.is_empty() => Ok(Hash::Sha512 {
            salt: decode(salt, line)?,
            hash: decode(hash, line)?,
        }),
        _ => Err(format!(
            "password file line {line}: not a hash mosquitto_passwd writes \
             (run mosquitto_passwd -U on a plain-text file)"
        )),
    }
}

impl Authenticate for PasswordFile {
    fn authenticate(&self, _client_id: &str, username: &str, password: Option<&[u8]>) -> bool {
        // Like Mosquitto, an empty password never matches.
        let (Some(hash), Some(password)) =
            (self.users.get(username), password.filter(|p| !p.is_empty()))
        else {
            return false;
        };
        match hash {
            Hash::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out);
                same(&out, hash)
            }
            Hash::Sha512 { salt, hash } => {
                let mut digest = Sha512::new();
                digest.update(password);
                digest.update(salt);
                same(&digest.finalize(), hash)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written by Debian's mosquitto_passwd 2.0.11 (`-b`, and `-H sha512` for bob).
    const FILE: &str = "\
alice:$7$101$QWs5gayebeYzU95k$XrOFKUSLi0/j1zhLQmm8Wc9uMEdoZDnsNYYMV+Ky5Sxioh057H0XOsuyBIhf34AWiQh9vuXfcN9BrIXCdhOW/w==
bob:$6$NkBcIYxhTH6oxH+Q$pQ58VV4YRNYdutks+9EcR3vm5zABx1CjaWC8fWVhuV52X9NtWPQhA7IleLo5DxLpB61BfGhgr5LzogW08Dvc8w==
";

    #[test]
    fn verifies_both_hash_formats_of_mosquitto_passwd() -> Result<(), String> {
        let (file, warnings) = PasswordFile::parse(FILE);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(file.authenticate("c", "alice", Some(b"secret")));
        assert!(!file.authenticate("c", "alice", Some(b"Secret")));
        assert!(file.authenticate("c", "bob", Some(b"pass2")));
        assert!(!file.authenticate("c", "bob", None));
        assert!(!file.authenticate("c", "carol", Some(b"secret")));
        Ok(())
    }

    #[test]
    fn invalid_entries_are_left_out_with_a_hint_and_the_rest_kept() {
        let bob = FILE.lines().nth(1).unwrap_or_default();
        let text = format!("carol:secret\nbad:$6$\nnocolon\n\n# c\n{bob}\n");
        let (file, warnings) = PasswordFile::parse(&text);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("mosquitto_passwd"), "{}", warnings[0]);
        assert!(!file.authenticate("c", "carol", Some(b"secret")));
        assert!(!file.authenticate("c", "bad", Some(b"")));
        assert!(file.authenticate("c", "bob", Some(b"pass2")));
    }
}
