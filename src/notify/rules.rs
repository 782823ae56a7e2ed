//! The rules file: parsed and validated once, at start. A bad rule stops the server with a
//! message naming it.

use super::Channel;
use crate::domain::notifications::Horizons;
/// Triggers and recipients are the domain's (who hears of what is decided there).
pub use crate::domain::notifications::{Recipient, Trigger};
use chrono::Duration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The rules this repository ships (`config/notifications.yaml`).
pub const DEFAULT_RULES: &str = include_str!("../../config/notifications.yaml");

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub trigger: Trigger,
    pub offset: Duration,
    pub recipient: Recipient,
    pub channel: Channel,
    pub template: String,
    pub ical: bool,
}

#[derive(Debug)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub late_horizon: Duration,
    pub event_horizon: Duration,
    env: minijinja::Environment<'static>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    late_horizon: String,
    event_horizon: String,
    rules: Vec<RawRule>,
    templates: BTreeMap<String, RawTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    trigger: String,
    #[serde(default)]
    offset: Option<String>,
    recipient: String,
    channel: String,
    template: String,
    #[serde(default)]
    ical: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    subject: String,
    text: String,
    html: String,
}

/// `3600`, `90s`, `90m`, `24h`, `7d`: the settings' durations ([`crate::config::parse_duration`])
/// in whole seconds, minutes, hours or days, as a rules file counts time.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let value = s.trim();
    if !value.ends_with(|c: char| c.is_ascii_digit() || "smhd".contains(c)) || value.ends_with("ms") {
        return Err(format!("bad duration unit in {value:?} (use s, m, h or d)"));
    }
    let duration = crate::config::parse_duration(value).map_err(|e| format!("bad duration {value:?}: {e}"))?;
    Duration::from_std(duration).map_err(|_| format!("bad duration {value:?}"))
}

