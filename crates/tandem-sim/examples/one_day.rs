//! Prints what one simulated day looks like: counts per source and a sample line of each.
//!
//! `cargo run -p tandem-sim --example one_day -- [DATE] [PEOPLE] [SEED]`
//! (defaults: 2026-11-25, 300, 42).

use std::collections::BTreeMap;
use tandem_sim::{Org, Simulator};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let date = args.first().map_or("2026-11-25", String::as_str);
    let people: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(42);
    let Ok(from) = format!("{date}T00:00:00Z").parse::<tandem_model::Timestamp>() else {
        eprintln!("DATE must be YYYY-MM-DD");
        std::process::exit(2);
    };
    let mut sim = Simulator::new(Org::generate(seed, people), seed);
    let records = sim.records_between(from, from + chrono::Duration::days(1));
    let mut per: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for r in &records {
        per.entry(r.channel_name()).or_insert((0, &r.payload)).0 += 1;
    }
    println!(
        "{date}, {people} people, seed {seed}: {} records",
        records.len()
    );
    for (source, (n, sample)) in per {
        println!("{source:>13} {n:6}  e.g. {sample}");
    }
}
