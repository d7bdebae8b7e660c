//! `tandem people`, `tandem places` and `tandem directory`: the identity directory from the
//! command line, through a running server's API.

use crate::client::{Server, agent, get, json_response};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args)]
pub struct PeopleArgs {
    /// A person's id: shows their profile and merged timeline. Without it, lists people.
    pub id: Option<String>,
    /// Filter the list by name, id, e-mail or department.
    #[arg(long, short)]
    pub query: Option<String>,
    /// Timeline entries (or list rows) to show.
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("-")
}

/// One timeline line: time, class/activity, what, where.
fn timeline_line(e: &Value) -> String {
    let place = ["door", "zone", "site"]
        .iter()
        .find_map(|k| e["place"][k].as_str())
        .or_else(|| e["device"]["hostname"].as_str())
        .unwrap_or("");
    format!(
        "{:<24} {:<34} {:<16} {}",
        s(e, "time").get(..19).unwrap_or(s(e, "time")),
        format!("{}/{}", s(e, "class"), s(e, "activity")),
        place,
        s(e, "message")
    )
}

pub fn people(args: PeopleArgs) -> anyhow::Result<()> {
    let Some(id) = args.id else {
        let list = get(
            &args.server,
            "/api/v1/people",
            &[
                ("q", args.query.unwrap_or_default()),
                ("limit", args.limit.to_string()),
            ],
        )?;
        say!(
            "{:<10} {:<28} {:<14} {:<11} E-MAIL",
            "ID",
            "NAME",
            "DEPARTMENT",
            "STATUS"
        );
        for p in list["people"].as_array().cloned().unwrap_or_default() {
            say!(
                "{:<10} {:<28} {:<14} {:<11} {}",
                s(&p, "id"),
                s(&p, "name"),
                s(&p, "department"),
                s(&p, "status"),
                s(&p, "email")
            );
        }
        say!("{} people", list["total"]);
        return Ok(());
    };
    let v = get(
        &args.server,
        &format!("/api/v1/people/{id}"),
        &[("limit", args.limit.to_string())],
    )?;
    let p = &v["person"];
    say!("{} ({})", s(p, "name"), s(p, "id"));
    say!(
        "  department: {}   title: {}   site: {}",
        s(p, "department"),
        s(p, "title"),
        s(p, "home_site")
    );
    say!(
        "  status:     {}   hired: {}   terminated: {}",
        s(p, "status"),
        s(p, "hired"),
        s(p, "terminated_at")
    );
    for a in p["accounts"].as_array().cloned().unwrap_or_default() {
        say!("  account:    {} ({})", s(&a, "value"), s(&a, "kind"));
    }
    for b in p["badges"].as_array().cloned().unwrap_or_default() {
        say!("  badge:      {} ({})", s(&b, "number"), s(&b, "status"));
    }
    for d in v["devices"].as_array().cloned().unwrap_or_default() {
        say!("  device:     {} ({})", s(&d, "id"), s(&d, "kind"));
    }
    say!();
    say!("Timeline ({} events, newest first):", v["timeline_total"]);
    for e in v["timeline"].as_array().cloned().unwrap_or_default() {
        say!("  {}", timeline_line(&e));
    }
    Ok(())
}

