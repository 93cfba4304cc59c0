//! `danmaku-wall-bench`: a load generator for the danmaku wall, on the crate's own client
//! side of RFC 6455 (the kit's upgrade request, `check_server_response`, `WsConn` in the
//! client role) and a single-threaded mio loop.
//!
//! - [`args`]: flags; [`help`]: the `--help` text.
//! - [`client`]: the connections and the event loop (attempts and transfer in its submodules).
//! - [`fanout`] (with [`publish`]: arrival patterns, [`fanout_report`]: its figures), [`idle`]:
//!   the modes.
//! - [`stats`]: the latency histogram and the token scan of the receive path.
//! - [`procinfo`]: spawning (the kit's `ServerProcess`), pinning and measuring the server.
//! - [`report`]: figures defined once, rendered as text and JSON.
//! - [`sock`]: local-port choice on loopback.

mod args;
mod client;
mod fanout;
mod fanout_report;
mod help;
mod idle;
mod procinfo;
mod publish;
mod report;
mod sock;
mod stats;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use args::{Command, Mode};

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
    let mut server = match (&common.spawn, common.pid) {
        (Some(path), _) => Some(procinfo::Server::spawn(path, &common.server_args)?),
        (None, Some(pid)) => Some(procinfo::Server::attach(pid)?),
        (None, None) => None,
    };
    if let (Some(server), Some(cpu)) = (&server, common.server_cpu) {
        procinfo::pin_process(server.pid, cpu)?;
    }
    let (addr, host): (SocketAddr, String) = match server.as_ref().and_then(|s| s.addr) {
        Some(addr) => (addr, addr.to_string()),
        None => {
            let authority = &common.url.authority;
            let addr = authority
                .to_socket_addrs()
                .map_err(|e| format!("--url: cannot resolve {authority}: {e}"))?
                .next()
                .ok_or_else(|| format!("--url: {authority} resolves to nothing"))?;
            (addr, authority.clone())
        }
    };
    let result = match &options.mode {
        Mode::Fanout(opts) => fanout::run(common, opts, addr, &host, server.as_mut()),
        Mode::Idle(opts) => idle::run(common, opts, addr, &host, server.as_mut()),
    };
    if let Some(server) = server.as_mut()
        && let Some(how) = server.stop()
        && !how.contains("exit status: 0")
    {
        eprintln!("danmaku-wall-bench: the spawned server ended: {how}");
    }
    result
}
