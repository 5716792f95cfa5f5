//! The OTLP sink: one more sink of the telemetry writer, taking its events typed (no line
//! formatted and parsed back). It builds the run's spans and log records from them
//! (`span_tree`) and, after every writer batch, queues them for the export thread
//! (`exporter`). Log records are made only for the events passing the stream's own filter;
//! spans use every event the sink receives.

use std::io;

use super::exporter::{Encoded, Exporter};
use super::settings::OtlpSettings;
use super::span_tree::SpanTree;
use crate::telemetry::event::Event;
use crate::telemetry::filter::EventFilter;
use crate::telemetry::format::Envelope;
use crate::telemetry::notice::Notices;
use crate::telemetry::policy::PayloadPolicy;
use crate::telemetry::sink::Sink;

/// Exports the stream as OpenTelemetry spans and log records over OTLP/HTTP.
pub struct OtlpSink {
    tree: SpanTree,
    /// Log records made since the last batch was queued, encoded, and how many.
    logs: Vec<u8>,
    log_count: u64,
    exporter: Exporter,
    log_filter: EventFilter,
    /// Whether spans and log records are exported (`OTEL_TRACES_EXPORTER`,
    /// `OTEL_LOGS_EXPORTER`).
    traces: bool,
    logs_on: bool,
    endpoint: String,
    notices: Notices,
    finished: bool,
    /// Whether `otlp_export_failed` was already reported (at the first failure).
    reported: bool,
}

impl OtlpSink {
    /// Starts the export thread for `settings`; log records for the events `log_filter`
    /// passes. Fails (with a message for a notice) when the exporter cannot be built.
    pub fn start(
        settings: &OtlpSettings,
        log_filter: EventFilter,
        notices: Notices,
    ) -> Result<OtlpSink, String> {
        let tree = SpanTree::new(settings.parent.clone());
        let exporter = Exporter::start(settings)?;
        Ok(OtlpSink {
            tree,
            logs: Vec::new(),
            log_count: 0,
            exporter,
            log_filter,
            traces: settings.traces,
            logs_on: settings.logs,
            endpoint: without_credentials(if settings.traces {
                &settings.traces_endpoint
            } else {
                &settings.logs_endpoint
            }),
            notices,
            finished: false,
            reported: false,
        })
    }

    /// Spans and log records exported so far.
    pub fn exported(&self) -> u64 {
        self.exporter.exported()
    }

    /// Queues what was made since the last call.
    fn send(&mut self) {
        let (bytes, count) = self.tree.take();
        let spans = Encoded { bytes, count };
        let logs = Encoded {
            bytes: std::mem::take(&mut self.logs),
            count: std::mem::take(&mut self.log_count),
        };
        self.exporter.send(spans, logs);
    }
}

/// `url` without a `user:password@` part.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

impl Sink for OtlpSink {
    fn describe(&self) -> String {
        "otlp".to_string()
    }

    fn write_lines(&mut self, _lines: &[u8]) -> io::Result<()> {
        Err(io::Error::other("the OTLP sink takes typed events"))
    }

    fn takes_events(&self) -> bool {
        true
    }

