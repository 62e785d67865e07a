//! The token pages in a real browser: headless Chromium driven through WebDriver
//! (`chromedriver`, Debian's `chromium` and `chromium-driver`, which `.ci/run` installs) against
//! `warden serve` on loopback behind a gateway that signs people in. Every flow a person goes
//! through, and a screenshot of each page under `CARGO_TARGET_TMPDIR/ui-screenshots`.
//!
//! Without chromedriver the test says so and passes, unless `CI` is set: CI always runs it.

mod ui_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use ui_support::{GRACE, Gateway, HEIDI, Warden};

const HEIDI_ID: &str = "d338af1c-c53b-4e81-b375-0ac627d42710";
const RUN: &str = "app-engine:apps:run";
/// Heidi (SRE) may not read policies: a scope that would grant her nothing.
const POLICIES: &str = "iam:policies:read";

/// `chromedriver` on a free port, and the profile directory its browser uses.
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|dir| dir.join(program)).find(|p| p.is_file())
}

async fn start_driver() -> Option<Driver> {
    let Some(chromedriver) = installed("chromedriver") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing; .ci/run installs Debian's chromium and chromium-driver"
        );
        eprintln!("skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let profile = std::env::temp_dir().join(format!("warden-ui-chromium-{}", std::process::id()));
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), profile };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(driver)
}

