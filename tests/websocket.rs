//! RFC 6455 framing against the real binary's `/echo`: echoes, fragmentation, control
//! frames, and every way of failing the connection with its close code.

mod common;

use std::time::Duration;

use common::{BINARY, CLOSE, CONTINUATION, PING, PONG, Server, TEXT, Ws};

fn echo_server() -> Server {
    Server::start(&["--echo"])
}

/// The server fails the connection with `code` and then closes TCP without sending more.
fn assert_closed_with(ws: &mut Ws, code: u16, what: &str) {
    let frames = match ws.drain_to_eof_within(Duration::from_secs(5)) {
        Ok(frames) => frames,
        Err(frames) => panic!("{what}: the server did not close TCP; frames so far: {frames:?}"),
    };
    let Some(close) = frames.iter().position(|f| f.opcode == CLOSE) else {
        panic!("{what}: no close frame before EOF: {frames:?}");
    };
    assert_eq!(frames[close].close_code(), Some(code), "{what}: {:?}", String::from_utf8_lossy(&frames[close].payload));
    assert_eq!(close, frames.len() - 1, "{what}: frames after the close frame: {frames:?}");
    // Any reason is UTF-8 (§5.5.1).
    assert!(std::str::from_utf8(&frames[close].payload[2..]).is_ok(), "{what}: close reason not UTF-8");
}

#[test]
fn echoes_text_and_binary() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_text("hello");
    assert_eq!(ws.recv_text(), "hello");
    ws.send_text("");
    assert_eq!(ws.recv_text(), "");
    ws.send_text("弹幕 🎉 ünïcödé");
    assert_eq!(ws.recv_text(), "弹幕 🎉 ünïcödé");
    let bytes: Vec<u8> = (0..=255u8).collect();
    ws.send_binary(&bytes);
    let f = ws.recv();
    assert_eq!((f.fin, f.opcode, &f.payload), (true, BINARY, &bytes));
    // Each length form: 7-bit, 16-bit (126, 65535) and 64-bit.
    for len in [125usize, 126, 127, 65535, 65536] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        ws.send_binary(&data);
        let f = ws.recv();
        assert_eq!((f.opcode, f.payload.len()), (BINARY, len));
        assert_eq!(f.payload, data, "len {len}");
    }
    // Several messages in one write come back in order.
    let mut batch = ws.frame(true, TEXT, b"one");
    batch.extend(ws.frame(true, BINARY, b"two"));
    batch.extend(ws.frame(true, TEXT, b"three"));
    ws.send_raw(&batch);
    assert_eq!(ws.recv_text(), "one");
    assert_eq!(ws.recv().payload, b"two");
    assert_eq!(ws.recv_text(), "three");
}

#[test]
fn fragmented_message_with_an_interleaved_ping() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, TEXT, b"Hel");
    ws.send_frame(false, CONTINUATION, b"lo ");
    ws.ping(b"in the middle");
    ws.send_frame(false, CONTINUATION, b"");
    ws.send_frame(true, CONTINUATION, b"world");
    let pong = ws.recv();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"in the middle"[..]));
    let f = ws.recv();
    assert_eq!((f.fin, f.opcode, f.payload.as_slice()), (true, TEXT, &b"Hello world"[..]), "echoed whole");
    // Binary too, and a 125-byte ping (the largest allowed) gets its payload back.
    ws.send_frame(false, BINARY, &[1, 2]);
    let big_ping = [0x5Au8; 125];
    ws.ping(&big_ping);
    ws.send_frame(true, CONTINUATION, &[3]);
    let pong = ws.recv();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &big_ping[..]));
    let f = ws.recv();
    assert_eq!((f.opcode, f.payload.as_slice()), (BINARY, &[1u8, 2, 3][..]));
    // A multi-byte character split across fragments is fine.
    let euro = "€".as_bytes();
    ws.send_frame(false, TEXT, &euro[..1]);
    ws.send_frame(true, CONTINUATION, &euro[1..]);
    assert_eq!(ws.recv_text(), "€");
    // An unsolicited pong needs no answer; the connection goes on.
    ws.pong(b"unsolicited");
    ws.assert_alive();
}

#[test]
fn unmasked_frame_is_1002() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_raw(&common::unmasked_frame(true, TEXT, b"hi"));
    assert_closed_with(&mut ws, 1002, "unmasked");
}

#[test]
fn reserved_bits_are_1002() {
    let server = echo_server();
    for rsv in [0x40u8, 0x20, 0x10] {
        let mut ws = Ws::connect(server.addr(), "/echo");
        let mut frame = ws.frame(true, TEXT, b"hi");
        frame[0] |= rsv;
        ws.send_raw(&frame);
        assert_closed_with(&mut ws, 1002, &format!("RSV {rsv:#x}"));
    }
}

#[test]
fn reserved_opcodes_are_1002() {
    let server = echo_server();
    for op in [0x3u8, 0x7, 0xB, 0xF] {
        let mut ws = Ws::connect(server.addr(), "/echo");
        ws.send_frame(true, op, b"x");
        assert_closed_with(&mut ws, 1002, &format!("opcode {op:#x}"));
    }
}

#[test]
fn fragmented_ping_is_1002() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, PING, b"half");
    assert_closed_with(&mut ws, 1002, "fragmented ping");
}

#[test]
fn ping_over_125_bytes_is_1002() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.ping(&[b'x'; 126]);
    assert_closed_with(&mut ws, 1002, "126-byte ping");
}

