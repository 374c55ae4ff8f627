//! The account emails: a subject, a text body and an HTML body each, with placeholders
//! the flows fill in. An app replaces any of them ([`AccountEmails`] in
//! [`Accounts`](crate::Accounts)); the defaults are plain and short.

use duet_mail::Email;

/// One email's words. `{username}`, `{link}`, `{email}` and `{site}` are replaced by the
/// user's name, the link to open, the address concerned and the site's host; in `html`
/// the values are HTML-escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl Template {
    /// A template from its three parts.
    pub fn new(subject: impl Into<String>, text: impl Into<String>, html: impl Into<String>) -> Template {
        Template {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    /// The email to `to`, the placeholders filled with `values`.
    pub(crate) fn render(&self, to: &str, values: &Values<'_>) -> Email {
        // One pass, so that a value containing a placeholder (a username "{link}") stays text.
        let fill = |template: &str, escape: bool| {
            let mut out = String::with_capacity(template.len());
            let mut rest = template;
            while let Some(at) = rest.find('{') {
                out.push_str(&rest[..at]);
                rest = &rest[at..];
                match values.pairs().into_iter().find(|(name, _)| rest.starts_with(name)) {
                    Some((name, value)) => {
                        if escape {
                            out.push_str(&html_escape::encode_double_quoted_attribute(value));
                        } else {
                            out.push_str(value);
                        }
                        rest = &rest[name.len()..];
                    }
                    None => {
                        out.push('{');
                        rest = &rest[1..];
                    }
                }
            }
            out.push_str(rest);
            out
        };
        Email {
            to: to.to_owned(),
            subject: fill(&self.subject, false),
            text: fill(&self.text, false),
            html: fill(&self.html, true),
        }
    }
}

/// What the placeholders stand for in one email.
pub(crate) struct Values<'a> {
    pub(crate) username: &'a str,
    pub(crate) link: &'a str,
    pub(crate) email: &'a str,
    pub(crate) site: &'a str,
}

impl Values<'_> {
    fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("{username}", self.username),
            ("{link}", self.link),
            ("{email}", self.email),
            ("{site}", self.site),
        ]
    }
}

/// Every email the account flows send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEmails {
    /// After sign-up: confirm the address (`{link}`).
    pub verify: Template,
    /// A password reset was asked for (`{link}`).
    pub reset_password: Template,
    /// To the new address of an email change: confirm it (`{link}`, `{email}` the new address).
    pub change_email: Template,
    /// To the old address once an email change is confirmed (`{email}` the new address).
    pub email_changed: Template,
}

fn html(paragraphs: &str) -> String {
    format!("<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">{paragraphs}</body></html>")
}

impl Default for AccountEmails {
    fn default() -> AccountEmails {
        AccountEmails {
            verify: Template::new(
                "Confirm your email address on {site}",
                "Hello {username},\n\nConfirm your email address by opening this link:\n\n{link}\n\nIf you did not sign up on {site}, ignore this email.\n",
                html(
                    "<p>Hello {username},</p><p><a href=\"{link}\">Confirm your email address</a>.</p><p>If you did not sign up on {site}, ignore this email.</p>",
                ),
            ),
            reset_password: Template::new(
                "Reset your password on {site}",
                "Hello {username},\n\nSomeone asked to reset your password. To choose a new one, open this link within an hour:\n\n{link}\n\nIf it was not you, ignore this email: your password stays as it is.\n",
                html(
                    "<p>Hello {username},</p><p>Someone asked to reset your password. <a href=\"{link}\">Choose a new password</a> within an hour.</p><p>If it was not you, ignore this email: your password stays as it is.</p>",
                ),
            ),
            change_email: Template::new(
                "Confirm your new email address on {site}",
                "Hello {username},\n\nTo make {email} the address of your account, open this link:\n\n{link}\n\nIf you did not ask for this, ignore this email.\n",
                html(
                    "<p>Hello {username},</p><p><a href=\"{link}\">Make {email} the address of your account</a>.</p><p>If you did not ask for this, ignore this email.</p>",
                ),
            ),
            email_changed: Template::new(
                "Your email address on {site} was changed",
                "Hello {username},\n\nThe address of your account is now {email}. If you did not do this, reset your password and contact us.\n",
                html(
                    "<p>Hello {username},</p><p>The address of your account is now {email}. If you did not do this, reset your password and contact us.</p>",
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_only() {
        let template = Template::new(
            "Hi {username}",
            "{username}: {link}",
            "<a href=\"{link}\">{username}</a>",
        );
        let values = Values {
            username: "<ada>{link}",
            link: "https://shop.test/verify?token=a&b",
            email: "",
            site: "shop.test",
        };
        let email = template.render("ada@example.com", &values);
        assert_eq!(email.subject, "Hi <ada>{link}");
        assert_eq!(email.text, "<ada>{link}: https://shop.test/verify?token=a&b");
        assert_eq!(
            email.html,
            "<a href=\"https://shop.test/verify?token=a&amp;b\">&lt;ada&gt;{link}</a>"
        );
    }
}