#[derive(Args)]
pub struct PlacesArgs {
    /// A place id or name: shows where it is, what is in it and its recent events.
    pub id: Option<String>,
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

pub fn places(args: PlacesArgs) -> anyhow::Result<()> {
    let Some(id) = args.id else {
        let list = get(&args.server, "/api/v1/places", &[])?;
        say!("{:<10} {:<28} {:<28} PARENT", "KIND", "ID", "NAME");
        for p in list["places"].as_array().cloned().unwrap_or_default() {
            say!(
                "{:<10} {:<28} {:<28} {}",
                s(&p, "kind"),
                s(&p, "id"),
                s(&p, "name"),
                s(&p, "parent")
            );
        }
        return Ok(());
    };
    let v = get(
        &args.server,
        &format!("/api/v1/places/{id}"),
        &[("limit", args.limit.to_string())],
    )?;
    let p = &v["place"];
    let path: Vec<&str> = v["lineage"]
        .as_array()
        .map(|l| l.iter().rev().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    say!("{} {} ({})", s(p, "kind"), s(p, "name"), s(p, "id"));
    if !path.is_empty() {
        say!("  in: {}", path.join(" › "));
    }
    if p["restricted"].as_bool() == Some(true) {
        say!("  restricted zone");
    }
    for c in v["children"].as_array().cloned().unwrap_or_default() {
        say!(
            "  contains {} {} ({})",
            s(&c, "kind"),
            s(&c, "name"),
            s(&c, "id")
        );
    }
    say!();
    say!("Recent events ({} in all):", v["events_total"]);
    for e in v["events"].as_array().cloned().unwrap_or_default() {
        say!("  {}", timeline_line(&e));
    }
    Ok(())
}

#[derive(Args)]
pub struct DirectoryArgs {
    #[command(subcommand)]
    pub action: DirectoryAction,
    #[command(flatten)]
    pub server: Server,
}

#[derive(Subcommand)]
pub enum DirectoryAction {
    /// Imports an HR CSV export (column names from `[identity.hr]` in the server's config).
    ImportHr {
        file: PathBuf,
        /// Shows what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Imports places and devices from a YAML, JSON or CSV file.
    Import {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Shows, per source, identifiers the directory could not resolve.
    Gaps,
}

fn post_file(server: &Server, path: &str, file: &PathBuf, dry_run: bool) -> anyhow::Result<Value> {
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut request = agent()
        .post(format!("{}{path}", server.url.trim_end_matches('/')))
        .query("dry_run", dry_run.to_string())
        .query("file", name);
    if let Some(t) = &server.token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    json_response(
        request
            .send(&body[..])
            .with_context(|| format!("cannot reach {}", server.url))?,
    )
}

fn print_plan(v: &Value) {
    let plan = &v["plan"];
    print_hr_file(plan);
    for line in plan["summary"].as_array().cloned().unwrap_or_default() {
        say!("  {}", line.as_str().unwrap_or(""));
    }
    for line in plan["errors"].as_array().cloned().unwrap_or_default() {
        say!("  error: {}", line.as_str().unwrap_or(""));
    }
    let counts: Vec<String> = [
        "new_people",
        "updated_people",
        "terminations",
        "new",
        "updated",
        "unchanged",
    ]
    .iter()
    .filter_map(|k| {
        plan[k]
            .as_u64()
            .map(|n| format!("{n} {}", k.replace('_', " ")))
    })
    .collect();
    let verb = if v["dry_run"].as_bool() == Some(true) {
        "would apply (dry run)"
    } else {
        "applied"
    };
    say!("{verb}: {}", counts.join(", "));
}

/// How the server read an HR file: encoding, delimiter, which header fed which field, the
/// configured columns it lacks and the values no mapping knows (absent for other imports).
fn print_hr_file(plan: &Value) {
    let Some(encoding) = plan["encoding"].as_str() else {
        return;
    };
    say!(
        "read as {encoding}, separated by `{}`",
        plan["delimiter"].as_str().unwrap_or(",")
    );
    for c in plan["columns"].as_array().cloned().unwrap_or_default() {
        say!(
            "  {} ← \"{}\"{}",
            s(&c, "field"),
            s(&c, "header"),
            if c["ignoring_case"].as_bool() == Some(true) {
                " (matched ignoring case)"
            } else {
                ""
            }
        );
    }
    for m in plan["missing_columns"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        say!(
            "  {}: no column \"{}\" in the file",
            s(&m, "field"),
            s(&m, "column")
        );
    }
    let unused: Vec<String> = plan["unused_headers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|h| format!("\"{}\"", h.as_str().unwrap_or("")))
        .collect();
    if !unused.is_empty() {
        say!("  not used: {}", unused.join(", "));
    }
    for u in plan["unmapped"].as_array().cloned().unwrap_or_default() {
        let lines: Vec<String> = u["lines"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        say!(
            "  unmapped {} `{}` on line{} {}: {} left as it was",
            s(&u, "field"),
            s(&u, "value"),
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", "),
            s(&u, "field")
        );
    }
}

pub fn directory(args: DirectoryArgs) -> anyhow::Result<()> {
    match args.action {
        DirectoryAction::ImportHr { file, dry_run } => {
            print_plan(&post_file(
                &args.server,
                "/api/v1/directory/hr",
                &file,
                dry_run,
            )?);
        }
        DirectoryAction::Import { file, dry_run } => {
            print_plan(&post_file(
                &args.server,
                "/api/v1/directory/records",
                &file,
                dry_run,
            )?);
        }
        DirectoryAction::Gaps => {
            let v = get(&args.server, "/api/v1/directory/gaps", &[])?;
            say!(
                "directory: {} people, {} devices, {} places",
                v["people"],
                v["devices"],
                v["places"]
            );
            say!(
                "{:<16} {:>10} {:>16} {:>16} {:>16}",
                "SOURCE",
                "EVENTS",
                "UNKNOWN PERSON",
                "UNKNOWN DEVICE",
                "UNKNOWN PLACE"
            );
            if let Some(sources) = v["sources"].as_object() {
                for (name, g) in sources {
                    say!(
                        "{:<16} {:>10} {:>16} {:>16} {:>16}",
                        name,
                        g["events"],
                        g["person"],
                        g["device"],
                        g["place"]
                    );
                }
            }
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct FindingsArgs {
    /// Narrow with the query language, e.g. `person:E01042` or `finding.rule_id:tandem.tailgating`.
    pub query: Option<String>,
    /// Only findings after this time (`now-24h`, RFC 3339, a date).
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

/// `tandem findings`: detections as they fired, newest first.
pub fn findings(args: FindingsArgs) -> anyhow::Result<()> {
    let mut query = vec![
        ("q", args.query.unwrap_or_default()),
        ("limit", args.limit.to_string()),
    ];
    if let Some(from) = args.from {
        query.push(("from", from));
    }
    let v = get(&args.server, "/api/v1/findings", &query)?;
    say!("{:<20} {:<9} {:<40} SUMMARY", "TIME", "SEVERITY", "RULE");
    for item in v["findings"].as_array().cloned().unwrap_or_default() {
        let f = &item["finding"];
        say!(
            "{:<20} {:<9} {:<40} {}",
            s(f, "time").get(..19).unwrap_or(s(f, "time")),
            s(f, "severity"),
            s(f, "rule_id"),
            s(f, "summary")
        );
    }
    say!("{} findings", v["total"]);
    Ok(())
}
