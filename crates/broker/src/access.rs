//! Who may connect, and who may publish and subscribe where: an authentication hook and a
//! per-topic ACL in the format of Mosquitto's `acl_file`, so users bring theirs.

use crate::fast_hash::HashMap;
use std::fmt;
use tabmq_core::topic_matches;

/// Checks a client's credentials at CONNECT.
pub trait Authenticate: fmt::Debug + Send + Sync {
    /// Whether `username` with `password` may connect as `client_id`.
    fn authenticate(&self, client_id: &str, username: &str, password: Option<&[u8]>) -> bool;
}

/// What a client wants to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Subscribe to it and receive its messages.
    Read,
    /// Publish to it.
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    filter: String,
    read: bool,
    write: bool,
    /// Mosquitto 2's `deny`: matches forbid, whatever else allows.
    deny: bool,
}

/// A Mosquitto-style ACL: `topic [read|write|readwrite|deny] FILTER` lines, which apply to
/// anonymous clients until the first `user NAME` line and to that user after it, and
/// `pattern` lines for every client, with `%c` (client id) and `%u` (username) replaced.
/// With an ACL, what no line allows is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    anonymous: Vec<Rule>,
    users: HashMap<String, Vec<Rule>>,
    patterns: Vec<Rule>,
}

/// A line of an ACL file that is not one; the file's author is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "acl line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AclError {}

fn parse_rule(rest: &str, line: usize) -> Result<Rule, AclError> {
    let rest = rest.trim();
    let (access, filter) = match rest.split_once(char::is_whitespace) {
        Some((a @ ("read" | "write" | "readwrite" | "deny"), f)) => (a, f.trim()),
        _ => ("readwrite", rest),
    };
    if filter.is_empty() {
        return Err(AclError {
            line,
            message: "a topic line needs a topic filter".into(),
        });
    }
    Ok(Rule {
        filter: filter.to_owned(),
        read: matches!(access, "read" | "readwrite"),
        write: matches!(access, "write" | "readwrite"),
        deny: access == "deny",
    })
}

impl Acl {
    /// Parses an ACL file's text. Comments (`#`) and blank lines are skipped.
    pub fn parse(text: &str) -> Result<Acl, AclError> {
        let mut acl = Acl::default();
        let mut user: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (keyword, rest) = trimmed
                .split_once(char::is_whitespace)
                .unwrap_or((trimmed, ""));
            match keyword {
                "user" => {
                    let name = rest.trim();
                    if name.is_empty() {
                        return Err(AclError {
                            line,
                            message: "a user line needs a name".into(),
                        });
                    }
                    user = Some(name.to_owned());
                }
                "topic" => {
                    let rule = parse_rule(rest, line)?;
                    match &user {
                        Some(u) => acl.users.entry(u.clone()).or_default().push(rule),
                        None => acl.anonymous.push(rule),
                    }
                }
                "pattern" => acl.patterns.push(parse_rule(rest, line)?),
                other => {
                    return Err(AclError {
                        line,
                        message: format!("unknown keyword {other:?} (user, topic or pattern)"),
                    })
                }
            }
        }
        Ok(acl)
    }

    /// Whether the client may publish to (`Write`) or receive from (`Read`) `topic`.
    ///
    /// Mosquitto 2.0's order: the client's own lines (its `user` section, or the lines
    /// before any `user` for a client without a username), then the patterns; within
    /// each, `deny` lines first and then the rest in file order, and the first line that
    /// matches with a verdict decides. Nothing matching means no.
    pub fn allows(
        &self,
        client_id: &str,
        username: Option<&str>,
        topic: &str,
        access: Access,
    ) -> bool {
        let own: &[Rule] = match username {
            Some(u) => self.users.get(u).map_or(&[], Vec::as_slice),
            None => &self.anonymous,
        };
        for rule in denials_first(own) {
            // A `$` topic is only reached by a line that names it.
            if topic.starts_with('$') && !rule.filter.starts_with('$') {
                continue;
            }
            if let Some(verdict) = rule.verdict(&rule.filter, topic, access) {
                return verdict;
            }
        }
        if self.patterns.is_empty() {
            return false;
        }
        // A `+` or `#` in a name substituted into a pattern would widen it to other
        // clients' topics (Mosquitto refuses such clients every pattern, too).
        let dangerous = |name: &str| name.contains(['+', '#']);
        if username.is_some_and(dangerous) || dangerous(client_id) {
            return false;
        }
        for rule in denials_first(&self.patterns) {
            // Like Mosquitto: a pattern naming %u does not apply to a client without one.
            if rule.filter.contains("%u") && username.is_none() {
                continue;
            }
            let filter = rule
                .filter
                .replace("%c", client_id)
                .replace("%u", username.unwrap_or(""));
            if let Some(verdict) = rule.verdict(&filter, topic, access) {
                return verdict;
            }
        }
        false
    }
}