#[test]
fn continuation_without_a_start_is_1002() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(true, CONTINUATION, b"orphan");
    assert_closed_with(&mut ws, 1002, "continuation without a start");
    // A new message inside a fragmented one is just as wrong.
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, TEXT, b"first");
    ws.send_frame(true, TEXT, b"second");
    assert_closed_with(&mut ws, 1002, "text inside a fragmented message");
}

#[test]
fn invalid_utf8_is_1007() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(true, TEXT, &[b'o', b'k', 0xFF]);
    assert_closed_with(&mut ws, 1007, "0xFF");
    // Split across fragments: a lead byte, then a byte that cannot continue it.
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, TEXT, &[0xE2, 0x82]);
    ws.send_frame(true, CONTINUATION, b"A");
    assert_closed_with(&mut ws, 1007, "split invalid sequence");
    // A message ending inside a character.
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, TEXT, b"abc");
    ws.send_frame(true, CONTINUATION, &[0xF0, 0x9F]);
    assert_closed_with(&mut ws, 1007, "truncated character at the end");
    // An encoded surrogate (U+D800) is not UTF-8.
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(true, TEXT, &[0xED, 0xA0, 0x80]);
    assert_closed_with(&mut ws, 1007, "surrogate");
    // Binary messages may hold anything.
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_binary(&[0xFF, 0xFE]);
    assert_eq!(ws.recv().payload, [0xFF, 0xFE]);
}

#[test]
fn close_with_an_invalid_code_is_1002() {
    let server = echo_server();
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let mut ws = Ws::connect(server.addr(), "/echo");
        ws.close(code, "");
        assert_closed_with(&mut ws, 1002, &format!("close code {code}"));
    }
}

#[test]
fn close_with_a_one_byte_payload_is_1002() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.close_payload(&[0x03]);
    assert_closed_with(&mut ws, 1002, "one-byte close");
}

#[test]
fn close_with_an_invalid_utf8_reason_is_1007() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.close_payload(&[0x03, 0xE8, 0xFF]);
    assert_closed_with(&mut ws, 1007, "close reason not UTF-8");
}

#[test]
fn a_valid_close_is_answered_then_tcp_closes() {
    let server = echo_server();
    for code in [1000u16, 1001, 3000, 4000, 4999] {
        let mut ws = Ws::connect(server.addr(), "/echo");
        ws.close(code, "bye");
        assert_eq!(ws.recv_close(), Some(code), "close {code} echoed");
        ws.expect_eof();
    }
    // An empty close payload is answered too (with 1000 or empty).
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.close_payload(&[]);
    assert!(matches!(ws.recv_close(), None | Some(1000)));
    ws.expect_eof();
    // Data after our close is ignored: only the close reply comes back.
    let mut ws = Ws::connect(server.addr(), "/echo");
    let mut batch = ws.frame(true, CLOSE, &1000u16.to_be_bytes());
    batch.extend(ws.frame(true, TEXT, b"too late"));
    ws.send_raw(&batch);
    assert_eq!(ws.recv_close(), Some(1000));
    ws.expect_eof();
}

#[test]
fn max_message_is_inclusive_and_1009_past_it() {
    let server = Server::start(&["--echo", "--max-message", "1000"]);
    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_binary(&[7u8; 1000]);
    assert_eq!(ws.recv().payload.len(), 1000, "1000 bytes is within --max-message 1000");
    ws.send_frame(false, TEXT, &[b'a'; 500]);
    ws.send_frame(true, CONTINUATION, &[b'b'; 500]);
    assert_eq!(ws.recv_text().len(), 1000, "fragments summing to the limit");
    ws.send_binary(&[7u8; 1001]);
    assert_closed_with(&mut ws, 1009, "1001 bytes in one frame");

    let mut ws = Ws::connect(server.addr(), "/echo");
    ws.send_frame(false, BINARY, &[1u8; 600]);
    ws.send_frame(false, CONTINUATION, &[2u8; 300]);
    ws.send_frame(true, CONTINUATION, &[3u8; 101]);
    assert_closed_with(&mut ws, 1009, "fragments summing to 1001");

    // A header announcing a huge payload is refused without waiting for it.
    let mut ws = Ws::connect(server.addr(), "/echo");
    let mut huge = vec![0x82u8, 0xFF];
    huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    ws.send_raw(&huge);
    assert_closed_with(&mut ws, 1009, "a 1 TiB announcement");
}

#[test]
fn binary_on_the_wall_is_1003() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/ws?room=bin");
    ws.send_binary(br#"{"msg":"hi"}"#);
    assert_eq!(ws.recv_close(), Some(1003));
    ws.close(1003, "");
    ws.expect_eof();
}

#[test]
fn frames_dribbled_one_byte_per_write_still_work() {
    let server = echo_server();
    let mut ws = Ws::connect(server.addr(), "/echo");
    let mut bytes = ws.frame(true, TEXT, "dribbled ✓".as_bytes());
    bytes.extend(ws.frame(false, BINARY, &[9, 8]));
    bytes.extend(ws.frame(true, PING, b"p"));
    bytes.extend(ws.frame(true, CONTINUATION, &[7; 200]));
    ws.send_dribbled(&bytes);
    assert_eq!(ws.recv_text(), "dribbled ✓");
    let pong = ws.recv();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"p"[..]));
    let f = ws.recv();
    assert_eq!((f.opcode, f.payload.len()), (BINARY, 202));
    assert_eq!(&f.payload[..3], &[9, 8, 7]);
    let close = ws.frame(true, CLOSE, &1000u16.to_be_bytes());
    ws.send_dribbled(&close);
    assert_eq!(ws.recv_close(), Some(1000));
    ws.expect_eof();
}
