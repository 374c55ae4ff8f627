//! The SPA shell: the HTML document the catch-all serves for page paths.

use crate::Assets;

/// What the shell document holds: a title, stylesheets and scripts from the [`Assets`], and
/// a body. The CSRF token is put in a `<meta name="csrf-token">` tag for the runtime.
#[derive(Debug, Clone)]
pub struct SpaShell {
    title: String,
    stylesheets: Vec<String>,
    scripts: Vec<String>,
    body: String,
}

impl SpaShell {
    /// A shell titled `title` with an empty `<div id="app">`.
    pub fn new(title: &str) -> SpaShell {
        SpaShell {
            title: title.to_owned(),
            stylesheets: Vec::new(),
            scripts: Vec::new(),
            body: r#"<div id="app"></div>"#.into(),
        }
    }

    /// Links the stylesheet registered in [`Assets`] under `logical_name`.
    pub fn stylesheet(mut self, logical_name: &str) -> SpaShell {
        self.stylesheets.push(logical_name.to_owned());
        self
    }

    /// Loads the ES module registered in [`Assets`] under `logical_name`.
    pub fn script(mut self, logical_name: &str) -> SpaShell {
        self.scripts.push(logical_name.to_owned());
        self
    }

    /// Replaces the body's HTML (trusted: written by the app, not by users).
    pub fn body(mut self, html: &str) -> SpaShell {
        self.body = html.to_owned();
        self
    }

    /// The document, with `csrf_token` in its meta tag; asset names resolve through `assets`.
    pub fn render(&self, assets: &Assets, csrf_token: &str) -> String {
        self.render_page(assets, csrf_token, None, "")
    }

    /// The document for one page: `title` instead of the shell's own (when given) and
    /// `extra_head` (trusted HTML: the runtime's script and the app spec's URL) at the end of
    /// `<head>`.
    pub fn render_page(&self, assets: &Assets, csrf_token: &str, title: Option<&str>, extra_head: &str) -> String {
        let mut head = String::new();
        for name in &self.stylesheets {
            if let Some(url) = assets.url(name) {
                head.push_str(&format!(
                    "  <link rel=\"stylesheet\" href=\"{}\">\n",
                    html_escape::encode_double_quoted_attribute(url)
                ));
            }
        }
        for name in &self.scripts {
            if let Some(url) = assets.url(name) {
                head.push_str(&format!(
                    "  <script type=\"module\" src=\"{}\"></script>\n",
                    html_escape::encode_double_quoted_attribute(url)
                ));
            }
        }
        head.push_str(extra_head);
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
             <meta name=\"csrf-token\" content=\"{token}\">\n  <title>{title}</title>\n{head}</head>\n\
             <body>\n{body}\n</body>\n</html>\n",
            token = html_escape::encode_double_quoted_attribute(csrf_token),
            title = html_escape::encode_text(title.unwrap_or(&self.title)),
            body = self.body,
        )
    }

    /// Every logical asset name the shell refers to (checked at start-up).
    pub fn asset_names(&self) -> impl Iterator<Item = &str> {
        self.stylesheets.iter().chain(&self.scripts).map(String::as_str)
    }
}
