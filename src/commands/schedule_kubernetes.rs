//! `trident project schedule --format kubernetes`: the objects that run the workflow in a
//! cluster, ready to `kubectl apply -f -`: a PersistentVolumeClaim for the project's
//! `.trident/` (run history, checkpoints, signals) and a CronJob on the manifest's
//! `orchestration.schedule.cron` (a Job when there is none).
//!
//! The container runs `trident project run /project` from an image holding Trident and the
//! project (see the `Dockerfile` and the README), with jsonl telemetry on stdout for the
//! cluster's log shipper and OTLP export to `$OTEL_EXPORTER_OTLP_ENDPOINT`. The YAML is
//! serialised from data, so it is always well-formed whatever the names.

use serde_json::{Value, json};

use crate::error::TridentError;

/// Where the project lives in the image.
pub const PROJECT_DIR: &str = "/project";

/// The user the image runs as (see the `Dockerfile`), who must be able to write the volume.
pub const RUN_AS_USER: u32 = 10001;

/// The OTLP endpoint written into the manifest, to be replaced by the cluster's collector.
pub const OTLP_ENDPOINT_PLACEHOLDER: &str = "http://otel-collector.observability:4318";

/// The image used without `--image`: a placeholder to replace.
pub fn default_image(workflow: &str) -> String {
    format!(
        "registry.example.com/trident-{}:latest",
        object_name(workflow)
    )
}

/// `workflow` as a Kubernetes object name part: lowercase letters, digits and `-`, starting
/// and ending with a letter or digit, at most 40 characters (a CronJob name may have 52).
pub fn object_name(workflow: &str) -> String {
    let mut name = String::new();
    for c in workflow.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.trim_matches('-').chars().take(40).collect();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "workflow".to_string()
    } else {
        name
    }
}

/// The YAML documents (a PersistentVolumeClaim, then a CronJob or a Job).
pub fn kubernetes_manifest(
    workflow: &str,
    cron: Option<&str>,
    wait_for: &[String],
    image: &str,
) -> Result<String, TridentError> {
    if image.trim().is_empty() || image.contains(char::is_whitespace) {
        return Err(TridentError::Validation(format!(
            "invalid value {image:?} for --image: expected an image reference such as \
             registry.example.com/trident-{}:1.0",
            object_name(workflow)
        )));
    }
    let name = format!("trident-{}", object_name(workflow));
    let claim = format!("{name}-state");
    let labels = json!({
        "app.kubernetes.io/name": "trident",
        "app.kubernetes.io/instance": name,
        "trident.dev/workflow": object_name(workflow),
    });
    let volume_claim = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "labels": labels},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    });
    let mut command: Vec<String> = ["trident", "project", "run", PROJECT_DIR, "--emit-signal"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for signal in wait_for {
        command.push("--wait-for".into());
        command.push(signal.clone());
    }
    command.extend(
        [
            "--telemetry",
            "--telemetry-format",
            "jsonl",
            "--telemetry-stdout",
        ]
        .map(String::from),
    );
    // `true` rather than `on` (both switch the export on): the YAML writer leaves `on`
    // unquoted, and Kubernetes' YAML 1.1 reader would take it for a boolean.
    let env = json!([
        {"name": "TRIDENT_TELEMETRY_OTLP", "value": "true"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": OTLP_ENDPOINT_PLACEHOLDER},
        {"name": "OTEL_SERVICE_NAME", "value": "trident"},
        {"name": "OTEL_RESOURCE_ATTRIBUTES",
         "value": format!("trident.workflow={}", percent_encode(workflow))},
    ]);
    let pod = json!({
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
            },
            "containers": [{
                "name": "trident",
                "image": image,
                "workingDir": PROJECT_DIR,
                "command": command,
                "env": env,
                // API keys (ANTHROPIC_API_KEY, OPENAI_API_KEY...) from a Secret, if present.
                "envFrom": [{"secretRef": {"name": format!("{name}-secrets"), "optional": true}}],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"memory": "1Gi"},
                },
                "volumeMounts": [{"name": "state", "mountPath": format!("{PROJECT_DIR}/.trident")}],
            }],
            "volumes": [{"name": "state", "persistentVolumeClaim": {"claimName": claim}}],
        },
    });
    let job_spec = json!({
        "backoffLimit": 2,
        "ttlSecondsAfterFinished": 86400,
        "template": pod,
    });
    let workload = match cron {
        Some(cron) => json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "schedule": cron,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec},
            },
        }),
        None => json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "labels": labels},
            "spec": job_spec,
        }),
    };
    let kind = if cron.is_some() { "CronJob" } else { "Job" };
    let mut out = format!(
        "# Trident workflow {workflow:?}: a PersistentVolumeClaim for .trident/ and a {kind}.\n\
         # Generated by `trident project schedule --format kubernetes`. Before applying:\n\
         # - the image must hold Trident and this project at {PROJECT_DIR} (see the README);\n\
         # - set OTEL_EXPORTER_OTLP_ENDPOINT to your collector;\n\
         # - API keys: kubectl create secret generic {name}-secrets --from-literal=ANTHROPIC_API_KEY=...\n"
    );
    if !wait_for.is_empty() {
        // `depends_on` signals are files: the pod sees only its image and its own volume.
        out.push_str(&format!(
            "# - depends_on: the run waits for {} (resolved from {PROJECT_DIR}): the upstream \
             workflow must write there, e.g. both mount one ReadWriteMany claim.\n",
            wait_for.join(", ")
        ));
    }
    for document in [volume_claim, workload] {
        out.push_str("---\n");
        out.push_str(&yaml(&document)?);
    }
    Ok(out)
}

/// `text` as a value of `OTEL_RESOURCE_ATTRIBUTES` (W3C baggage form): bytes other than
/// letters, digits and `-._~` percent-encoded, so the attribute is the workflow's own name
/// (as `gen_ai.workflow.name` in its spans), not the object-name form.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn yaml(value: &Value) -> Result<String, TridentError> {
    yaml_serde::to_string(value)
        .map_err(|e| TridentError::Runtime(format!("cannot write the Kubernetes YAML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_dns_labels() {
        assert_eq!(object_name("Daily Report_v2"), "daily-report-v2");
        assert_eq!(object_name("--x--"), "x");
        assert_eq!(object_name("日本"), "workflow");
        assert_eq!(object_name(&"a".repeat(80)).len(), 40);
        assert_eq!(
            default_image("My Flow"),
            "registry.example.com/trident-my-flow:latest"
        );
    }

    #[test]
    fn resource_attributes_carry_the_workflow_name() {
        assert_eq!(percent_encode("Daily Report_v2"), "Daily%20Report_v2");
        assert_eq!(percent_encode("a=b,c%"), "a%3Db%2Cc%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn a_bad_image_is_refused() {
        let e = kubernetes_manifest("w", None, &[], "two words").unwrap_err();
        assert!(e.to_string().contains("--image"), "{e}");
    }
}
