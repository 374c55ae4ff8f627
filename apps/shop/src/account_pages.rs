//! The shop's account pages: sign up, confirm an address, forgot and reset a password, and
//! the account's settings. Each form posts to a framework flow under `/accounts/`; the
//! mailed links open `/verify` and `/reset-password` with `?token=…`.

use duet::ui::{Page, column, el, field, form, heading, input_kind, link, paragraph, post, row, submit, user};

/// Every account page.
pub fn pages() -> [Page; 5] {
    [signup(), verify(), forgot_password(), reset_password(), account()]
}

fn signup() -> Page {
    Page::new("/signup").title("Sign up · Shop").body(column([
        heading(1, "Sign up"),
        form([
            field(
                "Username",
                input_kind("username", "text")
                    .attr("autocomplete", "username")
                    .attr("required", true),
            ),
            field(
                "Email",
                input_kind("email", "email")
                    .attr("autocomplete", "email")
                    .attr("required", true),
            ),
            field(
                "Password",
                input_kind("password", "password")
                    .attr("autocomplete", "new-password")
                    .attr("required", true),
            ),
            submit("Sign up").id("signup-submit"),
        ])
        .class("card stack")
        .id("signup-form")
        .on_submit(post("/accounts/signup/")),
        paragraph("Already have an account? ").child(link("Log in", "/login")),
    ]))
}

fn verify() -> Page {
    Page::new("/verify").title("Confirm your address · Shop").body(column([
        heading(1, "Confirm your address"),
        form([
            paragraph("Confirm the address this link was sent to."),
            submit("Confirm").id("verify-submit"),
        ])
        .class("card stack")
        .id("verify-form")
        // Signed up, or the new address confirmed: the account page shows who and which address.
        .on_submit(post("/accounts/verify/").with_query("token").then("/account")),
    ]))
}

fn forgot_password() -> Page {
    Page::new("/forgot-password")
        .title("Forgot your password · Shop")
        .body(column([
            heading(1, "Forgot your password?"),
            form([
                field(
                    "Email",
                    input_kind("email", "email")
                        .attr("autocomplete", "email")
                        .attr("required", true),
                ),
                submit("Send me a link").id("forgot-submit"),
            ])
            .class("card stack")
            .id("forgot-form")
            .on_submit(post("/accounts/password/reset/")),
        ]))
}

fn reset_password() -> Page {
    Page::new("/reset-password")
        .title("Choose a new password · Shop")
        .body(column([
            heading(1, "Choose a new password"),
            form([
                field(
                    "New password",
                    input_kind("password", "password")
                        .attr("autocomplete", "new-password")
                        .attr("required", true),
                ),
                submit("Set password").id("reset-submit"),
            ])
            .class("card stack")
            .id("reset-form")
            .on_submit(post("/accounts/password/reset/confirm/").with_query("token")),
            paragraph("Then ").child(link("log in", "/login")),
        ]))
}

fn account() -> Page {
    Page::new("/account")
        .title("Your account · Shop")
        .login_required()
        .body(column([
            heading(1, "Your account"),
            el("p").child(duet::ui::text!(
                "Signed in as ",
                user("username"),
                " (",
                user("email"),
                ")"
            )),
            form([
                heading(2, "Change your password"),
                field(
                    "Current password",
                    input_kind("old_password", "password").attr("autocomplete", "current-password"),
                ),
                field(
                    "New password",
                    input_kind("password", "password").attr("autocomplete", "new-password"),
                ),
                submit("Change password").id("password-submit"),
            ])
            .class("card stack")
            .id("password-form")
            .on_submit(post("/accounts/password/change/")),
            form([
                heading(2, "Change your email"),
                field("New email", input_kind("email", "email").attr("autocomplete", "email")),
                submit("Send a confirmation link").id("email-submit"),
            ])
            .class("card stack")
            .id("email-form")
            .on_submit(post("/accounts/email/change/")),
            form([
                heading(2, "Sessions"),
                row([submit("Log out everywhere else").id("logout-everywhere")]),
            ])
            .class("card stack")
            .id("sessions-form")
            .on_submit(post("/accounts/logout-everywhere/")),
            el("p").child(link("Forgot your password?", "/forgot-password")),
        ]))
}
