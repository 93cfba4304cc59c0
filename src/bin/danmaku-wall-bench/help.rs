//! The `--help` text: every mode and flag, with examples.

pub const HELP: &str = "\
danmaku-wall-bench: load generator for the danmaku-wall WebSocket server

USAGE:
    danmaku-wall-bench fanout [FLAGS]    publishers post, every connection in the room receives
    danmaku-wall-bench bigroom [FLAGS]   fanout preset: 10000 subscribers, 1 publisher, 50 posts/s, 10 s
    danmaku-wall-bench idle [FLAGS]      hold many idle connections, then check one broadcast
    danmaku-wall-bench --help

  fanout: S subscribers and P publishers join one room (publishers receive every broadcast
  too). Each post's msg carries `b<seq> <send_ns>` (ns on the bench's monotonic clock); every
  delivery's latency is recorded. After --warmup, posts are counted for --duration seconds;
  then up to --drain seconds collect what is still in flight. Reports deliveries, expected
  (posts x connections open at the time), LOST (a loss is a bug), deliveries/s, latency
  percentiles, error frames and, with --spawn or --pid, deliveries per server CPU-second and
  deliveries per server write call. The server's `hello` frame (the first after each upgrade)
  is not a delivery; a server that sends none (the comparison server) works as well.

  bigroom: the big-room workload, a fanout with other defaults (--subscribers 10000
  --publishers 1 --rate 50 --duration 10); every fanout flag still applies, and --latencies
  FILE keeps every delivery's latency. Against the comparison server (tokio-tungstenite, see
  the README's Performance section), point --spawn at its binary: it ignores every flag but
  --bind (its write calls come from /proc) and rebroadcasts raw posts, which the bench recognises too.

  idle: opens --conns connections (--connect-concurrency handshakes in flight), holds them
  --hold seconds, reads the server's RSS, then (unless --no-broadcast) one more connection
  posts one danmaku and every held connection must receive it.

SERVER (every mode):
        --url ws://HOST:PORT/PATH  server and path to load [default: ws://127.0.0.1:3000/ws?room=bench]
                                   (with --spawn only the path and query are used)
        --spawn PATH               start the server binary PATH with `--bind 127.0.0.1:0 --rate 0
                                   --ping-interval 0 --max-connections 100000 --max-backlog 16777216
                                   --metrics` (its GET /metrics counts its socket writes), read its
                                   port from its `listening on http://` line, stop it at the end
        --server-arg ARG           one more argument for the spawned server (repeatable)
        --pid PID                  measure an already running server (CPU time, RSS; write calls
                                   from GET /metrics at --url's host:port if it has --metrics)
        --server-cpu N             pin the server (every thread) to CPU core N
        --bench-cpu N              pin this tool to CPU core N

FANOUT and BIGROOM:
        --subscribers S            receiving connections [default: 1000; bigroom 10000]
        --publishers P             posting connections, also receiving [default: 1]
        --rate R|max               posts per second over all publishers, or `max`: each publisher
                                   keeps --window posts in flight [default: 100; bigroom 50]
        --arrival PATTERN          when publishers post [default: even with --rate R, burst with max]:
                                     even     --rate R: each publisher at a fixed interval
                                     poisson  --rate R: each publisher at random (Poisson) times,
                                              exponential gaps, R/s on average over all of them
                                     burst    --rate max: each turn of the loop refills every
                                              publisher's window of --window posts at once
                                     sliding  --rate max: a publisher sends a new post the moment
                                              one of its posts comes back (window --window)
        --window W                 with --rate max: posts a publisher may have sent but not yet
                                   received back [default: 8]
        --duration SECS            measured window [default: 10]
        --warmup SECS              load before measuring, not recorded [default: 1]
        --drain SECS               longest wait for in-flight deliveries after the window [default: 2]
        --msg-bytes N              msg text length, `b<seq> <ns>` padded with `~` [default: 24]
        --latencies FILE           also write every measured delivery's latency, in microseconds,
                                   one per line

CLUSTER (fanout and bigroom, with --spawn):
        --redis-nodes N            measure a cluster: start a private Redis (`redis-server --port P
                                   --save '' --appendonly no` on a free loopback port, the bench's
                                   own child, stopped at the end), then N nodes from --spawn, each
                                   with the --spawn flags and `--redis redis://127.0.0.1:P`; wait until every node's
                                   GET /healthz says 200; spread the connections over the nodes
                                   round-robin (connection k to node k mod N: publishers first,
                                   then subscribers). CPU figures count every node and the Redis
                                   together (deliveries per CPU-second of the whole cluster),
                                   and each one apart (node1_cpu_s..., redis_cpu_s); with ports of
                                   their own each node's deliveries too. 1 to 64 nodes.
        --reuse-port               all nodes on one port with the server's --reuse-port: the kernel
                                   spreads the connections (per-node deliveries are not known then)
        --redis-server PATH        the Redis binary [default: redis-server]

IDLE:
        --conns N                  connections to hold [default: 10000]
        --hold SECS                how long to hold them before measuring [default: 5]
        --broadcast                post one danmaku and check every held connection gets it [default]
        --no-broadcast             skip that check

OTHER:
        --connect-concurrency N    handshakes in flight at once [default: 100]; more than the
                                   server's listen backlog (4096 by default, see the server's
                                   config) overflows it: dropped SYNs and ~1 s retransmits,
                                   i.e. slower connecting
        --json                     end the output with exactly one JSON line holding every figure
    -h, --help                     print this and exit

