//! docs/configuration.md stays true: every complete document it shows is
//! applied by `patchbay apply`.

use std::path::Path;

use serde_json::Value;

use crate::binary::{MASTER_KEY, patchbay, run};

const REFERENCE: &str = include_str!("../../../../docs/configuration.md");

/// The YAML blocks of the reference that are whole documents: those whose
/// first line is a top-level key of one. Blocks that start otherwise show a
/// piece (a step, a list of settings).
pub fn documents() -> Vec<String> {
    let mut documents = Vec::new();
    let mut current: Option<String> = None;
    for line in REFERENCE.lines() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                let first = block.lines().next().unwrap_or_default();
                if ["settings:", "integrations:", "workflows:"]
                    .iter()
                    .any(|key| first.starts_with(key))
                {
                    documents.push(block.clone());
                }
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    documents
}

fn patchbay_in(dir: &Path, database_url: &str) -> std::process::Command {
    let mut command = patchbay(dir);
    command
        .env("PATCHBAY_DATABASE_URL", database_url)
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
    command
}

#[test]
fn every_document_in_the_reference_applies() {
    let documents = documents();
    assert!(
        documents.len() >= 4,
        "found only {} documents",
        documents.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/patchbay.db", dir.path().display());
    let created = run(patchbay_in(dir.path(), &database_url)
        .args(["project", "create", "--name", "Docs", "--json"]));
    assert!(created.status.success());
    let project: Value = serde_json::from_slice(&created.stdout).unwrap();
    let project = project["projectId"].as_str().unwrap();

    for (i, document) in documents.iter().enumerate() {
        let file = dir.path().join(format!("document-{i}.yaml"));
        std::fs::write(&file, document).unwrap();
        // --prune: each document replaces the previous one's integrations.
        let applied = run(patchbay_in(dir.path(), &database_url).args([
            "apply",
            "--prune",
            "--project",
            project,
            "-f",
            file.to_str().unwrap(),
        ]));
        assert!(
            applied.status.success(),
            "document {i} is refused:\n{document}\n{}",
            String::from_utf8_lossy(&applied.stderr)
        );
    }
}
