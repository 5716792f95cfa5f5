//! `trident project graph`: the DAG as ascii or Mermaid.

use crate::cli::{GraphArgs, GraphFormat};
use crate::dag::{Dag, draw};
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::load_project;

pub fn graph(args: &GraphArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    let dag = Dag::build(&project)?;
    let text = match args.format {
        GraphFormat::Ascii => draw::ascii(&dag, &project),
        GraphFormat::Mermaid => draw::mermaid(&dag, &project, args.direction.as_str()),
    };
    println!("{text}");
    Ok(ExitCode::Success)
}
