//! The token pages' routes under hostile HTTP: the sign-in header from a peer that is not the
//! gateway or sent twice, forms from another origin, replayed, forged or borrowed form tokens,
//! huge and malformed forms, and the one-time page. Raw HTTP/1.1 on loopback, so that anything
//! can be sent as it is; the gateway's requests come from 127.0.0.2, as in the browser test.

mod ui_support;

use std::process::Command;

use ui_support::{GATEWAY_ADDRESS, GRACE, HEIDI, USER_HEADER, Warden, form_token, send};

const ORIGIN: &str = "https://tokens.acme.example";
const CI_BOT_EMAIL: &str = "6f3105c0-e092-4073-a7ae-a09e09515d7c@service.sso.dynatrace.com";

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The page's words, without the markup.
    fn text(&self) -> String {
        words(&self.body)
    }

    /// The words of the page's `main`: what it says, without the header.
    fn main_text(&self) -> String {
        let main = self.body.split_once("<main id=\"main\">").map_or("", |(_, rest)| rest);
        words(main.split_once("</main>").map_or(main, |(main, _)| main))
    }
}

fn words(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace("&#39;", "'").replace("&quot;", "\"")
}

fn parse(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply { status, headers, body: body.to_string() }
}

/// A request to warden from `from` (`None`: 127.0.0.1, not the gateway) with extra header lines.
async fn call(warden: &Warden, from: Option<&str>, method: &str, path: &str, headers: &[String], body: &[u8]) -> Reply {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: tokens.acme.example\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    if method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    parse(&send(warden.addr, from, &bytes).await)
}

fn signed_in(user: &str) -> String {
    format!("{USER_HEADER}: {user}")
}

/// A page, as the gateway passes it on for `user`.
async fn get(warden: &Warden, user: &str, path: &str) -> Reply {
    call(warden, Some(GATEWAY_ADDRESS), "GET", path, &[signed_in(user)], b"").await
}

/// A form from a page of the public origin, as the gateway passes it on for `user`.
async fn post(warden: &Warden, user: &str, path: &str, extra: &[String], form: &str) -> Reply {
    let mut headers = vec![
        signed_in(user),
        format!("Origin: {ORIGIN}"),
        "Content-Type: application/x-www-form-urlencoded".to_string(),
    ];
    headers.extend_from_slice(extra);
    call(warden, Some(GATEWAY_ADDRESS), "POST", path, &headers, form.as_bytes()).await
}

fn generate_form(token: &str, name: &str) -> String {
    format!("form_token={token}&name={name}&expires=never&resource=account&owner=me&scope=app-engine%3Aapps%3Arun")
}

async fn fresh_form_token(warden: &Warden, user: &str) -> String {
    form_token(&get(warden, user, "/ui/tokens/new").await.body)
}

async fn token_count(warden: &Warden, user: &str) -> usize {
    get(warden, user, "/ui/tokens").await.body.matches("<tr data-token=").count()
}

#[tokio::test]
async fn the_user_header_counts_only_from_the_gateway_and_only_once() {
    let warden = Warden::start(ORIGIN);
    let mut answers = Vec::new();
    let cases: [(&str, Option<&str>, Vec<String>); 7] = [
        ("the header from a peer that is not the gateway", None, vec![signed_in(HEIDI)]),
        ("the header twice", Some(GATEWAY_ADDRESS), vec![signed_in(HEIDI), signed_in(GRACE)]),
        ("two people in one header", Some(GATEWAY_ADDRESS), vec![signed_in(&format!("{HEIDI}, {GRACE}"))]),
        ("no header from the gateway", Some(GATEWAY_ADDRESS), vec![]),
        ("a service user", Some(GATEWAY_ADDRESS), vec![signed_in(CI_BOT_EMAIL)]),
        ("someone not in the account", Some(GATEWAY_ADDRESS), vec![signed_in("mallory@evil.example")]),
        ("a user, in other letters", Some(GATEWAY_ADDRESS), vec![signed_in("Heidi@ACME.example")]),
    ];
    for (case, from, headers) in cases {
        let reply = call(&warden, from, "GET", "/ui/tokens", &headers, b"").await;
        assert_eq!(
            reply.header("content-security-policy").map(|csp| csp.starts_with("default-src 'self'")),
            Some(true)
        );
        if reply.status == 200 {
            let who = reply.text().split("Signed in as ").nth(1).and_then(|t| t.split(' ').next()).map(str::to_string);
            answers.push(format!("{case}: 200, signed in as {}", who.unwrap_or_default()));
        } else {
            assert!(!reply.body.contains("Signed in as"), "{case}: nobody is signed in");
            answers.push(format!("{case}: {} {}", reply.status, reply.main_text()));
        }
    }
    insta::assert_snapshot!(answers.join("\n"));
}

