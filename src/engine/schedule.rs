//! Which rule decides when a node may start: as soon as its own upstream nodes are done
//! (`dependencies`, the default), or level by level as the original did (`levels`).
//! Chosen with `--schedule` or `TRIDENT_SCHEDULE`.

use std::fmt;

/// The variable that sets the schedule when `--schedule` is not given.
pub const SCHEDULE_VAR: &str = "TRIDENT_SCHEDULE";

/// When a node may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// A node starts once every node it has an incoming edge from is done (completed,
    /// skipped or cached): a run takes about as long as its critical path.
    #[default]
    Dependencies,
    /// Kahn levels: a node starts once every node of every earlier level is done, so each
    /// level waits for its slowest node (the original's timing).
    Levels,
}

impl Schedule {
    /// Every schedule, for messages.
    pub const ALL: [Schedule; 2] = [Schedule::Dependencies, Schedule::Levels];

    /// The name used by `--schedule` and `TRIDENT_SCHEDULE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Dependencies => "dependencies",
            Schedule::Levels => "levels",
        }
    }

    /// Parse a `--schedule` / `TRIDENT_SCHEDULE` value (case-insensitive, surrounding
    /// spaces ignored; `deps` is short for `dependencies`).
    pub fn parse(raw: &str) -> Option<Schedule> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "dependencies" | "deps" => Some(Schedule::Dependencies),
            "levels" => Some(Schedule::Levels),
            _ => None,
        }
    }

    /// The schedule from the flag, else from `TRIDENT_SCHEDULE` (read through `env`; empty
    /// counts as unset), else the default. A bad variable is an error naming it and the
    /// accepted values.
    pub fn resolve(
        flag: Option<Schedule>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Schedule, String> {
        if let Some(schedule) = flag {
            return Ok(schedule);
        }
        match env(SCHEDULE_VAR).filter(|v| !v.trim().is_empty()) {
            None => Ok(Schedule::default()),
            Some(raw) => Schedule::parse(&raw).ok_or_else(|| {
                format!(
                    "{SCHEDULE_VAR} is set to '{raw}', which is not a schedule. Use one of: {} \
                     (or unset it for the default, dependencies).",
                    Schedule::ALL.map(Schedule::as_str).join(", ")
                )
            }),
        }
    }

    /// One line for `--verbose`: what runs when under this schedule.
    pub fn describe(self, limit: usize) -> String {
        match self {
            Schedule::Dependencies => format!(
                "Schedule: dependencies (a node starts as soon as its upstream nodes are done; \
                 ready nodes start by level, then id; up to {limit} at once)"
            ),
            Schedule::Levels => format!(
                "Schedule: levels (a level starts when the previous one is done; up to {limit} \
                 nodes at once)"
            ),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_the_variable_which_beats_the_default() {
        let env = |value: &'static str| {
            move |name: &str| (name == SCHEDULE_VAR).then(|| value.to_string())
        };
        assert_eq!(
            Schedule::resolve(Some(Schedule::Dependencies), &env("levels")),
            Ok(Schedule::Dependencies)
        );
        assert_eq!(
            Schedule::resolve(None, &env(" Levels ")),
            Ok(Schedule::Levels)
        );
        assert_eq!(
            Schedule::resolve(None, &env("deps")),
            Ok(Schedule::Dependencies)
        );
        assert_eq!(
            Schedule::resolve(None, &env("")),
            Ok(Schedule::Dependencies)
        );
        assert_eq!(
            Schedule::resolve(None, &|_| None),
            Ok(Schedule::Dependencies)
        );
    }

    #[test]
    fn a_bad_variable_names_itself_and_the_choices() {
        let error = Schedule::resolve(None, &|_| Some("fastest".into())).unwrap_err();
        assert!(
            error.contains("TRIDENT_SCHEDULE is set to 'fastest'"),
            "{error}"
        );
        assert!(error.contains("dependencies, levels"), "{error}");
    }
}