async fn browser(driver: &Driver) -> Client {
    let mut args = vec![
        "--headless=new".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--disable-dev-shm-usage".to_string(),
        "--window-size=1280,900".to_string(),
        format!("--user-data-dir={}", driver.profile.display()),
    ];
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        args.push("--no-sandbox".to_string());
    }
    let mut options = json!({"args": args});
    if let Some(chromium) = installed("chromium") {
        options["binary"] = json!(chromium);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_string(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no `{css}` on the page")).text().await.unwrap()
}

/// Waits for the page whose `h1` is `heading` (a click may still be on its way there).
async fn expect_page(client: &Client, heading: &str) {
    let started = Instant::now();
    loop {
        let seen = match client.find(Locator::Css("h1")).await {
            Ok(h1) => h1.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if seen == heading {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "expected the page `{heading}`, still on `{seen}`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn page_text(client: &Client) -> String {
    text_of(client, "body").await
}

/// Opens the Actions menu of a token's row and follows one of its entries.
async fn row_action(client: &Client, token_id: &str, action: &str) {
    let row = client.find(Locator::Css(&format!("tr[data-token='{token_id}']"))).await.unwrap();
    row.find(Locator::Css("details.actions summary")).await.unwrap().click().await.unwrap();
    let menu = row.find(Locator::Css("details.actions ul")).await.unwrap();
    let entry =
        menu.find(Locator::XPath(&format!(".//*[self::a or self::button][normalize-space()='{action}']"))).await;
    entry.unwrap_or_else(|_| panic!("no action `{action}` for {token_id}")).click().await.unwrap();
}

async fn row_status(client: &Client, token_id: &str) -> String {
    text_of(client, &format!("tr[data-token='{token_id}'] .badge")).await
}

/// The id part of a token string.
fn id_of(token: &str) -> &str {
    &token[..token.rfind('.').unwrap()]
}

/// Fills in and sends the Generate form: a name, never expiring, for the whole account.
async fn generate(client: &Client, gateway: &Gateway, name: &str, scopes: &[&str]) {
    client.goto(&format!("{}/ui/tokens/new", gateway.origin())).await.unwrap();
    let field = client.find(Locator::Id("name")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(name).await.unwrap();
    client.find(Locator::Id("expires-never")).await.unwrap().click().await.unwrap();
    client.find(Locator::Id("resource-account")).await.unwrap().click().await.unwrap();
    for scope in scopes {
        let id = format!("scope-{}", scope.replace(':', "-"));
        client.find(Locator::Id(&id)).await.unwrap().click().await.unwrap();
    }
    client.find(Locator::XPath("//button[normalize-space()='Generate']")).await.unwrap().click().await.unwrap();
}

/// The secret on the one-time page, after the Copy button was pressed.
async fn copy_secret(client: &Client) -> String {
    let copy = client.wait().for_element(Locator::Css("button[data-copy]")).await.unwrap();
    copy.click().await.unwrap();
    assert_eq!(copy.text().await.unwrap(), "Copied");
    let secret = client.find(Locator::Id("secret")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(secret.starts_with("dt0s16.") && secret.len() == 96, "{secret}");
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_manage_their_tokens_in_a_browser() {
    let Some(driver) = start_driver().await else { return };
    let (gateway, listener) = Gateway::bind().await;
    let warden = Warden::start(&gateway.origin());
    gateway.forward_to(listener, warden.addr);
    let client = browser(&driver).await;
    let base = gateway.origin();

    // My platform tokens, empty; then the Generate form, which explains a scope Heidi lacks.
    gateway.sign_in(Some(HEIDI));
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    expect_page(&client, "My platform tokens").await;
    assert!(page_text(&client).await.contains("Signed in as heidi@acme.example"));
    client.find(Locator::LinkText("Generate new token")).await.unwrap().click().await.unwrap();
    expect_page(&client, "Generate platform token").await;
    let policies_row = format!("//tr[.//input[@value='{POLICIES}']]");
    let verdict = client.find(Locator::XPath(&policies_row)).await.unwrap().text().await.unwrap();
    assert!(verdict.contains("do not allow it: this scope would grant nothing"), "{verdict}");
    let run_row = client.find(Locator::XPath(&format!("//tr[.//input[@value='{RUN}']]"))).await.unwrap();
    assert!(run_row.text().await.unwrap().contains("allow it"));
    assert!(page_text(&client).await.contains("A scope grants only what the owner's policies allow"));
    // The owners offered: Heidi and the one service user her policies let her act for.
    let owners: Vec<String> = futures_text(&client, "#owner option").await;
    assert_eq!(owners, ["Me (heidi@acme.example)", "ci-bot (service user)"]);
    client.set_window_size(1280, 1500).await.unwrap();
    screenshot(&client, "generate").await;
    client.set_window_size(1280, 900).await.unwrap();

    // Generate: shown once, copied, works on /v1/auth; the scope she lacks is named.
    generate(&client, &gateway, "CI reader", &[RUN, POLICIES]).await;
    expect_page(&client, "Copy your new token").await;
    let one_time_url = client.current_url().await.unwrap().to_string();
    let secret = copy_secret(&client).await;
    assert!(page_text(&client).await.contains("These scopes grant nothing today"), "the idle scope is explained");
    screenshot(&client, "one-time-secret").await;
    assert_eq!(warden.forward_auth(&secret, RUN, "staging").await, (200, "ok".to_string()));
    client.find(Locator::LinkText("Finish and exit")).await.unwrap().click().await.unwrap();
    expect_page(&client, "My platform tokens").await;
    let reader = id_of(&secret).to_string();
    assert_eq!(row_status(&client, &reader).await, "Active");
    assert!(!client.source().await.unwrap().contains(&secret), "the list never holds the secret");
    client.goto(&one_time_url).await.unwrap();
    expect_page(&client, "Nothing to show").await;
    assert!(!client.source().await.unwrap().contains(&secret), "a reload shows no secret");

    // Disable, with a confirmation that shows the id: refused at once on /v1/auth.
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    row_action(&client, &reader, "Disable").await;
    expect_page(&client, "Disable this token?").await;
    assert!(text_of(&client, ".confirm-ids").await.contains(&reader));
    screenshot(&client, "confirm-disable").await;
    client.find(Locator::XPath("//button[normalize-space()='Disable']")).await.unwrap().click().await.unwrap();
    expect_page(&client, "My platform tokens").await;
    assert!(page_text(&client).await.contains("Disabled 1 token."));
    assert_eq!(row_status(&client, &reader).await, "Disabled");
    assert_eq!(warden.forward_auth(&secret, RUN, "staging").await, (403, "token_disabled".to_string()));

    // Duplicate: the form prefilled from the original.
    row_action(&client, &reader, "Duplicate").await;
    expect_page(&client, "Duplicate platform token").await;
    let name = client.find(Locator::Id("name")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(name.as_deref(), Some("Duplicate of: CI reader"));
    for scope in [RUN, POLICIES] {
        let id = format!("scope-{}", scope.replace(':', "-"));
        assert!(client.find(Locator::Id(&id)).await.unwrap().is_selected().await.unwrap(), "{scope} is prefilled");
    }
    assert!(client.find(Locator::Id("expires-never")).await.unwrap().is_selected().await.unwrap());
    assert!(text_of(&client, "#owner").await.contains("a duplicate has the original's owner"));
    client.find(Locator::XPath("//button[normalize-space()='Duplicate']")).await.unwrap().click().await.unwrap();
    let duplicate = copy_secret(&client).await;
    assert_eq!(warden.forward_auth(&duplicate, RUN, "staging").await, (200, "ok".to_string()));
    let audit = warden.audit(HEIDI);
    assert!(audit.contains(&format!("duplicate  {reader} → {}  ok", id_of(&duplicate))), "{audit}");

    // Rotate with an overlap: the proposed name has today's date; both tokens work until the
    // old one's time.
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    row_action(&client, id_of(&duplicate), "Rotate").await;
    expect_page(&client, "Rotate platform token").await;
    let proposed = client.find(Locator::Id("name")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert_eq!(proposed, format!("Duplicate of: CI reader {}", Utc::now().format("%Y-%m-%d")));
    screenshot(&client, "rotate").await;
    client.find(Locator::Id("old-at")).await.unwrap().click().await.unwrap();
    let overlap_end = (Utc::now() + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M").to_string();
    let set = "document.getElementById('old-expires-at').value = arguments[0];";
    client.execute(set, vec![json!(overlap_end)]).await.unwrap();
    client.find(Locator::XPath("//button[normalize-space()='Rotate']")).await.unwrap().click().await.unwrap();
    let rotated = copy_secret(&client).await;
    assert_eq!(warden.forward_auth(&rotated, RUN, "staging").await, (200, "ok".to_string()));
    assert_eq!(warden.forward_auth(&duplicate, RUN, "staging").await, (200, "ok".to_string()), "inside the overlap");
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    let old_expiry =
        text_of(&client, &format!("tr[data-token='{}'] td[data-label='Expires']", id_of(&duplicate))).await;
    assert_eq!(old_expiry.split_whitespace().collect::<Vec<_>>(), overlap_end.split('T').collect::<Vec<_>>());
    // The rotated-out token works until then, but is neither duplicated nor rotated again (D31).
    let menu = format!("tr[data-token='{}'] details.actions", id_of(&duplicate));
    client.find(Locator::Css(&format!("{menu} summary"))).await.unwrap().click().await.unwrap();
    let offered = text_of(&client, &format!("{menu} ul")).await;
    assert!(offered.contains("Disable") && !offered.contains("Duplicate") && !offered.contains("Rotate"), "{offered}");

    // The 11th token is refused, with the limit's message beside the owner.
    for n in 0..7 {
        warden.cli_token(HEIDI, &format!("filler {n}"), RUN);
    }
    generate(&client, &gateway, "one too many", &[RUN]).await;
    expect_page(&client, "Generate platform token").await;
    let refusal = text_of(&client, "#owner-error").await;
    assert!(refusal.contains("already has 10 tokens"), "{refusal}");
    assert_eq!(
        client.find(Locator::Id("name")).await.unwrap().prop("value").await.unwrap().as_deref(),
        Some("one too many")
    );
    screenshot(&client, "limit-refused").await;
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    screenshot(&client, "my-platform-tokens").await;

    // Grace, an account admin, disables one of Heidi's tokens, and sees the bulk confirmation.
    gateway.sign_in(Some(GRACE));
    client.goto(&format!("{base}/ui/manage")).await.unwrap();
    expect_page(&client, "Manage users tokens").await;
    client.find(Locator::Id("owner")).await.unwrap().select_by_label(HEIDI).await.unwrap();
    client.find(Locator::XPath("//button[normalize-space()='Filter']")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Css(&format!("#owner option[value='{HEIDI_ID}'][selected]"))).await.unwrap();
    let owners = futures_text(&client, "td[data-label='Owner']").await;
    assert!(owners.len() == 10 && owners.iter().all(|o| o == HEIDI), "{owners:?}");
    screenshot(&client, "manage-users-tokens").await;
    let rotated_id = id_of(&rotated).to_string();
    client.find(Locator::Id(&format!("select-{rotated_id}"))).await.unwrap().click().await.unwrap();
    client.find(Locator::Id(&format!("select-{reader}"))).await.unwrap().click().await.unwrap();
    client
        .find(Locator::XPath("//form[@id='bulk']//button[normalize-space()='Disable']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_page(&client, "Disable these 2 tokens?").await;
    let listed = text_of(&client, ".confirm-ids").await;
    assert!(listed.contains(&rotated_id) && listed.contains(&reader), "{listed}");
    screenshot(&client, "confirm-bulk").await;
    client.find(Locator::XPath("//button[normalize-space()='Disable']")).await.unwrap().click().await.unwrap();
    expect_page(&client, "Manage users tokens").await;
    assert!(page_text(&client).await.contains("Disabled 2 tokens."));
    assert_eq!(warden.forward_auth(&rotated, RUN, "staging").await, (403, "token_disabled".to_string()));

    // A form posted from another origin is refused, even with a form token taken from a page.
    let stolen = ui_support::form_token(&client.source().await.unwrap());
    let evil = evil_site(&format!("{base}/ui/change"), &stolen, &rotated_id).await;
    client.goto(&evil).await.unwrap();
    client.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    expect_page(&client, "Form refused").await;
    assert!(page_text(&client).await.contains("was not sent from a page of"));
    assert_eq!(warden.forward_auth(&rotated, RUN, "staging").await, (403, "token_disabled".to_string()), "not enabled");

    // Straight to warden, not through the gateway: nobody is signed in.
    client.goto(&format!("http://{}/ui/tokens", warden.addr)).await.unwrap();
    expect_page(&client, "Not signed in").await;

    // On a narrow screen the table reads as cards.
    gateway.sign_in(Some(HEIDI));
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&format!("{base}/ui/tokens")).await.unwrap();
    let cell = client.find(Locator::Css("td[data-label='Name']")).await.unwrap();
    assert_eq!(cell.css_value("display").await.unwrap(), "grid", "cells stack with their labels");
    screenshot(&client, "my-platform-tokens-narrow").await;

    client.close().await.unwrap();
    for file in warden.db_files() {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for token in [&secret, &duplicate, &rotated] {
            let secret_part = &token[token.rfind('.').unwrap() + 1..];
            assert!(!bytes.windows(secret_part.len()).any(|w| w == secret_part.as_bytes()), "{}", file.display());
        }
    }
    let log = warden.log();
    assert!(![&secret, &duplicate, &rotated].iter().any(|t| log.contains(&t[t.rfind('.').unwrap()..])), "{log}");
}

/// The texts of every element matching `css`.
async fn futures_text(client: &Client, css: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        texts.push(element.text().await.unwrap());
    }
    texts
}

/// A page on another origin with a form that posts to the token pages: its URL.
async fn evil_site(target: &str, form_token: &str, token_id: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let page = format!(
        "<!DOCTYPE html><title>win a prize</title><form method=post action='{target}'>\
         <input type=hidden name=form_token value='{form_token}'><input type=hidden name=action value=enable>\
         <input type=hidden name=id value='{token_id}'><input type=hidden name=from value=manage>\
         <button>Claim</button></form>"
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    url
}
