//! Provider behaviour seen from the CLI: retries, exit code 3, keys and base URLs.

use crate::support::Fixture;
use crate::support::fake_llm::{FakeLlm, FakeReply};

#[test]
fn retries_429_and_5xx_then_succeeds() {
    let fake = FakeLlm::start();
    fake.push_status(429)
        .push_status(503)
        .push_reply(FakeReply::text("ok").tokens(3, 1));
    let f = Fixture::new("hello").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["greeting"], "ok");
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn persistent_server_errors_exit_3() {
    let fake = FakeLlm::start();
    for _ in 0..4 {
        fake.push_status(500);
    }
    let f = Fixture::new("hello").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "-o", "json"]);
    out.code(3);
    assert_eq!(fake.requests().len(), 4, "one attempt and three retries");
    let v = out.json();
    assert_eq!(v["error"]["cause_type"], "ProviderError");
    assert_eq!(f.run_file("checkpoint.json")["status"], "failed");
}

#[test]
fn unauthorized_fails_at_once() {
    let fake = FakeLlm::start();
    fake.push_status(401);
    let f = Fixture::new("hello").llm(&fake);
    f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#])
        .code(3);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn missing_api_key_names_the_variable() {
    let f = Fixture::new("hello");
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "-o", "json"]);
    // Known before any node runs: refused then, nothing written.
    out.code(2);
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{}", out.stderr);
    assert!(out.stderr.contains("Prompt node 'greet'"), "{}", out.stderr);
    assert!(!f.join(".trident").exists());
}

#[test]
fn dotenv_supplies_the_key_and_base_url() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("from dotenv"));
    let f = Fixture::new("hello").file(
        ".env",
        &format!(
            "ANTHROPIC_API_KEY=sk-ant-dotenv-secret\nANTHROPIC_BASE_URL={}\n",
            fake.url()
        ),
    );
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(
        fake.requests()[0].header("x-api-key"),
        Some("sk-ant-dotenv-secret")
    );
}
