//! The console in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromedriver) with fantoccini. A reviewer edits and approves a
//! held draft and sees it delivered, rejects another, works the queue from
//! the keyboard, blocks an author, has a hostile reply refused and corrects
//! a message's reading on its page; sales moves a lead to qualified and is
//! refused the queue.
//! Screenshots of the queue and the dashboard are saved as artifacts.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, held_question, message, post_settled, Backend, TestApp, WAIT};
use fantoccini::{Client, ClientBuilder, Locator};
use replyd::domain::Role;
use serde_json::{json, Value};

struct Browser {
    client: Client,
    driver: Child,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(app: &TestApp) -> Browser {
        let port = free_port();
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so Chromium goes down with it.
                .process_group(0)
                .spawn()
                .expect("chromedriver runs (tests/run installs Debian's chromium-driver)")
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run",
                    "--window-size=1366,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // Two rustls crypto back ends are compiled in; choose one explicitly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("Chromium starts under chromedriver");
        Browser {
            client,
            driver,
            base: format!("http://{}", app.addr),
            _profile: profile,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// What a form field holds now.
    async fn value(&self, selector: &str) -> Option<String> {
        self.css(selector).await.prop("value").await.unwrap()
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(selector))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no `{selector}` on {}: {e}", self.path().await),
        }
    }

