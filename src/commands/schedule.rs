//! `trident project schedule`: a cron line, systemd units, a launchd plist or Kubernetes
//! objects (`schedule_kubernetes`) that run the workflow on the manifest's
//! `orchestration.schedule.cron`, waiting for its `depends_on` signals.

use serde_json::Value;

use super::schedule_kubernetes::{default_image, kubernetes_manifest};
use crate::cli::{ScheduleArgs, ScheduleFormat};
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::load_project;

pub fn schedule(args: &ScheduleArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    if matches!(args.format, ScheduleFormat::Kubernetes) && !args.show {
        // A Job when there is no schedule: no orchestration section is needed.
        let orch = project.orchestration.as_ref().map(|o| &o.raw);
        let cron = orch
            .and_then(|o| o.get("schedule"))
            .and_then(|s| s.get("cron"))
            .and_then(Value::as_str);
        let deps = orch
            .and_then(|o| o.get("depends_on"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let image = args
            .image
            .clone()
            .unwrap_or_else(|| default_image(&project.name));
        print!(
            "{}",
            kubernetes_manifest(&project.name, cron, &wait_for(&deps), &image)?
        );
        return Ok(ExitCode::Success);
    }
    let Some(orch) = &project.orchestration else {
        if args.show {
            println!("No orchestration section configured in manifest");
            return Ok(ExitCode::Success);
        }
        return Err(TridentError::Validation(format!(
            "No 'orchestration' section in {}. Add `orchestration: {{schedule: {{cron: \"0 * * * \
             *\"}}}}` to configure a schedule.",
            project.manifest_path.display()
        )));
    };
    let schedule = orch.raw.get("schedule").cloned().unwrap_or(Value::Null);
    let deps: Vec<Value> = orch
        .raw
        .get("depends_on")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if args.show {
        println!("Project: {}", project.name);
        println!("Root: {}", project.root.display());
        println!();
        if schedule.is_object() {
            println!("Schedule Configuration:");
            if let Some(cron) = text(&schedule, "cron") {
                println!("  Cron: {cron}");
            }
            if let Some(desc) = text(&schedule, "description") {
                println!("  Description: {desc}");
            }
        } else {
            println!("No schedule configured");
        }
        println!();
        if !deps.is_empty() {
            println!("Dependencies:");
            for dep in &deps {
                println!(
                    "  - {}.{}",
                    text(dep, "workflow").unwrap_or_else(|| "?".into()),
                    text(dep, "signal").unwrap_or_else(|| "ready".into())
                );
            }
        }
        return Ok(ExitCode::Success);
    }
    let Some(cron) = text(&schedule, "cron") else {
        return Err(TridentError::Validation(format!(
            "No cron expression in orchestration.schedule.cron of {}: add e.g. `cron: \"0 * * * \
             *\"`.",
            project.manifest_path.display()
        )));
    };
    let wait_args: String = wait_for(&deps)
        .iter()
        .map(|w| format!(" --wait-for {w}"))
        .collect();
    let root = project.root.display();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "trident".into());
    match args.format {
        ScheduleFormat::Cron => {
            println!("{cron} cd {root} && {exe} project run --emit-signal{wait_args}");
        }
        ScheduleFormat::Systemd => {
            let service = format!("trident-{}", project.name);
            println!("# /etc/systemd/system/{service}.service");
            println!("[Unit]\nDescription=Trident workflow: {}\n", project.name);
            println!("[Service]\nType=oneshot\nWorkingDirectory={root}");
            println!("ExecStart={exe} project run --emit-signal{wait_args}\n");
            println!("[Install]\nWantedBy=multi-user.target\n");
            println!("# /etc/systemd/system/{service}.timer");
            println!(
                "[Unit]\nDescription=Timer for Trident workflow: {}\n",
                project.name
            );
            println!("[Timer]\nOnCalendar=*-*-* *:00:00  # Adjust based on: {cron}");
            println!("Persistent=true\n\n[Install]\nWantedBy=timers.target");
        }
        ScheduleFormat::Kubernetes => unreachable!("printed above"),
        ScheduleFormat::Launchd => {
            println!(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
            println!(
                r#"<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">"#
            );
            println!("<plist version=\"1.0\">\n<dict>");
            println!(
                "    <key>Label</key>\n    <string>com.trident.{}</string>",
                project.name
            );
            println!("    <key>WorkingDirectory</key>\n    <string>{root}</string>");
            println!("    <key>ProgramArguments</key>\n    <array>");
            for arg in [exe.as_str(), "project", "run", "--emit-signal"] {
                println!("        <string>{arg}</string>");
            }
            for arg in wait_args.split_whitespace() {
                println!("        <string>{arg}</string>");
            }
            println!("    </array>\n    <key>StartCalendarInterval</key>");
            println!("    <!-- Adjust based on cron: {cron} -->");
            println!("    <dict>\n        <key>Hour</key>\n        <integer>0</integer>");
            println!("        <key>Minute</key>\n        <integer>0</integer>\n    </dict>");
            println!("</dict>\n</plist>");
        }
    }
    Ok(ExitCode::Success)
}

/// The `--wait-for` values for the manifest's `orchestration.depends_on` entries.
fn wait_for(deps: &[Value]) -> Vec<String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    deps.iter()
        .map(|dep| {
            let workflow = text(dep, "workflow").unwrap_or_default();
            let signal = text(dep, "signal").unwrap_or_else(|| "ready".into());
            match text(dep, "path") {
                Some(path) => format!("{path}/{workflow}.{signal}"),
                None => format!("signal:{workflow}.{signal}"),
            }
        })
        .collect()
}
