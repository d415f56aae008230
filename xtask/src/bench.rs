//! Benchmarks (filled in below).
pub fn run(_arguments: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