Fractional seconds are fine (--hold 0.5). The bench raises its open-file limit to the hard
limit; every connection needs one descriptor. To a loopback server, connections come from
source addresses 127.0.0.2-254 in turn, so local ports are not the limit.

EXAMPLES:
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --arrival sliding
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --publishers 50 --rate 500 --arrival poisson
    danmaku-wall-bench bigroom --spawn target/release/danmaku-wall --latencies /tmp/ours.txt
    danmaku-wall-bench bigroom --spawn ../tt-compare/target/release/tt-compare --latencies /tmp/theirs.txt

  Cluster against single node (same flags, run back to back; compare deliveries/CPU-s and latency):
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --arrival sliding
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --arrival sliding --redis-nodes 1
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate 200 --redis-nodes 1
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate 200
  Two nodes sharing a port against one node:
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --redis-nodes 2 --reuse-port
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --redis-nodes 1

OUTPUT:
    Aligned text; with --json also one JSON line at the end. CPU figures cover the measured
    window (fanout) or the connecting phase (idle): the server's from /proc/PID/stat (with
    --redis-nodes: every node's and the Redis's, added up), the bench's own from getrusage,
    and other processes' from /proc/stat. A warning says when the bench's core is saturated
    (>= 90%: figures are a lower bound), when the server's is, and when other processes used
    >= 10% of a core (figures are noisy). fanout also counts the server's write system calls
    in the window and divides the deliveries by them: how many messages one write carried,
    i.e. how well the server batches, for every arrival pattern. At the start and the end of
    the window the bench asks each node's GET /metrics (plain HTTP/1.1, 2 s timeout, outside
    the measured loop) for danmaku_socket_writes_total; if every node answers with it, their
    sum is the figure (it includes the answer to the first request: one write per node), else
    syscw of /proc/PID/io is (write and writev only, not send or sendmsg: none for a server
    that sends with send). The report says which: `(danmaku_socket_writes_total)` or
    `(syscw)`, JSON `server_writes_source`. Nodes sharing a port (--reuse-port) cannot be
    asked apart: syscw then. The same answers carry the server's danmaku_flush_pass_seconds
    histogram (flush passes to 64 or more connections, first write to last: how long one
    broadcast takes to reach every wall); from its buckets at the two marks, added over the
    nodes, the `flush pass` line gives the passes in the window, their mean, and the upper
    bounds of the buckets holding the median and the 99th percentile (`p99 <= 15 ms`; `> 1000
    ms` beyond the last bucket). JSON: flush_passes, flush_pass_mean_ms, flush_pass_p50_le_ms,
    flush_pass_p99_le_ms; n/a and null when a node lacks the histogram or with --reuse-port.

EXIT STATUS:
    0 the run completed and every check passed; 1 the run could not be done (server not
    reachable, spawn failed); 2 bad flags; 3 the run completed but a check failed (deliveries
    lost, a broadcast missed, connections failed or dropped).
";