    fn write_event(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        if self.logs_on && self.log_filter.allows_event(event.event) {
            self.tree.log_record(event, policy, &mut self.logs);
            self.log_count += 1;
        }
        if self.traces {
            self.tree.record(event, policy);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.finished {
            self.send();
        }
        Ok(())
    }

    fn reports(&mut self) -> Vec<Event> {
        if self.reported || self.finished {
            return Vec::new();
        }
        let Some(failure) = self.exporter.failure() else {
            return Vec::new();
        };
        self.reported = true;
        vec![Event::OtlpExportFailed {
            endpoint: self.endpoint.clone(),
            error: failure.error,
            dropped: failure.dropped,
        }]
    }

    fn finish(&mut self) -> Vec<Event> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        self.tree.close_all();
        self.send();
        let Some(failure) = self.exporter.close() else {
            return Vec::new();
        };
        self.notices.warn(&format!(
            "OpenTelemetry export to {} failed: {}; {} spans and log records were not exported",
            self.endpoint, failure.error, failure.dropped
        ));
        // Reported once: at the first failure if the writer saw it during the run, else
        // now; the total lost is in `telemetry_dropped`.
        let mut events = Vec::new();
        if !std::mem::replace(&mut self.reported, true) {
            events.push(Event::OtlpExportFailed {
                endpoint: self.endpoint.clone(),
                error: failure.error.clone(),
                dropped: failure.dropped,
            });
        }
        if failure.dropped > 0 {
            events.push(Event::TelemetryDropped {
                sink: "otlp".to_string(),
                count: failure.dropped,
                reason: failure.error,
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::telemetry::filter::{EventFilter, LevelSetting};
    use crate::telemetry::otlp::settings::OtlpProtocol;
    use crate::telemetry::record::RunScope;
    use crate::telemetry::{Redactor, Verbosity};

    #[test]
    fn the_first_failure_is_reported_at_once_and_only_once() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://user:pw@127.0.0.1:{port}");
        let settings = OtlpSettings {
            traces_endpoint: format!("{url}/v1/traces"),
            logs_endpoint: format!("{url}/v1/logs"),
            traces: true,
            logs: true,
            headers: Vec::new(),
            header_secrets: Vec::new(),
            protocol: OtlpProtocol::HttpProtobuf,
            timeout: Duration::from_secs(1),
            service_name: "trident".into(),
            resource_attributes: Vec::new(),
            parent: None,
        };
        let (notices, warnings) = Notices::capture();
        let filter = EventFilter::new(Some(LevelSetting::Verbosity(Verbosity::Normal)), &[]);
        let mut sink = OtlpSink::start(&settings, filter, notices).unwrap();
        assert!(sink.takes_events());
        let scope = RunScope {
            run_id: "r1".into(),
            root_run_id: "r1".into(),
            ..RunScope::default()
        };
        let event = Event::WorkflowStarted {
            name: "wf".into(),
            entrypoint: "input".into(),
            dry_run: true,
            resumed_from: None,
            attempt: 1,
        };
        let envelope = Envelope {
            unix_millis: 1_700_000_000_000,
            seq: 1,
            scope: &scope,
            node_id: None,
            event: &event,
        };
        let policy = PayloadPolicy::new(Redactor::new(true, vec![], &[]), None);
        sink.write_event(&envelope, &policy).unwrap();
        sink.flush().unwrap();
        // The export thread sends within its interval; the refusal shows after a batch.
        let started = Instant::now();
        let reports = loop {
            let reports = sink.reports();
            if !reports.is_empty() || started.elapsed() > Duration::from_secs(5) {
                break reports;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let [
            Event::OtlpExportFailed {
                endpoint,
                error,
                dropped,
            },
        ] = reports.as_slice()
        else {
            panic!("one otlp_export_failed expected: {reports:?}");
        };
        assert_eq!(endpoint, &format!("http://127.0.0.1:{port}/v1/traces"));
        assert!(error.to_lowercase().contains("refused"), "{error}");
        assert!(!error.contains("user:pw"), "{error}");
        assert_eq!(*dropped, 1);
        assert!(sink.reports().is_empty(), "reported once");
        // At the end (the unfinished run span is lost too): the total lost and one
        // warning, no second otlp_export_failed.
        let at_end = sink.finish();
        assert!(
            matches!(
                at_end.as_slice(),
                [Event::TelemetryDropped { sink, count: 2, .. }] if sink == "otlp"
            ),
            "{at_end:?}"
        );
        assert_eq!(warnings.lock().unwrap().len(), 1);
    }

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(
            without_credentials("https://user:secret@host:4318/v1/traces"),
            "https://host:4318/v1/traces"
        );
        assert_eq!(
            without_credentials("http://host/v1/traces"),
            "http://host/v1/traces"
        );
    }
}
