//! `tandem playbooks`: check playbook files offline, list and reload a server's.

use crate::client::{Server, agent, get, json_response};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use tandem_cases::playbook;

#[derive(Args)]
pub struct PlaybooksArgs {
    #[command(subcommand)]
    pub action: PlaybooksAction,
}

#[derive(Subcommand)]
pub enum PlaybooksAction {
    /// Validates playbook directories or files as a server would (no server needed): prints
    /// `file:line: reason` for each problem and exits with 1 if there is any.
    Check {
        /// Directories (their `*.yaml` and `*.yml`) or single files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Lists the server's playbooks in force, with their departments and what selects them.
    List {
        #[command(flatten)]
        server: Server,
    },
    /// Makes the server read its playbook directories again (administrators). When a file
    /// fails, the server keeps the playbooks in force and the errors are printed.
    Reload {
        #[command(flatten)]
        server: Server,
    },
}

pub fn playbooks(args: PlaybooksArgs) -> anyhow::Result<()> {
    match args.action {
        PlaybooksAction::Check { paths } => {
            let (found, errors) = check(&paths);
            for e in &errors {
                say!("{e}");
            }
            let shipped: Vec<String> = found
                .iter()
                .filter(|p| playbook::is_shipped(&p.id))
                .map(|p| p.id.clone())
                .collect();
            say!(
                "{} playbooks valid{}; {} problems",
                found.len(),
                if shipped.is_empty() {
                    String::new()
                } else {
                    format!(" (replacing shipped: {})", shipped.join(", "))
                },
                errors.len()
            );
            if !errors.is_empty() {
                std::process::exit(1);
            }
        }
        PlaybooksAction::List { server } => {
            let list = get(&server, "/api/v1/playbooks", &[])?;
            for p in list["playbooks"].as_array().cloned().unwrap_or_default() {
                let names = |v: &serde_json::Value| {
                    v.as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default()
                };
                say!(
                    "{:<20} {:<45} {:<28} {}{}",
                    p["id"].as_str().unwrap_or(""),
                    p["title"].as_str().unwrap_or(""),
                    names(&p["departments"]),
                    [
                        names(&p["selects"]["rules"]),
                        names(&p["selects"]["tags"]),
                        names(&p["selects"]["kinds"])
                    ]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
                    if p["overrides_shipped"] == true {
                        "  (overrides shipped)"
                    } else {
                        ""
                    }
                );
            }
        }
        PlaybooksAction::Reload { server } => {
            let mut request = agent().post(format!(
                "{}/api/v1/playbooks/reload",
                server.url.trim_end_matches('/')
            ));
            if let Some(t) = &server.token {
                request = request.header("Authorization", format!("Bearer {t}"));
            }
            let mut response = request
                .send_empty()
                .with_context(|| format!("cannot reach {}", server.url))?;
            if response.status().as_u16() == 422 {
                let body: serde_json::Value =
                    serde_json::from_str(&response.body_mut().read_to_string()?)?;
                for e in body["errors"].as_array().cloned().unwrap_or_default() {
                    say!(
                        "{}:{}: {}",
                        e["file"].as_str().unwrap_or(""),
                        e["line"],
                        e["reason"].as_str().unwrap_or("")
                    );
                }
                say!("refused: the server keeps the playbooks in force");
                std::process::exit(1);
            }
            let body = json_response(response)?;
            say!("{} playbooks in force", body["playbooks"]);
        }
    }
    Ok(())
}

/// Every playbook of `paths` (directories or files), and every problem: invalid files and
/// two files giving one id.
fn check(paths: &[PathBuf]) -> (Vec<playbook::Playbook>, Vec<playbook::PlaybookError>) {
    let mut found: Vec<playbook::Playbook> = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let (playbooks, mut errs) = if path.is_dir() {
            playbook::load_dirs(std::slice::from_ref(path))
        } else {
            match playbook::load_file(path) {
                Ok(p) => (vec![p], Vec::new()),
                Err(e) => (Vec::new(), e),
            }
        };
        errors.append(&mut errs);
        for p in playbooks {
            if let Some(other) = found.iter().find(|o| o.id == p.id) {
                errors.push(playbook::PlaybookError {
                    file: p.origin.clone(),
                    line: 1,
                    reason: format!("playbook id `{}` is also given by {}", p.id, other.origin),
                });
            } else {
                found.push(p);
            }
        }
    }
    (found, errors)
}
