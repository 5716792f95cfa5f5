//! `trident project schedule --format kubernetes`: the YAML parsed and checked for what a
//! cluster needs (schedule, image, command, telemetry, volume, resources, policies).

use serde_json::Value;

use crate::support::Fixture;

/// The YAML documents of `text`, as JSON values.
fn documents(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .skip(1)
        .map(|doc| yaml_serde::from_str::<Value>(doc).unwrap_or_else(|e| panic!("{e}:\n{doc}")))
        .collect()
}

fn nightly(orchestration: &str) -> Fixture {
    Fixture::empty().file(
        "agent.tml",
        &format!(
            "trident: \"0.1\"\nname: Nightly Report\nnodes:\n  input: {{type: input}}\n{orchestration}"
        ),
    )
}

#[test]
fn a_cronjob_with_its_volume_ready_to_apply() {
    let f = nightly(
        "orchestration:\n  schedule: {cron: \"0 3 * * *\"}\n  depends_on:\n    - {workflow: upstream, signal: ready}\n",
    );
    let out = f.run(&[
        "project",
        "schedule",
        "--format",
        "kubernetes",
        "--image",
        "ghcr.io/acme/nightly:1.2",
    ]);
    out.code(0);
    assert!(
        out.stdout.starts_with("# Trident workflow"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("# - depends_on: the run waits for signal:upstream.ready"),
        "{}",
        out.stdout
    );
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 2, "{}", out.stdout);
    let claim = &docs[0];
    assert_eq!(claim["kind"], "PersistentVolumeClaim");
    assert_eq!(claim["metadata"]["name"], "trident-nightly-report-state");
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteOnce");

    let cron = &docs[1];
    assert_eq!(cron["apiVersion"], "batch/v1");
    assert_eq!(cron["kind"], "CronJob");
    assert_eq!(cron["metadata"]["name"], "trident-nightly-report");
    assert_eq!(cron["spec"]["schedule"], "0 3 * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let job = &cron["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["backoffLimit"], 2);
    let pod = &job["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/acme/nightly:1.2");
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command[..4], ["trident", "project", "run", "/project"]);
    let joined = command.join(" ");
    assert!(
        joined.contains("--wait-for signal:upstream.ready"),
        "{joined}"
    );
    assert!(
        joined.contains("--telemetry --telemetry-format jsonl --telemetry-stdout"),
        "{joined}"
    );
    let env = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))["value"]
            .clone()
    };
    assert_eq!(env("TRIDENT_TELEMETRY_OTLP"), "true");
    // Kubernetes reads YAML 1.1: an env value it would take for a boolean must be quoted.
    let yaml_1_1_bools = ["y", "n", "yes", "no", "on", "off", "true", "false"];
    for line in out.stdout.lines() {
        if let Some(value) = line.trim().strip_prefix("value: ") {
            assert!(
                !yaml_1_1_bools.contains(&value.to_ascii_lowercase().as_str()),
                "unquoted {line}"
            );
        }
    }
    // The workflow's own name (as in its spans), percent-encoded as the OTel variable wants.
    assert_eq!(
        env("OTEL_RESOURCE_ATTRIBUTES"),
        "trident.workflow=Nightly%20Report"
    );
    assert!(
        env("OTEL_EXPORTER_OTLP_ENDPOINT")
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert_eq!(
        container["volumeMounts"][0]["mountPath"],
        "/project/.trident"
    );
    assert_eq!(container["volumeMounts"][0]["name"], "state");
    assert_eq!(pod["volumes"][0]["name"], "state");
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "trident-nightly-report-state"
    );
    assert_eq!(pod["securityContext"]["fsGroup"], 10001);
}

#[test]
fn a_job_without_a_schedule_and_the_placeholder_image() {
    let f = nightly("");
    let out = f.run(&["project", "schedule", "-f", "kubernetes"]);
    out.code(0);
    let docs = documents(&out.stdout);
    let job = &docs[1];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["backoffLimit"], 2);
    assert!(job["spec"].get("schedule").is_none());
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/trident-nightly-report:latest"
    );
    let bad = f.run(&["project", "schedule", "-f", "kubernetes", "--image", " "]);
    bad.code(2);
    assert!(bad.stderr.contains("--image"), "{}", bad.stderr);
}
