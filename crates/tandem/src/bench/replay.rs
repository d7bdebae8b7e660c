//! `tandem bench --input FILE --sigma-dir DIR [--events N] [--compare 'CMD']`: a given stream
//! with a given rule set, through the real ingest path, and the same events through another
//! command for a side-by-side ratio in one run.
//!
//! The input (NDJSON in the source's format, or an `.evtx` file, whose records become EVTX
//! JSON lines `{"Event":…}`, which the Windows decoder reads as it reads the file) is
//! replicated to `--events` with fresh record ids and written once to a scratch NDJSON file.
//! A `tandem serve` child with `[detect] sigma_dirs` = the given directories (and without the
//! shipped rules, so both sides run the same rules) receives it over HTTP from `--clients`
//! threads, `--batch` lines per request, each answered once durable: decode, resolve,
//! detect, store events and findings. Reported: events/s, findings, the server's CPU time
//! (user + system, from `/proc`, counted from after the rules were loaded) and peak RSS.
//!
//! `--compare` runs a shell command on the same file (`{input}`, `{rules}`), first on an empty
//! file to measure its start-up (rule loading), then on the events; start-up is subtracted
//! from its time and CPU, as rule loading is left out of Tandem's figures. Its CPU comes
//! from `wait4`, its peak RSS from `/proc` while it runs.

