//! The model as the generators see it: attributes checked against each other and defaults
//! filled in (column names, read-only fields, the primary key).

use darling::ast;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Type, Visibility};

use super::attrs::{FieldInput, ModelInput};

/// diesel's tuples (and so its tables' selects) go up to 16 columns by default.
const MAX_COLUMNS: usize = 16;

pub(crate) struct ModelSpec {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) name: String,
    pub(crate) table: Ident,
    pub(crate) verbose_name: String,
    pub(crate) verbose_name_plural: String,
    pub(crate) fields: Vec<FieldSpec>,
    pub(crate) indexes: Vec<IndexSpec>,
    pub(crate) new: Ident,
    pub(crate) changes: Ident,
}

pub(crate) struct IndexSpec {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auto {
    No,
    OnCreate,
    OnSave,
}

pub(crate) struct FieldSpec {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The type inside `Option<…>`, for a nullable field.
    pub(crate) inner: Option<Type>,
    pub(crate) name: String,
    pub(crate) column: Ident,
    pub(crate) primary_key: bool,
    pub(crate) owner: bool,
    /// Never read from client input (ids, owners, timestamps, `read_only`, `secret`).
    pub(crate) read_only: bool,
    pub(crate) secret: bool,
    pub(crate) auto: Auto,
    pub(crate) default: Option<Expr>,
    pub(crate) max_length: Option<u32>,
    pub(crate) blank: bool,
    pub(crate) min: Option<i64>,
    pub(crate) max: Option<i64>,
    pub(crate) regex: Option<String>,
    pub(crate) validate: Option<syn::Path>,
    pub(crate) unique: bool,
    pub(crate) index: bool,
    pub(crate) verbose_name: String,
    pub(crate) help_text: String,
    /// `String` or `Option<String>`: searchable.
    pub(crate) text: bool,
    /// A `ForeignKey<…>` (or an optional one): searchable by a list of ids.
    pub(crate) foreign: bool,
}

impl FieldSpec {
    /// The type a value of this field is checked as: the inner type of an `Option`.
    pub(crate) fn value_ty(&self) -> &Type {
        self.inner.as_ref().unwrap_or(&self.ty)
    }
}

/// `Some(T)` when `ty` is `Option<T>`.
fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(inner)) => Some(inner.clone()),
        _ => None,
    }
}

/// The last path segment of `ty`'s name (`ForeignKey` for `duet::models::ForeignKey<User>`).
fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl ModelSpec {
    pub(crate) fn check(input: ModelInput) -> darling::Result<ModelSpec> {
        let mut errors = darling::Error::accumulator();
        if !input.generics.params.is_empty() {
            errors
                .push(darling::Error::custom("a model cannot be generic: it is one table").with_span(&input.generics));
        }
        let ast::Data::Struct(fields) = input.data else {
            return Err(darling::Error::unsupported_shape("an enum").with_span(&input.ident));
        };
        let struct_name = crate::snake_case(&input.ident.to_string());
        let name = input.name.unwrap_or_else(|| struct_name.clone());
        let table_name = input.table.unwrap_or_else(|| format!("{struct_name}s"));
        let table = match syn::parse_str::<Ident>(&table_name) {
            Ok(table) => table,
            Err(_) => {
                errors.push(
                    darling::Error::custom(format!("table name {table_name:?} is not an identifier"))
                        .with_span(&input.ident),
                );
                Ident::new("invalid_table", input.ident.span())
            }
        };
        let specs: Vec<FieldSpec> = fields
            .fields
            .into_iter()
            .filter_map(|field| errors.handle(FieldSpec::check(field)))
            .collect();
        if specs.len() > MAX_COLUMNS {
            errors.push(
                darling::Error::custom(format!(
                    "a model has at most {MAX_COLUMNS} fields (diesel's tuples); this one has {}",
                    specs.len()
                ))
                .with_span(&input.ident),
            );
        }
        let keys: Vec<&FieldSpec> = specs.iter().filter(|f| f.primary_key).collect();
        match keys.as_slice() {
            [key] if last_segment(&key.ty).as_deref() == Some("i64") => {}
            [key] => errors.push(darling::Error::custom("the primary key must be an i64").with_span(&key.ty)),
            [] => errors.push(
                darling::Error::custom(
                    "a model needs a primary key: a field `id: i64`, or one marked #[duet(primary_key)]",
                )
                .with_span(&input.ident),
            ),
            [_, second, ..] => {
                errors.push(darling::Error::custom("a model has one primary key").with_span(&second.ident));
            }
        }
        let owners: Vec<&FieldSpec> = specs.iter().filter(|f| f.owner).collect();
        if let [_, second, ..] = owners.as_slice() {
            errors.push(darling::Error::custom("a model has at most one owner field").with_span(&second.ident));
        }
        let mut indexes = Vec::new();
        for index in input.index {
            let mut columns = Vec::new();
            for path in index.fields.iter() {
                match specs.iter().find(|f| path.is_ident(&f.ident)) {
                    Some(field) => columns.push(field.column.to_string()),
                    None => errors.push(darling::Error::custom("no such field in this model").with_span(path)),
                }
            }
            indexes.push(IndexSpec {
                name: index.name,
                columns,
                unique: index.unique,
            });
        }
        errors.finish()?;
        Ok(ModelSpec {
            new: input.new.unwrap_or_else(|| quote::format_ident!("New{}", input.ident)),
            changes: input
                .changes
                .unwrap_or_else(|| quote::format_ident!("{}Changes", input.ident)),
            verbose_name: input.verbose_name.unwrap_or_else(|| crate::words(&name)),
            verbose_name_plural: input.verbose_name_plural.unwrap_or_else(|| crate::words(&table_name)),
            ident: input.ident,
            vis: input.vis,
            name,
            table,
            fields: specs,
            indexes,
        })
    }

    pub(crate) fn primary_key(&self) -> &FieldSpec {
        self.fields.iter().find(|f| f.primary_key).unwrap_or(&self.fields[0])
    }

    pub(crate) fn owner(&self) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.owner)
    }

    /// Every field but the primary key: the columns a new row sets.
    pub(crate) fn columns(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| !f.primary_key)
    }
}

