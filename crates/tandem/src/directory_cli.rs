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
    /// Shows, per source, the share of events with no known person, place or device, and
    /// the most frequent unknown identifiers.
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
            for line in gaps_table(&v) {
                say!("{line}");
            }
        }
    }
    Ok(())
}

/// `n of m (p %)` for one kind of record of one source.
fn share(kind: &Value) -> String {
    let events = kind["events"].as_u64().unwrap_or(0);
    let unresolved = kind["unresolved"].as_u64().unwrap_or(0);
    if events == 0 {
        return "-".to_owned();
    }
    format!(
        "{unresolved} of {events} ({:.0} %)",
        unresolved as f64 * 100.0 / events as f64
    )
}

/// The gaps report as lines: a table whose columns fit the widest cell (names and numbers
/// of any length line up), then the most frequent unknown identifiers per source.
/// Cells are escaped before they are measured, so what is counted is what is printed.
fn gaps_table(v: &Value) -> Vec<String> {
    let cell = |s: String| crate::terminal::escape(&s).into_owned();
    let header = [
        "SOURCE",
        "EVENTS",
        "PHYSICAL",
        "UNKNOWN PERSON",
        "NON-PERSON",
        "UNKNOWN SERVICE",
        "UNPLACED",
        "UNKNOWN DEVICE",
    ];
    let mut rows: Vec<[String; 8]> = vec![header.map(str::to_owned)];
    let empty = serde_json::Map::new();
    let sources = v["sources"].as_object().unwrap_or(&empty);
    for (name, g) in sources {
        let r = &g["resolution"];
        rows.push([
            cell(name.clone()),
            g["events"].as_u64().unwrap_or(0).to_string(),
            g["physical_events"].as_u64().unwrap_or(0).to_string(),
            share(&r["person"]),
            // SYSTEM, `HOST$`, root: accounts, not unknown people.
            g["non_person"].as_u64().unwrap_or(0).to_string(),
            // Service principals the directory holds no service account for.
            share(&r["service_account"]),
            share(&r["place"]),
            share(&r["device"]),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = vec![format!(
        "directory: {} people, {} devices, {} places",
        v["people"], v["devices"], v["places"]
    )];
    for row in &rows {
        let mut line = format!("{:<w$}", row[0], w = widths[0]);
        for (c, w) in row.iter().zip(widths).skip(1) {
            line.push_str(&format!("  {c:>w$}"));
        }
        out.push(line.trim_end().to_owned());
    }
    for (name, g) in sources {
        for kind in ["person", "place", "device", "service_account"] {
            let top = g["resolution"][kind]["top_unknown"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if top.is_empty() {
                continue;
            }
            out.push(cell(format!(
                "{name}: unknown {} identifiers",
                kind.replace('_', " ")
            )));
            for u in top {
                let value = u["value"].as_str().unwrap_or("");
                out.push(cell(format!(
                    "  {:>8}  {}{}{}",
                    u["events"].as_u64().unwrap_or(0),
                    u["identifier"].as_str().unwrap_or(""),
                    if value.is_empty() { "" } else { " " },
                    value
                )));
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers used to be printed through JSON's `Display`, which ignores widths, so the
    /// columns drifted with every digit; long source names pushed them further.
    #[test]
    fn gaps_columns_line_up_whatever_the_widths() {
        let kind = |events: u64, unresolved: u64| serde_json::json!({"events": events, "unresolved": unresolved, "top_unknown": []});
        let v = serde_json::json!({
            "people": 3, "devices": 1, "places": 12,
            "sources": {
                "a-very-long-source-name-for-badges": {
                    "events": 1234567, "physical_events": 1234567,
                    "resolution": {"person": kind(1234567, 3), "place": kind(1234567, 1234567), "device": kind(0, 0)}
                },
                "s": {
                    "events": 5, "physical_events": 0,
                    "resolution": {"person": kind(5, 0), "place": kind(1, 1), "device": kind(2, 1)}
                }
            }
        });
        let lines = gaps_table(&v);
        let table = &lines[1..4];
        // Every right-aligned column ends at the same position on every line.
        // Where each cell ends: before a run of two spaces (cells hold single spaces only).
        let ends = |line: &str| {
            let chars: Vec<char> = line.chars().collect();
            let mut ends: Vec<usize> = chars
                .windows(3)
                .enumerate()
                .filter(|(_, w)| w[0] != ' ' && w[1] == ' ' && w[2] == ' ')
                .map(|(i, _)| i)
                .collect();
            ends.push(chars.len() - 1);
            ends
        };
        let header = table[0].clone();
        assert!(header.starts_with("SOURCE"), "{header}");
        let expected = ends(&header);
        for line in table {
            assert_eq!(line.chars().count(), header.chars().count(), "{lines:#?}");
            assert_eq!(ends(line)[1..], expected[1..], "{lines:#?}");
        }
        assert!(
            table[1].contains("1234567 of 1234567 (100 %)"),
            "{lines:#?}"
        );
        assert!(table[2].trim_end().ends_with("1 of 2 (50 %)"), "{lines:#?}");
    }
}
