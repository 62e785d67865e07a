//! Fixed amounts of work for callgrind, whose instruction counts repeat from run to run where
//! times on a shared machine do not: `benches/instructions.sh` runs each workload twice, with 1
//! and 3 repetitions, and prints the instructions of one operation (the difference over the two
//! extra repetitions, so that reading the files and building the engine do not count).
//!
//! `instructions WHAT N REPS`: `decide`, `decide-floor`, `request` and `request-floor` do the
//! 1000 requests of tenant N (see `workload.rs`); `load` loads tenant N; `lint` and `parse` take
//! the 10000-statement text. Without arguments (as `cargo bench` runs it) it does nothing.

use std::hint::black_box;

use warden::catalog::Catalog;
use warden::diagnostic::SourceFile;
use warden::eval::Request;
use warden::iam::TenantFiles;
use warden::syntax::Kind;

mod support;

use support::{compile, workload_dir};

#[path = "support/floor.rs"]
mod floor;
#[path = "support/requests.rs"]
mod requests;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [what, n, reps] = args.as_slice() else { return };
    let (n, reps): (usize, usize) = (n.parse().expect("N"), reps.parse().expect("REPS"));
    let dir = workload_dir();
    Catalog::builtin();
    match what.as_str() {
        "lint" | "parse" => {
            let file =
                SourceFile::new("10000.policy", std::fs::read_to_string(dir.join("10000.policy")).expect("text"));
            for _ in 0..reps {
                match what.as_str() {
                    "lint" => drop(black_box(warden::check::lint(&file, Kind::Policy, Catalog::builtin()))),
                    _ => drop(black_box(warden::syntax::parse(&file.text, Kind::Policy))),
                }
            }
        }
        "load" => {
            let files = TenantFiles::read(&dir.join(format!("tenant-{n}"))).expect("the tenant reads");
            for _ in 0..reps {
                drop(black_box(compile(&files)));
            }
        }
        decisions => {
            let files = TenantFiles::read(&dir.join(format!("tenant-{n}"))).expect("the tenant reads");
            let engine = compile(&files);
            let lines = requests::read(&dir, n);
            let requests: Vec<Request> = lines.iter().map(|line| line.request(&engine)).collect();
            let floor = floor::Index::new(engine.tenant());
            let prepared: Vec<(u64, floor::Attributes<'_>)> =
                lines.iter().map(|line| (floor.users[&line.email], floor.attributes(&line.attributes))).collect();
            let queries: Vec<_> = requests.iter().map(|r| engine.query(r).expect("a valid request")).collect();
            // Counted work gives the expected answers, as timed work does (see workload.rs).
            for ((line, query), (groups, attributes)) in lines.iter().zip(&queries).zip(&prepared) {
                let decision = engine.evaluate(query);
                let agrees = requests::agrees(&line.expected, &decision);
                assert!(agrees, "N={n} request {}: expected {}, got {decision:?}", line.id, line.expected);
                assert!(floor.decide(*groups, &line.permission, attributes).agrees(&line.expected));
            }
            for _ in 0..reps {
                for ((request, query), (groups, attributes)) in requests.iter().zip(&queries).zip(&prepared) {
                    match decisions {
                        "decide" => drop(black_box(engine.evaluate(black_box(query)))),
                        "decide-floor" => _ = black_box(floor.decide(*groups, &request.permission, attributes)),
                        "request" => {
                            let query = engine.query(black_box(request)).expect("a valid request");
                            drop(black_box(engine.evaluate(&query)));
                        }
                        "request-floor" => {
                            let environment = request.environment.as_deref().unwrap_or_default();
                            let permission = black_box(&request.permission);
                            _ = black_box(floor.request(*groups, permission, environment, &request.attributes));
                        }
                        other => panic!("unknown workload `{other}`"),
                    }
                }
            }
        }
    }
}