#[tokio::test]
async fn forms_are_taken_once_from_their_origin_with_a_form_token_of_the_same_person() {
    let warden = Warden::start(ORIGIN);
    let token = fresh_form_token(&warden, HEIDI).await;
    let form = generate_form(&token, "first");
    let type_header = "Content-Type: application/x-www-form-urlencoded".to_string();
    let refusals = [
        ("another origin", vec![signed_in(HEIDI), "Origin: https://evil.example".into(), type_header.clone()]),
        ("no origin at all", vec![signed_in(HEIDI), type_header.clone()]),
        ("a cross-site fetch", vec![signed_in(HEIDI), "Sec-Fetch-Site: cross-site".into(), type_header.clone()]),
        (
            "two origins",
            vec![signed_in(HEIDI), format!("Origin: {ORIGIN}"), format!("Origin: {ORIGIN}"), type_header.clone()],
        ),
    ];
    let mut answers = Vec::new();
    for (case, headers) in refusals {
        let reply = call(&warden, Some(GATEWAY_ADDRESS), "POST", "/ui/tokens", &headers, form.as_bytes()).await;
        assert_eq!(reply.status, 403, "{case}");
        answers.push(format!("{case}: {} {}", reply.status, reply.main_text()));
    }
    assert_eq!(token_count(&warden, HEIDI).await, 0, "nothing was made");

    // The same form from the right origin goes through once; sent again, it is refused.
    let made = post(&warden, HEIDI, "/ui/tokens", &[], &form).await;
    assert_eq!(made.status, 303, "{}", made.text());
    let replayed = post(&warden, HEIDI, "/ui/tokens", &[], &form).await;
    assert_eq!(replayed.status, 400);
    answers.push(format!("the same form again: {} {}", replayed.status, replayed.main_text()));
    assert_eq!(token_count(&warden, HEIDI).await, 1);

    // A form token is the person's own and cannot be altered.
    let graces = fresh_form_token(&warden, GRACE).await;
    let borrowed = post(&warden, HEIDI, "/ui/tokens", &[], &generate_form(&graces, "borrowed")).await;
    answers.push(format!("another person's form token: {} {}", borrowed.status, borrowed.main_text()));
    let mine = fresh_form_token(&warden, HEIDI).await;
    let altered = format!("{}{}", &mine[..mine.len() - 1], if mine.ends_with('0') { '1' } else { '0' });
    let forged = post(&warden, HEIDI, "/ui/tokens", &[], &generate_form(&altered, "forged")).await;
    answers.push(format!("an altered form token: {} {}", forged.status, forged.main_text()));
    let none = post(&warden, HEIDI, "/ui/tokens", &[], "name=none&expires=never&resource=account").await;
    answers.push(format!("no form token: {} {}", none.status, none.main_text()));
    assert_eq!((borrowed.status, forged.status, none.status), (400, 400, 400));
    assert_eq!(token_count(&warden, HEIDI).await, 1);

    // Sec-Fetch-Site: same-origin alone will do (a gateway that rewrites Origin).
    let same_site = ["Sec-Fetch-Site: same-origin".to_string(), type_header.clone(), signed_in(HEIDI)];
    let form = generate_form(&fresh_form_token(&warden, HEIDI).await, "second");
    let reply = call(&warden, Some(GATEWAY_ADDRESS), "POST", "/ui/tokens", &same_site, form.as_bytes()).await;
    assert_eq!(reply.status, 303);
    insta::assert_snapshot!(answers.join("\n"));
}

