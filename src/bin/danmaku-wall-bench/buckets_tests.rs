use super::*;

/// What the server writes (src/app/metrics.rs), with fewer buckets.
const GOLDEN: &str = "\
# HELP danmaku_flush_pass_seconds Flush passes to at least 64 connections: time from the first write to the last.
# TYPE danmaku_flush_pass_seconds histogram
danmaku_flush_pass_seconds_bucket{le=\"0.0005\"} 0
danmaku_flush_pass_seconds_bucket{le=\"0.005\"} 10
danmaku_flush_pass_seconds_bucket{le=\"0.007\"} 60
danmaku_flush_pass_seconds_bucket{le=\"0.015\"} 99
danmaku_flush_pass_seconds_bucket{le=\"+Inf\"} 100
danmaku_flush_pass_seconds_sum 0.75
danmaku_flush_pass_seconds_count 100
# HELP danmaku_socket_writes_total Write system calls to client sockets.
# TYPE danmaku_socket_writes_total counter
danmaku_socket_writes_total 250
";

fn buckets(bounds: &[f64], cumulative: &[u64]) -> Buckets {
    let count = *cumulative.last().unwrap_or(&0);
    Buckets { bounds: bounds.to_vec(), cumulative: cumulative.to_vec(), sum: 0.0, count }
}

#[test]
fn the_golden_histogram() {
    let b = Buckets::parse(GOLDEN, FLUSH_PASS).unwrap();
    assert_eq!(b.bounds, [0.0005, 0.005, 0.007, 0.015, f64::INFINITY]);
    assert_eq!(b.cumulative, [0, 10, 60, 99, 100]);
    assert_eq!((b.sum, b.count), (0.75, 100));
    assert_eq!(b.mean(), Some(0.0075));
    assert_eq!(b.last_finite(), Some(0.015));
}

#[test]
fn bucket_lines() {
    assert_eq!(bucket_line("le=\"0.005\"} 12"), Ok((0.005, 12)));
    assert_eq!(bucket_line("le=\"+Inf\"} 7 1700000000000"), Ok((f64::INFINITY, 7)));
    assert_eq!(bucket_line(" room=\"a\\\"},le=\\\"9\\\"\" , le=\"1\" }\t3"), Ok((1.0, 3)), "le after a tricky label");
    assert_eq!(bucket_line("le=\"2.5e-3\"} 1e3"), Ok((0.0025, 1000)));
    for (bad, why) in [
        ("} 1", "no le label"),
        ("le=\"NaN\"} 1", "no le label"),
        ("le=\"x\"} 1", "le=\"x\" is not a bound"),
        ("le=0.5} 1", "a label value without quotes"),
        ("le=\"0.5} 1", "an unterminated label value"),
        ("le", "a label without `=`"),
        ("le=\"0.5\"} -1", "`-1` is not a count"),
        ("le=\"0.5\"}", "`` is not a count"),
    ] {
        assert_eq!(bucket_line(bad), Err(why.to_string()), "{bad}");
    }
}

#[test]
fn what_is_not_a_histogram() {
    let no_inf = GOLDEN.replace("danmaku_flush_pass_seconds_bucket{le=\"+Inf\"} 100\n", "");
    assert_eq!(
        Buckets::parse(&no_inf, FLUSH_PASS),
        Err("no danmaku_flush_pass_seconds_bucket{le=\"+Inf\"} sample".to_string())
    );
    let no_sum = GOLDEN.replace("danmaku_flush_pass_seconds_sum 0.75\n", "");
    assert_eq!(Buckets::parse(&no_sum, FLUSH_PASS), Err("no danmaku_flush_pass_seconds_sum sample".to_string()));
    let no_count = GOLDEN.replace("danmaku_flush_pass_seconds_count 100\n", "");
    assert_eq!(Buckets::parse(&no_count, FLUSH_PASS), Err("no danmaku_flush_pass_seconds_count sample".to_string()));
    let not_cumulative = GOLDEN.replace("{le=\"0.007\"} 60", "{le=\"0.007\"} 5");
    assert!(Buckets::parse(&not_cumulative, FLUSH_PASS).unwrap_err().contains("not cumulative"));
    let bad = GOLDEN.replace("{le=\"0.007\"} 60", "{le=\"0.007\"} sixty");
    assert!(Buckets::parse(&bad, FLUSH_PASS).unwrap_err().contains("`sixty` is not a count"));
    // A server without the histogram (an older one, the comparison server).
    let none = "# TYPE danmaku_socket_writes_total counter\ndanmaku_socket_writes_total 250\n";
    assert!(Buckets::parse(none, FLUSH_PASS).is_err());
}

#[test]
fn series_with_other_labels_add_up() {
    let text = "h_bucket{node=\"1\",le=\"1\"} 2\nh_bucket{node=\"2\",le=\"1\"} 3\nh_bucket{node=\"1\",le=\"+Inf\"} 4\n\
                h_bucket{le=\"+Inf\",node=\"2\"} 3\nh_sum 2.5\nh_count 7\n";
    let b = Buckets::parse(text, "h").unwrap();
    assert_eq!((b.bounds, b.cumulative), (vec![1.0, f64::INFINITY], vec![5, 7]));
}

#[test]
fn quantiles_are_bucket_upper_bounds() {
    let b = Buckets::parse(GOLDEN, FLUSH_PASS).unwrap();
    // Ranks 50 and 99 of 100: the 0.007 bucket (cumulative 60) and the 0.015 one (99).
    assert_eq!(b.quantile_le(0.5), Some(0.007));
    assert_eq!(b.quantile_le(0.99), Some(0.015));
    assert_eq!(b.quantile_le(0.1), Some(0.005), "rank 10 is the last of le=0.005");
    assert_eq!(b.quantile_le(0.11), Some(0.007));
    assert_eq!(b.quantile_le(1.0), Some(f64::INFINITY), "the slowest is beyond the last bound");
    assert_eq!(b.quantile_le(0.0), Some(0.005), "rank 1 at least");
    // One observation: every quantile is its bucket.
    let one = buckets(&[0.001, 0.002, f64::INFINITY], &[0, 1, 1]);
    assert_eq!((one.quantile_le(0.5), one.quantile_le(0.99)), (Some(0.002), Some(0.002)));
}

#[test]
fn an_empty_window_has_no_quantile() {
    let empty = buckets(&[0.001, f64::INFINITY], &[0, 0]);
    assert_eq!((empty.quantile_le(0.5), empty.mean()), (None, None));
    assert_eq!(Buckets::default().quantile_le(0.5), None);
}

#[test]
fn the_window_is_the_difference_of_the_marks() {
    let mut before = Buckets::parse(GOLDEN, FLUSH_PASS).unwrap();
    let mut after = before.clone();
    after.cumulative = vec![0, 10, 160, 299, 300];
    after.count = 300;
    after.sum = 2.25;
    let window = after.since(&before).unwrap();
    assert_eq!((window.cumulative.as_slice(), window.count, window.sum), (&[0, 0, 100, 200, 200][..], 200, 1.5));
    // Rank 100 of 200 is the last of le=0.007; rank 198 is in le=0.015.
    assert_eq!((window.quantile_le(0.5), window.quantile_le(0.99)), (Some(0.007), Some(0.015)));
    // Nothing happened: an empty window.
    let same = before.since(&before).unwrap();
    assert_eq!((same.count, same.quantile_le(0.5)), (0, None));
    // A restarted server counts from zero: no negative counts.
    assert_eq!(before.since(&after).unwrap().count, 0);
    before.bounds[0] = 0.001;
    assert!(after.since(&before).is_err(), "other buckets");
}

#[test]
fn nodes_add_up() {
    let a = Buckets::parse(GOLDEN, FLUSH_PASS).unwrap();
    let mut total = Buckets::default();
    total.add(&a).unwrap();
    total.add(&a).unwrap();
    assert_eq!((total.cumulative.as_slice(), total.count, total.sum), (&[0, 20, 120, 198, 200][..], 200, 1.5));
    let other = buckets(&[1.0, f64::INFINITY], &[0, 0]);
    assert!(total.add(&other).is_err());
}
