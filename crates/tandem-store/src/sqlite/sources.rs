//! Per-source health: totals persisted with every commit, rates kept in memory.

use rusqlite::{Transaction, params};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What one commit changed, per source.
#[derive(Default)]
pub struct CommitCounts {
    sources: HashMap<String, Counts>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    events: u64,
    dead_letters: u64,
    rejected: u64,
    max_time: Option<i64>,
}

impl CommitCounts {
    pub fn event(&mut self, source: &str, time: i64) {
        let c = self.entry(source);
        c.events += 1;
        c.max_time = Some(c.max_time.map_or(time, |t| t.max(time)));
    }

    pub fn dead_letter(&mut self, source: &str) {
        self.entry(source).dead_letters += 1;
    }

    pub fn rejected(&mut self, source: &str, n: u64) {
        self.entry(source).rejected += n;
    }

    fn entry(&mut self, source: &str) -> &mut Counts {
        if !self.sources.contains_key(source) {
            self.sources.insert(source.to_owned(), Counts::default());
        }
        self.sources.get_mut(source).expect("inserted above")
    }

    pub fn persist(&self, tx: &Transaction<'_>, now: i64) -> rusqlite::Result<()> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO source_stats (name, events_total, dead_letters_total, rejected_total,
                                       last_event_time, last_received)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET
               events_total = events_total + ?2,
               dead_letters_total = dead_letters_total + ?3,
               rejected_total = rejected_total + ?4,
               last_event_time = max(coalesce(last_event_time, ?5), coalesce(?5, last_event_time)),
               last_received = ?6",
        )?;
        for (name, c) in &self.sources {
            stmt.execute(params![
                name,
                c.events as i64,
                c.dead_letters as i64,
                c.rejected as i64,
                c.max_time,
                now
            ])?;
        }
        Ok(())
    }
}

/// Arrivals per source per minute over the last few minutes, for "events per minute".
#[derive(Default)]
pub struct LiveStats {
    minutes: Mutex<HashMap<String, VecDeque<(i64, u64)>>>,
}

/// Minutes of history kept for the rate.
pub const RATE_WINDOW_MINUTES: i64 = 5;

impl LiveStats {
    pub fn record(&self, counts: &CommitCounts, now_micros: i64) {
        let minute = now_micros / 60_000_000;
        let mut map = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        for (name, c) in &counts.sources {
            if c.events == 0 {
                continue;
            }
            let ring = map.entry(name.clone()).or_default();
            match ring.back_mut() {
                Some((m, n)) if *m == minute => *n += c.events,
                _ => ring.push_back((minute, c.events)),
            }
            while ring
                .front()
                .is_some_and(|(m, _)| *m <= minute - RATE_WINDOW_MINUTES)
            {
                ring.pop_front();
            }
        }
    }

    /// Mean arrivals per minute over the window ending now.
    pub fn per_minute(&self, source: &str, now_micros: i64) -> f64 {
        let minute = now_micros / 60_000_000;
        let map = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        let Some(ring) = map.get(source) else {
            return 0.0;
        };
        let sum: u64 = ring
            .iter()
            .filter(|(m, _)| *m > minute - RATE_WINDOW_MINUTES)
            .map(|(_, n)| n)
            .sum();
        sum as f64 / RATE_WINDOW_MINUTES as f64
    }
}
