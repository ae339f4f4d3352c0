//! The stale-read hunt across processes, shared by the short test
//! (tests/redis_near.rs, `no_read_is_stale_beyond_the_bound`) and the long-run bench
//! (benches/near_hunt.rs).
//!
//! A `redis-cli` process (outside this library and this process) bumps versions of a few keys
//! while reader processes (`near_reader`, of a [`ReaderKind`]) read them through an
//! in-process copy. Every read is checked against the versions acknowledged before it began
//! (one machine, one wall clock): a read older than the newest version acknowledged more
//! than the bound before it began is stale beyond the bound; a read older than the newest
//! version acknowledged before it began, but not beyond, is stale within the bound (which the
//! bound allows: an invalidation takes time to arrive).
//!
//! The writer writes plain values (`SET <prefix>k<n> <version>`) so that every kind of reader
//! reads the same data.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::redis_harness::{RedisServer, cli_command};

/// Versions acknowledged per key, with when (unix ns) the writer saw each acknowledgement.
/// Per key, both increase with the index: one writer, logging each reply before the next
/// write.
pub type WriteLog = Arc<Mutex<Vec<Vec<(u64, u128)>>>>;

/// Nanoseconds since the Unix epoch: the clock the writer and the reader processes share.
pub fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// What a reader process reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    /// `RedisBackend` with its near cache on (`RedisConfig::near_cache`).
    Near,
    /// A redis-rs `MultiplexedConnection` with client-side caching (`cache-aio`), reading
    /// plain `GET`s: the other RESP3-tracking cache in the Rust ecosystem, as a comparison.
    CacheAio,
}

impl ReaderKind {
    /// Both kinds, in the order the bench runs them.
    pub const ALL: [Self; 2] = [Self::Near, Self::CacheAio];

    /// The kind's name on `near_reader`'s command line and in reports.
    pub fn arg(self) -> &'static str {
        match self {
            Self::Near => "near",
            Self::CacheAio => "cache-aio",
        }
    }

    /// The kind named `arg` (see [`arg`](Self::arg)).
    pub fn from_arg(arg: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.arg() == arg)
    }

    /// The URL this kind's reader connects with: cache-aio needs RESP3 asked for in it
    /// (redis-rs speaks RESP2 by default and refuses client-side caching over it); the near
    /// cache picks its protocol itself.
    fn url(self, server: &RedisServer) -> String {
        match self {
            Self::Near => server.url(),
            Self::CacheAio => format!("{}?protocol=resp3", server.url()),
        }
    }
}

/// The writer: a `redis-cli` process setting `<prefix>k<n>` to increasing versions until
/// `until`, each acknowledgement logged. Returns how many versions it wrote.
pub fn write_versions(port: u16, prefix: &str, keys: usize, until: Instant, log: &WriteLog) -> u64 {
    let mut cli = cli_command(port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut commands = cli.stdin.take().unwrap();
    let mut replies = BufReader::new(cli.stdout.take().unwrap());
    let mut version = 0_u64;
    let mut reply = String::new();
    while Instant::now() < until {
        version += 1;
        let key = (version as usize * 7) % keys;
        writeln!(commands, "SET {prefix}k{key} {version}").unwrap();
        commands.flush().unwrap();
        reply.clear();
        replies.read_line(&mut reply).unwrap();
        assert_eq!(reply.trim(), "OK");
        log.lock().unwrap()[key].push((version, unix_nanos()));
        // A key is rewritten every couple of milliseconds: time for copies to be served.
        std::thread::sleep(Duration::from_micros(200));
    }
    drop(commands);
    cli.wait().unwrap();
    version
}

/// Starts a reader process (`bin` is `near_reader`, which only integration tests and benches
/// can name, through `CARGO_BIN_EXE_near_reader`) and waits until it reports it serves.
pub fn start_reader(
    bin: &Path,
    kind: ReaderKind,
    url: &str,
    prefix: &str,
    keys: usize,
    seconds: u64,
) -> Child {
    let mut child = Command::new(bin)
        .args([
            kind.arg(),
            url,
            prefix,
            &keys.to_string(),
            &seconds.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    lines.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready", "{} reader", kind.arg());
    child.stdout = Some(lines.into_inner());
    child
}

/// The counts of one hunt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Reads the readers reported.
    pub reads: u64,
    /// Versions the writer wrote.
    pub writes: u64,
    /// Reads older than a version acknowledged before they began, but within the bound.
    pub within: u64,
    /// Reads older than a version acknowledged more than the bound before they began: stale
    /// beyond the bound.
    pub beyond: u64,
    /// The stalest read: how long before it began a newer version had been acknowledged
    /// (zero when no read was stale). Tells a late invalidation from a copy never invalidated.
    pub worst: Duration,
    /// Per reader, the reads its in-process copy served (as the reader counts them).
    pub hits: Vec<u64>,
}

/// Judges the readers' `reports` (their standard output) against the writer's `log`.
///
/// # Panics
///
/// On a report line that is neither `read <key> <version> <started>` nor `stats <hits>`.
pub fn judge(
    reports: &[String],
    log: &[Vec<(u64, u128)>],
    bound: Duration,
    writes: u64,
) -> Verdict {
    let bound = bound.as_nanos();
    let mut verdict = Verdict {
        writes,
        ..Verdict::default()
    };
    for report in reports {
        for line in report.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["read", key, version, started] => {
                    let key: usize = key.parse().unwrap();
                    let read: u64 = version.parse().unwrap();
                    let started: u128 = started.parse().unwrap();
                    verdict.reads += 1;
                    let acked = &log[key];
                    // Versions grow with acknowledgement times (see `WriteLog`), so the
                    // newest version acknowledged by a time is a binary search away.
                    let newest_by = |time: u128| {
                        let count = acked.partition_point(|(_, at)| *at <= time);
                        count.checked_sub(1).map_or(0, |index| acked[index].0)
                    };
                    if read < newest_by(started.saturating_sub(bound)) {
                        verdict.beyond += 1;
                    } else if read < newest_by(started) {
                        verdict.within += 1;
                    } else {
                        continue;
                    }
                    // The first version newer than the one read: since then, it was stale.
                    let newer = acked[acked.partition_point(|(version, _)| *version <= read)].1;
                    let age = Duration::from_nanos((started - newer) as u64);
                    verdict.worst = verdict.worst.max(age);
                }
                ["stats", hits] => verdict.hits.push(hits.parse().unwrap()),
                other => panic!("unexpected report line {other:?}"),
            }
        }
    }
    verdict
}

