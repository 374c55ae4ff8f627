//! The shop's pages: home (a counter), login, the user's orders (live), their history (filtered,
//! paged), all of them as a stream, and one order.

use duet::models::Choices;
use duet::ui::{
    Expr, Item, ModelForm, Node, Page, Pagination, Table, Ui, button, checkbox, column, cond, confirm, date_input, el,
    event, field, foreach, form, handler, heading, input_kind, link, login, logout, paragraph, param, row, select,
    submit, text, user, var,
};

use crate::orders::{Order, OrderStatus};
use crate::states::{CounterState, OrderFeedState, OrderHistory, OrderState};

/// The registered state behind `OrderState` (a `ModelState`): its vars and handlers.
type Orders = duet::state::ModelList<OrderState>;
/// The registered state behind `OrderFeedState`: the same orders, streamed.
type OrderFeed = duet::state::ModelList<OrderFeedState>;

/// Every page of the shop, in one layout.
pub fn ui() -> Ui {
    let ui = Ui::new("Shop")
        .layout(layout)
        .login_page("/login")
        .page(home())
        .page(login_page())
        .page(orders())
        .page(history())
        .page(order())
        .page(feed());
    crate::account_pages::pages().into_iter().fold(ui, Ui::page)
}

/// A header with the navigation and who is logged in, around the page.
fn layout(body: Node) -> Node {
    let account = cond(
        user("username"),
        row([
            el("span")
                .class("muted")
                .child(duet::ui::text!("Signed in as ", user("username"))),
            link("Account", "/account").id("account-link"),
            button("Log out").class("link").id("logout").on_click(logout("/")),
        ]),
        Some(row([
            link("Log in", "/login").id("login-link"),
            link("Sign up", "/signup").id("signup-link"),
        ])),
    );
    column([
        el("header").class("bar").children([
            el("nav").children([
                link("Shop", "/").class("brand"),
                link("Orders", "/orders"),
                link("History", "/history"),
                link("All orders", "/feed"),
            ]),
            el("div").class("account").child(account),
        ]),
        el("main").child(body),
    ])
}

fn home() -> Page {
    let count = var::<CounterState>("count");
    Page::new("/").title("Shop").body(column([
        heading(1, "Shop"),
        paragraph("A counter kept on the server: every click is an event, every change a delta."),
        el("section").class("card").children([
            heading(2, "Counter"),
            el("p").class("count").child(text(count.clone()).id("count")),
            row([
                button("−1")
                    .id("decrement")
                    .on_click(event::<CounterState>("decrement")),
                button("+1")
                    .id("increment")
                    .on_click(event::<CounterState>("increment")),
            ]),
            form([
                field(
                    "Set to",
                    input_kind("value", "number").attr("required", true).id("set-value"),
                ),
                submit("Set").id("set"),
            ])
            .class("inline")
            .id("set-form")
            .on_submit(event::<CounterState>("set_to").with_field("value")),
            field(
                "Live value",
                input_kind("count", "number")
                    .id("bound")
                    .bind(count, event::<CounterState>("set_to")),
            ),
        ]),
    ]))
}

fn login_page() -> Page {
    Page::new("/login").title("Log in · Shop").body(column([
        heading(1, "Log in"),
        form([
            field(
                "Username",
                input_kind("username", "text").attr("autocomplete", "username"),
            ),
            field(
                "Password",
                input_kind("password", "password").attr("autocomplete", "current-password"),
            ),
            submit("Log in").id("login-submit"),
        ])
        .class("card stack")
        .id("login-form")
        .on_submit(login()),
        row([
            link("Forgot your password?", "/forgot-password").id("forgot-link"),
            link("Sign up", "/signup"),
        ]),
    ]))
}

fn money(o: &duet::ui::Item) -> Expr {
    Expr::concat([o.get(Order::TOTAL), Expr::lit(" "), o.get(Order::CURRENCY)])
}

/// The orders table's columns, over a kept list or a stream.
fn order_table(list: Expr) -> Table {
    Table::new(list)
        .row_class("order")
        .column("Order", |o| {
            link(
                Expr::concat([Expr::lit("#"), o.get(Order::ID)]),
                Expr::concat([Expr::lit("/orders/"), o.get(Order::ID)]),
            )
        })
        .column("Status", |o| {
            el("span")
                .class("status")
                .attr("data-status", o.get(Order::STATUS))
                .child(text(o.get(Order::STATUS)))
        })
        .column("Total", |o| text(money(o)).class("num"))
}

fn orders() -> Page {
    let list = var::<Orders>("orders");
    let table = order_table(list.clone()).column("Actions", cancel_button);
    Page::new("/orders")
        .title("Your orders · Shop")
        .login_required()
        .on_load(handler::<Orders>("refresh"))
        .body(column([
            row([
                heading(1, "Your orders"),
                button("Refresh").id("refresh").on_click(event::<Orders>("refresh")),
            ])
            .class("row spread"),
            new_order_form(),
            cond(
                list.clone().len(),
                Node::from(table).id("orders"),
                Some(paragraph("No orders yet.").class("muted").id("no-orders")),
            ),
            paragraph(Expr::concat([list.len(), Expr::lit(" order(s), updated live.")])).class("muted"),
        ]))
}

