//! `warden serve` started on a port the kernel picks: its standard error is gathered as it
//! comes, and the address is read from its `listening on http://ADDRESS` line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A started `warden serve`: the process, the address it listens on and its log so far.
pub struct Serving {
    pub child: Child,
    pub address: String,
    pub log: Arc<Mutex<String>>,
}

/// Spawns `command` (a `warden serve --listen 127.0.0.1:0 …`) and waits, up to 30 s, until it
/// says where it listens.
pub fn spawn(command: &mut Command) -> Serving {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (stderr, sink) = (child.stderr.take().unwrap(), Arc::clone(&log));
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let started = Instant::now();
    let address = loop {
        let text = log.lock().unwrap().clone();
        if let Some(at) = text.find("listening on http://") {
            break text[at + "listening on http://".len()..].split_whitespace().next().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "warden serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    Serving { child, address, log }
}