#[tokio::test]
async fn huge_and_malformed_forms_get_clean_refusals() {
    let warden = Warden::start(ORIGIN);
    let token = fresh_form_token(&warden, HEIDI).await;
    let huge = format!("form_token={token}&name={}", "x".repeat(70 * 1024));
    assert_eq!(post(&warden, HEIDI, "/ui/tokens", &[], &huge).await.status, 413);

    // Chunked, with no length announced: cut off at the limit all the same.
    let chunk = "a".repeat(16 * 1024);
    let mut body = String::new();
    for _ in 0..8 {
        body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    body.push_str("0\r\n\r\n");
    let request = format!(
        "POST /ui/tokens HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\nOrigin: {ORIGIN}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        signed_in(HEIDI)
    );
    let reply = parse(&send(warden.addr, Some(GATEWAY_ADDRESS), request.as_bytes()).await);
    assert_eq!(reply.status, 413);

    let json = call(
        &warden,
        Some(GATEWAY_ADDRESS),
        "POST",
        "/ui/tokens",
        &[signed_in(HEIDI), format!("Origin: {ORIGIN}"), "Content-Type: application/json".into()],
        br#"{"name": "x"}"#,
    )
    .await;
    assert_eq!(json.status, 415);

    let malformed = [
        format!(
            "form_token={}&name=%ZZ%&expires=never&resource=account&scope=%00%ff",
            fresh_form_token(&warden, HEIDI).await
        ),
        format!("form_token={}&name=a&name=b&expires=never&resource=account", fresh_form_token(&warden, HEIDI).await),
        format!(
            "form_token={}&{}",
            fresh_form_token(&warden, HEIDI).await,
            "scope=app-engine%3Aapps%3Arun&".repeat(2000)
        ),
        format!(
            "form_token={}&form_token={}",
            fresh_form_token(&warden, HEIDI).await,
            fresh_form_token(&warden, HEIDI).await
        ),
        "\u{0}\u{1}&&&==&=".to_string(),
    ];
    for form in &malformed {
        let reply = post(&warden, HEIDI, "/ui/tokens", &[], form).await;
        assert!((400..500).contains(&reply.status), "{} for {:.80}", reply.status, form);
    }
    let ids: String = (0..101).map(|n| format!("&id=dt0s16.{n:024}")).collect();
    let many = format!("form_token={}&action=disable&from=mine{ids}", fresh_form_token(&warden, HEIDI).await);
    let reply = post(&warden, HEIDI, "/ui/change", &[], &many).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("101 tokens at once is too many"), "{}", reply.text());
    assert_eq!(get(&warden, HEIDI, "/ui/tokens").await.status, 200, "the server goes on serving");
}

#[tokio::test]
async fn pages_quote_at_most_a_hundred_characters_of_what_was_sent() {
    let warden = Warden::start(ORIGIN);
    let long = "9".repeat(30_000);
    let form = format!(
        "form_token={}&name=n&expires=date&expires_on={long}&resource=account&owner=me&scope=app-engine%3Aapps%3Arun",
        fresh_form_token(&warden, HEIDI).await
    );
    let refused = post(&warden, HEIDI, "/ui/tokens", &[], &form).await;
    assert_eq!(refused.status, 400);
    let beside = refused.body.split("id=\"expiry-error\">").nth(1).expect("the message beside the field");
    let beside = beside.split("</p>").next().unwrap();
    assert_eq!(beside, format!("`{}…` is not a date; choose one, as YYYY-MM-DD", "9".repeat(100)));

    let id = format!("dt0s16{}", "Q".repeat(5_000));
    let form = format!("form_token={}&action=disable&from=mine&id={id}", fresh_form_token(&warden, HEIDI).await);
    let refused = post(&warden, HEIDI, "/ui/change", &[], &form).await;
    assert_eq!(refused.status, 404, "{}", refused.main_text());
    let text = refused.main_text();
    assert!(text.contains(&format!("{}…", &id[..100])), "{text:.400}");
    assert!(!text.contains(&id[..101]), "{text:.400}");
}

