//! A person at a browser, for the participant pages and the console over plain HTTP:
//! [`WebVisitor`] keeps the cookies the app sets (as a browser's jar does: by name and path,
//! dropped at `Max-Age=0`), sends them back, posts forms, and does not follow redirects, so a
//! test sees each answer. Also the sign-in links the app emails, read from its outbox.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{COOKIE, SET_COOKIE};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use crate::{Reply, TestApp};

/// A cookie as stored: its value and the path it is sent for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCookie {
    /// The value.
    pub value: String,
    /// Sent only for request paths under this one.
    pub path: String,
    /// The whole `Set-Cookie` line that set it, for checking its attributes.
    pub set_by: String,
}

/// A browser-like client of one app: a cookie jar and form posts.
pub struct WebVisitor {
    base: String,
    client: reqwest::Client,
    jar: Mutex<BTreeMap<String, StoredCookie>>,
}

impl WebVisitor {
    /// A visitor with an empty cookie jar.
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("client"),
            jar: Mutex::new(BTreeMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// The `Cookie` header for `url`, if any cookie applies.
    fn cookie_header(&self, url: &str) -> Option<String> {
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let jar = self.jar.lock().unwrap();
        let pairs: Vec<String> = jar
            .iter()
            .filter(|(_, c)| {
                path == c.path
                    || (path.starts_with(&c.path) && (c.path.ends_with('/') || path[c.path.len()..].starts_with('/')))
            })
            .map(|(name, c)| format!("{name}={}", c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn keep(&self, response: &reqwest::Response) {
        let mut jar = self.jar.lock().unwrap();
        for line in response.headers().get_all(SET_COOKIE) {
            let line = line.to_str().expect("a Set-Cookie header in ASCII").to_owned();
            let mut parts = line.split(';').map(str::trim);
            let (name, value) = parts
                .next()
                .and_then(|p| p.split_once('='))
                .expect("Set-Cookie starts with name=value");
            let mut path = "/".to_owned();
            let mut gone = false;
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.to_ascii_lowercase().as_str() {
                    "path" => path = val.to_owned(),
                    "max-age" => gone = val.parse::<i64>().is_ok_and(|s| s <= 0),
                    _ => {}
                }
            }
            if gone || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(
                    name.to_owned(),
                    StoredCookie {
                        value: value.to_owned(),
                        path,
                        set_by: line.clone(),
                    },
                );
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Reply {
        let request = match self.cookie_header(url) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request.send().await.expect("the request is answered");
        self.keep(&response);
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        Reply { status, headers, text }
    }

    /// `GET path` (or a whole URL) with the jar's cookies.
    pub async fn get(&self, path: &str) -> Reply {
        let url = self.url(path);
        self.send(self.client.get(&url), &url).await
    }

    /// Posts `fields` as an HTML form (`application/x-www-form-urlencoded`) with the jar's cookies.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let url = self.url(path);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().copied())
            .finish();
        let request = self
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request, &url).await
    }

    /// The cookie `name`, if the jar holds it.
    pub fn cookie(&self, name: &str) -> Option<StoredCookie> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Puts a cookie in the jar by hand (to replay an old one).
    pub fn set_cookie(&self, name: &str, value: &str, path: &str) {
        self.jar.lock().unwrap().insert(
            name.to_owned(),
            StoredCookie {
                value: value.to_owned(),
                path: path.to_owned(),
                set_by: String::new(),
            },
        );
    }
}

/// The anti-forgery token in a page's forms (`name="csrf" value="…"`).
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in the page:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// HTML text with the escapes the templates write (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&#x27;`, `&#x2f;`) turned back into characters, to look for sentences as a reader sees them.
pub fn plain(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The words of some markup as a person reads them: tags dropped, entities read, runs of
/// white space made one space.
pub fn words(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = plain(&text);
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    // A tag between a word and its punctuation leaves a space before it.
    out.replace(" ,", ",")
        .replace(" ;", ";")
        .replace(" .", ".")
        .replace(" :", ":")
}

/// The `<h1>` of a page, as read.
pub fn heading_of(html: &str) -> String {
    let start = html
        .find("<h1>")
        .map(|i| i + 4)
        .unwrap_or_else(|| panic!("no <h1> in:\n{html}"));
    let end = html[start..].find("</h1>").expect("</h1>") + start;
    plain(&html[start..end])
}

/// The sign-in link in the last sign-in email queued for `participant_id` (read from the outbox).
pub async fn sign_in_link_for(app: &TestApp, participant_id: i64) -> String {
    let row = entity::notification::Entity::find()
        .filter(entity::notification::Column::ParticipantId.eq(participant_id))
        .filter(entity::notification::Column::Kind.eq("sign_in_link"))
        .order_by_desc(entity::notification::Column::Id)
        .one(&app.db)
        .await
        .expect("the outbox can be read")
        .expect("a sign-in link was queued");
    row.payload["url"].as_str().expect("a url").to_owned()
}

/// Signs `participant` (as created) in through an organiser-sent link read from the outbox, as
/// a new visitor; returns the visitor and their page.
pub async fn signed_in(app: &TestApp, participant: &serde_json::Value) -> (WebVisitor, String) {
    let id = participant["id"].as_i64().expect("an id");
    let sent = app
        .post(&format!("/v1/participants/{id}/sign-in-link"), &serde_json::json!({}))
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let link = sign_in_link_for(app, id).await;
    let visitor = WebVisitor::new(app);
    let followed = visitor.get(&link).await;
    assert_eq!(followed.status, 303, "{}", followed.text);
    let page = visitor.get("/p").await;
    assert_eq!(page.status, 200, "{}", page.text);
    (visitor, page.text)
}

/// The sign-in links emailed to `participant_id` so far, oldest first (read from the outbox).
pub async fn links_sent_to(app: &TestApp, participant_id: i64) -> Vec<String> {
    entity::notification::Entity::find()
        .filter(entity::notification::Column::ParticipantId.eq(participant_id))
        .filter(entity::notification::Column::Kind.eq("sign_in_link"))
        .order_by_asc(entity::notification::Column::Id)
        .all(&app.db)
        .await
        .expect("the outbox can be read")
        .into_iter()
        .map(|row| row.payload["url"].as_str().expect("a url").to_owned())
        .collect()
}

/// The next sign-in link emailed to `participant_id` after the `seen` already sent (sign-in
/// requests are carried out just after they are answered, so it may take a moment), if one comes.
pub async fn link_sent_to(app: &TestApp, participant_id: i64, seen: usize) -> Option<String> {
    for _ in 0..50 {
        if let Some(link) = links_sent_to(app, participant_id).await.get(seen) {
            return Some(link.clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

/// Asks the console's sign-in form for a link for `person` (an organiser, as created) and
/// returns the link emailed to them, unfollowed. (A person is sent one link a minute: advance
/// the app's clock between two asks.)
pub async fn console_link(app: &TestApp, person: &serde_json::Value) -> String {
    let id = person["id"].as_i64().expect("an id");
    let seen = links_sent_to(app, id).await.len();
    let asked = WebVisitor::new(app)
        .post_form("/o/sign-in", &[("email", person["email"].as_str().expect("an email"))])
        .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    link_sent_to(app, id, seen)
        .await
        .expect("a link was emailed to the organiser")
}

/// An organiser (Priya Shah, made through the API) signed in to the console through the emailed
/// link, as a new visitor; with the organiser as created.
pub async fn console_organiser(app: &TestApp) -> (WebVisitor, serde_json::Value) {
    let lead = app
        .create_participant(
            serde_json::json!({"name": "Priya Shah", "email": "priya@network.example", "role": "organiser"}),
        )
        .await;
    let link = console_link(app, &lead).await;
    let visitor = WebVisitor::new(app);
    let followed = visitor.get(&link).await;
    assert_eq!(followed.status, 303, "{}", followed.text);
    (visitor, lead)
}

/// Posts `fields` from the page at `from` (which must answer 200) to `to`, with that page's
/// anti-forgery token, as its form would.
pub async fn submit(visitor: &WebVisitor, from: &str, to: &str, fields: &[(&str, &str)]) -> Reply {
    let page = visitor.get(from).await;
    assert_eq!(page.status, 200, "{from}: {}", page.text);
    let csrf = csrf_of(&page.text);
    let mut all = fields.to_vec();
    all.push(("csrf", &csrf));
    visitor.post_form(to, &all).await
}

/// Where a `303 See Other` sends the browser (failing the test for any other answer).
pub fn location(reply: &Reply) -> String {
    assert_eq!(reply.status, 303, "{}", reply.text);
    reply.headers["location"]
        .to_str()
        .expect("a Location in ASCII")
        .to_owned()
}