impl FieldSpec {
    fn check(input: FieldInput) -> darling::Result<FieldSpec> {
        let mut errors = darling::Error::accumulator();
        let Some(ident) = input.ident else {
            return Err(darling::Error::unsupported_shape("a tuple field"));
        };
        let name = ident.to_string().trim_start_matches("r#").to_owned();
        let inner = option_inner(&input.ty);
        let value_segment = last_segment(inner.as_ref().unwrap_or(&input.ty));
        let foreign = value_segment.as_deref() == Some("ForeignKey");
        let text = value_segment.as_deref() == Some("String");
        let owner = *input.owner;
        let primary_key = input.primary_key || (name == "id" && !owner);
        let auto = match (*input.auto_now_add, *input.auto_now) {
            (true, true) => {
                errors.push(
                    darling::Error::custom("choose auto_now_add (set once) or auto_now (set on every save)")
                        .with_span(&input.auto_now.span()),
                );
                Auto::No
            }
            (true, false) => Auto::OnCreate,
            (false, true) => Auto::OnSave,
            (false, false) => Auto::No,
        };
        if owner && inner.is_some() {
            errors.push(
                darling::Error::custom("an owner field cannot be optional: every row has an owner")
                    .with_span(&input.owner.span()),
            );
        }
        if let (Some(default), true) = (&input.default, auto != Auto::No || owner || primary_key) {
            errors.push(darling::Error::custom("this field sets itself: it takes no default").with_span(&default.0));
        }
        let read_only = input.read_only || input.secret || primary_key || owner || auto != Auto::No;
        let column = input
            .column
            .unwrap_or_else(|| if foreign { format!("{name}_id") } else { name.clone() });
        let column = match syn::parse_str::<Ident>(&column) {
            Ok(column) => column,
            Err(_) => {
                errors
                    .push(darling::Error::custom(format!("column {column:?} is not an identifier")).with_span(&ident));
                ident.clone()
            }
        };
        if let Some(pattern) = &input.regex
            && let Err(error) = regex_syntax::Parser::new().parse(pattern)
        {
            errors.push(darling::Error::custom(format!("invalid regex: {error}")).with_span(&pattern.span()));
        }
        errors.finish()?;
        Ok(FieldSpec {
            verbose_name: input.verbose_name.unwrap_or_else(|| crate::words(&name)),
            help_text: input.help_text.unwrap_or_default(),
            ty: input.ty.clone(),
            inner,
            column,
            primary_key,
            owner,
            read_only,
            secret: input.secret,
            auto,
            default: input.default.map(|d| d.0),
            max_length: input.max_length.map(|m| *m),
            blank: *input.blank,
            min: input.min.map(|m| m.0),
            max: input.max.map(|m| m.0),
            regex: input.regex.map(|r| r.to_string()),
            validate: input.validate,
            unique: input.unique,
            index: input.index,
            text,
            foreign,
            name,
            ident,
        })
    }

    /// Where a checked attribute's span should point for a field-type assertion.
    pub(crate) fn ty_span(&self) -> proc_macro2::Span {
        self.ty.span()
    }
}
