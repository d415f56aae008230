//! Repository chores: `cargo xtask tidy` (house rules) and `cargo xtask bench` (the
//! release-mode benchmarks of the issues, printed as tables).
//!
//! The tidy rules also run as `cargo test -p xtask`, so CI enforces them.

mod audit_bench;
mod bench;
mod case_bench;
mod case_indicator_bench;
mod dataset_bench;
mod exchange_bench;
mod read_audit_bench;
mod sign_in_bench;
mod tidy;
mod webhook_bench;

/// The binary's allocator: the benchmarks that serve the router in this process (read
/// auditing, in-process stores) then allocate as `huimin serve` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        Some("tidy") => {
            let problems = tidy::problems(&tidy::workspace_root());
            for problem in &problems {
                eprintln!("{problem}");
            }
            anyhow::ensure!(problems.is_empty(), "{} tidy problems", problems.len());
            println!("tidy: ok");
            Ok(())
        }
        Some("bench") => bench::run(&arguments[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask tidy | cargo xtask bench [--people N] [--skip-postgres] [--only {}] \
                 [--http-seconds N] [--audit-entries N] [--dataset-rows N] [--cases N] [--open-cases N] [--out DIR]",
                bench::SECTIONS.join(",")
            );
            std::process::exit(2);
        }
    }
}
