//! The `#[duet(...)]` attributes of a model, parsed by darling (an unknown key is an error
//! with its span), then checked into [`Spec`]s the generators read.

use darling::util::{PathList, SpannedValue};
use darling::{FromDeriveInput, FromField, FromMeta, ast};
use syn::{Expr, Ident, Type, Visibility};

#[derive(FromDeriveInput)]
#[darling(attributes(duet), supports(struct_named))]
pub(crate) struct ModelInput {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) generics: syn::Generics,
    pub(crate) data: ast::Data<(), FieldInput>,
    /// The table's name (default: the struct's name in snake_case, plus `s`).
    #[darling(default)]
    pub(crate) table: Option<String>,
    /// The model's name (default: the struct's name in snake_case).
    #[darling(default)]
    pub(crate) name: Option<String>,
    #[darling(default)]
    pub(crate) verbose_name: Option<String>,
    #[darling(default)]
    pub(crate) verbose_name_plural: Option<String>,
    /// The name of the generated new-row type (default: `New{Model}`).
    #[darling(default)]
    pub(crate) new: Option<Ident>,
    /// The name of the generated changes type (default: `{Model}Changes`).
    #[darling(default)]
    pub(crate) changes: Option<Ident>,
    /// Indexes over several fields: `index(name = "…", fields(a, b), unique)`.
    #[darling(multiple)]
    pub(crate) index: Vec<IndexInput>,
}

#[derive(FromMeta)]
pub(crate) struct IndexInput {
    pub(crate) name: String,
    pub(crate) fields: PathList,
    #[darling(default)]
    pub(crate) unique: bool,
}

#[derive(FromField)]
#[darling(attributes(duet))]
pub(crate) struct FieldInput {
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Type,
    #[darling(default)]
    pub(crate) primary_key: bool,
    #[darling(default)]
    pub(crate) owner: SpannedValue<bool>,
    #[darling(default)]
    pub(crate) column: Option<String>,
    #[darling(default)]
    pub(crate) read_only: bool,
    #[darling(default)]
    pub(crate) secret: bool,
    #[darling(default)]
    pub(crate) max_length: Option<SpannedValue<u32>>,
    #[darling(default)]
    pub(crate) blank: SpannedValue<bool>,
    #[darling(default)]
    pub(crate) min: Option<SpannedValue<Bound>>,
    #[darling(default)]
    pub(crate) max: Option<SpannedValue<Bound>>,
    #[darling(default)]
    pub(crate) regex: Option<SpannedValue<String>>,
    #[darling(default)]
    pub(crate) validate: Option<syn::Path>,
    #[darling(default)]
    pub(crate) unique: bool,
    #[darling(default)]
    pub(crate) index: bool,
    #[darling(default)]
    pub(crate) default: Option<DefaultExpr>,
    #[darling(default)]
    pub(crate) auto_now_add: SpannedValue<bool>,
    #[darling(default)]
    pub(crate) auto_now: SpannedValue<bool>,
    #[darling(default)]
    pub(crate) verbose_name: Option<String>,
    #[darling(default)]
    pub(crate) help_text: Option<String>,
}

/// An integer bound, possibly negative: `min = -5`.
pub(crate) struct Bound(pub(crate) i64);

impl FromMeta for Bound {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        let (negative, literal) = match expr {
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                expr,
                ..
            }) => (true, expr.as_ref()),
            other => (false, other),
        };
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) = literal
        else {
            return Err(darling::Error::custom("expected a whole number, such as 0 or -5").with_span(expr));
        };
        let value: i64 = int.base10_parse()?;
        Ok(Bound(if negative { -value } else { value }))
    }
}

/// A default value as written: `default = "pending"` is the string, `default = 0` the
/// number, `default = Status::Pending` or `default = new_reference()` the expression
/// (darling would parse a string as an expression's source).
pub(crate) struct DefaultExpr(pub(crate) Expr);

impl FromMeta for DefaultExpr {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        Ok(DefaultExpr(expr.clone()))
    }
}
