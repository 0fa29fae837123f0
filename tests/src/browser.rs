//! A real Chromium driven through WebDriver, for the end-to-end tests of the web pages.
//!
//! Each [`Browser`] runs a chromedriver of its own on a free port, so test binaries running in
//! parallel never share one, and each session gets a fresh profile: no cookies or storage
//! leak from one session into the next.

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const FIX: &str = "cargo xtask test installs chromium and chromium-driver";
/// How long chromedriver may take to listen, and a page to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

/// A running chromedriver and the profiles of its sessions; killed and removed when dropped.
pub struct Browser {
    driver: Child,
    url: String,
    profiles: TempDir,
    sessions: AtomicUsize,
}

/// The viewport a session opens with, so pages are checked at both ends of the layout.
#[derive(Clone, Copy, Debug)]
pub enum Screen {
    /// 360×800 with touch, as a common Android phone.
    Phone,
    /// 1280×900.
    Desktop,
}

impl Browser {
    /// Starts chromedriver on a free localhost port and waits until it accepts connections.
    pub async fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free localhost port")
            .port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            // Its own process group, which Chromium's processes join, to kill them all at once.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {CHROMEDRIVER}: {error}. Fix: {FIX}"));
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            let exited = driver.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let _ = driver.kill();
                panic!(
                    "{CHROMEDRIVER} does not listen on port {port} (exit: {exited:?}). Fix: {FIX}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Browser {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            profiles: TempDir::new().expect("a temporary directory for browser profiles"),
            sessions: AtomicUsize::new(0),
        }
    }

    /// A new headless Chromium session with this viewport and a fresh profile.
    pub async fn session(&self, screen: Screen) -> Client {
        let (width, height, mobile) = match screen {
            Screen::Phone => (360, 800, true),
            Screen::Desktop => (1280, 900, false),
        };
        let profile = self
            .profiles
            .path()
            .join(self.sessions.fetch_add(1, Ordering::Relaxed).to_string());
        let Value::Object(capabilities) = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    // As root, or in a container, Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    // /dev/shm is small in containers; Chromium crashes when it fills.
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    // No calls home: tests see only the traffic their pages make.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
                // The window size alone does not set the viewport: headless windows are at
                // least 500 px wide and keep room for a toolbar.
                "mobileEmulation": {
                    "deviceMetrics": {
                        "width": width,
                        "height": height,
                        "pixelRatio": 1,
                        "mobile": mobile,
                        "touch": mobile,
                    },
                },
            },
        }) else {
            unreachable!("a JSON object literal")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| {
                panic!("chromedriver cannot start {CHROMIUM}: {error}. Fix: {FIX}")
            })
    }
}

impl Drop for Browser {
    /// Kills chromedriver and the Chromiums it started (a session still open would otherwise
    /// outlive the test), before the profiles are removed.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// Saves the window as `<name>.png` under `COSOUND_TEST_SCREENSHOT_DIR` (by default
/// `target/screenshots`), to look at what a test saw; returns its path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = std::env::var_os("COSOUND_TEST_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    let path = dir.join(format!("{name}.png"));
    let png = client
        .screenshot()
        .await
        .unwrap_or_else(|error| panic!("cannot take the screenshot {name}: {error}"));
    std::fs::write(&path, png)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    path
}

/// The first element matching `css`, once there is one.
pub async fn wait_for(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element matches `{css}` within {PATIENCE:?}: {error}"))
}

/// The first element matching `css` whose text contains `needle`, once there is one.
pub async fn wait_for_text(client: &Client, css: &str, needle: &str) -> Element {
    wait_for_text_within(client, css, needle, PATIENCE).await
}

/// As [`wait_for_text`], for work that takes longer than a page's own reactions (an upload
/// that is analysed, say).
pub async fn wait_for_text_within(
    client: &Client,
    css: &str,
    needle: &str,
    patience: Duration,
) -> Element {
    let deadline = Instant::now() + patience;
    loop {
        let mut seen = Vec::new();
        // A page that re-renders may drop an element between finding it and reading its
        // text: such errors only mean "not yet".
        for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if let Ok(text) = element.text().await {
                if text.contains(needle) {
                    return element;
                }
                seen.push(text);
            }
        }
        if Instant::now() > deadline {
            panic!("no `{css}` contains {needle:?} within {patience:?}; their texts: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the value of the field matching `css` with `value`, as typed.
pub async fn fill(client: &Client, css: &str, value: &str) {
    let field = wait_for(client, css).await;
    field
        .clear()
        .await
        .unwrap_or_else(|error| panic!("cannot clear `{css}`: {error}"));
    field
        .send_keys(value)
        .await
        .unwrap_or_else(|error| panic!("cannot type into `{css}`: {error}"));
}

/// Clicks the element matching `css`, once there is one. A page that re-renders may replace
/// the element between finding and clicking it; then the new one is clicked.
pub async fn click(client: &Client, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match wait_for(client, css).await.click().await {
            Ok(_) => return,
            // The page redrew the element between finding and clicking: find it again, after
            // a moment for the redraw to finish.
            Err(CmdError::Standard(error))
                if error.error == ErrorStatus::StaleElementReference
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("cannot click `{css}`: {error}"),
        }
    }
}
