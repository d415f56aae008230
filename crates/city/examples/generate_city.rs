//! Generates a city and prints how long it took and its summary: the generator's
//! benchmark. Run it in release mode, e.g. for a million people:
//!
//! ```text
//! cargo run --release -p huimin-city --example generate_city -- 1000000 2010
//! ```

use chrono::NaiveDate;
use huimin_city::{CityConfig, generate};
use huimin_domain::registry::LifeStatus;
use std::time::Instant;

fn main() {
    let mut arguments = std::env::args().skip(1);
    let people = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000);
    let seed = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2_010);
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("a valid date");
    let started = Instant::now();
    let city = generate(&CityConfig { seed, people }, today);
    let elapsed = started.elapsed();
    println!(
        "generated {people} people (seed {seed}) in {:.2} s",
        elapsed.as_secs_f64()
    );
    println!("{}", city.summary());
    println!("age pyramid of the living (ten-year bands):");
    let mut bands = [0_usize; 11];
    let mut living = 0;
    for person in &city.persons {
        if person.life_status != LifeStatus::Alive {
            continue;
        }
        living += 1;
        let age = today.years_since(person.birth_date()).unwrap_or(0) as usize;
        bands[(age / 10).min(10)] += 1;
    }
    for (band, count) in bands.iter().enumerate() {
        let share = *count as f64 / living.max(1) as f64 * 100.0;
        println!(
            "{:>3}+ {:>5.1} % {}",
            band * 10,
            share,
            "#".repeat((share * 2.0).round() as usize)
        );
    }
}
