//! `danmaku-wall-bench`: a load generator for the danmaku wall, on the crate's own client
//! side of RFC 6455 (the kit's upgrade request, `check_server_response`, `WsConn` in the
//! client role) and a single-threaded mio loop.
//!
//! - [`args`]: flags ([`ws_url`]: `--url`); [`help`]: the `--help` text.
//! - [`client`]: the connections and the event loop (attempts and transfer in its submodules).
//! - [`fanout`] (with [`publish`]: arrival patterns, [`fanout_report`]: its figures), [`idle`]:
//!   the modes.
//! - [`stats`]: the latency histogram and the token scan of the receive path.
//! - [`procinfo`]: spawning (the kit's `ServerProcess`), pinning and measuring the server;
//!   [`metrics`]: the server's own count of its write calls, from `GET /metrics`, and
//!   [`buckets`]: its histogram of flush passes.
//! - [`fleet`]: what is measured, one server or a cluster; [`cluster`]: `--redis-nodes`, the
//!   nodes and their private Redis ([`redis`]).
//! - [`report`]: figures defined once, rendered as text and JSON.
//! - [`sock`]: local-port choice on loopback.

mod args;
mod buckets;
mod client;
mod cluster;
mod fanout;
mod fanout_report;
mod fleet;
mod help;
mod idle;
mod metrics;
mod procinfo;
mod publish;
mod redis;
mod report;
mod sock;
mod stats;
mod ws_url;

use std::net::ToSocketAddrs;
use std::process::ExitCode;

use args::{Command, Mode};
use client::Target;
use fleet::Fleet;
use procinfo::Server;

/// Descriptors kept free beyond one per connection (stdio, epoll, /proc reads, the pipe).
const SPARE_FDS: u64 = 32;

fn main() -> ExitCode {
    let options = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{}", help::HELP);
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("danmaku-wall-bench: {why}");
            return ExitCode::from(2);
        }
    };
    let conns = match &options.mode {
        Mode::Fanout(f) => f.subscribers + f.publishers,
        Mode::Idle(i) => i.conns + usize::from(i.broadcast),
    } as u64;
    match danmaku_wall::server::system::raise_fd_limit() {
        Ok((soft, _)) if conns + SPARE_FDS > soft => {
            eprintln!(
                "danmaku-wall-bench: {conns} connections need {} descriptors; the open-file limit is {soft}",
                conns + SPARE_FDS
            );
            return ExitCode::from(2);
        }
        Ok(_) => {}
        Err(e) => eprintln!("danmaku-wall-bench: cannot read the open-file limit: {e}"),
    }
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(why) => {
            eprintln!("danmaku-wall-bench: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &args::Options) -> Result<bool, String> {
    let common = &options.common;
    if let Some(cpu) = common.bench_cpu {
        procinfo::pin_self(cpu)?;
    }
    let cluster = match &options.mode {
        Mode::Fanout(f) => f.cluster.as_ref(),
        Mode::Idle(_) => None,
    };
    let mut fleet = match (&common.spawn, common.pid, cluster) {
        (Some(path), _, Some(c)) => Some(cluster::start(path, &common.server_args, c)?),
        (Some(path), _, None) => Some(Fleet::single(Server::spawn(path, procinfo::SPAWN_BIND, &common.server_args)?)),
        (None, Some(pid), _) => Some(Fleet::single(Server::attach(pid)?)),
        (None, None, _) => None,
    };
    if let (Some(fleet), Some(cpu)) = (&fleet, common.server_cpu) {
        procinfo::pin_process(fleet.nodes[0].pid, cpu)?;
    }
    let targets = targets(&common.url, fleet.as_ref())?;
    if let Some(fleet) = fleet.as_mut() {
        fleet.aim_metrics(&targets);
    }
    let result = match &options.mode {
        Mode::Fanout(opts) => fanout::run(common, opts, &targets, fleet.as_mut()),
        Mode::Idle(opts) => idle::run(common, opts, &targets, fleet.as_mut()),
    };
    for how in fleet.as_mut().map(Fleet::stop).unwrap_or_default() {
        eprintln!("danmaku-wall-bench: the spawned server ended: {how}");
    }
    result
}

/// Where to connect: every spawned node's address (once each: nodes sharing a port are one
/// target), else `--url`.
fn targets(url: &args::WsUrl, fleet: Option<&Fleet>) -> Result<Vec<Target>, String> {
    let mut targets: Vec<Target> = Vec::new();
    for addr in fleet.iter().flat_map(|f| f.nodes.iter().filter_map(|n| n.addr)) {
        if !targets.iter().any(|t| t.addr == addr) {
            targets.push(Target { addr, host: addr.to_string() });
        }
    }
    if targets.is_empty() {
        let authority = &url.authority;
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("--url: cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("--url: {authority} resolves to nothing"))?;
        targets.push(Target { addr, host: authority.clone() });
    }
    Ok(targets)
}