/// Rendered subject, text and HTML.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rules {
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
                Self::parse(&text).map_err(|e| format!("{}: {e}", p.display()))
            }
            None => Self::parse(DEFAULT_RULES),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawRules = serde_yaml::from_str(text).map_err(|e| format!("notification rules: {e}"))?;
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, t) in &raw.templates {
            for (part, source) in [("subject", &t.subject), ("text", &t.text), ("html", &t.html)] {
                let key = format!("{name}.{part}");
                env.add_template_owned(key.clone(), source.clone())
                    .map_err(|e| format!("template {name} ({part}) does not compile: {e}"))?;
            }
        }
        // HTML parts are escaped; the others are plain text.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        let mut rules = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for r in raw.rules {
            let fail = |why: String| format!("notification rule {:?}: {why}", r.name);
            if !names.insert(r.name.clone()) {
                return Err(fail("the name is used twice".into()));
            }
            let trigger = Trigger::parse(&r.trigger).ok_or_else(|| fail(format!("unknown trigger {:?}", r.trigger)))?;
            let recipient =
                Recipient::parse(&r.recipient).ok_or_else(|| fail(format!("unknown recipient {:?}", r.recipient)))?;
            if !recipient.applies_to(trigger) {
                return Err(fail(format!(
                    "recipient {} does not apply to trigger {}",
                    recipient.name(),
                    trigger.name()
                )));
            }
            let channel = Channel::parse(&r.channel).ok_or_else(|| fail(format!("unknown channel {:?}", r.channel)))?;
            let offset = match (&r.offset, trigger.is_timed()) {
                (Some(o), true) => parse_duration(o).map_err(&fail)?,
                (None, true) => return Err(fail(format!("trigger {} needs an offset", trigger.name()))),
                (Some(_), false) => return Err(fail(format!("trigger {} takes no offset", trigger.name()))),
                (None, false) => Duration::zero(),
            };
            if !raw.templates.contains_key(&r.template) {
                return Err(fail(format!("unknown template {:?}", r.template)));
            }
            if r.ical && channel != Channel::Email {
                return Err(fail("ical attachments go with the email channel only".into()));
            }
            rules.push(Rule { name: r.name, trigger, offset, recipient, channel, template: r.template, ical: r.ical });
        }
        Ok(Self {
            rules,
            late_horizon: parse_duration(&raw.late_horizon).map_err(|e| format!("late_horizon: {e}"))?,
            event_horizon: parse_duration(&raw.event_horizon).map_err(|e| format!("event_horizon: {e}"))?,
            env,
        })
    }

    /// How far from now the rules look.
    pub fn horizons(&self) -> Horizons {
        Horizons { late: self.late_horizon, event: self.event_horizon }
    }

    pub fn render(&self, template: &str, context: &serde_json::Value) -> Result<Rendered, String> {
        let part = |p: &str| -> Result<String, String> {
            let t = self.env.get_template(&format!("{template}.{p}")).map_err(|e| e.to_string())?;
            t.render(context).map_err(|e| format!("template {template} ({p}): {e}"))
        };
        Ok(Rendered { subject: part("subject")?.trim().to_string(), text: part("text")?, html: part("html")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_minutes_hours_or_days() {
        assert_eq!(parse_duration("3600"), Ok(Duration::seconds(3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::seconds(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::seconds(172800)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("500ms").is_err());
    }

    #[test]
    fn the_shipped_rules_load() {
        let rules = Rules::parse(DEFAULT_RULES).unwrap();
        assert!(rules
            .rules
            .iter()
            .any(|r| r.trigger == Trigger::BookingBeforeStart && r.offset == Duration::hours(24)));
        assert!(rules.rules.iter().any(|r| r.trigger == Trigger::BookingBeforeStart && r.offset == Duration::hours(1)));
        assert_eq!(rules.late_horizon, Duration::hours(2));
    }

    fn with_rule(rule: &str) -> String {
        format!(
            "late_horizon: 2h\nevent_horizon: 7d\nrules:\n{rule}\ntemplates:\n  t:\n    subject: s\n    text: t\n    html: h\n"
        )
    }

    #[test]
    fn a_bad_rule_is_named() {
        for (rule, expected) in [
            (
                "  - {name: a, trigger: booking.exploded, recipient: athlete, channel: email, template: t}",
                "unknown trigger",
            ),
            (
                "  - {name: b, trigger: booking.created, recipient: visitor, channel: email, template: t}",
                "does not apply",
            ),
            (
                "  - {name: c, trigger: booking.before_start, recipient: athlete, channel: email, template: t}",
                "needs an offset",
            ),
            (
                "  - {name: d, trigger: booking.created, recipient: athlete, channel: pigeon, template: t}",
                "unknown channel",
            ),
            (
                "  - {name: e, trigger: booking.created, recipient: athlete, channel: email, template: nope}",
                "unknown template",
            ),
            (
                "  - {name: f, trigger: booking.created, offset: 1h, recipient: athlete, channel: email, template: t}",
                "takes no offset",
            ),
        ] {
            let err = Rules::parse(&with_rule(rule)).unwrap_err();
            assert!(err.contains(expected) && err.contains("notification rule"), "{err}");
        }
        let err = Rules::parse("late_horizon: 2h\nevent_horizon: 7d\nrules: []\ntemplates:\n  t:\n    subject: '{{ x'\n    text: t\n    html: h\n")
            .unwrap_err();
        assert!(err.contains("template t"), "{err}");
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let rules = Rules::parse(
            "late_horizon: 2h\nevent_horizon: 7d\nrules: []\ntemplates:\n  t:\n    subject: '{{ n }}'\n    text: '{{ n }}'\n    html: '<p>{{ n }}</p>'\n",
        )
        .unwrap();
        let r = rules.render("t", &serde_json::json!({"n": "<b>&"})).unwrap();
        assert_eq!(r.text, "<b>&");
        assert_eq!(r.html, "<p>&lt;b&gt;&amp;</p>");
    }
}
