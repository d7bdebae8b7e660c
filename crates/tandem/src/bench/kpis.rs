//! `tandem bench --kpis`: the KPI dashboard's computation over a store holding many
//! incidents.
//!
//! Seeds a fresh data directory with `--incidents` incidents spread over the last year (the
//! `--cases` seeder: tasks from the shipped playbooks, timelines, the newest `--open-share`
//! percent open), then runs what a dashboard request runs for the incident figures, in this
//! process: read the period's incidents from the store (only those opened from its start on),
//! the open tasks, and compute every figure by every dimension. Printed per period (90 days,
//! the dashboards' default, and a year): p50, p90 and max in milliseconds, and how many
//! incidents were read and counted.

use super::{BenchArgs, percentile};
use anyhow::Context;
use chrono::{Duration as Span, Utc};
use std::time::Instant;
use tandem_cases::kpi::{self, By, KpiConfig, Window};
use tandem_store::{EventStore, SqliteStore};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !args.seeded {
        println!(
            "kpis: seeding {} incidents ({} % open) and {} alerts into a fresh store",
            args.incidents, args.open_share, args.alerts
        );
        let seeded =
            super::cases::seed(&args.data_dir, args.incidents, args.alerts, args.open_share)?;
        println!(
            "  seeded {} incidents ({} open), {} timeline entries in {:.1} s",
            seeded.incidents, seeded.open_incidents, seeded.timeline, seeded.seconds
        );
        if args.seed_only {
            return Ok(());
        }
    }
    let store =
        SqliteStore::open(&args.data_dir, Default::default()).context("cannot open the store")?;
    let config = KpiConfig::default();
    let runs = args.page_runs.max(1);
    println!("  {runs} runs per period, every dimension; ms");
    println!(
        "  {:<10} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "period", "p50", "p90", "max", "read", "counted"
    );
    for days in [90, 365] {
        let now = Utc::now();
        let window = Window {
            from: now - Span::days(days),
            to: now,
        };
        let mut times = Vec::with_capacity(runs);
        let (mut read, mut counted) = (0, 0);
        for _ in 0..runs {
            let started = Instant::now();
            let incidents = kpi::load(&store, window, None, &config)?;
            let open = kpi::open_tasks(&store, None)?;
            let report = kpi::compute(&incidents, &open, window, &config, &By::ALL, now);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            read = incidents.len();
            counted = report.overall.incidents;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {:<10} {:>8.1} {:>8.1} {:>8.1} {:>10} {:>10}",
            format!("{days} days"),
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            times.last().copied().unwrap_or(0.0),
            read,
            counted
        );
    }
    store.close()?;
    Ok(())
}
