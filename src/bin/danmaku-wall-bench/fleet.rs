//! What is measured: one server (spawned or `--pid`), or with `--redis-nodes` a cluster of
//! nodes and their private Redis ([`crate::cluster`]). CPU time counts every process of it;
//! memory and write calls count the nodes (Redis does not serve the clients).

use crate::procinfo::Server;
use crate::redis::RedisServer;

/// The server side of a run.
pub struct Fleet {
    pub nodes: Vec<Server>,
    pub redis: Option<RedisServer>,
    /// Whether the nodes share one port (`--reuse-port`).
    pub shared_port: bool,
}

impl Fleet {
    pub fn single(server: Server) -> Fleet {
        Fleet { nodes: vec![server], redis: None, shared_port: false }
    }

    /// Whether this is a cluster (nodes with Redis), even of one node.
    pub fn is_cluster(&self) -> bool {
        self.redis.is_some()
    }

    /// Every measured process: (`node1`..., `redis`, pid); a single server is `server`.
    pub fn processes(&self) -> Vec<(String, i32)> {
        if !self.is_cluster() {
            return self.nodes.iter().map(|n| ("server".to_string(), n.pid)).collect();
        }
        let nodes = self.nodes.iter().enumerate().map(|(i, n)| (format!("node{}", i + 1), n.pid));
        nodes.chain(self.redis.iter().map(|r| ("redis".to_string(), r.pid()))).collect()
    }

    /// CPU seconds of each process of [`processes`](Self::processes), in that order.
    pub fn cpu_seconds(&self) -> Vec<Option<f64>> {
        let procs = self.processes();
        procs.iter().map(|&(_, pid)| danmaku_wall::kit::procfs::cpu_seconds(pid)).collect()
    }

    /// Resident memory of the nodes together.
    pub fn rss_kib(&self) -> Option<u64> {
        self.nodes.iter().map(Server::rss_kib).sum()
    }

    /// Write system calls of the nodes together.
    pub fn write_calls(&self) -> Option<u64> {
        self.nodes.iter().map(Server::write_calls).sum()
    }

    /// `Some(reason)` once a spawned node or the Redis has exited.
    pub fn exited(&mut self) -> Option<String> {
        let many = self.nodes.len() > 1;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Some(how) = node.exited() {
                return Some(if many { format!("node {}: {how}", i + 1) } else { how });
            }
        }
        let redis = self.redis.as_mut()?.exited()?;
        Some(format!("redis-server: {redis}"))
    }

    /// Stops the spawned nodes (then Redis, by dropping it); returns how each ended that did
    /// not end with status 0.
    pub fn stop(&mut self) -> Vec<String> {
        let many = self.nodes.len() > 1;
        let mut odd = Vec::new();
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Some(how) = node.stop()
                && !how.contains("exit status: 0")
            {
                odd.push(if many { format!("node {}: {how}", i + 1) } else { how });
            }
        }
        self.redis = None;
        odd
    }
}