use super::{BenchArgs, agent, peak_rss_mib, rss_mib, start_server_with};
use anyhow::{Context, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How every `.evtx` file starts.
const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// The input's events, one line each (EVTX records as EVTX JSON lines), and how many records
/// could not be read.
fn read_input(path: &Path) -> anyhow::Result<(Vec<String>, usize)> {
    let mut head = [0u8; 8];
    let evtx = std::fs::File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .read(&mut head)
        .map(|n| n == 8 && head == EVTX_MAGIC)?;
    if evtx {
        let mut parser = evtx::EvtxParser::from_path(path)
            .with_context(|| format!("{} is not a readable EVTX file", path.display()))?
            .with_configuration(evtx::ParserSettings::new().indent(false));
        let (mut lines, mut unreadable) = (Vec::new(), 0);
        for record in parser.records_json_value() {
            match record {
                Ok(r) => lines.push(r.data.to_string()),
                Err(_) => unreadable += 1,
            }
        }
        return Ok((lines, unreadable));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} as text", path.display()))?;
    let lines = text
        .lines()
        .map(|l| l.strip_prefix('\u{feff}').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    Ok((lines, 0))
}

/// Sets a Windows event's record id wherever its shape keeps it (Winlogbeat 7+
/// `winlog.record_id`, EVTX JSON `Event.System.EventRecordID`, NXLog `RecordNumber`,
/// Winlogbeat 6 `record_number`), so each copy is a record of its own, as a collector would
/// send it. Returns false when the line is not a JSON object of a known shape.
fn set_record_id(v: &mut Value, id: u64) -> bool {
    if let Some(w) = v.get_mut("winlog").and_then(Value::as_object_mut) {
        w.insert("record_id".to_owned(), id.into());
        return true;
    }
    if let Some(sys) = v
        .pointer_mut("/Event/System")
        .and_then(Value::as_object_mut)
    {
        sys.insert("EventRecordID".to_owned(), id.into());
        return true;
    }
    let Some(o) = v.as_object_mut() else {
        return false;
    };
    if o.contains_key("EventID") {
        o.insert("RecordNumber".to_owned(), id.into());
        true
    } else if o.contains_key("event_id") {
        o.insert("record_number".to_owned(), id.into());
        true
    } else {
        false
    }
}

/// Writes `events` lines to `out`, taking `lines` in turn; Windows lines get record ids
/// 1, 2, 3, …; other formats are sent as they are.
fn replicate(
    lines: &[String],
    events: u64,
    windows: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let parsed: Vec<Option<Value>> = lines
        .iter()
        .map(|l| {
            windows
                .then(|| serde_json::from_str::<Value>(l).ok())
                .flatten()
        })
        .collect();
    for i in 0..events {
        let n = (i % lines.len() as u64) as usize;
        match &parsed[n] {
            Some(v) => {
                let mut v = v.clone();
                if set_record_id(&mut v, i + 1) {
                    serde_json::to_writer(&mut *out, &v)?;
                } else {
                    out.write_all(lines[n].as_bytes())?;
                }
            }
            None => out.write_all(lines[n].as_bytes())?,
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A process's CPU time so far (user + system), in seconds, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / hz
}

/// What one run of the comparison command cost.
struct Run {
    wall: f64,
    cpu: f64,
    peak_rss_mib: f64,
    output_lines: u64,
}

/// Runs `sh -c 'exec command'` and waits for it with `wait4`, for its own CPU time; its peak
/// RSS is its `VmHWM`, read while it runs (`ru_maxrss` would carry this process's own peak
/// across the fork). `exec` makes the command the child itself: one command, with
/// redirections (`< {input}`), not a pipeline.
fn run_command(command: &str) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{command}`"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let counter = std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, stdout);
        let (mut lines, mut buf) = (0u64, Vec::new());
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            lines += 1;
            buf.clear();
        }
        lines
    });
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0.0f64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(peak_rss_mib(pid as u32));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak
        })
    };
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; the pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak_rss_mib = watcher.join().unwrap_or(0.0);
    if waited != pid {
        bail!("waiting for `{command}` failed");
    }
    let output_lines = counter.join().unwrap_or(0);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("`{command}` failed (wait status {status})");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Run {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        peak_rss_mib,
        output_lines,
    })
}

fn fill(template: &str, input: &Path, rules: Option<&PathBuf>) -> String {
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let mut cmd = template.replace("{input}", &quote(input));
    if let Some(r) = rules {
        cmd = cmd.replace("{rules}", &quote(r));
    }
    cmd
}

/// Sigma rules the server evaluates and how many it listed but could not use.
fn rule_counts(url: &str, token: &str) -> anyhow::Result<(usize, usize)> {
    let listed: Value = agent()
        .get(format!("{url}/api/v1/rules"))
        .header("Authorization", format!("Bearer {token}"))
        .call()?
        .body_mut()
        .read_json()?;
    let sigma: Vec<&Value> = listed["rules"]
        .as_array()
        .map(|r| r.iter().filter(|r| r["engine"] == "sigma").collect())
        .unwrap_or_default();
    let enabled = sigma.iter().filter(|r| r["enabled"] == true).count();
    Ok((enabled, sigma.len() - enabled))
}

fn findings(url: &str, token: &str) -> anyhow::Result<u64> {
    let body: Value = agent()
        .get(format!("{url}/api/v1/search"))
        .query("q", "class:detection_finding")
        .query("limit", "1")
        .header("Authorization", format!("Bearer {token}"))
        .call()?
        .body_mut()
        .read_json()?;
    body["total"]
        .as_u64()
        .context("the search answered no total")
}

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let input = args.input.as_deref().context("--input is required")?;
    if args.sigma_dir.is_empty() {
        bail!("--input needs the rules to replay with: --sigma-dir DIR");
    }
    let (lines, unreadable) = read_input(input)?;
    if lines.is_empty() {
        bail!("{} holds no events", input.display());
    }
    let events = args.events.unwrap_or(lines.len() as u64);
    let scratch = tempfile::Builder::new().prefix("tandem-replay").tempdir()?;
    let stream = scratch.path().join("events.ndjson");
    {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&stream)?);
        replicate(&lines, events, args.format == "windows", &mut out)?;
    }
    println!(
        "replay: {events} events ({} distinct from {}{}), format {}, over HTTP, {} clients, {} \
         events per request, durable acks",
        lines.len(),
        input.display(),
        if unreadable > 0 {
            format!(", {unreadable} unreadable records left out")
        } else {
            String::new()
        },
        args.format,
        args.clients,
        args.batch,
    );

    let mut dirs = Vec::new();
    for d in &args.sigma_dir {
        let d = std::path::absolute(d)?;
        dirs.push(toml::Value::from(d.display().to_string()).to_string());
    }
    let env = [
        (
            "TANDEM_DETECT__SIGMA_DIRS",
            format!("[{}]", dirs.join(", ")),
        ),
        ("TANDEM_DETECT__SHIPPED_RULES", "false".to_owned()),
    ];
    let server = start_server_with(&args.data_dir, args.server.as_deref(), &env)?;
    let result = replay(
        args,
        &server.url,
        &server.token,
        server.pid,
        &stream,
        events,
    );
    server.stop();
    let tandem = result?;

    let Some(template) = &args.compare else {
        return Ok(());
    };
    let empty = scratch.path().join("empty.ndjson");
    std::fs::File::create(&empty)?;
    let rules = args.sigma_dir.first();
    let startup = run_command(&fill(template, &empty, rules))?;
    let run = run_command(&fill(template, &stream, rules))?;
    let wall = (run.wall - startup.wall).max(f64::EPSILON);
    let cpu = (run.cpu - startup.cpu).max(0.0);
    let rate = events as f64 / wall;
    println!(
        "  compare `{template}`: {rate:.0} events/s ({events} in {wall:.1} s after {:.1} s of \
         start-up on an empty input); CPU {cpu:.1} s = {:.0} µs per event; peak RSS {:.0} MiB; \
         {} lines of output",
        startup.wall,
        cpu / events as f64 * 1e6,
        run.peak_rss_mib,
        run.output_lines,
    );
    println!(
        "  ratio Tandem / compare: {:.2}× the events/s, {:.2}× the CPU per event, {:.2}× the \
         peak RSS",
        tandem.rate / rate,
        if cpu > 0.0 {
            tandem.cpu / cpu
        } else {
            f64::NAN
        },
        tandem.peak_rss_mib / run.peak_rss_mib.max(f64::EPSILON),
    );
    Ok(())
}

/// What Tandem's run measured.
struct Measured {
    rate: f64,
    cpu: f64,
    peak_rss_mib: f64,
}

fn replay(
    args: &BenchArgs,
    url: &str,
    token: &str,
    pid: u32,
    stream: &Path,
    events: u64,
) -> anyhow::Result<Measured> {
    let (rules, refused) = rule_counts(url, token)?;
    println!(
        "  rules: {rules} Sigma rules evaluated, {refused} listed but not used (`tandem rules \
         check` says why); server RSS with them loaded {:.0} MiB",
        rss_mib(pid)
    );
    let created: Value = agent()
        .post(format!("{url}/api/v1/sources"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(serde_json::json!({"name": "replay", "format": args.format}))?
        .body_mut()
        .read_json()?;
    let key = created["api_key"]
        .as_str()
        .with_context(|| format!("the source was not created: {created}"))?
        .to_owned();
    let reader = Arc::new(Mutex::new(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(stream)?,
    )));
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (reader, key, url) = (reader.clone(), key.clone(), url.to_owned());
        let batch = args.batch.max(1);
        handles.push(std::thread::spawn(move || -> anyhow::Result<(u64, u64)> {
            let agent = agent();
            let (mut accepted, mut rejected) = (0u64, 0u64);
            loop {
                let mut body = Vec::new();
                {
                    let mut r = reader
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
                    for _ in 0..batch {
                        if r.read_until(b'\n', &mut body)? == 0 {
                            break;
                        }
                    }
                }
                if body.is_empty() {
                    return Ok((accepted, rejected));
                }
                loop {
                    let mut response = super::post_batch_to(&agent, &url, "replay", &key, &body)?;
                    if response.status() == 503 {
                        // The store's queue is full: back off and send the same batch again.
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    let answer: Value = response.body_mut().read_json().unwrap_or_default();
                    if !response.status().is_success() {
                        bail!("ingest failed: {} {answer}", response.status());
                    }
                    accepted += answer["accepted"].as_u64().unwrap_or(0);
                    rejected += answer["rejected"].as_u64().unwrap_or(0);
                    break;
                }
            }
        }));
    }
    let (mut accepted, mut rejected) = (0, 0);
    for h in handles {
        let (a, r) = h
            .join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        accepted += a;
        rejected += r;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let found = findings(url, token)?;
    let rate = events as f64 / elapsed;
    let peak = peak_rss_mib(pid);
    println!(
        "  tandem: {rate:.0} events/s ({accepted} stored, {rejected} dead-lettered, in {elapsed:.1} \
         s); {found} findings ({:.2} per event); server CPU {cpu:.1} s (user + system) = {:.0} µs \
         per event; peak RSS {peak:.0} MiB",
        found as f64 / events as f64,
        cpu / events as f64 * 1e6,
    );
    Ok(Measured {
        rate,
        cpu: cpu / events as f64,
        peak_rss_mib: peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_copy_gets_a_fresh_record_id_in_every_shape() {
        let lines: Vec<String> = [
            json!({"winlog":{"event_id":"4624","record_id":7}}),
            json!({"Event":{"System":{"EventID":1,"EventRecordID":7}}}),
            json!({"EventID":4625,"RecordNumber":7}),
            json!({"event_id":3,"log_name":"x","record_number":"7"}),
        ]
        .iter()
        .map(Value::to_string)
        .chain(["not json".to_owned()])
        .collect();
        let mut out = Vec::new();
        replicate(&lines, 7, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), 7);
        let v = |i: usize| serde_json::from_str::<Value>(got[i]).unwrap();
        assert_eq!(v(0)["winlog"]["record_id"], 1);
        assert_eq!(v(1)["Event"]["System"]["EventRecordID"], 2);
        assert_eq!(v(2)["RecordNumber"], 3);
        assert_eq!(v(3)["record_number"], 4);
        assert_eq!(
            got[4], "not json",
            "what is not a Windows event is sent as it is"
        );
        assert_eq!(
            v(5)["winlog"]["record_id"],
            6,
            "the second round is fresh too"
        );
    }

    #[test]
    fn the_compare_command_gets_quoted_paths() {
        let cmd = fill(
            "rsigma engine eval -r {rules} < {input}",
            Path::new("/tmp/it's.ndjson"),
            Some(&PathBuf::from("/rules")),
        );
        assert_eq!(
            cmd,
            "rsigma engine eval -r '/rules' < '/tmp/it'\\''s.ndjson'"
        );
    }
}
