//! The monitor's page in a real browser: `tests/browser/monitor.mjs` drives headless
//! Chromium (Debian's `chromium`) through playwright-core from npm. It opens a run's page
//! while the run's slow node is running and sees that node turn completed without a reload,
//! then saves a screenshot of the run page to `target/monitor-screenshot.png`.
//!
//! `.ci/run` installs both and sets `TRIDENT_TEST_BROWSER` (the folder whose
//! node_modules holds playwright-core) and `TRIDENT_TEST_CHROMIUM`; without them this test
//! prints SKIPPED.

use std::path::Path;
use std::process::Command;

#[test]
fn monitor_page_shows_a_node_turn_from_running_to_completed_without_reload() {
    let Some(playwright) = std::env::var_os("TRIDENT_TEST_BROWSER") else {
        eprintln!(
            "SKIPPED monitor browser test: set TRIDENT_TEST_BROWSER to a folder holding \
             node_modules/playwright-core (.ci/run does)"
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshot = root.join("target/monitor-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let chromium =
        std::env::var_os("TRIDENT_TEST_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into());
    let mut command = Command::new("node");
    command
        .arg(root.join("tests/browser/monitor.mjs"))
        .env("TRIDENT_BIN", env!("CARGO_BIN_EXE_trident"))
        .env("PLAYWRIGHT_CORE", playwright)
        .env("CHROMIUM", chromium)
        .env("SCREENSHOT", &screenshot);
    for (key, _) in std::env::vars() {
        if key.starts_with("TRIDENT_TELEMETRY") || key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let out = command
        .output()
        .expect("run node (Node.js is needed by the browser test)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("slow node turned completed without reload"),
        "{stdout}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