/// Cancels the row's order with `orders.cancel`, once confirmed (not shown once cancelled).
fn cancel_button(o: &Item) -> Node {
    let id = o.get(Order::ID);
    let cancel = confirm(
        Expr::concat([Expr::lit("Cancel order #"), id.clone(), Expr::lit("?")]),
        event::<Orders>("cancel").with(id.clone()),
    )
    .yes("Cancel order")
    .no("Keep it");
    cond(
        !o.get(Order::STATUS).eq(OrderStatus::Cancelled.value()),
        button("Cancel")
            .class("cancel")
            .attr("aria-label", Expr::concat([Expr::lit("Cancel order #"), id]))
            .on_click(cancel),
        None,
    )
}

/// The user's orders a page at a time, filtered by status and date, in either order.
fn history() -> Page {
    let h = var::<OrderHistory>;
    let statuses = std::iter::once(("", "All statuses")).chain(OrderStatus::CHOICES.iter().map(|c| (c.value, c.label)));
    let filters = el("div")
        .class("row filters card")
        .attr("role", "search")
        .attr("aria-label", "Filter orders")
        .children([
            field(
                "Status",
                select("status", statuses)
                    .id("status-filter")
                    .bind(h("status"), event::<OrderHistory>("filter_status")),
            ),
            field(
                "Placed since",
                date_input("since")
                    .id("since-filter")
                    .bind(h("since"), event::<OrderHistory>("filter_since")),
            ),
            field(
                "Newest first",
                checkbox("newest_first")
                    .id("newest-first")
                    .bind(h("newest_first"), event::<OrderHistory>("sort")),
            ),
        ]);
    let table = order_table(h("orders"));
    Page::new("/history")
        .title("Order history · Shop")
        .login_required()
        .on_load(handler::<OrderHistory>("refresh"))
        .body(column([
            heading(1, "Order history"),
            filters,
            cond(
                h("orders").len(),
                Node::from(table).id("history"),
                Some(paragraph("No orders match.").class("muted").id("no-history")),
            ),
            Node::from(
                Pagination::new(h("page"), h("pages"), handler::<OrderHistory>("go")).label("Order history pages"),
            )
            .id("history-pages"),
        ]))
}

/// Places an order with `orders.create`: the model's inputs, labels and validation; invalid
/// input lands in the `errors` var, next to its field.
fn new_order_form() -> Node {
    Node::from(
        ModelForm::<OrderState>::new([Order::TOTAL, Order::CURRENCY])
            .initial(Order::CURRENCY, "EUR")
            .submit(submit("Place order").id("place")),
    )
    .class("inline card")
    .id("new-order")
}

/// Every order, a page at a time: a stream, so the server keeps none of the rows however
/// many pages are shown.
fn feed() -> Page {
    Page::new("/feed")
        .title("All your orders · Shop")
        .login_required()
        .on_load(handler::<OrderFeed>("refresh"))
        .body(column([
            heading(1, "All your orders"),
            Node::from(order_table(var::<OrderFeed>("orders"))).id("feed"),
            cond(
                var::<OrderFeed>("more"),
                button("Load more").id("more").on_click(event::<OrderFeed>("more")),
                Some(paragraph("That is every order.").class("muted").id("all-shown")),
            ),
        ]))
}

fn order() -> Page {
    let detail = |o: &duet::ui::Item| {
        cond(
            o.get(Order::ID).eq(param("id")),
            el("dl").class("card detail").id("order").children([
                el("dt").child(text("Order")),
                el("dd").child(duet::ui::text!("#", o.get(Order::ID))),
                el("dt").child(text("Status")),
                el("dd").child(
                    text(o.get(Order::STATUS))
                        .class("status")
                        .attr("data-status", o.get(Order::STATUS)),
                ),
                el("dt").child(text("Total")),
                el("dd").child(text(money(o))),
            ]),
            None,
        )
    };
    Page::new("/orders/{id}")
        .title("Order · Shop")
        .login_required()
        .on_load(handler::<Orders>("refresh"))
        .body(column([
            heading(1, Expr::concat([Expr::lit("Order #"), param("id")])),
            el("div").child(foreach(var::<Orders>("orders"), detail)),
            link("← All orders", "/orders").id("back"),
        ]))
}

#[cfg(test)]
mod tests {
    use duet::state::Registry;
    use duet::ui::{Page, Ui, el, text, var};

    use crate::states::CounterState;

    fn registry() -> Registry {
        let mut registry = Registry::new();
        crate::states::register(&mut registry).unwrap();
        registry
    }

    #[test]
    fn the_pages_fit_the_states() {
        let mut registry = registry();
        let ui = super::ui();
        ui.register_on_load(&mut registry).unwrap();
        let compiled = ui.compile(&registry).unwrap();
        assert_eq!(compiled.pages().len(), 11, "six shop pages and five account pages");
        assert!(compiled.page_for("/orders/7").unwrap().requires_login());
        assert!(compiled.page_for("/account").unwrap().requires_login());
        assert!(!compiled.page_for("/reset-password").unwrap().requires_login());
    }

    #[test]
    fn a_typo_names_the_page_and_the_component() {
        let typo =
            Page::new("/").body(el("section").child(el("p").child(text(var::<CounterState>("cuont")).id("count"))));
        let error = Ui::new("Shop")
            .layout(super::layout)
            .page(typo)
            .compile(&registry())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "page /: component `div > main > section > p > span[count] > text` reads counter.cuont, which does \
             not exist (vars: count)"
        );
    }
}
