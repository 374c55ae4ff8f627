//! What a new password must be, as Django's `AUTH_PASSWORD_VALIDATORS` default: long
//! enough, not too similar to the username or address, not a common password, not all
//! digits. Each broken rule is one message, as Django words it.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

/// Django's list of 19,640 common passwords (see `data/README.md` for its origin and licence).
const COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The rules a new password is checked against. [`PasswordRules::default`] is Django's.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordRules {
    /// The fewest characters (Django's `MinimumLengthValidator`: 8).
    pub min_length: usize,
    /// Refused when this similar to the username or address or a part of them (Django's
    /// `UserAttributeSimilarityValidator`: 0.7; `None` turns the rule off).
    pub max_similarity: Option<f64>,
    /// Refuse the common passwords (Django's `CommonPasswordValidator`).
    pub refuse_common: bool,
    /// Refuse passwords of digits only (Django's `NumericPasswordValidator`).
    pub refuse_numeric: bool,
}

impl Default for PasswordRules {
    fn default() -> PasswordRules {
        PasswordRules {
            min_length: 8,
            max_similarity: Some(0.7),
            refuse_common: true,
            refuse_numeric: true,
        }
    }
}

impl PasswordRules {
    /// What is wrong with `password` for a user with these `attributes` (`("username",
    /// "ada")`, `("email address", "ada@example.com")`); empty when it passes.
    pub fn check(&self, password: &str, attributes: &[(&str, &str)]) -> Vec<String> {
        let mut problems = Vec::new();
        if password.chars().count() < self.min_length {
            let n = self.min_length;
            let s = if n == 1 { "" } else { "s" };
            problems.push(format!(
                "This password is too short. It must contain at least {n} character{s}."
            ));
        }
        if let Some(max) = self.max_similarity
            && let Some(name) = attributes
                .iter()
                .find_map(|(name, value)| too_similar(password, value, max).then_some(name))
        {
            problems.push(format!("The password is too similar to the {name}."));
        }
        if self.refuse_common && common_passwords().contains(password.trim().to_lowercase().as_str()) {
            problems.push("This password is too common.".to_owned());
        }
        if self.refuse_numeric && !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".to_owned());
        }
        problems
    }
}

/// Django's similarity check: the password against the value and each of its parts split
/// at non-word characters, by difflib's `quick_ratio`, skipping parts far shorter than
/// the password.
fn too_similar(password: &str, value: &str, max: f64) -> bool {
    let password = password.to_lowercase();
    let value = value.to_lowercase();
    if value.is_empty() {
        return false;
    }
    let password_len = password.chars().count();
    value
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .chain([value.as_str()])
        .filter(|part| {
            let part_len = part.chars().count();
            let far_shorter = password_len >= 10 * part_len && (part_len as f64) < max / 2.0 * password_len as f64;
            !far_shorter
        })
        .any(|part| quick_ratio(&password, part) >= max)
}

/// difflib's `SequenceMatcher.quick_ratio`: twice the characters the two share (as
/// multisets) over their total length.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut left: std::collections::HashMap<char, usize> = std::collections::HashMap::new();
    for c in b.chars() {
        *left.entry(c).or_default() += 1;
    }
    let shared = a
        .chars()
        .filter(|c| match left.get_mut(c) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    2.0 * shared as f64 / total as f64
}

fn common_passwords() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .expect("the embedded list is valid gzip");
        text.lines().map(|line| line.trim().to_owned()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str, expected: &[&str]) {
        let rules = PasswordRules::default();
        let attributes = [
            ("username", "adalovelace"),
            ("email address", "ada.lovelace@example.com"),
        ];
        assert_eq!(rules.check(password, &attributes), expected, "{password:?}");
    }

    #[test]
    fn djangos_rules() {
        check("correct horse battery", &[]);
        check("Tr0ub4dor&3x", &[]);
        check(
            "short",
            &["This password is too short. It must contain at least 8 characters."],
        );
        check("password", &["This password is too common."]);
        check(
            "1234567890",
            &["This password is too common.", "This password is entirely numeric."],
        );
        check("83920174619", &["This password is entirely numeric."]);
        check("adalovelace1", &["The password is too similar to the username."]);
        check("Lovelace!", &["The password is too similar to the username."]);
        check("example12", &["The password is too similar to the email address."]);
        check(
            "",
            &["This password is too short. It must contain at least 8 characters."],
        );
    }

    #[test]
    fn quick_ratio_is_difflibs() {
        // difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((quick_ratio("aab", "ab") - 0.8).abs() < 1e-9);
    }
}
