//! Who may connect, and who may publish and subscribe where: an authentication hook and a
//! per-topic ACL in the format of Mosquitto's `acl_file`, so users bring theirs.

use std::collections::HashMap;
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

/// Whether every topic `subscription` matches is also matched by `acl`: a subscription
/// is allowed only within what the client may read.
fn filter_within(subscription: &str, acl: &str) -> bool {
    let mut sub = subscription.split('/');
    for acl_level in acl.split('/') {
        if acl_level == "#" {
            return true;
        }
        match sub.next() {
            Some("#") | None => return false,
            Some(level) if acl_level == "+" || acl_level == level => {}
            Some(_) => return false,
        }
    }
    sub.next().is_none()
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

    /// The rules that apply to a client, patterns substituted.
    fn rules_for(&self, client_id: &str, username: Option<&str>) -> Vec<Rule> {
        let mut rules = match username {
            Some(u) => self.users.get(u).cloned().unwrap_or_default(),
            None => self.anonymous.clone(),
        };
        for p in &self.patterns {
            // Like Mosquitto: a pattern naming %u does not apply to a client without one.
            if p.filter.contains("%u") && username.is_none() {
                continue;
            }
            let filter = p
                .filter
                .replace("%c", client_id)
                .replace("%u", username.unwrap_or(""));
            rules.push(Rule {
                filter,
                ..p.clone()
            });
        }
        rules
    }

    /// Whether the client may publish to (`Write`) or receive from (`Read`) `topic`.
    pub fn allows(
        &self,
        client_id: &str,
        username: Option<&str>,
        topic: &str,
        access: Access,
    ) -> bool {
        let rules = self.rules_for(client_id, username);
        if rules
            .iter()
            .any(|r| r.deny && topic_matches(&r.filter, topic))
        {
            return false;
        }
        rules.iter().any(|r| {
            let granted = match access {
                Access::Read => r.read,
                Access::Write => r.write,
            };
            granted && topic_matches(&r.filter, topic)
        })
    }

    /// Whether the client may subscribe to `filter`: it must lie within a filter it may
    /// read, and no `deny` line may match it.
    pub fn allows_subscribe(&self, client_id: &str, username: Option<&str>, filter: &str) -> bool {
        let rules = self.rules_for(client_id, username);
        // A deny line covering part of the filter leaves the rest: delivery checks each
        // message's topic.
        if rules
            .iter()
            .any(|r| r.deny && filter_within(filter, &r.filter))
        {
            return false;
        }
        rules
            .iter()
            .any(|r| r.read && filter_within(filter, &r.filter))
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
    fn subscriptions_must_lie_within_what_may_be_read() -> Outcome {
        let acl = Acl::parse(FILE)?;
        assert!(acl.allows_subscribe("c", None, "public/+/x"));
        assert!(acl.allows_subscribe("c", None, "public/#"));
        assert!(!acl.allows_subscribe("c", None, "#"));
        assert!(!acl.allows_subscribe("c", None, "+/news"));
        assert!(!acl.allows_subscribe("c", Some("alice"), "alice/secret"));
        assert!(acl.allows_subscribe("c", Some("alice"), "alice/#"));
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
