//! What is measured: one server (spawned or `--pid`), or with `--redis-nodes` a cluster of
//! nodes and their private Redis ([`crate::cluster`]). CPU time counts every process of it;
//! memory and write calls count the nodes (Redis does not serve the clients).

use crate::client::Target;
use crate::metrics;
use crate::procinfo::Server;
use crate::redis::RedisServer;

/// The server side of a run.
pub struct Fleet {
    pub nodes: Vec<Server>,
    pub redis: Option<RedisServer>,
    /// Whether the nodes share one port (`--reuse-port`).
    pub shared_port: bool,
    /// Where each node's `GET /metrics` is asked, in node order ([`aim_metrics`](Self::aim_metrics)).
    pub metrics_at: Vec<Target>,
}

impl Fleet {
    pub fn single(server: Server) -> Fleet {
        Fleet { nodes: vec![server], redis: None, shared_port: false, metrics_at: Vec::new() }
    }

    /// Sets where the nodes' `/metrics` is asked: the run's targets, when there is one per node
    /// (each spawned node at its own address; an attached server at `--url`'s).
    pub fn aim_metrics(&mut self, targets: &[Target]) {
        self.metrics_at = if targets.len() == self.nodes.len() { targets.to_vec() } else { Vec::new() };
    }

    /// [`metrics::SOCKET_WRITES`] and the flush passes of the nodes together, asked of each
    /// node; why not, if not.
    pub fn counted(&self) -> Result<metrics::Counted, String> {
        if self.shared_port && self.nodes.len() > 1 {
            return Err("the nodes share one port: /metrics cannot be asked of each node".to_string());
        }
        if self.metrics_at.len() != self.nodes.len() {
            return Err("no address to ask /metrics".to_string());
        }
        metrics::counted(&self.metrics_at)
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

    /// Write system calls of the nodes together, as `/proc` counts them (`syscw`).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own process stands in for an attached server.
    fn attached() -> Server {
        Server::attach(std::process::id() as i32).unwrap()
    }

    fn target(port: u16) -> Target {
        Target { addr: ([127, 0, 0, 1], port).into(), host: format!("wall.test:{port}") }
    }

    #[test]
    fn metrics_are_asked_of_each_node_or_not_at_all() {
        let mut one = Fleet::single(attached());
        assert_eq!(one.counted(), Err("no address to ask /metrics".to_string()));
        one.aim_metrics(&[target(1)]);
        assert_eq!(one.metrics_at, [target(1)], "an attached server: --url's address");
        // Nothing listens on port 1 here: the reason names the address.
        assert!(one.counted().unwrap_err().starts_with("127.0.0.1:1: "));
        // Two nodes and one target (a shared port): no node can be asked apart.
        let mut two =
            Fleet { nodes: vec![attached(), attached()], redis: None, shared_port: true, metrics_at: Vec::new() };
        two.aim_metrics(&[target(1)]);
        assert!(two.metrics_at.is_empty());
        assert_eq!(two.counted(), Err("the nodes share one port: /metrics cannot be asked of each node".to_string()));
        two.shared_port = false;
        two.aim_metrics(&[target(1), target(2)]);
        assert_eq!(two.metrics_at, [target(1), target(2)]);
    }
}
