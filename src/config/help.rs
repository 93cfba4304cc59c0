//! `--help`: every flag, its default, what it does.

pub const HELP: &str = "\
danmaku-wall: a live bullet-comment wall and the WebSocket server behind it

USAGE:
    danmaku-wall [FLAGS]

Open http://HOST:PORT/wall on the projector and /post on phones.

FLAGS:
    -b, --bind HOST:PORT          IP:PORT or localhost:PORT to listen on; port 0 picks a free one [default: 127.0.0.1:3000]
        --www DIR                 serve the pages from DIR instead of the built-in copy
        --ping-interval SECS      ping every WebSocket this often; 0 turns heartbeats off [default: 25]
        --ping-timeout SECS       drop a connection silent this long after a ping [default: 20]
        --request-timeout SECS    time allowed to send a complete request head [default: 10]
        --keepalive-timeout SECS  idle HTTP keep-alive connection lifetime [default: 30]
        --close-timeout SECS      wait this long for the peer's close frame [default: 5]
        --max-message BYTES       largest reassembled WebSocket message, inclusive [default: 65536]
        --max-backlog BYTES       unsent bytes a connection may have queued; past it, close 1008 [default: 1048576]
        --max-connections N       open connections of all kinds; past it, 503 [default: 10000]
        --rate N                  danmaku per second per connection, 0 = unlimited [default: 5]
        --blocklist FILE          words or phrases, one per line, case-insensitive, whose posts are rejected
        --allow-origin ORIGIN     cross-site origin allowed to upgrade (repeatable, or *)
        --history N               danmaku each room keeps for walls that resume, at most 1048576; 0 = none [default: 1000]
        --history-ttl SECS        forget retained danmaku older than this [default: 120]
        --max-rooms N             rooms that may exist at once; a wall for a new room past it gets 503
                                  [default: 10000]
        --flush-delay MS|auto     when output is written: auto keeps writing to walls to about half
                                  of the time when posts come often enough to share writes (a post
                                  waits up to 8 ms); 0 = at the end of every loop turn; MS = hold
                                  all output MS milliseconds [default: auto]
        --public-url URL          the address phones should use (shown as text and QR code on the wall),
                                  e.g. https://wall.example.org [default: the address the wall was loaded from]
        --trust-proxy ADDR        believe X-Forwarded-For from this peer: an IP, a CIDR range, or loopback
                                  (repeatable)
        --metrics                 serve Prometheus metrics at /metrics
        --admin-token-file FILE   turn moderation (/admin) on with the token on the file's first line;
                                  or set DANMAKU_ADMIN_TOKEN (at least 16 characters)
        --redis URL               run as one node of a cluster: rooms live in this Redis,
                                  redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (no TLS)
        --redis-prefix P          start of every Redis key and channel name [default: danmaku:]
        --reuse-port              set SO_REUSEPORT, so several processes can share one address
        --echo                    also serve /echo (echoes every message; for conformance suites)
        --log LEVEL               error|warn|info|debug|trace [default: info]
    -h, --help                    print this help and exit

SECS may have a fraction (0.5). Flags take their value as the next argument or after '='.
";