/// `deny` lines, then the others, each in file order.
fn denials_first(rules: &[Rule]) -> impl Iterator<Item = &Rule> {
    let deny = rules.iter().filter(|r| r.deny);
    deny.chain(rules.iter().filter(|r| !r.deny))
}

impl Rule {
    /// What this line says about `topic` with its filter written out as `filter`: no if
    /// it denies, yes if it grants `access`, nothing if it does not match or grants only
    /// the other access.
    fn verdict(&self, filter: &str, topic: &str, access: Access) -> Option<bool> {
        if !topic_matches(filter, topic) {
            return None;
        }
        if self.deny {
            return Some(false);
        }
        let granted = match access {
            Access::Read => self.read,
            Access::Write => self.write,
        };
        granted.then_some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Outcome = Result<(), AclError>;

    const FILE: &str = "\
# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic write cmd/+

pattern readwrite devices/%c/#
pattern read users/%u/inbox
";

    #[test]
    fn anonymous_lines_apply_until_the_first_user_line() -> Outcome {
        let acl = Acl::parse(FILE)?;
        assert!(acl.allows("c", None, "public/news", Access::Read));
        assert!(!acl.allows("c", None, "public/news", Access::Write));
        assert!(!acl.allows("c", None, "alice/x", Access::Read));
        Ok(())
    }

    #[test]
    fn user_lines_and_deny() -> Outcome {
        let acl = Acl::parse(FILE)?;
        assert!(acl.allows("c", Some("alice"), "alice/x", Access::Write));
        assert!(!acl.allows("c", Some("alice"), "alice/secret", Access::Read));
        assert!(acl.allows("c", Some("alice"), "cmd/go", Access::Write));
        assert!(!acl.allows("c", Some("alice"), "cmd/go", Access::Read));
        assert!(!acl.allows("c", Some("bob"), "alice/x", Access::Read));
        Ok(())
    }

    #[test]
    fn patterns_substitute_client_id_and_username() -> Outcome {
        let acl = Acl::parse(FILE)?;
        assert!(acl.allows("dev1", None, "devices/dev1/temp", Access::Write));
        assert!(!acl.allows("dev1", None, "devices/dev2/temp", Access::Write));
        assert!(acl.allows("c", Some("bob"), "users/bob/inbox", Access::Read));
        assert!(!acl.allows("c", None, "users//inbox", Access::Read));
        Ok(())
    }

    #[test]
    fn the_clients_own_lines_decide_before_patterns_like_mosquitto() -> Outcome {
        let acl = Acl::parse(
            "user alice\ntopic read shared/#\n\
             pattern deny shared/secret\npattern readwrite home/%u/#\n\
             pattern read $SYS/broker/%c\n",
        )?;
        // alice's own line grants it before the pattern's deny is reached.
        assert!(acl.allows("a1", Some("alice"), "shared/secret", Access::Read));
        // bob has no lines of his own: the pattern denies.
        assert!(!acl.allows("b1", Some("bob"), "shared/secret", Access::Read));
        assert!(acl.allows("b1", Some("bob"), "home/bob/lamp", Access::Write));
        // A wildcard in a name would widen the pattern: no pattern applies to such a client.
        assert!(!acl.allows("b1", Some("+"), "home/+/lamp", Access::Write));
        assert!(!acl.allows("b1", Some("#"), "home/x/lamp", Access::Read));
        assert!(!acl.allows("dev#", Some("bob"), "home/bob/lamp", Access::Write));
        // A wildcard name still has its own lines.
        let acl = Acl::parse("user a+b\ntopic read x\npattern read y/%u\n")?;
        assert!(acl.allows("c", Some("a+b"), "x", Access::Read));
        assert!(!acl.allows("c", Some("a+b"), "y/a+b", Access::Read));
        Ok(())
    }

    #[test]
    fn a_dollar_topic_needs_a_line_that_names_it() -> Outcome {
        let acl = Acl::parse("topic read #\ntopic read $SYS/broker/uptime\n")?;
        assert!(acl.allows("c", None, "any/thing", Access::Read));
        assert!(!acl.allows("c", None, "$SYS/broker/load", Access::Read));
        assert!(acl.allows("c", None, "$SYS/broker/uptime", Access::Read));
        Ok(())
    }

    #[test]
    fn errors_name_the_line() {
        let err = Acl::parse("topic read a\nfrobnicate x\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("frobnicate"));
        assert_eq!(Acl::parse("user\n").unwrap_err().line, 1);
    }
}