/// One hunt: what [`run`](Self::run) needs besides the server.
#[derive(Debug, Clone)]
pub struct Hunt<'a> {
    /// The `near_reader` binary (see [`start_reader`]).
    pub reader_bin: &'a Path,
    /// What the readers read through.
    pub kind: ReaderKind,
    /// The keys' prefix: `<prefix>k0` ..
    pub prefix: &'a str,
    /// Reader processes.
    pub readers: usize,
    /// Keys written and read.
    pub keys: usize,
    /// How long the writer writes (and the readers read).
    pub seconds: u64,
    /// How stale a read may be: see the module documentation.
    pub bound: Duration,
}

impl Hunt<'_> {
    /// Seeds the keys at version 0, starts the readers, writes for
    /// [`seconds`](Self::seconds), and judges every read against [`bound`](Self::bound).
    ///
    /// # Panics
    ///
    /// When a reader or the writer fails.
    pub fn run(&self, server: &RedisServer) -> Verdict {
        let (kind, keys, seconds) = (self.kind, self.keys, self.seconds);
        for key in 0..keys {
            server.cli(&["SET", &format!("{}k{key}", self.prefix), "0"]);
        }
        let url = kind.url(server);
        let children: Vec<Child> = (0..self.readers)
            .map(|_| start_reader(self.reader_bin, kind, &url, self.prefix, keys, seconds))
            .collect();
        let log: WriteLog = Arc::new(Mutex::new(vec![Vec::new(); keys]));
        let until = Instant::now() + Duration::from_secs(seconds);
        let writing = {
            let (log, port, prefix) = (Arc::clone(&log), server.port(), self.prefix.to_owned());
            std::thread::spawn(move || write_versions(port, &prefix, keys, until, &log))
        };
        // Each report drained on its own thread: a reader whose pipe is full would stop
        // reading while another reader's report is collected.
        let draining: Vec<_> = children
            .into_iter()
            .map(|mut child| {
                let mut stdout = child.stdout.take().unwrap();
                let report = std::thread::spawn(move || {
                    let mut report = String::new();
                    std::io::Read::read_to_string(&mut stdout, &mut report).unwrap();
                    report
                });
                (child, report)
            })
            .collect();
        let reports: Vec<String> = draining
            .into_iter()
            .map(|(mut child, report)| {
                let report = report.join().unwrap();
                let status = child.wait().unwrap();
                assert!(status.success(), "{} reader: {status}", kind.arg());
                report
            })
            .collect();
        let writes = writing.join().unwrap();
        let log = log.lock().unwrap();
        judge(&reports, &log, self.bound, writes)
    }
}