#[tokio::test]
async fn the_one_time_page_shows_a_new_secret_once_and_to_its_owner_only() {
    let warden = Warden::start(ORIGIN);
    let made =
        post(&warden, HEIDI, "/ui/tokens", &[], &generate_form(&fresh_form_token(&warden, HEIDI).await, "once")).await;
    let location = made.header("location").expect("a redirect to the one-time page").to_string();
    assert!(location.starts_with("/ui/tokens/shown/"), "{location}");

    // A link checker or prefetcher that asks for the headers only must not use the secret up.
    let head = call(&warden, Some(GATEWAY_ADDRESS), "HEAD", &location, &[signed_in(HEIDI)], b"").await;
    assert_eq!(head.status, 405, "HEAD leaves the secret for the GET");
    assert_eq!(head.header("allow"), Some("GET"));

    let stranger = get(&warden, GRACE, &location).await;
    assert_eq!(stranger.status, 410, "someone else sees nothing");
    assert!(!stranger.body.contains("dt0s16.") || !stranger.body.contains("id=\"secret\""));
    let shown = get(&warden, HEIDI, &location).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    assert_eq!(shown.header("referrer-policy"), Some("no-referrer"));
    let at = shown.body.find("id=\"secret\"").expect("the secret field");
    let secret = shown.body[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(secret.len(), 96);
    assert_eq!(warden.forward_auth(&secret, "app-engine:apps:run", "staging").await, (200, "ok".to_string()));

    let again = get(&warden, HEIDI, &location).await;
    assert_eq!(again.status, 410);
    assert!(!again.body.contains(&secret[secret.rfind('.').unwrap()..]));
    assert_eq!(token_count(&warden, HEIDI).await, 1, "a reload creates nothing");
    let list = get(&warden, HEIDI, "/ui/tokens").await;
    assert!(!list.body.contains(&secret[secret.rfind('.').unwrap()..]));
}

#[test]
fn the_pages_are_off_without_the_header_flag_and_the_flag_needs_trusted_proxies() {
    let tenant = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/example");
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--tenant", tenant, "--listen", "127.0.0.1:0", "--ui-user-header", "X-Forwarded-Email"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--trusted-proxies"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "serve",
            "--tenant",
            tenant,
            "--ui-user-header",
            "X-Forwarded-Email",
            "--trusted-proxies",
            "10.0.0.0/33",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the prefix length is 0 to 32"));
}

#[tokio::test]
async fn without_the_header_flag_there_are_no_pages() {
    let warden = Warden::start_without_pages();
    let reply = call(&warden, Some(GATEWAY_ADDRESS), "GET", "/ui/tokens", &[signed_in(HEIDI)], b"").await;
    assert_eq!(reply.status, 404);
    assert!(reply.body.contains("\"not_found\""), "{}", reply.body);
}

#[tokio::test]
async fn the_log_names_who_was_signed_in_and_a_wrong_address_says_where_the_pages_are() {
    let warden = Warden::start(ORIGIN);
    assert_eq!(get(&warden, HEIDI, "/ui/tokens").await.status, 200);
    let stranger = call(&warden, None, "GET", "/ui/tokens?from=stranger", &[signed_in(GRACE)], b"").await;
    assert_eq!(stranger.status, 401);

    let mistyped = get(&warden, HEIDI, "/ui/tokns").await;
    assert_eq!(mistyped.status, 404);
    assert!(mistyped.main_text().contains("there is no such page"), "{}", mistyped.main_text());
    assert!(mistyped.header("content-security-policy").is_some_and(|csp| csp.starts_with("default-src 'self'")));
    let api = call(&warden, None, "GET", "/tokens", &[], b"").await;
    assert_eq!(api.status, 404);
    assert!(api.body.contains("and the token pages under /ui/"), "{}", api.body);

    let started = std::time::Instant::now();
    let lines = loop {
        let log = warden.log();
        let lines: Vec<String> = log.lines().filter(|l| l.contains(" token=")).map(str::to_string).collect();
        if lines.len() >= 4 || started.elapsed() > std::time::Duration::from_secs(10) {
            break lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].contains("GET /ui/tokens 200 token=- user=heidi@acme.example decision="), "{}", lines[0]);
    assert!(
        lines[1].contains("GET /ui/tokens 401 token=- user=- "),
        "from a peer that is not the gateway: {}",
        lines[1]
    );
    assert!(lines[2].contains("GET /ui/tokns 404 token=- user=heidi@acme.example "), "{}", lines[2]);
    assert!(lines[3].contains("GET /tokens 404 token=- user=- "), "{}", lines[3]);
}

#[tokio::test]
async fn only_an_admin_turns_platform_tokens_off_and_then_none_are_generated() {
    let warden = Warden::start(ORIGIN);
    let switch_form = |token: &str| format!("form_token={token}&allowed=false");
    let manage = get(&warden, HEIDI, "/ui/manage").await;
    assert_eq!(manage.status, 403);
    assert!(manage.main_text().contains("platform-token:tokens:manage"), "{}", manage.main_text());
    let refused =
        post(&warden, HEIDI, "/ui/manage/switch", &[], &switch_form(&fresh_form_token(&warden, HEIDI).await)).await;
    assert_eq!(refused.status, 403);

    let page = get(&warden, GRACE, "/ui/manage").await;
    assert!(page.text().contains("Turn platform tokens off"));
    let off = post(&warden, GRACE, "/ui/manage/switch", &[], &switch_form(&form_token(&page.body))).await;
    assert_eq!((off.status, off.header("location")), (303, Some("/ui/manage?done=tokens_off")));
    assert!(get(&warden, GRACE, "/ui/manage?done=tokens_off").await.text().contains("Allow platform tokens"));

    let form = generate_form(&fresh_form_token(&warden, HEIDI).await, "blocked");
    let blocked = post(&warden, HEIDI, "/ui/tokens", &[], &form).await;
    assert_eq!(blocked.status, 403);
    assert!(
        blocked.main_text().contains("The token was not generated: account `acme` does not allow platform tokens"),
        "{}",
        blocked.main_text()
    );
    assert_eq!(token_count(&warden, HEIDI).await, 0);
}

/// The ids of the tokens the list shows, in its order.
fn listed_ids(list: &Reply) -> Vec<String> {
    list.body.split("data-token=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_string()).collect()
}

/// A row of the list, as words: its cells and the Actions it offers.
fn row_text(list: &Reply, id: &str) -> String {
    let row = list.body.split(&format!("data-token=\"{id}\"")).nth(1).unwrap();
    words(row.split("</tr>").next().unwrap())
}

#[tokio::test]
async fn a_duplicate_from_the_page_is_the_service_s_duplicate() {
    let warden = Warden::start(ORIGIN);
    post(&warden, HEIDI, "/ui/tokens", &[], &generate_form(&fresh_form_token(&warden, HEIDI).await, "original")).await;
    let original = listed_ids(&get(&warden, HEIDI, "/ui/tokens").await).remove(0);
    let path = format!("/ui/tokens/{original}/duplicate");
    let page = get(&warden, HEIDI, &path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("action=\"{path}\"")), "the form goes to the duplicate");
    assert!(page.body.contains("value=\"Duplicate of: original\""));
    assert!(page.main_text().contains("a duplicate has the original's owner"), "{}", page.main_text());

    // Edited before it is sent: the changes hold, and the audit names both tokens.
    let form = format!(
        "form_token={}&name=edited+copy&expires=never&resource=environments&environment=staging&scope=app-engine%3Aapps%3Arun",
        form_token(&page.body)
    );
    let made = post(&warden, HEIDI, &path, &[], &form).await;
    assert_eq!(made.status, 303, "{}", made.main_text());
    let ids = listed_ids(&get(&warden, HEIDI, "/ui/tokens").await);
    let copy = ids.iter().find(|id| **id != original).expect("the duplicate is listed").clone();
    let list = get(&warden, HEIDI, "/ui/tokens").await;
    let row = row_text(&list, &copy);
    assert!(row.starts_with("edited copy") && row.contains("app-engine:apps:run staging Never"), "{row}");
    assert!(warden.audit(HEIDI).contains(&format!("duplicate  {original} → {copy}  ok")), "{}", warden.audit(HEIDI));

    // Rotated out, with an overlap: still working, but neither duplicated nor rotated again,
    // and the list does not offer either.
    let rotate = get(&warden, HEIDI, &format!("/ui/tokens/{original}/rotate")).await;
    let overlap = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M");
    let form = format!(
        "form_token={}&name=next&expires=never&old_stops=at&old_expires_at={overlap}",
        form_token(&rotate.body)
    );
    assert_eq!(post(&warden, HEIDI, &format!("/ui/tokens/{original}/rotate"), &[], &form).await.status, 303);
    let list = get(&warden, HEIDI, "/ui/tokens").await;
    let actions = row_text(&list, &original);
    assert!(actions.contains("Active") && actions.contains("Disable"), "{actions}");
    assert!(!actions.contains("Duplicate") && !actions.contains("Rotate"), "{actions}");
    assert!(row_text(&list, &copy).contains("Duplicate"), "other tokens keep the action");

    let page = get(&warden, HEIDI, &path).await;
    let form = format!(
        "form_token={}&name=again&expires=never&resource=account&scope=app-engine%3Aapps%3Arun",
        form_token(&page.body)
    );
    let refused = post(&warden, HEIDI, &path, &[], &form).await;
    assert_eq!(refused.status, 409, "{}", refused.main_text());
    assert!(refused.main_text().contains("cannot be duplicated again"), "{}", refused.main_text());
    assert!(refused.body.contains("value=\"again\""), "what was typed stays");
    assert!(warden.audit(HEIDI).contains(&format!("duplicate  {original}  already_rotated")));
    assert_eq!(listed_ids(&get(&warden, HEIDI, "/ui/tokens").await).len(), 3, "nothing more was made");
}

#[tokio::test]
async fn a_refused_rotation_says_why_beside_the_field_it_concerns() {
    let warden = Warden::start(ORIGIN);
    post(&warden, HEIDI, "/ui/tokens", &[], &generate_form(&fresh_form_token(&warden, HEIDI).await, "old")).await;
    let list = get(&warden, HEIDI, "/ui/tokens").await;
    let id = list.body.split("data-token=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let path = format!("/ui/tokens/{id}/rotate");
    let page = get(&warden, HEIDI, &path).await;
    assert!(
        page.body.contains(&format!("value=\"old {}\"", chrono::Utc::now().format("%Y-%m-%d"))),
        "the proposed name"
    );
    let too_late = (chrono::Utc::now() + chrono::Duration::days(40)).format("%Y-%m-%dT%H:%M");
    let form =
        format!("form_token={}&name=new&expires=never&old_stops=at&old_expires_at={too_late}", form_token(&page.body));
    let refused = post(&warden, HEIDI, &path, &[], &form).await;
    assert_eq!(refused.status, 400, "{}", refused.main_text());
    let beside = refused.body.split("id=\"old-expires-error\">").nth(1).expect("the message beside the field");
    assert!(beside.starts_with("the old token can stop"), "{beside:.200}");
    assert!(refused.body.contains("value=\"new\""), "what was typed stays");
    assert_eq!(token_count(&warden, HEIDI).await, 1, "nothing was rotated");
}

#[tokio::test]
async fn a_page_number_past_every_page_shows_no_tokens() {
    let warden = Warden::start(ORIGIN);
    for page in ["18446744073709551615", "9223372036854775808", "999999999999"] {
        let reply = get(&warden, HEIDI, &format!("/ui/tokens?page={page}")).await;
        assert_eq!(reply.status, 200, "page {page}: {}", reply.main_text());
        assert!(reply.main_text().contains("No tokens match."), "{}", reply.main_text());
        let reply = get(&warden, GRACE, &format!("/ui/manage?page={page}")).await;
        assert_eq!(reply.status, 200, "page {page}: {}", reply.main_text());
    }
}

#[tokio::test]
async fn secrets_left_unseen_are_held_ten_per_person_at_most() {
    // A person who generates and deletes without ever opening the one-time page piles secrets
    // up in memory for five minutes each; another person's wait untouched.
    let warden = Warden::start(ORIGIN);
    let generate = |user: &'static str, name: String| {
        let warden = &warden;
        async move {
            let made =
                post(warden, user, "/ui/tokens", &[], &generate_form(&fresh_form_token(warden, user).await, &name))
                    .await;
            made.header("location").expect("a redirect to the one-time page").to_string()
        }
    };
    let graces = generate(GRACE, "grace's".to_string()).await;
    let mut pages = Vec::new();
    for n in 0..12 {
        pages.push(generate(HEIDI, format!("pile {n}")).await);
        let id = listed_ids(&get(&warden, HEIDI, "/ui/tokens").await).remove(0);
        let delete = format!("form_token={}&action=delete&from=mine&id={id}", fresh_form_token(&warden, HEIDI).await);
        assert_eq!(post(&warden, HEIDI, "/ui/change", &[], &delete).await.status, 303);
    }
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for page in &pages {
            statuses.push(get(&warden, HEIDI, page).await.status);
        }
        statuses
    };
    assert_eq!(statuses, [[410; 2].as_slice(), [200; 10].as_slice()].concat(), "the two oldest were let go");
    assert_eq!(get(&warden, GRACE, &graces).await.status, 200);
}