    /// The page's main text. A page that is still being replaced (after a
    /// click) answers "stale element"; ask the new one.
    async fn text(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.css("main").await.text().await {
                Ok(text) => return text,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("retrying the page text: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no page text: {e}"),
            }
        }
    }

    /// Reloads until the page says `what`.
    async fn wait_for_text(&self, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.text().await.contains(what) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{what}` never appeared on {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.client.refresh().await.unwrap();
        }
    }

    async fn sign_in(&self, token: &str) {
        self.goto("/login").await;
        self.css("#token").await.send_keys(token).await.unwrap();
        self.css("form[action='/login'] button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + WAIT;
        while self.path().await == "/login" {
            assert!(
                Instant::now() < deadline,
                "sign-in did not leave the login page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn sign_out(&self) {
        self.css("form.who button").await.click().await.unwrap();
        self.css("#token").await;
    }

    /// Saves a screenshot where cargo keeps test artifacts.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    async fn keys(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group (Chromium too), then chromedriver itself in case
        // the group kill was refused, so `wait` cannot block.
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn review_of(app: &TestApp, token: &str, status: &str, message_id: &str) -> Option<Value> {
    let (_, body) = app
        .get_json(token, &format!("/v1/reviews?status={status}"))
        .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["message_id"] == message_id)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_and_sales_work_in_the_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let sales = app.token(Role::Sales).await;
    let viewer = app.token(Role::Viewer).await;

    let (norway, _) = held_question(
        &app,
        &ingest,
        &viewer,
        "b-1",
        "Do you ship your bikes to Norway?",
    )
    .await;
    let (iceland, _) = held_question(
        &app,
        &ingest,
        &viewer,
        "b-2",
        "Do you ship your bikes to Iceland?",
    )
    .await;
    let (sunday, _) = held_question(
        &app,
        &ingest,
        &viewer,
        "b-3",
        "Is the Utrecht shop open on Sunday?",
    )
    .await;
    let mut lead = message(
        "shop",
        "dm",
        "b-4",
        "We run three cafés and are looking for a partnership as a wholesale customer.",
    );
    lead["lang"] = json!("en");
    lead["author"] = json!({"id": "cafe-owner", "name": "Robin Peeters"});
    post_settled(&app, &ingest, &viewer, &lead).await;

    let browser = Browser::start(&app).await;

    // A reviewer signs in and lands on the queue.
    browser.sign_in(&reviewer).await;
    assert_eq!(browser.path().await, "/queue");
    let queue = browser.text().await;
    for text in ["Norway", "Iceland", "Sunday", "Held because"] {
        assert!(queue.contains(text), "{text} missing from the queue");
    }
    browser.screenshot("queue").await;

    // Edit and approve the first draft; see it delivered on its timeline.
    let norway_review = review_of(&app, &reviewer, "held", &norway).await.unwrap();
    let item = format!("#review-{}", norway_review["id"].as_str().unwrap());
    let draft = browser.css(&format!("{item} textarea.draft")).await;
    draft.clear().await.unwrap();
    let edited = "Yes, we ship to Norway! Delivery takes about a week.";
    draft.send_keys(edited).await.unwrap();
    browser
        .css(&format!("{item} button.approve"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("Approved: the reply is on its way.")
        .await;
    browser.css("p.notice a").await.click().await.unwrap();
    // No connector: the reply is a dry run and reads as one, never as sent.
    browser.wait_for_text("Dry run, not sent: reply").await;
    assert!(browser.text().await.contains(edited));
    let approved = review_of(&app, &reviewer, "approved", &norway)
        .await
        .unwrap();
    assert_eq!(approved["reviewer"], "console:test-reviewer");
    assert_eq!(approved["draft"], edited);

    // Reject another with a reason.
    browser.goto("/queue").await;
    let iceland_review = review_of(&app, &reviewer, "held", &iceland).await.unwrap();
    let item = format!("#review-{}", iceland_review["id"].as_str().unwrap());
    browser
        .css(&format!("{item} input.reason"))
        .await
        .send_keys("We do not ship to Iceland; answered by phone.")
        .await
        .unwrap();
    browser
        .css(&format!("{item} button.reject"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("Rejected: nothing will be sent.")
        .await;
    let rejected = review_of(&app, &reviewer, "rejected", &iceland)
        .await
        .unwrap();
    assert_eq!(
        rejected["note"],
        "We do not ship to Iceland; answered by phone."
    );

    // The last one from the keyboard: j moves to it, a approves it.
    browser.goto("/queue").await;
    assert!(review_of(&app, &reviewer, "held", &sunday).await.is_some());
    browser.keys("ja").await;
    browser
        .wait_for_text("Approved: the reply is on its way.")
        .await;
    assert!(review_of(&app, &reviewer, "approved", &sunday)
        .await
        .is_some());
    assert!(browser.text().await.contains("Nothing is waiting"));

    // The workbench on a message's page: what a DM cannot take is greyed
    // out with the reason; a block runs dry without a connector and says
    // so; a hostile reply is refused on the page, its text kept; and the
    // model's reading is corrected.
    browser.goto(&format!("/messages/{sunday}")).await;
    let hide = browser.css("#act-hide").await;
    assert!(
        hide.attr("disabled").await.unwrap().is_some(),
        "a DM cannot be hidden"
    );
    assert!(browser
        .text()
        .await
        .contains("Hide: a DM cannot be hidden or shown again"));
    browser.css("#act-block").await.click().await.unwrap();
    browser
        .wait_for_text("Block: recorded as a dry run. No connector is configured")
        .await;
    let hostile = "Shut up, you stupid idiot.";
    browser
        .css("#reply-text")
        .await
        .send_keys(hostile)
        .await
        .unwrap();
    browser.css("#act-reply").await.click().await.unwrap();
    browser
        .wait_for_text("Not done: the reply fails the guardrails")
        .await;
    assert_eq!(browser.value("#reply-text").await.as_deref(), Some(hostile));
    browser
        .css("#fix-intent")
        .await
        .select_by_value("complaint")
        .await
        .unwrap();
    browser.css("#save-correction").await.click().await.unwrap();
    browser.wait_for_text("Correction saved").await;
    assert!(browser
        .text()
        .await
        .contains("Corrected by console:test-reviewer"));
    // A saved reply in the message's language fills the reply box, its
    // variables filled in for this message.
    let (_, detail) = app
        .get_json(&reviewer, &format!("/v1/messages/{sunday}"))
        .await;
    let lang = detail["message"]["lang"]
        .as_str()
        .map(|l| l.chars().take(2).collect::<String>())
        .filter(|l| ["nl", "en", "de", "fr", "es"].contains(&l.as_str()))
        .unwrap_or_else(|| "en".into());
    let admin = app.token(Role::Admin).await;
    let (status, answer) = app
        .post_json(
            &admin,
            "/v1/saved-replies",
            json!({"name": "Sunday", "lang": lang, "text": "Hi {{ name }}, we open at noon on Sundays."}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    browser.goto(&format!("/messages/{sunday}")).await;
    browser
        .css("#saved-reply")
        .await
        .select_by_value("0")
        .await
        .unwrap();
    assert_eq!(
        browser.value("#reply-text").await.as_deref(),
        Some("Hi Sam, we open at noon on Sundays.")
    );
    browser.screenshot("workbench").await;
    let (_, corrected) = app
        .get_json(&reviewer, &format!("/v1/messages/{sunday}"))
        .await;
    assert_eq!(corrected["correction"]["intent"], "complaint");
    assert!(corrected["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "block"
            && a["status"] == "dry_run"
            && a["requested_by"] == "console:test-reviewer"));

    browser.goto("/dashboard").await;
    let dashboard = browser.text().await;
    assert!(dashboard.contains("Time to first response"));
    assert!(dashboard.contains("Failed actions"));
    browser.screenshot("dashboard").await;
    browser.sign_out().await;

    // Sales sees the lead, qualifies it, and may not open the queue.
    browser.sign_in(&sales).await;
    assert_eq!(browser.path().await, "/leads");
    assert!(browser.text().await.contains("Robin Peeters"));
    browser.css(".lead-card a").await.click().await.unwrap();
    browser
        .css("#status")
        .await
        .select_by_value("qualified")
        .await
        .unwrap();
    browser
        .css("form.stack button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for_text("Lead: Robin Peeters").await;
    assert_eq!(
        browser.css("#lead-status").await.text().await.unwrap(),
        "qualified"
    );
    let (_, leads) = app.get_json(&sales, "/v1/leads?status=qualified").await;
    assert_eq!(leads["items"].as_array().unwrap().len(), 1, "{leads}");
    browser.screenshot("lead").await;
    browser.goto("/queue").await;
    assert!(browser.text().await.contains("Not for your role"));
    // Dropping the browser ends chromedriver and Chromium with it.
}

/// A token made in a hurry is the least privileged: the form's role starts
/// at viewer in the browser (whatever the markup says, this is what a
/// person sees and submits), and a token created without touching it is a
/// viewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_token_is_a_viewer_unless_someone_chooses_otherwise() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.token(Role::Admin).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&admin).await;
    browser.goto("/tokens").await;
    let role = browser.css("#t-role").await;
    assert_eq!(
        role.prop("value").await.unwrap().as_deref(),
        Some("viewer"),
        "the role a person sees first"
    );
    browser
        .css("#t-name")
        .await
        .send_keys("dashboard screen")
        .await
        .unwrap();
    browser
        .css("form[action='/tokens'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser.css("#new-token").await;
    let row_role = browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//tr[td[1]='dashboard screen']/td[2]"))
        .await
        .expect("the new token's row")
        .text()
        .await
        .unwrap();
    assert_eq!(row_role, "viewer");
}
