//! Pages built from a model's description: a form whose inputs, labels and error notes come
//! from the model's fields, and typed access to a row's fields in a loop.

use duet_models::{Field, FieldKind, FieldRef, Model};
use duet_state::{ModelList, ModelState};

use crate::{
    Component, Expr, Item, Node, checkbox, cond, date_input, datetime_input, el, event, form, select, submit, text, var,
};

impl Item {
    /// A row's field, named by the model's field constant: `o.get(Order::TOTAL)`.
    pub fn get<M>(&self, field: FieldRef<M>) -> Expr {
        self.field(field.name())
    }
}

/// A form creating rows of a [`ModelState`]'s model through its `create` handler: one
/// labelled input per field, chosen by the field's kind (a select for choices, a checkbox for
/// booleans, a decimal input for money…), constrained as the model is (`maxlength`,
/// `required`), each with the field's validation error from the state's `errors` var beside
/// it. The model validates again on the server: the form only helps.
///
/// ```
/// use duet_models::{FieldRef, Model, User};
/// use duet_state::{EventCtx, ModelState};
/// use duet_ui::{ModelForm, Node, submit};
///
/// struct Users;
/// impl ModelState for Users {
///     type Model = User;
///     const NAME: &'static str = "users";
/// }
///
/// let form: Node = ModelForm::<Users>::new([User::USERNAME, User::EMAIL]).submit(submit("Add")).into();
/// let spec = serde_json::to_string(&form).unwrap();
/// assert!(spec.contains("\"maxlength\"") && spec.contains("username-error"));
/// ```
pub struct ModelForm<S: ModelState> {
    fields: Vec<&'static Field>,
    initial: Vec<(&'static str, Expr)>,
    textareas: Vec<&'static str>,
    submit: Node,
    state: std::marker::PhantomData<fn() -> S>,
}

impl<S: ModelState> ModelForm<S> {
    /// A form with these fields, in this order.
    pub fn new(fields: impl IntoIterator<Item = FieldRef<S::Model>>) -> ModelForm<S> {
        ModelForm {
            fields: fields
                .into_iter()
                .filter_map(|f| <S::Model as Model>::field(f.name()))
                .collect(),
            initial: Vec::new(),
            textareas: Vec::new(),
            submit: submit("Save"),
            state: std::marker::PhantomData,
        }
    }

    /// The submit button (default: [`submit`]`("Save")`).
    pub fn submit(mut self, button: Node) -> ModelForm<S> {
        self.submit = button;
        self
    }

    /// The value a field starts with.
    pub fn initial(mut self, field: FieldRef<S::Model>, value: impl Into<Expr>) -> ModelForm<S> {
        self.initial.push((field.name(), value.into()));
        self
    }

    /// Shows a text field as a `<textarea>`, for text longer than a line (the field's
    /// constraints still apply).
    pub fn textarea(mut self, field: FieldRef<S::Model>) -> ModelForm<S> {
        self.textareas.push(field.name());
        self
    }
}

/// The input for `field`: its element and attributes by kind (or a `<textarea>`) and
/// constraints.
fn input_for(field: &Field, textarea: bool) -> Node {
    let name = field.name;
    let input = |kind: &str| el("input").attr("name", name).attr("type", kind);
    let mut node = match field.kind {
        _ if textarea => el("textarea").attr("name", name),
        FieldKind::Choice(choices) => select(name, choices.iter().map(|c| (c.value, c.label))),
        FieldKind::Bool => checkbox(name),
        FieldKind::Integer | FieldKind::ForeignKey { .. } => input("number").attr("step", "1"),
        FieldKind::Money => input("text").attr("inputmode", "decimal").attr("placeholder", "0.00"),
        FieldKind::Decimal { .. } => input("text").attr("inputmode", "decimal"),
        FieldKind::Date => date_input(name),
        FieldKind::DateTime => datetime_input(name),
        _ => input("text"),
    };
    if let Some(max) = field.max_length {
        node = node.attr("maxlength", i64::from(max));
    }
    let required = !field.nullable && field.db_default.is_none() && field.kind != FieldKind::Bool;
    if required {
        node = node.attr("required", true);
    }
    node
}

/// A field's label: its verbose name with a capital.
fn label(field: &Field) -> String {
    let mut chars = field.verbose_name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl<S: ModelState> Component for ModelForm<S> {
    fn render(self) -> Node {
        let errors = var::<ModelList<S>>("errors");
        let fields = self.fields.iter().map(|field| {
            let mut input =
                input_for(field, self.textareas.contains(&field.name)).attr("id", &*format!("{}-input", field.name));
            if let Some((_, value)) = self.initial.iter().find(|(name, _)| *name == field.name) {
                input = input.attr("value", value.clone());
            }
            let error = errors.clone().get(field.name);
            let note = el("small")
                .class("error")
                .id(&format!("{}-error", field.name))
                .child(text(error.clone()));
            el("div").class("column").children([
                el("label")
                    .class("field")
                    .child(el("span").child(text(label(field))))
                    .child(input),
                cond(error, note, None),
            ])
        });
        form(fields.collect::<Vec<_>>())
            .child(self.submit)
            .on_submit(event::<ModelList<S>>("create"))
    }
}

#[cfg(test)]
mod tests {
    use duet_models::User;
    use duet_state::ModelState;

    use crate::{Element, Expr, ModelForm, Node};

    struct Users;

    impl ModelState for Users {
        type Model = User;
        const NAME: &'static str = "users";
    }

    /// The element of `node`'s tree whose `name` attribute is `name`.
    fn named<'a>(node: &'a Node, name: &str) -> Option<&'a Element> {
        match node {
            Node::El(element) if element.attrs.get("name") == Some(&Expr::from(name)) => Some(element),
            Node::El(element) => element.children.iter().find_map(|child| named(child, name)),
            Node::Cond { then, otherwise, .. } => {
                named(then, name).or_else(|| otherwise.as_deref().and_then(|o| named(o, name)))
            }
            _ => None,
        }
    }

    #[test]
    fn a_textarea_keeps_the_fields_constraints_and_initial_value() {
        let form: Node = ModelForm::<Users>::new([User::USERNAME, User::EMAIL])
            .textarea(User::USERNAME)
            .initial(User::USERNAME, "ada")
            .into();
        let username = named(&form, "username").expect("the username field");
        assert_eq!(username.tag, "textarea");
        assert_eq!(username.attrs.get("type"), None);
        assert_eq!(username.attrs.get("maxlength"), Some(&Expr::from(150)));
        assert_eq!(username.attrs.get("required"), Some(&Expr::from(true)));
        assert_eq!(username.attrs.get("value"), Some(&Expr::from("ada")));
        assert_eq!(username.attrs.get("id"), Some(&Expr::from("username-input")));
        let email = named(&form, "email").expect("the email field");
        assert_eq!(
            (email.tag.as_str(), email.attrs.get("type")),
            ("input", Some(&Expr::from("text")))
        );
    }
}
