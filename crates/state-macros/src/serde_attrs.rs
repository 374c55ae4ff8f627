//! What `#[derive(State)]` needs to know of serde's attributes: the name a field has in the
//! serialized state, and whether it is serialized at all.
//!
//! Malformed `#[serde(...)]` attributes are ignored here: serde's own derive reports them.

use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Field, LitStr, Token};

/// The container's `#[serde(...)]` attributes that change field names or the state's shape.
#[derive(Default)]
pub(crate) struct Container {
    /// `rename_all = "..."` (or its `serialize = "..."` half).
    pub(crate) rename_all: Option<RenameRule>,
    /// `#[serde(transparent)]`, if present.
    pub(crate) transparent: Option<proc_macro2::Span>,
}

/// A field's `#[serde(...)]` attributes that matter to the state.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `rename = "..."` (or its `serialize = "..."` half).
    pub(crate) rename: Option<String>,
    /// `skip` or `skip_serializing`: the field is not in the serialized state.
    pub(crate) skipped: bool,
    /// `flatten`: the field's own fields are vars, not the field.
    pub(crate) flatten: bool,
}

impl Container {
    pub(crate) fn parse(attrs: &[Attribute]) -> Container {
        let mut container = Container::default();
        for attr in serde_attrs(attrs) {
            // Errors are serde's to report.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    if let Some(rule) = serialize_name(&meta)?.as_deref().and_then(RenameRule::parse) {
                        container.rename_all = Some(rule);
                    }
                } else if meta.path.is_ident("transparent") {
                    container.transparent = Some(meta.path.span());
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            });
        }
        container
    }
}

impl FieldAttrs {
    pub(crate) fn parse(field: &Field) -> FieldAttrs {
        let mut attrs = FieldAttrs::default();
        for attr in serde_attrs(&field.attrs) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if let Some(name) = serialize_name(&meta)? {
                        attrs.rename = Some(name);
                    }
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    attrs.skipped = true;
                } else if meta.path.is_ident("flatten") {
                    attrs.flatten = true;
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            });
        }
        attrs
    }
}

/// The name `field` has in the serialized state: its `#[serde(rename)]`, else its ident
/// (without `r#`) under the container's `rename_all`.
pub(crate) fn field_name(field: &Field, attrs: &FieldAttrs, container: &Container) -> String {
    if let Some(name) = &attrs.rename {
        return name.clone();
    }
    let ident = field.ident.as_ref().map(|i| i.unraw().to_string()).unwrap_or_default();
    match container.rename_all {
        Some(rule) => rule.apply(&ident),
        None => ident,
    }
}

fn serde_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("serde"))
}

/// The serialize-side value of `key = "..."` or `key(serialize = "...", deserialize = "...")`.
fn serialize_name(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        let value: LitStr = meta.value()?.parse()?;
        return Ok(Some(value.value()));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            let value: LitStr = inner.value()?.parse()?;
            name = Some(value.value());
        } else {
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    Ok(name)
}

/// Consumes a serde key's value (`= expr` or `(...)`), which this crate doesn't need.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _: proc_macro2::TokenTree = meta.input.parse()?;
    }
    Ok(())
}

/// serde's `rename_all` rules, as serde applies them to field names.
#[derive(Clone, Copy)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    fn parse(rule: &str) -> Option<RenameRule> {
        Some(match rule {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            _ => return None,
        })
    }

    fn apply(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => pascal(field),
            RenameRule::Camel => {
                let pascal = pascal(field);
                let mut chars = pascal.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

fn pascal(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut capitalize = true;
    for ch in field.chars() {
        if ch == '_' {
            capitalize = true;
        } else if capitalize {
            out.push(ch.to_ascii_uppercase());
            capitalize = false;
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_match_serde() {
        let cases = [
            ("lowercase", "clicks_today"),
            ("UPPERCASE", "CLICKS_TODAY"),
            ("PascalCase", "ClicksToday"),
            ("camelCase", "clicksToday"),
            ("snake_case", "clicks_today"),
            ("SCREAMING_SNAKE_CASE", "CLICKS_TODAY"),
            ("kebab-case", "clicks-today"),
            ("SCREAMING-KEBAB-CASE", "CLICKS-TODAY"),
        ];
        for (rule, expected) in cases {
            let rule = RenameRule::parse(rule).expect(rule);
            assert_eq!(rule.apply("clicks_today"), expected);
        }
        assert!(RenameRule::parse("Title Case").is_none());
    }
}
